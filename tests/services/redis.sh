#!/usr/bin/env bash
# A private Redis for weft's tests and demos.
#
#   tests/services/redis.sh start   install (apt) if needed, start, wait until ready
#   tests/services/redis.sh stop    shut it down (no-op when not running)
#   tests/services/redis.sh status  exit 0 when running
#   tests/services/redis.sh env     print the exports tests use:  eval "$(tests/services/redis.sh env)"
#
# The instance lives in its own state dir, listens on 127.0.0.1 only and keeps
# nothing on disk (no RDB snapshots, no AOF). The system's Redis (port 6379,
# /etc/redis) is never used.
#
# Environment:
#   WEFT_SERVICES_DIR   parent of all state dirs      (/tmp/weft-services)
#   WEFT_REDIS_DIR      this instance's state dir     ($WEFT_SERVICES_DIR/redis)
#   WEFT_REDIS_PORT     TCP port on 127.0.0.1         (36379)
#   WEFT_REDIS_TIMEOUT  seconds to wait for startup   (30)
set -euo pipefail

services_dir=${WEFT_SERVICES_DIR:-/tmp/weft-services}
dir=${WEFT_REDIS_DIR:-$services_dir/redis}
port=${WEFT_REDIS_PORT:-36379}
timeout=${WEFT_REDIS_TIMEOUT:-30}
host=127.0.0.1
pidfile=$dir/redis.pid
log=$dir/redis.log

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"
svc_name=redis

find_bins() {
  server=$(svc_which redis-server) || return 1
  cli=$(svc_which redis-cli) || return 1
}

ping() { [[ $("$cli" -h "$host" -p "$port" ping 2>/dev/null) == PONG ]]; }

running() {
  svc_pid_alive "$pidfile" redis-server && ping
}

start() {
  if ! find_bins; then
    svc_apt_install redis-server redis-tools
    find_bins || svc_die "redis-server is installed but redis-server/redis-cli are not on PATH"
  fi
  mkdir -p "$dir"

  if running; then
    echo "redis: already running on $host:$port (state dir $dir)"
    return 0
  fi
  svc_port_free "$port" WEFT_REDIS_PORT
  echo "redis: starting on $host:$port (state dir $dir)"
  : >"$log"
  # No config file: nothing from /etc/redis is read. It logs to stdout.
  setsid "$server" --bind "$host" --port "$port" --protected-mode yes \
    --dir "$dir" --pidfile "$pidfile" --daemonize no \
    --save '' --appendonly no \
    </dev/null >>"$log" 2>&1 9>&- &
  local pid=$!
  local deadline=$((SECONDS + timeout))
  until ping; do
    kill -0 "$pid" 2>/dev/null || svc_fail "redis-server exited during startup" "$log"
    if ((SECONDS >= deadline)); then
      kill -TERM "$pid" 2>/dev/null || true
      svc_fail "redis-server not ready after ${timeout}s (stopped it)" "$log"
    fi
    sleep 0.2
  done
  echo "redis: ready on $host:$port"
}

stop() {
  find_bins 2>/dev/null || true
  if ! svc_pid_alive "$pidfile" redis-server; then
    echo "redis: not running"
    return 0
  fi
  local pid
  pid=$(<"$pidfile")
  echo "redis: stopping (pid $pid)"
  if [[ -z ${cli:-} ]] || ! "$cli" -h "$host" -p "$port" shutdown nosave >/dev/null 2>&1; then
    kill -TERM "$pid" 2>/dev/null || true
  fi
  svc_wait_exit "$pid" 15 || svc_fail "redis-server (pid $pid) did not stop within 15s" "$log"
  echo "redis: stopped"
}

env_() {
  echo "export WEFT_TEST_REDIS_ADDR=$host:$port"
}

# serving: the server is up (svc_main's status).
serving() { find_bins 2>/dev/null && running; }

svc_main "$@"

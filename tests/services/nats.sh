#!/usr/bin/env bash
# A private NATS server (with JetStream) for weft's tests and demos.
#
#   tests/services/nats.sh start   install (apt) if needed, start, wait until ready
#   tests/services/nats.sh stop    shut it down (no-op when not running)
#   tests/services/nats.sh status  exit 0 when running
#   tests/services/nats.sh env     print the exports tests use:  eval "$(tests/services/nats.sh env)"
#
# The instance lives in its own state dir (JetStream's store too) and listens
# on 127.0.0.1 only. The system's nats-server (port 4222, /etc/nats-server.conf)
# is never used.
#
# Environment:
#   WEFT_SERVICES_DIR   parent of all state dirs      (/tmp/weft-services)
#   WEFT_NATS_DIR       this instance's state dir     ($WEFT_SERVICES_DIR/nats)
#   WEFT_NATS_PORT      TCP port on 127.0.0.1         (34222)
#   WEFT_NATS_TIMEOUT   seconds to wait for startup   (30)
set -euo pipefail

services_dir=${WEFT_SERVICES_DIR:-/tmp/weft-services}
dir=${WEFT_NATS_DIR:-$services_dir/nats}
port=${WEFT_NATS_PORT:-34222}
timeout=${WEFT_NATS_TIMEOUT:-30}
host=127.0.0.1
pidfile=$dir/nats.pid
log=$dir/nats.log

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"
svc_name=nats

find_bins() {
  server=$(svc_which nats-server) || return 1
}

# Ready when the server greets a client with its INFO line.
ping() {
  local line
  line=$({ exec 3<>"/dev/tcp/$host/$port" && read -r -t 2 l <&3 && echo "$l"; } 2>/dev/null) || true
  [[ $line == INFO* ]]
}

running() {
  svc_pid_alive "$pidfile" nats-server && ping
}

start() {
  if ! find_bins; then
    svc_apt_install nats-server
    find_bins || svc_die "nats-server is installed but not on PATH"
  fi
  mkdir -p "$dir"

  if running; then
    echo "nats: already running on $host:$port (state dir $dir)"
    return 0
  fi
  svc_port_free "$port" WEFT_NATS_PORT
  echo "nats: starting on $host:$port (state dir $dir)"
  : >"$log"
  rm -rf "$dir/js"
  # No config file: nothing from /etc is read.
  setsid "$server" --addr "$host" --port "$port" --pid "$pidfile" \
    --jetstream --store_dir "$dir/js" \
    </dev/null >>"$log" 2>&1 9>&- &
  local pid=$!
  local deadline=$((SECONDS + timeout))
  until ping; do
    kill -0 "$pid" 2>/dev/null || svc_fail "nats-server exited during startup" "$log"
    if ((SECONDS >= deadline)); then
      kill -TERM "$pid" 2>/dev/null || true
      svc_fail "nats-server not ready after ${timeout}s (stopped it)" "$log"
    fi
    sleep 0.2
  done
  echo "nats: ready on $host:$port"
}

stop() {
  if ! svc_pid_alive "$pidfile" nats-server; then
    echo "nats: not running"
    return 0
  fi
  local pid
  pid=$(<"$pidfile")
  echo "nats: stopping (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  svc_wait_exit "$pid" 15 || svc_fail "nats-server (pid $pid) did not stop within 15s" "$log"
  rm -rf "$dir/js"
  echo "nats: stopped"
}

env_() {
  echo "export WEFT_TEST_NATS_URL=nats://$host:$port"
}

# serving: the server is up (svc_main's status).
serving() { find_bins 2>/dev/null && running; }

svc_main "$@"

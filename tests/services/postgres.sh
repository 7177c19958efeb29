#!/usr/bin/env bash
# A private PostgreSQL for weft's tests.
#
#   tests/services/postgres.sh start   install (apt) if needed, init, start, wait until ready
#   tests/services/postgres.sh stop    shut it down (no-op when not running)
#   tests/services/postgres.sh status  exit 0 when running
#   tests/services/postgres.sh env     print the exports tests use:  eval "$(tests/services/postgres.sh env)"
#
# The instance lives in its own state dir and listens on 127.0.0.1 only; the
# system's cluster (/etc/postgresql, /var/lib/postgresql, port 5432) is never
# used. PostgreSQL refuses to run as root, so as root the server runs as the
# package's `postgres` user. Database `weftshop`, user `weft` / password
# `weft` (superuser); local connections are trusted (a test instance).
#
# Environment:
#   WEFT_SERVICES_DIR      parent of all state dirs      (/tmp/weft-services)
#   WEFT_POSTGRES_DIR      this instance's state dir     ($WEFT_SERVICES_DIR/postgres)
#   WEFT_POSTGRES_PORT     TCP port on 127.0.0.1         (35432)
#   WEFT_POSTGRES_TIMEOUT  seconds to wait for startup   (60)
set -euo pipefail

services_dir=${WEFT_SERVICES_DIR:-/tmp/weft-services}
dir=${WEFT_POSTGRES_DIR:-$services_dir/postgres}
port=${WEFT_POSTGRES_PORT:-35432}
timeout=${WEFT_POSTGRES_TIMEOUT:-60}
host=127.0.0.1
data=$dir/data
log=$dir/postgres.log
pidfile=$data/postmaster.pid

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"
svc_name=postgres

find_bins() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1) || return 1
  [[ -n $d && -x $d/postgres && -x $d/initdb && -x $d/psql && -x $d/pg_isready ]] || return 1
  bin=$d
}

# The server and initdb run as the state dir's owner: root cannot run them.
owner=()
[[ $(id -u) == 0 ]] && owner=(runuser -u postgres --)

ready() { "$bin/pg_isready" -q -h "$host" -p "$port" -t 2; }

# The postmaster's pid is the first line of its pid file.
server_pid() { [[ -f $pidfile ]] && head -n 1 "$pidfile"; }

running() {
  local pid
  pid=$(server_pid 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null && ready
}

start() {
  if ! find_bins; then
    svc_apt_install postgresql
    find_bins || svc_die "postgresql is installed but /usr/lib/postgresql/*/bin has no postgres/initdb/psql/pg_isready"
  fi
  if [[ $(id -u) == 0 ]] && ! id postgres >/dev/null 2>&1; then
    svc_die "running as root needs the postgres user (the postgresql package creates it)"
  fi
  mkdir -p "$dir"
  [[ $(id -u) != 0 ]] || chown postgres: "$dir"

  if running; then
    echo "postgres: already running on $host:$port (state dir $dir)"
  else
    svc_port_free "$port" WEFT_POSTGRES_PORT
    if [[ ! -f $data/PG_VERSION ]]; then
      echo "postgres: initialising $data"
      rm -rf "$data"
      "${owner[@]}" "$bin/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
        >"$dir/initdb.log" 2>&1 || svc_fail "initdb failed" "$dir/initdb.log"
    fi
    echo "postgres: starting on $host:$port (state dir $dir)"
    : >"$log"
    # No Unix socket: only TCP on 127.0.0.1. No config from /etc/postgresql.
    setsid "${owner[@]}" "$bin/postgres" -D "$data" -h "$host" -p "$port" -k "" \
      -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200 \
      </dev/null >>"$log" 2>&1 9>&- &
    local pid=$!
    local deadline=$((SECONDS + timeout))
    until ready; do
      kill -0 "$pid" 2>/dev/null || svc_fail "postgres exited during startup" "$log"
      if ((SECONDS >= deadline)); then
        kill -TERM "$pid" 2>/dev/null || true
        svc_fail "postgres not ready after ${timeout}s (stopped it)" "$log"
      fi
      sleep 0.3
    done
  fi

  psql_() { "$bin/psql" -h "$host" -p "$port" -U postgres -v ON_ERROR_STOP=1 -qAt "$@"; }
  psql_ -d postgres -c "DO \$\$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'weft') THEN CREATE ROLE weft LOGIN SUPERUSER PASSWORD 'weft'; END IF; END \$\$;" \
    >/dev/null || svc_fail "creating user weft failed" "$log"
  if [[ -z $(psql_ -d postgres -c "SELECT 1 FROM pg_database WHERE datname = 'weftshop'") ]]; then
    psql_ -d postgres -c "CREATE DATABASE weftshop OWNER weft" || svc_fail "creating database weftshop failed" "$log"
  fi
  echo "postgres: ready on $host:$port, database weftshop, user weft/weft"
}

stop() {
  find_bins 2>/dev/null || true
  local pid
  if ! pid=$(server_pid 2>/dev/null) || ! [[ $pid =~ ^[0-9]+$ ]] || ! kill -0 "$pid" 2>/dev/null; then
    echo "postgres: not running"
    return 0
  fi
  echo "postgres: stopping (pid $pid)"
  kill -INT "$pid" 2>/dev/null || true # fast shutdown
  svc_wait_exit "$pid" 30 || svc_fail "postgres (pid $pid) did not stop within 30s" "$log"
  echo "postgres: stopped"
}

env_() {
  echo "export POSTGRES_DSN='postgres://weft:weft@$host:$port/weftshop?sslmode=disable'"
}

# serving: the server is up (svc_main's status).
serving() { find_bins 2>/dev/null && running; }

svc_main "$@"

#!/usr/bin/env bash
# A private MariaDB for weft's tests and demos.
#
#   tests/services/mariadb.sh start   install (apt) if needed, init, start, wait until ready
#   tests/services/mariadb.sh stop    shut it down (no-op when not running)
#   tests/services/mariadb.sh status  exit 0 when running
#   tests/services/mariadb.sh env     print the exports tests use:  eval "$(tests/services/mariadb.sh env)"
#
# The instance lives in its own state dir and listens on 127.0.0.1 only; the
# system's MariaDB (its datadir, config, socket and port 3306) is never used.
# Database `weftshop`, user `weft` / password `weft` (all privileges).
#
# Environment:
#   WEFT_SERVICES_DIR     parent of all state dirs      (/tmp/weft-services)
#   WEFT_MARIADB_DIR      this instance's state dir     ($WEFT_SERVICES_DIR/mariadb)
#   WEFT_MARIADB_PORT     TCP port on 127.0.0.1         (33306)
#   WEFT_MARIADB_TIMEOUT  seconds to wait for startup   (60)
set -euo pipefail

services_dir=${WEFT_SERVICES_DIR:-/tmp/weft-services}
dir=${WEFT_MARIADB_DIR:-$services_dir/mariadb}
port=${WEFT_MARIADB_PORT:-33306}
timeout=${WEFT_MARIADB_TIMEOUT:-60}
host=127.0.0.1
data=$dir/data
sock=$dir/mysqld.sock
pidfile=$dir/mysqld.pid
log=$dir/mysqld.log

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"
svc_name=mariadb

find_bins() {
  server=$(svc_which mariadbd mysqld) || return 1
  installdb=$(svc_which mariadb-install-db mysql_install_db) || return 1
  client=$(svc_which mariadb mysql) || return 1
  admin=$(svc_which mariadb-admin mysqladmin) || return 1
}

admin_ping() { "$admin" --no-defaults --socket="$sock" -uroot --connect-timeout=2 ping >/dev/null 2>&1; }

running() {
  svc_pid_alive "$pidfile" mariadbd mysqld && admin_ping
}

start() {
  if ! find_bins; then
    svc_apt_install mariadb-server mariadb-client
    find_bins || svc_die "mariadb-server is installed but mariadbd/mariadb-install-db/mariadb/mariadb-admin are not on PATH or in /usr/sbin"
  fi
  mkdir -p "$dir" "$dir/tmp"

  if running; then
    echo "mariadb: already running on $host:$port (state dir $dir)"
  else
    svc_port_free "$port" WEFT_MARIADB_PORT
    if [[ ! -d $data/mysql ]]; then
      echo "mariadb: initialising $data"
      rm -rf "$data"
      # --no-defaults: never read /etc/mysql, so nothing of the system instance leaks in.
      "$installdb" --no-defaults --datadir="$data" --user=root \
        --auth-root-authentication-method=normal --skip-test-db \
        >"$dir/install-db.log" 2>&1 ||
        svc_fail "mariadb-install-db failed" "$dir/install-db.log"
    fi
    echo "mariadb: starting on $host:$port (state dir $dir)"
    : >"$log"
    setsid "$server" --no-defaults --user=root \
      --datadir="$data" --tmpdir="$dir/tmp" \
      --socket="$sock" --pid-file="$pidfile" --log-error="$log" \
      --bind-address="$host" --port="$port" --skip-name-resolve \
      --innodb-buffer-pool-size=64M --max-connections=200 \
      </dev/null >>"$log" 2>&1 9>&- &
    local pid=$!
    local deadline=$((SECONDS + timeout))
    until admin_ping; do
      kill -0 "$pid" 2>/dev/null || svc_fail "mariadbd exited during startup" "$log"
      if ((SECONDS >= deadline)); then
        kill -TERM "$pid" 2>/dev/null || true
        svc_fail "mariadbd not ready after ${timeout}s (stopped it)" "$log"
      fi
      sleep 0.3
    done
  fi

  "$client" --no-defaults --socket="$sock" -uroot <<'SQL' || svc_fail "creating database weftshop and user weft failed" "$log"
CREATE DATABASE IF NOT EXISTS weftshop;
CREATE USER IF NOT EXISTS 'weft'@'%' IDENTIFIED BY 'weft';
CREATE USER IF NOT EXISTS 'weft'@'localhost' IDENTIFIED BY 'weft';
GRANT ALL PRIVILEGES ON *.* TO 'weft'@'%';
GRANT ALL PRIVILEGES ON *.* TO 'weft'@'localhost';
SQL
  echo "mariadb: ready on $host:$port, database weftshop, user weft/weft"
}

stop() {
  find_bins 2>/dev/null || true
  if ! svc_pid_alive "$pidfile" mariadbd mysqld; then
    echo "mariadb: not running"
    return 0
  fi
  local pid
  pid=$(<"$pidfile")
  echo "mariadb: stopping (pid $pid)"
  if [[ -z ${admin:-} ]] || ! "$admin" --no-defaults --socket="$sock" -uroot shutdown >/dev/null 2>&1; then
    kill -TERM "$pid" 2>/dev/null || true
  fi
  svc_wait_exit "$pid" 30 || svc_fail "mariadbd (pid $pid) did not stop within 30s" "$log"
  echo "mariadb: stopped"
}

env_() {
  echo "export MYSQL_DSN='weft:weft@tcp($host:$port)/weftshop'"
  echo "export WEFT_TEST_MYSQL_ADDR=$host:$port"
}

# serving: the server is up (svc_main's status).
serving() { find_bins 2>/dev/null && running; }

svc_main "$@"

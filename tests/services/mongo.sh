#!/usr/bin/env bash
# A private MongoDB-protocol server for weft's tests: FerretDB 1.24 on its
# SQLite backend. No MongoDB server comes from a registry this project
# reaches; FerretDB speaks MongoDB's wire protocol (OP_MSG, the same
# commands and error codes) and is built here from its source on the Go
# module proxy.
#
#   tests/services/mongo.sh start   build (first time), start, wait until ready
#   tests/services/mongo.sh stop    shut it down (no-op when not running)
#   tests/services/mongo.sh status  exit 0 when running
#   tests/services/mongo.sh env     print the exports tests use:  eval "$(tests/services/mongo.sh env)"
#
# The binary is cached (~/.cache/weft-services/ferretdb-1.24.2/ferretdb,
# about 40 s to build the first time); the instance keeps its SQLite files
# in its own state dir and listens on 127.0.0.1 only.
#
# Environment:
#   WEFT_SERVICES_DIR   parent of all state dirs      (/tmp/weft-services)
#   WEFT_MONGO_DIR      this instance's state dir     ($WEFT_SERVICES_DIR/mongo)
#   WEFT_MONGO_PORT     TCP port on 127.0.0.1         (37017)
#   WEFT_MONGO_TIMEOUT  seconds to wait for startup   (60)
set -euo pipefail

services_dir=${WEFT_SERVICES_DIR:-/tmp/weft-services}
dir=${WEFT_MONGO_DIR:-$services_dir/mongo}
port=${WEFT_MONGO_PORT:-37017}
timeout=${WEFT_MONGO_TIMEOUT:-60}
host=127.0.0.1
version=1.24.2
bin_dir=$HOME/.cache/weft-services/ferretdb-$version
server=$bin_dir/ferretdb
pidfile=$dir/ferretdb.pid
log=$dir/ferretdb.log

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"
svc_name=mongo

# FerretDB's module zip leaves build/version/version.txt empty (its release
# builds fill it from git), and the binary refuses to start without it: the
# source is copied, the file written, then built.
build() {
  command -v go >/dev/null || svc_die "go is needed to build FerretDB"
  local blog=$services_dir/ferretdb-build.log src tmp
  mkdir -p "$services_dir" "$bin_dir"
  echo "mongo: building FerretDB $version from the Go module proxy into $bin_dir (log: $blog)"
  tmp=$(mktemp -d "$services_dir/ferretdb-src.XXXXXX")
  if ! src=$(cd "$tmp" && GOFLAGS=-mod=mod go mod download -json "github.com/FerretDB/FerretDB@v$version" 2>"$blog" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p'); then
    rm -rf "$tmp"
    svc_fail "go mod download of FerretDB failed" "$blog"
  fi
  [ -n "$src" ] || { rm -rf "$tmp"; svc_fail "go mod download named no directory for FerretDB" "$blog"; }
  cp -r "$src/." "$tmp/src"
  chmod -R u+w "$tmp/src"
  echo "v$version" >"$tmp/src/build/version/version.txt"
  if ! (cd "$tmp/src" && GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0 \
    go build -trimpath -o "$server.tmp" ./cmd/ferretdb) >>"$blog" 2>&1; then
    rm -rf "$tmp"
    svc_fail "building FerretDB failed" "$blog"
  fi
  mv "$server.tmp" "$server"
  rm -rf "$tmp"
}

# Ready when the port accepts (FerretDB opens it once its backend is up).
ping() {
  (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null
}

running() {
  svc_pid_alive "$pidfile" ferretdb && ping
}

start() {
  [ -x "$server" ] || build
  mkdir -p "$dir"
  if running; then
    echo "mongo: already running on $host:$port (state dir $dir)"
    return 0
  fi
  svc_port_free "$port" WEFT_MONGO_PORT
  echo "mongo: starting FerretDB on $host:$port (state dir $dir)"
  : >"$log"
  rm -rf "$dir/data"
  mkdir -p "$dir/data"
  setsid "$server" --handler=sqlite --sqlite-url="file:$dir/data/" \
    --listen-addr="$host:$port" --debug-addr=- --state-dir="$dir" \
    --telemetry=disable --log-level=warn \
    </dev/null >>"$log" 2>&1 9>&- &
  local pid=$!
  echo "$pid" >"$pidfile"
  local deadline=$((SECONDS + timeout))
  until ping; do
    kill -0 "$pid" 2>/dev/null || svc_fail "ferretdb exited during startup" "$log"
    if ((SECONDS >= deadline)); then
      kill -TERM "$pid" 2>/dev/null || true
      svc_fail "ferretdb not ready after ${timeout}s (stopped it)" "$log"
    fi
    sleep 0.2
  done
  echo "mongo: ready on $host:$port"
}

stop() {
  if ! svc_pid_alive "$pidfile" ferretdb; then
    echo "mongo: not running"
    return 0
  fi
  local pid
  pid=$(<"$pidfile")
  echo "mongo: stopping (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  svc_wait_exit "$pid" 15 || svc_fail "ferretdb (pid $pid) did not stop within 15s" "$log"
  rm -rf "$dir/data" "$pidfile"
  echo "mongo: stopped"
}

env_() {
  echo "export WEFT_TEST_MONGO_URI=mongodb://$host:$port"
}

# serving: the server is up (svc_main's status).
serving() { running; }

svc_main "$@"

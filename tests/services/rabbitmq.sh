#!/usr/bin/env bash
# A private RabbitMQ node for weft's tests and demos.
#
#   tests/services/rabbitmq.sh start   install (apt) if needed, start, wait until ready
#   tests/services/rabbitmq.sh stop    shut it down (no-op when not running), drop its data
#   tests/services/rabbitmq.sh status  exit 0 when running
#   tests/services/rabbitmq.sh env     print the exports tests use:  eval "$(tests/services/rabbitmq.sh env)"
#
# The node runs as the calling user (root too) straight from
# /usr/lib/rabbitmq/bin (Debian's /usr/sbin wrappers switch to the rabbitmq
# user and its /var/lib/rabbitmq): its own node name, ports (AMQP,
# distribution, and a private epmd), HOME (the Erlang cookie), config, data
# and logs, all in its state dir; it listens on 127.0.0.1 only and starts
# empty (data dropped at start and at stop). The system's rabbitmq-server
# service (and /etc/rabbitmq) is never used, and apt is kept from starting it.
# The default guest/guest user may log in from loopback.
#
# Environment:
#   WEFT_SERVICES_DIR     parent of all state dirs          (/tmp/weft-services)
#   WEFT_RABBITMQ_DIR     this instance's state dir         ($WEFT_SERVICES_DIR/rabbitmq)
#   WEFT_RABBITMQ_PORT    AMQP TCP port on 127.0.0.1        (35672)
#   WEFT_RABBITMQ_DIST_PORT  Erlang distribution port       (WEFT_RABBITMQ_PORT + 1)
#   WEFT_RABBITMQ_EPMD_PORT  the private epmd's port        (WEFT_RABBITMQ_PORT + 2)
#   WEFT_RABBITMQ_TIMEOUT seconds to wait for startup       (90)
set -euo pipefail

services_dir=${WEFT_SERVICES_DIR:-/tmp/weft-services}
dir=${WEFT_RABBITMQ_DIR:-$services_dir/rabbitmq}
port=${WEFT_RABBITMQ_PORT:-35672}
dist_port=${WEFT_RABBITMQ_DIST_PORT:-$((port + 1))}
epmd_port=${WEFT_RABBITMQ_EPMD_PORT:-$((port + 2))}
timeout=${WEFT_RABBITMQ_TIMEOUT:-90}
host=127.0.0.1
node=weft-$port@localhost
pidfile=$dir/rabbitmq.pid
log=$dir/rabbitmq.log
bin=/usr/lib/rabbitmq/bin

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"
svc_name=rabbitmq

have_bins() { [[ -x $bin/rabbitmq-server && -x $bin/rabbitmq-diagnostics ]]; }

# Everything the rabbitmq scripts read, pointed into the state dir.
node_env() {
  export HOME=$dir/home
  export RABBITMQ_NODENAME=$node
  export RABBITMQ_NODE_IP_ADDRESS=$host
  export RABBITMQ_NODE_PORT=$port
  export RABBITMQ_DIST_PORT=$dist_port
  export ERL_EPMD_PORT=$epmd_port
  export ERL_EPMD_ADDRESS=$host
  export RABBITMQ_CONF_ENV_FILE=$dir/rabbitmq-env.conf
  export RABBITMQ_CONFIG_FILE=$dir/rabbitmq.conf
  export RABBITMQ_ADVANCED_CONFIG_FILE=$dir/advanced.config
  export RABBITMQ_ENABLED_PLUGINS_FILE=$dir/enabled_plugins
  export RABBITMQ_MNESIA_BASE=$dir/mnesia
  export RABBITMQ_LOG_BASE=$dir/log
  export RABBITMQ_PID_FILE=$dir/beam.pid
  export RABBITMQ_LOGS=-
}

# Ready when the node answers a ping and its AMQP listener greets a client:
# a protocol header is answered with connection.start (a method frame, type 1).
amqp_ready() {
  local out
  out=$({
    exec 3<>"/dev/tcp/$host/$port" || exit 1
    printf 'AMQP\0\0\x09\x01' >&3
    timeout 3 od -An -tu1 -N1 <&3
  } 2>/dev/null) || return 1
  [[ $(echo $out) == 1 ]]
}

ping() {
  amqp_ready && (node_env && timeout 15 "$bin/rabbitmq-diagnostics" -q ping >/dev/null 2>&1)
}

# The pid file names a live rabbitmq-server script (the shell that runs the
# node's beam.smp and stops it cleanly on SIGTERM) started for this node.
alive() {
  svc_pid_alive "$pidfile" rabbitmq-server &&
    tr '\0' '\n' <"/proc/$(<"$pidfile")/environ" 2>/dev/null | grep -qxF "RABBITMQ_NODENAME=$node"
}

running() {
  alive && ping
}

# The private epmd (started by the node, left behind when it stops).
stop_epmd() {
  ERL_EPMD_PORT=$epmd_port timeout 10 epmd -kill >/dev/null 2>&1 || true
}

start() {
  if ! have_bins; then
    svc_apt_install rabbitmq-server
    have_bins || svc_die "rabbitmq-server is installed but $bin/rabbitmq-server is missing"
  fi
  mkdir -p "$dir"
  if running; then
    echo "rabbitmq: already running on $host:$port (state dir $dir)"
    return 0
  fi
  svc_port_free "$port" WEFT_RABBITMQ_PORT
  svc_port_free "$dist_port" WEFT_RABBITMQ_DIST_PORT
  echo "rabbitmq: starting $node on $host:$port (state dir $dir)"
  rm -rf "$dir/mnesia" "$dir/log" "$dir/home"
  mkdir -p "$dir/home" "$dir/log"
  : >"$log"
  : >"$dir/rabbitmq-env.conf"
  # Management and other plugins stay off: a bare broker starts faster.
  echo '[].' >"$dir/enabled_plugins"
  cat >"$dir/rabbitmq.conf" <<EOF
# Written by rabbitmq.sh: a one-node test broker (its listener, $host:$port,
# comes from RABBITMQ_NODE_IP_ADDRESS/RABBITMQ_NODE_PORT).
loopback_users.guest = true
log.console = true
log.console.level = warning
log.file = false
EOF
  echo '[].' >"$dir/advanced.config"
  (
    node_env
    cd "$dir"
    exec setsid "$bin/rabbitmq-server" </dev/null >>"$log" 2>&1 9>&-
  ) &
  local pid=$!
  echo "$pid" >"$pidfile"
  local deadline=$((SECONDS + timeout))
  until alive && ping; do
    kill -0 "$pid" 2>/dev/null || {
      stop_epmd
      svc_fail "rabbitmq-server exited during startup" "$log"
    }
    if ((SECONDS >= deadline)); then
      kill -TERM "$pid" 2>/dev/null || true
      svc_wait_exit "$pid" 30 || true
      stop_epmd
      svc_fail "rabbitmq-server not ready after ${timeout}s (stopped it)" "$log"
    fi
    sleep 0.5
  done
  echo "rabbitmq: ready on $host:$port"
}

stop() {
  if ! alive; then
    echo "rabbitmq: not running"
    stop_epmd
    rm -rf "$dir/mnesia"
    return 0
  fi
  local pid
  pid=$(<"$pidfile")
  echo "rabbitmq: stopping (pid $pid)"
  # beam shuts the node down cleanly on SIGTERM.
  kill -TERM "$pid" 2>/dev/null || true
  svc_wait_exit "$pid" 30 || svc_fail "rabbitmq (pid $pid) did not stop within 30s" "$log"
  stop_epmd
  rm -rf "$dir/mnesia"
  echo "rabbitmq: stopped"
}

env_() {
  echo "export WEFT_TEST_AMQP_URL=amqp://guest:guest@$host:$port/"
}

# serving: the server is up (svc_main's status).
serving() { have_bins && running; }

svc_main "$@"

#!/usr/bin/env bash
# A private Apache Kafka broker (KRaft: broker and controller in one JVM, no
# ZooKeeper) for weft's tests and demos.
#
#   tests/services/kafka.sh start   install if needed, start, wait until ready
#   tests/services/kafka.sh stop    shut it down (no-op when not running), drop its data
#   tests/services/kafka.sh status  exit 0 when running
#   tests/services/kafka.sh env     print the exports tests use:  eval "$(tests/services/kafka.sh env)"
#
# Kafka's jars come from Maven Central through `mvn` (the machine's Maven
# settings and proxy) into a cache dir that later starts reuse; a JRE comes
# from apt only when `java` is missing. The instance lives in its own state
# dir (config, log, data), listens on 127.0.0.1 only and starts empty: its
# data is dropped at start and at stop. Topics are created on first use.
#
# Environment:
#   WEFT_SERVICES_DIR   parent of all state dirs          (/tmp/weft-services)
#   WEFT_KAFKA_DIR      this instance's state dir         ($WEFT_SERVICES_DIR/kafka)
#   WEFT_KAFKA_PORT     broker TCP port on 127.0.0.1      (39092)
#   WEFT_KAFKA_CONTROLLER_PORT  KRaft controller port     (WEFT_KAFKA_PORT + 1)
#   WEFT_KAFKA_TIMEOUT  seconds to wait for startup       (90)
#   WEFT_KAFKA_LIB      the cached jars                   (~/.cache/weft-services/kafka-4.1.1/lib)
#   WEFT_KAFKA_HEAP     the JVM's heap options            (-Xmx512m -Xms256m)
set -euo pipefail

kafka_version=4.1.1
log4j_version=2.24.3 # the log4j-core that kafka 4.1.1 depends on; its slf4j 1.x binding must match
services_dir=${WEFT_SERVICES_DIR:-/tmp/weft-services}
dir=${WEFT_KAFKA_DIR:-$services_dir/kafka}
port=${WEFT_KAFKA_PORT:-39092}
cport=${WEFT_KAFKA_CONTROLLER_PORT:-$((port + 1))}
timeout=${WEFT_KAFKA_TIMEOUT:-90}
lib=${WEFT_KAFKA_LIB:-$HOME/.cache/weft-services/kafka-$kafka_version/lib}
heap=${WEFT_KAFKA_HEAP:--Xmx512m -Xms256m}
host=127.0.0.1
pidfile=$dir/kafka.pid
log=$dir/kafka.log
data=$dir/data
formatted=$dir/formatted-$kafka_version

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$here/lib.sh"
svc_name=kafka

# The jars are complete once kafka.Kafka's jar is there: the download lands in
# a temporary dir that is renamed into place at the end.
have_lib() { [[ -f $lib/kafka_2.13-$kafka_version.jar ]]; }

install() {
  command -v java >/dev/null || svc_apt_install default-jre-headless
  command -v java >/dev/null || svc_die "default-jre-headless is installed but java is not on PATH"
  have_lib && return 0
  command -v mvn >/dev/null || svc_apt_install maven
  command -v mvn >/dev/null || svc_die "maven is installed but mvn is not on PATH"
  local tmp mlog=$services_dir/kafka-mvn.log
  mkdir -p "$services_dir" "$(dirname "$lib")"
  tmp=$(mktemp -d "$lib.tmp.XXXXXX")
  echo "kafka: downloading Kafka $kafka_version's jars with mvn into $lib (log: $mlog)"
  cat >"$tmp/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>weft.services</groupId>
  <artifactId>kafka-lib</artifactId>
  <version>1</version>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_2.13</artifactId>
      <version>$kafka_version</version>
    </dependency>
    <!-- Kafka logs through slf4j 1.x: without a binding it would log nothing. -->
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-slf4j-impl</artifactId>
      <version>$log4j_version</version>
    </dependency>
  </dependencies>
</project>
EOF
  if ! timeout 900 mvn -B -q -Dstyle.color=never -f "$tmp/pom.xml" \
    org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$tmp/lib" >"$mlog" 2>&1; then
    rm -rf "$tmp"
    svc_fail "downloading Kafka's jars with mvn failed" "$mlog"
  fi
  [[ -f $tmp/lib/kafka_2.13-$kafka_version.jar ]] || {
    rm -rf "$tmp"
    svc_fail "mvn did not bring kafka_2.13-$kafka_version.jar" "$mlog"
  }
  # Another start (of another state dir) may have won the race: keep its copy.
  mv -T "$tmp/lib" "$lib" 2>/dev/null || have_lib || {
    rm -rf "$tmp"
    svc_die "could not move the jars into $lib"
  }
  rm -rf "$tmp"
}

# Ready when the broker answers a Metadata request (v4) listing at least one
# broker: it serves requests only once it has joined the KRaft quorum and is
# unfenced. Request: size 19, api key 3, version 4, correlation id 1, client
# id "weft", topics [] (none), allow_auto_topic_creation false.
# Response: size, correlation id, throttle ms, broker count (int32 each).
ping() {
  local out b
  out=$({
    exec 3<>"/dev/tcp/$host/$port" || exit 1
    printf '\0\0\0\x13\0\x03\0\x04\0\0\0\x01\0\x04weft\0\0\0\0\0' >&3
    timeout 3 od -An -tu1 -N16 <&3
  } 2>/dev/null) || return 1
  read -r -a b <<<"$out"
  ((${#b[@]} == 16)) || return 1
  ((b[4] == 0 && b[5] == 0 && b[6] == 0 && b[7] == 1)) || return 1
  (((b[12] << 24 | b[13] << 16 | b[14] << 8 | b[15]) >= 1))
}

# The group coordinator answers FindCoordinator (v1, key "weft", key type
# group) with error code 0. The first such request creates __consumer_offsets,
# so this also spares the tests' first consumer group a retry (kafka-go waits
# 5 s before it tries again). Response: size, correlation id, throttle ms, error code.
coordinator() {
  local out b
  out=$({
    exec 3<>"/dev/tcp/$host/$port" || exit 1
    printf '\0\0\0\x15\0\x0a\0\x01\0\0\0\x02\0\x04weft\0\x04weft\0' >&3
    timeout 3 od -An -tu1 -N14 <&3
  } 2>/dev/null) || return 1
  read -r -a b <<<"$out"
  ((${#b[@]} == 14)) || return 1
  ((b[4] == 0 && b[5] == 0 && b[6] == 0 && b[7] == 2 && b[12] == 0 && b[13] == 0))
}

# The pid file names a live java that runs this state dir's broker (not some
# other JVM that got the pid later).
alive() {
  svc_pid_alive "$pidfile" java &&
    tr '\0' ' ' <"/proc/$(<"$pidfile")/cmdline" 2>/dev/null | grep -qF " kafka.Kafka $dir/server.properties"
}

running() {
  alive && ping
}

write_config() {
  cat >"$dir/server.properties" <<EOF
# Written by kafka.sh: a one-node KRaft test broker on $host only.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$host:$cport
listeners=PLAINTEXT://$host:$port,CONTROLLER://$host:$cport
advertised.listeners=PLAINTEXT://$host:$port
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$data
num.partitions=1
default.replication.factor=1
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
EOF
  # Everything to stdout, which goes to $log.
  cat >"$dir/log4j2.properties" <<'EOF'
status = warn
appender.out.type = Console
appender.out.name = STDOUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = STDOUT
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.clients.name = org.apache.kafka.clients
logger.clients.level = WARN
EOF
}

# The JVM, as Kafka's own kafka-run-class.sh runs it, with a small heap and
# only the client JIT compiler (C1): a test broker starts ~1.5 s sooner.
jvm() {
  # shellcheck disable=SC2206 # $heap is a list of options
  java=(java $heap -XX:TieredStopAtLevel=1 -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExplicitGCInvokesConcurrent
    -Djava.awt.headless=true -Dlog4j2.configurationFile="$dir/log4j2.properties"
    -cp "$lib/*")
}

start() {
  install
  mkdir -p "$dir"

  if running; then
    echo "kafka: already running on $host:$port (state dir $dir)"
    return 0
  fi
  # A broker of this state dir that is alive but not answering (still starting, or stuck).
  if alive; then
    svc_die "a kafka of $dir (pid $(<"$pidfile")) is alive but does not answer on $host:$port; run $0 stop"
  fi
  svc_port_free "$port" WEFT_KAFKA_PORT
  svc_port_free "$cport" WEFT_KAFKA_CONTROLLER_PORT
  echo "kafka: starting on $host:$port, controller on $host:$cport (state dir $dir)"
  rm -rf "$data"
  write_config
  : >"$log"
  jvm
  # Formatting the KRaft storage costs a JVM start: format once into
  # $formatted (kept across stops) and start each time from a copy of it.
  if [[ ! -f $formatted/meta.properties || ! -f $formatted/bootstrap.checkpoint ]]; then
    rm -rf "$formatted"
    sed "s|^log.dirs=.*|log.dirs=$formatted|" "$dir/server.properties" >"$dir/format.properties"
    "${java[@]}" kafka.tools.StorageTool format \
      --cluster-id "$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')" \
      --config "$dir/format.properties" </dev/null >>"$log" 2>&1 9>&- || {
      rm -rf "$formatted"
      svc_fail "formatting the KRaft storage in $formatted failed" "$log"
    }
  fi
  cp -a "$formatted" "$data"
  setsid "${java[@]}" kafka.Kafka "$dir/server.properties" \
    </dev/null >>"$log" 2>&1 9>&- &
  local pid=$!
  echo "$pid" >"$pidfile"
  local deadline=$((SECONDS + timeout))
  until ping && coordinator; do
    kill -0 "$pid" 2>/dev/null || svc_fail "kafka exited during startup" "$log"
    if ((SECONDS >= deadline)); then
      kill -TERM "$pid" 2>/dev/null || true
      svc_wait_exit "$pid" 15 || true # the JVM holds the ports until it is gone
      svc_fail "kafka not ready after ${timeout}s (stopped it)" "$log"
    fi
    sleep 0.3
  done
  echo "kafka: ready on $host:$port"
}

stop() {
  if ! alive; then
    echo "kafka: not running"
    rm -rf "$data"
    return 0
  fi
  local pid
  pid=$(<"$pidfile")
  echo "kafka: stopping (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  svc_wait_exit "$pid" 30 || svc_fail "kafka (pid $pid) did not stop within 30s" "$log"
  rm -f "$pidfile"
  rm -rf "$data"
  echo "kafka: stopped"
}

env_() {
  echo "export WEFT_TEST_KAFKA_ADDR=$host:$port"
}

# serving: the server is up (svc_main's status).
serving() { command -v java >/dev/null && running; }

svc_main "$@"

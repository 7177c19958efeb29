#!/usr/bin/env bash
# The eBPF path's overhead, quickly: the hello server (bench/apps/hello) built
# plain, run plain and under `weft run --ebpf` for each weft binary given,
# in rotated order, under wrk. Prints per window: req/s, the ratio to the
# plain window of the same round, and CPU per request of the traced program
# and of the loader (`weft run`) separately. Needs root, go, wrk, taskset.
#
#   bash bench/ebpf.sh                          target/release/weft only
#   WEFTS="before=/tmp/weft-old after=target/release/weft" bash bench/ebpf.sh
#   ROUNDS=5 DURATION=5 bash bench/ebpf.sh
#
# Like bench/run.sh: the server is pinned to CPU 0 (the loader with it),
# wrk and the OTLP sink to CPU 1; 16 connections.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
rounds=${ROUNDS:-3}
duration=${DURATION:-5}
wefts=${WEFTS:-"ebpf=$root/target/release/weft"}
work=$(mktemp -d "${TMPDIR:-/tmp}/weft-ebpf-bench.XXXXXX")
sink_pid='' srv_pid=''
cleanup() {
  [[ -z $srv_pid ]] || { kill "$srv_pid" 2>/dev/null; wait "$srv_pid" 2>/dev/null || true; }
  [[ -z $sink_pid ]] || { kill "$sink_pid" 2>/dev/null; wait "$sink_pid" 2>/dev/null || true; }
  rm -rf "$work"
}
trap cleanup EXIT

(cd "$root/bench" && go build -o "$work/hello" ./apps/hello && go build -o "$work/sink" ./cmd/sink)
taskset -c 1 "$work/sink" -listen 127.0.0.1:0 -addr-file "$work/sink.addr" 2>"$work/sink.log" &
sink_pid=$!
for _ in $(seq 50); do [[ -s $work/sink.addr ]] && break; sleep 0.1; done
sink=$(<"$work/sink.addr")
cat >"$work/report.lua" <<'EOF'
done = function(summary, latency, requests)
  io.write(string.format("REQ %d %d\n", summary.requests, summary.duration))
end
EOF

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# user+system ticks of one process (all its threads)
ticks() { awk '{print $14+$15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
hz=$(getconf CLK_TCK)

# one window: variant name, weft binary (empty: plain)
window() {
  local name=$1 weft=$2 port; port=$(free_port)
  local env=(HELLO_ADDR=127.0.0.1:$port OTEL_SERVICE_NAME=hello OTEL_EXPORTER_OTLP_ENDPOINT=http://$sink)
  if [[ -z $weft ]]; then
    env "${env[@]}" taskset -c 0 "$work/hello" 2>"$work/$name.log" &
  else
    env "${env[@]}" taskset -c 0 "$weft" run --ebpf -- "$work/hello" 2>"$work/$name.log" &
  fi
  srv_pid=$!
  for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$port/hello" >/dev/null 2>&1 && break; sleep 0.1; done
  local loader='' prog=$srv_pid
  if [[ -n $weft ]]; then loader=$srv_pid; prog=$(pgrep -P "$srv_pid" | head -1); fi
  taskset -c 1 wrk -t1 -c16 -d1s http://127.0.0.1:$port/hello >/dev/null
  local p0 l0=0 p1 l1=0
  p0=$(ticks "$prog"); [[ -z $loader ]] || l0=$(ticks "$loader")
  local out; out=$(taskset -c 1 wrk -t1 -c16 -d"${duration}s" -s "$work/report.lua" http://127.0.0.1:$port/hello | grep '^REQ')
  p1=$(ticks "$prog"); [[ -z $loader ]] || l1=$(ticks "$loader")
  kill -TERM "$srv_pid"; wait "$srv_pid" 2>/dev/null || true; srv_pid=''
  set -- $out
  awk -v n="$2" -v us="$3" -v dp=$((p1 - p0)) -v dl=$((l1 - l0)) -v hz="$hz" -v name="$name" 'BEGIN {
    printf "%s %.0f %.1f %.1f\n", name, n / (us / 1e6), dp / hz * 1e6 / n, dl / hz * 1e6 / n }'
}

names=(plain); bins=('')
for w in $wefts; do names+=("${w%%=*}"); bins+=("${w#*=}"); done
echo "# $(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg); ${duration}s windows, $rounds rounds"
printf '%-8s %-8s %9s %7s %12s %12s\n' round variant req/s ratio prog_us/req loader_us/req
for ((r = 0; r < rounds; r++)); do
  declare -A rps=()
  lines=()
  for ((i = 0; i < ${#names[@]}; i++)); do
    j=$(((i + r) % ${#names[@]}))
    line=$(window "${names[$j]}" "${bins[$j]}")
    lines+=("$line")
    set -- $line
    rps[$1]=$2
  done
  for line in "${lines[@]}"; do
    set -- $line
    awk -v r=$((r + 1)) -v n="$1" -v q="$2" -v base="${rps[plain]}" -v p="$3" -v l="$4" 'BEGIN {
      printf "%-8s %-8s %9.0f %7.2f %12.1f %12.1f\n", r, n, q, q / base, p, l }'
  done
done
echo "# spans the sink received: $(curl -fsS "http://$sink/stats")"

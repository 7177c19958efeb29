#!/usr/bin/env bash
# Probe hits per request under `weft run --ebpf`, per BPF program, and the
# time spent inside the programs (the kernel's BPF run-time statistics,
# kernel.bpf_stats_enabled, switched on for the run and off after).
#
#   bash bench/ebpf-hits.sh [WEFT]          hello (bench/apps/hello)
#   SCENARIO=shop bash bench/ebpf-hits.sh   the shop's checkout (needs MYSQL_DSN:
#                                           eval "$(tests/services/mariadb.sh env)")
#
# Needs root, go, wrk, bpftool, python3. Spans go nowhere (OTEL_SDK_DISABLED).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
weft=${1:-$root/target/release/weft}
scenario=${SCENARIO:-hello}
work=$(mktemp -d)
pids=()
cleanup() {
  sysctl -qw kernel.bpf_stats_enabled=0
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
run() { OTEL_SDK_DISABLED=true env "$@" "$weft" run --ebpf -- "${bin}" 2>>"$work/weft.log" & pids+=($!); }
up() { for _ in $(seq 100); do curl -fsS "$1" >/dev/null 2>&1 && return; sleep 0.1; done; echo "no answer from $1" >&2; exit 1; }

if [[ $scenario == shop ]]; then
  [[ -n ${MYSQL_DSN:-} ]] || { echo 'MYSQL_DSN is not set: eval "$(tests/services/mariadb.sh env)"' >&2; exit 1; }
  (cd "$root/examples" && go build -o "$work/" ./shop/frontend ./shop/inventory)
  inv=$(port) front=$(port)
  bin=$work/inventory run INVENTORY_ADDR=127.0.0.1:$inv
  bin=$work/frontend run FRONTEND_ADDR=127.0.0.1:$front INVENTORY_URL=http://127.0.0.1:$inv
  up "http://127.0.0.1:$inv/healthz"; up "http://127.0.0.1:$front/healthz"
  url=http://127.0.0.1:$front/checkout/2
else
  (cd "$root/bench" && go build -o "$work/hello" ./apps/hello)
  p=$(port)
  bin=$work/hello run HELLO_ADDR=127.0.0.1:$p
  url=http://127.0.0.1:$p/hello
fi
up "$url"
sysctl -qw kernel.bpf_stats_enabled=1
bpftool prog show -j >"$work/before.json"
wrk -t1 -c8 -d3s "$url" >"$work/wrk.txt"
bpftool prog show -j >"$work/after.json"
sysctl -qw kernel.bpf_stats_enabled=0
python3 - "$work" "$scenario" <<'PY'
import collections, json, re, sys
w, scenario = sys.argv[1], sys.argv[2]
req = int(re.search(r'(\d+) requests in', open(f'{w}/wrk.txt').read()).group(1))
before = {p['id']: p for p in json.load(open(f'{w}/before.json'))}
by = collections.defaultdict(lambda: [0, 0])
for p in json.load(open(f'{w}/after.json')):
    b = before.get(p['id'])
    if b and p.get('run_cnt', 0) > b.get('run_cnt', 0):
        by[p['name']][0] += p['run_cnt'] - b.get('run_cnt', 0)
        by[p['name']][1] += p.get('run_time_ns', 0) - b.get('run_time_ns', 0)
for name, (n, ns) in sorted(by.items()):
    print(f'{name:18s} {n / req:6.2f} hits/request {ns / n:7.0f} ns in the program per hit')
n, ns = sum(v[0] for v in by.values()), sum(v[1] for v in by.values())
print(f'{scenario}: {req} requests, {n / req:.2f} probe hits per request, {ns / req / 1000:.1f} µs per request inside BPF programs')
PY
grep -h 'uprobes on' "$work/weft.log" || true

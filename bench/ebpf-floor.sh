#!/usr/bin/env bash
# What one uprobe hit costs on this machine, by the instruction it sits on:
# bench/apps/uprobefloor calls a function in a loop and prints its CPU time
# per call; each probe here is a perf uprobe event (perf probe + perf stat,
# no BPF program), so the difference to the unprobed run is the trap.
#
#   bash bench/ebpf-floor.sh [CALLS]
#
# Needs root, go, perf (Debian: linux-perf). Mounts tracefs on
# /sys/kernel/tracing if it is not (perf probe needs it) and unmounts it after.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
n=${1:-200000}
work=$(mktemp -d)
mounted=''
cleanup() {
  perf probe -q -d 'probe_uprobefloor:*' 2>/dev/null || true
  [[ -z $mounted ]] || umount /sys/kernel/tracing
  rm -rf "$work"
}
trap cleanup EXIT
if [[ ! -e /sys/kernel/tracing/uprobe_events ]]; then
  mount -t tracefs nodev /sys/kernel/tracing
  mounted=1
fi
(cd "$root/bench" && go build -o "$work/uprobefloor" ./apps/uprobefloor)
bin=$work/uprobefloor
ret=$(go tool objdump -s '^main.call$' "$bin" | awk '$4 == "RET" { print $2; exit }')
start=$(go tool objdump -s '^main.call$' "$bin" | awk 'NR == 2 { print $2 }')
call=$(go tool objdump -s '^main.call$' "$bin" | awk '$4 == "CALL" { print $2; exit }')
ret_off=$((ret - start)) call_off=$((call - start))

cpu() { "$bin" "$n" "$1" | sed 's/.*cpu_ns_per_call=\([0-9]*\).*/\1/'; }
base_call=$(cpu call) base_leaf=$(cpu leaf)
echo "# $(date -u +%FT%TZ) $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg), $n calls each"
echo "no probe: main.call ${base_call} ns/call, main.leaf ${base_leaf} ns/call"
probe() { # name, location, function to run, what it is
  perf probe -q -x "$bin" -a "$1=$2"
  local c hits
  c=$(perf stat -x, -o "$work/stat" -e "probe_uprobefloor:$1" "$bin" "$n" "$3" | sed 's/.*cpu_ns_per_call=\([0-9]*\).*/\1/')
  hits=$(cut -d, -f1 "$work/stat" | grep -E '^[0-9]+$' | head -1)
  local base=$base_call; [[ $3 == leaf ]] && base=$base_leaf
  printf '%-34s %6d ns per hit (%s hits)\n' "$4" $((c - base)) "$hits"
  perf probe -q -d "probe_uprobefloor:$1"
}
probe entry "main.call" call "first instruction (CMP, stepped)"
probe jbe "main.call+4" call "stack check JBE (emulated)"
probe call "main.call+$call_off" call "CALL (emulated)"
probe ret "main.call+$ret_off" call "RET (stepped)"
probe leaf "main.leaf" leaf "first instruction (INC, stepped)"

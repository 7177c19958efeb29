#!/usr/bin/env bash
# All of weft's benchmarks in one command; writes bench/RESULTS.md (and the
# raw measurements to bench/results/).
#
#   bash bench/run.sh                     everything (about 15 minutes on 2 cores)
#   BENCH_QUICK=1 bash bench/run.sh       short windows, fewer rounds: a smoke test
#   BENCH_ONLY="load instr micro build shim" bash bench/run.sh   a subset (the report
#                                         keeps the other parts' last raw results)
#
# What it measures (bench/RESULTS.md says the same next to the figures):
#   load   hello-world net/http and the two-service shop under wrk: plain build,
#          `weft go build`, the official OTel SDK hand-instrumented (otelhttp,
#          otelsql), orchestrion and otelc where they build here, and
#          `weft run --ebpf` on the plain build when weft has it
#   instr  user-space instructions, simulated L1/L2 misses and estimated
#          cycles per request (hello, the shop), plain and woven, under
#          valgrind's cachegrind: steady where throughput on a shared VM is not
#   micro  runtime/weft's go benchmarks beside the same operations on the SDK
#   build  cold and warm `weft go build` against `go build`: the shop and
#          prometheus/node_exporter (downloaded from the module proxy into a
#          temp dir, never committed)
#   shim   what the compile shim adds to a compile no rule matches
#
# Needs go, cargo, a C compiler, wrk and taskset (as root it apt-gets wrk and
# MariaDB when missing). Network: the Go module proxy, for the SDK, orchestrion
# and node_exporter (cached after the first run; orchestrion's binaries are
# kept in ~/.cache/weft-bench, by sources and versions). It starts a private MariaDB
# on port 33407 (tests/services/mariadb.sh) and stops it at the end; the sink
# and the services listen on free loopback ports.
#
# Environment: WEFT=/path/to/weft skips the cargo build; BENCH_ROUNDS,
# BENCH_DURATION (seconds per load window), BENCH_COLD_ROUNDS (cold builds
# per target and variant; 1 by default: a cold build of node_exporter takes
# minutes here), BENCH_KEEP=1 keeps the work dir.
set -euo pipefail
# The body is one function: bash reads all of it before running anything,
# so editing this file during a run cannot derail that run.
main() {
start_s=$SECONDS
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bench=$root/bench
cd "$root"

quick=${BENCH_QUICK:-}
only=${BENCH_ONLY:-load instr micro build shim}
# Load rounds: by default one per variant (set after the build), so the
# rotated order puts every variant first once (the first run of a round
# meets the freshest machine and database).
rounds=${BENCH_ROUNDS:-$([[ -n $quick ]] && echo 1 || echo 0)}
duration=${BENCH_DURATION:-$([[ -n $quick ]] && echo 2 || echo 5)}
orchestrion_version=v1.6.0
ddtrace_version=v2.5.0
otelc_version=v1.1.0
large_module=github.com/prometheus/node_exporter
large_version=v1.12.1
export GOTOOLCHAIN=local GOPROXY=${GOPROXY:-https://proxy.golang.org}
export WEFT_MARIADB_DIR=${WEFT_MARIADB_DIR:-/tmp/weft-bench-services/mariadb}
export WEFT_MARIADB_PORT=${WEFT_MARIADB_PORT:-33407}

say() { printf '\n\033[1m== %s\033[0m\n' "$*" >&2; }
die() { echo "bench/run.sh: $*" >&2; exit 1; }
has() { [[ " $only " == *" $1 "* ]]; }

for tool in go cargo cc taskset; do
  command -v "$tool" >/dev/null || die "$tool is needed and not on PATH"
done
if ! command -v wrk >/dev/null; then
  [[ $(id -u) == 0 ]] || die "wrk is needed (apt-get install wrk)"
  say "installing wrk"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/weft-bench.XXXXXX")
results=$work/results
mkdir -p "$results" "$work/bin" "$work/tools" "$work/logs" "$work/tmp"
# Every tool's temporary files go with the work dir (orchestrion leaves
# ~300 MB in TMPDIR per build).
export TMPDIR=$work/tmp
sink_pid='' started_db=''
cleanup() {
  local rc=$?
  [[ -z $sink_pid ]] || { kill "$sink_pid" 2>/dev/null; wait "$sink_pid" 2>/dev/null || true; }
  [[ -z $started_db ]] || "$root/tests/services/mariadb.sh" stop >/dev/null || true
  if [[ -n ${BENCH_KEEP:-} ]]; then echo "work dir kept: $work" >&2; else rm -rf "$work"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
# The commit measured: taken now, since the tree may move during the run.
commit="$(git -C "$root" rev-parse --short HEAD)$(git -C "$root" diff --quiet HEAD -- shim runtime rules bpf 2>/dev/null || echo ' (shim/runtime/rules/bpf modified in the work tree)')"

declare -A status=()
# Seconds each part took (meta.json "Parts": the report checks the 15 min).
declare -A parts=()
part_start=$SECONDS
# part NAME: the time since the last part ends part NAME.
part() { parts[$1]=$((SECONDS - part_start)); part_start=$SECONDS; }
# note VARIANT MESSAGE: why a variant is missing (first line of the error).
note() { status[$1]=$2; echo "bench: $1: $2" >&2; }

weft=${WEFT:-}
if [[ -z $weft ]]; then
  # The release binary as shipped: static and non-PIE (it starts about
  # 0.6 ms faster than a dynamic PIE, once per compile through the shim).
  host=$(rustc -vV | sed -n 's/^host: //p')
  say "building weft (cargo build --release --target $host, crt-static, non-PIE)"
  RUSTFLAGS="-C target-feature=+crt-static -C relocation-model=static" cargo build --release -q --target "$host" -p weft
  weft=${CARGO_TARGET_DIR:-$root/target}/$host/release/weft
fi
[[ -x $weft ]] || die "no weft binary at $weft"
# A private copy: other builds may replace target/release/weft mid-run.
cp "$weft" "$work/tools/weft"
weft=$work/tools/weft

say "building the harness and the sink"
(cd "$bench" && go build -o "$work/tools/" ./cmd/harness ./cmd/sink)
harness=$work/tools/harness

# --- the programs, one folder per variant ---------------------------------
bin=$work/bin
variants=()
build_variants() {
  say "plain go build"
  (cd "$bench" && go build -o "$bin/plain/hello" ./apps/hello)
  (cd "$root/examples" && go build -o "$bin/plain/" ./shop/frontend ./shop/inventory)
  variants+=(plain)

  say "weft go build"
  (cd "$bench" && "$weft" go build -o "$bin/weft/hello" ./apps/hello)
  (cd "$root/examples" && "$weft" go build -o "$bin/weft/" ./shop/frontend ./shop/inventory)
  variants+=(weft)

  say "the official OpenTelemetry SDK, hand-instrumented"
  (cd "$bench" && go build -o "$bin/otelsdk/hello" ./apps/hellootel &&
    go build -o "$bin/otelsdk/" ./apps/shopotel/frontend ./apps/shopotel/inventory)
  variants+=(otelsdk)

  say "orchestrion $orchestrion_version with dd-trace-go $ddtrace_version (module proxy)"
  # Newer pairs are refused here: orchestrion v1.15.0 pins dd-trace-go
  # v2.12.0, which the proxy answers with 403 "This module version is not
  # available". The checksum database has no entry for orchestrion v1.6.0
  # (404 through the proxy), so this one step runs with GOSUMDB=off, in a
  # temporary copy of the programs. The first run compiles dd-trace-go and
  # all its integrations (about 10 minutes here); later runs hit GOCACHE.
  local log=$work/logs/orchestrion.log
  orch_build() { # DIR OUT PKG…
    local dir=$1 out=$2
    shift 2
    (cd "$dir" || exit 1
    [[ -f go.mod ]] || go mod init example.com/hello || exit 1
    cat >orchestrion.tool.go <<'TOOL'
//go:build tools

// What `orchestrion pin` writes: the integrations to weave.
package tools

import (
	_ "github.com/DataDog/dd-trace-go/orchestrion/all/v2"
	_ "github.com/DataDog/orchestrion"
)
TOOL
    GOSUMDB=off GOFLAGS=-mod=mod go get "github.com/DataDog/orchestrion@$orchestrion_version" \
      "github.com/DataDog/dd-trace-go/orchestrion/all/v2@$ddtrace_version" &&
      GOSUMDB=off GOFLAGS=-mod=mod go run github.com/DataDog/orchestrion go build -o "$out" "$@")
  }
  # Its builds take about a minute even with a warm GOCACHE (its toolexec
  # runs for every package), so the binaries are kept, keyed by the tool
  # versions, the Go version and the programs' sources.
  local key kept
  key=$({ echo "$orchestrion_version $ddtrace_version $(go version)"
    git -C "$root" ls-files -z examples bench/apps/hello | (cd "$root" && xargs -0 sha256sum); } | sha256sum | cut -c1-16)
  kept=${XDG_CACHE_HOME:-$HOME/.cache}/weft-bench/orchestrion-$key
  mkdir -p "$work/orch/hello" && cp "$bench/apps/hello/main.go" "$work/orch/hello/" && cp -r "$root/examples" "$work/orch/examples"
  if [[ -x $kept/hello && -x $kept/frontend && -x $kept/inventory ]]; then
    echo "bench: orchestrion: the binaries built from the same sources, kept in $kept" >&2
    mkdir -p "$bin/orchestrion" && cp "$kept"/{hello,frontend,inventory} "$bin/orchestrion/"
    variants+=(orchestrion)
    status[orchestrion]=ok
  elif orch_build "$work/orch/hello" "$bin/orchestrion/hello" . >"$log" 2>&1 &&
    orch_build "$work/orch/examples" "$bin/orchestrion/" ./shop/frontend ./shop/inventory >>"$log" 2>&1; then
    variants+=(orchestrion)
    status[orchestrion]=ok
    mkdir -p "$kept" && cp "$bin/orchestrion"/{hello,frontend,inventory} "$kept/"
  else
    note orchestrion "does not build here: $(grep -v '^go: downloading' "$log" | tail -n 3 | tr '\n' ' ')"
  fi

  say "otelc $otelc_version (module proxy)"
  log=$work/logs/otelc.log
  if GOBIN=$work/tools GOFLAGS=-mod=mod go install "go.opentelemetry.io/otelc/tool/cmd/otelc@$otelc_version" >"$log" 2>&1 &&
    mkdir -p "$work/otelc/hello" && cp "$bench/apps/hello/main.go" "$work/otelc/hello/" &&
    (cd "$work/otelc/hello" && go mod init example.com/hello &&
      GOFLAGS=-mod=mod "$work/tools/otelc" go build -o "$bin/otelc/hello" .) >>"$log" 2>&1 &&
    cp -r "$root/examples" "$work/otelc/examples" &&
    (cd "$work/otelc/examples" &&
      GOFLAGS=-mod=mod "$work/tools/otelc" go build -o "$bin/otelc/" ./shop/frontend ./shop/inventory) >>"$log" 2>&1; then
    variants+=(otelc)
    status[otelc]=ok
  else
    note otelc "does not build here: go install go.opentelemetry.io/otelc/tool/cmd/otelc@$otelc_version: $(grep -v '^go: downloading' "$log" | tail -n 2 | tr '\n' ' ')"
  fi

  # SLOT: eBPF. `weft run --ebpf -- BINARY` on the plain build, measured like
  # the others as soon as weft has it (another engineer is building it).
  say "weft run --ebpf (the plain build, uprobes attached)"
  if "$weft" run --help 2>&1 | grep -q -- '--ebpf'; then
    variants+=(ebpf=plain)
    status[ebpf]=ok
  else
    note ebpf "this weft has no \`weft run --ebpf\` yet (\`weft run --help\` does not list it): the slot in bench/run.sh measures it once it lands"
  fi
}

# MariaDB for the shop: started here unless already running (stopped at
# exit only then), its MYSQL_DSN exported.
start_db() {
  if ! "$root/tests/services/mariadb.sh" status >/dev/null 2>&1; then
    "$root/tests/services/mariadb.sh" start >&2
    started_db=1
  fi
  eval "$("$root/tests/services/mariadb.sh" env)"
}

start_sink() {
  [[ -z $sink_pid ]] || return 0
  say "the sink (OTLP/HTTP and Datadog agent, counts and discards)"
  taskset -c 1 "$work/tools/sink" -listen 127.0.0.1:0 -addr-file "$work/sink.addr" 2>"$work/logs/sink.log" &
  sink_pid=$!
  for _ in $(seq 50); do [[ -s $work/sink.addr ]] && break; sleep 0.1; done
  sink_addr=$(<"$work/sink.addr")
  curl -fsS "http://$sink_addr/stats" >/dev/null || die "the sink does not answer on $sink_addr"
}

part setup
if has load; then
  build_variants
  wraps=(-wrap "ebpf=$weft run --ebpf --")
  ((rounds > 0)) || rounds=$((${#variants[@]} > 3 ? ${#variants[@]} : 3))
  varflags=()
  for v in "${variants[@]}"; do varflags+=(-variant "$v"); done

  start_sink

  say "runtime: hello-world net/http"
  "$harness" load -scenario hello -bin "$bin" "${varflags[@]}" "${wraps[@]}" -rounds "$rounds" \
    -duration "${duration}s" -connections 16 -sink "$sink_addr" -lua "$bench/wrk-report.lua" \
    -logs "$work/logs" -out "$results/load-hello.json"

  say "runtime: the shop (frontend → inventory, MariaDB)"
  start_db
  "$harness" load -scenario shop -bin "$bin" "${varflags[@]}" "${wraps[@]}" -rounds "$rounds" \
    -duration "${duration}s" -connections 8 -sink "$sink_addr" -lua "$bench/wrk-report.lua" \
    -logs "$work/logs" -out "$results/load-shop.json"
  part load
fi

if has instr; then
  say "instructions per request: hello and the shop, plain and woven, under cachegrind"
  if ! command -v valgrind >/dev/null; then
    [[ $(id -u) == 0 ]] || die "valgrind is needed for the instr part (apt-get install valgrind)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind >/dev/null
  fi
  if [[ ! -x $bin/weft/hello ]]; then
    (cd "$bench" && go build -o "$bin/plain/hello" ./apps/hello && "$weft" go build -o "$bin/weft/hello" ./apps/hello)
    (cd "$root/examples" && go build -o "$bin/plain/" ./shop/frontend ./shop/inventory &&
      "$weft" go build -o "$bin/weft/" ./shop/frontend ./shop/inventory)
  fi
  start_sink
  start_db
  for sc in hello shop; do
    "$harness" instr -scenario "$sc" -bin "$bin" -variant plain -variant weft -rounds "$([[ -n $quick ]] && echo 1 || echo 2)" \
      -seconds "$([[ -n $quick ]] && echo 3 || echo 5)" -sink "$sink_addr" -out "$results/instr-$sc.json"
  done
  part instr
fi

if has micro; then
  say "micro-benchmarks: runtime/weft (in a GOROOT mirror) and the official SDK (bench/micro)"
  mirror=$work/goroot
  real_goroot=$(go env GOROOT)
  cp -rs "$real_goroot/." "$mirror/"
  rm -rf "$mirror/src/weft"
  cp -r "$root/runtime/weft" "$mirror/src/weft"
  # As tests/run.sh does: weft/rt reads the goroutine slot the woven runtime
  # provides; outside a weft build it links against the no-op accessors.
  if [[ -f $root/rules/goroutine/fallback.go ]]; then
    rm -f "$mirror/src/runtime/zz_weft_fallback.go"
    cp "$root/rules/goroutine/fallback.go" "$mirror/src/runtime/zz_weft_fallback.go"
  fi
  mkdir -p "$work/micro"
  # Compile every test binary first, then run them in turns (weft, SDK,
  # weft, SDK, …) so both see the same machine.
  pkgs=$(GOROOT=$mirror GOFLAGS= "$real_goroot/bin/go" list -f '{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}}{{end}}' weft/...)
  for p in $pkgs; do
    GOROOT=$mirror GOFLAGS= "$real_goroot/bin/go" test -c -o "$work/micro/weft-${p//\//_}.test" "$p"
  done
  (cd "$bench" && go test -c -o "$work/micro/sdk.test" ./micro)
  # The same SDK benchmarks built with weft: what the OTel API bridge
  # (rules/otel) costs a program that traces with the SDK itself.
  (cd "$bench" && "$weft" go test -c -o "$work/micro/sdk-woven.test" ./micro)
  count=$([[ -n $quick ]] && echo 1 || echo 3)
  benchtime=$([[ -n $quick ]] && echo 0.2s || echo 0.5s)
  : >"$results/micro-weft.txt"
  : >"$results/micro-sdk.txt"
  : >"$results/micro-sdk-woven.txt"
  for ((i = 0; i < count; i++)); do
    for p in $pkgs; do
      (cd "$mirror/src/$p" && GOROOT=$mirror "$work/micro/weft-${p//\//_}.test" -test.run '^$' -test.bench . -test.benchmem \
        -test.benchtime "$benchtime") >>"$results/micro-weft.txt"
    done
    (cd "$bench/micro" && "$work/micro/sdk.test" -test.run '^$' -test.bench . -test.benchmem -test.benchtime "$benchtime") >>"$results/micro-sdk.txt"
    (cd "$bench/micro" && "$work/micro/sdk-woven.test" -test.run '^$' -test.bench 'StartEnd|ServerRequest' -test.benchmem \
      -test.benchtime "$benchtime") >>"$results/micro-sdk-woven.txt"
  done
  grep -h '^Benchmark' "$results/micro-weft.txt" | sort -s -k1,1 >&2 || true
  part micro
fi

if has build; then
  say "build: $large_module@$large_version from the module proxy (into $work, never committed)"
  large_src=$(GOFLAGS=-mod=mod go mod download -json "$large_module@$large_version" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
  [[ -d $large_src ]] || die "go mod download $large_module@$large_version failed"
  large=$work/large/node_exporter
  mkdir -p "$work/large"
  cp -r "$large_src" "$large"
  chmod -R u+w "$large"
  (cd "$large" && go mod download)

  say "build: cold and warm, plain against weft"
  cold_rounds=${BENCH_COLD_ROUNDS:-1}
  "$harness" build -weft "$weft" -tmp "$work" -cold-rounds "$cold_rounds" \
    -warm-rounds "$([[ -n $quick ]] && echo 5 || echo 11)" -sdk-rounds "$([[ -n $quick ]] && echo 1 || echo 2)" \
    -target "shop=$root/examples:./shop/frontend,./shop/inventory" \
    -target "node_exporter=$large:." \
    -out "$results/build.json"
  part build
fi

if has shim; then
  say "the compile shim's passthrough cost"
  "$harness" shim -weft "$weft" -tmp "$work" -n "$([[ -n $quick ]] && echo 50 || echo 200)" -out "$results/shim.json"
  part shim
fi

# --- the report ---------------------------------------------------------------
say "report"
mkdir -p "$bench/results"
# Parts not re-run this time keep their last raw results.
for f in "$bench"/results/*; do
  [[ -e $f && ! -e $results/$(basename "$f") ]] && cp "$f" "$results/"
done
status_json=$(for k in "${!status[@]}"; do printf '%s\0%s\0' "$k" "${status[$k]}"; done |
  python3 -c 'import json,sys; p=sys.stdin.read().split("\0")[:-1]; print(json.dumps(dict(zip(p[::2],p[1::2]))))' 2>/dev/null || echo '{}')
if [[ $status_json == '{}' && -f $bench/results/meta.json ]] && ! has load; then
  status_json=$(python3 -c 'import json; print(json.dumps(json.load(open("'"$bench"'/results/meta.json"))["Status"]))')
fi
modver() { sed -n "s#^\t$1 \(v[^ ]*\).*#\1#p" "$bench/go.mod" | head -1; }
cat >"$results/meta.json" <<EOF
{
  "Command": "bash bench/run.sh${quick:+ (BENCH_QUICK=1)}${BENCH_ONLY:+ (BENCH_ONLY=$BENCH_ONLY)}",
  "Date": "$(date -u '+%Y-%m-%d %H:%M UTC')",
  "Commit": "$commit",
  "Machine": "$(nproc) CPUs ($(sed -n 's/^model name\t: //p' /proc/cpuinfo | head -1)), $(free -g | awk '/^Mem:/{print $2}') GiB, Linux $(uname -r), $(. /etc/os-release && echo "$PRETTY_NAME")",
  "GoVersion": "$(go version | cut -d' ' -f3-)",
  "WeftVersion": "$("$weft" --version)",
  "LoadBefore": "$load_before",
  "LoadAfter": "$(cut -d' ' -f1-3 /proc/loadavg)",
  "Seconds": $((SECONDS - start_s)),
  "Parts": {$(for k in "${!parts[@]}"; do printf '"%s": %s, ' "$k" "${parts[$k]}"; done | sed 's/, $//')},
  "Versions": {
    "go.opentelemetry.io/otel/sdk": "$(modver go.opentelemetry.io/otel/sdk)",
    "otelhttp": "$(modver go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp)",
    "XSAM/otelsql": "$(modver github.com/XSAM/otelsql)",
    "orchestrion": "$orchestrion_version (dd-trace-go $ddtrace_version)",
    "otelc": "$otelc_version",
    "$large_module": "$large_version",
    "wrk": "$(wrk -v 2>&1 | head -1 | cut -d' ' -f2)"
  },
  "Status": $status_json
}
EOF
"$harness" report -dir "$results" -notes "$bench/NOTES.md" -out "$bench/RESULTS.md"
cp "$results"/* "$bench/results/"
say "done in $(((SECONDS - start_s) / 60)) min $(((SECONDS - start_s) % 60)) s: bench/RESULTS.md"
sed -n '/^## Headline/,/^## Targets/p' "$bench/RESULTS.md" | sed '$d'
}
main "$@"
exit

#!/usr/bin/env bash
# The whole test suite, on a fresh machine: starts the services the tests
# use (a private MariaDB, Redis and PostgreSQL), runs the Go runtime's unit tests inside a
# GOROOT mirror, then every Rust unit, snapshot and end-to-end test.
#
#   bash tests/run.sh            (extra arguments go to cargo test)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# Woven programs continue a trace they are started in (TRACEPARENT, as a CI
# runner may set); the tests' programs must start their own.
unset TRACEPARENT TRACESTATE

for tool in go cargo cc; do
  command -v "$tool" >/dev/null || { echo "tests/run.sh: $tool is needed and not on PATH" >&2; exit 1; }
done

# A fresh run writes ~5 GiB (cargo's target/, the e2e tests' weft cache,
# Go's build cache); a full disk shows up as "No space left on device" in
# whichever test writes next.
free_kib=$(df -Pk "$root" | awk 'NR == 2 {print $4}')
if [ "${free_kib:-0}" -lt $((8 * 1024 * 1024)) ]; then
  echo "tests/run.sh: warning: only $((free_kib / 1024)) MiB free under $root; the suite needs about 5 GiB" >&2
fi

# weft-bpf (the eBPF probes) builds with clang -target bpf, bindgen
# (libclang), libbpf's vendored source (make, pkg-config, libelf and zlib
# headers) and links Debian's static libelf/zlib; bpftool regenerates
# bpf/src/bpf/include/vmlinux.h by hand only. gcc builds cgo and the C
# programs of the c-shared/c-archive test.
bpf_pkgs="gcc libc6-dev clang libclang-dev make pkg-config libelf-dev zlib1g-dev bpftool"
missing=$(dpkg-query -W -f='${Package} ${Status}\n' $bpf_pkgs 2>/dev/null | awk '$NF != "installed" {print $1}' || true)
for p in $bpf_pkgs; do dpkg-query -W "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$(echo $missing)" ]; then
  echo "== installing build packages for weft-bpf:" $missing
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing
fi

echo "== services"
tests/services/mariadb.sh start
eval "$(tests/services/mariadb.sh env)"
tests/services/redis.sh start
eval "$(tests/services/redis.sh env)"
tests/services/postgres.sh start
eval "$(tests/services/postgres.sh env)"
tests/services/nats.sh start
eval "$(tests/services/nats.sh env)"
tests/services/rabbitmq.sh start
eval "$(tests/services/rabbitmq.sh env)"
tests/services/kafka.sh start
eval "$(tests/services/kafka.sh env)"
tests/services/mongo.sh start
eval "$(tests/services/mongo.sh env)"

echo "== Go runtime unit tests (runtime/weft as GOROOT/src/weft)"
mirror=$(mktemp -d "${TMPDIR:-/tmp}/weft-goroot.XXXXXX")
trap 'rm -rf "$mirror"' EXIT
real_goroot=$(GOTOOLCHAIN=local go env GOROOT)
cp -rs "$real_goroot/." "$mirror/"
rm -rf "$mirror/src/weft"
cp -r runtime/weft "$mirror/src/weft"
# weft/rt reads the goroutine slot the woven runtime provides; the unit
# tests link against the no-op accessors (the real ones are tested end to end).
cp rules/goroutine/fallback.go "$mirror/src/runtime/zz_weft_fallback.go"
GOROOT=$mirror GOTOOLCHAIN=local GOFLAGS= "$real_goroot/bin/go" vet weft/...
GOROOT=$mirror GOTOOLCHAIN=local GOFLAGS= "$real_goroot/bin/go" test -count=1 weft/...
# The span pipeline is shared by every goroutine that ends a span.
GOROOT=$mirror GOTOOLCHAIN=local GOFLAGS= "$real_goroot/bin/go" test -race -count=1 weft/internal/batch weft/internal/otlp weft/rt

echo "== Go tests of rule helpers that hold no package internals"
(cd rules/nethttp && GOTOOLCHAIN=local GOFLAGS= go test -count=1 common.go common_test.go)

echo "== Rust unit, snapshot and end-to-end tests"
cargo test --workspace --no-fail-fast "$@"

echo "== the static weft binary (gnu target, crt-static, non-PIE)"
RUSTFLAGS="-C target-feature=+crt-static -C relocation-model=static" cargo build --release --target x86_64-unknown-linux-gnu -p weft
static=target/x86_64-unknown-linux-gnu/release/weft
# (ldd exits 1 on a static non-PIE binary: read its words, not its status.)
ldd_out=$(ldd "$static" 2>&1 || true)
if grep -qE "statically linked|not a dynamic executable" <<<"$ldd_out"; then
  (cd / && env -i "$root/$static" rules list >/dev/null)
  echo "static: ok ($(tr -d '\t' <<<"$ldd_out"))"
else
  echo "static: FAILED, $static is dynamic:" >&2
  ldd "$static" >&2
  exit 1
fi

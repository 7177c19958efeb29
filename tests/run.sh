#!/usr/bin/env bash
# The whole test suite, on a fresh machine: starts the services the tests
# use (a private MariaDB), runs the Go runtime's unit tests inside a
# GOROOT mirror, then every Rust unit, snapshot and end-to-end test.
#
#   bash tests/run.sh            (extra arguments go to cargo test)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

for tool in go cargo cc; do
  command -v "$tool" >/dev/null || { echo "tests/run.sh: $tool is needed and not on PATH" >&2; exit 1; }
done

echo "== services"
tests/services/mariadb.sh start
eval "$(tests/services/mariadb.sh env)"

echo "== Go runtime unit tests (runtime/weft as GOROOT/src/weft)"
mirror=$(mktemp -d "${TMPDIR:-/tmp}/weft-goroot.XXXXXX")
trap 'rm -rf "$mirror"' EXIT
real_goroot=$(GOTOOLCHAIN=local go env GOROOT)
cp -rs "$real_goroot/." "$mirror/"
rm -rf "$mirror/src/weft"
cp -r runtime/weft "$mirror/src/weft"
GOROOT=$mirror GOTOOLCHAIN=local GOFLAGS= "$real_goroot/bin/go" vet weft/...
GOROOT=$mirror GOTOOLCHAIN=local GOFLAGS= "$real_goroot/bin/go" test -count=1 weft/...

echo "== Rust unit, snapshot and end-to-end tests"
cargo test --workspace "$@"

#!/usr/bin/env bash
# The shop's two services under cachegrind, per function, for comparing two
# builds of the same program (bench/NOTES.md, tenth pass):
#
#   bash bench/cg-shop.sh BINDIR OUTDIR [SECS]
#     BINDIR holds frontend and inventory (plain go build or weft go build of
#     examples/shop); OUTDIR gets frontend.out, inventory.out, wrk.txt.
#   python3 bench/cg-diff.py OUTDIR_A REQUESTS_A OUTDIR_B REQUESTS_B
#     instructions per request by function, B minus A (REQUESTS from wrk.txt)
#
# Needs valgrind, wrk, MariaDB (tests/services/mariadb.sh start) and ports
# 19011/19012 free; SINK defaults to a sink built from bench/cmd/sink.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [[ -z ${SINK:-} ]]; then
  SINK=$(mktemp -d)/sink
  (cd "$ROOT/bench" && go build -o "$SINK" ./cmd/sink)
fi
bin=$1 out=$2 secs=${3:-5}
mkdir -p $out
eval "$("$ROOT"/tests/services/mariadb.sh env)"
"$SINK" -listen 127.0.0.1:0 -addr-file $out/sink.addr >/dev/null 2>&1 & sp=$!
sleep 0.5; sink=$(cat $out/sink.addr)
env() { echo OTEL_SERVICE_NAME=$1 OTEL_EXPORTER_OTLP_ENDPOINT=http://$sink OTEL_BSP_SCHEDULE_DELAY=5000; }
inv=127.0.0.1:19011 front=127.0.0.1:19012
command env $(env inventory) INVENTORY_ADDR=$inv valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=$out/inventory.out --log-file=$out/inv.log $bin/inventory >$out/inv.stderr 2>&1 & ip=$!
command env $(env frontend) FRONTEND_ADDR=$front INVENTORY_URL=http://$inv valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=$out/frontend.out --log-file=$out/front.log $bin/frontend >$out/front.stderr 2>&1 & fp=$!
for i in $(seq 100); do curl -sf http://$front/healthz >/dev/null && curl -sf http://$inv/healthz >/dev/null && break; sleep 0.2; done
wrk -t1 -c4 -d${secs}s http://$front/checkout/2 > $out/wrk.txt
kill -TERM $fp; wait $fp || true; kill -TERM $ip; wait $ip || true; kill $sp
grep -E 'requests in' $out/wrk.txt

-- wrk script for bench/: prints one machine-readable summary line that
-- bench/cmd/harness parses (latencies in microseconds; errors include
-- non-2xx answers).
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("WEFTBENCH requests=%d duration_us=%d errors=%d p50=%d p90=%d p99=%d\n",
    summary.requests, summary.duration, e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99)))
end

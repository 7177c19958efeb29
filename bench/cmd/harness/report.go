package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Meta describes the run; bench/run.sh writes it.
type Meta struct {
	Command, Date, Commit, Machine, GoVersion, WeftVersion string
	LoadBefore, LoadAfter                                  string
	Versions                                               map[string]string // tool or library → version
	Status                                                 map[string]string // variant → "ok" or why it is missing
	Seconds                                                float64           // the whole run
	Parts                                                  map[string]float64 // part (load, instr, …) → seconds
}

// budget is issue 7's bound on one `bash bench/run.sh`.
const budgetMinutes = 15

// headline is one `name: value` line.
type headline struct {
	name, value string
}

type report struct {
	b     strings.Builder
	heads []headline
	tgts  [][4]string // target, wanted, measured, verdict
}

func (r *report) p(format string, args ...any) { fmt.Fprintf(&r.b, format+"\n", args...) }
func (r *report) head(name string, v float64, prec int) {
	r.heads = append(r.heads, headline{name, strconv.FormatFloat(v, 'f', prec, 64)})
}
func (r *report) target(name, want, got string, met bool, by string) {
	verdict := "met"
	if !met {
		verdict = "**missed** " + by
	}
	r.tgts = append(r.tgts, [4]string{name, want, got, verdict})
}

func reportMain(args []string) error {
	fs := flag.NewFlagSet("report", flag.ExitOnError)
	dir := fs.String("dir", "", "results directory (what the other subcommands wrote)")
	out := fs.String("out", "", "the markdown file to write")
	notes := fs.String("notes", "", "a markdown file appended as is (the hand-written reading of the figures)")
	fs.Parse(args)
	if *dir == "" || *out == "" {
		return errors.New("-dir and -out are needed")
	}
	var meta Meta
	if err := readJSON(filepath.Join(*dir, "meta.json"), &meta); err != nil {
		return err
	}
	r := &report{}
	body := &report{}

	// Runtime.
	for _, sc := range []string{"hello", "shop"} {
		var lr LoadResult
		if err := readJSON(filepath.Join(*dir, "load-"+sc+".json"), &lr); err != nil {
			body.p("## Runtime: %s\n\nnot run (%v)\n", sc, err)
			continue
		}
		runtimeSection(body, r, lr, meta)
	}
	otherAgents(body, meta)
	instrSection(body, r, *dir, "hello")
	instrSection(body, r, *dir, "shop")
	microSection(body, r, *dir)
	buildSection(body, r, *dir)
	shimSection(body, r, *dir)
	if !strings.Contains(meta.Command, "BENCH_") { // a whole, normal run
		m := meta.Seconds / 60
		r.head("run_minutes", m, 1)
		r.target("time for the whole `bash bench/run.sh`", fmt.Sprintf("≤ %d min", budgetMinutes), fmt.Sprintf("%.1f min", m), m <= budgetMinutes, fmt.Sprintf("by %.1f min", m-budgetMinutes))
	}

	var doc report
	doc.p("# weft benchmark results")
	doc.p("")
	doc.p("Written by `bench/cmd/harness report`; re-run everything with `bash bench/run.sh`.")
	doc.p("")
	doc.p("* last run: `%s`", meta.Command)
	if strings.Contains(meta.Command, "BENCH_ONLY") {
		doc.p("* that run re-measured only the parts it names; the other tables keep the figures of the earlier run whose raw files are in bench/results (the notes at the end say which run each table comes from)")
	}
	doc.p("* date: %s (the run took %.1f min%s)", meta.Date, meta.Seconds/60, partTimes(meta.Parts))
	doc.p("* machine: %s", meta.Machine)
	doc.p("* load average: %s before, %s after (other work shares this machine; every figure below is a ratio against a baseline measured in the same run, interleaved with it)", meta.LoadBefore, meta.LoadAfter)
	doc.p("* commit: %s; %s; %s", meta.Commit, meta.WeftVersion, meta.GoVersion)
	var vs []string
	for k, v := range meta.Versions {
		vs = append(vs, k+" "+v)
	}
	sort.Strings(vs)
	doc.p("* compared with: %s", strings.Join(vs, ", "))
	doc.p("")
	doc.p("Ratios are medians over rounds of (variant ÷ baseline in the same round), with the range over rounds in brackets. Throughput ratio > 1 is better; latency, CPU and build-time ratios < 1 are better.")
	doc.p("")
	doc.p("## Headline figures")
	doc.p("")
	doc.p("```")
	for _, h := range r.heads {
		doc.p("%s: %s", h.name, h.value)
	}
	doc.p("```")
	doc.p("")
	doc.p("## Targets")
	doc.p("")
	doc.p("| target | wanted | measured | verdict |")
	doc.p("| --- | --- | --- | --- |")
	for _, t := range r.tgts {
		doc.p("| %s | %s | %s | %s |", t[0], t[1], t[2], t[3])
	}
	doc.p("")
	doc.b.WriteString(body.b.String())
	if *notes != "" {
		if b, err := os.ReadFile(*notes); err == nil {
			doc.p("")
			doc.b.Write(b)
		}
	}
	return os.WriteFile(*out, []byte(doc.b.String()), 0o644)
}

func f1(x float64) string { return strconv.FormatFloat(x, 'f', 1, 64) }
func f2(x float64) string { return strconv.FormatFloat(x, 'f', 2, 64) }
func f3(x float64) string { return strconv.FormatFloat(x, 'f', 3, 64) }

func sp(s spread, f func(float64) string) string {
	if s.N <= 1 {
		return f(s.Med)
	}
	return fmt.Sprintf("%s [%s–%s]", f(s.Med), f(s.Min), f(s.Max))
}

func pct(x float64) string { return fmt.Sprintf("%.0f%%", math.Abs(x)*100) }

var variantDesc = map[string]string{
	"plain":       "plain `go build` (baseline)",
	"weft":        "`weft go build`",
	"otelsdk":     "official OTel Go SDK, hand-instrumented (otelhttp/otelsql)",
	"orchestrion": "orchestrion (Datadog, dd-trace-go)",
	"otelc":       "otelc (OTel compile-time instrumentation)",
	"ebpf":        "`weft run --ebpf` on the plain build",
}

func runtimeSection(body, r *report, lr LoadResult, meta Meta) {
	title := map[string]string{"hello": "hello-world net/http server", "shop": "the two-service shop (frontend → inventory, MariaDB)"}[lr.Scenario]
	body.p("## Runtime: %s", title)
	body.p("")
	body.p("`%s`, load from wrk (`-t1 -c%s`) in a second process, %s warm-up then a %s window per run, %s rounds, the variants' order rotated each round; services pinned to CPU 0 and wrk to CPU 1: %s. Every instrumented variant samples every request and exports OTLP/HTTP to the same local sink (bench/cmd/sink, which counts and discards) with the same batch settings (OTEL_BSP_* = the spec defaults, set explicitly).",
		lr.Config["url"], lr.Config["connections"], lr.Config["warmup"], lr.Config["duration"], lr.Config["rounds"], lr.Config["pinned"])
	body.p("")
	base := lr.Variants[0]
	// Per round, the baseline's run.
	byRound := map[int]map[string]LoadRun{}
	for _, run := range lr.Runs {
		if byRound[run.Round] == nil {
			byRound[run.Round] = map[string]LoadRun{}
		}
		byRound[run.Round][run.Variant] = run
	}
	ratios := func(v, against string, get func(LoadRun) float64, diff bool) spread {
		var xs []float64
		for _, m := range byRound {
			a, ok1 := m[v]
			b, ok2 := m[against]
			if !ok1 || !ok2 || get(b) == 0 {
				continue
			}
			if diff {
				xs = append(xs, get(a)-get(b))
			} else {
				xs = append(xs, get(a)/get(b))
			}
		}
		return summarize(xs)
	}
	abs := func(v string, get func(LoadRun) float64) spread {
		var xs []float64
		for _, run := range lr.Runs {
			if run.Variant == v {
				xs = append(xs, get(run))
			}
		}
		return summarize(xs)
	}
	rps := func(x LoadRun) float64 { return x.RPS }
	p50 := func(x LoadRun) float64 { return x.P50us }
	p99 := func(x LoadRun) float64 { return x.P99us }
	cpu := func(x LoadRun) float64 { return x.CPUusPerReq }
	rss := func(x LoadRun) float64 { return x.RSSMB }
	spr := func(x LoadRun) float64 { return x.SpansPerReq }

	body.p("| variant | req/s | throughput ÷ plain | p50 µs | p50 ÷ plain | p99 µs | p99 ÷ plain | CPU µs/req | CPU ÷ plain | RSS MB | RSS − plain (MB) | spans/req exported |")
	body.p("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
	for _, v := range lr.Variants {
		if lr.Failed[v] != "" && abs(v, rps).N == 0 {
			continue
		}
		body.p("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |", variantDesc[v]+nameIf(v),
			sp(abs(v, rps), func(x float64) string { return fmt.Sprintf("%.0f", x) }), sp(ratios(v, base, rps, false), f2),
			sp(abs(v, p50), func(x float64) string { return fmt.Sprintf("%.0f", x) }), sp(ratios(v, base, p50, false), f2),
			sp(abs(v, p99), func(x float64) string { return fmt.Sprintf("%.0f", x) }), sp(ratios(v, base, p99, false), f2),
			sp(abs(v, cpu), f1), sp(ratios(v, base, cpu, false), f2),
			sp(abs(v, rss), f1), sp(ratios(v, base, rss, true), f1), sp(abs(v, spr), f2))
	}
	body.p("")
	for _, v := range lr.Variants {
		if why := lr.Failed[v]; why != "" {
			body.p("* %s could not be measured: `%s`", v, oneLine(why))
		}
	}
	if lr.Scenario == "shop" {
		body.p("* CPU and RSS are frontend + inventory together; MariaDB is not counted. One checkout makes 5 spans with weft (frontend server, its SQL query and HTTP client call, inventory server and its SQL query); otelsql is configured to make the same 5 (one span per query, no rows/connection/prepare spans); orchestrion's dd-trace-go makes more by default.")
	}
	body.p("")

	sc := lr.Scenario
	for _, v := range lr.Variants[1:] {
		if abs(v, rps).N == 0 {
			continue
		}
		t := ratios(v, base, rps, false)
		r.head(fmt.Sprintf("throughput_ratio_%s_vs_plain_%s", v, sc), t.Med, 3)
		r.head(fmt.Sprintf("p50_ratio_%s_vs_plain_%s", v, sc), ratios(v, base, p50, false).Med, 3)
		r.head(fmt.Sprintf("p99_ratio_%s_vs_plain_%s", v, sc), ratios(v, base, p99, false).Med, 3)
		r.head(fmt.Sprintf("cpu_per_req_ratio_%s_vs_plain_%s", v, sc), ratios(v, base, cpu, false).Med, 3)
		r.head(fmt.Sprintf("rss_delta_mb_%s_vs_plain_%s", v, sc), ratios(v, base, rss, true).Med, 1)
	}
	if abs("weft", rps).N > 0 && abs("otelsdk", rps).N > 0 {
		t := ratios("weft", "otelsdk", rps, false)
		r.head("throughput_ratio_weft_vs_otelsdk_"+sc, t.Med, 3)
		r.target("throughput vs the official SDK ("+sc+")", "≥ 1.2×", sp(t, f2)+"×", t.Med >= 1.2, "by "+pct(1.2-t.Med)+" of the SDK's throughput")
	}
	if abs("weft", rps).N > 0 {
		t := ratios("weft", base, rps, false)
		r.target("throughput vs plain ("+sc+")", "≥ 0.95×", sp(t, f3)+"×", t.Med >= 0.95, "by "+pct(0.95-t.Med))
		d := ratios("weft", base, rss, true)
		r.target("RSS added under load ("+sc+")", "≤ 5 MB", sp(d, f1)+" MB", d.Med <= 5, fmt.Sprintf("by %.1f MB", d.Med-5))
	}
	if abs("ebpf", rps).N > 0 {
		t := ratios("ebpf", base, rps, false)
		r.target("eBPF throughput vs plain ("+sc+")", "≥ 0.85×", sp(t, f3)+"×", t.Med >= 0.85, "by "+pct(0.85-t.Med))
		// CPU added per traced call: extra CPU per request over spans per request.
		var xs []float64
		for _, m := range byRound {
			e, ok1 := m["ebpf"]
			b, ok2 := m[base]
			if ok1 && ok2 && e.SpansPerReq > 0 {
				xs = append(xs, (e.CPUusPerReq-b.CPUusPerReq)/e.SpansPerReq)
			}
		}
		if s := summarize(xs); s.N > 0 {
			r.head("ebpf_us_per_call_"+sc, s.Med, 2)
			r.target("eBPF CPU per traced call ("+sc+")", "≤ 2 µs", sp(s, f2)+" µs", s.Med <= 2, fmt.Sprintf("by %.2f µs", s.Med-2))
		}
	}
}

func nameIf(v string) string {
	if _, ok := variantDesc[v]; ok {
		return ""
	}
	return v
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ⏎ ")
	if len(s) > 400 {
		s = s[:400] + "…"
	}
	return strings.ReplaceAll(s, "`", "'")
}

func otherAgents(body *report, meta Meta) {
	body.p("## Other agents and eBPF")
	body.p("")
	for _, v := range []string{"orchestrion", "otelc", "ebpf"} {
		st := meta.Status[v]
		if st == "" {
			st = "not attempted"
		}
		if st == "ok" {
			body.p("* **%s**: built here and measured above.", v)
		} else {
			body.p("* **%s**: not measured — %s", v, oneLine(st))
		}
	}
	body.p("")
}

// bench is one benchmark's results over -count runs.
type bench struct {
	pkg, name     string
	ns, cpuNs     []float64
	bytes, allocs float64
	mbs           float64
	extra         map[string]float64
}

func parseBench(path string) (map[string]*bench, []string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	out := map[string]*bench{}
	var order []string
	pkg := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = strings.TrimSpace(p)
			continue
		}
		if !strings.HasPrefix(line, "Benchmark") {
			continue
		}
		fl := strings.Fields(line)
		if len(fl) < 4 {
			continue
		}
		name := fl[0]
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			name = name[:i]
		}
		key := pkg + "." + name
		b := out[key]
		if b == nil {
			b = &bench{pkg: pkg, name: name, extra: map[string]float64{}}
			out[key] = b
			order = append(order, key)
		}
		for i := 2; i+1 < len(fl); i += 2 {
			x, err := strconv.ParseFloat(fl[i], 64)
			if err != nil {
				continue
			}
			switch fl[i+1] {
			case "ns/op":
				b.ns = append(b.ns, x)
			case "cpu-ns/op":
				b.cpuNs = append(b.cpuNs, x)
			case "B/op":
				b.bytes = x
			case "allocs/op":
				b.allocs = x
			case "MB/s":
				b.mbs = x
			default:
				b.extra[fl[i+1]] = x
			}
		}
	}
	return out, order, sc.Err()
}

func ns(s spread) string {
	if s.N == 0 {
		return "–"
	}
	return fmt.Sprintf("%.0f (med %.0f)", s.Min, s.Med)
}

func microSection(body, r *report, dir string) {
	body.p("## Micro-benchmarks (go test -bench -benchmem)")
	body.p("")
	weft, worder, err1 := parseBench(filepath.Join(dir, "micro-weft.txt"))
	sdk, _, err2 := parseBench(filepath.Join(dir, "micro-sdk.txt"))
	if err1 != nil {
		body.p("weft's benchmarks did not run: %v\n", err1)
		return
	}
	if err2 != nil {
		sdk = map[string]*bench{}
	}
	body.p("weft's own benchmarks in runtime/weft, run inside a GOROOT mirror (as tests/run.sh runs its tests), beside the same operations on the official SDK (bench/micro, same shapes: batch processor with a discarding exporter, 65536-span queue, batches of 512). ns/op is the fastest of the `-count` runs, the median in brackets; on this shared machine wall time mostly measures the wait for a CPU, so cpu-ns/op (process CPU time per op, GC and the exporter goroutine included) is given too where the benchmark reports it.")
	body.p("")
	pairs := [][3]string{
		{"span start + end (root, sampled)", "weft/rt.BenchmarkStartEnd", "example.com/weft-bench/micro.BenchmarkStartEnd"},
		{"child span + 6 attributes", "weft/rt.BenchmarkStartEndChildWithAttrs", "example.com/weft-bench/micro.BenchmarkStartEndChildWithAttrs"},
		{"span start + end, not sampled", "weft/rt.BenchmarkStartEndUnsampled", "example.com/weft-bench/micro.BenchmarkStartEndUnsampled"},
		{"server request: extract traceparent, span, 2 attributes", "weft/rt.BenchmarkServerRequest", "example.com/weft-bench/micro.BenchmarkServerRequest"},
		{"propagation: extract + inject (tracecontext, baggage)", "weft/internal/propagation.BenchmarkExtractInject", "example.com/weft-bench/micro.BenchmarkExtractInject"},
		{"OTLP encode 512 spans", "weft/internal/otlp.BenchmarkEncode512", "example.com/weft-bench/micro.BenchmarkEncode512"},
	}
	body.p("| operation | weft ns/op | weft cpu-ns/op | weft B/op, allocs/op | SDK ns/op | SDK cpu-ns/op | SDK B/op, allocs/op | SDK ÷ weft |")
	body.p("| --- | --- | --- | --- | --- | --- | --- | --- |")
	used := map[string]bool{}
	for _, p := range pairs {
		w, s := weft[p[1]], sdk[p[2]]
		if w == nil {
			continue
		}
		used[p[1]] = true
		row := fmt.Sprintf("| %s | %s | %s | %.0f, %.0f |", p[0], ns(summarize(w.ns)), ns(summarize(w.cpuNs)), w.bytes, w.allocs)
		if s != nil {
			// CPU time where both report it (less hostage to the wait for a
			// CPU than wall time), else the fastest wall times.
			ratio, of := summarize(s.ns).Min/summarize(w.ns).Min, "ns"
			if len(s.cpuNs) > 0 && len(w.cpuNs) > 0 {
				ratio, of = summarize(s.cpuNs).Min/summarize(w.cpuNs).Min, "cpu-ns"
			}
			row += fmt.Sprintf(" %s | %s | %.0f, %.0f | %.1f× (%s) |", ns(summarize(s.ns)), ns(summarize(s.cpuNs)), s.bytes, s.allocs, ratio, of)
		} else {
			row += " – | – | – | – |"
		}
		body.p("%s", row)
	}
	body.p("")
	body.p("weft-only benchmarks:")
	body.p("")
	body.p("| benchmark | ns/op | cpu-ns/op | B/op | allocs/op | other |")
	body.p("| --- | --- | --- | --- | --- | --- |")
	for _, k := range worder {
		if used[k] {
			continue
		}
		w := weft[k]
		var other []string
		for u, x := range w.extra {
			other = append(other, fmt.Sprintf("%g %s", x, u))
		}
		if w.mbs > 0 {
			other = append(other, fmt.Sprintf("%.0f MB/s", w.mbs))
		}
		sort.Strings(other)
		body.p("| %s | %s | %s | %.0f | %.0f | %s |", k, ns(summarize(w.ns)), ns(summarize(w.cpuNs)), w.bytes, w.allocs, strings.Join(other, ", "))
	}
	body.p("")

	if w := weft["weft/rt.BenchmarkStartEnd"]; w != nil {
		n := summarize(w.ns)
		r.head("ns_per_span", n.Min, 0)
		r.head("ns_per_span_median", n.Med, 0)
		if c := summarize(w.cpuNs); c.N > 0 {
			r.head("cpu_ns_per_span", c.Min, 0)
		}
		r.head("allocs_per_span", w.allocs, 0)
		r.head("bytes_per_span", w.bytes, 0)
		// Since weft encodes a span as it ends, this includes its OTLP
		// encoding; the official SDK encodes at export, so its figure
		// below does not (ns_per_span_otelsdk_with_encode adds it).
		r.target("time per span (rt.BenchmarkStartEnd, fastest run, OTLP encoding included)", "≤ 300 ns", fmt.Sprintf("%.0f ns (median %.0f)", n.Min, n.Med), n.Min <= 300, fmt.Sprintf("by %.0f ns (%.1f×)", n.Min-300, n.Min/300))
		r.target("allocations per span", "≤ 2", fmt.Sprintf("%.0f (%.0f B)", w.allocs, w.bytes), w.allocs <= 2, fmt.Sprintf("by %.0f", w.allocs-2))
		if s := sdk["example.com/weft-bench/micro.BenchmarkStartEnd"]; s != nil {
			r.head("ns_per_span_otelsdk", summarize(s.ns).Min, 0)
			if c := summarize(s.cpuNs); c.N > 0 {
				r.head("cpu_ns_per_span_otelsdk", c.Min, 0)
			}
			r.head("allocs_per_span_otelsdk", s.allocs, 0)
			if e := sdk["example.com/weft-bench/micro.BenchmarkEncode512"]; e != nil {
				r.head("ns_per_span_otelsdk_with_encode", summarize(s.ns).Min+summarize(e.ns).Min/512, 0)
			}
		}
	}
	if w := weft["weft/internal/otlp.BenchmarkEncode512"]; w != nil {
		r.head("otlp_encode_ns_per_span", summarize(w.ns).Min/512, 0)
		if s := sdk["example.com/weft-bench/micro.BenchmarkEncode512"]; s != nil {
			r.head("otlp_encode_ns_per_span_otelsdk", summarize(s.ns).Min/512, 0)
		}
	}
	if w := weft["weft/internal/propagation.BenchmarkExtractInject"]; w != nil {
		r.head("propagation_ns", summarize(w.ns).Min, 0)
	}
	wovenSDK(body, r, dir, sdk)
}

// wovenSDK compares the SDK's benchmarks built with weft (the OTel API
// bridge woven into go.opentelemetry.io/otel/trace) with the plain build.
func wovenSDK(body, r *report, dir string, sdk map[string]*bench) {
	woven, order, err := parseBench(filepath.Join(dir, "micro-sdk-woven.txt"))
	if err != nil || len(woven) == 0 {
		return
	}
	body.p("The official SDK's benchmarks built with `weft go test -c` beside the plain build: what the OpenTelemetry API bridge (rules/otel: a weft span context mirrored into each ctx the API makes, weft asked where the API finds no span) costs a program that traces with the SDK itself. Ratios of the fastest cpu-ns/op.")
	body.p("")
	body.p("| benchmark | plain ns/op | plain cpu-ns/op | plain B/op, allocs/op | woven ns/op | woven cpu-ns/op | woven B/op, allocs/op | woven ÷ plain |")
	body.p("| --- | --- | --- | --- | --- | --- | --- | --- |")
	for _, k := range order {
		w, s := woven[k], sdk[k]
		if s == nil || len(w.cpuNs) == 0 || len(s.cpuNs) == 0 {
			continue
		}
		ratio := summarize(w.cpuNs).Min / summarize(s.cpuNs).Min
		body.p("| %s | %s | %s | %.0f, %.0f | %s | %s | %.0f, %.0f | %.2f× |", strings.TrimPrefix(k, "example.com/weft-bench/micro."),
			ns(summarize(s.ns)), ns(summarize(s.cpuNs)), s.bytes, s.allocs, ns(summarize(w.ns)), ns(summarize(w.cpuNs)), w.bytes, w.allocs, ratio)
		if k == "example.com/weft-bench/micro.BenchmarkStartEnd" {
			r.head("otelsdk_span_cpu_ratio_woven_vs_plain", ratio, 3)
		}
	}
	body.p("")
}

func buildSection(body, r *report, dir string) {
	var br BuildResult
	body.p("## Build")
	body.p("")
	if err := readJSON(filepath.Join(dir, "build.json"), &br); err != nil {
		body.p("not run (%v)\n", err)
		return
	}
	body.p("`go build -o DIR/ PKGS` against `weft go build -o DIR/ PKGS`. Cold: an empty GOCACHE (std included) and, for weft, a fresh WEFT_CACHE holding only the wrapped SDK (made before the clock starts; its cost is below). Warm: the same build again, nothing changed. Rounds alternate which goes first; GOPROXY=off (modules downloaded beforehand).")
	body.p("")
	body.p("| target | packages (woven / recompiled apart) | plain cold s | weft cold s | cold ÷ plain | plain warm s | weft warm s | warm ÷ plain |")
	body.p("| --- | --- | --- | --- | --- | --- | --- | --- |")
	for _, tg := range br.Targets {
		get := func(variant, kind string) map[int]float64 {
			m := map[int]float64{}
			for _, run := range br.Runs {
				if run.Target == tg.Name && run.Variant == variant && run.Kind == kind {
					m[run.Round] = run.Seconds
				}
			}
			return m
		}
		vals := func(m map[int]float64) spread {
			var xs []float64
			for _, x := range m {
				xs = append(xs, x)
			}
			return summarize(xs)
		}
		ratio := func(kind string) spread {
			a, b := get("weft", kind), get("plain", kind)
			var xs []float64
			for k, x := range a {
				if y, ok := b[k]; ok && y > 0 {
					xs = append(xs, x/y)
				}
			}
			return summarize(xs)
		}
		cold, warm := ratio("cold"), ratio("warm")
		body.p("| %s (`%s`) | %d (%d / %d) | %s | %s | %s | %s | %s | %s |", tg.Name, strings.Join(tg.Pkgs, " "), tg.Packages, tg.Woven, tg.Affected,
			sp(vals(get("plain", "cold")), f1), sp(vals(get("weft", "cold")), f1), sp(cold, f2),
			sp(vals(get("plain", "warm")), f2), sp(vals(get("weft", "warm")), f2), sp(warm, f2))
		if cold.N > 0 {
			r.head("build_ratio_cold_"+tg.Name, cold.Med, 3)
			r.target("cold build ("+tg.Name+")", "≤ 1.25×", sp(cold, f2)+"×", cold.Med <= 1.25, "by "+pct(cold.Med-1.25))
		}
		if warm.N > 0 {
			r.head("build_ratio_warm_"+tg.Name, warm.Med, 3)
			r.target("warm no-change build ("+tg.Name+")", "≤ 1.05×", sp(warm, f2)+"×", warm.Med <= 1.05, fmt.Sprintf("by %s (+%.2f s)", pct(warm.Med-1.05), vals(get("weft", "warm")).Med-vals(get("plain", "warm")).Med))
		}
	}
	body.p("")
	for name, why := range br.Failed {
		body.p("* %s failed: `%s`", name, oneLine(why))
	}
	c, ready := summarize(br.SDKCreate), summarize(br.SDKReady)
	if c.N > 0 {
		body.p("Wrapped SDK creation (once per weft binary and Go toolchain, in WEFT_CACHE): `weft go version` with an empty WEFT_CACHE took %s s, and %s s once the SDK exists, so making the SDK costs about %.2f s.", sp(c, f2), sp(ready, f2), c.Med-ready.Med)
		r.head("sdk_create_s", c.Med-ready.Med, 2)
	}
	body.p("")
}

func shimSection(body, r *report, dir string) {
	var sr ShimResult
	body.p("## The compile shim on a package no rule matches")
	body.p("")
	if err := readJSON(filepath.Join(dir, "shim.json"), &sr); err != nil {
		body.p("not run (%v)\n", err)
		return
	}
	body.p("Each command run through the wrapped SDK's `compile` (the shim, which decides and then execs the real compiler) and through `compile.real` directly, alternating; the difference is what the shim adds to every compile invocation of an untouched package.")
	body.p("")
	body.p("| command | runs | real compiler ms | through the shim ms | added by the shim, ms (median of pairs) | added CPU ms | added by `/usr/bin/env` (any exec wrapper's floor), ms |")
	body.p("| --- | --- | --- | --- | --- | --- | --- |")
	var worst float64
	for _, c := range sr.Cases {
		var d, dc, de []float64
		for i := range c.RealMs {
			d = append(d, c.ShimMs[i]-c.RealMs[i])
			dc = append(dc, c.ShimCPUMs[i]-c.RealCPUMs[i])
			if i < len(c.EnvMs) {
				de = append(de, c.EnvMs[i]-c.RealMs[i])
			}
		}
		ds := summarize(d)
		body.p("| `%s` | %d | %s | %s | %s | %s | %s |", c.Case, c.N, f2(summarize(c.RealMs).Med), f2(summarize(c.ShimMs).Med), f3(ds.Med), f3(summarize(dc).Med), f3(summarize(de).Med))
		if strings.Contains(c.Case, "untouched file") && ds.Med > worst {
			worst = ds.Med
		}
	}
	body.p("")
	r.head("shim_passthrough_ms", worst, 3)
	r.target("shim passthrough per compile", "≤ 1 ms", f3(worst)+" ms", worst <= 1, fmt.Sprintf("by %.3f ms", worst-1))
}

// partTimes is ": load 6.5, instr 1.9, …" in minutes, in the run's order.
func partTimes(parts map[string]float64) string {
	var out []string
	for _, p := range []string{"setup", "load", "instr", "micro", "build", "shim"} {
		if s, ok := parts[p]; ok {
			out = append(out, fmt.Sprintf("%s %.1f", p, s/60))
		}
	}
	if len(out) == 0 {
		return ""
	}
	return ": " + strings.Join(out, ", ")
}

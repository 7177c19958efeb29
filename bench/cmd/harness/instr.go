package main

// instr: user-space instructions and simulated cache misses per request
// of a scenario's services (hello, or the shop's two), plain and woven,
// counted by valgrind's cachegrind. Unlike throughput on a shared VM
// (where one binary's windows vary by ±15%), the counts are nearly the
// same from run to run, so they show what a change to the runtime or a
// hook costs. The estimated cycles weigh misses as cachegrind's users
// long have (KCachegrind's "cycle estimation"): an L1 miss 10 cycles, a
// last-level miss 100. It leaves out the kernel (the same syscalls in both
// builds) and the sink.

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// InstrResult is what `harness instr` writes.
type InstrResult struct {
	Scenario string
	Seconds  int
	Variants map[string][]InstrRun // by variant, one entry per round
}

// InstrRun is one cachegrind run of a scenario's services under wrk.
type InstrRun struct {
	Instructions int64 // user-space instructions of the whole run, its services summed, startup included
	L1Misses     int64 // instruction and data L1 misses (simCache)
	LLMisses     int64 // last-level (here: L2) misses
	Requests     int64
	PerRequest   float64 // instructions
	CyclesPerReq float64 // estimated: instructions + 10 × L1 misses + 100 × LL misses
}

// simCache is the cache cachegrind simulates: this EPYC's per-core L1i,
// L1d and L2 (valgrind would otherwise take the shared L3 as its last
// level, which a VM shares with its neighbours).
var simCache = []string{"--cache-sim=yes", "--I1=32768,8,64", "--D1=32768,8,64", "--LL=524288,8,64"}

func instrMain(args []string) error {
	fs := flag.NewFlagSet("instr", flag.ExitOnError)
	scenario := fs.String("scenario", "hello", "hello or shop")
	binDir := fs.String("bin", "", "folder with one subfolder of binaries per variant")
	var variants multi
	fs.Var(&variants, "variant", "variant to count (repeatable; the first is the baseline)")
	rounds := fs.Int("rounds", 3, "runs per variant")
	secs := fs.Int("seconds", 6, "load window per run (wrk -c4)")
	sink := fs.String("sink", "", "the OTLP sink's host:port")
	out := fs.String("out", "", "JSON file to write")
	fs.Parse(args)
	if *binDir == "" || len(variants) == 0 || *out == "" {
		return errors.New("-bin, -variant and -out are needed")
	}
	if _, err := exec.LookPath("valgrind"); err != nil {
		return errors.New("valgrind is not on PATH (apt-get install valgrind)")
	}
	res := InstrResult{Scenario: *scenario, Seconds: *secs, Variants: map[string][]InstrRun{}}
	for r := 0; r < *rounds; r++ {
		for _, v := range variants {
			run, err := instrRun(*scenario, filepath.Join(*binDir, v), *sink, *secs)
			if err != nil {
				return fmt.Errorf("%s round %d: %w", v, r+1, err)
			}
			logf("instr %s %-8s round %d: %d requests, %.0f instructions and ~%.0f cycles per request", *scenario, v, r+1, run.Requests, run.PerRequest, run.CyclesPerReq)
			res.Variants[v] = append(res.Variants[v], run)
		}
	}
	return writeJSON(*out, res)
}

// The totals cachegrind logs, e.g. "==12== I1  misses:  18,029,122".
var (
	irefs    = regexp.MustCompile(`I\s+refs:\s+([\d,]+)`)
	i1Misses = regexp.MustCompile(`I1\s+misses:\s+([\d,]+)`)
	d1Misses = regexp.MustCompile(`D1\s+misses:\s+([\d,]+)`)
	llMisses = regexp.MustCompile(`LL misses:\s+([\d,]+)`)
)

func instrRun(scenario, dir, sink string, secs int) (InstrRun, error) {
	var run InstrRun
	procs, url, err := scenarioProcs(scenario)
	if err != nil {
		return run, err
	}
	tmp, err := os.MkdirTemp("", "weft-instr")
	if err != nil {
		return run, err
	}
	defer os.RemoveAll(tmp)
	var started []*exec.Cmd
	defer func() {
		for i := len(started) - 1; i >= 0; i-- {
			stop(started[i])
		}
	}()
	var logs []string
	for _, p := range procs {
		logPath := filepath.Join(tmp, p.name+".log")
		valgrind := append([]string{"valgrind", "--tool=cachegrind",
			"--cachegrind-out-file=" + filepath.Join(tmp, p.name+".out"), "--log-file=" + logPath}, simCache...)
		cmd, err := startService(p, valgrind, filepath.Join(dir, p.prog), sink, filepath.Join(tmp, p.name+".stderr"))
		if cmd != nil {
			started = append(started, cmd)
		}
		if err != nil {
			return run, err
		}
		logs = append(logs, logPath)
	}
	w, err := exec.Command("wrk", "-t1", "-c4", "-d"+strconv.Itoa(secs)+"s", url).CombinedOutput()
	// SIGTERM, last started first: woven builds flush, cachegrind writes its totals.
	for i := len(started) - 1; i >= 0; i-- {
		stop(started[i])
	}
	started = nil
	if err != nil {
		return run, fmt.Errorf("wrk: %v: %s", err, w)
	}
	for _, line := range strings.Split(string(w), "\n") {
		if f := strings.Fields(line); len(f) > 2 && f[1] == "requests" && f[2] == "in" {
			run.Requests, _ = strconv.ParseInt(f[0], 10, 64)
		}
	}
	for _, logPath := range logs {
		lb, err := os.ReadFile(logPath)
		if err != nil {
			return run, err
		}
		var n [4]int64
		for i, re := range []*regexp.Regexp{irefs, i1Misses, d1Misses, llMisses} {
			m := re.FindSubmatch(lb)
			if m == nil {
				return run, fmt.Errorf("no %s in %s: %.300s", re, filepath.Base(logPath), lb)
			}
			n[i], _ = strconv.ParseInt(strings.ReplaceAll(string(m[1]), ",", ""), 10, 64)
		}
		run.Instructions += n[0]
		run.L1Misses += n[1] + n[2]
		run.LLMisses += n[3]
	}
	if run.Requests == 0 {
		return run, fmt.Errorf("no requests served (wrk: %.300s)", w)
	}
	run.PerRequest = float64(run.Instructions) / float64(run.Requests)
	run.CyclesPerReq = float64(run.Instructions+10*run.L1Misses+100*run.LLMisses) / float64(run.Requests)
	return run, nil
}

func instrSection(body, r *report, dir, scenario string) {
	var ir InstrResult
	body.p("## Instructions per request (cachegrind): %s", scenario)
	body.p("")
	if err := readJSON(filepath.Join(dir, "instr-"+scenario+".json"), &ir); err != nil {
		body.p("not run (%v)\n", err)
		return
	}
	base, ok := ir.Variants["plain"]
	if !ok {
		body.p("no plain run to compare with\n")
		return
	}
	body.p("The services under valgrind's cachegrind, `wrk -c4` for %d s per run: user-space instructions of the whole run (every service summed) over the requests served, the fewest of the runs: a run's count only grows by what does not belong to it (the scheduler's idle spinning when a run is starved of CPU), and the misses of the simulated caches (`%s`: this EPYC's per-core L1 and L2). *Estimated cycles* weigh them as KCachegrind's cycle estimation does: instructions + 10 × L1 misses + 100 × L2 misses. On a quiet machine these counts vary by a few percent between runs where the throughput windows above vary by ±15%%, so they show what a change costs; heavy load from other work adds scheduler instructions (idle spinning). They leave out the kernel, whose work per request is the same in both builds, and MariaDB.", ir.Seconds, strings.Join(simCache, " "))
	body.p("")
	body.p("| variant | runs | instructions per request, fewest [range] | added to plain | ratio to plain | L1 misses per request | L2 misses per request | est. cycles per request, fewest [range] | ratio to plain |")
	body.p("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
	per := func(runs []InstrRun, f func(InstrRun) float64) spread {
		var xs []float64
		for _, x := range runs {
			xs = append(xs, f(x))
		}
		return summarize(xs)
	}
	instr := func(x InstrRun) float64 { return x.PerRequest }
	cycles := func(x InstrRun) float64 { return x.CyclesPerReq }
	b, bc := per(base, instr), per(base, cycles)
	for _, v := range sortedKeys(ir.Variants) {
		runs := ir.Variants[v]
		s, c := per(runs, instr), per(runs, cycles)
		l1 := per(runs, func(x InstrRun) float64 { return float64(x.L1Misses) / float64(x.Requests) })
		ll := per(runs, func(x InstrRun) float64 { return float64(x.LLMisses) / float64(x.Requests) })
		sim := "| – | – | – | –" // a run from before the cache simulation
		// The fewest of the runs: a run's count only grows by what does
		// not belong to it (the scheduler's idle spinning when a run is
		// starved of CPU).
		if c.Min > 0 && bc.Min > 0 {
			sim = fmt.Sprintf("| %.0f | %.1f | %.0f [%.0f–%.0f] | %.3f", l1.Min, ll.Min, c.Min, c.Min, c.Max, c.Min/bc.Min)
		}
		body.p("| %s | %d | %.0f [%.0f–%.0f] | %+.0f | %.3f %s |", v, s.N, s.Min, s.Min, s.Max, s.Min-b.Min, s.Min/b.Min, sim)
		if v != "plain" {
			r.head("instr_per_req_ratio_"+v+"_vs_plain_"+scenario, s.Min/b.Min, 3)
			r.head("instr_per_req_added_"+v+"_"+scenario, s.Min-b.Min, 0)
			if c.Min > 0 && bc.Min > 0 {
				r.head("est_cycles_per_req_ratio_"+v+"_vs_plain_"+scenario, c.Min/bc.Min, 3)
			}
		}
	}
	body.p("")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

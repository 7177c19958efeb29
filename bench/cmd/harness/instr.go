package main

// instr: user-space instructions per request of a scenario's services
// (hello, or the shop's two), plain and woven, counted by valgrind's
// cachegrind. Unlike throughput on a
// shared VM (where one binary's windows vary by ±15%), the count is nearly
// the same from run to run, so it shows what a change to the runtime or a
// hook costs. It leaves out the kernel (the same syscalls in both builds)
// and the sink.

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
	Requests     int64
	PerRequest   float64
}

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
			logf("instr %s %-8s round %d: %d requests, %.0f instructions per request", *scenario, v, r+1, run.Requests, run.PerRequest)
			res.Variants[v] = append(res.Variants[v], run)
		}
	}
	return writeJSON(*out, res)
}

var irefs = regexp.MustCompile(`I\s+refs:\s+([\d,]+)`)

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
		valgrind := []string{"valgrind", "--tool=cachegrind", "--cache-sim=no",
			"--cachegrind-out-file=" + filepath.Join(tmp, p.name+".out"), "--log-file=" + logPath}
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
		m := irefs.FindSubmatch(lb)
		if m == nil {
			return run, fmt.Errorf("no instruction count in %s: %.300s", filepath.Base(logPath), lb)
		}
		n, _ := strconv.ParseInt(strings.ReplaceAll(string(m[1]), ",", ""), 10, 64)
		run.Instructions += n
	}
	if run.Requests == 0 {
		return run, fmt.Errorf("no requests served (wrk: %.300s)", w)
	}
	run.PerRequest = float64(run.Instructions) / float64(run.Requests)
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
	body.p("The services under valgrind's cachegrind, `wrk -c4` for %d s per run: user-space instructions of the whole run (every service summed) over the requests served (start-up is under 1%% of a run). On a quiet machine the count varies by a few percent between runs where the throughput windows above vary by ±15%%, so it shows what a change costs; heavy load from other work adds scheduler instructions (idle spinning) to it. It leaves out the kernel, whose work per request is the same in both builds, and MariaDB.", ir.Seconds)
	body.p("")
	body.p("| variant | runs | instructions per request | added to plain | ratio to plain |")
	body.p("| --- | --- | --- | --- | --- |")
	per := func(runs []InstrRun) spread {
		var xs []float64
		for _, x := range runs {
			xs = append(xs, x.PerRequest)
		}
		return summarize(xs)
	}
	b := per(base)
	for _, v := range sortedKeys(ir.Variants) {
		s := per(ir.Variants[v])
		body.p("| %s | %d | %.0f [%.0f–%.0f] | %+.0f | %.3f |", v, s.N, s.Med, s.Min, s.Max, s.Med-b.Med, s.Med/b.Med)
		if v != "plain" {
			r.head("instr_per_req_ratio_"+v+"_vs_plain_"+scenario, s.Med/b.Med, 3)
			r.head("instr_per_req_added_"+v+"_"+scenario, s.Med-b.Med, 0)
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

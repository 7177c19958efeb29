package main

// instr: user-space instructions per request of the hello server, plain
// and woven, counted by valgrind's cachegrind. Unlike throughput on a
// shared VM (where one binary's windows vary by ±15%), the count is nearly
// the same from run to run, so it shows what a change to the runtime or a
// hook costs. It leaves out the kernel (the same syscalls in both builds)
// and the sink.

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// InstrResult is what `harness instr` writes.
type InstrResult struct {
	Seconds  int
	Variants map[string][]InstrRun // by variant, one entry per round
}

// InstrRun is one cachegrind run of a server under wrk.
type InstrRun struct {
	Instructions int64 // user-space instructions of the whole run, startup included
	Requests     int64
	PerRequest   float64
}

func instrMain(args []string) error {
	fs := flag.NewFlagSet("instr", flag.ExitOnError)
	binDir := fs.String("bin", "", "folder with one subfolder per variant, each holding hello")
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
	res := InstrResult{Seconds: *secs, Variants: map[string][]InstrRun{}}
	for r := 0; r < *rounds; r++ {
		for _, v := range variants {
			run, err := instrRun(filepath.Join(*binDir, v, "hello"), *sink, *secs)
			if err != nil {
				return fmt.Errorf("%s round %d: %w", v, r+1, err)
			}
			logf("instr %-8s round %d: %d requests, %.0f instructions per request", v, r+1, run.Requests, run.PerRequest)
			res.Variants[v] = append(res.Variants[v], run)
		}
	}
	return writeJSON(*out, res)
}

var irefs = regexp.MustCompile(`I\s+refs:\s+([\d,]+)`)

func instrRun(bin, sink string, secs int) (InstrRun, error) {
	var run InstrRun
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return run, err
	}
	addr := ln.Addr().String()
	ln.Close()
	tmp, err := os.MkdirTemp("", "weft-instr")
	if err != nil {
		return run, err
	}
	defer os.RemoveAll(tmp)
	logPath := filepath.Join(tmp, "valgrind.log")
	cmd := exec.Command("valgrind", "--tool=cachegrind", "--cache-sim=no",
		"--cachegrind-out-file="+filepath.Join(tmp, "cg.out"), "--log-file="+logPath, bin)
	cmd.Env = append(os.Environ(), "HELLO_ADDR="+addr)
	cmd.Env = append(cmd.Env, telemetryEnv("hello", sink)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return run, err
	}
	url := "http://" + addr + "/hello"
	if err := waitHTTP(url, cmd, 60*time.Second); err != nil {
		stop(cmd)
		return run, err
	}
	w, err := exec.Command("wrk", "-t1", "-c4", "-d"+strconv.Itoa(secs)+"s", url).CombinedOutput()
	stop(cmd) // SIGTERM: the woven build flushes, cachegrind writes its totals
	if err != nil {
		return run, fmt.Errorf("wrk: %v: %s", err, w)
	}
	for _, line := range strings.Split(string(w), "\n") {
		if f := strings.Fields(line); len(f) > 2 && f[1] == "requests" && f[2] == "in" {
			run.Requests, _ = strconv.ParseInt(f[0], 10, 64)
		}
	}
	lb, err := os.ReadFile(logPath)
	if err != nil {
		return run, err
	}
	m := irefs.FindSubmatch(lb)
	if m == nil || run.Requests == 0 {
		return run, fmt.Errorf("no instruction count or no requests (valgrind log: %.300s; wrk: %.300s)", lb, w)
	}
	run.Instructions, _ = strconv.ParseInt(strings.ReplaceAll(string(m[1]), ",", ""), 10, 64)
	run.PerRequest = float64(run.Instructions) / float64(run.Requests)
	return run, nil
}

func instrSection(body, r *report, dir string) {
	var ir InstrResult
	body.p("## Instructions per request (cachegrind)")
	body.p("")
	if err := readJSON(filepath.Join(dir, "instr.json"), &ir); err != nil {
		body.p("not run (%v)\n", err)
		return
	}
	base, ok := ir.Variants["plain"]
	if !ok {
		body.p("no plain run to compare with\n")
		return
	}
	body.p("The hello server under valgrind's cachegrind, `wrk -c4` for %d s per run: user-space instructions of the whole run over the requests served (start-up is about 0.3%% of a run). The count hardly depends on the machine's load, so it shows a change's cost where the throughput windows above vary by ±15%%; it leaves out the kernel, whose work per request is the same in both builds.", ir.Seconds)
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
			r.head("instr_per_req_ratio_"+v+"_vs_plain_hello", s.Med/b.Med, 3)
			r.head("instr_per_req_added_"+v+"_hello", s.Med-b.Med, 0)
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

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// LoadRun is one measured window of one variant.
type LoadRun struct {
	Scenario, Variant string
	Round             int
	Requests          int64   // in the measured window
	Seconds           float64 // the window, as wrk measured it
	RPS               float64
	Errors            int64   // connect/read/write/timeout errors and non-2xx answers
	P50us, P90us      float64 // latency percentiles, microseconds
	P99us             float64
	CPUms             float64 // user+system CPU of the service processes in the window
	CPUusPerReq       float64
	RSSMB             float64 // resident set of the service processes at the end of the window
	HWMMB             float64 // their peak resident set
	Spans             int64   // spans the sink received from start to exit
	SpansPerReq       float64 // over every request the variant served (warm-up included)
}

// LoadResult is the file `harness load` writes.
type LoadResult struct {
	Scenario string
	Variants []string
	Runs     []LoadRun
	Config   map[string]string
	Failed   map[string]string // variant → why it could not be measured
}

type proc struct {
	name, prog string
	env        []string
	health     string
}

// scenarioProcs is what a scenario runs: its services, on free ports
// found now (other work on this machine may hold any fixed one), and the
// URL the load goes to.
func scenarioProcs(scenario string) ([]proc, string, error) {
	port := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			panic(err)
		}
		defer ln.Close()
		return ln.Addr().String()
	}
	var procs []proc
	var url string
	switch scenario {
	case "hello":
		addr := port()
		procs = []proc{{name: "hello", prog: "hello", env: []string{"HELLO_ADDR=" + addr}, health: "http://" + addr + "/hello"}}
		url = "http://" + addr + "/hello"
	case "shop":
		if os.Getenv("MYSQL_DSN") == "" {
			return nil, "", errors.New("MYSQL_DSN is not set: eval \"$(tests/services/mariadb.sh env)\"")
		}
		inv, front := port(), port()
		procs = []proc{
			{name: "inventory", prog: "inventory", env: []string{"INVENTORY_ADDR=" + inv}, health: "http://" + inv + "/healthz"},
			{name: "frontend", prog: "frontend", env: []string{"FRONTEND_ADDR=" + front, "INVENTORY_URL=http://" + inv}, health: "http://" + front + "/healthz"},
		}
		// Product 2 is out of stock: a product query, an inventory call
		// and its stock query, no insert (the table does not grow).
		url = "http://" + front + "/checkout/2"
	default:
		return nil, "", fmt.Errorf("unknown scenario %q", scenario)
	}
	return procs, url, nil
}

func loadMain(args []string) error {
	fs := flag.NewFlagSet("load", flag.ExitOnError)
	scenario := fs.String("scenario", "hello", "hello or shop")
	binDir := fs.String("bin", "", "directory holding one folder of binaries per variant")
	var variants, wraps multi
	fs.Var(&variants, "variant", "variant NAME, or NAME=FOLDER when its binaries are in another variant's folder (repeat; the first is the baseline)")
	fs.Var(&wraps, "wrap", "NAME=COMMAND: run this variant's binaries as COMMAND BINARY (space-separated)")
	rounds := fs.Int("rounds", 3, "rounds; each runs every variant once, in a rotated order")
	duration := fs.Duration("duration", 5*time.Second, "measured window per run")
	warmup := fs.Duration("warmup", time.Second, "load before the window")
	conns := fs.Int("connections", 16, "wrk connections")
	sink := fs.String("sink", "", "the sink's address (bench/cmd/sink)")
	pin := fs.Bool("pin", true, "pin the services to CPU 0 and wrk to CPU 1")
	lua := fs.String("lua", "", "wrk script printing the summary line (bench/wrk-report.lua)")
	logDir := fs.String("logs", os.TempDir(), "where the services' stderr goes")
	out := fs.String("out", "", "JSON file to write")
	fs.Parse(args)
	if len(variants) == 0 || *binDir == "" || *out == "" || *lua == "" {
		return errors.New("-bin, -variant, -lua and -out are needed")
	}

	folder := map[string]string{}
	var names []string
	for _, v := range variants {
		name, dir, ok := strings.Cut(v, "=")
		if !ok {
			dir = name
		}
		folder[name] = filepath.Join(*binDir, dir)
		names = append(names, name)
	}
	wrap := map[string][]string{}
	for _, w := range wraps {
		name, cmd, _ := strings.Cut(w, "=")
		wrap[name] = strings.Fields(cmd)
	}

	procs, url, err := scenarioProcs(*scenario)
	if err != nil {
		return err
	}

	res := LoadResult{Scenario: *scenario, Variants: names, Failed: map[string]string{}, Config: map[string]string{
		"url": url, "duration": duration.String(), "warmup": warmup.String(), "connections": strconv.Itoa(*conns),
		"rounds": strconv.Itoa(*rounds), "pinned": strconv.FormatBool(*pin),
	}}
	for r := 0; r < *rounds; r++ {
		for i := range names {
			v := names[(i+r)%len(names)]
			if res.Failed[v] != "" {
				continue
			}
			run, err := measure(v, r, procs, folder[v], wrap[v], url, *sink, *lua, *logDir, *duration, *warmup, *conns, *pin)
			if err != nil {
				logf("%s %s round %d: %v", *scenario, v, r+1, err)
				res.Failed[v] = err.Error()
				continue
			}
			run.Scenario = *scenario
			logf("%s %-12s round %d: %8.0f req/s  p50 %6.0fµs  p99 %6.0fµs  %5.1f µs CPU/req  RSS %5.1f MB  %.2f spans/req",
				*scenario, v, r+1, run.RPS, run.P50us, run.P99us, run.CPUusPerReq, run.RSSMB, run.SpansPerReq)
			res.Runs = append(res.Runs, run)
		}
	}
	return writeJSON(*out, res)
}

func measure(variant string, round int, procs []proc, dir string, wrap []string, url, sink, lua, logDir string,
	duration, warmup time.Duration, conns int, pin bool) (LoadRun, error) {
	run := LoadRun{Variant: variant, Round: round + 1}
	spans0, err := sinkSpans(sink)
	if err != nil {
		return run, fmt.Errorf("sink at %s: %w", sink, err)
	}
	var started []*exec.Cmd
	defer func() {
		for i := len(started) - 1; i >= 0; i-- {
			stop(started[i])
		}
	}()
	for _, p := range procs {
		if hostport := strings.Split(strings.TrimPrefix(p.health, "http://"), "/")[0]; !portFree(hostport) {
			return run, fmt.Errorf("something already listens on %s", hostport)
		}
		bin := filepath.Join(dir, p.prog)
		if _, err := os.Stat(bin); err != nil {
			return run, fmt.Errorf("no binary: %w", err)
		}
		argv := wrap
		if pin {
			argv = append([]string{"taskset", "-c", "0"}, wrap...)
		}
		logPath := filepath.Join(logDir, fmt.Sprintf("%s-%s.log", variant, p.name))
		cmd, err := startService(p, argv, bin, sink, logPath)
		if cmd != nil {
			started = append(started, cmd)
		}
		if err != nil {
			return run, err
		}
	}

	warm, err := wrk(lua, url, warmup, conns, pin)
	if err != nil {
		return run, fmt.Errorf("warm-up: %w", err)
	}
	pids := func() []int {
		var ps []int
		for _, c := range started {
			ps = append(ps, tree(c.Process.Pid)...)
		}
		return ps
	}
	cpu0 := cpuTicks(pids())
	w, err := wrk(lua, url, duration, conns, pin)
	if err != nil {
		return run, err
	}
	cpu1 := cpuTicks(pids())
	run.RSSMB, run.HWMMB = memory(pids())
	run.Requests, run.Seconds, run.Errors = w.requests, w.seconds, w.errors
	run.RPS = float64(w.requests) / w.seconds
	run.P50us, run.P90us, run.P99us = w.p50, w.p90, w.p99
	run.CPUms = float64(cpu1-cpu0) * 1000 / ticksPerSecond
	run.CPUusPerReq = run.CPUms * 1000 / float64(w.requests)
	if w.errors > w.requests/100 {
		return run, fmt.Errorf("%d of %d requests failed (see %s)", w.errors, w.requests, logDir)
	}

	// Stop the services (they flush at exit), then count what arrived.
	for i := len(started) - 1; i >= 0; i-- {
		stop(started[i])
	}
	started = nil
	time.Sleep(300 * time.Millisecond)
	spans1, err := sinkSpans(sink)
	if err != nil {
		return run, err
	}
	run.Spans = spans1 - spans0
	run.SpansPerReq = float64(run.Spans) / float64(warm.requests+w.requests)
	return run, nil
}

// telemetryEnv is the same exporter and batching configuration for every
// variant: the spec's defaults, spelled out, exporting to the sink.
func telemetryEnv(service, sink string) []string {
	return []string{
		"OTEL_SERVICE_NAME=" + service,
		"OTEL_EXPORTER_OTLP_ENDPOINT=http://" + sink,
		"OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf",
		"OTEL_TRACES_SAMPLER=parentbased_always_on",
		"OTEL_BSP_SCHEDULE_DELAY=5000",
		"OTEL_BSP_MAX_QUEUE_SIZE=2048",
		"OTEL_BSP_MAX_EXPORT_BATCH_SIZE=512",
		"OTEL_METRICS_EXPORTER=none",
		"OTEL_LOGS_EXPORTER=none",
		// orchestrion (dd-trace-go): the same sink, nothing but traces.
		"DD_SERVICE=" + service,
		"DD_TRACE_AGENT_URL=http://" + sink,
		"DD_INSTRUMENTATION_TELEMETRY_ENABLED=false",
		"DD_REMOTE_CONFIGURATION_ENABLED=false",
		"DD_TRACE_STARTUP_LOGS=false",
		"DD_RUNTIME_METRICS_ENABLED=false",
		"DD_PROFILING_ENABLED=false",
		"DD_DATA_STREAMS_ENABLED=false",
	}
}

// startService runs bin under the argv prefix with p's environment and
// the telemetry settings, its output to logPath, in a process group of its
// own, and waits until p answers its health URL. The command comes back
// whenever it started, so the caller can stop it.
func startService(p proc, prefix []string, bin, sink, logPath string) (*exec.Cmd, error) {
	argv := append(append([]string{}, prefix...), bin)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(append(os.Environ(), p.env...), telemetryEnv(p.name, sink)...)
	lf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer lf.Close()
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	if err := waitHTTP(p.health, cmd, 60*time.Second); err != nil {
		return cmd, fmt.Errorf("%s: %w (log: %s)", p.name, err, logPath)
	}
	return cmd, nil
}

func waitHTTP(url string, cmd *exec.Cmd, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	exited := watch(cmd)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-exited:
			return errors.New("exited before it answered " + url)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not answer within %s", url, limit)
		}
	}
}

// exits holds, per started command, a channel closed when it has exited
// (one goroutine waits for each, so stop and waitHTTP can both watch).
var exits = map[*exec.Cmd]chan struct{}{}

func watch(cmd *exec.Cmd) chan struct{} {
	if ch, ok := exits[cmd]; ok {
		return ch
	}
	ch := make(chan struct{})
	exits[cmd] = ch
	go func() { cmd.Wait(); close(ch) }()
	return ch
}

// stop sends SIGTERM (the services shut down gracefully and flush their
// spans), waits up to 15s, then kills the process group.
func stop(cmd *exec.Cmd) {
	exited := watch(cmd)
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(15 * time.Second):
		logf("pid %d did not stop within 15s of SIGTERM: killing its group", cmd.Process.Pid)
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	}
	delete(exits, cmd)
}

type wrkResult struct {
	requests, errors int64
	seconds          float64
	p50, p90, p99    float64
}

// wrk runs wrk for d and parses the line bench/wrk-report.lua prints.
func wrk(lua, url string, d time.Duration, conns int, pin bool) (wrkResult, error) {
	var r wrkResult
	secs := int(d.Round(time.Second) / time.Second)
	if secs < 1 {
		secs = 1
	}
	argv := []string{"wrk", "-t1", "-c" + strconv.Itoa(conns), "-d" + strconv.Itoa(secs) + "s", "--timeout", "5s", "-s", lua, url}
	if pin {
		argv = append([]string{"taskset", "-c", "1"}, argv...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), d+30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		return r, fmt.Errorf("wrk: %v: %s", err, out)
	}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	found := false
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "WEFTBENCH ") {
			continue
		}
		found = true
		for _, f := range strings.Fields(line)[1:] {
			k, v, _ := strings.Cut(f, "=")
			x, _ := strconv.ParseFloat(v, 64)
			switch k {
			case "requests":
				r.requests = int64(x)
			case "errors":
				r.errors = int64(x)
			case "duration_us":
				r.seconds = x / 1e6
			case "p50":
				r.p50 = x
			case "p90":
				r.p90 = x
			case "p99":
				r.p99 = x
			}
		}
	}
	if !found || r.requests == 0 || r.seconds == 0 {
		return r, fmt.Errorf("wrk printed no result: %s", out)
	}
	return r, nil
}

// tree is pid and all its descendants.
func tree(pid int) []int {
	children := map[int][]int{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if f := statFields(p); len(f) > 2 {
			pp, _ := strconv.Atoi(f[1])
			children[pp] = append(children[pp], p)
		}
	}
	out := []int{pid}
	for i := 0; i < len(out); i++ {
		out = append(out, children[out[i]]...)
	}
	return out
}

// statFields is /proc/PID/stat after the command name: state is [0],
// ppid [1], utime [11], stime [12].
func statFields(pid int) []string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(s[i+1:])
}

const ticksPerSecond = 100 // USER_HZ on Linux

func cpuTicks(pids []int) int64 {
	var t int64
	for _, p := range pids {
		f := statFields(p)
		if len(f) < 13 {
			continue
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		s, _ := strconv.ParseInt(f[12], 10, 64)
		t += u + s
	}
	return t
}

// memory sums VmRSS and VmHWM over pids, in MB.
func memory(pids []int) (rss, hwm float64) {
	for _, p := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			switch k {
			case "VmRSS":
				rss += kb / 1024
			case "VmHWM":
				hwm += kb / 1024
			}
		}
	}
	return rss, hwm
}

func sinkSpans(addr string) (int64, error) {
	resp, err := http.Get("http://" + addr + "/stats")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var st struct{ Spans int64 }
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return 0, err
	}
	return st.Spans, nil
}

// portFree reports whether nothing listens on addr.
func portFree(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return true
	}
	c.Close()
	return false
}

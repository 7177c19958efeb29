package rt

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"weft/internal/batch"
	"weft/internal/env"
	"weft/internal/otlp"
	"weft/internal/propagation"
	"weft/internal/resource"
	"weft/internal/trace"
)

// state is the running SDK; nil (in active) when disabled.
type state struct {
	tracer trace.Tracer
	props  propagation.Propagators
	keys   []string // props.Keys()
	proc   *batch.Processor
	bsp    batch.Config
	// envParent is the trace context the process was started in (TRACEPARENT), or nil.
	envParent *trace.SpanContext
}

var active atomic.Pointer[state]

// exitFlushCap bounds the flush at exit, whatever the export timeout;
// exitFlushFailing is the bound once an export has already failed (a
// collector that is down must not cost every exit seconds).
const (
	exitFlushCap     = 5 * time.Second
	exitFlushFailing = time.Second
)

func init() {
	defer func() {
		if r := recover(); r != nil {
			env.Warnf("tracing disabled: internal error during setup: %v", r)
			active.Store(nil)
		}
	}()
	if st := newFromEnv(); st != nil {
		active.Store(st)
		addExitHook(flushAtExit)
	}
}

// newFromEnv builds the SDK from the OTEL_* environment, or returns nil
// when it is disabled.
func newFromEnv() *state {
	if env.Bool("OTEL_SDK_DISABLED") {
		return nil
	}
	switch exp := strings.ToLower(env.Lookup("OTEL_TRACES_EXPORTER")); exp {
	case "", "otlp":
	case "none":
		return nil
	default:
		env.Warnf("OTEL_TRACES_EXPORTER=%q is not supported; using otlp", exp)
	}
	ocfg := otlp.ConfigFromEnv()
	bcfg := batch.ConfigFromEnv()
	// Both timeouts bound one batch's export, retries included; the
	// processor, which makes the retries, keeps the shorter.
	bcfg.ExportTimeout = min(bcfg.ExportTimeout, ocfg.Timeout)
	return newState(otlp.New(ocfg, resource.FromEnv()), bcfg)
}

func newState(exp batch.Exporter, cfg batch.Config) *state {
	proc := batch.New(exp, cfg)
	props := propagation.FromEnv()
	return &state{
		tracer:    trace.Tracer{Sampler: trace.SamplerFromEnv(), Processor: proc, Limits: trace.LimitsFromEnv()},
		props:     props,
		keys:      props.Keys(),
		proc:      proc,
		bsp:       cfg,
		envParent: envParent(props),
	}
}

// FlushAtExit is the exit flush for a program whose exit Go does not
// see: a c-shared or c-archive library's, when the C program returns
// from main. Go mode registers it with atexit(3) in such builds.
func FlushAtExit() { flushAtExit() }

var exitOnce sync.Once

// flushAtExit exports what is still queued, within the export timeout
// capped at 5 s (1 s when an export already failed), then reports losses on
// one stderr line. Only the first call does anything.
func flushAtExit() { exitOnce.Do(flushNow) }

func flushNow() {
	defer func() { recover() }() // a panicking exit hook would crash the exit
	st := active.Load()
	if st == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), exitFlushTimeout(st))
	stats := st.proc.Shutdown(ctx)
	cancel()
	if line := lossReport(stats); line != "" {
		env.Print(line)
	}
}

// exitFlushTimeout bounds a flush at exit: the export timeout, capped at
// exitFlushCap, or exitFlushFailing once an export has failed.
func exitFlushTimeout(st *state) time.Duration {
	timeout := min(st.bsp.ExportTimeout, exitFlushCap)
	if timeout <= 0 {
		timeout = exitFlushCap
	}
	if st.proc.Stats().Failed > 0 {
		timeout = min(timeout, exitFlushFailing)
	}
	return timeout
}

// lossReport formats the exit summary; "" when nothing was lost.
func lossReport(s batch.Stats) string {
	var parts []string
	if s.Dropped > 0 {
		parts = append(parts, spans(s.Dropped)+" dropped (queue full)")
	}
	if s.Failed > 0 {
		reason := s.FailReason
		if reason == "" {
			reason = "unknown error"
		}
		parts = append(parts, spans(s.Failed)+" lost (export failed: "+reason+")")
	}
	if s.NotExported > 0 {
		parts = append(parts, spans(s.NotExported)+" not exported (exit flush timed out)")
	}
	return strings.Join(parts, ", ")
}

func spans(n int64) string {
	if n == 1 {
		return "1 span"
	}
	return strconv.FormatInt(n, 10) + " spans"
}

package rt

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"weft/internal/batch"
	"weft/internal/env"
	"weft/internal/otlp"
	"weft/internal/propagation"
	"weft/internal/trace"
)

// memExporter keeps copies of the records of ended spans, taken as the
// processor receives them (it recycles the records themselves at once);
// the batches it is given to export it drops.
type memExporter struct {
	mu      sync.Mutex
	spans   []*trace.Record
	discard bool // benchmarks: keep nothing
	next    trace.Processor
}

func (m *memExporter) OnEnd(r *trace.Record) {
	if !m.discard {
		m.mu.Lock()
		m.spans = append(m.spans, r.Clone())
		m.mu.Unlock()
	}
	m.next.OnEnd(r)
}

func (m *memExporter) Export(context.Context, *otlp.Batch) error { return nil }
func (m *memExporter) Closing()                                  {}
func (m *memExporter) Idle()                                     {}

func (m *memExporter) get() []*trace.Record {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]*trace.Record(nil), m.spans...)
}

// rec is the exported record of the span behind handle h, or nil.
func (m *memExporter) rec(h unsafe.Pointer) *trace.Record {
	id := (*trace.Span)(h).SC.SpanID
	for _, r := range m.get() {
		if r.SC.SpanID == id {
			return r
		}
	}
	return nil
}

// install replaces the running SDK with one exporting to memory, for the
// duration of the test.
func install(t testing.TB, vars map[string]string) (*memExporter, *state) {
	restoreEnv := env.SetLookup(vars)
	_, bench := t.(*testing.B)
	exp := &memExporter{discard: bench}
	cfg := batch.Config{ScheduleDelay: time.Hour, ExportTimeout: time.Second, MaxQueueSize: 1 << 16, MaxBatchSize: 512}
	if bench {
		cfg = batch.ConfigFromEnv() // the defaults: 2048 queued, batches of 512
	}
	st := newState(exp, cfg)
	exp.next, st.tracer.Processor = st.tracer.Processor, exp
	restoreEnv()
	old := active.Swap(st)
	t.Cleanup(func() {
		st.proc.Shutdown(context.Background())
		active.Store(old)
	})
	return exp, st
}

func flush(t testing.TB, st *state) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a hang guard, not a speed limit
	defer cancel()
	if !st.proc.Flush(ctx) {
		t.Fatal("flush timed out")
	}
}

func TestNilSafety(t *testing.T) {
	for _, on := range []bool{false, true} {
		if on {
			install(t, nil)
		} else {
			old := active.Swap(nil)
			defer active.Store(old)
		}
		var nilCtx context.Context
		ctx, sp := StartSpan(nilCtx, "", "", 0)
		if ctx == nil {
			t.Error("StartSpan returned a nil ctx")
		}
		if on != (sp != nil) {
			t.Errorf("enabled=%v span=%v", on, sp)
		}
		SetName(nil, "x")
		SetString(nil, "k", "v")
		SetInt(nil, "k", 1)
		SetError(nil, "t", "m")
		End(nil)
		End(sp)
		if Extract(nilCtx, nil) == nil || Extract(nilCtx, map[string][]string{"Traceparent": {"junk"}}) == nil {
			t.Error("Extract returned nil")
		}
		Inject(nilCtx, map[string][]string{})
		Inject(context.Background(), nil)
		if Suppress(nilCtx) == nil {
			t.Error("Suppress returned nil")
		}
		if Enabled() != on {
			t.Errorf("Enabled() = %v", Enabled())
		}
	}
}

func TestServerClientFlow(t *testing.T) {
	exp, st := install(t, nil)
	in := http.Header{"Traceparent": {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}, "Tracestate": {"rojo=1"}, "Baggage": {"user=alice"}}
	ctx := Extract(context.Background(), in)
	ctx, srv := StartSpan(ctx, "net/http", "GET", 2)
	SetString(srv, "http.request.method", "GET")
	SetName(srv, "GET /users/{id}")
	cctx, cli := StartSpan(ctx, "net/http", "GET", 3)
	out := http.Header{}
	Inject(cctx, out)
	SetInt(cli, "http.response.status_code", 503)
	SetError(cli, "503", "Service Unavailable")
	End(cli)
	End(srv)
	flush(t, st)

	spans := exp.get()
	if len(spans) != 2 {
		t.Fatalf("%d spans", len(spans))
	}
	c, s := spans[0], spans[1]
	if s.SC.TraceID.String() != "4bf92f3577b34da6a3ce929d0e0e4736" || s.Parent.String() != "00f067aa0ba902b7" || !s.ParentRemote {
		t.Errorf("server span %+v", s.SC)
	}
	if s.Name != "GET /users/{id}" || s.Kind != 2 || s.Scope != "net/http" || s.SC.TraceState != "rojo=1" {
		t.Errorf("server span %q %d %q", s.Name, s.Kind, s.Scope)
	}
	if c.Parent != s.SC.SpanID || c.ParentRemote || c.StatusCode != trace.StatusError || c.StatusMsg != "Service Unavailable" {
		t.Errorf("client span %+v", c)
	}
	want := "00-4bf92f3577b34da6a3ce929d0e0e4736-" + c.SC.SpanID.String() + "-01"
	if out.Get("Traceparent") != want || out.Get("Tracestate") != "rojo=1" || out.Get("Baggage") != "user=alice" {
		t.Errorf("injected %v, want traceparent %s", out, want)
	}
	if c.EndUnixNano() < c.StartUnixNano() || s.EndUnixNano() < c.EndUnixNano() {
		t.Error("times out of order")
	}
}

func TestUnsampledStillPropagates(t *testing.T) {
	exp, st := install(t, map[string]string{"OTEL_TRACES_SAMPLER": "always_off"})
	ctx, sp := StartSpan(nil, "s", "root", 2)
	if sp != nil {
		t.Fatal("always_off recorded a span")
	}
	h := map[string][]string{}
	Inject(ctx, h)
	if v := h["Traceparent"]; len(v) != 1 || !strings.HasSuffix(v[0], "-00") {
		t.Errorf("traceparent %q", v)
	}
	flush(t, st)
	if len(exp.get()) != 0 {
		t.Error("unsampled span exported")
	}
}

func TestSuppressAPI(t *testing.T) {
	exp, st := install(t, nil)
	ctx, sp := StartSpan(Suppress(context.Background()), "net/http", "POST", 3)
	if sp != nil || ctx == nil {
		t.Error("span started under Suppress")
	}
	flush(t, st)
	if len(exp.get()) != 0 {
		t.Error("exported")
	}
}

func TestPropagatorsNone(t *testing.T) {
	install(t, map[string]string{"OTEL_PROPAGATORS": "none"})
	ctx := Extract(context.Background(), map[string][]string{"Traceparent": {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}})
	if trace.FromContext(ctx) != nil {
		t.Error("extracted with propagators none")
	}
	ctx, _ = StartSpan(ctx, "", "x", 1)
	h := map[string][]string{}
	Inject(ctx, h)
	if len(h) != 0 {
		t.Errorf("injected %v", h)
	}
}

func TestDisabledByEnv(t *testing.T) {
	defer env.CaptureWarnings(func(string) {})()
	for _, vars := range []map[string]string{
		{"OTEL_SDK_DISABLED": "true"},
		{"OTEL_SDK_DISABLED": "TRUE", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://x"},
		{"OTEL_TRACES_EXPORTER": "none"},
	} {
		restore := env.SetLookup(vars)
		st := newFromEnv()
		restore()
		if st != nil {
			t.Errorf("%v: SDK started", vars)
		}
	}
	restore := env.SetLookup(map[string]string{"OTEL_SDK_DISABLED": "false", "OTEL_TRACES_EXPORTER": "console"})
	st := newFromEnv()
	restore()
	if st == nil {
		t.Error("OTEL_SDK_DISABLED=false disabled the SDK")
	} else {
		st.proc.Shutdown(context.Background())
	}
}

type panicProc struct{}

func (panicProc) OnEnd(*trace.Record) { panic("processor bug") }

func TestHooksRecover(t *testing.T) {
	_, st := install(t, nil)
	st.tracer.Processor = panicProc{}
	_, sp := StartSpan(context.Background(), "", "x", 1)
	End(sp) // must not panic
	st.tracer.Processor = st.proc
}

func TestLossReport(t *testing.T) {
	cases := map[string]batch.Stats{
		"": {},
		"12 spans dropped (queue full), 3 spans lost (export failed: connection refused)": {Dropped: 12, Failed: 3, FailReason: "connection refused"},
		"1 span lost (export failed: unknown error)":                                      {Failed: 1},
		"5 spans not exported (exit flush timed out)":                                     {NotExported: 5},
	}
	for want, st := range cases {
		if got := lossReport(st); got != want {
			t.Errorf("lossReport(%+v) = %q, want %q", st, got, want)
		}
	}
}

func TestSemconvHooks(t *testing.T) {
	if op, tgt, s := SQLInfo("SELECT * FROM orders WHERE id = 7"); op != "SELECT" || tgt != "orders" || s != "SELECT * FROM orders WHERE id = ?" {
		t.Error(op, tgt, s)
	}
	if DBSystem("github.com/go-sql-driver/mysql") != "mysql" || DBSystem("x") != "other_sql" {
		t.Error("DBSystem")
	}
	if h, p, ns := DSNInfo("mysql", "u:p@tcp(db:3306)/shop"); h != "db" || p != 3306 || ns != "shop" {
		t.Error(h, p, ns)
	}
	if RedactQuery("a=1") != "a=REDACTED" {
		t.Error("RedactQuery")
	}
}

// cpuTime reports the process's CPU time per op as "cpu-ns/op": on a
// loaded machine wall time mostly measures the wait for a CPU.
// It also reports the share of spans dropped because the queue was full
// (the background exporter could not keep up).
func cpuTime(b *testing.B) func() {
	st := active.Load()
	var start syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &start)
	b.ResetTimer()
	return func() {
		b.StopTimer()
		var end syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &end)
		ns := (end.Utime.Nano() + end.Stime.Nano()) - (start.Utime.Nano() + start.Stime.Nano())
		b.ReportMetric(float64(ns)/float64(b.N), "cpu-ns/op")
		if st != nil {
			b.ReportMetric(float64(st.proc.Stats().Dropped)/float64(b.N), "dropped/op")
		}
	}
}

func BenchmarkStartEnd(b *testing.B) {
	install(b, nil)
	ctx := context.Background()
	b.ReportAllocs()
	defer cpuTime(b)()
	for i := 0; i < b.N; i++ {
		_, sp := StartSpan(ctx, "bench", "op", 1)
		End(sp)
	}
}

func BenchmarkStartEndChildWithAttrs(b *testing.B) {
	install(b, nil)
	ctx, parent := StartSpan(context.Background(), "bench", "parent", 2)
	defer End(parent)
	b.ReportAllocs()
	defer cpuTime(b)()
	for i := 0; i < b.N; i++ {
		_, sp := StartSpan(ctx, "database/sql", "SELECT orders", 3)
		SetString(sp, "db.system.name", "mysql")
		SetString(sp, "db.operation.name", "SELECT")
		SetString(sp, "db.collection.name", "orders")
		SetString(sp, "server.address", "db")
		SetInt(sp, "server.port", 3306)
		SetString(sp, "db.namespace", "shop")
		End(sp)
	}
}

func BenchmarkStartEndUnsampled(b *testing.B) {
	install(b, map[string]string{"OTEL_TRACES_SAMPLER": "always_off"})
	ctx := context.Background()
	b.ReportAllocs()
	defer cpuTime(b)()
	for i := 0; i < b.N; i++ {
		_, sp := StartSpan(ctx, "bench", "op", 1)
		End(sp)
	}
}

func BenchmarkDisabled(b *testing.B) {
	old := active.Swap(nil)
	defer active.Store(old)
	ctx := context.Background()
	b.ReportAllocs()
	defer cpuTime(b)()
	for i := 0; i < b.N; i++ {
		if Enabled() {
			_, sp := StartSpan(ctx, "bench", "op", 1)
			End(sp)
		}
	}
}

func BenchmarkServerRequest(b *testing.B) {
	install(b, nil)
	in := map[string][]string{"Traceparent": {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}}
	b.ReportAllocs()
	defer cpuTime(b)()
	for i := 0; i < b.N; i++ {
		ctx := Extract(context.Background(), in)
		_, sp := StartSpan(ctx, "net/http", "GET", 2)
		SetString(sp, "http.request.method", "GET")
		SetInt(sp, "http.response.status_code", 200)
		End(sp)
	}
}

var _ = unsafe.Pointer(nil)
var _ = propagation.HeaderBaggage

// BenchmarkServerSpan13Attrs mirrors the woven net/http server span (13
// attributes): two allocations, the span (13 attributes fit inline) and
// the incoming traceparent's context.
func BenchmarkServerSpan13Attrs(b *testing.B) {
	install(b, nil)
	in := map[string][]string{"Traceparent": {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}}
	keys := []string{"http.request.method", "url.scheme", "url.path", "server.address", "network.protocol.version",
		"user_agent.original", "network.peer.address", "client.address", "http.route", "url.query"}
	b.ReportAllocs()
	defer cpuTime(b)()
	for i := 0; i < b.N; i++ {
		ctx := Extract(context.Background(), in)
		_, sp := StartSpan(ctx, "weft/net/http", "GET", 2)
		for _, k := range keys {
			SetString(sp, k, "value")
		}
		SetInt(sp, "server.port", 8080)
		SetInt(sp, "network.peer.port", 51234)
		SetInt(sp, "http.response.status_code", 200)
		SetName(sp, "GET /users/{id}")
		End(sp)
	}
}

package batch

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"weft/internal/env"
	"weft/internal/otlp"
	"weft/internal/protowire"
	"weft/internal/trace"
)

// No test here asserts how long something took (CI runs on a loaded
// machine): "never blocks" and "bounded" are shown with an exporter that
// holds its batch until the test releases it after the call under test
// returned. Waits for an event use hangGuard, which reports a hang, not
// slowness; deadlines a test does not test are generous.
const hangGuard = 60 * time.Second

// fakeExporter records batches; block, when set, holds every export until
// closed; entered, when set, gets the size of each batch as its export
// starts.
type fakeExporter struct {
	mu      sync.Mutex
	batches [][]exported
	errs    []error // returned in order, then err
	err     error
	block   chan struct{}
	entered chan int
	closing bool
	calls   chan int
	idles   atomic.Int32
}

func (f *fakeExporter) Export(ctx context.Context, spans *otlp.Batch) error {
	if f.entered != nil {
		f.entered <- spans.Len()
	}
	if f.block != nil {
		select {
		case <-f.block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	batch := decodeBatch(spans) // the processor reuses the batch
	if len(batch) != spans.Len() {
		panic("batch length differs from its spans")
	}
	f.mu.Lock()
	f.batches = append(f.batches, batch)
	err := f.err
	if len(f.errs) > 0 {
		err, f.errs = f.errs[0], f.errs[1:]
	}
	if r, ok := err.(retryable); ok && r.deadOnClose && f.closing {
		err = errors.New(r.reason) // as the otlp exporter: final at exit
	}
	f.mu.Unlock()
	if f.calls != nil {
		f.calls <- spans.Len()
	}
	return err
}

// retryable is an export error the processor retries, after wait (0: its
// backoff). deadOnClose makes it final once the exporter is closing, as a
// collector that cannot be reached is.
type retryable struct {
	reason      string
	wait        time.Duration
	deadOnClose bool
}

func (r retryable) Error() string                     { return r.reason }
func (r retryable) RetryAfter() (time.Duration, bool) { return r.wait, true }

// exported is what the tests check of an exported span.
type exported struct {
	id   trace.SpanID
	name string
}

// decodeBatch reads back the spans of b from the request it encodes to.
func decodeBatch(b *otlp.Batch) []exported {
	var out []exported
	each(otlp.AppendRequest(nil, nil, b), 1, func(rs []byte) {
		each(rs, 2, func(ss []byte) {
			each(ss, 2, func(span []byte) {
				var e exported
				each(span, 2, func(id []byte) { copy(e.id[:], id) })
				each(span, 5, func(name []byte) { e.name = string(name) })
				out = append(out, e)
			})
		})
	})
	return out
}

// each calls f with every length-delimited field number field of msg.
func each(msg []byte, field int, f func([]byte)) {
	r := protowire.Reader{B: msg}
	for !r.Done() {
		n, w := r.Tag()
		if n == field && w == protowire.Bytes {
			f(r.Bytes())
			continue
		}
		r.Skip(w)
	}
	if r.Bad {
		panic("bad protobuf")
	}
}

func (f *fakeExporter) Idle() { f.idles.Add(1) }

func (f *fakeExporter) Closing() {
	f.mu.Lock()
	f.closing = true
	f.mu.Unlock()
}

func (f *fakeExporter) isClosing() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.closing
}

// await receives from c within hangGuard; what names the awaited event.
func await(t *testing.T, c <-chan int, what string) int {
	t.Helper()
	select {
	case n := <-c:
		return n
	case <-time.After(hangGuard):
		t.Fatalf("hang: %s", what)
		return 0
	}
}

func (f *fakeExporter) total() (spans, batches int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, b := range f.batches {
		spans += len(b)
	}
	return spans, len(f.batches)
}

var nextID atomic.Uint64

// spans returns n records, each with a span id of its own.
func spans(n int) []*trace.Record {
	out := make([]*trace.Record, n)
	for i := range out {
		out[i] = &trace.Record{Name: "s"}
		binary.BigEndian.PutUint64(out[i].SC.SpanID[:], nextID.Add(1))
	}
	return out
}

func TestBatchSizeTriggersExport(t *testing.T) {
	f := &fakeExporter{calls: make(chan int, 10)}
	p := New(f, Config{ScheduleDelay: time.Hour, ExportTimeout: time.Second, MaxQueueSize: 100, MaxBatchSize: 10})
	for _, s := range spans(25) {
		p.OnEnd(s)
	}
	for i := 0; i < 2; i++ {
		if n := await(t, f.calls, "no export on full batch"); n != 10 {
			t.Errorf("batch of %d, want 10", n)
		}
	}
	st := p.Shutdown(ctxTimeout(t, hangGuard))
	if n, _ := f.total(); n != 25 || st != (Stats{}) {
		t.Errorf("exported %d, stats %+v", n, st)
	}
	if !f.isClosing() {
		t.Error("exporter not told about closing")
	}
}

func TestScheduleDelay(t *testing.T) {
	f := &fakeExporter{calls: make(chan int, 10)}
	p := New(f, Config{ScheduleDelay: 20 * time.Millisecond, ExportTimeout: time.Second, MaxQueueSize: 100, MaxBatchSize: 50})
	p.OnEnd(&trace.Record{})
	// A batch of 1 (of 50) goes out only on the schedule.
	if n := await(t, f.calls, "schedule delay did not export"); n != 1 {
		t.Errorf("batch of %d", n)
	}
}

// workers counts the goroutines running the processor's code.
func workers() int { return goroutinesIn("weft/internal/batch.(*Processor)") }

// goroutinesIn counts the goroutines with fn in their stack.
func goroutinesIn(fn string) int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, fn) {
			n++
		}
	}
	return n
}

// awaitNoWorker waits for the worker to leave.
func awaitNoWorker(t *testing.T) {
	t.Helper()
	for deadline := time.Now().Add(hangGuard); workers() > 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("hang: the worker never left")
		}
	}
}

func TestNoGoroutineWhileIdle(t *testing.T) {
	awaitNoWorker(t) // workers counts every processor's: an earlier test's may still be leaving
	f := &fakeExporter{calls: make(chan int, 10), block: make(chan struct{})}
	p := New(f, Config{ScheduleDelay: time.Hour, ExportTimeout: time.Second, MaxQueueSize: 100, MaxBatchSize: 4})
	for _, s := range spans(3) {
		p.OnEnd(s)
	}
	if n := workers(); n != 0 {
		t.Fatalf("%d goroutines with a partial batch waiting for its delay", n)
	}
	for _, s := range spans(3) {
		p.OnEnd(s) // fills a batch: a worker exports it and leaves
	}
	close(f.block) // (only now: the worker must see the 2 spans left)
	if n := await(t, f.calls, "no export on full batch"); n != 4 {
		t.Errorf("batch of %d, want 4", n)
	}
	awaitNoWorker(t)
	if n := f.idles.Load(); n != 0 {
		t.Errorf("exporter told idle %d times with 2 spans queued", n)
	}
	if !p.Flush(ctxTimeout(t, hangGuard)) {
		t.Fatal("flush did not finish")
	}
	if n := await(t, f.calls, "flush did not export"); n != 2 {
		t.Errorf("batch of %d, want 2", n)
	}
	awaitNoWorker(t)
	if n := f.idles.Load(); n != 1 {
		t.Errorf("exporter told idle %d times, want once, when nothing was left", n)
	}
	p.Shutdown(ctxTimeout(t, hangGuard))
	awaitNoWorker(t)
}

func init() {
	initialBackoff = 5 * time.Millisecond
	maxBackoff = 20 * time.Millisecond
}

// A batch the collector could not take is retried, the same spans in the
// same batch, before any later one; the spans are then neither lost nor
// exported twice.
func TestRetry(t *testing.T) {
	busy := retryable{reason: "HTTP 503 Service Unavailable"}
	f := &fakeExporter{calls: make(chan int, 10), errs: []error{busy, busy, busy}}
	p := New(f, Config{ScheduleDelay: time.Hour, ExportTimeout: time.Hour, MaxQueueSize: 100, MaxBatchSize: 4})
	for _, s := range spans(8) {
		p.OnEnd(s)
	}
	for i := 0; i < 5; i++ {
		if n := await(t, f.calls, "export or retry missing"); n != 4 {
			t.Errorf("batch of %d, want 4", n)
		}
	}
	st := p.Shutdown(ctxTimeout(t, hangGuard))
	if st != (Stats{}) {
		t.Errorf("stats %+v, want no loss", st)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := 1; i < 4; i++ {
		if f.batches[i][0] != f.batches[0][0] || f.batches[i][3] != f.batches[0][3] {
			t.Errorf("attempt %d sent other spans than the first", i+1)
		}
	}
	if f.batches[4][0] == f.batches[0][0] {
		t.Error("the second batch was never sent")
	}
}

// While a batch waits to be retried no goroutine of weft's exists, and
// spans filling more batches meanwhile do not start one early.
func TestNoGoroutineWhileWaitingToRetry(t *testing.T) {
	f := &fakeExporter{calls: make(chan int, 10), err: retryable{reason: "connection refused", wait: time.Hour, deadOnClose: true}}
	p := New(f, Config{ScheduleDelay: time.Hour, ExportTimeout: 2 * time.Hour, MaxQueueSize: 100, MaxBatchSize: 4})
	for _, s := range spans(4) {
		p.OnEnd(s)
	}
	await(t, f.calls, "full batch not exported")
	awaitNoWorker(t)
	if n := f.idles.Load(); n != 1 {
		t.Errorf("exporter told idle %d times, want once as the worker left to wait", n)
	}
	for _, s := range spans(8) {
		p.OnEnd(s)
	}
	if n := workers(); n != 0 {
		t.Errorf("%d goroutines while the retry waits", n)
	}
	// Shutdown ends the wait: one more attempt per batch, final at exit.
	st := p.Shutdown(ctxTimeout(t, hangGuard))
	if st.Failed != 12 || st.FailReason != "connection refused" || st.NotExported != 0 {
		t.Errorf("stats %+v, want 12 failed", st)
	}
	if _, n := f.total(); n != 4 {
		t.Errorf("%d attempts, want 4 (1 + one per batch at exit)", n)
	}
}

// The collector's Retry-After is honoured, and a retry that could not
// start within the export timeout is not made.
func TestRetryAfter(t *testing.T) {
	f := &fakeExporter{calls: make(chan int, 10), errs: []error{retryable{reason: "HTTP 429 Too Many Requests", wait: 300 * time.Millisecond}}}
	p := New(f, Config{ScheduleDelay: time.Hour, ExportTimeout: time.Hour, MaxQueueSize: 100, MaxBatchSize: 2})
	for _, s := range spans(2) {
		p.OnEnd(s)
	}
	await(t, f.calls, "no export")
	first := time.Now()
	await(t, f.calls, "no retry")
	// A lower bound only: a timer never fires early (the backoff is 5ms).
	if gap := time.Since(first); gap < 300*time.Millisecond {
		t.Errorf("retried after %v, want >= 300ms", gap)
	}
	if st := p.Shutdown(ctxTimeout(t, hangGuard)); st != (Stats{}) {
		t.Errorf("stats %+v", st)
	}

	f = &fakeExporter{calls: make(chan int, 10), err: retryable{reason: "HTTP 429 Too Many Requests", wait: time.Hour}}
	p = New(f, Config{ScheduleDelay: time.Hour, ExportTimeout: time.Minute, MaxQueueSize: 100, MaxBatchSize: 2})
	for _, s := range spans(2) {
		p.OnEnd(s)
	}
	if !p.Flush(ctxTimeout(t, hangGuard)) {
		t.Fatal("a wait beyond the export timeout was waited for")
	}
	if _, n := f.total(); n != 1 || p.Stats().Failed != 2 {
		t.Errorf("%d attempts, stats %+v; want 1 attempt and 2 failed", n, p.Stats())
	}
}

// A collector that keeps failing costs a batch no more than its export
// timeout: the retries stop and its spans are counted lost.
func TestRetriesEndAtExportTimeout(t *testing.T) {
	f := &fakeExporter{err: retryable{reason: "HTTP 503 Service Unavailable"}}
	p := New(f, Config{ScheduleDelay: time.Hour, ExportTimeout: 200 * time.Millisecond, MaxQueueSize: 100, MaxBatchSize: 10})
	for _, s := range spans(3) {
		p.OnEnd(s)
	}
	if !p.Flush(ctxTimeout(t, hangGuard)) {
		t.Fatal("flush hung")
	}
	if _, n := f.total(); n < 2 {
		t.Errorf("%d attempts, want retries within the timeout", n)
	}
	if st := p.Stats(); st.Failed != 3 || st.NotExported != 0 {
		t.Errorf("stats %+v", st)
	}
	p.Shutdown(context.Background())
}

func TestQueueFullDropsAndNeverBlocks(t *testing.T) {
	f := &fakeExporter{block: make(chan struct{}), entered: make(chan int, 10)}
	p := New(f, Config{ScheduleDelay: time.Hour, ExportTimeout: time.Hour, MaxQueueSize: 8, MaxBatchSize: 4})
	// A full batch wakes the worker, which takes it and blocks exporting
	// it (until the test closes f.block).
	for _, s := range spans(4) {
		p.OnEnd(s)
	}
	if n := await(t, f.entered, "full batch not exported"); n != 4 {
		t.Fatalf("batch of %d", n)
	}
	// With the exporter stuck, OnEnd still returns: the queue takes 8 more
	// and the rest is dropped. (A blocking OnEnd never gets past this loop,
	// since nothing releases the exporter before it ends.)
	ended := make(chan int, 1)
	go func() {
		for _, s := range spans(1000) {
			p.OnEnd(s)
		}
		ended <- 1000
	}()
	await(t, ended, "OnEnd blocked while the exporter was busy")
	st := p.Stats()
	if st.Dropped != 1000-8 {
		t.Errorf("dropped %d, want %d", st.Dropped, 1000-8)
	}
	close(f.block)
	st = p.Shutdown(ctxTimeout(t, hangGuard))
	n, batches := f.total()
	if n != 12 || batches != 3 || st.Dropped != 1000-8 || st.Failed != 0 || st.NotExported != 0 {
		t.Errorf("exported %d in %d batches, stats %+v", n, batches, st)
	}
	// After shutdown, spans are dropped.
	p.OnEnd(&trace.Record{})
	if p.Stats().Dropped != st.Dropped+1 {
		t.Error("span accepted after shutdown")
	}
}

func TestExportFailureCounted(t *testing.T) {
	f := &fakeExporter{err: errors.New("connection refused")}
	p := New(f, Config{ScheduleDelay: time.Hour, ExportTimeout: time.Second, MaxQueueSize: 100, MaxBatchSize: 10})
	for _, s := range spans(15) {
		p.OnEnd(s)
	}
	st := p.Shutdown(ctxTimeout(t, hangGuard))
	if st.Failed != 15 || st.FailReason != "connection refused" || st.Dropped != 0 {
		t.Errorf("stats %+v", st)
	}
}

type partial struct{ n int64 }

func (p partial) Error() string { return "rejected" }
func (p partial) Lost() int64   { return p.n }

func TestPartialSuccessCountsOnlyRejected(t *testing.T) {
	f := &fakeExporter{err: partial{2}}
	p := New(f, Config{ScheduleDelay: time.Hour, ExportTimeout: time.Second, MaxQueueSize: 100, MaxBatchSize: 10})
	for _, s := range spans(5) {
		p.OnEnd(s)
	}
	if st := p.Shutdown(ctxTimeout(t, hangGuard)); st.Failed != 2 {
		t.Errorf("stats %+v", st)
	}
}

// Shutdown is bounded by its ctx, not by the exporter: it returns while
// the exporter still holds a batch (released only when the test ends), and
// counts what it could not export.
func TestShutdownTimeoutCountsNotExported(t *testing.T) {
	f := &fakeExporter{block: make(chan struct{}), entered: make(chan int, 10)}
	defer close(f.block)
	p := New(f, Config{ScheduleDelay: time.Hour, ExportTimeout: time.Hour, MaxQueueSize: 100, MaxBatchSize: 5})
	for _, s := range spans(20) {
		p.OnEnd(s)
	}
	// The first full batch is being exported (and stuck) before Shutdown.
	await(t, f.entered, "full batch not exported")
	ctx, cancel := context.WithCancel(context.Background())
	stats := make(chan Stats, 1)
	go func() { stats <- p.Shutdown(ctx) }()
	// It returns once its ctx ends.
	cancel()
	var st Stats
	select {
	case st = <-stats:
	case <-time.After(hangGuard):
		t.Fatal("hang: Shutdown waited for a stuck exporter after its ctx ended")
	}
	if st.NotExported != 20 || st.Failed != 0 {
		t.Errorf("stats %+v", st)
	}
	// Second shutdown is a no-op.
	if st2 := p.Shutdown(context.Background()); st2.NotExported != 20 {
		t.Errorf("second shutdown %+v", st2)
	}
}

type panicky struct{}

func (panicky) Export(context.Context, *otlp.Batch) error { panic("boom") }
func (panicky) Closing()                                  {}
func (panicky) Idle()                                     { panic("boom") }

func TestExporterPanicContained(t *testing.T) {
	p := New(panicky{}, Config{ScheduleDelay: time.Hour, ExportTimeout: time.Second, MaxQueueSize: 10, MaxBatchSize: 10})
	p.OnEnd(&trace.Record{})
	if st := p.Shutdown(ctxTimeout(t, hangGuard)); st.Failed != 1 || st.FailReason != "exporter panicked" {
		t.Errorf("stats %+v", st)
	}
}

func TestConfigFromEnv(t *testing.T) {
	defer env.CaptureWarnings(func(string) {})()
	defer env.SetLookup(map[string]string{
		"OTEL_BSP_SCHEDULE_DELAY":        "250",
		"OTEL_BSP_EXPORT_TIMEOUT":        "x",
		"OTEL_BSP_MAX_QUEUE_SIZE":        "100",
		"OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "1000",
	})()
	c := ConfigFromEnv()
	want := Config{ScheduleDelay: 250 * time.Millisecond, ExportTimeout: 30 * time.Second, MaxQueueSize: 100, MaxBatchSize: 100}
	if c != want {
		t.Errorf("%+v, want %+v", c, want)
	}
	restore := env.SetLookup(nil)
	defer restore()
	if c := ConfigFromEnv(); c != (Config{5 * time.Second, 30 * time.Second, 2048, 512}) {
		t.Errorf("defaults %+v", c)
	}
}

func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// BenchmarkStartEnd is a span's whole life with this processor: start,
// end, encoding into a batch (the fake exporter decodes each batch).
func BenchmarkStartEnd(b *testing.B) {
	f := &fakeExporter{}
	p := New(f, Config{ScheduleDelay: time.Second, ExportTimeout: time.Second, MaxQueueSize: 2048, MaxBatchSize: 512})
	tr := &trace.Tracer{Sampler: trace.AlwaysOn(), Processor: p}
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		_, s := tr.Start(ctx, "bench", "span", trace.KindServer)
		s.Finish()
	}
}

func TestRingWraps(t *testing.T) {
	f := &fakeExporter{}
	p := New(f, Config{ScheduleDelay: time.Hour, ExportTimeout: time.Second, MaxQueueSize: 7, MaxBatchSize: 3})
	want := 0
	for round := 0; round < 20; round++ {
		for _, s := range spans(round % 7) {
			p.OnEnd(s)
			want++
		}
		if !p.Flush(ctxTimeout(t, hangGuard)) {
			t.Fatal("flush")
		}
	}
	n, batches := f.total()
	if n != want || p.Stats().Dropped != 0 {
		t.Errorf("exported %d of %d in %d batches", n, want, batches)
	}
	seen := map[trace.SpanID]bool{}
	for _, b := range f.batches {
		if len(b) > 3 {
			t.Errorf("batch of %d", len(b))
		}
		for _, s := range b {
			if seen[s.id] {
				t.Fatal("span exported twice")
			}
			seen[s.id] = true
		}
	}
}

// Spans ended on many goroutines at once are each exported once and
// intact, while the worker exports and reuses batches: records, their
// buffers and batches are recycled under that load.
func TestConcurrentEnds(t *testing.T) {
	f := &fakeExporter{}
	p := New(f, Config{ScheduleDelay: time.Millisecond, ExportTimeout: time.Second, MaxQueueSize: 1 << 16, MaxBatchSize: 7})
	tr := &trace.Tracer{Sampler: trace.AlwaysOn(), Processor: p, Limits: trace.Limits{AttrCount: 128}}
	const goroutines, each = 8, 500
	var wg sync.WaitGroup
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				name := "g" + strconv.Itoa(g) + "-" + strconv.Itoa(i)
				_, s := tr.Start(context.Background(), "scope"+strconv.Itoa(i%3), name, trace.KindServer)
				s.SetString("k", strings.Repeat(name, i%40))
				s.Finish()
			}
		}()
	}
	wg.Wait()
	if st := p.Shutdown(ctxTimeout(t, hangGuard)); st != (Stats{}) {
		t.Fatalf("stats %+v", st)
	}
	seen := map[string]bool{}
	for _, b := range f.batches {
		for _, s := range b {
			if seen[s.name] || !s.id.IsValid() {
				t.Fatalf("span %q exported twice or without an id", s.name)
			}
			seen[s.name] = true
		}
	}
	if len(seen) != goroutines*each {
		t.Errorf("%d spans exported, want %d", len(seen), goroutines*each)
	}
}

// Records are recycled once encoded, and when the queue drops them: the
// processor hands them to trace.Release, which clears them.
func TestRecordsRecycled(t *testing.T) {
	f := &fakeExporter{entered: make(chan int, 4), block: make(chan struct{})}
	p := New(f, Config{ScheduleDelay: time.Hour, ExportTimeout: hangGuard, MaxQueueSize: 2, MaxBatchSize: 2})
	in := spans(5)
	p.OnEnd(in[0])
	p.OnEnd(in[1]) // a full batch: the one worker takes it and blocks in Export
	<-f.entered
	for _, s := range in[2:] {
		p.OnEnd(s) // two fill the queue again; the fifth does not fit
	}
	close(f.block)
	if !p.Flush(ctxTimeout(t, hangGuard)) {
		t.Fatal("flush")
	}
	if n, _ := f.total(); n != 4 || p.Stats().Dropped != 1 {
		t.Fatalf("exported %d, dropped %d", n, p.Stats().Dropped)
	}
	for i, s := range in {
		if s.Name != "" || s.SC.SpanID.IsValid() {
			t.Errorf("record %d not released: %+v", i, s.SC)
		}
	}
	if b := f.batches[0]; b[0].name != "s" || b[1].name != "s" || !b[0].id.IsValid() {
		t.Errorf("the exporter saw %+v", b)
	}
}

// With a short export timeout and the collector down, the retries end by
// the timeout: whether the last attempt was refused or cut by the deadline
// depends on the machine's load, but every span is counted lost, none is
// left behind, and no goroutine of weft's or of its HTTP client remains.
func TestCollectorDownShortTimeout(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + l.Addr().String() + "/v1/traces"
	l.Close()
	e := otlp.New(otlp.Config{Endpoint: down, Timeout: time.Hour}, nil)
	p := New(e, Config{ScheduleDelay: time.Hour, ExportTimeout: 300 * time.Millisecond, MaxQueueSize: 10, MaxBatchSize: 10})
	for _, s := range spans(3) {
		p.OnEnd(s)
	}
	if !p.Flush(ctxTimeout(t, hangGuard)) {
		t.Fatal("export not bounded by the export timeout: flush hung")
	}
	st := p.Stats()
	if st.Failed != 3 || st.Dropped != 0 || st.NotExported != 0 {
		t.Errorf("stats %+v, want 3 failed", st)
	}
	if st.FailReason != "connection refused" && st.FailReason != "timeout" {
		t.Errorf("reason %q", st.FailReason)
	}
	awaitNoWorker(t)
	if n := goroutinesIn("net/http."); n != 0 {
		t.Errorf("%d goroutines of the exporter's HTTP client left", n)
	}
	p.Shutdown(context.Background())
}

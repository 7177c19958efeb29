package batch

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"weft/internal/env"
	"weft/internal/trace"
)

// fakeExporter records batches; block, when set, holds every export until
// closed.
type fakeExporter struct {
	mu      sync.Mutex
	batches [][]*trace.Span
	err     error
	block   chan struct{}
	closing bool
	calls   chan int
}

func (f *fakeExporter) Export(ctx context.Context, spans []*trace.Span) error {
	if f.block != nil {
		select {
		case <-f.block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	f.mu.Lock()
	f.batches = append(f.batches, append([]*trace.Span(nil), spans...))
	f.mu.Unlock()
	if f.calls != nil {
		f.calls <- len(spans)
	}
	return f.err
}

func (f *fakeExporter) Closing() {
	f.mu.Lock()
	f.closing = true
	f.mu.Unlock()
}

func (f *fakeExporter) total() (spans, batches int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, b := range f.batches {
		spans += len(b)
	}
	return spans, len(f.batches)
}

func spans(n int) []*trace.Span {
	out := make([]*trace.Span, n)
	for i := range out {
		out[i] = &trace.Span{Name: "s"}
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
		select {
		case n := <-f.calls:
			if n != 10 {
				t.Errorf("batch of %d, want 10", n)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no export on full batch")
		}
	}
	st := p.Shutdown(ctxTimeout(t, 5*time.Second))
	if n, _ := f.total(); n != 25 || st != (Stats{}) {
		t.Errorf("exported %d, stats %+v", n, st)
	}
	if !f.closing {
		t.Error("exporter not told about closing")
	}
}

func TestScheduleDelay(t *testing.T) {
	f := &fakeExporter{calls: make(chan int, 10)}
	p := New(f, Config{ScheduleDelay: 20 * time.Millisecond, ExportTimeout: time.Second, MaxQueueSize: 100, MaxBatchSize: 50})
	p.OnEnd(&trace.Span{})
	select {
	case n := <-f.calls:
		if n != 1 {
			t.Errorf("batch of %d", n)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("schedule delay did not export")
	}
}

func TestQueueFullDropsAndNeverBlocks(t *testing.T) {
	f := &fakeExporter{block: make(chan struct{})}
	p := New(f, Config{ScheduleDelay: time.Millisecond, ExportTimeout: time.Minute, MaxQueueSize: 8, MaxBatchSize: 4})
	// The worker takes up to 4 spans into its batch and blocks exporting
	// them; the queue then holds 8 more. Everything else is dropped.
	start := time.Now()
	for _, s := range spans(1000) {
		p.OnEnd(s)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("OnEnd blocked: %v", d)
	}
	st := p.Stats()
	if st.Dropped < 1000-12 || st.Dropped > 1000-8 {
		t.Errorf("dropped %d", st.Dropped)
	}
	close(f.block)
	st = p.Shutdown(ctxTimeout(t, 5*time.Second))
	n, _ := f.total()
	if int64(n)+st.Dropped != 1000 || st.Failed != 0 || st.NotExported != 0 {
		t.Errorf("exported %d, stats %+v", n, st)
	}
	// After shutdown, spans are dropped.
	p.OnEnd(&trace.Span{})
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
	st := p.Shutdown(ctxTimeout(t, 5*time.Second))
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
	if st := p.Shutdown(ctxTimeout(t, 5*time.Second)); st.Failed != 2 {
		t.Errorf("stats %+v", st)
	}
}

func TestShutdownTimeoutCountsNotExported(t *testing.T) {
	f := &fakeExporter{block: make(chan struct{})}
	defer close(f.block)
	p := New(f, Config{ScheduleDelay: time.Millisecond, ExportTimeout: time.Minute, MaxQueueSize: 100, MaxBatchSize: 5})
	for _, s := range spans(20) {
		p.OnEnd(s)
	}
	start := time.Now()
	st := p.Shutdown(ctxTimeout(t, 100*time.Millisecond))
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("shutdown took %v", d)
	}
	if st.NotExported != 20 {
		t.Errorf("stats %+v", st)
	}
	// Second shutdown is a no-op.
	if st2 := p.Shutdown(context.Background()); st2.NotExported != 20 {
		t.Errorf("second shutdown %+v", st2)
	}
}

type panicky struct{}

func (panicky) Export(context.Context, []*trace.Span) error { panic("boom") }
func (panicky) Closing()                                    {}

func TestExporterPanicContained(t *testing.T) {
	p := New(panicky{}, Config{ScheduleDelay: time.Hour, ExportTimeout: time.Second, MaxQueueSize: 10, MaxBatchSize: 10})
	p.OnEnd(&trace.Span{})
	if st := p.Shutdown(ctxTimeout(t, 5*time.Second)); st.Failed != 1 || st.FailReason != "exporter panicked" {
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

func BenchmarkOnEnd(b *testing.B) {
	f := &fakeExporter{}
	p := New(f, Config{ScheduleDelay: time.Second, ExportTimeout: time.Second, MaxQueueSize: 2048, MaxBatchSize: 512})
	s := &trace.Span{}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		p.OnEnd(s)
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
		if !p.Flush(ctxTimeout(t, 5*time.Second)) {
			t.Fatal("flush")
		}
	}
	n, batches := f.total()
	if n != want || p.Stats().Dropped != 0 {
		t.Errorf("exported %d of %d in %d batches", n, want, batches)
	}
	seen := map[*trace.Span]bool{}
	for _, b := range f.batches {
		if len(b) > 3 {
			t.Errorf("batch of %d", len(b))
		}
		for _, s := range b {
			if seen[s] {
				t.Fatal("span exported twice")
			}
			seen[s] = true
		}
	}
}

// Package batch is the batch span processor: ended spans are encoded into
// a bounded queue of batches (End never blocks; a full queue drops and
// counts), a worker goroutine exports them when a batch is full or the
// schedule delay has passed, and Shutdown flushes what is left within a
// deadline.
//
// The worker exists only while there is something to export: an idle
// program has no goroutine of weft's (test suites that check for leaked
// goroutines, like go.uber.org/goleak, pass), and a timer, not a
// goroutine, waits out the delay.
package batch

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"weft/internal/env"
	"weft/internal/otlp"
	"weft/internal/trace"
)

// Exporter sends a batch of encoded spans. Export is called by one
// goroutine at a time, and must not keep the batch after it returns: the
// processor reuses it.
type Exporter interface {
	Export(ctx context.Context, spans *otlp.Batch) error
	// Closing tells the exporter that the program is exiting: it should
	// stop waiting to retry a collector that is down.
	Closing()
	// Idle tells the exporter that nothing is queued: it may close idle
	// connections (and the goroutines serving them).
	Idle()
}

// Config is the OTEL_BSP_* configuration.
type Config struct {
	ScheduleDelay time.Duration
	ExportTimeout time.Duration
	MaxQueueSize  int
	MaxBatchSize  int
}

// ConfigFromEnv reads OTEL_BSP_SCHEDULE_DELAY, OTEL_BSP_EXPORT_TIMEOUT,
// OTEL_BSP_MAX_QUEUE_SIZE and OTEL_BSP_MAX_EXPORT_BATCH_SIZE.
func ConfigFromEnv() Config {
	c := Config{
		ScheduleDelay: env.Millis(5000*time.Millisecond, "OTEL_BSP_SCHEDULE_DELAY"),
		ExportTimeout: env.Millis(30000*time.Millisecond, "OTEL_BSP_EXPORT_TIMEOUT"),
		MaxQueueSize:  env.Int("OTEL_BSP_MAX_QUEUE_SIZE", 2048),
		MaxBatchSize:  env.Int("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", 512),
	}
	return c.normalize()
}

func (c Config) normalize() Config {
	if c.ScheduleDelay <= 0 {
		c.ScheduleDelay = time.Millisecond
	}
	if c.ExportTimeout <= 0 {
		c.ExportTimeout = 30 * time.Second
	}
	if c.MaxQueueSize <= 0 {
		c.MaxQueueSize = 2048
	}
	if c.MaxBatchSize <= 0 {
		c.MaxBatchSize = 512
	}
	if c.MaxBatchSize > c.MaxQueueSize {
		c.MaxBatchSize = c.MaxQueueSize
	}
	return c
}

// Stats are the processor's losses, reported at exit.
type Stats struct {
	Dropped     int64  // queue full
	Failed      int64  // export failed
	FailReason  string // summary of the last export error
	NotExported int64  // still queued when the exit flush ran out of time
}

// Processor is the batch span processor. Ending a span encodes it (into
// a buffer its record keeps), copies the bytes into the batch being filled
// under a mutex, and recycles the record at once: a record then stays in
// cache for the next span instead of waiting for the export. A full batch
// joins the queue and starts a worker if none runs; partial batches wait
// for the schedule delay: a goroutine per span would cost more than the
// span.
type Processor struct {
	cfg Config
	exp Exporter

	mu      sync.Mutex
	cur     *otlp.Batch   // being filled; nil when empty
	full    []*otlp.Batch // full batches, oldest first
	free    []*otlp.Batch // exported batches, for reuse
	n       int           // spans in cur and full
	closed  bool
	working bool            // a worker runs
	all     bool            // the worker exports partial batches too
	timer   *time.Timer     // the schedule delay (made on first use)
	armed   bool            // timer set; every queued span is covered by it
	waiters []chan struct{} // flushes, told when the worker finishes

	inflight atomic.Int64 // spans taken by the worker, not yet accounted
	dropped  atomic.Int64
	failed   atomic.Int64
	reasonMu sync.Mutex
	reason   string

	closeOnce sync.Once
	done      atomic.Bool // shutdown finished (or timed out)
}

// New returns a processor exporting to exp; it starts no goroutine.
func New(exp Exporter, cfg Config) *Processor {
	return &Processor{cfg: cfg.normalize(), exp: exp}
}

// OnEnd queues a span and recycles its record; it never blocks. A full
// queue drops the span.
func (p *Processor) OnEnd(s *trace.Record) {
	s.Wire = otlp.AppendSpan(s.Wire[:0], s)
	queued, start := p.add(s.Scope, s.Wire)
	trace.Release(s)
	if !queued {
		p.dropped.Add(1)
	}
	if start {
		go p.work()
	}
}

// add copies an encoded span into the batch being filled and reports
// whether it was queued and whether the caller must start a worker.
func (p *Processor) add(scope string, span []byte) (queued, start bool) {
	p.mu.Lock()
	defer p.mu.Unlock() // a panic in Add must not leave the lock held
	if p.closed || p.n >= p.cfg.MaxQueueSize {
		return false, false
	}
	if !p.armed {
		p.armed = true
		if p.timer == nil {
			p.timer = time.AfterFunc(p.cfg.ScheduleDelay, p.tick)
		} else {
			p.timer.Reset(p.cfg.ScheduleDelay)
		}
	}
	b := p.cur
	if b == nil {
		if k := len(p.free); k > 0 {
			b = p.free[k-1]
			p.free = p.free[:k-1]
		} else {
			b = new(otlp.Batch)
		}
		p.cur = b
	}
	b.Add(scope, span)
	p.n++
	if b.Len() < p.cfg.MaxBatchSize {
		return true, false
	}
	p.full = append(p.full, b)
	p.cur = nil
	return true, p.startLocked()
}

// startLocked claims the worker's place: true when none runs and the
// caller must start one.
func (p *Processor) startLocked() bool {
	if p.working {
		return false
	}
	p.working = true
	return true
}

// tick runs when the schedule delay has passed since a span was queued to
// an unarmed timer: everything queued is exported.
func (p *Processor) tick() {
	p.mu.Lock()
	p.armed = false
	p.all = p.all || p.n > 0
	start := p.n > 0 && p.startLocked()
	p.mu.Unlock()
	if start {
		p.work() // (a timer's function runs on a goroutine of its own)
	}
}

// work exports until nothing is left to export, then tells the flushes
// waiting and leaves.
func (p *Processor) work() {
	for {
		p.mu.Lock()
		b := p.takeLocked(p.all)
		if b == nil {
			p.working, p.all = false, false
			waiters, empty := p.waiters, p.n == 0
			p.waiters = nil
			p.mu.Unlock()
			if empty {
				safeIdle(p.exp)
			}
			for _, w := range waiters {
				close(w)
			}
			return
		}
		p.mu.Unlock()
		p.export(b)
		p.recycle(b)
	}
}

// takeLocked removes the oldest full batch, or with partial the batch
// being filled when no batch is full; nil when there is none.
func (p *Processor) takeLocked(partial bool) *otlp.Batch {
	var b *otlp.Batch
	if len(p.full) > 0 {
		b = p.full[0]
		p.full[0] = nil
		p.full = p.full[1:]
	} else if partial && p.cur != nil {
		b, p.cur = p.cur, nil
	} else {
		return nil
	}
	p.n -= b.Len()
	p.inflight.Store(int64(b.Len())) // under the lock: Stats never misses them
	return b
}

// recycle keeps an exported batch for reuse, as many as the queue holds.
func (p *Processor) recycle(b *otlp.Batch) {
	b.Reset()
	p.mu.Lock()
	if len(p.free) <= p.cfg.MaxQueueSize/p.cfg.MaxBatchSize {
		p.free = append(p.free, b)
	}
	p.mu.Unlock()
}

func (p *Processor) queued() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n
}

func (p *Processor) export(batch *otlp.Batch) {
	ctx, cancel := context.WithTimeout(context.Background(), p.cfg.ExportTimeout)
	err := safeExport(ctx, p.exp, batch)
	cancel()
	if err != nil {
		n := int64(batch.Len())
		if pe, ok := err.(interface{ Lost() int64 }); ok && pe.Lost() > 0 && pe.Lost() < n {
			n = pe.Lost() // partial success: only some spans were refused
		}
		p.failed.Add(n)
		p.reasonMu.Lock()
		p.reason = err.Error()
		p.reasonMu.Unlock()
	}
	p.inflight.Store(0)
}

// safeExport turns an exporter panic into an error.
func safeExport(ctx context.Context, exp Exporter, batch *otlp.Batch) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = errPanic
		}
	}()
	return exp.Export(ctx, batch)
}

func safeIdle(exp Exporter) {
	defer func() { _ = recover() }()
	exp.Idle()
}

type constError string

func (e constError) Error() string { return string(e) }

const errPanic = constError("exporter panicked")

// Flush exports everything queued so far and waits until done or until ctx
// expires. It reports whether the flush completed.
func (p *Processor) Flush(ctx context.Context) bool {
	done := make(chan struct{})
	p.mu.Lock()
	p.waiters = append(p.waiters, done)
	p.all = true
	start := p.startLocked()
	p.mu.Unlock()
	if start {
		go p.work()
	}
	select {
	case <-done:
		return true
	case <-ctx.Done():
		return false
	}
}

// Shutdown stops accepting spans, tells the exporter to stop retrying a
// collector that is down, and flushes within ctx. It returns the final
// statistics. Only the first call does any work.
func (p *Processor) Shutdown(ctx context.Context) Stats {
	p.closeOnce.Do(func() {
		p.exp.Closing()
		p.Flush(ctx)
		p.mu.Lock()
		p.closed = true
		if p.timer != nil {
			p.timer.Stop()
		}
		p.mu.Unlock()
		p.done.Store(true)
	})
	return p.Stats()
}

// Stats returns the current loss counters.
func (p *Processor) Stats() Stats {
	p.reasonMu.Lock()
	reason := p.reason
	p.reasonMu.Unlock()
	st := Stats{Dropped: p.dropped.Load(), Failed: p.failed.Load(), FailReason: reason}
	if p.done.Load() {
		st.NotExported = int64(p.queued()) + p.inflight.Load()
	}
	return st
}

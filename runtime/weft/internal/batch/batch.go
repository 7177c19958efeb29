// Package batch is the batch span processor: ended spans go into a bounded
// queue (End never blocks; a full queue drops and counts), a background
// goroutine exports them in batches on a schedule, and Shutdown flushes what
// is left within a deadline.
package batch

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"weft/internal/env"
	"weft/internal/trace"
)

// Exporter sends a batch of spans. Export is only ever called from the
// processor's goroutine.
type Exporter interface {
	Export(ctx context.Context, spans []*trace.Span) error
	// Closing tells the exporter that the program is exiting: it should
	// stop waiting to retry a collector that is down.
	Closing()
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

// Processor is the batch span processor.
type Processor struct {
	cfg   Config
	exp   Exporter
	queue chan *trace.Span
	flush chan chan struct{}

	pending atomic.Int64 // accepted and not yet exported or lost
	dropped atomic.Int64
	failed  atomic.Int64
	mu      sync.Mutex
	reason  string

	closeOnce sync.Once
	closed    atomic.Bool
}

// New starts the processor's goroutine.
func New(exp Exporter, cfg Config) *Processor {
	cfg = cfg.normalize()
	p := &Processor{
		cfg:   cfg,
		exp:   exp,
		queue: make(chan *trace.Span, cfg.MaxQueueSize),
		flush: make(chan chan struct{}),
	}
	go p.run()
	return p
}

// OnEnd queues a span; it never blocks. A full queue drops the span.
func (p *Processor) OnEnd(s *trace.Span) {
	if p.closed.Load() {
		p.dropped.Add(1)
		return
	}
	p.pending.Add(1)
	select {
	case p.queue <- s:
	default:
		p.pending.Add(-1)
		p.dropped.Add(1)
	}
}

func (p *Processor) run() {
	tick := time.NewTicker(p.cfg.ScheduleDelay)
	defer tick.Stop()
	batch := make([]*trace.Span, 0, p.cfg.MaxBatchSize)
	for {
		select {
		case s := <-p.queue:
			batch = append(batch, s)
			if len(batch) >= p.cfg.MaxBatchSize {
				p.export(batch)
				batch = batch[:0]
			}
		case <-tick.C:
			if len(batch) > 0 {
				p.export(batch)
				batch = batch[:0]
			}
		case done := <-p.flush:
			for n := len(p.queue); n > 0; n-- {
				batch = append(batch, <-p.queue)
				if len(batch) >= p.cfg.MaxBatchSize {
					p.export(batch)
					batch = batch[:0]
				}
			}
			if len(batch) > 0 {
				p.export(batch)
				batch = batch[:0]
			}
			close(done)
		}
	}
}

func (p *Processor) export(batch []*trace.Span) {
	ctx, cancel := context.WithTimeout(context.Background(), p.cfg.ExportTimeout)
	err := safeExport(ctx, p.exp, batch)
	cancel()
	p.pending.Add(-int64(len(batch)))
	if err != nil {
		n := int64(len(batch))
		if pe, ok := err.(interface{ Lost() int64 }); ok && pe.Lost() > 0 && pe.Lost() < n {
			n = pe.Lost() // partial success: only some spans were refused
		}
		p.failed.Add(n)
		p.mu.Lock()
		p.reason = err.Error()
		p.mu.Unlock()
	}
	clear(batch) // let the spans be collected
}

// safeExport turns an exporter panic into an error.
func safeExport(ctx context.Context, exp Exporter, batch []*trace.Span) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = errPanic
		}
	}()
	return exp.Export(ctx, batch)
}

type constError string

func (e constError) Error() string { return string(e) }

const errPanic = constError("exporter panicked")

// Flush exports everything queued so far and waits until done or until ctx
// expires. It reports whether the flush completed.
func (p *Processor) Flush(ctx context.Context) bool {
	done := make(chan struct{})
	select {
	case p.flush <- done:
	case <-ctx.Done():
		return false
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
		p.closed.Store(true)
	})
	return p.Stats()
}

// Stats returns the current loss counters.
func (p *Processor) Stats() Stats {
	p.mu.Lock()
	reason := p.reason
	p.mu.Unlock()
	st := Stats{Dropped: p.dropped.Load(), Failed: p.failed.Load(), FailReason: reason}
	if p.closed.Load() {
		st.NotExported = p.pending.Load()
	}
	return st
}

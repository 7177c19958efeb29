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
// processor's goroutine, and must not keep the records after it returns:
// the processor recycles them (trace.Release).
type Exporter interface {
	Export(ctx context.Context, spans []*trace.Record) error
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

// Processor is the batch span processor. Ending a span only appends it to
// a mutex-guarded queue; the worker is woken when a full batch is waiting
// (or by its ticker), never once per span: waking a goroutine per span
// would cost more than the span itself.
type Processor struct {
	cfg   Config
	exp   Exporter
	kick  chan struct{} // a full batch is waiting (buffered, 1)
	flush chan chan struct{}

	mu     sync.Mutex
	ring   []*trace.Record // the queue: n spans from head, wrapping
	head   int
	n      int
	closed bool

	inflight atomic.Int64 // spans taken by the worker, not yet accounted
	dropped  atomic.Int64
	failed   atomic.Int64
	reasonMu sync.Mutex
	reason   string

	closeOnce sync.Once
	done      atomic.Bool // shutdown finished (or timed out)
}

// New starts the processor's goroutine.
func New(exp Exporter, cfg Config) *Processor {
	cfg = cfg.normalize()
	p := &Processor{
		cfg:   cfg,
		exp:   exp,
		kick:  make(chan struct{}, 1),
		flush: make(chan chan struct{}),
		ring:  make([]*trace.Record, cfg.MaxQueueSize),
	}
	go p.run()
	return p
}

// OnEnd queues a span; it never blocks. A full queue drops the span.
func (p *Processor) OnEnd(s *trace.Record) {
	p.mu.Lock()
	if p.closed || p.n == len(p.ring) {
		p.mu.Unlock()
		p.dropped.Add(1)
		trace.Release(s)
		return
	}
	i := p.head + p.n
	if i >= len(p.ring) {
		i -= len(p.ring)
	}
	p.ring[i] = s
	p.n++
	n := p.n
	p.mu.Unlock()
	if n == p.cfg.MaxBatchSize {
		select {
		case p.kick <- struct{}{}:
		default:
		}
	}
}

// take moves up to MaxBatchSize queued spans into batch.
func (p *Processor) take(batch []*trace.Record) []*trace.Record {
	batch = batch[:0]
	p.mu.Lock()
	n := min(p.n, p.cfg.MaxBatchSize)
	for k := n; k > 0; {
		chunk := p.ring[p.head:min(p.head+k, len(p.ring))]
		batch = append(batch, chunk...)
		clear(chunk)
		k -= len(chunk)
		p.head += len(chunk)
		if p.head == len(p.ring) {
			p.head = 0
		}
	}
	p.n -= n
	p.inflight.Store(int64(n)) // under the lock: Stats never misses them
	p.mu.Unlock()
	return batch
}

func (p *Processor) queued() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n
}

func (p *Processor) run() {
	tick := time.NewTicker(p.cfg.ScheduleDelay)
	defer tick.Stop()
	batch := make([]*trace.Record, 0, p.cfg.MaxBatchSize)
	for {
		var done chan struct{}
		all := false
		select {
		case <-tick.C:
			all = true // export everything that waited a full delay
		case <-p.kick:
		case done = <-p.flush:
			all = true
		}
		// Woken for a full batch, a partial one waits for the tick.
		for all || p.queued() >= p.cfg.MaxBatchSize {
			batch = p.take(batch)
			if len(batch) == 0 {
				break
			}
			p.export(batch)
		}
		if done != nil {
			close(done)
		}
	}
}

func (p *Processor) export(batch []*trace.Record) {
	ctx, cancel := context.WithTimeout(context.Background(), p.cfg.ExportTimeout)
	err := safeExport(ctx, p.exp, batch)
	cancel()
	if err != nil {
		n := int64(len(batch))
		if pe, ok := err.(interface{ Lost() int64 }); ok && pe.Lost() > 0 && pe.Lost() < n {
			n = pe.Lost() // partial success: only some spans were refused
		}
		p.failed.Add(n)
		p.reasonMu.Lock()
		p.reason = err.Error()
		p.reasonMu.Unlock()
	}
	p.inflight.Store(0)
	for _, s := range batch {
		trace.Release(s)
	}
	clear(batch)
}

// safeExport turns an exporter panic into an error.
func safeExport(ctx context.Context, exp Exporter, batch []*trace.Record) (err error) {
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
		p.mu.Lock()
		p.closed = true
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

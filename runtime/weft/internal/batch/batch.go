// Package batch is the batch span processor: ended spans are encoded into
// a bounded queue of batches (End never blocks; a full queue drops and
// counts), a worker goroutine exports them when a batch is full or the
// schedule delay has passed, and Shutdown flushes what is left within a
// deadline.
//
// The worker exists only while there is something to export: an idle
// program has no goroutine of weft's (test suites that check for leaked
// goroutines, like go.uber.org/goleak, pass). Timers, not goroutines, wait
// out the schedule delay and the backoff before retrying a batch the
// collector could not take.
package batch

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"weft/internal/env"
	"weft/internal/otlp"
	"weft/internal/trace"
)

// Exporter sends a batch of encoded spans, once. Export is called by one
// goroutine at a time, and must not keep the batch after it returns: the
// processor reuses it, or retries it when the error has a method
// RetryAfter() (time.Duration, bool) that reports true (with the wait the
// collector asked for, or 0).
type Exporter interface {
	Export(ctx context.Context, spans *otlp.Batch) error
	// Closing tells the exporter that the program is exiting: it should
	// stop waiting to retry a collector that is down.
	Closing()
	// Idle tells the exporter that nothing is queued: it may close idle
	// connections (and the goroutines serving them).
	Idle()
}

// Backoff bounds between retries of a batch; tests shorten them.
var (
	initialBackoff = 100 * time.Millisecond
	maxBackoff     = 5 * time.Second
)

// Config is the OTEL_BSP_* configuration.
type Config struct {
	ScheduleDelay time.Duration
	ExportTimeout time.Duration // per batch, retries included
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
	waiting bool            // the oldest batch waits to be retried; no worker runs
	retry   *time.Timer     // ends that wait
	all     bool            // the worker exports partial batches too
	timer   *time.Timer     // the schedule delay
	armed   bool            // timer set; every queued span is covered by it
	kick    *time.Timer     // starts the worker for a full batch
	waiters []chan struct{} // flushes, told when the worker finishes

	// The oldest batch's attempts; used by the worker only.
	firstTry time.Time // zero: not tried yet
	backoff  time.Duration

	inflight atomic.Int64 // spans taken by the worker, not yet accounted
	dropped  atomic.Int64
	failed   atomic.Int64
	reasonMu sync.Mutex
	reason   string

	closeOnce sync.Once
	done      atomic.Bool // shutdown finished (or timed out)
}

// New returns a processor exporting to exp; it starts no goroutine.
//
// Its timers are made here (at weft/rt's init) and the worker is started
// only by them or by a flush, never by a goroutine ending a span: in a
// testing/synctest bubble (Go 1.25+), a timer made there runs on the
// bubble's fake clock, and the exit flush, outside, may not stop it (a
// fatal error); a goroutine started there belongs to the bubble; and a
// timer reset there is set by the fake clock. So a span ended in a bubble
// is only queued: the next one ended outside, or the flush, exports it.
func New(exp Exporter, cfg Config) *Processor {
	p := &Processor{cfg: cfg.normalize(), exp: exp}
	p.timer = time.AfterFunc(time.Hour, p.tick)
	p.timer.Stop()
	p.kick = time.AfterFunc(time.Hour, p.work) // (a timer's function runs on a goroutine of its own)
	p.kick.Stop()
	p.retry = time.AfterFunc(time.Hour, p.resume)
	p.retry.Stop()
	return p
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
		p.kick.Reset(0)
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
	if !p.armed && !inBubble() {
		p.armed = true
		p.timer.Reset(p.cfg.ScheduleDelay)
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
	return true, !inBubble() && p.startLocked()
}

// inBubble reports whether the calling goroutine runs in a testing/synctest
// bubble, where time.Now has no monotonic reading (its clock is the
// bubble's). Asked only when arming the timer or starting the worker.
func inBubble() bool {
	t := time.Now()
	return t == t.Round(0)
}

// startLocked claims the worker's place: true when none runs (nor waits
// to retry) and the caller must start one.
func (p *Processor) startLocked() bool {
	if p.working || p.waiting {
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
// waiting and leaves. A batch to retry goes back to the head of the queue
// and the worker leaves until the retry timer starts another.
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
		if p.firstTry.IsZero() {
			p.firstTry = time.Now()
		}
		err := p.export(b)
		if wait, ok := p.retryWait(err); ok {
			p.requeue(b, wait)
			safeIdle(p.exp) // no connection is kept open through the wait
			return
		}
		p.firstTry, p.backoff = time.Time{}, 0
		p.account(b, err)
		p.recycle(b)
	}
}

// retryWait reports whether a failed export is retried, and after how
// long: the collector's wait, or an exponential backoff with jitter, if
// the retry can start within the batch's export timeout.
func (p *Processor) retryWait(err error) (time.Duration, bool) {
	r, ok := err.(interface{ RetryAfter() (time.Duration, bool) })
	if !ok {
		return 0, false
	}
	wait, retry := r.RetryAfter()
	if !retry {
		return 0, false
	}
	if wait <= 0 {
		if p.backoff == 0 {
			p.backoff = initialBackoff
		}
		wait = p.backoff/2 + rand.N(p.backoff)
		p.backoff = min(2*p.backoff, maxBackoff)
	}
	if time.Since(p.firstTry)+wait >= p.cfg.ExportTimeout {
		return 0, false
	}
	return wait, true
}

// requeue puts a batch back at the head of the queue and arms the retry
// timer; the worker then leaves.
func (p *Processor) requeue(b *otlp.Batch, wait time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.full = append(p.full, nil)
	copy(p.full[1:], p.full)
	p.full[0] = b
	p.n += b.Len()
	p.inflight.Store(0)
	p.working, p.waiting = false, true
	p.retry.Reset(wait)
}

// resume ends a retry wait: the worker starts again with the oldest batch.
func (p *Processor) resume() {
	p.mu.Lock()
	start := p.waiting
	p.waiting = false
	if start {
		start = p.startLocked()
	}
	p.mu.Unlock()
	if start {
		p.work()
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

// export makes one attempt, within what is left of the batch's export
// timeout.
func (p *Processor) export(batch *otlp.Batch) error {
	ctx, cancel := context.WithDeadline(context.Background(), p.firstTry.Add(p.cfg.ExportTimeout))
	defer cancel()
	return safeExport(ctx, p.exp, batch)
}

// account counts a batch's spans lost when its export failed for good.
func (p *Processor) account(batch *otlp.Batch, err error) {
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
	if start && inBubble() {
		p.work() // the kick's reset would be set by the bubble's clock
	} else if start {
		p.kick.Reset(0)
	}
	select {
	case <-done:
		return true
	case <-ctx.Done():
		return false
	}
}

// Shutdown stops accepting spans, tells the exporter to stop retrying a
// collector that is down, and flushes within ctx: a batch waiting to be
// retried gets its attempt now. It returns the final statistics. Only the
// first call does any work.
func (p *Processor) Shutdown(ctx context.Context) Stats {
	p.closeOnce.Do(func() {
		p.exp.Closing()
		p.mu.Lock()
		if p.waiting && p.retry.Stop() {
			p.waiting = false // (a timer that already fired resumes by itself)
		}
		p.mu.Unlock()
		p.Flush(ctx)
		p.mu.Lock()
		p.closed = true
		p.timer.Stop()
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

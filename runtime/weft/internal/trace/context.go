package trace

import (
	"context"
	"time"
)

// FlagSampled is the W3C trace-flags "sampled" bit.
const FlagSampled = 0x01

// SpanContext is what crosses process and goroutine boundaries: the ids,
// the trace flags and the trace state. It is immutable once stored in a
// context.
type SpanContext struct {
	TraceID    TraceID
	SpanID     SpanID
	Flags      byte
	Remote     bool   // extracted from an incoming request
	Suppressed bool   // set by Suppress: no span starts under it
	Foreign    bool   // another tracer's span (the OpenTelemetry API's), mirrored
	TraceState string // validated W3C tracestate, "" when none
}

// IsValid reports whether both ids are non-zero.
func (sc *SpanContext) IsValid() bool {
	return sc != nil && sc.TraceID.IsValid() && sc.SpanID.IsValid()
}

// Sampled reports whether the sampled flag is set.
func (sc *SpanContext) Sampled() bool { return sc.Flags&FlagSampled != 0 }

type spanKey struct{}

// selfKey asks a spanCtx for its *Span (ScopeOf).
type selfKey struct{}

// FromContext returns the span context stored in ctx, or nil.
func FromContext(ctx context.Context) *SpanContext {
	switch c := ctx.(type) {
	case nil:
		return nil
	case *spanCtx:
		return &c.SC
	case *scCtx:
		return &c.sc
	}
	sc, _ := ctx.Value(spanKey{}).(*SpanContext)
	return sc
}

// WithSpanContext returns a child of ctx (nil: Background) carrying a copy
// of sc.
func WithSpanContext(ctx context.Context, sc *SpanContext) context.Context {
	if ctx == nil {
		ctx = context.Background()
	}
	return &scCtx{parent: ctx, sc: *sc}
}

// scCtx carries a span context that is not a recording span (remote,
// unsampled or suppressed). Like spanCtx, it is what context.WithValue
// would build, minus an allocation and the reflection check.
type scCtx struct {
	parent context.Context
	sc     SpanContext
}

func (c *scCtx) Deadline() (time.Time, bool) { return c.parent.Deadline() }
func (c *scCtx) Done() <-chan struct{}       { return c.parent.Done() }
func (c *scCtx) Err() error                  { return c.parent.Err() }
func (c *scCtx) String() string              { return contextName(c.parent) + ".WithSpanContext" }
func (c *scCtx) Value(key any) any {
	if _, ok := key.(spanKey); ok {
		return &c.sc
	}
	return c.parent.Value(key)
}

// spanCtx is a recording span seen as the context.Context that carries it,
// so starting a span costs a single allocation. Deadline, cancellation and
// other values come from the parent; context.WithCancel on it still finds
// the parent's cancelCtx (Value and Done delegate), so no goroutine is
// spawned.
type spanCtx Span

func (c *spanCtx) Deadline() (time.Time, bool) { return c.parent.Deadline() }
func (c *spanCtx) Done() <-chan struct{}       { return c.parent.Done() }
func (c *spanCtx) Err() error                  { return c.parent.Err() }
func (c *spanCtx) String() string              { return contextName(c.parent) + ".WithSpan" }
func (c *spanCtx) Value(key any) any {
	switch key.(type) {
	case spanKey:
		return &c.SC
	case selfKey:
		return (*Span)(c)
	}
	return c.parent.Value(key)
}

// Context returns the context carrying s (the one Start returned).
func (s *Span) Context() context.Context { return (*spanCtx)(s) }

// SpanOf returns the span when ctx is exactly a span's own context (what
// Start returned for it), else nil.
func SpanOf(ctx context.Context) *Span {
	if c, ok := ctx.(*spanCtx); ok {
		return (*Span)(c)
	}
	return nil
}

// ScopeOf returns the instrumentation scope of the span that is ctx's
// current span, when that is a recording span of this tracer that has not
// ended; else "".
func ScopeOf(ctx context.Context) string {
	if ctx == nil {
		return ""
	}
	s, _ := ctx.Value(selfKey{}).(*Span)
	if s == nil || FromContext(ctx) != &s.SC {
		return "" // none, or a newer foreign, remote or suppressed one
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rec == nil {
		return ""
	}
	return s.rec.Scope
}

func contextName(c context.Context) string {
	if s, ok := c.(interface{ String() string }); ok {
		return s.String()
	}
	return "context"
}

// suppressed is the shared marker for contexts without any current span.
var suppressed = &SpanContext{Suppressed: true}

// Suppress marks ctx so that no span starts under it, keeping the
// current trace (if any) so that nothing downstream is confused.
func Suppress(ctx context.Context) context.Context {
	cur := FromContext(ctx)
	if cur != nil && cur.Suppressed {
		return ctx
	}
	if cur == nil {
		return WithSpanContext(ctx, suppressed)
	}
	c := *cur
	c.Suppressed = true
	return WithSpanContext(ctx, &c)
}

// IsSuppressed reports whether ctx was marked by Suppress.
func IsSuppressed(ctx context.Context) bool {
	sc := FromContext(ctx)
	return sc != nil && sc.Suppressed
}

package trace

import "context"

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
	TraceState string // validated W3C tracestate, "" when none
}

// IsValid reports whether both ids are non-zero.
func (sc *SpanContext) IsValid() bool {
	return sc != nil && sc.TraceID.IsValid() && sc.SpanID.IsValid()
}

// Sampled reports whether the sampled flag is set.
func (sc *SpanContext) Sampled() bool { return sc.Flags&FlagSampled != 0 }

type spanKey struct{}

// FromContext returns the span context stored in ctx, or nil.
func FromContext(ctx context.Context) *SpanContext {
	if ctx == nil {
		return nil
	}
	sc, _ := ctx.Value(spanKey{}).(*SpanContext)
	return sc
}

// WithSpanContext returns a child of ctx carrying sc (ctx may be nil).
func WithSpanContext(ctx context.Context, sc *SpanContext) context.Context {
	if ctx == nil {
		ctx = context.Background()
	}
	return context.WithValue(ctx, spanKey{}, sc)
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

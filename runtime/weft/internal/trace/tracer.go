package trace

import (
	"context"

	"weft/internal/env"
)

// Processor receives the records of ended, sampled spans. OnEnd must
// never block.
type Processor interface {
	OnEnd(*Record)
}

// Limits are the span limits from OTEL_SPAN_ATTRIBUTE_*_LIMIT.
type Limits struct {
	AttrCount       int // default 128
	AttrValueLength int // 0: unlimited
}

// LimitsFromEnv reads OTEL_(SPAN_)ATTRIBUTE_COUNT_LIMIT and
// OTEL_(SPAN_)ATTRIBUTE_VALUE_LENGTH_LIMIT.
func LimitsFromEnv() Limits {
	l := Limits{AttrCount: 128}
	for _, n := range []string{"OTEL_ATTRIBUTE_COUNT_LIMIT", "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT"} {
		l.AttrCount = env.Int(n, l.AttrCount)
	}
	for _, n := range []string{"OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT"} {
		l.AttrValueLength = env.Int(n, l.AttrValueLength)
	}
	return l
}

// flagRandom is W3C Trace Context Level 2's "random trace-id" flag: kept
// from the parent since the trace id is the parent's.
const flagRandom = 0x02

// Tracer starts spans.
type Tracer struct {
	Sampler   Sampler
	Processor Processor
	Limits    Limits
}

// Start begins a span as a child of the span context in ctx (local or
// remote) or as a root. It returns the context carrying the new span
// context and the span when it is sampled, nil otherwise. Under a
// suppressed context it returns (ctx, nil) unchanged.
func (t *Tracer) Start(ctx context.Context, scope, name string, kind int) (context.Context, *Span) {
	return t.StartFrom(ctx, FromContext(ctx), scope, name, kind)
}

// StartFrom is Start with the parent given (nil for a root): the returned
// context is still a child of ctx, carrying ctx's values and deadline.
// weft/rt uses it to parent a span on the goroutine's current span when ctx
// carries none, without an extra context allocation.
func (t *Tracer) StartFrom(ctx context.Context, parent *SpanContext, scope, name string, kind int) (context.Context, *Span) {
	if ctx == nil {
		ctx = context.Background()
	}
	if parent != nil && parent.Suppressed {
		return ctx, nil
	}
	if !parent.IsValid() {
		parent = nil
	}
	var tid TraceID
	var state string
	var flags byte
	if parent != nil {
		tid, state, flags = parent.TraceID, parent.TraceState, parent.Flags&flagRandom
	} else {
		tid = newTraceID()
	}
	if !t.Sampler.ShouldSample(parent, tid) {
		return &scCtx{parent: ctx, sc: SpanContext{TraceID: tid, SpanID: newSpanID(), Flags: flags, TraceState: state}}, nil
	}
	if kind < KindInternal || kind > KindConsumer {
		kind = KindInternal
	}
	s := &Span{
		parent: ctx,
		SC:     SpanContext{TraceID: tid, SpanID: newSpanID(), Flags: flags | FlagSampled, TraceState: state},
		tracer: t,
	}
	r := records.Get().(*Record)
	r.SC, r.Kind, r.Scope, r.Name = s.SC, int8(kind), scope, name
	if parent != nil {
		r.Parent, r.ParentRemote = parent.SpanID, parent.Remote
	}
	r.startMono = mono()
	r.start = unixNano(r.startMono)
	s.rec = r
	return (*spanCtx)(s), s
}

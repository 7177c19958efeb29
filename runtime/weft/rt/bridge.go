package rt

import (
	"context"
	_ "unsafe" // for go:linkname

	"weft/internal/trace"
)

// The bridge to the OpenTelemetry Go API (rules/otel), for programs that
// also trace with it: its ContextWithSpan mirrors each span it puts in a
// ctx into weft's slot too (WithForeignSpan), so weft's slot always holds
// the newer of the two tracers' spans and weft's spans parent on it; its
// SpanContextFromContext, when it finds no span of its own, asks weft
// (SpanContextOf) for weft's. One trace.
//
// Both run for every span the API starts, so they skip the deferred
// recover of the other entry points: they only read contexts and
// allocate, and the rule's hooks recover themselves.

// SpanContextOf returns the span context of weft's own span in ctx (else
// of the goroutine's current span), for the other tracer to see as its
// current span. ok is false when there is none, or when what weft holds
// is a remote parent, a suppressed context or a mirror of the other
// tracer's span: that tracer's own answer stands then.
//
//go:linkname SpanContextOf
func SpanContextOf(ctx context.Context) (traceID [16]byte, spanID [8]byte, flags byte, state string, ok bool) {
	if active.Load() == nil {
		return
	}
	sc := parentOf(ctx)
	if !sc.IsValid() || sc.Remote || sc.Suppressed || sc.Foreign {
		return
	}
	return sc.TraceID, sc.SpanID, sc.Flags, sc.TraceState, true
}

// WithForeignSpan returns ctx carrying, for weft, the other tracer's span
// context just put in it: weft's spans started under it are its children.
// ctx is returned as it is when the span is weft's own (handed over by
// SpanContextOf), or a remote parent of weft's span in ctx (the other
// tracer extracted the same incoming request's header weft did).
//
//go:linkname WithForeignSpan
func WithForeignSpan(ctx context.Context, traceID [16]byte, spanID [8]byte, flags byte, state string, remote bool) context.Context {
	if active.Load() == nil || ctx == nil {
		return ctx
	}
	sc := trace.SpanContext{TraceID: traceID, SpanID: spanID, Flags: flags, TraceState: state, Remote: remote, Foreign: true}
	if !sc.IsValid() {
		return ctx
	}
	if cur := trace.FromContext(ctx); cur != nil && !cur.Foreign && !cur.Remote && cur.TraceID == sc.TraceID {
		if cur.SpanID == sc.SpanID || remote {
			return ctx
		}
	}
	return trace.WithSpanContext(ctx, &sc)
}

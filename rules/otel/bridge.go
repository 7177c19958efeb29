// The bridge between weft and the OpenTelemetry Go API, woven into
// go.opentelemetry.io/otel/trace (weft/rt's bridge.go has the design). A
// span the API puts in a ctx is mirrored into weft's slot, so weft's spans
// are its children. Where the API finds no span of its own, its current
// span context is weft's; where it finds one, that answer stands, so code
// traced with the API sees what it saw without weft.

package trace

import "context"

func weftContextWithSpanBefore(_ *context.Context, span *Span) (sc SpanContext, ok bool) {
	defer func() { _ = recover() }()
	if *span == nil || !weftEnabled() {
		return sc, false
	}
	sc = (*span).SpanContext()
	return sc, sc.IsValid()
}

func weftContextWithSpanAfter(sc SpanContext, ctx *context.Context) {
	defer func() { _ = recover() }()
	if *ctx != nil {
		*ctx = weftWithForeignSpan(*ctx, [16]byte(sc.TraceID()), [8]byte(sc.SpanID()), byte(sc.TraceFlags()), sc.TraceState().String(), sc.IsRemote())
	}
}

// weftSpanContextBefore decides for SpanContextFromContext (the SDK's
// parent lookup, and the propagators'): when the API finds no valid span
// of its own in ctx and weft has one, ok, and the after part returns
// weft's. Deciding here keeps the usual case (the API has its span) to one
// lookup, with no deferred call. SpanFromContext is left alone: code that
// takes a span's TracerProvider (otelhttp's handler does) must not get
// the no-op one of a span weft made up.
func weftSpanContextBefore(ctx *context.Context) (weft SpanContext, ok bool) {
	defer func() { _ = recover() }()
	c := *ctx
	if c != nil {
		if s, found := c.Value(currentSpanKey).(Span); found && s != nil && s.SpanContext().IsValid() {
			return weft, false // the API's own span stands: what it sees never changes
		}
	}
	if !weftEnabled() {
		return weft, false
	}
	tid, sid, flags, state, has := weftSpanContextOf(c)
	if !has {
		return weft, false
	}
	cfg := SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: TraceFlags(flags)}
	if state != "" {
		if ts, err := ParseTraceState(state); err == nil {
			cfg.TraceState = ts
		}
	}
	return NewSpanContext(cfg), true
}

func weftSpanContextAfter(weft SpanContext, sc *SpanContext) { *sc = weft }

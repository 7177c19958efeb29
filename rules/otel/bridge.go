// The bridge between weft and the OpenTelemetry Go API, woven into
// go.opentelemetry.io/otel/trace (weft/rt's bridge.go has the design). A
// span the API puts in a ctx is mirrored into weft's slot, so weft's spans
// are its children. Where the API finds no span of its own, its current
// span is weft's, as a nonRecordingSpan (what ContextWithSpanContext
// stores); where it finds one, that answer stands, so code traced with
// the API sees what it saw without weft.

package trace

import "context"

func weftContextWithSpanBefore(_ *context.Context, span *Span) (Span, bool) {
	return *span, *span != nil && weftEnabled()
}

func weftContextWithSpanAfter(span Span, ctx *context.Context) {
	defer func() { _ = recover() }()
	sc := span.SpanContext()
	if !sc.IsValid() || *ctx == nil {
		return
	}
	*ctx = weftWithForeignSpan(*ctx, [16]byte(sc.TraceID()), [8]byte(sc.SpanID()), byte(sc.TraceFlags()), sc.TraceState().String(), sc.IsRemote())
}

func weftSpanFromContextBefore(ctx *context.Context) (context.Context, bool) {
	return *ctx, weftEnabled()
}

func weftSpanFromContextAfter(ctx context.Context, span *Span) {
	defer func() { _ = recover() }()
	if *span != nil && (*span).SpanContext().IsValid() {
		return // the API's own span stands: what it sees never changes
	}
	tid, sid, flags, state, ok := weftSpanContextOf(ctx)
	if !ok {
		return
	}
	cfg := SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: TraceFlags(flags)}
	if state != "" {
		if ts, err := ParseTraceState(state); err == nil {
			cfg.TraceState = ts
		}
	}
	*span = nonRecordingSpan{sc: NewSpanContext(cfg)}
}

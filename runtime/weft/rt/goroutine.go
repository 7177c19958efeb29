package rt

import (
	"context"
	"encoding/hex"
	"unsafe"

	"weft/internal/trace"
)

// Goroutine-local context. The runtime package is woven (rules/goroutine):
// each g has a slot, copied to goroutines it starts. Enter sets it (see
// load for what it holds); weft/rt is its only reader and writer.

//go:linkname goroutineCtx runtime.weftGoroutineCtx
func goroutineCtx() unsafe.Pointer

//go:linkname setGoroutineCtx runtime.weftSetGoroutineCtx
func setGoroutineCtx(p unsafe.Pointer)

type current struct {
	ctx context.Context
	sc  *trace.SpanContext // the span context of ctx, or nil
}

// The slot holds either a *current or, when the entered ctx is a recording
// span's own context (the server hooks' case), the *trace.Span itself plus
// one byte: a pointer into the span that keeps it alive, and no
// allocation per request. Spans are 8-byte aligned, so the low bit tells
// the two apart.
func load() (ctx context.Context, sc *trace.SpanContext) {
	p := goroutineCtx()
	if p == nil {
		return nil, nil
	}
	if uintptr(p)&1 != 0 {
		s := (*trace.Span)(unsafe.Add(p, -1))
		return s.Context(), &s.SC
	}
	c := (*current)(p)
	return c.ctx, c.sc
}

// Enter makes ctx the goroutine's current context and returns the previous
// one, for Leave. Goroutines started from now on inherit it.
//
//go:linkname Enter
func Enter(ctx context.Context) unsafe.Pointer {
	prev := goroutineCtx()
	switch s := trace.SpanOf(ctx); {
	case ctx == nil:
		setGoroutineCtx(nil)
	case s != nil:
		setGoroutineCtx(unsafe.Add(unsafe.Pointer(s), 1))
	default:
		setGoroutineCtx(unsafe.Pointer(&current{ctx: ctx, sc: trace.FromContext(ctx)}))
	}
	return prev
}

// EnterSpan is Enter for a ctx that carries a span context of its own,
// other than the goroutine's current one; otherwise it enters nothing and
// ok is false. Hooks on calls that take a ctx (redigo's DoContext, nats's
// RequestWithContext) use it: a ctx without a span (context.Background)
// then never hides the goroutine's span.
//
//go:linkname EnterSpan
func EnterSpan(ctx context.Context) (prev unsafe.Pointer, ok bool) {
	defer recoverHook()
	sc := trace.FromContext(ctx)
	if !sc.IsValid() || sc.Suppressed {
		return nil, false
	}
	if _, cur := load(); cur.IsValid() && cur.TraceID == sc.TraceID && cur.SpanID == sc.SpanID {
		return nil, false
	}
	return Enter(ctx), true
}

// Leave restores what Enter replaced.
//
//go:linkname Leave
func Leave(prev unsafe.Pointer) {
	setGoroutineCtx(prev)
}

// Current returns the goroutine's current context, or nil.
//
//go:linkname Current
func Current() context.Context {
	ctx, _ := load()
	return ctx
}

// parentOf is the span context a new span under ctx gets: ctx's own, else
// the goroutine's current one (an explicit ctx with a span always wins).
func parentOf(ctx context.Context) *trace.SpanContext {
	if sc := trace.FromContext(ctx); sc != nil {
		return sc
	}
	_, sc := load()
	return sc
}

// TraceIDs returns the hex trace and span ids of the span in ctx, else of
// the goroutine's current span; empty strings when there is none.
//
//go:linkname TraceIDs
func TraceIDs(ctx context.Context) (traceID, spanID string) {
	defer recoverHook()
	sc := parentOf(ctx)
	if !sc.IsValid() || sc.Suppressed {
		return "", ""
	}
	// Both in one allocation: log lines call this once each.
	var b [48]byte
	hex.Encode(b[:32], sc.TraceID[:])
	hex.Encode(b[32:], sc.SpanID[:])
	s := string(b[:])
	return s[:32], s[32:]
}

package rt

import (
	"context"
	"encoding/hex"
	"unsafe"

	"weft/internal/trace"
)

// Goroutine-local context. The runtime package is woven (rules/goroutine):
// each g has a slot, copied to goroutines it starts. The slot holds a
// *current set by Enter; weft/rt is its only reader and writer.

//go:linkname goroutineCtx runtime.weftGoroutineCtx
func goroutineCtx() unsafe.Pointer

//go:linkname setGoroutineCtx runtime.weftSetGoroutineCtx
func setGoroutineCtx(p unsafe.Pointer)

type current struct {
	ctx context.Context
	sc  *trace.SpanContext // the span context of ctx, or nil
}

// Enter makes ctx the goroutine's current context and returns the previous
// one, for Leave. Goroutines started from now on inherit it.
//
//go:linkname Enter
func Enter(ctx context.Context) unsafe.Pointer {
	prev := goroutineCtx()
	if ctx == nil {
		setGoroutineCtx(nil)
		return prev
	}
	setGoroutineCtx(unsafe.Pointer(&current{ctx: ctx, sc: trace.FromContext(ctx)}))
	return prev
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
	if c := (*current)(goroutineCtx()); c != nil {
		return c.ctx
	}
	return nil
}

// parentOf is the span context a new span under ctx gets: ctx's own, else
// the goroutine's current one (an explicit ctx with a span always wins).
func parentOf(ctx context.Context) *trace.SpanContext {
	if sc := trace.FromContext(ctx); sc != nil {
		return sc
	}
	if c := (*current)(goroutineCtx()); c != nil {
		return c.sc
	}
	return nil
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

package rt

import (
	"context"
	"testing"

	"weft/internal/trace"
)

func TestBridge(t *testing.T) {
	exp, _ := install(t, nil)
	foreign := trace.SpanContext{TraceID: trace.TraceID{1}, SpanID: trace.SpanID{2}, Flags: 1}

	// The other tracer's span, mirrored: weft's spans are its children, and
	// weft does not hand it back as its own.
	ctx := WithForeignSpan(context.Background(), foreign.TraceID, foreign.SpanID, 1, "k=v", false)
	if _, _, _, _, ok := SpanContextOf(ctx); ok {
		t.Error("a mirrored span handed back as weft's")
	}
	cctx, sp := StartSpan(ctx, "test", "child", 3)
	End(sp)
	recs := exp.get()
	if len(recs) != 1 || recs[0].SC.TraceID != foreign.TraceID || recs[0].Parent != foreign.SpanID || recs[0].ParentRemote || recs[0].SC.TraceState != "k=v" {
		t.Fatalf("child of a mirrored span: %+v", recs)
	}

	// weft's span, newer than the mirror: handed over.
	tid, sid, flags, state, ok := SpanContextOf(cctx)
	if !ok || tid != recs[0].SC.TraceID || sid != recs[0].SC.SpanID || flags&1 == 0 || state != "k=v" {
		t.Errorf("SpanContextOf = %x %x %d %q %v", tid, sid, flags, state, ok)
	}
	// Handed back by the other tracer (its ContextWithSpanContext): no mirror.
	if again := WithForeignSpan(cctx, tid, sid, flags, state, false); again != cctx {
		t.Error("weft's own span mirrored")
	}
	// A remote parent of weft's span (the other tracer extracted the same
	// header): weft's span stays current.
	if again := WithForeignSpan(cctx, tid, trace.SpanID{9}, flags, "", true); again != cctx {
		t.Error("the remote parent of weft's span hid it")
	}
	// A remote span of another trace is mirrored.
	if other := WithForeignSpan(cctx, trace.TraceID{7}, trace.SpanID{9}, 1, "", true); other == cctx || trace.FromContext(other).SpanID != (trace.SpanID{9}) {
		t.Error("a remote span of another trace not mirrored")
	}

	// Remote and suppressed contexts are not weft's spans.
	remote := Extract(context.Background(), map[string][]string{"Traceparent": {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}})
	if _, _, _, _, ok := SpanContextOf(remote); ok {
		t.Error("a remote parent handed over")
	}
	if _, _, _, _, ok := SpanContextOf(Suppress(cctx)); ok {
		t.Error("a suppressed context handed over")
	}
	if c := WithForeignSpan(context.Background(), trace.TraceID{}, trace.SpanID{}, 0, "", false); trace.FromContext(c) != nil {
		t.Error("an invalid span context mirrored")
	}
}

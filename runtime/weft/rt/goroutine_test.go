package rt

import (
	"context"
	"testing"
	"unsafe"

	"weft/internal/trace"
)

// These tests need accessors that really store the slot. tests/run.sh links
// the no-op fallback (rules/goroutine/fallback.go) and they skip there; a
// mirror whose runtime stores the slot in a variable runs them.
func requireSlot(t *testing.T) {
	prev := Enter(context.Background())
	defer Leave(prev)
	if Current() == nil {
		t.Skip("runtime has the no-op goroutine accessors")
	}
}

// Server and consumer spans begin work from outside: a span the goroutine
// inherited is not their parent; a client span under it is its child.
func TestServerSpansIgnoreTheGoroutinesSpan(t *testing.T) {
	requireSlot(t)
	exp, st := install(t, nil)
	outer, sp := StartSpan(context.Background(), "x", "startup", 1)
	prev := Enter(outer)
	_, srv := StartSpan(context.Background(), "x", "server", 2)
	_, con := StartSpan(context.Background(), "x", "consumer", 5)
	_, cli := StartSpan(context.Background(), "x", "client", 3)
	Leave(prev)
	for _, s := range []unsafe.Pointer{srv, con, cli, sp} {
		End(s)
	}
	flush(t, st)
	if len(exp.get()) != 4 {
		t.Fatalf("%d spans", len(exp.get()))
	}
	for _, s := range []unsafe.Pointer{srv, con} {
		if r := exp.rec(s); r.Parent.IsValid() || r.SC.TraceID == exp.rec(sp).SC.TraceID {
			t.Errorf("%s is under the goroutine's span", r.Name)
		}
	}
	if exp.rec(cli).Parent != exp.rec(sp).SC.SpanID {
		t.Error("a client span lost the goroutine's parent")
	}
}

func TestEnterSpan(t *testing.T) {
	requireSlot(t)
	install(t, nil)
	if _, ok := EnterSpan(context.Background()); ok {
		t.Error("entered a ctx without a span")
	}
	sctx, sp := StartSpan(context.Background(), "x", "server", 2)
	defer End(sp)
	prev, ok := EnterSpan(sctx)
	if !ok || Current() != sctx {
		t.Fatal("did not enter a ctx with a span")
	}
	if _, ok := EnterSpan(sctx); ok {
		t.Error("entered the goroutine's own span again")
	}
	if _, ok := EnterSpan(context.Background()); ok || Current() != sctx {
		t.Error("a ctx without a span replaced the goroutine's")
	}
	Leave(prev)
}

func TestGoroutineParent(t *testing.T) {
	requireSlot(t)
	exp, st := install(t, nil)
	sctx, srv := StartSpan(context.Background(), "net/http", "GET /", 2)
	prev := Enter(sctx)
	if Current() != sctx {
		t.Fatal("Current is not the entered ctx")
	}
	tid, sid := TraceIDs(nil)
	if tid != (*trace.Span)(srv).SC.TraceID.String() || sid != (*trace.Span)(srv).SC.SpanID.String() {
		t.Errorf("TraceIDs = %s %s", tid, sid)
	}

	// No ctx, or a ctx without a span: the goroutine's span is the parent,
	// and the caller's ctx values are kept.
	type key struct{}
	vctx := context.WithValue(context.Background(), key{}, "v")
	c1, cli := StartSpan(vctx, "net/http", "GET", 3)
	_, cli2 := StartSpan(nil, "redis", "PING", 3)
	if c1.Value(key{}) != "v" {
		t.Error("caller's ctx values lost")
	}
	// An explicit ctx with a span wins.
	other, root := StartSpan(context.Background(), "x", "other", 1)
	Leave(prev)
	_, child := StartSpan(other, "x", "child", 1)
	if Current() != nil {
		t.Error("Leave did not restore")
	}
	// A suppressed current context suppresses, returning the caller's ctx.
	prev = Enter(Suppress(context.Background()))
	bg := context.Background()
	if c, sp := StartSpan(bg, "x", "y", 3); sp != nil || c != bg {
		t.Error("span under a suppressed goroutine context")
	}
	Leave(prev)
	End(cli)
	End(cli2)
	End(child)
	End(root)
	End(srv)
	flush(t, st)
	spans := exp.get()
	if len(spans) != 5 {
		t.Fatalf("%d spans", len(spans))
	}
	s := exp.rec(srv)
	for _, c := range []*trace.Record{exp.rec(cli), exp.rec(cli2)} {
		if c.SC.TraceID != s.SC.TraceID || c.Parent != s.SC.SpanID {
			t.Errorf("%s not a child of the goroutine's span", c.Name)
		}
	}
	if ch := exp.rec(child); ch.Parent != exp.rec(root).SC.SpanID {
		t.Error("explicit ctx did not win")
	}
}

func TestTraceIDsOfCtx(t *testing.T) {
	install(t, nil)
	ctx, sp := StartSpan(context.Background(), "x", "op", 1)
	defer End(sp)
	tid, sid := TraceIDs(ctx)
	s := (*trace.Span)(sp)
	if tid != s.SC.TraceID.String() || sid != s.SC.SpanID.String() || len(tid) != 32 || len(sid) != 16 {
		t.Errorf("TraceIDs = %q %q", tid, sid)
	}
	if tid, sid := TraceIDs(Suppress(ctx)); tid != "" || sid != "" {
		t.Errorf("suppressed: %q %q", tid, sid)
	}
}

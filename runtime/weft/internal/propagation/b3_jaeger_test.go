package propagation

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"weft/internal/trace"
)

const (
	tid64  = "a3ce929d0e0e4736"
	padTID = "0000000000000000" + tid64
	pSID   = "0102030405060708"
	zero16 = "0000000000000000"
	zero32 = zero16 + zero16
)

// want describes an extracted span context; tid "" means none expected.
type want struct {
	tid, sid string
	sampled  bool
}

func check(t *testing.T, what string, sc trace.SpanContext, ok bool, w want) {
	t.Helper()
	if w.tid == "" {
		if ok || sc != (trace.SpanContext{}) {
			t.Errorf("%s: got %+v, %v; want nothing", what, sc, ok)
		}
		return
	}
	if !ok || sc.TraceID.String() != w.tid || sc.SpanID.String() != w.sid || sc.Sampled() != w.sampled || !sc.Remote {
		t.Errorf("%s: got %s %s sampled=%v remote=%v ok=%v; want %+v", what, sc.TraceID, sc.SpanID, sc.Sampled(), sc.Remote, ok, w)
	}
}

func TestParseB3(t *testing.T) {
	on := want{validTID, validSID, true}
	off := want{validTID, validSID, false}
	none := want{}
	cases := []struct {
		in string
		w  want
	}{
		{validTID + "-" + validSID, off}, // deferred: not sampled
		{validTID + "-" + validSID + "-1", on},
		{validTID + "-" + validSID + "-0", off},
		{validTID + "-" + validSID + "-d", on}, // debug means sampled
		{validTID + "-" + validSID + "-1-" + pSID, on},
		{validTID + "-" + validSID + "-0-" + pSID, off},
		{" " + validTID + "-" + validSID + "-1\t", on},
		{tid64 + "-" + validSID + "-1", want{padTID, validSID, true}},
		{"0", none}, // deny form: no ids, nothing to extract
		{"1", none},
		{"d", none},
		{"", none},
		{validTID, none},
		{tid64, none},
		{validTID + "-", none},
		{validTID + "-" + validSID + "-", none},
		{validTID + "-" + validSID + "-x", none},
		{validTID + "-" + validSID + "-true", none},
		{validTID + "-" + validSID + "-10", none},
		{validTID + "-" + validSID + "-" + pSID, none}, // parent without sampling state
		{validTID + "-" + validSID + "-1-" + pSID[:15], none},
		{validTID + "-" + validSID + "-1-" + pSID + "0", none},
		{validTID + "-" + validSID + "-1-" + zero16, none},
		{validTID + "-" + validSID + "-1-" + pSID + "-1", none},
		{validTID + "-" + validSID + "1", none},
		{validTID + "-" + validSID[:15] + "-1", none},
		{validTID + "-" + validSID + "0-1", none},
		{validTID[:31] + "-" + validSID + "-1", none},
		{validTID[:20] + "-" + validSID + "-1", none},
		{validTID + "0-" + validSID + "-1", none},
		{strings.ToUpper(validTID) + "-" + validSID + "-1", none},
		{validTID + "-" + strings.ToUpper("00f067aa0ba902bA") + "-1", none},
		{"4bf92f3577b34da6a3ce929d0e0e473g-" + validSID + "-1", none},
		{zero32 + "-" + validSID + "-1", none},
		{zero16 + "-" + validSID + "-1", none},
		{validTID + "-" + zero16 + "-1", none},
		{validTID + "_" + validSID + "-1", none},
	}
	for _, c := range cases {
		sc, ok := ParseB3(c.in)
		check(t, fmt.Sprintf("ParseB3(%q)", c.in), sc, ok, c.w)
	}
}

func TestExtractB3Multi(t *testing.T) {
	on := want{validTID, validSID, true}
	off := want{validTID, validSID, false}
	none := want{}
	cases := []struct {
		name string
		h    map[string][]string
		w    want
	}{
		{"canonical", map[string][]string{"X-B3-Traceid": {validTID}, "X-B3-Spanid": {validSID}, "X-B3-Sampled": {"1"}}, on},
		{"lower case", map[string][]string{"x-b3-traceid": {validTID}, "x-b3-spanid": {validSID}, "x-b3-sampled": {"1"}}, on},
		{"spec spelling", map[string][]string{"X-B3-TraceId": {validTID}, "X-B3-SpanId": {validSID}, "X-B3-Sampled": {"0"}}, off},
		{"no sampled", map[string][]string{"X-B3-Traceid": {validTID}, "X-B3-Spanid": {validSID}}, off},
		{"64-bit", map[string][]string{"X-B3-Traceid": {tid64}, "X-B3-Spanid": {validSID}, "X-B3-Sampled": {"1"}}, want{padTID, validSID, true}},
		{"true", map[string][]string{"X-B3-Traceid": {validTID}, "X-B3-Spanid": {validSID}, "X-B3-Sampled": {"True"}}, on},
		{"false", map[string][]string{"X-B3-Traceid": {validTID}, "X-B3-Spanid": {validSID}, "X-B3-Sampled": {"false"}}, off},
		{"debug", map[string][]string{"X-B3-Traceid": {validTID}, "X-B3-Spanid": {validSID}, "X-B3-Sampled": {"0"}, "X-B3-Flags": {"1"}}, on},
		{"flags 0", map[string][]string{"X-B3-Traceid": {validTID}, "X-B3-Spanid": {validSID}, "X-B3-Flags": {"0"}}, off},
		{"parent", map[string][]string{"X-B3-Traceid": {validTID}, "X-B3-Spanid": {validSID}, "X-B3-Parentspanid": {pSID}, "X-B3-Sampled": {"1"}}, on},
		{"bad sampled", map[string][]string{"X-B3-Traceid": {validTID}, "X-B3-Spanid": {validSID}, "X-B3-Sampled": {"2"}}, none},
		{"bad sampled d", map[string][]string{"X-B3-Traceid": {validTID}, "X-B3-Spanid": {validSID}, "X-B3-Sampled": {"d"}}, none},
		{"bad parent", map[string][]string{"X-B3-Traceid": {validTID}, "X-B3-Spanid": {validSID}, "X-B3-Parentspanid": {"xyz"}}, none},
		{"zero parent", map[string][]string{"X-B3-Traceid": {validTID}, "X-B3-Spanid": {validSID}, "X-B3-Parentspanid": {zero16}}, none},
		{"no span id", map[string][]string{"X-B3-Traceid": {validTID}, "X-B3-Sampled": {"1"}}, none},
		{"no trace id", map[string][]string{"X-B3-Spanid": {validSID}, "X-B3-Sampled": {"1"}}, none},
		{"only sampled", map[string][]string{"X-B3-Sampled": {"1"}}, none},
		{"zero trace id", map[string][]string{"X-B3-Traceid": {zero32}, "X-B3-Spanid": {validSID}}, none},
		{"zero span id", map[string][]string{"X-B3-Traceid": {validTID}, "X-B3-Spanid": {zero16}}, none},
		{"short trace id", map[string][]string{"X-B3-Traceid": {validTID[:24]}, "X-B3-Spanid": {validSID}}, none},
		{"long span id", map[string][]string{"X-B3-Traceid": {validTID}, "X-B3-Spanid": {validSID + "0"}}, none},
		{"non-hex", map[string][]string{"X-B3-Traceid": {validTID[:31] + "z"}, "X-B3-Spanid": {validSID}}, none},
		{"two values", map[string][]string{"X-B3-Traceid": {validTID, validTID}, "X-B3-Spanid": {validSID}}, none},
		{"two spellings", map[string][]string{"X-B3-Traceid": {validTID}, "x-b3-traceid": {validTID}, "X-B3-Spanid": {validSID}}, none},
		{"single wins", map[string][]string{"b3": {validTID + "-" + validSID + "-1"}, "X-B3-Traceid": {tid64}, "X-B3-Spanid": {pSID}}, on},
		{"single canonical", map[string][]string{"B3": {validTID + "-" + validSID + "-0"}}, off},
		{"bad single, good multi", map[string][]string{"b3": {"garbage"}, "X-B3-Traceid": {validTID}, "X-B3-Spanid": {validSID}, "X-B3-Sampled": {"1"}}, on},
		{"deny single alone", map[string][]string{"b3": {"0"}}, none},
		{"deny single, good multi", map[string][]string{"b3": {"0"}, "X-B3-Traceid": {validTID}, "X-B3-Spanid": {validSID}}, off},
	}
	for _, p := range []Propagators{New(B3), New(B3Multi)} {
		for _, c := range cases {
			sc := trace.FromContext(p.Extract(context.Background(), c.h))
			var got trace.SpanContext
			if sc != nil {
				got = *sc
			}
			check(t, fmt.Sprintf("%v %s", p.Kinds(), c.name), got, sc != nil, c.w)
		}
	}
}

func TestInjectB3(t *testing.T) {
	sc := trace.SpanContext{TraceID: trace.TraceID{0x4b, 0xf9}, SpanID: trace.SpanID{0, 0xf0}, Flags: trace.FlagSampled}
	tid, sid := sc.TraceID.String(), sc.SpanID.String()
	ctx := trace.WithSpanContext(context.Background(), &sc)
	unsampled := sc
	unsampled.Flags = 0
	uctx := trace.WithSpanContext(context.Background(), &unsampled)
	cases := []struct {
		p    Propagators
		ctx  context.Context
		in   map[string][]string
		want map[string][]string
	}{
		{New(B3), ctx, map[string][]string{"b3": {"stale"}, "Other": {"x"}},
			map[string][]string{"B3": {tid + "-" + sid + "-1"}, "Other": {"x"}}},
		{New(B3), uctx, map[string][]string{},
			map[string][]string{"B3": {tid + "-" + sid + "-0"}}},
		{New(B3Multi), ctx, map[string][]string{"x-b3-traceid": {"stale"}, "X-B3-Flags": {"1"}, "x-b3-parentspanid": {pSID}, "b3": {"left alone"}},
			map[string][]string{"X-B3-Traceid": {tid}, "X-B3-Spanid": {sid}, "X-B3-Sampled": {"1"}, "b3": {"left alone"}}},
		{New(B3Multi), uctx, map[string][]string{},
			map[string][]string{"X-B3-Traceid": {tid}, "X-B3-Spanid": {sid}, "X-B3-Sampled": {"0"}}},
		{New(B3, B3Multi), ctx, map[string][]string{},
			map[string][]string{"B3": {tid + "-" + sid + "-1"}, "X-B3-Traceid": {tid}, "X-B3-Spanid": {sid}, "X-B3-Sampled": {"1"}}},
		{New(B3, B3Multi), context.Background(), map[string][]string{"b3": {"x"}},
			map[string][]string{"b3": {"x"}}}, // nothing to inject: untouched
	}
	for i, c := range cases {
		c.p.Inject(c.ctx, c.in)
		if fmt.Sprint(c.in) != fmt.Sprint(c.want) {
			t.Errorf("%d %v: got %v, want %v", i, c.p.Kinds(), c.in, c.want)
		}
	}
	// What b3 writes, both B3 propagators read back.
	for _, p := range []Propagators{New(B3), New(B3Multi)} {
		h := map[string][]string{}
		p.Inject(ctx, h)
		if got := trace.FromContext(New(B3).Extract(context.Background(), h)); got == nil || got.TraceID != sc.TraceID || got.SpanID != sc.SpanID || !got.Sampled() {
			t.Errorf("%v round trip: %+v", p.Kinds(), got)
		}
	}
}

func TestParseJaeger(t *testing.T) {
	on := want{validTID, validSID, true}
	off := want{validTID, validSID, false}
	none := want{}
	cases := []struct {
		in string
		w  want
	}{
		{validTID + ":" + validSID + ":0:1", on},
		{validTID + ":" + validSID + ":0:0", off},
		{validTID + ":" + validSID + ":" + pSID + ":01", on},
		{validTID + ":" + validSID + ":0:3", on},  // sampled and debug
		{validTID + ":" + validSID + ":0:2", off}, // debug alone is not sampled
		{validTID + ":" + validSID + ":0:", off},
		{validTID + ":" + validSID + "::1", on},
		{" " + validTID + ":" + validSID + ":0:1 ", on},
		{validTID + "%3A" + validSID + "%3A0%3A1", on},
		{validTID + "%3a" + validSID + "%3a0%3a1", on},
		{tid64 + ":" + validSID + ":0:1", want{padTID, validSID, true}},
		{"abc:de:0:1", want{"00000000000000000000000000000abc", "00000000000000de", true}},
		{"1:2:0:0", want{"00000000000000000000000000000001", "0000000000000002", false}},
		{"", none},
		{validTID, none},
		{validTID + ":" + validSID + ":0", none},
		{validTID + ":" + validSID + ":0:1:1", none},
		{":" + validSID + ":0:1", none},
		{validTID + "::0:1", none},
		{validTID + "0:" + validSID + ":0:1", none},
		{validTID + ":" + validSID + "0:0:1", none},
		{zero32 + ":" + validSID + ":0:1", none},
		{"0:" + validSID + ":0:1", none},
		{validTID + ":" + zero16 + ":0:1", none},
		{strings.ToUpper(validTID) + ":" + validSID + ":0:1", none},
		{validTID + ":" + validSID[:15] + "g:0:1", none},
		{validTID + ":" + validSID + ":0:x", none},
		{validTID + ":" + validSID + ":0:100", none},
		{validTID + ":" + validSID + ":0:-1", none},
		{validTID + "-" + validSID + "-0-1", none},
	}
	for _, c := range cases {
		sc, ok := ParseJaeger(c.in)
		check(t, fmt.Sprintf("ParseJaeger(%q)", c.in), sc, ok, c.w)
	}
}

func TestJaegerExtractInject(t *testing.T) {
	p := New(Jaeger)
	for _, key := range []string{"Uber-Trace-Id", "uber-trace-id"} {
		h := map[string][]string{key: {validTID + ":" + validSID + ":0:1"}, "Uberctx-User-Id": {"alice%20b"}, "uberctx-plan": {"gold+x"}, "uberctx-bad": {"%zz"}}
		ctx := p.Extract(context.Background(), h)
		sc := trace.FromContext(ctx)
		if !sc.IsValid() || sc.TraceID.String() != validTID || !sc.Sampled() {
			t.Errorf("%s: extracted %+v", key, sc)
		}
		if b := BaggageFromContext(ctx); b == nil || fmt.Sprint(b.Members) != "[{plan gold x } {user-id alice b }]" {
			t.Errorf("%s: baggage %+v", key, b)
		}
	}
	// Two values of uber-trace-id are ambiguous.
	if got := p.Extract(context.Background(), map[string][]string{"Uber-Trace-Id": {validTID + ":" + validSID + ":0:1", validTID + ":" + validSID + ":0:0"}}); trace.FromContext(got) != nil {
		t.Error("two uber-trace-id values extracted")
	}

	sc := trace.SpanContext{TraceID: trace.TraceID{15: 1}, SpanID: trace.SpanID{7: 2}, Flags: trace.FlagSampled}
	ctx := trace.WithSpanContext(context.Background(), &sc)
	ctx = ContextWithBaggage(ctx, &Baggage{Members: []Member{{"k", "a b+c", ""}, {"userId", "x", ";p"}}})
	h := map[string][]string{"uber-trace-id": {"stale"}, "uberctx-k": {"stale"}}
	p.Inject(ctx, h)
	want := map[string][]string{
		"Uber-Trace-Id":  {"00000000000000000000000000000001:0000000000000002:0:1"},
		"Uberctx-K":      {"a+b%2Bc"},
		"Uberctx-Userid": {"x"},
	}
	if fmt.Sprint(h) != fmt.Sprint(want) {
		t.Errorf("inject = %v, want %v", h, want)
	}
	back := p.Extract(context.Background(), h)
	if got := trace.FromContext(back); got == nil || got.TraceID != sc.TraceID || got.SpanID != sc.SpanID || !got.Sampled() {
		t.Errorf("round trip: %+v", got)
	}
	if b := BaggageFromContext(back); b == nil || fmt.Sprint(b.Members) != "[{k a b+c } {userid x }]" {
		t.Errorf("baggage round trip: %+v", b)
	}
	sc.Flags = 0
	if got := FormatJaeger(&sc); got != "00000000000000000000000000000001:0000000000000002:0:0" {
		t.Errorf("FormatJaeger unsampled = %q", got)
	}
}

func TestCompositeOrder(t *testing.T) {
	tp := "00-" + validTID + "-" + validSID + "-01"
	b3 := tid64 + "-" + pSID + "-0"
	jg := "abc:de:0:1"
	h := map[string][]string{"Traceparent": {tp}, "Tracestate": {"rojo=1"}, "B3": {b3}, "Uber-Trace-Id": {jg}}
	cases := []struct {
		p   Propagators
		tid string
		ts  string
	}{
		{New(TraceContext, B3), padTID, ""},
		{New(B3, TraceContext), validTID, "rojo=1"},
		{New(B3, Jaeger), "00000000000000000000000000000abc", ""},
		{New(Jaeger, B3Multi, W3CBaggage), padTID, ""},
		{New(TraceContext, B3, Jaeger, TraceContext), validTID, "rojo=1"},
	}
	for _, c := range cases {
		sc := trace.FromContext(c.p.Extract(context.Background(), h))
		if sc == nil || sc.TraceID.String() != c.tid || sc.TraceState != c.ts {
			t.Errorf("%v: %+v, want trace id %s, tracestate %q", c.p.Kinds(), sc, c.tid, c.ts)
		}
	}
	// A later propagator that finds nothing valid leaves the earlier one's.
	bad := map[string][]string{"Traceparent": {tp}, "B3": {"0"}, "Uber-Trace-Id": {"x:y:0:1"}}
	if sc := trace.FromContext(New(TraceContext, B3, Jaeger).Extract(context.Background(), bad)); sc == nil || sc.TraceID.String() != validTID {
		t.Errorf("invalid later context replaced a valid one: %+v", sc)
	}
	// Suppression is kept whichever format found the context.
	sup := New(B3).Extract(trace.Suppress(context.Background()), h)
	if !trace.IsSuppressed(sup) {
		t.Error("B3 extract lifted suppression")
	}
	// Baggage: W3C replaces what is there, uberctx- members add to it.
	bh := map[string][]string{"Baggage": {"a=1,plan=silver"}, "Uberctx-Plan": {"gold"}}
	for _, c := range []struct {
		p    Propagators
		want string
	}{
		{New(W3CBaggage, Jaeger), "a=1,plan=gold"},
		{New(Jaeger, W3CBaggage), "a=1,plan=silver"},
		{New(Jaeger), "plan=gold"},
	} {
		if b := BaggageFromContext(c.p.Extract(context.Background(), bh)); b == nil || b.String() != c.want {
			t.Errorf("%v: baggage %+v, want %s", c.p.Kinds(), b, c.want)
		}
	}
	// Inject writes every configured format.
	ctx := New(TraceContext).Extract(context.Background(), h)
	out := map[string][]string{}
	New(TraceContext, W3CBaggage, B3, B3Multi, Jaeger).Inject(ctx, out)
	for _, k := range []string{"Traceparent", "Tracestate", "B3", "X-B3-Traceid", "X-B3-Spanid", "X-B3-Sampled", "Uber-Trace-Id"} {
		if len(out[k]) != 1 {
			t.Errorf("inject all: %s missing in %v", k, out)
		}
	}
	if len(out) != 7 {
		t.Errorf("inject all: %v", out)
	}
}

// Malformed input of every length is ignored without a panic.
func TestMalformedNoPanic(t *testing.T) {
	p := New(TraceContext, W3CBaggage, B3, B3Multi, Jaeger)
	seeds := []string{
		validTID + "-" + validSID + "-1-" + pSID,
		validTID + ":" + validSID + ":" + pSID + ":1",
		"00-" + validTID + "-" + validSID + "-01",
	}
	for _, s := range seeds {
		for n := 0; n <= len(s); n++ {
			for _, c := range []byte{0, 'g', '-', ':', '%', 'F', ' '} {
				v := s[:n]
				if n < len(s) {
					v = s[:n] + string(c) + s[n+1:]
				}
				ParseB3(v)
				ParseJaeger(v)
				h := map[string][]string{"b3": {v}, "X-B3-Traceid": {v}, "X-B3-Spanid": {v}, "X-B3-Sampled": {v}, "X-B3-Flags": {v},
					"X-B3-Parentspanid": {v}, "uber-trace-id": {v}, "uberctx-" + v: {v}, "traceparent": {v}}
				p.Inject(p.Extract(context.Background(), h), h)
			}
		}
	}
}

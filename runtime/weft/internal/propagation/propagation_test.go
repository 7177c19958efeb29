package propagation

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"weft/internal/env"
	"weft/internal/trace"
)

const (
	validTID = "4bf92f3577b34da6a3ce929d0e0e4736"
	validSID = "00f067aa0ba902b7"
)

func TestParseTraceparent(t *testing.T) {
	cases := []struct {
		in      string
		ok      bool
		sampled bool
	}{
		{"00-" + validTID + "-" + validSID + "-01", true, true},
		{"00-" + validTID + "-" + validSID + "-00", true, false},
		{"00-" + validTID + "-" + validSID + "-09", true, true}, // unknown flags ignored
		{" \t00-" + validTID + "-" + validSID + "-01\t ", true, true},
		{"01-" + validTID + "-" + validSID + "-01", true, true},                 // future version
		{"cc-" + validTID + "-" + validSID + "-01-what-the-future", true, true}, // future version, extra fields
		{"cc-" + validTID + "-" + validSID + "-01what", false, false},           // extra without dash
		{"00-" + validTID + "-" + validSID + "-01-extra", false, false},         // version 00 must be exact
		{"ff-" + validTID + "-" + validSID + "-01", false, false},               // version ff invalid
		{"0g-" + validTID + "-" + validSID + "-01", false, false},
		{"00-00000000000000000000000000000000-" + validSID + "-01", false, false},
		{"00-" + validTID + "-0000000000000000-01", false, false},
		{"00-" + strings.ToUpper(validTID) + "-" + validSID + "-01", false, false}, // upper-case hex
		{"00-" + validTID + "-" + strings.ToUpper("00f067aa0ba902bA") + "-01", false, false},
		{"00-" + validTID + "-" + validSID + "-0x", false, false},
		{"00-" + validTID + "-" + validSID + "-1", false, false},
		{"00-" + validTID[:31] + "-" + validSID + "-01", false, false},
		{"00_" + validTID + "-" + validSID + "-01", false, false},
		{"00-" + validTID + "_" + validSID + "-01", false, false},
		{"00-" + validTID + "-" + validSID + "_01", false, false},
		{"", false, false},
		{"garbage", false, false},
		{"00-" + validTID + "-" + validSID + "-01 x", false, false},
		{"00-4bf92f3577b34da6a3ce929d0e0e473g-" + validSID + "-01", false, false},
	}
	for _, c := range cases {
		sc, ok := ParseTraceparent(c.in)
		if ok != c.ok {
			t.Errorf("ParseTraceparent(%q) ok = %v, want %v", c.in, ok, c.ok)
			continue
		}
		if !ok {
			if sc != (trace.SpanContext{}) {
				t.Errorf("ParseTraceparent(%q) returned non-zero context on failure", c.in)
			}
			continue
		}
		if sc.Sampled() != c.sampled || !sc.Remote {
			t.Errorf("ParseTraceparent(%q) = %+v", c.in, sc)
		}
		if sc.TraceID.String() != validTID || sc.SpanID.String() != validSID {
			t.Errorf("ParseTraceparent(%q) ids = %s %s", c.in, sc.TraceID, sc.SpanID)
		}
	}
}

func TestFormatTraceparentRoundTrip(t *testing.T) {
	in := "00-" + validTID + "-" + validSID + "-01"
	sc, ok := ParseTraceparent(in)
	if !ok {
		t.Fatal("parse failed")
	}
	if got := FormatTraceparent(&sc); got != in {
		t.Errorf("Format = %q, want %q", got, in)
	}
	sc.Flags = 0xff // only known flags are written
	if got := FormatTraceparent(&sc); !strings.HasSuffix(got, "-03") {
		t.Errorf("Format with all flags = %q", got)
	}
}

func TestParseTracestate(t *testing.T) {
	long := strings.Repeat("a", 256)
	many := make([]string, 33)
	for i := range many {
		many[i] = "k" + strings.Repeat("x", i) + "=v"
	}
	cases := []struct {
		in   []string
		want string
		ok   bool
	}{
		{[]string{"rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"}, "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE", true},
		{[]string{"rojo=1", "congo=2"}, "rojo=1,congo=2", true},
		{[]string{" rojo=1 ,\t, congo=2 "}, "rojo=1,congo=2", true},
		{[]string{"tenant@system=x"}, "tenant@system=x", true},
		{[]string{"1tenant@sys-tem_*/=x"}, "1tenant@sys-tem_*/=x", true},
		{[]string{"a=b c"}, "a=b c", true},
		{[]string{long + "=x"}, long + "=x", true},
		{[]string{long + "a=x"}, "", false}, // key too long
		{[]string{"a=" + long}, "a=" + long, true},
		{[]string{"a=" + long + "x"}, "", false}, // value too long
		{[]string{"Rojo=1"}, "", false},          // upper-case key
		{[]string{"1rojo=1"}, "", false},         // simple key must start with a letter
		{[]string{"rojo=1,rojo=2"}, "", false},   // duplicate
		{[]string{"rojo"}, "", false},
		{[]string{"rojo="}, "", false},
		{[]string{"rojo=a,b"}, "", false},
		{[]string{"rojo=a=b"}, "", false},
		{[]string{"t@s=a", "t@s=b"}, "", false},
		{[]string{"t@Sys=a"}, "", false},
		{[]string{"t@system123456789=a"}, "", false}, // system-id too long
		{[]string{"@s=a"}, "", false},
		{[]string{"t@=a"}, "", false},
		{[]string{strings.Join(many[:32], ",")}, strings.Join(many[:32], ","), true},
		{[]string{strings.Join(many, ",")}, "", false},
		{[]string{""}, "", true},
		{nil, "", true},
	}
	for _, c := range cases {
		got, ok := ParseTracestate(c.in)
		if ok != c.ok || got != c.want {
			t.Errorf("ParseTracestate(%q) = %q, %v; want %q, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestBaggage(t *testing.T) {
	b := ParseBaggage([]string{"userId=alice, serverNode = DF%2028 ; prop1;p2=v2 ,isProduction=false", "bad key=x,k2=%zz,k3=ok"})
	if b == nil {
		t.Fatal("nil baggage")
	}
	want := []Member{
		{"userId", "alice", ""},
		{"serverNode", "DF 28", ";prop1;p2=v2"},
		{"isProduction", "false", ""},
		{"k3", "ok", ""},
	}
	if len(b.Members) != len(want) {
		t.Fatalf("members = %+v", b.Members)
	}
	for i := range want {
		if b.Members[i] != want[i] {
			t.Errorf("member %d = %+v, want %+v", i, b.Members[i], want[i])
		}
	}
	if got := b.String(); got != "userId=alice,serverNode=DF%2028;prop1;p2=v2,isProduction=false,k3=ok" {
		t.Errorf("String = %q", got)
	}
	if ParseBaggage([]string{"", " , "}) != nil {
		t.Error("empty baggage should be nil")
	}
	// Later duplicates win.
	if b := ParseBaggage([]string{"a=1,a=2"}); len(b.Members) != 1 || b.Members[0].Value != "2" {
		t.Errorf("duplicate = %+v", b)
	}
	// Values needing encoding round-trip.
	enc := (&Baggage{Members: []Member{{"k", "a,b;c=d é%", ""}}}).String()
	if back := ParseBaggage([]string{enc}); back == nil || back.Members[0].Value != "a,b;c=d é%" {
		t.Errorf("round trip %q -> %+v", enc, back)
	}
	// Limits.
	var sb strings.Builder
	for i := 0; i < 200; i++ {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString("k")
		sb.WriteString(strings.Repeat("x", i%5))
		sb.WriteString(string(rune('a' + i%26)))
		sb.WriteString("=")
		sb.WriteString(strings.Repeat("v", i))
	}
	if b := ParseBaggage([]string{sb.String()}); len(b.Members) > maxBaggageMembers || len(b.String()) > maxBaggageBytes {
		t.Errorf("limits not applied: %d members, %d bytes", len(b.Members), len(b.String()))
	}
}

func TestFromEnv(t *testing.T) {
	var lines []string
	defer env.CaptureWarnings(func(l string) { lines = append(lines, l) })()
	cases := []struct {
		v    string
		want []Kind
	}{
		{"", []Kind{TraceContext, W3CBaggage}},
		{"tracecontext", []Kind{TraceContext}},
		{"baggage", []Kind{W3CBaggage}},
		{"TraceContext, Baggage", []Kind{TraceContext, W3CBaggage}},
		{"none", nil},
		{"tracecontext,none", nil},
		{"b3", []Kind{B3}},
		{"B3Multi", []Kind{B3Multi}},
		{"jaeger,tracecontext", []Kind{Jaeger, TraceContext}},
		{"b3,tracecontext,b3", []Kind{TraceContext, B3}}, // the last place counts
		{"xray,tracecontext,,ottrace", []Kind{TraceContext}},
		{"xray", nil},
		{" , ", nil},
	}
	for _, c := range cases {
		restore := env.SetLookup(map[string]string{"OTEL_PROPAGATORS": c.v})
		if got := FromEnv(); fmt.Sprint(got.Kinds()) != fmt.Sprint(c.want) {
			t.Errorf("OTEL_PROPAGATORS=%q: %v, want %v", c.v, got.Kinds(), c.want)
		}
		restore()
	}
	if len(lines) != 2 || !strings.Contains(lines[0]+lines[1], `"xray"`) || !strings.Contains(lines[0]+lines[1], `"ottrace"`) {
		t.Errorf("warnings = %q, want one about xray and one about ottrace", lines)
	}
}

func TestExtractInject(t *testing.T) {
	p := New(TraceContext, W3CBaggage)
	in := map[string][]string{
		"traceparent": {"00-" + validTID + "-" + validSID + "-01"},
		"TRACESTATE":  {"rojo=1", "congo=2"},
		"baggage":     {"user=alice"},
	}
	ctx := p.Extract(nil, in)
	sc := trace.FromContext(ctx)
	if !sc.IsValid() || !sc.Remote || !sc.Sampled() || sc.TraceState != "rojo=1,congo=2" {
		t.Fatalf("extracted %+v", sc)
	}
	if b := BaggageFromContext(ctx); b == nil || b.Members[0].Value != "alice" {
		t.Fatalf("baggage %+v", b)
	}
	out := map[string][]string{"traceparent": {"stale"}, "Other": {"x"}}
	p.Inject(ctx, out)
	if got := out["Traceparent"]; len(got) != 1 || got[0] != "00-"+validTID+"-"+validSID+"-01" {
		t.Errorf("Traceparent = %q", got)
	}
	if _, ok := out["traceparent"]; ok {
		t.Error("non-canonical key kept")
	}
	if got := out["Tracestate"]; len(got) != 1 || got[0] != "rojo=1,congo=2" {
		t.Errorf("Tracestate = %q", got)
	}
	if got := out["Baggage"]; len(got) != 1 || got[0] != "user=alice" {
		t.Errorf("Baggage = %q", got)
	}
	if out["Other"][0] != "x" {
		t.Error("unrelated header touched")
	}

	// Invalid traceparent: ctx unchanged, tracestate ignored.
	bad := map[string][]string{"Traceparent": {"ff-" + validTID + "-" + validSID + "-01"}, "Tracestate": {"a=b"}}
	if got := p.Extract(context.Background(), bad); trace.FromContext(got) != nil {
		t.Error("invalid traceparent extracted")
	}
	// Duplicated traceparent is invalid.
	dup := map[string][]string{"Traceparent": {"00-" + validTID + "-" + validSID + "-01"}, "traceparent": {"00-" + validTID + "-" + validSID + "-00"}}
	if got := p.Extract(context.Background(), dup); trace.FromContext(got) != nil {
		t.Error("duplicate traceparent extracted")
	}
	// Invalid tracestate alone is dropped, traceparent kept.
	ts := map[string][]string{"Traceparent": {"00-" + validTID + "-" + validSID + "-00"}, "Tracestate": {"A=b"}}
	if sc := trace.FromContext(p.Extract(context.Background(), ts)); !sc.IsValid() || sc.TraceState != "" || sc.Sampled() {
		t.Errorf("got %+v", sc)
	}
	// Propagators off.
	if got := (Propagators{}).Extract(context.Background(), in); trace.FromContext(got) != nil || BaggageFromContext(got) != nil {
		t.Error("none extracted something")
	}
	h := map[string][]string{}
	New(W3CBaggage).Inject(ctx, h)
	if _, ok := h["Traceparent"]; ok || h["Baggage"] == nil {
		t.Errorf("baggage-only inject = %v", h)
	}
	// Nil map and nil ctx are safe.
	p.Inject(ctx, nil)
	p.Inject(nil, map[string][]string{})
	if p.Extract(nil, nil) == nil {
		t.Error("nil ctx")
	}
}

func TestExtractKeepsSuppression(t *testing.T) {
	p := New(TraceContext)
	ctx := trace.Suppress(context.Background())
	ctx = p.Extract(ctx, map[string][]string{"Traceparent": {"00-" + validTID + "-" + validSID + "-01"}})
	if !trace.IsSuppressed(ctx) {
		t.Error("Extract lifted suppression")
	}
}

func BenchmarkExtractInject(b *testing.B) {
	p := New(TraceContext, W3CBaggage)
	in := map[string][]string{"Traceparent": {"00-" + validTID + "-" + validSID + "-01"}, "Accept": {"*/*"}, "User-Agent": {"x"}}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		ctx := p.Extract(context.Background(), in)
		out := map[string][]string{}
		p.Inject(ctx, out)
	}
}

func TestInjectReplacesStaleState(t *testing.T) {
	p := New(TraceContext, W3CBaggage)
	ctx := trace.WithSpanContext(context.Background(), &trace.SpanContext{TraceID: trace.TraceID{1}, SpanID: trace.SpanID{2}, Flags: 1})
	h := map[string][]string{"tracestate": {"old=1"}, "Tracestate": {"old=2"}, "baggage": {"keep=1"}}
	p.Inject(ctx, h)
	if _, ok := h["Tracestate"]; ok || h["tracestate"] != nil {
		t.Errorf("stale tracestate kept: %v", h)
	}
	if h["baggage"] == nil {
		t.Error("baggage removed although the context has none")
	}
	if len(h["Traceparent"]) != 1 {
		t.Error("no traceparent")
	}
	// Nothing to inject: the map is untouched.
	h2 := map[string][]string{"traceparent": {"x"}}
	p.Inject(context.Background(), h2)
	if len(h2) != 1 || h2["traceparent"][0] != "x" {
		t.Errorf("touched: %v", h2)
	}
}

func TestKeys(t *testing.T) {
	b3 := []string{"b3", "x-b3-traceid", "x-b3-spanid", "x-b3-sampled", "x-b3-flags", "x-b3-parentspanid"}
	for _, tc := range []struct {
		p    Propagators
		want []string
	}{
		{New(TraceContext, W3CBaggage), []string{"traceparent", "tracestate", "baggage"}},
		{New(B3Multi), b3},
		{New(B3, B3Multi, Jaeger), append(append([]string{}, b3...), "uber-trace-id")},
		{New(), nil},
	} {
		if got := tc.p.Keys(); strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("%v: Keys() = %q, want %q", tc.p.Kinds(), got, tc.want)
		}
	}
}

package otlp

import (
	"bytes"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"weft/internal/protowire"
	"weft/internal/trace"
)

// msg is a decoded protobuf message: field number -> values (raw bytes for
// length-delimited fields, integers otherwise), with wire types checked.
type msg map[int][]field

type field struct {
	wire int
	num  uint64
	raw  []byte
}

func decode(t *testing.T, b []byte) msg {
	t.Helper()
	m := msg{}
	r := protowire.Reader{B: b}
	for !r.Done() {
		f, wt := r.Tag()
		var v field
		v.wire = wt
		switch wt {
		case wireVarint:
			v.num = r.Varint()
		case wireFixed64:
			v.num = r.Fixed(8)
		case wireFixed32:
			v.num = r.Fixed(4)
		case wireBytes:
			v.raw = r.Bytes()
		default:
			t.Fatalf("unexpected wire type %d for field %d", wt, f)
		}
		m[f] = append(m[f], v)
	}
	if r.Bad {
		t.Fatalf("malformed protobuf")
	}
	return m
}

// one returns the single value of field f, checking its wire type.
func (m msg) one(t *testing.T, f, wire int) field {
	t.Helper()
	if len(m[f]) != 1 {
		t.Fatalf("field %d: %d values, want 1 (have %v)", f, len(m[f]), m.fields())
	}
	if m[f][0].wire != wire {
		t.Fatalf("field %d: wire type %d, want %d", f, m[f][0].wire, wire)
	}
	return m[f][0]
}

func (m msg) fields() []int {
	var out []int
	for f := range m {
		out = append(out, f)
	}
	return out
}

func (m msg) str(t *testing.T, f int) string { t.Helper(); return string(m.one(t, f, wireBytes).raw) }
func (m msg) sub(t *testing.T, f int) msg    { t.Helper(); return decode(t, m.one(t, f, wireBytes).raw) }

func kvs(t *testing.T, fs []field) map[string]msg {
	t.Helper()
	out := map[string]msg{}
	for _, f := range fs {
		kv := decode(t, f.raw)
		out[kv.str(t, 1)] = kv.sub(t, 2) // KeyValue{key=1, value=2}
	}
	return out
}

// ended collects the records of ended spans (what an exporter receives).
type ended []*trace.Record

func (e *ended) OnEnd(r *trace.Record) { *e = append(*e, r) }

// testSpans returns a batch of testRecords.
func testSpans() *Batch { return batchOf(testRecords()) }

func batchOf(records []*trace.Record) *Batch {
	b := new(Batch)
	for _, r := range records {
		b.Add(r.Scope, AppendSpan(nil, r))
	}
	return b
}

func testRecords() []*trace.Record {
	var out ended
	tr := &trace.Tracer{Sampler: trace.AlwaysOn(), Processor: &out, Limits: trace.Limits{AttrCount: 128}}
	parent := &trace.SpanContext{TraceID: trace.TraceID{1, 2, 3}, SpanID: trace.SpanID{9, 9}, Flags: 1, Remote: true, TraceState: "a=b"}
	_, s1 := tr.Start(trace.WithSpanContext(nil, parent), "net/http", "GET /users/{id}", trace.KindServer)
	s1.SetString("http.request.method", "GET")
	s1.SetInt("http.response.status_code", -1)
	s1.SetString("bad.utf8", "a\xffb")
	s1.SetString("empty", "")
	s1.SetError("timeout", "took too long")
	time.Sleep(time.Millisecond)
	s1.Finish()
	_, s2 := tr.Start(nil, "database/sql", "SELECT orders", trace.KindClient)
	for i := 0; i < 24; i++ { // spills past the inline and the overflow attributes
		s2.SetInt("k"+string(rune('a'+i)), int64(i))
	}
	s2.Finish()
	_, s3 := tr.Start(nil, "net/http", "GET", trace.KindClient)
	s3.Finish()
	return out
}

func TestEncodeFieldNumbers(t *testing.T) {
	spans := testRecords()
	res := EncodeResource([]trace.Attr{
		{Key: "service.name", Str: "svc"},
		{Key: "process.pid", Int: 42, Kind: trace.AttrInt},
		{Key: "flag", Int: 1, Kind: trace.AttrBool},
	})
	b := AppendRequest(nil, res, batchOf(spans))
	if path := os.Getenv("WEFT_OTLP_DUMP"); path != "" { // for checking with the official decoder
		os.WriteFile(path, b, 0o644)
	}

	req := decode(t, b)
	rs := req.sub(t, 1) // ExportTraceServiceRequest.resource_spans = 1
	resource := rs.sub(t, 1)
	rattrs := kvs(t, resource[1])                  // Resource.attributes = 1
	if rattrs["service.name"].str(t, 1) != "svc" { // AnyValue.string_value = 1
		t.Error("service.name")
	}
	if rattrs["process.pid"].one(t, 3, wireVarint).num != 42 { // AnyValue.int_value = 3
		t.Error("process.pid")
	}
	if rattrs["flag"].one(t, 2, wireVarint).num != 1 { // AnyValue.bool_value = 2
		t.Error("bool")
	}

	scopes := rs[2] // ResourceSpans.scope_spans = 2
	if len(scopes) != 2 {
		t.Fatalf("%d scope spans, want 2", len(scopes))
	}
	ss := decode(t, scopes[0].raw)
	if name := ss.sub(t, 1).str(t, 1); name != "net/http" { // ScopeSpans.scope=1, InstrumentationScope.name=1
		t.Errorf("scope %q", name)
	}
	if len(ss[2]) != 2 { // ScopeSpans.spans = 2
		t.Fatalf("%d spans in net/http scope", len(ss[2]))
	}
	sp := decode(t, ss[2][0].raw)
	s1 := spans[0]
	if !bytes.Equal(sp.one(t, 1, wireBytes).raw, s1.SC.TraceID[:]) {
		t.Error("trace_id = 1")
	}
	if !bytes.Equal(sp.one(t, 2, wireBytes).raw, s1.SC.SpanID[:]) {
		t.Error("span_id = 2")
	}
	if sp.str(t, 3) != "a=b" {
		t.Error("trace_state = 3")
	}
	if !bytes.Equal(sp.one(t, 4, wireBytes).raw, []byte{9, 9, 0, 0, 0, 0, 0, 0}) {
		t.Error("parent_span_id = 4")
	}
	if sp.str(t, 5) != "GET /users/{id}" {
		t.Error("name = 5")
	}
	if sp.one(t, 6, wireVarint).num != 2 {
		t.Error("kind = 6 (server = 2)")
	}
	start, end := sp.one(t, 7, wireFixed64).num, sp.one(t, 8, wireFixed64).num
	if int64(start) != s1.StartUnixNano() || end-start != uint64(s1.Duration()) || end-start < uint64(time.Millisecond) {
		t.Errorf("start/end = %d/%d", start, end)
	}
	attrs := kvs(t, sp[9]) // attributes = 9
	if attrs["http.request.method"].str(t, 1) != "GET" || attrs["error.type"].str(t, 1) != "timeout" {
		t.Error("string attributes")
	}
	if int64(attrs["http.response.status_code"].one(t, 3, wireVarint).num) != -1 {
		t.Error("negative int attribute")
	}
	if attrs["bad.utf8"].str(t, 1) != "a\uFFFDb" {
		t.Errorf("invalid UTF-8 not repaired: %q", attrs["bad.utf8"].str(t, 1))
	}
	if v, ok := attrs["empty"]; !ok || v.str(t, 1) != "" {
		t.Error("empty string attribute must still carry string_value")
	}
	status := sp.sub(t, 15) // status = 15
	if status.str(t, 2) != "took too long" || status.one(t, 3, wireVarint).num != 2 {
		t.Error("Status{message=2, code=3}")
	}
	if f := sp.one(t, 16, wireFixed32).num; f != 0x301 { // flags = 16: sampled, has-is-remote, is-remote
		t.Errorf("flags = %#x", f)
	}
	if _, ok := sp[10]; ok {
		t.Error("dropped_attributes_count written when zero")
	}

	// Second span in the same scope: root client span, no parent, no status.
	sp3 := decode(t, ss[2][1].raw)
	if _, ok := sp3[4]; ok {
		t.Error("root span has parent_span_id")
	}
	if _, ok := sp3[15]; ok {
		t.Error("unset status written")
	}
	if f := sp3.one(t, 16, wireFixed32).num; f != 0x101 {
		t.Errorf("root flags = %#x", f)
	}
	if sp3.one(t, 6, wireVarint).num != 3 {
		t.Error("client kind = 3")
	}

	db := decode(t, scopes[1].raw)
	if len(kvs(t, decode(t, db[2][0].raw)[9])) != 24 {
		t.Error("spilled attributes missing")
	}
}

// AppendSpan sizes a span before writing it: lengths past one byte (name,
// trace state, status message, the span itself), dropped attributes and
// invalid UTF-8 must come out as one well-formed message.
func TestEncodeLongFields(t *testing.T) {
	var out ended
	tr := &trace.Tracer{Sampler: trace.AlwaysOn(), Processor: &out, Limits: trace.Limits{AttrCount: 2}}
	long := strings.Repeat("n", 200)
	state := "k=" + strings.Repeat("v", 250)
	parent := &trace.SpanContext{TraceID: trace.TraceID{1}, SpanID: trace.SpanID{2}, Flags: 1, TraceState: state}
	_, s := tr.Start(trace.WithSpanContext(nil, parent), "scope", long, trace.KindConsumer)
	for _, k := range []string{"a", "b", "c", "d"} {
		s.SetString(k, strings.Repeat("x", 100))
	}
	s.SetError("", strings.Repeat("m\xff", 100))
	s.Finish()
	b := AppendSpan([]byte{0xAA}, out[0])
	if b[0] != 0xAA {
		t.Fatal("AppendSpan overwrote dst")
	}
	sp := decode(t, decode(t, b[1:]).one(t, 2, wireBytes).raw)
	if sp.str(t, 5) != long || sp.str(t, 3) != state || sp.one(t, 6, wireVarint).num != 5 {
		t.Error("name, trace_state or kind")
	}
	if n := sp.one(t, 10, wireVarint).num; n != 3 { // c, d and error.type over the limit
		t.Errorf("dropped_attributes_count = %d", n)
	}
	if len(sp[9]) != 2 {
		t.Errorf("%d attributes", len(sp[9]))
	}
	st := sp.sub(t, 15)
	if msg := st.str(t, 2); msg != strings.Repeat("m\uFFFD", 100) || st.one(t, 3, wireVarint).num != 2 {
		t.Errorf("status %q", msg)
	}
	if sp.one(t, 8, wireFixed64).num < sp.one(t, 7, wireFixed64).num {
		t.Error("end before start")
	}
}

// A request's lengths are computed ahead of its parts (requestParts):
// check them on many scopes (more than its inline eight), an empty and an
// invalid UTF-8 scope name, and scopes whose spans need length prefixes of
// one to three bytes.
func TestRequestManyScopes(t *testing.T) {
	var b Batch
	names := []string{"", "a\xffb"}
	for i := 0; i < 10; i++ {
		names = append(names, "scope/"+strings.Repeat("x", i*20))
	}
	// The second round reuses the reset batch's buffers, scopes in the
	// reverse order.
	for round := 0; round < 2; round++ {
		b.Reset()
		want := map[string]int{}
		for i, name := range names {
			n := []int{1, 3, 300}[(i+round)%3] // about 40 bytes per span
			rec := &trace.Record{Scope: name, Name: "span"}
			for k := 0; k < n; k++ {
				b.Add(name, AppendSpan(nil, rec))
			}
			want[protowire.ValidUTF8(name)] = n
		}
		slices.Reverse(names)
		res := EncodeResource([]trace.Attr{{Key: "service.name", Str: "svc"}})
		rs := decode(t, AppendRequest(nil, res, &b)).sub(t, 1)
		if rs.sub(t, 1).one(t, 1, wireBytes).raw == nil {
			t.Error("resource attributes")
		}
		if len(rs[2]) != len(names) {
			t.Fatalf("%d scope spans, want %d", len(rs[2]), len(names))
		}
		for _, f := range rs[2] {
			ss := decode(t, f.raw)
			name := ""
			if scope := ss.sub(t, 1); len(scope[1]) > 0 {
				name = scope.str(t, 1)
			}
			if len(ss[2]) != want[name] {
				t.Errorf("round %d, scope %q: %d spans, want %d", round, name, len(ss[2]), want[name])
			}
			for _, sp := range ss[2] {
				if decode(t, sp.raw).str(t, 5) != "span" {
					t.Fatal("span name")
				}
			}
		}
	}
}

// partialResponse encodes an ExportTraceServiceResponse with
// partial_success {rejected_spans, error_message}.
func partialResponse(rejected int, msg string) []byte {
	body := appendString(protowire.AppendVarint([]byte{1<<3 | wireVarint}, uint64(rejected)), 2, msg)
	return append(appendLen(nil, 1, len(body)), body...)
}

func TestPartialSuccessDecode(t *testing.T) {
	if n, msg := partialSuccess(partialResponse(7, "bad spans")); n != 7 || msg != "bad spans" {
		t.Errorf("%d %q", n, msg)
	}
	if n, _ := partialSuccess([]byte{0xff}); n != 0 {
		t.Error("garbage")
	}
	if n, _ := partialSuccess(nil); n != 0 {
		t.Error("empty")
	}
}

func BenchmarkEncode512(b *testing.B) {
	spans := testRecords()
	batch := make([]*trace.Record, 512)
	for i := range batch {
		batch[i] = spans[i%len(spans)]
	}
	benchEncode(b, batch)
}

// benchEncode measures encoding a batch: each span as it ends, then the
// request around them.
func benchEncode(b *testing.B, records []*trace.Record) {
	var batch Batch
	res := EncodeResource([]trace.Attr{{Key: "service.name", Str: "svc"}})
	var out, span []byte
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		batch.Reset()
		for _, r := range records {
			span = AppendSpan(span[:0], r)
			batch.Add(r.Scope, span)
		}
		out = AppendRequest(out[:0], res, &batch)
	}
	b.SetBytes(int64(len(out)))
}

// BenchmarkEncodeServer512 encodes a batch of 512 spans shaped like the
// net/http server span weft records for a GET (13 attributes, valid UTF-8).
func BenchmarkEncodeServer512(b *testing.B) {
	var batch ended
	tr := &trace.Tracer{Sampler: trace.AlwaysOn(), Processor: &batch, Limits: trace.Limits{AttrCount: 128}}
	for i := 0; i < 512; i++ {
		_, s := tr.Start(nil, "weft/net/http", "GET /hello", trace.KindServer)
		for _, kv := range [][2]string{{"http.request.method", "GET"}, {"url.scheme", "http"}, {"url.path", "/hello"},
			{"server.address", "127.0.0.1"}, {"network.protocol.version", "1.1"}, {"user_agent.original", "wrk"},
			{"network.peer.address", "127.0.0.1"}, {"client.address", "127.0.0.1"}, {"http.route", "/hello"}} {
			s.SetString(kv[0], kv[1])
		}
		s.SetInt("server.port", 8090)
		s.SetInt("network.peer.port", 40000+int64(i))
		s.SetInt("http.response.status_code", 200)
		s.Finish()
	}
	benchEncode(b, batch)
}

package trace

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"weft/internal/env"
)

type collect struct {
	mu    sync.Mutex
	spans []*Record
}

func (c *collect) OnEnd(s *Record) {
	c.mu.Lock()
	c.spans = append(c.spans, s)
	c.mu.Unlock()
}

// record is the record c received for s, or nil.
func (c *collect) record(s *Span) *Record {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range c.spans {
		if r.SC == s.SC {
			return r
		}
	}
	return nil
}

func newTracer(s Sampler) (*Tracer, *collect) {
	c := &collect{}
	return &Tracer{Sampler: s, Processor: c, Limits: Limits{AttrCount: 128}}, c
}

func TestIDs(t *testing.T) {
	seen := map[TraceID]bool{}
	for i := 0; i < 1000; i++ {
		id := newTraceID()
		if !id.IsValid() || seen[id] {
			t.Fatal("invalid or repeated trace id")
		}
		seen[id] = true
		if !newSpanID().IsValid() {
			t.Fatal("zero span id")
		}
	}
	var z TraceID
	if z.IsValid() || (SpanID{}).IsValid() {
		t.Error("zero ids valid")
	}
	id := TraceID{0x4b, 0xf9}
	if len(id.String()) != 32 {
		t.Error(id.String())
	}
}

func TestStartChildAndRoot(t *testing.T) {
	tr, col := newTracer(ParentBased(AlwaysOn()))
	ctx, root := tr.Start(nil, "scope", "root", KindServer)
	if root == nil || root.rec.Parent.IsValid() || !root.SC.Sampled() {
		t.Fatalf("root = %+v", root)
	}
	if FromContext(ctx) != &root.SC {
		t.Error("ctx does not carry the root")
	}
	_, child := tr.Start(ctx, "scope", "child", 99)
	if child.SC.TraceID != root.SC.TraceID || child.rec.Parent != root.SC.SpanID || child.rec.ParentRemote {
		t.Errorf("child %+v", child.rec)
	}
	if child.rec.Kind != KindInternal {
		t.Errorf("invalid kind not mapped to internal: %d", child.rec.Kind)
	}
	child.Finish()
	root.Finish()
	root.Finish() // second End ignored
	if len(col.spans) != 2 {
		t.Fatalf("exported %d spans", len(col.spans))
	}
	if col.record(root).Duration() < 0 || col.record(child).Duration() < 0 {
		t.Error("negative duration")
	}
}

func TestRemoteParentAndTraceState(t *testing.T) {
	tr, _ := newTracer(ParentBased(AlwaysOn()))
	remote := &SpanContext{TraceID: TraceID{1}, SpanID: SpanID{2}, Flags: FlagSampled | 0x02, Remote: true, TraceState: "a=b"}
	_, s := tr.Start(WithSpanContext(context.Background(), remote), "", "x", KindServer)
	if s.SC.TraceID != remote.TraceID || s.rec.Parent != remote.SpanID || !s.rec.ParentRemote || s.SC.TraceState != "a=b" || s.rec.SC != s.SC {
		t.Errorf("%+v", s.rec)
	}
	if s.SC.Flags != FlagSampled|0x02 {
		t.Errorf("flags %x", s.SC.Flags)
	}
}

func TestUnsampledPropagates(t *testing.T) {
	tr, col := newTracer(ParentBased(AlwaysOn()))
	remote := &SpanContext{TraceID: TraceID{1}, SpanID: SpanID{2}, Remote: true}
	ctx, s := tr.Start(WithSpanContext(context.Background(), remote), "", "x", KindServer)
	if s != nil {
		t.Fatal("unsampled parent gave a recording span")
	}
	sc := FromContext(ctx)
	if !sc.IsValid() || sc.Sampled() || sc.TraceID != remote.TraceID || sc.SpanID == remote.SpanID {
		t.Errorf("unsampled span context %+v", sc)
	}
	// A child of it is unsampled too, same trace.
	ctx2, s2 := tr.Start(ctx, "", "y", KindClient)
	if s2 != nil || FromContext(ctx2).TraceID != remote.TraceID {
		t.Error("child of unsampled")
	}
	if len(col.spans) != 0 {
		t.Error("exported unsampled spans")
	}
}

func TestSuppress(t *testing.T) {
	tr, _ := newTracer(AlwaysOn())
	ctx := Suppress(nil)
	if !IsSuppressed(ctx) {
		t.Fatal("not suppressed")
	}
	c2, s := tr.Start(ctx, "", "x", KindClient)
	if s != nil || c2 != ctx {
		t.Error("span started under a suppressed ctx")
	}
	ctx, root := tr.Start(context.Background(), "", "r", KindServer)
	sup := Suppress(ctx)
	if sc := FromContext(sup); sc.TraceID != root.SC.TraceID || !sc.Suppressed {
		t.Error("suppress lost the trace")
	}
	if Suppress(sup) != sup {
		t.Error("double suppress allocated")
	}
	if IsSuppressed(ctx) {
		t.Error("parent ctx changed")
	}
}

func TestScopeOf(t *testing.T) {
	tr, _ := newTracer(AlwaysOn())
	if ScopeOf(nil) != "" || ScopeOf(context.Background()) != "" {
		t.Error("a scope without a span")
	}
	ctx, db := tr.Start(context.Background(), "weft/database/sql", "SELECT", KindClient)
	inner := context.WithValue(ctx, struct{}{}, 1) // what a driver may wrap it in
	if got := ScopeOf(inner); got != "weft/database/sql" {
		t.Errorf("ScopeOf = %q", got)
	}
	// A newer span context of another kind hides it.
	remote := WithSpanContext(inner, &SpanContext{TraceID: TraceID{1}, SpanID: SpanID{2}, Remote: true})
	if got := ScopeOf(remote); got != "" {
		t.Errorf("ScopeOf under a remote parent = %q", got)
	}
	if got := ScopeOf(Suppress(ctx)); got != "" {
		t.Errorf("ScopeOf of a suppressed ctx = %q", got)
	}
	child, _ := tr.Start(ctx, "weft/net/http", "GET", KindClient)
	if got := ScopeOf(child); got != "weft/net/http" {
		t.Errorf("ScopeOf of the child = %q", got)
	}
	db.Finish()
	if got := ScopeOf(inner); got != "" {
		t.Errorf("ScopeOf after End = %q", got)
	}
}

func TestSamplers(t *testing.T) {
	sampledParent := &SpanContext{TraceID: TraceID{1}, SpanID: SpanID{1}, Flags: FlagSampled}
	unsampledParent := &SpanContext{TraceID: TraceID{1}, SpanID: SpanID{1}}
	low := TraceID{15: 1}                                                                         // low 8 bytes tiny
	high := TraceID{8: 0xff, 9: 0xff, 10: 0xff, 11: 0xff, 12: 0xff, 13: 0xff, 14: 0xff, 15: 0xff} // huge
	cases := []struct {
		s              Sampler
		root, sp, unsp bool
		lowID, highID  bool
	}{
		{AlwaysOn(), true, true, true, true, true},
		{AlwaysOff(), false, false, false, false, false},
		{ParentBased(AlwaysOn()), true, true, false, true, true},
		{ParentBased(AlwaysOff()), false, true, false, false, false},
		{Ratio(0.5), true, true, true, true, false},
		{ParentBased(Ratio(0.5)), true, true, false, true, false},
		{Ratio(0), false, false, false, false, false},
		{Ratio(1), true, true, true, true, true},
	}
	for _, c := range cases {
		s := c.s
		if got := s.ShouldSample(nil, low); got != c.root {
			t.Errorf("%s root = %v", s, got)
		}
		if got := s.ShouldSample(sampledParent, low); got != c.sp {
			t.Errorf("%s sampled parent = %v", s, got)
		}
		if got := s.ShouldSample(unsampledParent, low); got != c.unsp {
			t.Errorf("%s unsampled parent = %v", s, got)
		}
		if got := s.ShouldSample(nil, low); got != c.lowID {
			t.Errorf("%s low id = %v", s, got)
		}
		if got := s.ShouldSample(nil, high); got != c.highID {
			t.Errorf("%s high id = %v", s, got)
		}
	}
	// The ratio is roughly honoured.
	s := Ratio(0.25)
	n := 0
	for i := 0; i < 20000; i++ {
		if s.ShouldSample(nil, newTraceID()) {
			n++
		}
	}
	if n < 4500 || n > 5500 {
		t.Errorf("ratio 0.25 sampled %d/20000", n)
	}
}

func TestSamplerFromEnv(t *testing.T) {
	var lines []string
	defer env.CaptureWarnings(func(l string) { lines = append(lines, l) })()
	cases := []struct{ name, arg, want string }{
		{"", "", "parentbased_always_on"},
		{"always_on", "", "always_on"},
		{"ALWAYS_OFF", "", "always_off"},
		{"parentbased_always_off", "", "parentbased_always_off"},
		{"traceidratio", "0.25", "traceidratio{0.25}"},
		{"traceidratio", "", "traceidratio{1}"},
		{"traceidratio", "2", "traceidratio{1}"},
		{"traceidratio", "abc", "traceidratio{1}"},
		{"parentbased_traceidratio", "0", "parentbased_traceidratio{0}"},
		{"jaeger_remote", "", "parentbased_always_on"},
	}
	for _, c := range cases {
		restore := env.SetLookup(map[string]string{"OTEL_TRACES_SAMPLER": c.name, "OTEL_TRACES_SAMPLER_ARG": c.arg})
		if got := SamplerFromEnv().String(); got != c.want {
			t.Errorf("%s/%s = %s, want %s", c.name, c.arg, got, c.want)
		}
		restore()
	}
	if len(lines) != 3 {
		t.Errorf("warnings: %q", lines)
	}
}

func TestAttributes(t *testing.T) {
	tr, col := newTracer(AlwaysOn())
	tr.Limits = Limits{AttrCount: 10, AttrValueLength: 5}
	_, s := tr.Start(nil, "", "x", KindInternal)
	for i := 0; i < 12; i++ {
		s.SetInt(string(rune('a'+i)), int64(i))
	}
	s.SetInt("a", 100)              // overwrite, no new slot
	s.SetString("b", "héllo world") // truncated on a rune boundary
	s.SetString("", "ignored")
	s.SetError("", "boom")
	s.SetName("renamed")
	s.Finish()
	s.SetString("late", "ignored")
	s.SetName("late")
	r := col.record(s)
	if r.NumAttrs() != 10 || r.Dropped != 3 {
		t.Errorf("attrs=%d dropped=%d", r.NumAttrs(), r.Dropped)
	}
	if a := r.AttrAt(0); a.Key != "a" || a.Int != 100 {
		t.Errorf("attr 0 = %+v", a)
	}
	if a := r.AttrAt(1); a.Key != "b" || a.Str != "héll" || a.Kind != AttrString {
		t.Errorf("attr 1 = %+v", a)
	}
	if r.Name != "renamed" || r.StatusCode != StatusError || r.StatusMsg != "boom" {
		t.Errorf("name/status %q %d %q", r.Name, r.StatusCode, r.StatusMsg)
	}
	// error.type was over the limit here; with room it is set.
	_, s2 := tr.Start(nil, "", "y", KindInternal)
	s2.SetError("timeout", "slow")
	if a := s2.rec.AttrAt(0); a.Key != "error.type" || a.Str != "timeout" {
		t.Errorf("error.type = %+v", a)
	}
	s2.SetBool("messaging.destination.temporary", true)
	s2.SetBool("off", false)
	if a := s2.rec.AttrAt(1); a.Key != "messaging.destination.temporary" || a.Kind != AttrBool || a.Int != 1 {
		t.Errorf("bool = %+v", a)
	}
	if a := s2.rec.AttrAt(2); a.Key != "off" || a.Kind != AttrBool || a.Int != 0 {
		t.Errorf("false = %+v", a)
	}
	if !strings.HasPrefix(truncate("abc", 0), "abc") {
		t.Error("truncate 0")
	}
}

func TestConcurrentSpanUse(t *testing.T) {
	tr, col := newTracer(AlwaysOn())
	_, s := tr.Start(nil, "", "x", KindInternal)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for j := 0; j < 100; j++ {
				s.SetInt("k"+string(rune('a'+i)), int64(j))
			}
			s.Finish()
		}(i)
	}
	wg.Wait()
	if len(col.spans) != 1 {
		t.Errorf("ended %d times", len(col.spans))
	}
}

func TestMonotonicEnd(t *testing.T) {
	tr, col := newTracer(AlwaysOn())
	_, sp := tr.Start(nil, "", "x", KindInternal)
	time.Sleep(2 * time.Millisecond)
	sp.Finish()
	s := col.record(sp)
	if s.Duration() < 2*time.Millisecond || s.EndUnixNano() != s.StartUnixNano()+int64(s.Duration()) {
		t.Errorf("duration %v", s.Duration())
	}
}

func TestLimitsFromEnv(t *testing.T) {
	defer env.CaptureWarnings(func(string) {})()
	defer env.SetLookup(map[string]string{"OTEL_ATTRIBUTE_COUNT_LIMIT": "5", "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT": "7", "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT": "x"})()
	if l := LimitsFromEnv(); l.AttrCount != 7 || l.AttrValueLength != 0 {
		t.Errorf("%+v", l)
	}
}

type nop struct{}

func (nop) OnEnd(*Record) {}

func BenchmarkTracerStartEnd(b *testing.B) {
	tr := &Tracer{Sampler: ParentBased(AlwaysOn()), Processor: releaser{}, Limits: Limits{AttrCount: 128}}
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		_, s := tr.Start(ctx, "bench", "op", KindInternal)
		s.Finish()
	}
}

// Record must stay within Go's 512-byte size class: larger objects with
// pointers take the allocator's slower path (a type header per object).
func TestRecordSize(t *testing.T) {
	if n := unsafe.Sizeof(Record{}); n > 512 {
		t.Errorf("Record is %d bytes, over 512", n)
	}
}

// A recycled record belongs to its new span only: the ended span that
// used it before cannot write into it.
func TestRecycledRecord(t *testing.T) {
	tr := &Tracer{Sampler: AlwaysOn(), Processor: releaser{}, Limits: Limits{AttrCount: 128}}
	for i := 0; i < 100; i++ {
		_, old := tr.Start(nil, "", "old", KindInternal)
		r := old.rec
		old.Finish() // released: the pool may hand r to the next span
		_, cur := tr.Start(nil, "", "new", KindInternal)
		old.SetString("late", "x")
		old.SetInt("late", 1)
		old.SetError("late", "x")
		old.SetName("late")
		old.Finish()
		if cur.rec.NumAttrs() != 0 || cur.rec.Name != "new" || cur.rec.StatusCode != StatusUnset {
			t.Fatalf("an ended span wrote into a live record (reused: %v)", cur.rec == r)
		}
		if old.rec != nil || !old.Ended() || cur.Ended() {
			t.Fatal("ended state")
		}
		cur.Finish()
	}
}

// Release clears every field (what Start does not set must not leak into
// the next span; what points elsewhere must not keep it alive).
func TestRelease(t *testing.T) {
	tr, col := newTracer(AlwaysOn())
	remote := &SpanContext{TraceID: TraceID{1}, SpanID: SpanID{2}, Flags: FlagSampled, Remote: true, TraceState: "a=b"}
	_, s := tr.Start(WithSpanContext(nil, remote), "scope", "name", KindServer)
	for i := 0; i < 30; i++ {
		s.SetInt(fmt.Sprint("k", i), int64(i)<<50)
	}
	s.SetString("k0", "now a string")
	s.SetError("boom", "message")
	tr.Limits.AttrCount = 3
	s.SetInt("over", 1)
	s.Finish()
	r := col.record(s)
	if r.NumAttrs() != 31 || r.Dropped != 1 || r.StatusCode != StatusError || !r.ParentRemote || r.dur == 0 {
		t.Fatalf("setup: %d attributes, %d dropped", r.NumAttrs(), r.Dropped)
	}
	Release(r)
	if len(r.attrs) != 0 || cap(r.attrs) == 0 {
		t.Errorf("released record: %d attribute bytes, capacity %d (want 0, kept)", len(r.attrs), cap(r.attrs))
	}
	r.attrs = nil
	if !reflect.DeepEqual(*r, Record{}) {
		t.Errorf("released record not cleared: %+v", *r)
	}
}

type releaser struct{}

func (releaser) OnEnd(r *Record) { Release(r) }

func TestManyAttributes(t *testing.T) {
	tr, col := newTracer(AlwaysOn())
	tr.Limits = Limits{AttrCount: 128}
	_, sp := tr.Start(nil, "", "x", KindInternal)
	s := sp
	want := map[string]Attr{}
	for i := 0; i < 40; i++ {
		k := fmt.Sprintf("k%d", i)
		switch i % 3 {
		case 0:
			s.SetString(k, strings.Repeat("v", i))
			want[k] = Attr{Key: k, Str: strings.Repeat("v", i), Kind: AttrString}
		default:
			s.SetInt(k, int64(-i))
			want[k] = Attr{Key: k, Int: int64(-i), Kind: AttrInt}
		}
	}
	s.SetString("k1", "now a string") // inline slot changes kind
	want["k1"] = Attr{Key: "k1", Str: "now a string", Kind: AttrString}
	s.SetInt("k30", 7) // a slot past the inline ones
	want["k30"] = Attr{Key: "k30", Int: 7, Kind: AttrInt}
	// Ints at and past the 40 bits stored inline.
	for i, v := range []int64{1<<39 - 1, -1 << 39, 1 << 39, -1<<39 - 1, 1<<63 - 1, -1 << 63, 0, -1} {
		k := fmt.Sprintf("k%d", 40+i)
		s.SetInt(k, v)
		want[k] = Attr{Key: k, Int: v, Kind: AttrInt}
	}
	s.SetInt("k2", 1<<62) // a small int slot becomes a large one
	want["k2"] = Attr{Key: "k2", Int: 1 << 62, Kind: AttrInt}
	s.SetString(strings.Repeat("x", 1<<16), "key too long: dropped")
	s.Finish()
	r := col.record(sp)
	if r.NumAttrs() != 48 || r.Dropped != 1 {
		t.Fatalf("%d attributes, %d dropped", r.NumAttrs(), r.Dropped)
	}
	for i := 0; i < r.NumAttrs(); i++ {
		a := r.AttrAt(i)
		if a.Key != fmt.Sprintf("k%d", i) || a != want[a.Key] {
			t.Errorf("attr %d = %+v, want %+v", i, a, want[a.Key])
		}
	}
}

func TestStartIsWallClock(t *testing.T) {
	tr, col := newTracer(AlwaysOn())
	before := time.Now().UnixNano()
	_, sp := tr.Start(nil, "", "x", KindInternal)
	sp.Finish()
	s := col.record(sp)
	after := time.Now().UnixNano()
	// The anchor is at most a second old; wall and monotonic clocks drift
	// apart by far less than 10ms in that time unless the clock is stepped.
	const slop = int64(10 * time.Millisecond)
	if s.StartUnixNano() < before-slop || s.EndUnixNano() > after+slop || s.EndUnixNano() < s.StartUnixNano() {
		t.Errorf("start %d end %d outside [%d, %d]", s.StartUnixNano(), s.EndUnixNano(), before, after)
	}
}

// TestWireLengths round-trips attributes around the one-byte-length fast
// path (key+value up to 120 bytes) and past it, replacing some in place.
func TestWireLengths(t *testing.T) {
	tr, col := newTracer(AlwaysOn())
	_, s := tr.Start(nil, "", "x", KindInternal)
	lens := []int{0, 1, 59, 60, 61, 100, 119, 120, 121, 200, 20000}
	for i, n := range lens {
		s.SetString(fmt.Sprintf("s%02d", i), strings.Repeat("v", n))
		s.SetInt(fmt.Sprintf("i%02d", i), int64(n)<<40)
	}
	s.SetString("s03", "short now")                     // shrinks an entry in the middle
	s.SetString("s00", strings.Repeat("w", 300))        // grows the first one
	s.SetString("s05", "\xff"+strings.Repeat("x", 119)) // repaired past the fast path
	s.Finish()
	r := col.record(s)
	if r.NumAttrs() != 2*len(lens) {
		t.Fatalf("%d attributes", r.NumAttrs())
	}
	for i, n := range lens {
		want := strings.Repeat("v", n)
		switch i {
		case 0:
			want = strings.Repeat("w", 300)
		case 3:
			want = "short now"
		case 5:
			want = "\uFFFD" + strings.Repeat("x", 119)
		}
		if a := r.AttrAt(2 * i); a.Key != fmt.Sprintf("s%02d", i) || a.Kind != AttrString || a.Str != want {
			t.Errorf("attr %d: %q, %d bytes", 2*i, a.Key, len(a.Str))
		}
		if a := r.AttrAt(2*i + 1); a.Key != fmt.Sprintf("i%02d", i) || a.Kind != AttrInt || a.Int != int64(n)<<40 {
			t.Errorf("attr %d: %+v", 2*i+1, a)
		}
	}
}

// TestSetStrings sets pairs under one lock: empty keys and an odd last
// element are skipped, values truncated, an ended span left alone.
func TestSetStrings(t *testing.T) {
	tr, col := newTracer(AlwaysOn())
	tr.Limits = Limits{AttrCount: 128, AttrValueLength: 4}
	_, s := tr.Start(nil, "", "x", KindInternal)
	s.SetStrings([]string{"a", "1", "", "skipped", "b", "héllo", "a", "2", "odd"})
	s.Finish()
	s.SetStrings([]string{"late", "x"})
	r := col.record(s)
	if r.NumAttrs() != 2 {
		t.Fatalf("%d attributes", r.NumAttrs())
	}
	if a := r.AttrAt(0); a.Key != "a" || a.Str != "2" {
		t.Errorf("attr 0 = %+v", a)
	}
	if a := r.AttrAt(1); a.Key != "b" || a.Str != "hél" {
		t.Errorf("attr 1 = %+v", a)
	}
}

package trace

import (
	"context"
	"encoding/binary"
	"slices"
	"sync"
	"time"
	"unicode/utf8"
	"unsafe"

	"weft/internal/protowire"
)

// Span kinds, with OTLP numbering.
const (
	KindInternal = 1
	KindServer   = 2
	KindClient   = 3
	KindProducer = 4
	KindConsumer = 5
)

// Status codes, with OTLP numbering.
const (
	StatusUnset = 0
	StatusOK    = 1
	StatusError = 2
)

// AttrKind tells which field of an Attr holds the value.
type AttrKind uint8

const (
	AttrString AttrKind = iota
	AttrInt
	AttrBool
)

// Attr is one span or resource attribute. Bool values live in Int (0/1).
type Attr struct {
	Key  string
	Str  string
	Int  int64
	Kind AttrKind
}

// Span is a recording (sampled) span as woven code and user code see it:
// the handle the hooks hold (as an opaque pointer) and, at the same
// time, the context.Context that carries it. What it records lives in a
// Record until Finish hands the Record to the processor; the Span itself
// may live on in contexts user code keeps, while the Record is recycled
// once exported (see Release). All mutators lock and do nothing once the
// span has ended; the setters unlock without defer (what they do under
// the lock cannot panic), the rest with it.
type Span struct {
	parent context.Context // the context the span was started in
	SC     SpanContext     // SC.SpanID is this span's id
	tracer *Tracer
	mu     sync.Mutex
	rec    *Record // nil once ended
}

// Record is what a span recorded: the processor's and exporter's view of
// an ended span. Records are pooled: Release gives one back once it has
// been exported.
type Record struct {
	SC        SpanContext
	Parent    SpanID // zero for a root span
	Scope     string
	Name      string
	StatusMsg string
	attrs     []byte // OTLP Span.attributes entries (see wire.go)

	// Wire is the processor's buffer for the encoded span, kept (like
	// attrs) when the record is recycled.
	Wire []byte

	start     int64 // wall clock, unix ns
	startMono int64 // monotonic clock (see mono), ns
	dur       int64 // monotonic, never negative

	keys         uint64 // two bits per key set (keyBits): most sets skip the duplicate scan
	Dropped      uint32 // attributes over the count limit
	nattr        uint16
	ParentRemote bool
	Kind         int8
	StatusCode   uint8
}

var records = sync.Pool{New: func() any { return new(Record) }}

// maxKept is the largest buffer a released record keeps.
const maxKept = 4 << 10

// Release gives r back for reuse by a later span. The caller (the batch
// processor, once it has encoded or dropped the span) must not touch r
// afterwards.
func Release(r *Record) {
	// Bytes only: keeping them holds nothing alive.
	*r = Record{attrs: keep(r.attrs), Wire: keep(r.Wire)} // drop what it points to (TestRelease)
	records.Put(r)
}

// keep is b emptied for reuse, or nil when it is too large to keep.
func keep(b []byte) []byte {
	if cap(b) > maxKept {
		return nil
	}
	return b[:0]
}

// Clone returns a copy of r that shares nothing with it (for tests and
// debugging: r itself is recycled once the processor has it).
func (s *Record) Clone() *Record {
	c := *s
	c.attrs, c.Wire = slices.Clone(s.attrs), nil
	return &c
}

// NumAttrs returns the number of attributes.
func (s *Record) NumAttrs() int { return int(s.nattr) }

// Attributes returns the attributes as OTLP Span.attributes entries
// (field 9, each a KeyValue), ready to be copied into an encoded Span.
func (s *Record) Attributes() []byte { return s.attrs }

// AttrAt returns attribute i < NumAttrs(), decoded (for tests and
// debugging: it walks the entries before it).
func (s *Record) AttrAt(i int) Attr {
	off := 0
	for ; i > 0; i-- {
		_, _, _, _, next, ok := kvEntry(s.attrs, off)
		if !ok {
			return Attr{}
		}
		off = next
	}
	key, kind, str, num, _, _ := kvEntry(s.attrs, off)
	return Attr{Key: string(key), Kind: kind, Str: string(str), Int: num}
}

// StartUnixNano is the start time, unix ns (wall clock).
func (s *Record) StartUnixNano() int64 { return s.start }

// EndUnixNano is the end time: the start plus the monotonic duration.
func (s *Record) EndUnixNano() int64 { return s.start + s.dur }

// Duration is the monotonic time from start to end.
func (s *Record) Duration() time.Duration { return time.Duration(s.dur) }

// maxKeyLen bounds attribute keys (longer ones are dropped).
const maxKeyLen = 1<<16 - 1

// attrBufSize is the first attribute buffer of a record: an HTTP server
// span's 13 attributes take about 350 bytes.
const attrBufSize = 512

// set stores an attribute, replacing an existing one with the same key in
// place; past limit attributes it only counts them.
func (s *Record) set(key string, kind AttrKind, str string, num int64, limit int) {
	if len(key) > maxKeyLen {
		s.Dropped++
		return
	}
	if !protowire.IsASCII(key) {
		key = protowire.RepairUTF8(key)
	}
	bits := keyBits(key)
	if s.keys&bits == bits { // maybe set before: look for it
		for off := 0; off < len(s.attrs); {
			k, next := entryKey(s.attrs, off)
			if string(k) == key {
				entry := appendKV(nil, fieldSpanAttributes, key, kind, str, num)
				s.attrs = slices.Replace(s.attrs, off, next, entry...)
				return
			}
			off = next
		}
	}
	if int(s.nattr) >= limit {
		s.Dropped++
		return
	}
	if s.attrs == nil {
		s.attrs = make([]byte, 0, attrBufSize)
	}
	s.attrs = appendKV(s.attrs, fieldSpanAttributes, key, kind, str, num)
	s.nattr++
	s.keys |= bits
}

// keyBits sets two of 64 bits by a hash of the key's first and last eight
// bytes and its length: a Bloom filter, where a new key finds both of its
// bits taken about one time in nine once 13 keys are set (an HTTP server
// span's 13 happen to take none of each other's). Equal keys always get
// the same bits.
func keyBits(key string) uint64 {
	var w uint64
	n := len(key)
	if n >= 8 {
		b := unsafe.Slice(unsafe.StringData(key), n)
		w = binary.LittleEndian.Uint64(b) ^ binary.LittleEndian.Uint64(b[n-8:])
	} else {
		for i := 0; i < n; i++ {
			w = w<<8 | uint64(key[i])
		}
	}
	h := (w ^ uint64(n)) * 0x9E3779B97F4A7C15
	return 1<<(h>>58) | 1<<(h>>52&63)
}

// limit is the attribute count limit (nattr is a uint16).
func (s *Span) limit() int {
	n := 128
	if s.tracer != nil {
		n = s.tracer.Limits.AttrCount
	}
	return min(n, 1<<16-1)
}

// SetName renames the span.
func (s *Span) SetName(name string) {
	s.mu.Lock()
	if s.rec != nil {
		s.rec.Name = name
	}
	s.mu.Unlock()
}

// SetString sets a string attribute.
func (s *Span) SetString(key, value string) { s.SetStrings([]string{key, value}) }

// SetStrings sets string attributes from key, value pairs under one lock
// (an odd last element is ignored); it keeps no reference to kv.
func (s *Span) SetStrings(kv []string) {
	limit := 0
	if t := s.tracer; t != nil {
		limit = t.Limits.AttrValueLength
	}
	s.mu.Lock()
	if s.rec != nil {
		n := s.limit()
		for i := 0; i+1 < len(kv); i += 2 {
			key, value := kv[i], kv[i+1]
			if key == "" {
				continue
			}
			if limit > 0 && len(value) > limit {
				value = truncate(value, limit)
			}
			s.rec.set(key, AttrString, value, 0, n)
		}
	}
	s.mu.Unlock()
}

// SetInt sets an integer attribute.
func (s *Span) SetInt(key string, value int64) {
	if key == "" {
		return
	}
	s.mu.Lock()
	if s.rec != nil {
		s.rec.set(key, AttrInt, "", value, s.limit())
	}
	s.mu.Unlock()
}

// SetBool sets a boolean attribute.
func (s *Span) SetBool(key string, value bool) {
	if key == "" {
		return
	}
	var n int64
	if value {
		n = 1
	}
	s.mu.Lock()
	if s.rec != nil {
		s.rec.set(key, AttrBool, "", n, s.limit())
	}
	s.mu.Unlock()
}

// SetError sets status ERROR with message and the error.type attribute
// ("_OTHER" when errorType is empty, as semconv asks).
func (s *Span) SetError(errorType, message string) {
	if errorType == "" {
		errorType = "_OTHER"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.rec; r != nil {
		r.StatusCode = StatusError
		r.StatusMsg = message
		r.set("error.type", AttrString, errorType, 0, s.limit())
	}
}

// Finish records the end time and hands the record to the processor.
// Only the first call has an effect.
func (s *Span) Finish() {
	end := mono()
	s.mu.Lock()
	r := s.rec
	if r == nil {
		s.mu.Unlock()
		return
	}
	s.rec = nil
	s.mu.Unlock()
	r.dur = max(end-r.startMono, 0)
	if t := s.tracer; t != nil && t.Processor != nil {
		t.Processor.OnEnd(r)
	}
}

// Ended reports whether Finish was called.
func (s *Span) Ended() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rec == nil
}

// truncate cuts s to at most n bytes on a rune boundary; n <= 0 means no
// limit.
func truncate(s string, n int) string {
	if n <= 0 || len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

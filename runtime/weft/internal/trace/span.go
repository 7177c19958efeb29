package trace

import (
	"context"
	"sync"
	"time"
	"unicode/utf8"
	"unsafe"
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

// attr is how a span stores an Attr: 24 bytes instead of 48, two pointer
// words. meta packs the key's length (16 bits), the kind (8 bits) and a
// 40-bit signed number: a string's length, or an int or bool value. An
// int that does not fit in 40 bits lives in an *int64 at val.
type attr struct {
	key  *byte
	val  *byte
	meta uint64
}

const (
	maxKeyLen = 1<<16 - 1
	numBits   = 40
	maxNum    = 1<<(numBits-1) - 1
	minNum    = -1 << (numBits - 1)
)

// packAttr packs an attribute; key must be at most maxKeyLen bytes.
func packAttr(key string, kind AttrKind, str string, num int64) attr {
	a := attr{key: unsafe.StringData(key)}
	switch {
	case kind == AttrString:
		a.val, num = unsafe.StringData(str), int64(len(str)) // a string is far shorter than 2^39
	case num < minNum || num > maxNum:
		big := new(int64)
		*big = num
		a.val, num = (*byte)(unsafe.Pointer(big)), 0
	}
	a.meta = uint64(len(key)) | uint64(kind)<<16 | uint64(num)<<(64-numBits)
	return a
}

func (a *attr) keyLen() int { return int(a.meta & maxKeyLen) }

func (a *attr) keyString() string { return unsafe.String(a.key, a.keyLen()) }

func (a *attr) unpack() Attr {
	var out Attr
	out.Key, out.Kind, out.Str, out.Int = a.parts()
	return out
}

// parts is the attribute's key, kind, and value: str for a string, num
// for an int or bool.
func (a *attr) parts() (key string, kind AttrKind, str string, num int64) {
	key, kind = a.keyString(), AttrKind(a.meta>>16)
	num = int64(a.meta) >> (64 - numBits)
	switch {
	case kind == AttrString:
		return key, kind, unsafe.String(a.val, num), 0
	case a.val != nil:
		num = *(*int64)(unsafe.Pointer(a.val))
	}
	return key, kind, "", num
}

// inlineAttrs is how many attributes a record holds without a second
// allocation: as many as keep Record within Go's 512-byte size class
// (larger pointer-holding objects take the allocator's slower path with a
// type header, when the pool is empty). The HTTP server span (12 to 14)
// and database spans (about 7) fit.
const inlineAttrs = 13

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
	extra     *overflow // attributes past inlineAttrs

	start     int64 // wall clock, unix ns
	startMono int64 // monotonic clock (see mono), ns
	dur       int64 // monotonic, never negative

	keys         uint64 // one bit per key set, by keyBit: most sets skip the duplicate scan
	Dropped      uint32 // attributes over the count limit
	nattr        uint16
	ParentRemote bool
	Kind         int8
	StatusCode   uint8

	inline [inlineAttrs]attr
}

var records = sync.Pool{New: func() any { return new(Record) }}

// Release gives r back for reuse by a later span. The caller (the batch
// processor, after an export or a drop) must not touch r afterwards.
func Release(r *Record) {
	*r = Record{} // drop what it points to (TestRelease)
	records.Put(r)
}

// NumAttrs returns the number of attributes.
func (s *Record) NumAttrs() int { return int(s.nattr) }

// AttrAt returns attribute i < NumAttrs().
func (s *Record) AttrAt(i int) Attr { return s.attr(i).unpack() }

// AttrParts is AttrAt without building an Attr (for the encoder): str
// holds a string value, num an int or bool.
func (s *Record) AttrParts(i int) (key string, kind AttrKind, str string, num int64) {
	return s.attr(i).parts()
}

// StartUnixNano is the start time, unix ns (wall clock).
func (s *Record) StartUnixNano() int64 { return s.start }

// EndUnixNano is the end time: the start plus the monotonic duration.
func (s *Record) EndUnixNano() int64 { return s.start + s.dur }

// Duration is the monotonic time from start to end.
func (s *Record) Duration() time.Duration { return time.Duration(s.dur) }

func (s *Record) attr(i int) *attr {
	if i < inlineAttrs {
		return &s.inline[i]
	}
	return &s.extra.a[i-inlineAttrs]
}

// overflow holds the attributes past inlineAttrs: 8 in the same
// allocation, more in a slice of their own.
type overflow struct {
	a   []attr
	buf [8]attr
}

// set stores an attribute, replacing an existing one with the same key;
// past limit attributes it only counts them.
func (s *Record) set(key string, kind AttrKind, str string, num int64, limit int) {
	bit := keyBit(key)
	if s.keys&bit != 0 {
		for i := 0; i < int(s.nattr); i++ {
			if p := s.attr(i); p.keyLen() == len(key) && p.keyString() == key {
				*p = packAttr(key, kind, str, num)
				return
			}
		}
	}
	if int(s.nattr) >= limit || len(key) > maxKeyLen {
		s.Dropped++
		return
	}
	if s.nattr < inlineAttrs {
		s.inline[s.nattr] = packAttr(key, kind, str, num)
	} else {
		if s.extra == nil {
			s.extra = new(overflow) // one allocation up to 21
			s.extra.a = s.extra.buf[:0]
		}
		s.extra.a = append(s.extra.a, packAttr(key, kind, str, num))
	}
	s.nattr++
	s.keys |= bit
}

// keyBit picks one of 64 bits from a key's length and two of its bytes;
// equal keys always get the same bit.
func keyBit(key string) uint64 {
	n := len(key)
	if n == 0 {
		return 1
	}
	return 1 << ((uint(n) + 7*uint(key[n-1]) + 3*uint(key[n/2])) & 63)
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
func (s *Span) SetString(key, value string) {
	if key == "" {
		return
	}
	if s.tracer != nil {
		value = truncate(value, s.tracer.Limits.AttrValueLength)
	}
	s.mu.Lock()
	if s.rec != nil {
		s.rec.set(key, AttrString, value, 0, s.limit())
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

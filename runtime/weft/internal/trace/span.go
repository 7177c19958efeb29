package trace

import (
	"context"
	"sync"
	"time"
	"unicode/utf8"
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

// inlineAttrs is how many attributes a span holds without a second
// allocation; HTTP and database spans rarely need more.
const inlineAttrs = 8

// Span is a recording (sampled) span. Woven code holds it as an opaque
// pointer; all mutators lock (with deferred unlocks, so a recovered panic
// never leaves the lock held), and do nothing once the span has ended.
type Span struct {
	parent       context.Context // the context the span was started in
	SC           SpanContext     // SC.SpanID is this span's id
	Parent       SpanID          // zero for a root span
	ParentRemote bool
	Kind         int8
	Scope        string

	mu         sync.Mutex
	ended      bool
	Name       string
	Start      time.Time     // wall clock (with monotonic reading)
	Duration   time.Duration // monotonic, never negative
	StatusCode uint8
	StatusMsg  string
	Dropped    uint32 // attributes over the count limit

	tracer *Tracer
	nattr  int
	inline [inlineAttrs]Attr
	extra  []Attr
}

// NumAttrs returns the number of attributes. Only call after End.
func (s *Span) NumAttrs() int { return s.nattr }

// AttrAt returns attribute i < NumAttrs(). Only call after End.
func (s *Span) AttrAt(i int) *Attr { return s.attr(i) }

// End returns the end time computed from the monotonic duration.
func (s *Span) End() time.Time { return s.Start.Add(s.Duration) }

func (s *Span) attr(i int) *Attr {
	if i < inlineAttrs {
		return &s.inline[i]
	}
	return &s.extra[i-inlineAttrs]
}

// set stores a attribute, replacing an existing one with the same key.
// Callers hold s.mu.
func (s *Span) set(a Attr) {
	for i := 0; i < s.nattr; i++ {
		if p := s.attr(i); p.Key == a.Key {
			*p = a
			return
		}
	}
	if s.tracer != nil && s.nattr >= s.tracer.Limits.AttrCount {
		s.Dropped++
		return
	}
	if s.nattr < inlineAttrs {
		s.inline[s.nattr] = a
	} else {
		if s.extra == nil {
			s.extra = make([]Attr, 0, inlineAttrs) // one allocation up to 16
		}
		s.extra = append(s.extra, a)
	}
	s.nattr++
}

// SetName renames the span.
func (s *Span) SetName(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.ended {
		s.Name = name
	}
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
	defer s.mu.Unlock()
	if !s.ended {
		s.set(Attr{Key: key, Str: value, Kind: AttrString})
	}
}

// SetInt sets an integer attribute.
func (s *Span) SetInt(key string, value int64) {
	if key == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.ended {
		s.set(Attr{Key: key, Int: value, Kind: AttrInt})
	}
}

// SetError sets status ERROR with message and the error.type attribute
// ("_OTHER" when errorType is empty, as semconv asks).
func (s *Span) SetError(errorType, message string) {
	if errorType == "" {
		errorType = "_OTHER"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.ended {
		s.StatusCode = StatusError
		s.StatusMsg = message
		s.set(Attr{Key: "error.type", Str: errorType, Kind: AttrString})
	}
}

// Finish records the end time and hands the span to the processor.
// Only the first call has an effect.
func (s *Span) Finish() {
	d := time.Since(s.Start) // monotonic
	if d < 0 {
		d = 0
	}
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return
	}
	s.ended = true
	s.Duration = d
	s.mu.Unlock()
	if t := s.tracer; t != nil && t.Processor != nil {
		t.Processor.OnEnd(s)
	}
}

// Ended reports whether Finish was called.
func (s *Span) Ended() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ended
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

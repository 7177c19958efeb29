// Package trace holds weft's span model: W3C ids, span contexts carried in a
// context.Context, spans and their attributes, the sampler and the tracer
// that starts spans and hands ended ones to a processor.
package trace

import (
	"encoding/hex"
	"math/rand/v2"
)

// TraceID is a W3C trace-id: 16 bytes, never all zero when valid.
type TraceID [16]byte

// SpanID is a W3C parent-id / span id: 8 bytes, never all zero when valid.
type SpanID [8]byte

// IsValid reports whether the id is not all zeros.
func (t TraceID) IsValid() bool { return t != TraceID{} }

// IsValid reports whether the id is not all zeros.
func (s SpanID) IsValid() bool { return s != SpanID{} }

// String is the lower-case hex form used by traceparent.
func (t TraceID) String() string { return hex.EncodeToString(t[:]) }

// String is the lower-case hex form used by traceparent.
func (s SpanID) String() string { return hex.EncodeToString(s[:]) }

// newTraceID returns a random, non-zero trace id. math/rand/v2's top-level
// functions use the runtime's per-thread ChaCha8 source: fast, lock-free
// and seeded from the OS.
func newTraceID() (t TraceID) {
	for !t.IsValid() {
		putUint64(t[:8], rand.Uint64())
		putUint64(t[8:], rand.Uint64())
	}
	return t
}

// newSpanID returns a random, non-zero span id.
func newSpanID() (s SpanID) {
	for !s.IsValid() {
		putUint64(s[:], rand.Uint64())
	}
	return s
}

func putUint64(b []byte, v uint64) {
	_ = b[7]
	b[0] = byte(v >> 56)
	b[1] = byte(v >> 48)
	b[2] = byte(v >> 40)
	b[3] = byte(v >> 32)
	b[4] = byte(v >> 24)
	b[5] = byte(v >> 16)
	b[6] = byte(v >> 8)
	b[7] = byte(v)
}

func getUint64(b []byte) uint64 {
	_ = b[7]
	return uint64(b[0])<<56 | uint64(b[1])<<48 | uint64(b[2])<<40 | uint64(b[3])<<32 |
		uint64(b[4])<<24 | uint64(b[5])<<16 | uint64(b[6])<<8 | uint64(b[7])
}

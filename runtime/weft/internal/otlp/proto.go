// Package otlp encodes spans as an OTLP ExportTraceServiceRequest
// (opentelemetry/proto/collector/trace/v1, protobuf wire format, written by
// hand) and sends them to a collector over HTTP.
package otlp

import (
	"math"
	"unicode/utf8"
)

// Protobuf wire types.
const (
	wireVarint  = 0
	wireFixed64 = 1
	wireBytes   = 2
	wireFixed32 = 5
)

// buf is a minimal protobuf writer. Nested messages are written in place
// and their length prefix inserted when they end.
type buf struct{ b []byte }

func (w *buf) tag(field, wire int) { w.varint(uint64(field)<<3 | uint64(wire)) }

func (w *buf) varint(v uint64) {
	for v >= 0x80 {
		w.b = append(w.b, byte(v)|0x80)
		v >>= 7
	}
	w.b = append(w.b, byte(v))
}

func (w *buf) uvarintField(field int, v uint64) {
	if v == 0 {
		return
	}
	w.tag(field, wireVarint)
	w.varint(v)
}

// int64Field writes an int64 (two's complement varint, as protobuf does).
func (w *buf) int64Field(field int, v int64) {
	w.tag(field, wireVarint)
	w.varint(uint64(v))
}

func (w *buf) fixed64Field(field int, v uint64) {
	w.tag(field, wireFixed64)
	w.b = append(w.b, byte(v), byte(v>>8), byte(v>>16), byte(v>>24),
		byte(v>>32), byte(v>>40), byte(v>>48), byte(v>>56))
}

func (w *buf) fixed32Field(field int, v uint32) {
	w.tag(field, wireFixed32)
	w.b = append(w.b, byte(v), byte(v>>8), byte(v>>16), byte(v>>24))
}

func (w *buf) doubleField(field int, v float64) { w.fixed64Field(field, math.Float64bits(v)) }

func (w *buf) bytesField(field int, v []byte) {
	w.tag(field, wireBytes)
	w.varint(uint64(len(v)))
	w.b = append(w.b, v...)
}

// stringField writes a string, omitted when empty (proto3 default).
// Invalid UTF-8 is repaired: protobuf decoders reject it, which would make
// the collector refuse the whole batch.
func (w *buf) stringField(field int, s string) {
	if s == "" {
		return
	}
	w.stringAlways(field, s)
}

// stringAlways writes a string even when empty (needed inside a oneof).
func (w *buf) stringAlways(field int, s string) {
	if !utf8.ValidString(s) {
		s = toValidUTF8(s)
	}
	w.tag(field, wireBytes)
	w.varint(uint64(len(s)))
	w.b = append(w.b, s...)
}

// begin starts a nested message; pass the result to end. One byte is
// reserved for the length, which is all most messages (attributes,
// values) need.
func (w *buf) begin(field int) int {
	w.tag(field, wireBytes)
	w.b = append(w.b, 0)
	return len(w.b)
}

// end closes a nested message started at start by writing its length
// into the reserved byte, moving the body when the length needs more.
func (w *buf) end(start int) {
	n := len(w.b) - start
	if n < 0x80 {
		w.b[start-1] = byte(n)
		return
	}
	var tmp [10]byte
	k := 0
	for v := uint64(n); ; {
		if v < 0x80 {
			tmp[k] = byte(v)
			k++
			break
		}
		tmp[k] = byte(v) | 0x80
		v >>= 7
		k++
	}
	w.b = append(w.b, tmp[:k-1]...) // room for the extra length bytes
	copy(w.b[start+k-1:], w.b[start:start+n])
	copy(w.b[start-1:], tmp[:k])
}

func toValidUTF8(s string) string {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			out = append(out, "\uFFFD"...)
		} else {
			out = append(out, s[i:i+size]...)
		}
		i += size
	}
	return string(out)
}

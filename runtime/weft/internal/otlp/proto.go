// Package otlp encodes spans as an OTLP ExportTraceServiceRequest
// (opentelemetry/proto/collector/trace/v1, protobuf wire format, written by
// hand) and sends them to a collector over HTTP.
package otlp

import (
	"math"

	"weft/internal/protowire"
)

// Protobuf wire types.
const (
	wireVarint  = protowire.Varint
	wireFixed64 = protowire.Fixed64
	wireBytes   = protowire.Bytes
	wireFixed32 = protowire.Fixed32
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
func (w *buf) stringField(field int, s string) {
	if s == "" {
		return
	}
	s = protowire.ValidUTF8(s)
	w.tag(field, wireBytes)
	w.varint(uint64(len(s)))
	w.b = append(w.b, s...)
}

// begin starts a nested message; pass the result to end. reserve bytes
// are left for the length: 1 for small messages (attributes, values), 2
// for a span, 3 for the batch's wrappers, so the body rarely has to move.
func (w *buf) begin(field, reserve int) mark {
	w.tag(field, wireBytes)
	for i := 0; i < reserve; i++ {
		w.b = append(w.b, 0)
	}
	return mark{start: len(w.b), reserve: reserve}
}

// mark is where a nested message's body starts and how many length bytes
// were reserved before it.
type mark struct{ start, reserve int }

// end writes the length of the message begun at m (minimal varint). When
// it needs more or fewer bytes than reserved, the body moves once.
func (w *buf) end(m mark) {
	n := len(w.b) - m.start
	k := protowire.SizeVarint(uint64(n))
	if d := k - m.reserve; d > 0 {
		w.b = append(w.b, make([]byte, d)...)
		copy(w.b[m.start+d:], w.b[m.start:m.start+n])
	} else if d < 0 {
		copy(w.b[m.start+d:], w.b[m.start:m.start+n])
		w.b = w.b[:len(w.b)+d]
	}
	p := m.start - m.reserve // the length goes where the reserve began
	v := uint64(n)
	for ; v >= 0x80; v >>= 7 {
		w.b[p] = byte(v) | 0x80
		p++
	}
	w.b[p] = byte(v)
}

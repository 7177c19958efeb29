// Package protowire holds the protobuf wire-format pieces weft's runtime
// writes and reads by hand: wire types, varints, a minimal reader, and
// the UTF-8 repair protobuf strings need. The runtime lives in GOROOT/src
// and may import nothing outside the standard library, so
// google.golang.org/protobuf/encoding/protowire cannot serve; package
// trace (attributes in wire form) and package otlp (the request around
// them) share these.
package protowire

import (
	"encoding/binary"
	"unicode/utf8"
	"unsafe"
)

// Wire types.
const (
	Varint  = 0
	Fixed64 = 1
	Bytes   = 2
	Fixed32 = 5
)

// SizeVarint is the size of v as a varint.
func SizeVarint(v uint64) int {
	n := 1
	for ; v >= 0x80; v >>= 7 {
		n++
	}
	return n
}

// AppendVarint appends v as a varint (one byte, mostly).
func AppendVarint(b []byte, v uint64) []byte {
	if v < 0x80 {
		return append(b, byte(v))
	}
	return binary.AppendUvarint(b, v)
}

// Reader reads a message's fields in order. On malformed input it stops
// and sets Bad (Done then reports true).
type Reader struct {
	B   []byte
	Bad bool
}

func (r *Reader) Done() bool { return r.Bad || len(r.B) == 0 }

func (r *Reader) Varint() uint64 {
	var v uint64
	for i := 0; i < 10; i++ {
		if len(r.B) == 0 {
			r.Bad = true
			return 0
		}
		c := r.B[0]
		r.B = r.B[1:]
		v |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			return v
		}
	}
	r.Bad = true
	return 0
}

func (r *Reader) Tag() (field, wire int) {
	t := r.Varint()
	return int(t >> 3), int(t & 7)
}

// Bytes reads a length-delimited field's body.
func (r *Reader) Bytes() []byte {
	n := r.Varint()
	if r.Bad || n > uint64(len(r.B)) {
		r.Bad = true
		return nil
	}
	out := r.B[:n]
	r.B = r.B[n:]
	return out
}

// Fixed reads an n-byte little-endian field (4 or 8).
func (r *Reader) Fixed(n int) uint64 {
	if len(r.B) < n {
		r.Bad = true
		return 0
	}
	var v uint64
	for i := n - 1; i >= 0; i-- {
		v = v<<8 | uint64(r.B[i])
	}
	r.B = r.B[n:]
	return v
}

// Skip passes over a field of the given wire type.
func (r *Reader) Skip(wire int) {
	switch wire {
	case Varint:
		r.Varint()
	case Fixed64:
		r.Fixed(8)
	case Bytes:
		r.Bytes()
	case Fixed32:
		r.Fixed(4)
	default:
		r.Bad = true
	}
}

// ValidUTF8 returns s with each invalid byte replaced by U+FFFD: protobuf
// decoders reject invalid UTF-8, which would make a collector refuse the
// whole batch.
func ValidUTF8(s string) string {
	if IsASCII(s) {
		return s
	}
	return RepairUTF8(s)
}

// RepairUTF8 is ValidUTF8 past the ASCII check (hot paths call IsASCII
// themselves: a function with two calls is not inlined).
func RepairUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	out := make([]byte, 0, len(s)+8)
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

// IsASCII reports whether s is all ASCII, eight bytes at a time with
// overlapping loads for the tail: keys and most values are short ASCII
// strings, where utf8.ValidString's byte loop over the tail cost more
// than the rest of the encoding.
func IsASCII(s string) bool {
	const high = 0x8080808080808080
	b := unsafe.Slice(unsafe.StringData(s), len(s))
	n := len(b)
	var acc uint64
	switch {
	case n > 16:
		for i := 0; i+8 <= n; i += 8 {
			acc |= binary.LittleEndian.Uint64(b[i:])
		}
		acc |= binary.LittleEndian.Uint64(b[n-8:])
	case n >= 8: // most keys and values: two loads, no loop
		acc = binary.LittleEndian.Uint64(b) | binary.LittleEndian.Uint64(b[n-8:])
	case n >= 4:
		acc = uint64(binary.LittleEndian.Uint32(b) | binary.LittleEndian.Uint32(b[n-4:]))
	default:
		for _, c := range b {
			acc |= uint64(c)
		}
	}
	return acc&high == 0
}

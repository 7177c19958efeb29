package trace

import (
	"encoding/binary"
	"slices"
	"unicode/utf8"
	"unsafe"
)

// A record keeps its attributes in their OTLP wire form: each one a
// Span.attributes entry (field 9 holding a KeyValue), appended as it is
// set. Ending and exporting a span then takes no second pass over its
// attributes, and the record holds no pointer to the strings it was given
// (the garbage collector scans none of them). Package otlp copies the
// bytes as they are; AttrAt decodes them back for tests and debugging.
//
// The protobuf writing is by hand, as in package otlp (see its doc).

// Field numbers (opentelemetry-proto; otlp's tests decode the result with
// the official descriptors).
const (
	fieldSpanAttributes = 9
	fieldKVKey          = 1
	fieldKVValue        = 2
	fieldAnyString      = 1
	fieldAnyBool        = 2
	fieldAnyInt         = 3

	wireVarint = 0
	wireBytes  = 2
)

// AppendKeyValue appends a KeyValue as field (< 16, so its tag is one
// byte) of the enclosing message. Key and string value are repaired to
// valid UTF-8 (see ValidUTF8).
func AppendKeyValue(b []byte, field int, key string, kind AttrKind, str string, num int64) []byte {
	return appendKV(b, field, ValidUTF8(key), kind, str, num)
}

// appendKV is AppendKeyValue for a key already valid.
func appendKV(b []byte, field int, key string, kind AttrKind, str string, num int64) []byte {
	if kind == AttrString && len(key)+len(str) <= 120 {
		// Every length fits one byte: the usual case, written directly.
		if !isASCII(str) {
			str = repairUTF8(str)
		}
		if len(key)+len(str) <= 120 { // a repair can lengthen str
			return append(append(append(append(b,
				byte(field<<3|wireBytes), byte(6+len(key)+len(str)),
				fieldKVKey<<3|wireBytes, byte(len(key))), key...),
				fieldKVValue<<3|wireBytes, byte(2+len(str)),
				fieldAnyString<<3|wireBytes, byte(len(str))), str...)
		}
	}
	var val int // AnyValue body
	switch kind {
	case AttrInt:
		val = 1 + uvarintLen(uint64(num))
	case AttrBool:
		val = 2
	default:
		str = ValidUTF8(str)
		val = 1 + uvarintLen(uint64(len(str))) + len(str)
	}
	kv := 2 + uvarintLen(uint64(len(key))) + len(key) + uvarintLen(uint64(val)) + val
	b = slices.Grow(b, 1+uvarintLen(uint64(kv))+kv)
	b = append(b, byte(field<<3|wireBytes))
	b = appendUvarint(b, uint64(kv))
	b = append(b, fieldKVKey<<3|wireBytes)
	b = appendUvarint(b, uint64(len(key)))
	b = append(b, key...)
	b = append(b, fieldKVValue<<3|wireBytes)
	b = appendUvarint(b, uint64(val))
	switch kind {
	case AttrInt:
		b = append(b, fieldAnyInt<<3|wireVarint)
		b = appendUvarint(b, uint64(num))
	case AttrBool:
		b = append(b, fieldAnyBool<<3|wireVarint, byte(num&1))
	default:
		b = append(b, fieldAnyString<<3|wireBytes)
		b = appendUvarint(b, uint64(len(str)))
		b = append(b, str...)
	}
	return b
}

func appendUvarint(b []byte, v uint64) []byte {
	if v < 0x80 {
		return append(b, byte(v))
	}
	return binary.AppendUvarint(b, v)
}

func uvarintLen(v uint64) int {
	n := 1
	for ; v >= 0x80; v >>= 7 {
		n++
	}
	return n
}

// entryKey is the key of the attribute entry of b at off and the offset
// of the next entry; b holds entries appendKV wrote.
func entryKey(b []byte, off int) (key []byte, next int) {
	n, k := uvarintAt(b, off+1) // after the tag
	body := off + 1 + k
	kl, k2 := uvarintAt(b, body+1) // after the key's tag
	return b[body+1+k2 : body+1+k2+kl], body + n
}

// uvarintAt decodes the varint at b[off:] (one byte, mostly).
func uvarintAt(b []byte, off int) (v, n int) {
	if c := b[off]; c < 0x80 {
		return int(c), 1
	}
	u, n := binary.Uvarint(b[off:])
	return int(u), n
}

// kvEntry is one attribute entry of b at off: its key, value and the
// offset of the next entry. ok is false when b does not hold an entry
// there (it always does: appendKV wrote it).
func kvEntry(b []byte, off int) (key []byte, kind AttrKind, str []byte, num int64, next int, ok bool) {
	field := func(b []byte, tag byte) ([]byte, []byte, bool) {
		if len(b) < 2 || b[0] != tag {
			return nil, nil, false
		}
		n, k := binary.Uvarint(b[1:])
		if k <= 0 || n > uint64(len(b)-1-k) {
			return nil, nil, false
		}
		body := b[1+k : 1+k+int(n)]
		return body, b[1+k+int(n):], true
	}
	body, rest, ok := field(b[off:], fieldSpanAttributes<<3|wireBytes)
	if !ok {
		return
	}
	next = len(b) - len(rest)
	key, body, ok = field(body, fieldKVKey<<3|wireBytes)
	if !ok {
		return
	}
	val, _, ok := field(body, fieldKVValue<<3|wireBytes)
	if !ok || len(val) < 2 {
		return nil, 0, nil, 0, 0, false
	}
	switch val[0] {
	case fieldAnyString<<3 | wireBytes:
		kind = AttrString
		str, _, ok = field(val, val[0])
	case fieldAnyBool<<3 | wireVarint:
		kind, num = AttrBool, int64(val[1])
	case fieldAnyInt<<3 | wireVarint:
		u, k := binary.Uvarint(val[1:])
		kind, num, ok = AttrInt, int64(u), k > 0
	default:
		ok = false
	}
	return key, kind, str, num, next, ok
}

// ValidUTF8 returns s with each invalid byte replaced by U+FFFD: protobuf
// decoders reject invalid UTF-8, which would make a collector refuse the
// whole batch.
func ValidUTF8(s string) string {
	if isASCII(s) {
		return s
	}
	return repairUTF8(s)
}

// repairUTF8 is ValidUTF8 past the ASCII check (hot paths call isASCII
// themselves: a function with two calls is not inlined).
func repairUTF8(s string) string {
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

// isASCII reports whether s is all ASCII, eight bytes at a time with
// overlapping loads for the tail: keys and most values are short ASCII
// strings, where utf8.ValidString's byte loop over the tail cost more
// than the rest of the encoding.
func isASCII(s string) bool {
	const high = 0x8080808080808080
	b := unsafe.Slice(unsafe.StringData(s), len(s))
	n := len(b)
	var acc uint64
	switch {
	case n >= 8:
		for i := 0; i+8 <= n; i += 8 {
			acc |= binary.LittleEndian.Uint64(b[i:])
		}
		acc |= binary.LittleEndian.Uint64(b[n-8:])
	case n >= 4:
		acc = uint64(binary.LittleEndian.Uint32(b) | binary.LittleEndian.Uint32(b[n-4:]))
	default:
		for _, c := range b {
			acc |= uint64(c)
		}
	}
	return acc&high == 0
}

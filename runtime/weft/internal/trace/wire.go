package trace

import (
	"slices"

	"weft/internal/protowire"
)

// A record keeps its attributes in their OTLP wire form: each one a
// Span.attributes entry (field 9 holding a KeyValue), appended as it is
// set. Ending and exporting a span then takes no second pass over its
// attributes, and the record holds no pointer to the strings it was given
// (the garbage collector scans none of them). Package otlp copies the
// bytes as they are; AttrAt decodes them back for tests and debugging.

// Field numbers (opentelemetry-proto; otlp's tests decode the result with
// the official descriptors).
const (
	fieldSpanAttributes = 9
	fieldKVKey          = 1
	fieldKVValue        = 2
	fieldAnyString      = 1
	fieldAnyBool        = 2
	fieldAnyInt         = 3

	wireVarint = protowire.Varint
	wireBytes  = protowire.Bytes
)

// AppendKeyValue appends a KeyValue as field (< 16, so its tag is one
// byte) of the enclosing message. Key and string value are repaired to
// valid UTF-8 (see protowire.ValidUTF8).
func AppendKeyValue(b []byte, field int, key string, kind AttrKind, str string, num int64) []byte {
	return appendKV(b, field, protowire.ValidUTF8(key), kind, str, num)
}

// appendKV is AppendKeyValue for a key already valid.
func appendKV(b []byte, field int, key string, kind AttrKind, str string, num int64) []byte {
	if kind == AttrString && len(key)+len(str) <= 120 {
		// Every length fits one byte: the usual case, written directly.
		if !protowire.IsASCII(str) {
			str = protowire.RepairUTF8(str)
		}
		if len(key)+len(str) <= 120 { // a repair can lengthen str
			return append(append(append(append(b,
				byte(field<<3|wireBytes), byte(6+len(key)+len(str)),
				fieldKVKey<<3|wireBytes, byte(len(key))), key...),
				fieldKVValue<<3|wireBytes, byte(2+len(str)),
				fieldAnyString<<3|wireBytes, byte(len(str))), str...)
		}
	}
	size := protowire.SizeVarint
	var val int // AnyValue body
	switch kind {
	case AttrInt:
		val = 1 + size(uint64(num))
	case AttrBool:
		val = 2
	default:
		str = protowire.ValidUTF8(str)
		val = 1 + size(uint64(len(str))) + len(str)
	}
	kv := 2 + size(uint64(len(key))) + len(key) + size(uint64(val)) + val
	b = slices.Grow(b, 1+size(uint64(kv))+kv)
	b = append(b, byte(field<<3|wireBytes))
	b = protowire.AppendVarint(b, uint64(kv))
	b = append(b, fieldKVKey<<3|wireBytes)
	b = protowire.AppendVarint(b, uint64(len(key)))
	b = append(b, key...)
	b = append(b, fieldKVValue<<3|wireBytes)
	b = protowire.AppendVarint(b, uint64(val))
	switch kind {
	case AttrInt:
		b = append(b, fieldAnyInt<<3|wireVarint)
		b = protowire.AppendVarint(b, uint64(num))
	case AttrBool:
		b = append(b, fieldAnyBool<<3|wireVarint, byte(num&1))
	default:
		b = append(b, fieldAnyString<<3|wireBytes)
		b = protowire.AppendVarint(b, uint64(len(str)))
		b = append(b, str...)
	}
	return b
}

// kvEntry is the attribute entry of b at off: its key, value and the
// offset of the next entry. ok is false when b does not hold an entry
// there (it always does: appendKV wrote it).
func kvEntry(b []byte, off int) (key []byte, kind AttrKind, str []byte, num int64, next int, ok bool) {
	r := protowire.Reader{B: b[off:]}
	if f, w := r.Tag(); f != fieldSpanAttributes || w != wireBytes {
		return
	}
	kv := protowire.Reader{B: r.Bytes()}
	next = len(b) - len(r.B)
	found := false
	for !kv.Done() {
		f, w := kv.Tag()
		if w != wireBytes || (f != fieldKVKey && f != fieldKVValue) {
			kv.Skip(w)
			continue
		}
		body := kv.Bytes()
		if f == fieldKVKey {
			key = body
			continue
		}
		v := protowire.Reader{B: body}
		switch f, w := v.Tag(); {
		case f == fieldAnyString && w == wireBytes:
			kind, str, found = AttrString, v.Bytes(), true
		case f == fieldAnyBool && w == wireVarint:
			kind, num, found = AttrBool, int64(v.Varint()), true
		case f == fieldAnyInt && w == wireVarint:
			kind, num, found = AttrInt, int64(v.Varint()), true
		}
		if v.Bad {
			return nil, 0, nil, 0, 0, false
		}
	}
	return key, kind, str, num, next, found && !r.Bad && !kv.Bad
}

// entryKey is the key of the attribute entry of b at off and the offset
// of the next entry; b holds entries appendKV wrote.
func entryKey(b []byte, off int) (key []byte, next int) {
	r := protowire.Reader{B: b[off:]}
	r.Tag()
	kv := protowire.Reader{B: r.Bytes()}
	kv.Tag()
	return kv.Bytes(), len(b) - len(r.B)
}

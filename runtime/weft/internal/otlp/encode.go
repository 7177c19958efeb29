package otlp

import (
	"encoding/binary"
	"slices"

	"weft/internal/protowire"
	"weft/internal/trace"
)

// Field numbers, from opentelemetry-proto (checked against the official
// descriptors; see encode_test.go).
const (
	// ExportTraceServiceRequest
	fReqResourceSpans = 1
	// ResourceSpans
	fRSResource   = 1
	fRSScopeSpans = 2
	// ScopeSpans
	fSSScope = 1
	fSSSpans = 2
	// InstrumentationScope
	fScopeName    = 1
	fScopeVersion = 2
	// Resource
	fResAttributes = 1
	// Span
	fSpanTraceID      = 1
	fSpanSpanID       = 2
	fSpanTraceState   = 3
	fSpanParentSpanID = 4
	fSpanName         = 5
	fSpanKind         = 6
	fSpanStart        = 7
	fSpanEnd          = 8
	// 9, attributes: package trace writes the entries (trace/wire.go)
	fSpanDroppedAttrs = 10
	fSpanStatus       = 15
	fSpanFlags        = 16
	// Status
	fStatusMessage = 2
	fStatusCode    = 3
)

// SpanFlags bits for the parent's remoteness (Span.flags).
const (
	flagHasIsRemote = 0x100
	flagIsRemote    = 0x200
)

// EncodeResource returns the encoded Resource message body (without its
// tag), so the exporter encodes it once.
func EncodeResource(attrs []trace.Attr) []byte {
	var b []byte
	for _, a := range attrs {
		b = trace.AppendKeyValue(b, fResAttributes, a.Key, a.Kind, a.Str, a.Int)
	}
	return b
}

// AppendRequest appends an ExportTraceServiceRequest holding the batch's
// spans, grouped by scope, under one resource, to dst.
func AppendRequest(dst []byte, resource []byte, b *Batch) []byte {
	_, parts := requestParts(nil, nil, resource, b)
	for _, p := range parts {
		dst = append(dst, p...)
	}
	return dst
}

// requestParts lays out the ExportTraceServiceRequest for b without
// copying its spans: the request is the concatenation of the returned
// parts, which are pieces of hdr (the wrappers, the resource and each
// scope's header, appended to hdr) and each scope's spans as they are.
func requestParts(hdr []byte, parts [][]byte, resource []byte, b *Batch) ([]byte, [][]byte) {
	size := protowire.SizeVarint
	field := func(n int) int { return 1 + size(uint64(n)) + n } // one-byte tag
	scopeMsg := func(name string) int {
		if name == "" {
			return 0
		}
		return field(len(protowire.ValidUTF8(name)))
	}
	rs := field(len(resource))
	for _, sc := range b.scopes {
		rs += field(field(scopeMsg(sc.name)) + len(sc.spans))
	}
	start := len(hdr)
	hdr = appendLen(hdr, fReqResourceSpans, rs)
	hdr = append(appendLen(hdr, fRSResource, len(resource)), resource...)
	// Where each scope's header ends in hdr; parts are cut once hdr is
	// complete, as appending may move it.
	var ends [8]int
	cuts := ends[:0]
	for _, sc := range b.scopes {
		n := scopeMsg(sc.name)
		hdr = appendLen(hdr, fRSScopeSpans, field(n)+len(sc.spans))
		hdr = appendLen(hdr, fSSScope, n)
		hdr = appendString(hdr, fScopeName, protowire.ValidUTF8(sc.name))
		cuts = append(cuts, len(hdr))
	}
	if len(b.scopes) == 0 {
		return hdr, append(parts, hdr[start:])
	}
	from := start
	for i, sc := range b.scopes {
		parts = append(parts, hdr[from:cuts[i]], sc.spans)
		from = cuts[i]
	}
	return hdr, parts
}

// appendLen appends the tag and length of a length-delimited field.
func appendLen(b []byte, field, n int) []byte {
	return protowire.AppendVarint(append(b, byte(field<<3|wireBytes)), uint64(n))
}

// AppendSpan appends r as a ScopeSpans.spans entry, for Batch.Add. It
// runs for every span as it ends, so it sizes the message first and then
// writes each field in place (every tag but flags' is one byte).
func AppendSpan(b []byte, s *trace.Record) []byte {
	name, state, msg := validUTF8(s.Name), validUTF8(s.SC.TraceState), validUTF8(s.StatusMsg)
	attrs := s.Attributes() // already Span.attributes entries
	parent := s.Parent.IsValid()
	size := protowire.SizeVarint
	status := 0
	if s.StatusCode != trace.StatusUnset {
		status = strSize(msg) + 2 // the code is 1 or 2
	}
	n := 18 + 10 + strSize(state) + strSize(name) + 2 + 9 + 9 + len(attrs) + 6
	if parent {
		n += 10
	}
	if s.Dropped > 0 {
		n += 1 + size(uint64(s.Dropped))
	}
	if status > 0 {
		n += 1 + size(uint64(status)) + status
	}
	off := len(b)
	b = slices.Grow(b, 1+size(uint64(n))+n)
	b = b[:off+1+size(uint64(n))+n]
	p := b[off:]
	p[0] = fSSSpans<<3 | wireBytes
	i := 1 + binary.PutUvarint(p[1:], uint64(n))
	p[i], p[i+1] = fSpanTraceID<<3|wireBytes, 16
	*(*trace.TraceID)(p[i+2:]) = s.SC.TraceID // no memmove call for 16 bytes
	i += 18
	p[i], p[i+1] = fSpanSpanID<<3|wireBytes, 8
	*(*trace.SpanID)(p[i+2:]) = s.SC.SpanID
	i += 10
	i = putString(p, i, fSpanTraceState, state)
	if parent {
		p[i], p[i+1] = fSpanParentSpanID<<3|wireBytes, 8
		*(*trace.SpanID)(p[i+2:]) = s.Parent
		i += 10
	}
	i = putString(p, i, fSpanName, name)
	p[i], p[i+1] = fSpanKind<<3|wireVarint, byte(s.Kind) // 1 to 5
	p[i+2] = fSpanStart<<3 | wireFixed64
	binary.LittleEndian.PutUint64(p[i+3:], uint64(s.StartUnixNano()))
	p[i+11] = fSpanEnd<<3 | wireFixed64
	binary.LittleEndian.PutUint64(p[i+12:], uint64(s.EndUnixNano()))
	i += 20 + copy(p[i+20:], attrs)
	if s.Dropped > 0 {
		p[i] = fSpanDroppedAttrs<<3 | wireVarint
		i += 1 + binary.PutUvarint(p[i+1:], uint64(s.Dropped))
	}
	if status > 0 {
		p[i] = fSpanStatus<<3 | wireBytes
		i += 1 + binary.PutUvarint(p[i+1:], uint64(status))
		i = putString(p, i, fStatusMessage, msg)
		p[i], p[i+1] = fStatusCode<<3|wireVarint, s.StatusCode
		i += 2
	}
	flags := uint32(s.SC.Flags) | flagHasIsRemote
	if parent && s.ParentRemote {
		flags |= flagIsRemote
	}
	p[i], p[i+1] = byte(fSpanFlags<<3|wireFixed32|0x80), fSpanFlags>>4 // a two-byte tag
	binary.LittleEndian.PutUint32(p[i+2:], flags)
	return b
}

// validUTF8 is protowire.ValidUTF8 without a call for the empty string.
func validUTF8(s string) string {
	if s == "" {
		return s
	}
	return protowire.ValidUTF8(s)
}

// strSize is the size of a string field, omitted when empty.
func strSize(v string) int {
	if v == "" {
		return 0
	}
	return 1 + protowire.SizeVarint(uint64(len(v))) + len(v)
}

// putString writes a string field at p[i:], omitted when empty, and
// returns the index after it.
func putString(p []byte, i, field int, v string) int {
	if v == "" {
		return i
	}
	p[i] = byte(field<<3 | wireBytes)
	i += 1 + binary.PutUvarint(p[i+1:], uint64(len(v)))
	return i + copy(p[i:], v)
}

// appendString appends a string field, omitted when empty.
func appendString(b []byte, field int, v string) []byte {
	if v == "" {
		return b
	}
	return append(appendLen(b, field, len(v)), v...)
}

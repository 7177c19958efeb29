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
	scopeMsg := func(name string) int { return strSize(protowire.ValidUTF8(name)) }
	rs := fieldSize(len(resource))
	for _, sc := range b.scopes {
		rs += fieldSize(fieldSize(scopeMsg(sc.name)) + len(sc.spans))
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
		hdr = appendLen(hdr, fRSScopeSpans, fieldSize(n)+len(sc.spans))
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
// sizes the message first, so its length is written once and the buffer
// grows at most once (every tag but flags' is one byte).
func AppendSpan(b []byte, s *trace.Record) []byte {
	name, state, msg := validUTF8(s.Name), validUTF8(s.SC.TraceState), validUTF8(s.StatusMsg)
	attrs := s.Attributes() // already Span.attributes entries
	parent := s.Parent.IsValid()
	status := 0
	if s.StatusCode != trace.StatusUnset {
		status = strSize(msg) + 2 // the code is 1 or 2
	}
	n := 18 + 10 + strSize(state) + strSize(name) + 2 + 9 + 9 + len(attrs) + 6
	if parent {
		n += 10
	}
	if s.Dropped > 0 {
		n += 1 + protowire.SizeVarint(uint64(s.Dropped))
	}
	if status > 0 {
		n += fieldSize(status)
	}
	b = slices.Grow(b, fieldSize(n))
	b = appendLen(b, fSSSpans, n)
	b = append(append(b, fSpanTraceID<<3|wireBytes, 16), s.SC.TraceID[:]...)
	b = append(append(b, fSpanSpanID<<3|wireBytes, 8), s.SC.SpanID[:]...)
	b = appendString(b, fSpanTraceState, state)
	if parent {
		b = append(append(b, fSpanParentSpanID<<3|wireBytes, 8), s.Parent[:]...)
	}
	b = appendString(b, fSpanName, name)
	b = append(b, fSpanKind<<3|wireVarint, byte(s.Kind)) // 1 to 5
	b = binary.LittleEndian.AppendUint64(append(b, fSpanStart<<3|wireFixed64), uint64(s.StartUnixNano()))
	b = binary.LittleEndian.AppendUint64(append(b, fSpanEnd<<3|wireFixed64), uint64(s.EndUnixNano()))
	b = append(b, attrs...)
	if s.Dropped > 0 {
		b = protowire.AppendVarint(append(b, fSpanDroppedAttrs<<3|wireVarint), uint64(s.Dropped))
	}
	if status > 0 {
		b = appendLen(b, fSpanStatus, status)
		b = appendString(b, fStatusMessage, msg)
		b = append(b, fStatusCode<<3|wireVarint, s.StatusCode)
	}
	flags := uint32(s.SC.Flags) | flagHasIsRemote
	if parent && s.ParentRemote {
		flags |= flagIsRemote
	}
	b = append(b, byte(fSpanFlags<<3|wireFixed32|0x80), fSpanFlags>>4) // a two-byte tag
	return binary.LittleEndian.AppendUint32(b, flags)
}

// validUTF8 is protowire.ValidUTF8 without a call for the empty string.
func validUTF8(s string) string {
	if s == "" {
		return s
	}
	return protowire.ValidUTF8(s)
}

// fieldSize is the size of a length-delimited field with an n-byte body
// and a one-byte tag.
func fieldSize(n int) int { return 1 + protowire.SizeVarint(uint64(n)) + n }

// strSize is the size of a string field, omitted when empty.
func strSize(v string) int {
	if v == "" {
		return 0
	}
	return fieldSize(len(v))
}

// appendString appends a string field, omitted when empty.
func appendString(b []byte, field int, v string) []byte {
	if v == "" {
		return b
	}
	return append(appendLen(b, field, len(v)), v...)
}

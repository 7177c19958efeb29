package otlp

import "weft/internal/trace"

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
	var w buf
	for i := range attrs {
		writeKV(&w, fResAttributes, &attrs[i])
	}
	return w.b
}

// AppendRequest appends an ExportTraceServiceRequest holding spans, grouped
// by scope, under one resource, to dst.
func AppendRequest(dst []byte, resource []byte, spans []*trace.Record) []byte {
	w := buf{b: dst}
	rs := w.begin(fReqResourceSpans, 3)
	w.tag(fRSResource, wireBytes)
	w.varint(uint64(len(resource)))
	w.b = append(w.b, resource...)

	// Group by scope, keeping first-seen order; batches usually hold a
	// handful of scopes, so a linear scan beats a map.
	var scopes [8]string
	scopeList := scopes[:0]
	for _, s := range spans {
		seen := false
		for _, sc := range scopeList {
			if sc == s.Scope {
				seen = true
				break
			}
		}
		if !seen {
			scopeList = append(scopeList, s.Scope)
		}
	}
	for _, scope := range scopeList {
		ss := w.begin(fRSScopeSpans, 3)
		sc := w.begin(fSSScope, 1)
		w.stringField(fScopeName, scope)
		w.end(sc)
		for _, s := range spans {
			if s.Scope == scope {
				writeSpan(&w, s)
			}
		}
		w.end(ss)
	}
	w.end(rs)
	return w.b
}

func writeSpan(w *buf, s *trace.Record) {
	m := w.begin(fSSSpans, 2)
	w.bytesField(fSpanTraceID, s.SC.TraceID[:])
	w.bytesField(fSpanSpanID, s.SC.SpanID[:])
	w.stringField(fSpanTraceState, s.SC.TraceState)
	if s.Parent.IsValid() {
		w.bytesField(fSpanParentSpanID, s.Parent[:])
	}
	w.stringField(fSpanName, s.Name)
	w.uvarintField(fSpanKind, uint64(s.Kind))
	w.fixed64Field(fSpanStart, uint64(s.StartUnixNano()))
	w.fixed64Field(fSpanEnd, uint64(s.EndUnixNano()))
	w.b = append(w.b, s.Attributes()...) // already Span.attributes entries
	w.uvarintField(fSpanDroppedAttrs, uint64(s.Dropped))
	if s.StatusCode != trace.StatusUnset {
		st := w.begin(fSpanStatus, 1)
		w.stringField(fStatusMessage, s.StatusMsg)
		w.uvarintField(fStatusCode, uint64(s.StatusCode))
		w.end(st)
	}
	flags := uint32(s.SC.Flags) | flagHasIsRemote
	if s.Parent.IsValid() && s.ParentRemote {
		flags |= flagIsRemote
	}
	w.fixed32Field(fSpanFlags, flags)
	w.end(m)
}

func writeKV(w *buf, field int, a *trace.Attr) {
	w.b = trace.AppendKeyValue(w.b, field, a.Key, a.Kind, a.Str, a.Int)
}

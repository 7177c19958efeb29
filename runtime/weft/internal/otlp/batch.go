package otlp

// Batch holds ended spans already encoded as OTLP Span messages, grouped
// by instrumentation scope. The batch processor encodes each span as it
// ends (AppendSpan), adds it to a Batch and recycles its record at once:
// a record then serves one span, not until the next export, and the
// exporter only wraps the bytes in a request.
type Batch struct {
	scopes []scopeSpans
	n      int
}

// scopeSpans is one scope's encoded spans (ScopeSpans.spans entries).
type scopeSpans struct {
	name  string
	spans []byte
}

// maxKeptBatch bounds the span bytes a reset Batch keeps for reuse (512
// server spans take about 230 KB).
const maxKeptBatch = 1 << 20

// Add appends a span of scope encoded by AppendSpan; it keeps no
// reference to span.
func (b *Batch) Add(scope string, span []byte) {
	i := 0
	for i < len(b.scopes) && b.scopes[i].name != scope {
		i++
	}
	if i == len(b.scopes) {
		// A reset batch keeps its buffers: reslicing reuses them.
		if i < cap(b.scopes) {
			b.scopes = b.scopes[:i+1]
			b.scopes[i].name = scope
		} else {
			b.scopes = append(b.scopes, scopeSpans{name: scope})
		}
	}
	b.scopes[i].spans = append(b.scopes[i].spans, span...)
	b.n++
}

// Len is the number of spans in the batch.
func (b *Batch) Len() int { return b.n }

// Reset empties the batch, keeping its buffers (up to maxKeptBatch bytes
// in all) for the next spans.
func (b *Batch) Reset() {
	kept := 0
	for i := range b.scopes {
		s := &b.scopes[i]
		kept += cap(s.spans)
		if kept > maxKeptBatch {
			s.spans = nil
		}
		s.spans = s.spans[:0]
		s.name = ""
	}
	b.scopes = b.scopes[:0]
	b.n = 0
}

package propagation

import (
	"context"
	"strings"
	"unsafe"

	"weft/internal/env"
	"weft/internal/trace"
)

// Canonical header keys, as net/http's CanonicalMIMEHeaderKey writes them.
const (
	HeaderTraceparent = "Traceparent"
	HeaderTracestate  = "Tracestate"
	HeaderBaggage     = "Baggage"
	HeaderB3          = "B3"
	HeaderB3TraceID   = "X-B3-Traceid"
	HeaderB3SpanID    = "X-B3-Spanid"
	HeaderB3Sampled   = "X-B3-Sampled"
	HeaderB3Flags     = "X-B3-Flags"
	HeaderB3ParentID  = "X-B3-Parentspanid"
	HeaderUberTraceID = "Uber-Trace-Id"
	uberctxPrefix     = "Uberctx-" // Jaeger baggage: one header a member
)

// A Kind is one propagator OTEL_PROPAGATORS can name.
type Kind uint8

const (
	TraceContext Kind = iota + 1 // W3C traceparent, tracestate
	W3CBaggage                   // W3C baggage
	B3                           // B3 single header (extracts both forms)
	B3Multi                      // B3 multi-header (extracts both forms)
	Jaeger                       // uber-trace-id, uberctx- baggage
)

var kindNames = [...]string{TraceContext: "tracecontext", W3CBaggage: "baggage", B3: "b3", B3Multi: "b3multi", Jaeger: "jaeger"}

// Propagators is the list chosen by OTEL_PROPAGATORS, in its order. On
// Extract each one reads the carrier in turn and the last to find a span
// context wins, as in the OpenTelemetry composite propagator.
type Propagators struct {
	list [len(kindNames) - 1]Kind
	n    int
}

// New returns the propagators named by kinds, in that order. A kind named
// twice keeps only its last place, which extracts and injects the same.
func New(kinds ...Kind) Propagators {
	var p Propagators
	for _, k := range kinds {
		if k == 0 || int(k) >= len(kindNames) {
			continue
		}
		j := 0
		for _, x := range p.list[:p.n] {
			if x != k {
				p.list[j] = x
				j++
			}
		}
		p.list[j] = k
		p.n = j + 1
	}
	return p
}

// Kinds returns the propagators in order.
func (p Propagators) Kinds() []Kind { return p.list[:p.n:p.n] }

// Keys returns, lower-cased, the header keys the propagators read (not
// Jaeger's uberctx- baggage, a prefix), for carriers that cannot be
// handed whole to Extract (gRPC metadata, Kafka and fasthttp headers).
func (p Propagators) Keys() []string {
	var keys []string
	add := func(names ...string) {
		for _, n := range names {
			keys = append(keys, strings.ToLower(n))
		}
	}
	b3 := false // b3 and b3multi read the same headers
	for _, k := range p.list[:p.n] {
		switch k {
		case TraceContext:
			add(HeaderTraceparent, HeaderTracestate)
		case W3CBaggage:
			add(HeaderBaggage)
		case B3, B3Multi:
			if !b3 {
				b3 = true
				add(HeaderB3, HeaderB3TraceID, HeaderB3SpanID, HeaderB3Sampled, HeaderB3Flags, HeaderB3ParentID)
			}
		case Jaeger:
			add(HeaderUberTraceID)
		}
	}
	return keys
}

func (p Propagators) has(k Kind) bool {
	for _, x := range p.list[:p.n] {
		if x == k {
			return true
		}
	}
	return false
}

// FromEnv reads OTEL_PROPAGATORS (default "tracecontext,baggage"; "none"
// disables propagation). Unsupported names warn once and are ignored.
func FromEnv() Propagators {
	v := env.Lookup("OTEL_PROPAGATORS")
	if v == "" {
		return New(TraceContext, W3CBaggage)
	}
	var kinds []Kind
next:
	for _, name := range strings.Split(v, ",") {
		name = strings.ToLower(strings.TrimSpace(name))
		switch name {
		case "none":
			return Propagators{}
		case "":
			continue
		}
		for k, n := range kindNames {
			if n == name && k > 0 {
				kinds = append(kinds, Kind(k))
				continue next
			}
		}
		env.Warnf("OTEL_PROPAGATORS: %q is not supported and is ignored (weft supports tracecontext, baggage, b3, b3multi, jaeger, none)", name)
	}
	return New(kinds...)
}

// Extract returns ctx carrying the remote span context and baggage found in
// h. Malformed values are ignored (ctx keeps its current span), and
// tracestate is only used with a valid traceparent.
func (p Propagators) Extract(ctx context.Context, h map[string][]string) context.Context {
	if ctx == nil {
		ctx = context.Background()
	}
	if len(h) == 0 || p.n == 0 {
		return ctx
	}
	var f fields
	f.collect(h, p.has(Jaeger))
	var sc trace.SpanContext
	found := false
	for _, k := range p.list[:p.n] {
		var c trace.SpanContext
		ok := false
		switch k {
		case TraceContext:
			if tp := f.one(fTraceparent); tp != "" {
				if c, ok = ParseTraceparent(tp); ok && len(f.v[fTracestate]) > 0 {
					c.TraceState, _ = ParseTracestate(f.v[fTracestate])
				}
			}
		case W3CBaggage:
			if len(f.v[fBaggage]) > 0 {
				if b := ParseBaggage(f.v[fBaggage]); b != nil {
					ctx = ContextWithBaggage(ctx, b)
				}
			}
		case B3, B3Multi:
			c, ok = f.b3()
		case Jaeger:
			if s := f.one(fUberTraceID); s != "" {
				c, ok = ParseJaeger(s)
			}
			if len(f.uberctx) > 0 {
				ctx = ContextWithBaggage(ctx, jaegerBaggage(BaggageFromContext(ctx), f.uberctx))
			}
		}
		if ok {
			sc, found = c, true
		}
	}
	if found {
		if cur := trace.FromContext(ctx); cur != nil && cur.Suppressed {
			sc.Suppressed = true
		}
		ctx = trace.WithSpanContext(ctx, &sc)
	}
	return ctx
}

// The header fields Extract reads.
const (
	fTraceparent = iota
	fTracestate
	fBaggage
	fB3
	fB3TraceID
	fB3SpanID
	fB3Sampled
	fB3Flags
	fB3ParentID
	fUberTraceID
	nFields
)

var fieldKeys = [nFields]string{
	HeaderTraceparent, HeaderTracestate, HeaderBaggage,
	HeaderB3, HeaderB3TraceID, HeaderB3SpanID, HeaderB3Sampled, HeaderB3Flags, HeaderB3ParentID,
	HeaderUberTraceID,
}

// fieldsByLen lists the fields by key length, so most keys are passed
// over without a comparison.
var fieldsByLen = func() (t [len(HeaderB3ParentID) + 1][]uint8) {
	for i, k := range fieldKeys {
		t[len(k)] = append(t[len(k)], uint8(i))
	}
	return t
}()

// fields holds the values of h under any spelling of the keys Extract
// reads, and the uberctx- headers (key lower-cased, without the prefix).
type fields struct {
	v       [nFields][]string
	uberctx [][2]string
}

// collect fills f in one pass over h.
func (f *fields) collect(h map[string][]string, uberctx bool) {
	for k, v := range h {
		i := nFields
		if len(k) < len(fieldsByLen) {
			for _, j := range fieldsByLen[len(k)] {
				if strings.EqualFold(k, fieldKeys[j]) {
					i = int(j)
					break
				}
			}
		}
		if i == nFields {
			if uberctx && len(k) > len(uberctxPrefix) && strings.EqualFold(k[:len(uberctxPrefix)], uberctxPrefix) {
				for _, x := range v {
					f.uberctx = append(f.uberctx, [2]string{strings.ToLower(k[len(uberctxPrefix):]), x})
				}
			}
			continue
		}
		if dst := &f.v[i]; *dst == nil {
			*dst = v
		} else {
			*dst = append((*dst)[:len(*dst):len(*dst)], v...)
		}
	}
}

// one returns the value of field i, or "" when it is absent or repeated
// (two values, or two spellings of the key, are ambiguous).
func (f *fields) one(i int) string {
	if len(f.v[i]) != 1 {
		return ""
	}
	return f.v[i][0]
}

// Inject writes the span context and baggage of ctx into h under the
// canonical keys, replacing any other spelling of the same keys.
func (p Propagators) Inject(ctx context.Context, h map[string][]string) {
	if ctx == nil || h == nil || p.n == 0 {
		return
	}
	sc := trace.FromContext(ctx)
	if !sc.IsValid() {
		sc = nil
	}
	b := BaggageFromContext(ctx)
	if sc == nil && b == nil {
		return
	}
	var buf [8]string
	keys := buf[:0] // the keys written (or deleted) below
	for _, k := range p.list[:p.n] {
		switch {
		case k == TraceContext && sc != nil:
			h[HeaderTraceparent] = traceparentValue(sc)
			if sc.TraceState != "" {
				h[HeaderTracestate] = []string{sc.TraceState}
			} else {
				delete(h, HeaderTracestate) // belonged to another traceparent
			}
			keys = append(keys, HeaderTraceparent, HeaderTracestate)
		case k == W3CBaggage && b != nil:
			if s := b.String(); s != "" {
				h[HeaderBaggage] = []string{s}
				keys = append(keys, HeaderBaggage)
			}
		case k == B3 && sc != nil:
			h[HeaderB3] = []string{FormatB3(sc)}
			keys = append(keys, HeaderB3)
		case k == B3Multi && sc != nil:
			sampled := "0"
			if sc.Sampled() {
				sampled = "1"
			}
			h[HeaderB3TraceID] = []string{sc.TraceID.String()}
			h[HeaderB3SpanID] = []string{sc.SpanID.String()}
			h[HeaderB3Sampled] = []string{sampled}
			delete(h, HeaderB3Flags) // another context's
			delete(h, HeaderB3ParentID)
			keys = append(keys, HeaderB3TraceID, HeaderB3SpanID, HeaderB3Sampled, HeaderB3Flags, HeaderB3ParentID)
		case k == Jaeger:
			if sc != nil {
				h[HeaderUberTraceID] = []string{FormatJaeger(sc)}
				keys = append(keys, HeaderUberTraceID)
			}
			if b != nil {
				keys = injectUberctx(h, b, keys)
			}
		}
	}
	dropSpellings(h, keys)
}

// dropSpellings deletes, in one pass, the other spellings of keys, so a
// request never carries two of them.
func dropSpellings(h map[string][]string, keys []string) {
	if len(keys) == 0 {
		return
	}
	for k := range h {
		for _, c := range keys {
			if len(k) == len(c) && k != c && strings.EqualFold(k, c) {
				delete(h, k)
				break
			}
		}
	}
}

// traceparentValue is []string{FormatTraceparent(sc)} in one allocation.
func traceparentValue(sc *trace.SpanContext) []string {
	v := new(struct {
		s [1]string
		b [55]byte
	})
	formatTraceparent(&v.b, sc)
	v.s[0] = unsafe.String(&v.b[0], len(v.b))
	return v.s[:]
}

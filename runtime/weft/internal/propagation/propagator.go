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
)

// Propagators is the set chosen by OTEL_PROPAGATORS.
type Propagators struct {
	TraceContext bool
	Baggage      bool
}

// FromEnv reads OTEL_PROPAGATORS (default "tracecontext,baggage"; "none"
// disables propagation). Unsupported names warn once and are ignored.
func FromEnv() Propagators {
	v := env.Lookup("OTEL_PROPAGATORS")
	if v == "" {
		return Propagators{TraceContext: true, Baggage: true}
	}
	var p Propagators
	for _, name := range strings.Split(v, ",") {
		switch name = strings.ToLower(strings.TrimSpace(name)); name {
		case "tracecontext":
			p.TraceContext = true
		case "baggage":
			p.Baggage = true
		case "none":
			return Propagators{}
		case "":
		default:
			env.Warnf("OTEL_PROPAGATORS: %q is not supported and is ignored (weft supports tracecontext, baggage, none)", name)
		}
	}
	return p
}

// Extract returns ctx carrying the remote span context and baggage found in
// h. A malformed traceparent is ignored (ctx keeps its current span), and
// tracestate is only used with a valid traceparent.
func (p Propagators) Extract(ctx context.Context, h map[string][]string) context.Context {
	if ctx == nil {
		ctx = context.Background()
	}
	if len(h) == 0 {
		return ctx
	}
	var tp, ts, bg []string
	collect(h, &tp, &ts, &bg)
	if p.TraceContext && len(tp) == 1 {
		if sc, ok := ParseTraceparent(tp[0]); ok {
			if len(ts) > 0 {
				sc.TraceState, _ = ParseTracestate(ts)
			}
			if cur := trace.FromContext(ctx); cur != nil && cur.Suppressed {
				sc.Suppressed = true
			}
			ctx = trace.WithSpanContext(ctx, &sc)
		}
	}
	if p.Baggage && len(bg) > 0 {
		if b := ParseBaggage(bg); b != nil {
			ctx = ContextWithBaggage(ctx, b)
		}
	}
	return ctx
}

// collect gathers, in one pass over h, the values stored under any
// spelling of the three keys.
func collect(h map[string][]string, tp, ts, bg *[]string) {
	for k, v := range h {
		var dst *[]string
		switch len(k) {
		case len(HeaderTraceparent):
			if strings.EqualFold(k, HeaderTraceparent) {
				dst = tp
			}
		case len(HeaderTracestate):
			if strings.EqualFold(k, HeaderTracestate) {
				dst = ts
			}
		case len(HeaderBaggage):
			if strings.EqualFold(k, HeaderBaggage) {
				dst = bg
			}
		}
		if dst == nil {
			continue
		}
		if *dst == nil {
			*dst = v
		} else {
			*dst = append((*dst)[:len(*dst):len(*dst)], v...)
		}
	}
}

// Inject writes the span context and baggage of ctx into h under the
// canonical keys, replacing any other spelling of the same keys.
func (p Propagators) Inject(ctx context.Context, h map[string][]string) {
	if ctx == nil || h == nil {
		return
	}
	var sc *trace.SpanContext
	if p.TraceContext {
		if sc = trace.FromContext(ctx); !sc.IsValid() {
			sc = nil
		}
	}
	var b *Baggage
	if p.Baggage {
		b = BaggageFromContext(ctx)
	}
	if sc == nil && b == nil {
		return
	}
	dropSpellings(h, sc != nil, b != nil)
	if sc != nil {
		h[HeaderTraceparent] = traceparentValue(sc)
		if sc.TraceState != "" {
			h[HeaderTracestate] = []string{sc.TraceState}
		} else {
			delete(h, HeaderTracestate) // belonged to another traceparent
		}
	}
	if b != nil {
		if s := b.String(); s != "" {
			h[HeaderBaggage] = []string{s}
		}
	}
}

// dropSpellings deletes, in one pass, the non-canonical spellings of the
// keys Inject is about to write, so a request never carries two of them.
func dropSpellings(h map[string][]string, tc, bg bool) {
	for k := range h {
		switch len(k) {
		case len(HeaderTraceparent):
			if tc && k != HeaderTraceparent && strings.EqualFold(k, HeaderTraceparent) {
				delete(h, k)
			}
		case len(HeaderTracestate):
			if tc && k != HeaderTracestate && strings.EqualFold(k, HeaderTracestate) {
				delete(h, k)
			}
		case len(HeaderBaggage):
			if bg && k != HeaderBaggage && strings.EqualFold(k, HeaderBaggage) {
				delete(h, k)
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

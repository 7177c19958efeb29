package propagation

import (
	"context"
	"strings"

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
	if p.TraceContext {
		if tp := values(h, HeaderTraceparent); len(tp) == 1 {
			if sc, ok := ParseTraceparent(tp[0]); ok {
				if ts := values(h, HeaderTracestate); len(ts) > 0 {
					sc.TraceState, _ = ParseTracestate(ts)
				}
				if cur := trace.FromContext(ctx); cur != nil && cur.Suppressed {
					sc.Suppressed = true
				}
				ctx = trace.WithSpanContext(ctx, &sc)
			}
		}
	}
	if p.Baggage {
		if bv := values(h, HeaderBaggage); len(bv) > 0 {
			if b := ParseBaggage(bv); b != nil {
				ctx = ContextWithBaggage(ctx, b)
			}
		}
	}
	return ctx
}

// Inject writes the span context and baggage of ctx into h under the
// canonical keys, replacing any other spelling of the same keys.
func (p Propagators) Inject(ctx context.Context, h map[string][]string) {
	if ctx == nil || h == nil {
		return
	}
	if p.TraceContext {
		if sc := trace.FromContext(ctx); sc.IsValid() {
			set(h, HeaderTraceparent, FormatTraceparent(sc))
			if sc.TraceState != "" {
				set(h, HeaderTracestate, sc.TraceState)
			} else {
				del(h, HeaderTracestate)
			}
		}
	}
	if p.Baggage {
		if b := BaggageFromContext(ctx); b != nil {
			if s := b.String(); s != "" {
				set(h, HeaderBaggage, s)
			}
		}
	}
}

// values returns all values stored under any spelling of key.
func values(h map[string][]string, key string) []string {
	var out []string
	n := 0
	for k, v := range h {
		if len(k) == len(key) && strings.EqualFold(k, key) {
			n++
			if n == 1 {
				out = v
			} else {
				out = append(out[:len(out):len(out)], v...)
			}
		}
	}
	return out
}

func set(h map[string][]string, key, value string) {
	del(h, key)
	h[key] = []string{value}
}

func del(h map[string][]string, key string) {
	for k := range h {
		if len(k) == len(key) && strings.EqualFold(k, key) {
			delete(h, k)
		}
	}
}

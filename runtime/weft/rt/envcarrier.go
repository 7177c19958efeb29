package rt

import (
	"context"

	"weft/internal/env"
	"weft/internal/propagation"
	"weft/internal/trace"
)

// The environment as a carrier (OpenTelemetry's "environment variables as
// context propagation carriers"): a process started with TRACEPARENT (and
// TRACESTATE) in its environment continues that trace. A span that finds
// no parent of its own, neither in its ctx nor on its goroutine, gets it as
// its remote parent; server and consumer spans do not: what a remote
// caller asked for starts from what that caller sent, not from whoever
// started the process. Children get the variables from rules/exec.

// envParent is the span context of the process's environment, or nil.
func envParent(props propagation.Propagators) *trace.SpanContext {
	h := map[string][]string{}
	for _, k := range [...]string{"TRACEPARENT", "TRACESTATE"} {
		if v := env.Lookup(k); v != "" {
			h[k] = []string{v}
		}
	}
	if len(h) == 0 {
		return nil
	}
	if sc := trace.FromContext(props.Extract(context.Background(), h)); sc.IsValid() {
		return sc
	}
	return nil
}

// startParent is the parent of a span of kind kind started under ctx. A
// server or consumer span begins work that came from outside: only ctx's
// own parent (the caller's, extracted) counts, never the span the serving
// or delivering goroutine inherited from the code that started it.
func (st *state) startParent(ctx context.Context, kind int) *trace.SpanContext {
	if kind == trace.KindServer || kind == trace.KindConsumer {
		return trace.FromContext(ctx)
	}
	if sc := parentOf(ctx); sc != nil {
		return sc
	}
	return st.envParent
}

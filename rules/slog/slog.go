// Log correlation for log/slog: woven into package log/slog, around
// (*Logger).log and logAttrs, which every Logger method and package-level
// function passes. Inside a span (the call's ctx, else the goroutine's
// current span) the record gets trace_id and span_id attributes, after the
// caller's, so any Handler writes them in its own format.

package slog

import "context"

// weftIDs returns the ids to add, or "" when the record is not written
// or there is no span.
func weftIDs(l *Logger, ctx context.Context, level Level) (string, string) {
	if ctx == nil {
		ctx = context.Background()
	}
	if l == nil || !l.Enabled(ctx, level) {
		return "", ""
	}
	return weftTraceIDs(ctx)
}

func weftLogBefore(l **Logger, ctx *context.Context, level *Level, _ *string, args *[]any) (struct{}, bool) {
	defer func() { _ = recover() }()
	if tid, sid := weftIDs(*l, *ctx, *level); tid != "" {
		a := *args
		*args = append(a[:len(a):len(a)], "trace_id", tid, "span_id", sid)
	}
	return struct{}{}, false
}

func weftLogAttrsBefore(l **Logger, ctx *context.Context, level *Level, _ *string, attrs *[]Attr) (struct{}, bool) {
	defer func() { _ = recover() }()
	if tid, sid := weftIDs(*l, *ctx, *level); tid != "" {
		a := *attrs
		*attrs = append(a[:len(a):len(a)], String("trace_id", tid), String("span_id", sid))
	}
	return struct{}{}, false
}

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

// weftOwnKey reports whether key is trace_id or span_id: a record that
// has its own gets no second one from weft.
func weftOwnKey(key string) bool { return key == "trace_id" || key == "span_id" }

func weftLogBefore(l **Logger, ctx *context.Context, level *Level, _ *string, args *[]any) (struct{}, bool) {
	defer func() { _ = recover() }()
	if tid, sid := weftIDs(*l, *ctx, *level); tid != "" && !weftOwnArgs(*args) {
		// A new slice, copied into: storing anything made from *args back
		// through the pointer would move every caller's variadic array
		// to the heap, in or out of a span.
		a := make([]any, 0, len(*args)+4)
		*args = append(append(a, *args...), "trace_id", tid, "span_id", sid)
	}
	return struct{}{}, false
}

// weftOwnArgs reports whether log's arguments name a trace_id or span_id
// key, read as argsToAttr pairs them.
func weftOwnArgs(args []any) bool {
	for i := 0; i < len(args); {
		switch x := args[i].(type) {
		case string:
			if weftOwnKey(x) {
				return true
			}
			i += 2
		case Attr:
			if weftOwnKey(x.Key) {
				return true
			}
			i++
		default:
			i++
		}
	}
	return false
}

func weftLogAttrsBefore(l **Logger, ctx *context.Context, level *Level, _ *string, attrs *[]Attr) (struct{}, bool) {
	defer func() { _ = recover() }()
	if tid, sid := weftIDs(*l, *ctx, *level); tid != "" {
		for i := range *attrs {
			if weftOwnKey((*attrs)[i].Key) {
				return struct{}{}, false
			}
		}
		a := make([]Attr, 0, len(*attrs)+2) // (see weftLogBefore)
		*attrs = append(append(a, *attrs...), String("trace_id", tid), String("span_id", sid))
	}
	return struct{}{}, false
}

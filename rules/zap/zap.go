// Log correlation for zap: woven into package zapcore, around
// (*CheckedEntry).Write, which every Logger and SugaredLogger call that
// passes its level ends in. zap calls carry no ctx: the ids are those of
// the goroutine's current span.

package zapcore

import (
	"time"
	_ "unsafe"
)

// weftZapIDs is weft/rt.TraceIDs. zapcore does not import context, so the
// generated API lacks it; the parameter is spelled with context.Context's
// method set (same layout). nil: the goroutine's span.
//
//go:linkname weftZapIDs weft/rt.TraceIDs
func weftZapIDs(ctx interface {
	Deadline() (time.Time, bool)
	Done() <-chan struct{}
	Err() error
	Value(key interface{}) interface{}
}) (traceID, spanID string)

func weftWriteBefore(ce **CheckedEntry, fields *[]Field) (struct{}, bool) {
	defer func() { _ = recover() }()
	if *ce == nil {
		return struct{}{}, false
	}
	tid, sid := weftZapIDs(nil)
	if tid == "" || weftOwnIDs(*ce, *fields) {
		return struct{}{}, false
	}
	// A new slice, copied into: storing anything made from *fields back
	// through the pointer would move every caller's variadic array to the
	// heap, in or out of a span.
	f := make([]Field, 0, len(*fields)+2)
	*fields = append(append(f, *fields...),
		Field{Key: "trace_id", Type: StringType, String: tid},
		Field{Key: "span_id", Type: StringType, String: sid})
	return struct{}{}, false
}

// weftOwnIDs reports whether the entry already carries a trace_id or
// span_id of the program's own (a field of the call, or of a With on a
// core zap built): weft adds none then, rather than a second key.
func weftOwnIDs(ce *CheckedEntry, fields []Field) bool {
	for i := range fields {
		if weftOwnKey(fields[i].Key) {
			return true
		}
	}
	for _, c := range ce.cores {
		if io, ok := c.(*ioCore); ok && io.weftOwnIDs {
			return true
		}
	}
	return false
}

func weftOwnKey(key string) bool { return key == "trace_id" || key == "span_id" }

// weftWithBefore and weftWithAfter mark the core (*ioCore).With returns
// when it, or the core it came from, got a trace_id or span_id field.
func weftWithBefore(c **ioCore, fields *[]Field) (bool, bool) {
	defer func() { _ = recover() }()
	if *c == nil {
		return false, false
	}
	own := (*c).weftOwnIDs
	for i := range *fields {
		own = own || weftOwnKey((*fields)[i].Key)
	}
	return own, own
}

func weftWithAfter(own bool, core *Core) {
	defer func() { _ = recover() }()
	if io, ok := (*core).(*ioCore); ok && own {
		io.weftOwnIDs = true
	}
}

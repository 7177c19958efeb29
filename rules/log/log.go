// Log correlation for package log: woven into package log, around
// (*Logger).output, which every Print*, Fatal*, Panic* and Output call
// passes. Inside a span a line written to a file gets " trace_id=…
// span_id=…" before its newline; outside a span it is unchanged.

package log

import (
	"os"
	"time"
	_ "unsafe"
)

// weftLogIDs is weft/rt.TraceIDs. Package log does not import context, so
// the generated API lacks it; the parameter is spelled with
// context.Context's method set (same layout). nil: the goroutine's span.
//
//go:linkname weftLogIDs weft/rt.TraceIDs
func weftLogIDs(ctx interface {
	Deadline() (time.Time, bool)
	Done() <-chan struct{}
	Err() error
	Value(key interface{}) interface{}
}) (traceID, spanID string)

func weftOutputBefore(l **Logger, pc *uintptr, _ *int, appendOutput *func([]byte) []byte) (struct{}, bool) {
	defer func() { _ = recover() }()
	// A pc comes only from log/slog's default handler, whose record
	// carries the ids already (rules/slog). A discarding logger writes
	// nothing.
	if *pc != 0 || *appendOutput == nil || *l == nil || (*l).isDiscard.Load() {
		return struct{}{}, false
	}
	tid, sid := weftLogIDs(nil)
	if tid == "" {
		return struct{}{}, false
	}
	// Only lines bound for a file (stderr, stdout, a log file) get ids: a
	// Logger writing into a buffer, a connection or an io.MultiWriter may
	// be producing data the program serves or compares (an import log
	// returned by an API, a test's expected output).
	if _, file := (*l).Writer().(*os.File); !file {
		return struct{}{}, false
	}
	// The message is formatted here, once, as output would, and output
	// gets a closure over the bytes: a closure over appendOutput itself
	// would move every caller's closure (and its arguments) to the heap,
	// in or out of a span.
	b := (*appendOutput)(nil)
	nl := len(b) > 0 && b[len(b)-1] == '\n'
	if nl {
		b = b[:len(b)-1]
	}
	b = append(b, " trace_id="...)
	b = append(b, tid...)
	b = append(b, " span_id="...)
	b = append(b, sid...)
	if nl {
		b = append(b, '\n')
	}
	*appendOutput = func(out []byte) []byte { return append(out, b...) }
	return struct{}{}, false
}

package rt

import (
	"context"
	"unsafe"

	"weft/internal/semconv"
	"weft/internal/trace"
)

// Enabled reports whether spans are recorded: false when OTEL_SDK_DISABLED
// is true or OTEL_TRACES_EXPORTER is none. Hooks return early when false.
//
//go:linkname Enabled
func Enabled() bool { return active.Load() != nil }

// StartSpan starts a span as a child of the span (or remote parent) in ctx
// (else, except for server and consumer spans, of the goroutine's current
// span, see Enter, else of the environment's TRACEPARENT) and returns ctx
// carrying it. kind uses OTLP numbering (1 internal,
// 2 server, 3 client, 4 producer, 5 consumer). The handle is nil when the
// span is not recording (unsampled, disabled, or ctx marked by Suppress);
// an unsampled span still propagates through the returned ctx.
//
//go:linkname StartSpan
func StartSpan(ctx context.Context, scope, name string, kind int) (rctx context.Context, span unsafe.Pointer) {
	st := active.Load()
	if st == nil {
		return orBackground(ctx), nil
	}
	defer func() {
		if recover() != nil {
			rctx, span = orBackground(ctx), nil
		}
	}()
	c, s := st.tracer.StartFrom(ctx, st.startParent(ctx, kind), scope, name, kind)
	return c, unsafe.Pointer(s)
}

// SetName, SetString, SetStrings, SetInt and SetBool run for every attribute of every span, so
// they skip the deferred recover of the other entry points: they only lock
// and append, and hooks run under a recover of their own
// (rules/README.md).

// SetName renames the span (e.g. once http.route is known).
//
//go:linkname SetName
func SetName(span unsafe.Pointer, name string) {
	if span == nil {
		return
	}
	(*trace.Span)(span).SetName(name)
}

// SetString sets a string attribute.
//
//go:linkname SetString
func SetString(span unsafe.Pointer, key, value string) {
	if span == nil {
		return
	}
	(*trace.Span)(span).SetString(key, value)
}

// SetStrings sets string attributes from key, value pairs, all under the
// span's lock once. Woven code declares it //go:noescape, so its pairs
// can live on the caller's stack: nothing here keeps kv or its strings
// (the record copies them into its wire form).
//
//go:linkname SetStrings
func SetStrings(span unsafe.Pointer, kv []string) {
	if span == nil {
		return
	}
	(*trace.Span)(span).SetStrings(kv)
}

// SetInt sets an integer attribute.
//
//go:linkname SetInt
func SetInt(span unsafe.Pointer, key string, value int64) {
	if span == nil {
		return
	}
	(*trace.Span)(span).SetInt(key, value)
}

// SetBool sets a boolean attribute.
//
//go:linkname SetBool
func SetBool(span unsafe.Pointer, key string, value bool) {
	if span == nil {
		return
	}
	(*trace.Span)(span).SetBool(key, value)
}

// SetError sets status ERROR with message, and the error.type attribute.
//
//go:linkname SetError
func SetError(span unsafe.Pointer, errorType, message string) {
	if span == nil {
		return
	}
	defer recoverHook()
	(*trace.Span)(span).SetError(errorType, message)
}

// End records the end time (from the monotonic clock) and hands the span
// to the batch processor. It never blocks; only the first call counts.
//
//go:linkname End
func End(span unsafe.Pointer) {
	if span == nil {
		return
	}
	defer recoverHook()
	(*trace.Span)(span).Finish()
}

// Extract returns ctx carrying the remote span context (W3C traceparent
// and tracestate, B3 or Jaeger) and baggage found in header, per
// OTEL_PROPAGATORS. Header keys are matched case-insensitively.
//
//go:linkname Extract
func Extract(ctx context.Context, header map[string][]string) (rctx context.Context) {
	st := active.Load()
	if st == nil {
		return orBackground(ctx)
	}
	defer func() {
		if recover() != nil {
			rctx = orBackground(ctx)
		}
	}()
	return st.props.Extract(ctx, header)
}

// PropagationKeys returns, lower-cased, the header keys the configured
// propagators read (OTEL_PROPAGATORS), for hooks whose carrier must be
// built key by key (gRPC metadata, Kafka and fasthttp headers); nil when
// disabled. The slice is shared: callers must not change it.
//
//go:linkname PropagationKeys
func PropagationKeys() []string {
	if st := active.Load(); st != nil {
		return st.keys
	}
	return nil
}

// Inject writes the span context (and baggage) of ctx into header under
// canonical keys, per OTEL_PROPAGATORS (by default Traceparent, Tracestate
// and Baggage).
//
//go:linkname Inject
func Inject(ctx context.Context, header map[string][]string) {
	st := active.Load()
	if st == nil || ctx == nil || header == nil {
		return
	}
	defer recoverHook()
	st.props.Inject(ctx, header)
}

// Suppress marks ctx so that no span starts under it (the exporter's own
// requests, or any code that must not be traced).
//
//go:linkname Suppress
func Suppress(ctx context.Context) (rctx context.Context) {
	defer func() {
		if recover() != nil {
			rctx = orBackground(ctx)
		}
	}()
	return trace.Suppress(ctx)
}

// SpanScope returns the instrumentation scope of ctx's current span when
// it is weft's own and still open ("weft/database/sql"), else "": a
// database driver's hook leaves the query to the database/sql span
// around it.
//
//go:linkname SpanScope
func SpanScope(ctx context.Context) (scope string) {
	defer func() {
		if recover() != nil {
			scope = ""
		}
	}()
	return trace.ScopeOf(ctx)
}

// RedactQuery replaces every value of a raw URL query with "REDACTED".
//
//go:linkname RedactQuery
func RedactQuery(rawQuery string) (s string) {
	defer func() {
		if recover() != nil {
			s = ""
		}
	}()
	return semconv.RedactQuery(rawQuery)
}

// SQLInfo returns the operation (the statement's keyword, upper-cased;
// see semconv.SQLInfo for WITH), the target table and the statement with
// literals replaced by "?".
//
//go:linkname SQLInfo
func SQLInfo(query string) (operation, target, sanitized string) {
	defer func() {
		if recover() != nil {
			operation, target, sanitized = "", "", ""
		}
	}()
	return semconv.CachedSQLInfo(query)
}

// DBSystem returns the semconv db.system.name for the package path of a
// database/sql driver type; "other_sql" when unknown.
//
//go:linkname DBSystem
func DBSystem(driverPkgPath string) (s string) {
	defer func() {
		if recover() != nil {
			s = "other_sql"
		}
	}()
	return semconv.DBSystem(driverPkgPath)
}

// DSNInfo returns server.address, server.port and db.namespace from a
// data source name, best effort; never credentials.
//
//go:linkname DSNInfo
func DSNInfo(system, dsn string) (host string, port int, namespace string) {
	defer func() {
		if recover() != nil {
			host, port, namespace = "", 0, ""
		}
	}()
	return semconv.DSNInfo(system, dsn)
}

func orBackground(ctx context.Context) context.Context {
	if ctx == nil {
		return context.Background()
	}
	return ctx
}

func recoverHook() { recover() }

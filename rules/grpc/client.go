// Client spans for gRPC: woven into package google.golang.org/grpc, around
// newClientStream, where every unary (Invoke) and streaming (NewStream)
// call starts, after the user's client interceptors. The span ends through
// an OnFinish call option, which grpc calls once when the call is over
// (status received, error, or context done); or when the stream cannot be
// created. Written for the Go language version of old grpc releases.

package grpc

import (
	"context"
	"io"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"unsafe"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// weftClientCall ends its span once, from whichever path sees the end first.
type weftClientCall struct {
	span unsafe.Pointer
	done int32
}

func weftClientStreamBefore(ctx *context.Context, _ **StreamDesc, cc **ClientConn, method *string, opts *[]CallOption) (c *weftClientCall, ok bool) {
	defer func() { _ = recover() }()
	// The OpenTelemetry SDK's own OTLP/gRPC exports (traces, metrics,
	// logs): a span for each would only trace the tracing.
	if !weftEnabled() || strings.HasPrefix(*method, "/opentelemetry.proto.collector.") {
		return nil, false
	}
	parent := *ctx
	name := strings.TrimPrefix(*method, "/")
	sctx, span := weftStartSpan(parent, "weft/google.golang.org/grpc", name, 3)
	if sctx == nil || (span == nil && weftSameCtx(sctx, parent)) {
		return nil, false // tracing off, or a suppressed context
	}
	// gRPC metadata keys must be lower case: AppendToOutgoingContext and
	// MD.Set lower what Inject wrote.
	h := make(map[string][]string, 2)
	weftInject(sctx, h)
	if len(h) > 0 {
		// Appended, the program's metadata stays exactly as it was (a
		// NewOutgoingContext of the lower-cased copy would mend keys grpc
		// rejects); replaced, through that copy, when it has one of the
		// keys already (its own, or another tracer's).
		md, _ := metadata.FromOutgoingContext(sctx) // a copy
		replace := false
		kv := make([]string, 0, 2*len(h))
		for k, v := range h {
			if len(md[strings.ToLower(k)]) > 0 {
				replace = true
			}
			for _, x := range v {
				kv = append(kv, k, x)
			}
		}
		if !replace {
			sctx = metadata.AppendToOutgoingContext(sctx, kv...)
		} else {
			for k, v := range h {
				md.Set(k, v...)
			}
			sctx = metadata.NewOutgoingContext(sctx, md)
		}
	}
	*ctx = sctx
	if span == nil {
		return nil, false // not sampled: the context still travels
	}
	weftSetString(span, "rpc.system", "grpc")
	if i := strings.LastIndexByte(name, '/'); i > 0 {
		weftSetString(span, "rpc.service", name[:i])
		weftSetString(span, "rpc.method", name[i+1:])
	}
	if *cc != nil {
		host, port := weftTargetAddr((*cc).Target())
		if host != "" {
			weftSetString(span, "server.address", host)
		}
		if port > 0 {
			weftSetInt(span, "server.port", port)
		}
	}
	c = &weftClientCall{span: span}
	// A new slice, copied into: storing anything made from *opts back
	// through the pointer would move the caller's variadic array to the heap.
	o := make([]CallOption, 0, len(*opts)+1)
	*opts = append(append(o, *opts...), OnFinish(c.finish))
	return c, true
}

func weftClientStreamAfter(c *weftClientCall, _ *ClientStream, err *error) {
	defer func() { _ = recover() }()
	if *err != nil {
		c.finish(*err)
	}
}

func (c *weftClientCall) finish(err error) {
	defer func() { _ = recover() }()
	if !atomic.CompareAndSwapInt32(&c.done, 0, 1) {
		return
	}
	defer weftEnd(c.span)
	code, msg := codes.OK, ""
	if err != nil && err != io.EOF {
		s, ok := status.FromError(err)
		if !ok {
			s = status.FromContextError(err)
		}
		code, msg = s.Code(), s.Message()
	}
	weftSetInt(c.span, "rpc.grpc.status_code", int64(code))
	if code != codes.OK {
		weftSetError(c.span, weftCodeName(code), msg)
	}
}

// weftCodeName is the canonical name of a status code (error.type).
func weftCodeName(c codes.Code) string {
	names := [...]string{"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
		"NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
		"FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL",
		"UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"}
	if int(c) < len(names) {
		return names[c]
	}
	return strconv.FormatUint(uint64(c), 10)
}

// weftTargetAddr reads host and port from a dial target: "host:port",
// "dns:///host:port", "dns://resolver/host:port", "passthrough:///host:port".
// unix targets name a socket path and no port.
func weftTargetAddr(target string) (string, int64) {
	t := target
	if strings.HasPrefix(t, "unix:") || strings.HasPrefix(t, "unix-abstract:") {
		t = t[strings.IndexByte(t, ':')+1:]
		return strings.TrimPrefix(t, "//"), 0
	}
	if i := strings.Index(t, "://"); i >= 0 {
		t = t[i+3:]
		if j := strings.IndexByte(t, '/'); j >= 0 {
			t = t[j+1:]
		}
	}
	host, port, err := net.SplitHostPort(t)
	if err != nil {
		return strings.TrimSuffix(strings.TrimPrefix(t, "["), "]"), 0
	}
	p, _ := strconv.ParseUint(port, 10, 16)
	return host, int64(p)
}

// weftSameCtx reports whether StartSpan handed back the parent unchanged.
func weftSameCtx(a, b context.Context) (same bool) {
	defer func() { _ = recover() }()
	return a == b
}

// Server spans for gRPC: woven into package google.golang.org/grpc.
// NewServer gets a unary and a stream interceptor in front of the user's
// own chained ones (public API, the same in every version of the range),
// so each call's handler runs inside its server span. Written for the Go
// language version of old grpc releases (go 1.17: no any, no generics).

package grpc

import (
	"context"
	"net"
	"strconv"
	"strings"
	"unsafe"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

func weftNewServerBefore(opt *[]ServerOption) (struct{}, bool) {
	defer func() { _ = recover() }()
	ints := []ServerOption{ChainUnaryInterceptor(weftUnaryServer), ChainStreamInterceptor(weftStreamServer)}
	*opt = append(ints, *opt...)
	return struct{}{}, false
}

// weftServerCall is one call's span and the goroutine context it replaced.
type weftServerCall struct {
	span unsafe.Pointer
	ctx  context.Context
	prev unsafe.Pointer
}

func weftUnaryServer(ctx context.Context, req interface{}, info *UnaryServerInfo, handler UnaryHandler) (resp interface{}, err error) {
	var method string
	if info != nil {
		method = info.FullMethod
	}
	c, ok := weftServerStart(ctx, method)
	if !ok {
		return handler(ctx, req)
	}
	defer weftServerEnd(c, &err)
	return handler(c.ctx, req)
}

func weftStreamServer(srv interface{}, ss ServerStream, info *StreamServerInfo, handler StreamHandler) (err error) {
	var method string
	if info != nil {
		method = info.FullMethod
	}
	c, ok := weftServerStart(ss.Context(), method)
	if !ok {
		return handler(srv, ss)
	}
	defer weftServerEnd(c, &err)
	return handler(srv, &weftServerStream{ServerStream: ss, ctx: c.ctx})
}

// weftServerStream hands the span's context to a streaming handler.
type weftServerStream struct {
	ServerStream
	ctx context.Context
}

func (s *weftServerStream) Context() context.Context { return s.ctx }

func weftServerStart(ctx context.Context, fullMethod string) (c weftServerCall, ok bool) {
	defer func() { _ = recover() }()
	if ctx == nil || !weftEnabled() {
		return c, false
	}
	// Incoming metadata keys are lower case, as PropagationKeys are.
	var carrier map[string][]string
	for _, k := range weftPropagationKeys() {
		if v := metadata.ValueFromIncomingContext(ctx, k); len(v) > 0 {
			if carrier == nil {
				carrier = make(map[string][]string, 3)
			}
			carrier[k] = v
		}
	}
	if carrier != nil {
		ctx = weftExtract(ctx, carrier)
	}
	name := strings.TrimPrefix(fullMethod, "/")
	ctx, span := weftStartSpan(ctx, "weft/google.golang.org/grpc", name, 2)
	if ctx == nil {
		return c, false
	}
	c = weftServerCall{span: span, ctx: ctx}
	if span != nil {
		weftSetString(span, "rpc.system", "grpc")
		if i := strings.LastIndexByte(name, '/'); i > 0 {
			weftSetString(span, "rpc.service", name[:i])
			weftSetString(span, "rpc.method", name[i+1:])
		}
		if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
			if host, port, err := net.SplitHostPort(p.Addr.String()); err == nil {
				weftSetString(span, "network.peer.address", host)
				if n, err := strconv.ParseUint(port, 10, 16); err == nil {
					weftSetInt(span, "network.peer.port", int64(n))
				}
			}
		}
	}
	c.prev = weftEnter(ctx)
	return c, true
}

func weftServerEnd(c weftServerCall, err *error) {
	defer func() { _ = recover() }()
	defer weftEnd(c.span)
	weftLeave(c.prev)
	code, msg := codes.OK, ""
	if e := *err; e != nil {
		s, ok := status.FromError(e)
		if !ok {
			s = status.FromContextError(e) // what grpc sends for a plain error
		}
		code, msg = s.Code(), s.Message()
	}
	weftSetInt(c.span, "rpc.grpc.status_code", int64(code))
	// Semconv: only these codes are server errors.
	name := ""
	switch code {
	case codes.Unknown:
		name = "UNKNOWN"
	case codes.DeadlineExceeded:
		name = "DEADLINE_EXCEEDED"
	case codes.Unimplemented:
		name = "UNIMPLEMENTED"
	case codes.Internal:
		name = "INTERNAL"
	case codes.Unavailable:
		name = "UNAVAILABLE"
	case codes.DataLoss:
		name = "DATA_LOSS"
	}
	if name != "" {
		weftSetError(c.span, name, msg)
	}
}

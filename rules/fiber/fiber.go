// Server spans for Fiber v2 and v3, woven into package fiber. Fiber
// serves with fasthttp, not net/http, so no net/http span exists for its
// requests:
//
//   - (*App).handler (v3: requestHandler), which fasthttp calls for every
//     request, runs inside a server span continued from the request's
//     traceparent, as the goroutine's current context (Fiber's handlers
//     get context.Background from UserContext; calls made under it, and
//     goroutines started, join the trace through the goroutine);
//   - (*App).ReleaseCtx, which handler calls when the request is done,
//     still sees the route that matched: it goes to the span, found
//     through the goroutine's context (v2.go, v3.go: the Ctx differs).
//
// A Fiber app served through net/http (adaptor.FiberApp) makes no span of
// its own: its route goes to net/http's span.
//
// The attribute helpers re-state net/http's (rules/nethttp/common.go):
// a rule's files are woven into one package and cannot share code with
// another's.

package fiber

import (
	"context"
	"net"
	"strconv"
	"strings"
	"unsafe"

	"github.com/valyala/fasthttp"
)

// weftBox is the context a request's span starts under; ReleaseCtx's hook
// finds it through the goroutine's current context and leaves the route.
type weftBox struct {
	context.Context
	route string
}

type weftBoxKey struct{}

func (b *weftBox) Value(key interface{}) interface{} {
	if _, ok := key.(weftBoxKey); ok {
		return b
	}
	return b.Context.Value(key)
}

type weftReq struct {
	span   unsafe.Pointer
	prev   unsafe.Pointer // the goroutine's context before the request
	box    *weftBox
	rctx   *fasthttp.RequestCtx
	method string
}

func weftHandlerBefore(_ **App, rctx **fasthttp.RequestCtx) (st weftReq, ok bool) {
	defer func() { _ = recover() }()
	r := *rctx
	if r == nil || !weftEnabled() {
		return st, false
	}
	if cur := weftCurrent(); cur != nil && weftSpanScope(cur) == "weft/net/http" {
		return st, false // served through net/http: its span has the request
	}
	var h map[string][]string // made only for a request that carries one
	for _, k := range weftPropagationKeys() {
		if v := r.Request.Header.Peek(k); len(v) > 0 {
			if h == nil {
				h = make(map[string][]string, 3)
			}
			h[k] = []string{string(v)}
		}
	}
	st.box = &weftBox{Context: weftExtract(context.Background(), h)}
	method, original := weftMethod(r.Method())
	ctx, span := weftStartSpan(st.box, weftScope, method, 2)
	st.prev = weftEnter(ctx)
	st.span, st.rctx, st.method = span, r, method
	if span == nil {
		return st, true // unsampled: still propagated, nothing recorded
	}
	var kv [22]string
	n := 0
	add := func(key, value string) { kv[n], kv[n+1] = key, value; n += 2 }
	add("http.request.method", method)
	if original != "" {
		add("http.request.method_original", original)
	}
	scheme := "http"
	if r.IsTLS() {
		scheme = "https"
	}
	add("url.scheme", scheme)
	add("url.path", string(r.Path()))
	if q := r.URI().QueryString(); len(q) > 0 {
		add("url.query", weftRedactQuery(string(q)))
	}
	hostPort := int64(-1)
	if host := string(r.Host()); host != "" {
		host, hostPort = weftHostPort(host, scheme)
		add("server.address", host)
	}
	if r.Request.Header.IsHTTP11() {
		add("network.protocol.version", "1.1")
	} else {
		add("network.protocol.version", "1.0")
	}
	if ua := r.UserAgent(); len(ua) > 0 {
		add("user_agent.original", string(ua))
	}
	peerPort := int64(-1)
	if a, ok := r.RemoteAddr().(*net.TCPAddr); ok && a != nil {
		peer := a.IP.String()
		peerPort = int64(a.Port)
		add("network.peer.address", peer)
		client := peer
		if fwd := r.Request.Header.Peek("X-Forwarded-For"); len(fwd) > 0 {
			first, _, _ := strings.Cut(string(fwd), ",")
			client = strings.TrimSpace(first)
		}
		add("client.address", client)
	}
	weftSetStrings(span, kv[:n])
	if hostPort >= 0 {
		weftSetInt(span, "server.port", hostPort)
	}
	if peerPort >= 0 {
		weftSetInt(span, "network.peer.port", peerPort)
	}
	return st, true
}

func weftHandlerAfter(st weftReq) {
	defer func() { _ = recover() }()
	defer weftLeave(st.prev)
	if st.span == nil {
		return
	}
	defer weftEnd(st.span)
	if route := st.box.route; route != "" {
		weftSetString(st.span, "http.route", route)
		weftSetName(st.span, st.method+" "+route)
	}
	if status := st.rctx.Response.StatusCode(); status > 0 {
		weftSetInt(st.span, "http.response.status_code", int64(status))
		if status >= 500 {
			weftSetError(st.span, strconv.Itoa(status), "")
		}
	}
}

// weftSetRoute leaves a request's route in its span's box, found through
// the goroutine's context; under adaptor.FiberApp, in net/http's.
func weftSetRoute(route string) {
	cur := weftCurrent()
	if cur == nil || route == "" {
		return
	}
	switch b := cur.Value(weftBoxKey{}).(type) {
	case *weftBox:
		b.route = route
	default:
		if r, ok := cur.Value("weft.http.route").(interface{ WeftSetRoute(string) }); ok {
			r.WeftSetRoute(route)
		}
	}
}

// weftMethod returns the semconv method value and, for unknown methods, the original.
func weftMethod(m []byte) (string, string) {
	switch string(m) { // no allocation: compared, not kept
	case "GET":
		return "GET", ""
	case "POST":
		return "POST", ""
	case "PUT":
		return "PUT", ""
	case "DELETE":
		return "DELETE", ""
	case "PATCH":
		return "PATCH", ""
	case "HEAD":
		return "HEAD", ""
	case "OPTIONS":
		return "OPTIONS", ""
	case "CONNECT":
		return "CONNECT", ""
	case "TRACE":
		return "TRACE", ""
	case "QUERY":
		return "QUERY", ""
	case "":
		return "GET", ""
	}
	return "_OTHER", string(m)
}

// weftHostPort splits host[:port] (a Host header), defaulting the port
// from the scheme.
func weftHostPort(hostport, scheme string) (string, int64) {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		host = strings.TrimSuffix(strings.TrimPrefix(hostport, "["), "]")
		if scheme == "https" {
			return host, 443
		}
		return host, 80
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return host, -1
	}
	return host, int64(p)
}

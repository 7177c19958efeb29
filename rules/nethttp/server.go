// Server spans for net/http: woven into package net/http, around
// serverHandler.ServeHTTP, which every HTTP/1 and HTTP/2 request passes.

package http

import (
	"strconv"
	"strings"
	"sync/atomic"
	"unsafe"
)

type weftServerState struct {
	span unsafe.Pointer
	box  *weftRouteBox
	req  *Request
	rw   ResponseWriter
	prev unsafe.Pointer // the goroutine's context before this request
}

func weftServerBefore(_ *serverHandler, rw *ResponseWriter, req **Request) (st weftServerState, ok bool) {
	defer func() { _ = recover() }()
	r := *req
	// "PRI *" opens an h2c connection (x/net/http2/h2c), whose handler
	// serves the connection's streams until it closes: each stream gets
	// its span in x/net/http2 (rules/xnethttp2), none for the connection.
	if r == nil || !weftEnabled() || r.Method == "PRI" {
		return st, false
	}
	method, original := weftMethod(r.Method)
	box := &weftRouteBox{Context: weftExtract(r.Context(), r.Header)}
	if r.URL != nil {
		box.path = r.URL.Path
	}
	ctx, span := weftStartSpan(box, "weft/net/http", method, 2)
	if ctx == nil {
		return st, false
	}
	// In place, as the server itself sets it when it reads the request:
	// the server made r for this call alone, and a copy (WithContext)
	// would cost an allocation a request.
	r.ctx = ctx
	// The request's context is the goroutine's until the handler returns,
	// so calls made without ctx (and goroutines started) join the trace.
	st = weftServerState{span: span, box: box, req: r, rw: *rw, prev: weftEnter(ctx)}
	if span == nil {
		return st, true // unsampled: still propagated, nothing recorded
	}
	// The string attributes go in one call, under the span's lock once;
	// kv stays on this stack (weftSetStrings is declared noescape).
	var kv [20]string
	n := 0
	add := func(key, value string) { kv[n], kv[n+1] = key, value; n += 2 }
	add("http.request.method", method)
	if original != "" {
		add("http.request.method_original", original)
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	add("url.scheme", scheme)
	if r.URL != nil {
		add("url.path", r.URL.Path)
		if r.URL.RawQuery != "" {
			add("url.query", weftRedactQuery(r.URL.RawQuery))
		}
	}
	hostPort := int64(-1)
	if r.Host != "" {
		var host string
		host, hostPort = weftHostPort(r.Host, scheme)
		add("server.address", host)
	}
	add("network.protocol.version", weftProtoVersion(r.ProtoMajor, r.ProtoMinor))
	// The server stores header keys in canonical form: index directly
	// (Header.Get would canonicalize the key on every request).
	if ua := r.Header["User-Agent"]; len(ua) > 0 && ua[0] != "" {
		add("user_agent.original", ua[0])
	}
	peerPort := int64(-1)
	if host, port, ok := weftSplitHostPort(r.RemoteAddr); ok {
		add("network.peer.address", host)
		if p, ok := weftPort(port); ok {
			peerPort = p
		}
		client := host
		if fwd := r.Header["X-Forwarded-For"]; len(fwd) > 0 && fwd[0] != "" {
			first, _, _ := strings.Cut(fwd[0], ",")
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

func weftServerAfter(st weftServerState) {
	defer func() { _ = recover() }()
	defer weftLeave(st.prev)
	if st.span == nil {
		return
	}
	defer weftEnd(st.span)
	if route := st.box.routeOr(st.req); route != "" {
		method, _ := weftMethod(st.req.Method)
		weftSetString(st.span, "http.route", route)
		weftSetName(st.span, weftSpanName(method, route))
	}
	if status := weftStatus(st.rw); status > 0 {
		weftSetInt(st.span, "http.response.status_code", int64(status))
		if status >= 500 {
			weftSetError(st.span, strconv.Itoa(status), "")
		}
	}
}

// weftStatus is the status the handler wrote (200 if it wrote none), 0
// when w is not net/http's own writer or the handler hijacked the
// connection (a WebSocket's 101 is written on it raw: net/http never
// knows). HTTP/2's writer is read by weftHTTP2Status, whose file depends
// on the Go release.
func weftStatus(w ResponseWriter) int {
	if r, ok := w.(*response); ok {
		if !r.wroteHeader {
			if r.conn != nil && r.conn.hijacked() {
				return 0
			}
			return StatusOK
		}
		return r.status
	}
	return weftHTTP2Status(w)
}

// weftRoute is the path part of the ServeMux pattern that matched, if any.
func weftRoute(r *Request) string {
	if r == nil || r.pat == nil {
		return ""
	}
	// "[METHOD ][HOST]/PATH": neither a method nor a host holds a '/'.
	p := r.pat.str
	if i := strings.IndexByte(p, '/'); i >= 0 {
		return p[i:]
	}
	return p
}

// weftSpanNames caches "METHOD route" span names, so a request to a known
// route costs no concatenation: routes are patterns (a ServeMux pattern or
// a router's path template), the same string from request to request.
var weftSpanNames [64]atomic.Pointer[weftSpanNameEntry]

type weftSpanNameEntry struct{ method, route, name string }

func weftSpanName(method, route string) string {
	h := uintptr(unsafe.Pointer(unsafe.StringData(route)))>>4 ^ uintptr(len(route)) ^ uintptr(len(method))<<3
	slot := &weftSpanNames[h%uintptr(len(weftSpanNames))]
	if e := slot.Load(); e != nil && e.route == route && e.method == method {
		return e.name
	}
	e := &weftSpanNameEntry{method: method, route: route, name: method + " " + route}
	slot.Store(e)
	return e.name
}

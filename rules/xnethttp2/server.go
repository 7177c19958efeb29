// Server spans for golang.org/x/net/http2's own server: woven into package
// http2, around (*serverConn).runHandler, which runs every request's
// handler. Its requests (h2c, http2.Server.ServeConn) never pass net/http's
// serverHandler, where weft's other server spans start. A server set up
// with http2.ConfigureServer hands it net/http's initALPNRequest, which
// does pass serverHandler: no span here then.
//
// The hook swaps the handler for one that runs inside the span and ends it
// once the handler has returned (or panicked), reading the status before
// runHandler hands the response writer back to its pool.
//
// The method, attribute and route-box code mirrors rules/nethttp's, which
// lives in package net/http, unexported: a file woven into package http2
// cannot call it.

package http2

import (
	"context"
	"net"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unsafe"
)

func weftRunHandlerBefore(sc **serverConn, rw **responseWriter, req **http.Request, handler *func(http.ResponseWriter, *http.Request)) (struct{}, bool) {
	defer func() { _ = recover() }()
	r, h := *req, *handler
	if *sc == nil || r == nil || h == nil || !weftEnabled() || weftViaServerHandler((*sc).handler) {
		return struct{}{}, false
	}
	method, original := weftH2Method(r.Method)
	box := &weftH2RouteBox{Context: weftExtract(r.Context(), r.Header)}
	ctx, span := weftStartSpan(box, "weft/net/http", method, 2)
	if ctx == nil {
		return struct{}{}, false
	}
	*req = r.WithContext(ctx)
	if span != nil {
		weftH2Attributes(span, r, method, original)
	}
	w := *rw
	*handler = func(hw http.ResponseWriter, hr *http.Request) {
		prev := weftEnter(ctx)
		defer weftLeave(prev)
		if span == nil {
			h(hw, hr)
			return
		}
		returned := false
		defer func() { weftH2End(span, w, hr, method, returned) }()
		h(hw, hr)
		returned = true
	}
	return struct{}{}, false
}

// weftViaServerHandler reports whether h is net/http's initALPNRequest
// (http2.ConfigureServer): its requests get their span in net/http.
func weftViaServerHandler(h http.Handler) bool {
	t := reflect.TypeOf(h)
	return t != nil && t.PkgPath() == "net/http" && t.Name() == "initALPNRequest"
}

func weftH2Attributes(span unsafe.Pointer, r *http.Request, method, original string) {
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
	add("network.protocol.version", "2")
	if ua := r.Header.Get("User-Agent"); ua != "" {
		add("user_agent.original", ua)
	}
	var ports [2]string
	if host, port, err := net.SplitHostPort(r.Host); err == nil {
		add("server.address", host)
		ports[0] = port
	} else if r.Host != "" {
		add("server.address", strings.TrimSuffix(strings.TrimPrefix(r.Host, "["), "]"))
		ports[0] = "80"
		if scheme == "https" {
			ports[0] = "443"
		}
	}
	if host, port, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		add("network.peer.address", host)
		ports[1] = port
		client := host
		if fwd := r.Header.Get("X-Forwarded-For"); fwd != "" {
			first, _, _ := strings.Cut(fwd, ",")
			client = strings.TrimSpace(first)
		}
		add("client.address", client)
	}
	weftSetStrings(span, kv[:n])
	for i, key := range [2]string{"server.port", "network.peer.port"} {
		if p, err := strconv.ParseUint(ports[i], 10, 16); err == nil {
			weftSetInt(span, key, int64(p))
		}
	}
}

// weftH2End names the span after the route and records the status, while
// the handler's response writer still holds it; a handler that panicked
// (returned is false) gets 500, and its panic goes on to runHandler.
func weftH2End(span unsafe.Pointer, w *responseWriter, r *http.Request, method string, returned bool) {
	defer func() { _ = recover() }()
	defer weftEnd(span)
	if route := weftH2Route(r); route != "" {
		weftSetString(span, "http.route", route)
		weftSetName(span, method+" "+route)
	}
	status := http.StatusInternalServerError
	if returned && w != nil && w.rws != nil {
		status = http.StatusOK
		if w.rws.wroteHeader {
			status = w.rws.status
		}
	}
	weftSetInt(span, "http.response.status_code", int64(status))
	if status >= 500 {
		weftSetError(span, strconv.Itoa(status), "")
	}
}

// weftH2Route is the route a router recorded, else the path of the
// ServeMux pattern (Request.Pattern, Go 1.23+; read by name, so the rule
// also builds with Go 1.22).
func weftH2Route(r *http.Request) string {
	if b, ok := r.Context().Value("weft.http.route").(*weftH2RouteBox); ok {
		b.mu.Lock()
		route := b.route
		b.mu.Unlock()
		if route != "" {
			return route
		}
	}
	f := reflect.ValueOf(r).Elem().FieldByName("Pattern")
	if !f.IsValid() || f.Kind() != reflect.String {
		return ""
	}
	p := f.String()
	if i := strings.IndexByte(p, '/'); i >= 0 {
		return p[i:]
	}
	return p
}

// weftH2RouteBox takes the route a router rule (gin, echo, chi, gorilla/mux)
// finds under ctx.Value("weft.http.route"), as net/http's does.
type weftH2RouteBox struct {
	context.Context
	mu    sync.Mutex
	route string
}

func (b *weftH2RouteBox) Value(key interface{}) interface{} {
	if k, ok := key.(string); ok && k == "weft.http.route" {
		return b
	}
	return b.Context.Value(key)
}

// WeftSetRoute records the route template the router matched.
func (b *weftH2RouteBox) WeftSetRoute(route string) {
	b.mu.Lock()
	b.route = route
	b.mu.Unlock()
}

// weftH2Method is the semconv method and, for an unknown one, the original.
func weftH2Method(m string) (string, string) {
	switch m {
	case "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", "QUERY":
		return m, ""
	case "":
		return "GET", ""
	}
	return "_OTHER", m
}

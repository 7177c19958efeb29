// The route of a request, told by a router (gin, echo, gorilla/mux, chi)
// or a ServeMux: woven into package net/http. Routers see only the
// *Request, often a copy made by WithContext or StripPrefix, so the server
// hook puts a box in the request's context, under the span; a router's rule
// finds it with ctx.Value("weft.http.route") and calls WeftSetRoute, and
// so does every ServeMux as it matches (findHandler), nested ones too. The
// last to say wins: the innermost. The server span is named after the
// route when it ends.

package http

import (
	"context"
	"sync"
)

const weftRouteKey = "weft.http.route"

type weftRouteBox struct {
	context.Context
	mu    sync.Mutex // a handler may outlive ServeHTTP (TimeoutHandler)
	route string
	set   bool   // a router or ServeMux said; route "" then means none matched
	path  string // the request's path as the server got it
}

func (b *weftRouteBox) Value(key any) any {
	if k, ok := key.(string); ok && k == weftRouteKey {
		return b
	}
	return b.Context.Value(key)
}

// WeftSetRoute records the route template the router matched ("": none);
// the last call wins.
func (b *weftRouteBox) WeftSetRoute(route string) {
	b.mu.Lock()
	b.route, b.set = route, true
	b.mu.Unlock()
}

// WeftPath is the request's path as the server got it.
func (b *weftRouteBox) WeftPath() string { return b.path }

// routeOr is the route a router or ServeMux recorded, else the ServeMux
// pattern of r.
func (b *weftRouteBox) routeOr(r *Request) string {
	b.mu.Lock()
	route, set := b.route, b.set
	b.mu.Unlock()
	if set {
		return route
	}
	return weftRoute(r)
}

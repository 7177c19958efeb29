// The route of a request, told by a router (gin, echo, gorilla/mux, chi):
// woven into package net/http. Routers see only the *Request, often a copy
// made by WithContext, so the server hook puts a box in the request's
// context, under the span; a router's rule finds it with
// ctx.Value("weft.http.route") and calls WeftSetRoute. The server span is
// named after the route when it ends.

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
}

func (b *weftRouteBox) Value(key any) any {
	if k, ok := key.(string); ok && k == weftRouteKey {
		return b
	}
	return b.Context.Value(key)
}

// WeftSetRoute records the route template the router matched; the last call wins.
func (b *weftRouteBox) WeftSetRoute(route string) {
	b.mu.Lock()
	b.route = route
	b.mu.Unlock()
}

// routeOr is the route a router recorded, else the ServeMux pattern of r.
func (b *weftRouteBox) routeOr(r *Request) string {
	b.mu.Lock()
	route := b.route
	b.mu.Unlock()
	if route != "" {
		return route
	}
	return weftRoute(r)
}

// chi's route for the server span: woven into package chi, around
// (*Mux).routeHTTP. A mounted subrouter routes inside its parent's
// routeHTTP, so the outermost call, which returns last, has the whole pattern.

package chi

import "net/http"

func weftChiBefore(_ **Mux, _ *http.ResponseWriter, r **http.Request) (_ *http.Request, ok bool) {
	defer func() { _ = recover() }()
	return *r, *r != nil && weftEnabled()
}

func weftChiAfter(r *http.Request) {
	defer func() { _ = recover() }()
	if rctx := RouteContext(r.Context()); rctx != nil {
		weftSetRoute(r, rctx.RoutePattern())
	}
}

// weftSetRoute hands the route to the server span of r (rules/nethttp/route.go).
func weftSetRoute(r *http.Request, route string) {
	if r == nil || route == "" {
		return
	}
	if b, ok := r.Context().Value("weft.http.route").(interface{ WeftSetRoute(string) }); ok {
		b.WeftSetRoute(route)
	}
}

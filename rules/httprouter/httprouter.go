// httprouter's route for the server span: woven into package httprouter,
// at (*Router).Handle, which every way of adding a route goes through
// (GET, Handler, HandlerFunc, ServeFiles …). The handle is wrapped in one
// that hands its path to the server span before it runs, so only a
// request that reached a route names one: not a 404, a 405, a redirect
// to the path with(out) the trailing slash, nor a panic handler.

package httprouter

import "net/http"

func weftHandleBefore(_ **Router, _ *string, path *string, handle *Handle) (_ struct{}, ok bool) {
	defer func() { _ = recover() }()
	h, route := *handle, *path
	// No weftEnabled check: routes are often added during package
	// initialization, which may run before weft/rt's own.
	if h == nil || route == "" {
		return
	}
	*handle = func(w http.ResponseWriter, r *http.Request, ps Params) {
		weftSetRoute(r, route)
		h(w, r, ps)
	}
	return
}

// weftSetRoute hands the route to the server span of r (rules/nethttp/route.go).
func weftSetRoute(r *http.Request, route string) {
	defer func() { _ = recover() }()
	if r == nil {
		return
	}
	if b, ok := r.Context().Value("weft.http.route").(interface{ WeftSetRoute(string) }); ok {
		b.WeftSetRoute(route)
	}
}

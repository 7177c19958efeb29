// chi's route for the server span: woven into package chi, around
// (*Mux).routeHTTP. A mounted subrouter routes inside its parent's
// routeHTTP, so the outermost call, which returns last, has the whole pattern.

package chi

import "net/http"

type weftChiState struct {
	r    *http.Request
	rctx *Context
	n    int // len(rctx.RoutePatterns) before this router routed
}

func weftChiBefore(_ **Mux, _ *http.ResponseWriter, r **http.Request) (st weftChiState, ok bool) {
	defer func() { _ = recover() }()
	if *r == nil || !weftEnabled() {
		return st, false
	}
	rctx := RouteContext((*r).Context())
	if rctx == nil {
		return st, false
	}
	if len(rctx.RoutePatterns) == 0 {
		// The outermost router: a pooled Context keeps the last request's mark.
		rctx.weftUnmatched = false
	}
	return weftChiState{r: *r, rctx: rctx, n: len(rctx.RoutePatterns)}, true
}

func weftChiAfter(st weftChiState) {
	defer func() { _ = recover() }()
	rctx := st.rctx
	// A router that added no pattern matched nothing (404, 405), even when
	// its parent matched the mount ("/api/*"): the request has no route.
	if len(rctx.RoutePatterns) == st.n {
		rctx.weftUnmatched = true
	}
	if !rctx.weftUnmatched {
		weftSetRoute(st.r, rctx.RoutePattern())
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

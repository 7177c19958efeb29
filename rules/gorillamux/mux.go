// gorilla/mux's route for the server span: woven into package mux, around
// (*Router).Match. Subrouters match inside their parent's Match, so the
// outermost call, which returns last, has the final route.

package mux

import "net/http"

type weftMuxState struct {
	req   *http.Request
	match *RouteMatch
}

func weftMuxBefore(_ **Router, req **http.Request, match **RouteMatch) (st weftMuxState, ok bool) {
	defer func() { _ = recover() }()
	if *req == nil || *match == nil || !weftEnabled() {
		return st, false
	}
	return weftMuxState{req: *req, match: *match}, true
}

func weftMuxAfter(st weftMuxState, matched *bool) {
	defer func() { _ = recover() }()
	m := st.match
	if !*matched || m.Route == nil || m.MatchErr != nil {
		return
	}
	if tpl, err := m.Route.GetPathTemplate(); err == nil {
		weftSetRoute(st.req, tpl)
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

// The route of a ServeMux, told to the server span's box as the mux
// matches: woven into package net/http, at (*ServeMux).findHandler. The
// server hook reads only the pattern on the request it served; a mux
// nested behind a middleware's WithContext or http.StripPrefix sets it on a
// copy, and the span was named after the outer mux's "/".

package http

import "strings"

type weftRouter interface {
	WeftSetRoute(route string)
	WeftPath() string
}

func weftFindHandlerBefore(_ **ServeMux, r **Request) (*Request, bool) {
	return *r, *r != nil && weftEnabled()
}

// weftFindHandlerAfter tells the box the path of the pattern that matched,
// "" when none did (404, 405, a redirect). When the mux got a path a
// prefix shorter (StripPrefix), the prefix goes before the pattern's path.
func weftFindHandlerAfter(r *Request, _ *Handler, _ *string, p **pattern, _ *[]string) {
	defer func() { _ = recover() }()
	b, ok := r.Context().Value(weftRouteKey).(weftRouter)
	if !ok {
		return
	}
	route := ""
	if pt := *p; pt != nil {
		route = pt.str
		if i := strings.IndexByte(route, '/'); i >= 0 {
			route = route[i:]
		}
		if r.URL != nil {
			if full, path := b.WeftPath(), r.URL.Path; full != path && strings.HasSuffix(full, path) {
				route = strings.TrimSuffix(full[:len(full)-len(path)], "/") + route
			}
		}
	}
	b.WeftSetRoute(route)
}

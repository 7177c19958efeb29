// echo v5's route for the server span: woven into package echo, at
// (*Context).InitializeRoute, which every Router (the default one, the
// concurrent one, a program's own) must call with the route it matched
// (route.go hands it to the span).

package echo

func weftEcho5Route(c **Context, ri **RouteInfo, _ **PathValues) (_ struct{}, ok bool) {
	defer func() { _ = recover() }()
	// Not found and method not allowed come as RouteInfos with no path; a
	// group's or the program's 404 route (RouteNotFound) has a method of
	// its own. Neither is the request's route.
	if *c == nil || *ri == nil || (*ri).Path == "" || (*ri).Method == RouteNotFound || !weftEnabled() {
		return
	}
	weftSetRoute((*c).request, (*ri).Path)
	return
}

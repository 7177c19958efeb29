// gin's route for the server span: woven into package gin, around
// (*Engine).handleHTTPRequest, which matches the route and runs the handlers.

package gin

import "net/http"

func weftGinBefore(_ **Engine, c **Context) (_ *Context, ok bool) {
	defer func() { _ = recover() }()
	return *c, *c != nil && weftEnabled()
}

func weftGinAfter(c *Context) {
	defer func() { _ = recover() }()
	weftSetRoute(c.Request, c.fullPath)
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

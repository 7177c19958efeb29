// echo's route for the server span (v3 and v4): woven into package echo,
// around (*Router).Find, which stores the matched route in the Context.

package echo

import (
	"net/http"
	"unsafe"
)

func weftEchoBefore(_ **Router, _, _ *string, c *Context) (_ Context, ok bool) {
	defer func() { _ = recover() }()
	return *c, *c != nil && weftEnabled()
}

func weftEchoAfter(c Context) {
	defer func() { _ = recover() }()
	// Not found: older versions leave the request's path in Path().
	h := c.Handler()
	if h == nil || weftSameFunc(h, NotFoundHandler) {
		return
	}
	weftSetRoute(c.Request(), c.Path())
}

func weftSameFunc(a, b HandlerFunc) bool {
	return *(*unsafe.Pointer)(unsafe.Pointer(&a)) == *(*unsafe.Pointer)(unsafe.Pointer(&b))
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

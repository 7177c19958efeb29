// echo's route for the server span (v3 and v4): woven into package echo,
// around (*Router).Find, which stores the matched route in the Context
// (route.go hands it to the span).

package echo

import (
	"reflect"
	"strings"
	"unsafe"
)

type weftEchoState struct {
	r      *Router
	method string
	c      Context
}

func weftEchoBefore(r **Router, method, _ *string, c *Context) (st weftEchoState, ok bool) {
	defer func() { _ = recover() }()
	if *r == nil || *c == nil || !weftEnabled() {
		return st, false
	}
	return weftEchoState{r: *r, method: *method, c: *c}, true
}

func weftEchoAfter(st weftEchoState) {
	defer func() { _ = recover() }()
	// Not found: older versions leave the request's path in Path().
	h := st.c.Handler()
	if h == nil || weftSameFunc(h, NotFoundHandler) {
		return
	}
	// A route registered for this method, and not a group's catch-all for
	// 404s: RouteNotFound's (v4.10+) is registered under a method of its
	// own, older versions' is an Any route "PREFIX/*" of a closure in
	// (*Group).Use. (A 405 finds no route for the method either.)
	route := st.c.Path()
	rt, ok := st.r.routes[st.method+route]
	if !ok || strings.HasSuffix(route, "*") && weftGroupCatchAll(rt) {
		return
	}
	weftSetRoute(st.c.Request(), route)
}

// weftGroupCatchAll reports whether route rt (a Route, or a *Route since
// v3.2) names a closure of (*Group).Use; the field is Handler in v3.1,
// Name since.
func weftGroupCatchAll(rt interface{}) bool { // not any: echo v3 says go 1.16
	v := reflect.Indirect(reflect.ValueOf(rt))
	for _, f := range [...]string{"Name", "Handler"} {
		if s := v.FieldByName(f); s.Kind() == reflect.String && strings.Contains(s.String(), "(*Group).Use.func") {
			return true
		}
	}
	return false
}

func weftSameFunc(a, b HandlerFunc) bool {
	return *(*unsafe.Pointer)(unsafe.Pointer(&a)) == *(*unsafe.Pointer)(unsafe.Pointer(&b))
}

// Fiber v2's part of the rule (fiber.go has the rest).

package fiber

const weftScope = "weft/github.com/gofiber/fiber/v2"

// weftReleaseBefore records the route of a request that matched one (not
// a 404 or 405, not only a Use middleware's prefix) before c is reset.
func weftReleaseBefore(_ **App, c **Ctx) (_ struct{}, ok bool) {
	defer func() { _ = recover() }()
	if x := *c; x != nil && x.matched && x.route != nil && !x.route.use {
		weftSetRoute(x.route.Path)
	}
	return
}

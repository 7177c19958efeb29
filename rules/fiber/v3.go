// Fiber v3's part of the rule (fiber.go has the rest).

package fiber

const weftScope = "weft/github.com/gofiber/fiber/v3"

// weftReleaseBefore records the route of a request that matched one (not
// a 404 or 405, not only a Use middleware's prefix) before c is reset. A
// custom Ctx is asked through the interface.
func weftReleaseBefore(_ **App, c *CustomCtx) (_ struct{}, ok bool) {
	defer func() { _ = recover() }()
	if x := *c; x != nil && x.Matched() {
		if r := x.Route(); r != nil && !r.use {
			weftSetRoute(r.Path)
		}
	}
	return
}

// Goroutine-local context, woven into package runtime. weft/rt reaches the
// accessors through linkname; the slot holds a pointer weft/rt owns.

package runtime

import "unsafe"

// weftCurg is the user goroutine running now (not g0 or gsignal).
//
//go:nosplit
func weftCurg() *g {
	gp := getg()
	if gp.m != nil && gp.m.curg != nil {
		return gp.m.curg
	}
	return gp
}

//go:linkname weftGoroutineCtx
func weftGoroutineCtx() unsafe.Pointer {
	return weftCurg().weftCtx
}

//go:linkname weftSetGoroutineCtx
func weftSetGoroutineCtx(p unsafe.Pointer) {
	weftCurg().weftCtx = p
}

// The parent's slot is copied when a goroutine starts: every new g gets
// its creator's value, nil included, so a reused g never keeps an old one.
func weftNewprocAfter(parent *g, newg **g) {
	if *newg != nil {
		if parent != nil {
			(*newg).weftCtx = parent.weftCtx
		} else {
			(*newg).weftCtx = nil
		}
	}
}

func weftGdestroy(gp **g) {
	if *gp != nil {
		(*gp).weftCtx = nil
	}
}

// Added to package runtime instead of the goroutine rule when it cannot be
// woven (a Go release changed newproc1 or g): weft/rt still links, and
// context simply does not flow without ctx.

package runtime

import "unsafe"

//go:linkname weftGoroutineCtx
func weftGoroutineCtx() unsafe.Pointer { return nil }

//go:linkname weftSetGoroutineCtx
func weftSetGoroutineCtx(p unsafe.Pointer) {}

//go:linkname weftChanWatch
func weftChanWatch(c unsafe.Pointer, send, recv func(unsafe.Pointer)) {}

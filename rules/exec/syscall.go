// Woven into package syscall: Exec replaces the process image, so spans
// still queued would be lost with it (no exit hook runs). They are
// exported first, bounded as at exit.

package syscall

func weftExecBefore(_ *string, _, _ *[]string) (_ struct{}, ok bool) {
	weftFlush()
	return
}

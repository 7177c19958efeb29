package runtime

func weftNewprocBefore(_ **funcval, callergp **g, _ *uintptr, _ *bool, _ *waitReason) (*g, bool) {
	return *callergp, true
}

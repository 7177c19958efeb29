package lib

func weftHookBefore(a *int) {}

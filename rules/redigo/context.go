// DoContext runs DoWithTimeout in a goroutine it starts. When ctx carries a
// span other than the goroutine's current one, make ctx current while that
// goroutine starts, so the command's span (started there, without a ctx)
// is ctx's child. Self-contained: the redigo rule may be skipped alone.

package redis

import (
	"context"
	"unsafe"
)

func weftDoContextBefore(_ **conn, ctx *context.Context, _ *string, _ *[]interface{}) (unsafe.Pointer, bool) {
	defer func() { _ = recover() }()
	c := *ctx
	if c == nil || !weftEnabled() {
		return nil, false
	}
	trace, span := weftTraceIDs(c)
	curTrace, curSpan := weftTraceIDs(context.Background())
	if trace == "" || trace == curTrace && span == curSpan {
		return nil, false // no span in ctx, or the current one already
	}
	return weftEnter(c), true
}

func weftDoContextAfter(prev unsafe.Pointer, _ *interface{}, _ *error) {
	weftLeave(prev)
}

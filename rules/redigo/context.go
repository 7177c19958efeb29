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
	if !weftEnabled() {
		return nil, false
	}
	return weftEnterSpan(*ctx)
}

func weftDoContextAfter(prev unsafe.Pointer, _ *interface{}, _ *error) {
	weftLeave(prev)
}

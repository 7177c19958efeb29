// go-redis v8: a Hook is called before and after; the span travels in ctx.

package redis

import (
	"context"
	"unsafe"
)

const weftScope = "weft/github.com/go-redis/redis/v8"

type weftSpanKey struct{}

// A v8 connection's handshake runs without hooks: nothing marks it.
type weftHandshakeKey struct{}

type weftSpanVal struct {
	span unsafe.Pointer
	key  interface{}
}

func (h *weftHook) before(ctx context.Context, key interface{}, cmds []Cmder) context.Context {
	sctx, span := h.start(ctx, key, cmds)
	if span == nil {
		return ctx
	}
	return context.WithValue(sctx, weftSpanKey{}, &weftSpanVal{span: span, key: key})
}

func weftAfter(ctx context.Context, key interface{}, cmds []Cmder) {
	defer func() { _ = recover() }()
	if v, _ := ctx.Value(weftSpanKey{}).(*weftSpanVal); v != nil && v.key == key {
		weftFinish(v.span, cmds, nil)
	}
}

func (h *weftHook) BeforeProcess(ctx context.Context, cmd Cmder) (context.Context, error) {
	return h.before(ctx, cmd, []Cmder{cmd}), nil
}

func (h *weftHook) AfterProcess(ctx context.Context, cmd Cmder) error {
	weftAfter(ctx, cmd, []Cmder{cmd})
	return nil
}

func (h *weftHook) BeforeProcessPipeline(ctx context.Context, cmds []Cmder) (context.Context, error) {
	if len(cmds) == 0 {
		return ctx, nil
	}
	return h.before(ctx, &cmds[0], cmds), nil
}

func (h *weftHook) AfterProcessPipeline(ctx context.Context, cmds []Cmder) error {
	if len(cmds) > 0 {
		weftAfter(ctx, &cmds[0], cmds)
	}
	return nil
}

func weftConnBefore(c **Client, _ *context.Context) (weftConnState, bool) {
	if *c == nil {
		return weftConnState{}, false
	}
	return weftConnState{opt: (*c).Options()}, true
}

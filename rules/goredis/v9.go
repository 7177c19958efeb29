// go-redis v9: a Hook wraps the next function of the chain.

package redis

import "context"

const weftScope = "weft/github.com/redis/go-redis/v9"

func (h *weftHook) DialHook(next DialHook) DialHook { return next }

func (h *weftHook) ProcessHook(next ProcessHook) ProcessHook {
	return func(ctx context.Context, cmd Cmder) error {
		cmds := []Cmder{cmd}
		sctx, span := h.start(ctx, cmd, cmds)
		if span == nil {
			return next(ctx, cmd)
		}
		err := next(sctx, cmd)
		weftFinish(span, cmds, err)
		return err
	}
}

func (h *weftHook) ProcessPipelineHook(next ProcessPipelineHook) ProcessPipelineHook {
	return func(ctx context.Context, cmds []Cmder) error {
		if len(cmds) == 0 {
			return next(ctx, cmds)
		}
		sctx, span := h.start(ctx, &cmds[0], cmds)
		if span == nil {
			return next(ctx, cmds)
		}
		err := next(sctx, cmds)
		weftFinish(span, cmds, err)
		return err
	}
}

func weftConnBefore(c **Client) (weftConnState, bool) {
	if *c == nil {
		return weftConnState{}, false
	}
	return weftConnState{opt: (*c).Options()}, true
}

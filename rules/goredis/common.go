// Client spans for go-redis, shared by the v8 and v9 rules (both packages
// are named redis and have the same Options, Cmder, Error and Nil). weft
// registers a hook, through go-redis's own AddHook, on every Client made by
// NewClient or NewFailoverClient (the nodes of a ClusterClient and the
// shards of a Ring are such Clients) and on every Conn; a Tx inherits its
// Client's hooks.

package redis

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"unsafe"
)

type weftHook struct {
	host string // server.address and port, from Options.Addr
	port int
	db   string // db.namespace: Options.DB (a SELECT on a Conn is not seen)
}

func weftNewHook(opt *Options) *weftHook {
	h := &weftHook{}
	if opt == nil {
		return h
	}
	h.db = strconv.Itoa(opt.DB)
	if opt.Addr == "FailoverClient" || opt.Addr == "" {
		return h // sentinel-managed: the master's address is not known here
	}
	if strings.HasPrefix(opt.Network, "unix") {
		h.host = opt.Addr
		return h
	}
	host, port, err := net.SplitHostPort(opt.Addr)
	if err != nil {
		h.host = opt.Addr
		return h
	}
	h.host = host
	h.port, _ = strconv.Atoi(port)
	return h
}

// weftActiveKey marks a ctx inside weft's span for one command (or the
// first command of a pipeline): a second weft hook on the same client (a
// Conn may clone its Client's hooks, and weft adds one) passes through.
type weftActiveKey struct{}

// start starts the span of cmds; key identifies them (see weftActiveKey).
func (h *weftHook) start(ctx context.Context, key interface{}, cmds []Cmder) (rctx context.Context, span unsafe.Pointer) {
	rctx = ctx
	defer func() {
		if recover() != nil {
			rctx, span = ctx, nil
		}
	}()
	if len(cmds) == 0 || !weftEnabled() {
		return ctx, nil
	}
	if ctx == nil {
		ctx = context.Background()
	}
	if ctx.Value(weftActiveKey{}) == key || ctx.Value(weftHandshakeKey{}) != nil {
		return ctx, nil
	}
	rc := make([]weftRedisCmd, 0, len(cmds))
	for _, c := range cmds {
		args := c.Args()
		if len(args) == 0 {
			continue
		}
		op, text := weftRedisCommand(fmt.Sprint(args[0]), args[1:])
		rc = append(rc, weftRedisCmd{op: op, text: text})
	}
	op, text, size := weftRedisBatch(rc)
	if op == "" {
		return ctx, nil
	}
	sctx, span := weftStartSpan(ctx, weftScope, op, 3)
	if span == nil {
		return ctx, nil
	}
	weftRedisAttrs(span, op, text, size, h.db, h.host, h.port)
	return context.WithValue(sctx, weftActiveKey{}, key), span
}

// weftFinish ends the span with the first failed command's error, or err.
// redis.Nil (no such key) is not an error. An error reply sets
// db.response.status_code and error.type to its prefix ("WRONGTYPE").
func weftFinish(span unsafe.Pointer, cmds []Cmder, err error) {
	defer func() { _ = recover() }()
	defer weftEnd(span)
	var e error
	for _, c := range cmds {
		if ce := c.Err(); ce != nil && !errors.Is(ce, Nil) {
			e = ce
			break
		}
	}
	if e == nil && err != nil && !errors.Is(err, Nil) {
		e = err
	}
	if e == nil {
		return
	}
	var re Error
	if errors.As(e, &re) {
		msg := re.Error()
		code := msg
		if i := strings.IndexByte(code, ' '); i > 0 {
			code = code[:i]
		}
		weftSetString(span, "db.response.status_code", code)
		weftSetError(span, code, msg)
		return
	}
	t := fmt.Sprintf("%T", e)
	var ne net.Error
	if errors.As(e, &ne) && ne.Timeout() {
		t = "timeout"
	}
	weftSetError(span, t, e.Error())
}

// --- where the hook is added -------------------------------------------------

func weftNewClientBefore(_ **Options) (struct{}, bool) { return struct{}{}, true }

func weftNewFailoverBefore(_ **FailoverOptions) (struct{}, bool) { return struct{}{}, true }

func weftNewClientAfter(_ struct{}, c **Client) {
	defer func() { _ = recover() }()
	if *c != nil {
		(*c).AddHook(weftNewHook((*c).Options()))
	}
}

type weftConnState struct{ opt *Options }

// (Client).Conn: a v8 Conn starts with no hooks (before 8.3.x it has none
// at all); older v9 versions give a Conn no hooks, newer ones clone the
// Client's (then the second weft hook passes through).
func weftConnAfter(st weftConnState, conn **Conn) {
	defer func() { _ = recover() }()
	if c, ok := interface{}(*conn).(interface{ AddHook(Hook) }); ok && *conn != nil {
		c.AddHook(weftNewHook(st.opt))
	}
}

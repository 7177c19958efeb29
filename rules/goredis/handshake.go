// go-redis v9 runs a handshake on each new connection (HELLO, AUTH,
// SELECT, CLIENT SETINFO …) through a Conn that newer releases give the
// Client's hooks. Its errors are expected and ignored (older servers lack
// some commands), so weft leaves it out: initConn marks its ctx and the
// hook passes marked commands through.

package redis

import (
	"context"

	"github.com/redis/go-redis/v9/internal/pool"
)

type weftHandshakeKey struct{}

func weftInitConnBefore(_ **baseClient, ctx *context.Context, _ **pool.Conn) (struct{}, bool) {
	defer func() { _ = recover() }()
	if *ctx != nil {
		*ctx = context.WithValue(*ctx, weftHandshakeKey{}, true)
	}
	return struct{}{}, false
}

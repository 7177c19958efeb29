// Client spans for pgx v5's own API (Conn, pgxpool, Tx, batches, CopyFrom):
// woven into package pgx, at connect, which every connection passes with a
// config it owns. The hook wraps the config's Tracer in weft's, which
// calls the program's tracer (if any) in turn, so pgx itself says when a
// query starts and ends (a Query's rows closed, a batch read). Queries that
// reach pgx through database/sql (pgx's stdlib driver) are left to the
// database/sql span around them.

package pgx

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unsafe"

	"github.com/jackc/pgx/v5/pgconn"
)

func weftConnectBefore(_ *context.Context, config **ConnConfig) (_ struct{}, ok bool) {
	defer func() { _ = recover() }()
	// No weftEnabled check: a connection made while a package initializes
	// may come before weft/rt's own initialization.
	if c := *config; c != nil {
		if _, done := c.Tracer.(*weftTracer); !done {
			c.Tracer = &weftTracer{inner: c.Tracer}
		}
	}
	return
}

// weftTracer is every tracer interface pgx knows; each call goes on to the
// program's own tracer when it has that method.
type weftTracer struct{ inner QueryTracer }

// weftOp is one operation's span, carried in the ctx pgx hands back at its end.
type weftOp struct {
	context.Context
	span    unsafe.Pointer
	batch   []string // the batch's statements, as they are read
	batchOp string   // their common operation, "" when they differ
}

type weftOpKey struct{}

func (o *weftOp) Value(key any) any {
	if _, ok := key.(weftOpKey); ok {
		return o
	}
	return o.Context.Value(key)
}

func weftOpOf(ctx context.Context) *weftOp {
	if ctx == nil {
		return nil
	}
	o, _ := ctx.Value(weftOpKey{}).(*weftOp)
	return o
}

// weftStart starts the span of an operation of conn, named "OP TARGET"
// (or OP, or the system's name), and returns ctx carrying it (nil when
// there is none: not enabled, inside a database/sql span, unsampled).
func weftStart(ctx context.Context, conn *Conn, op, target, text string) context.Context {
	defer func() { _ = recover() }()
	if ctx == nil || !weftEnabled() || weftSpanScope(ctx) == "weft/database/sql" {
		return nil
	}
	name := "postgresql"
	switch {
	case op != "" && target != "":
		name = op + " " + target
	case op != "":
		name = op
	}
	sctx, span := weftStartSpan(ctx, "weft/github.com/jackc/pgx/v5", name, 3)
	if span == nil {
		return nil
	}
	var kv [12]string
	n := 0
	add := func(key, value string) {
		if value != "" {
			kv[n], kv[n+1] = key, value
			n += 2
		}
	}
	add("db.system.name", "postgresql")
	add("db.operation.name", op)
	add("db.collection.name", target)
	add("db.query.text", text)
	if conn != nil && conn.config != nil {
		add("db.namespace", conn.config.Database)
		add("server.address", conn.config.Host)
		if conn.config.Host != "" && conn.config.Port != 0 {
			weftSetInt(span, "server.port", int64(conn.config.Port))
		}
	}
	weftSetStrings(span, kv[:n])
	return &weftOp{Context: sctx, span: span}
}

// weftFinish ends the span in ctx, with err, if any.
func weftFinish(ctx context.Context, err error) {
	defer func() { _ = recover() }()
	o := weftOpOf(ctx)
	if o == nil || o.span == nil {
		return
	}
	span := o.span
	o.span = nil
	if err != nil {
		typ := fmt.Sprintf("%T", err)
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code != "" {
			typ = pgErr.Code // the SQLSTATE, as semconv asks
			weftSetString(span, "db.response.status_code", pgErr.Code)
		}
		weftSetError(span, typ, err.Error())
	}
	weftEnd(span)
}

// weftThen is ours (when started) or the ctx pgx gave.
func weftThen(ctx, ours context.Context) context.Context {
	if ours != nil {
		return ours
	}
	return ctx
}

func (t *weftTracer) TraceQueryStart(ctx context.Context, conn *Conn, data TraceQueryStartData) context.Context {
	op, target, text := weftSQLInfo(data.SQL)
	ctx = weftThen(ctx, weftStart(ctx, conn, op, target, text))
	if t.inner != nil {
		ctx = t.inner.TraceQueryStart(ctx, conn, data)
	}
	return ctx
}

func (t *weftTracer) TraceQueryEnd(ctx context.Context, conn *Conn, data TraceQueryEndData) {
	if t.inner != nil {
		t.inner.TraceQueryEnd(ctx, conn, data)
	}
	weftFinish(ctx, data.Err)
}

func (t *weftTracer) TraceBatchStart(ctx context.Context, conn *Conn, data TraceBatchStartData) context.Context {
	size := 0
	if data.Batch != nil {
		size = data.Batch.Len()
	}
	ours := weftStart(ctx, conn, "BATCH", "", "")
	if o, _ := ours.(*weftOp); o != nil && size > 1 {
		weftSetInt(o.span, "db.operation.batch.size", int64(size))
	}
	ctx = weftThen(ctx, ours)
	if bt, ok := t.inner.(BatchTracer); ok {
		ctx = bt.TraceBatchStart(ctx, conn, data)
	}
	return ctx
}

func (t *weftTracer) TraceBatchQuery(ctx context.Context, conn *Conn, data TraceBatchQueryData) {
	if bt, ok := t.inner.(BatchTracer); ok {
		bt.TraceBatchQuery(ctx, conn, data)
	}
	defer func() { _ = recover() }()
	if o := weftOpOf(ctx); o != nil && o.span != nil {
		op, _, text := weftSQLInfo(data.SQL)
		if len(o.batch) == 0 || o.batchOp == op {
			o.batchOp = op
		} else {
			o.batchOp = ""
		}
		o.batch = append(o.batch, text)
	}
}

func (t *weftTracer) TraceBatchEnd(ctx context.Context, conn *Conn, data TraceBatchEndData) {
	if bt, ok := t.inner.(BatchTracer); ok {
		bt.TraceBatchEnd(ctx, conn, data)
	}
	func() {
		defer func() { _ = recover() }()
		// "BATCH INSERT" when every statement read is alike (semconv).
		if o := weftOpOf(ctx); o != nil && o.span != nil && len(o.batch) > 0 {
			op := "BATCH"
			if o.batchOp != "" {
				op += " " + o.batchOp
			}
			weftSetName(o.span, op)
			weftSetStrings(o.span, []string{"db.operation.name", op, "db.query.text", strings.Join(o.batch, "; ")})
		}
	}()
	weftFinish(ctx, data.Err)
}

func (t *weftTracer) TraceCopyFromStart(ctx context.Context, conn *Conn, data TraceCopyFromStartData) context.Context {
	ctx = weftThen(ctx, weftStart(ctx, conn, "COPY", strings.Join(data.TableName, "."), ""))
	if ct, ok := t.inner.(CopyFromTracer); ok {
		ctx = ct.TraceCopyFromStart(ctx, conn, data)
	}
	return ctx
}

func (t *weftTracer) TraceCopyFromEnd(ctx context.Context, conn *Conn, data TraceCopyFromEndData) {
	if ct, ok := t.inner.(CopyFromTracer); ok {
		ct.TraceCopyFromEnd(ctx, conn, data)
	}
	weftFinish(ctx, data.Err)
}

// Preparing is part of the query that needs it (pgx prepares and caches
// statements itself): no span of its own, the program's tracer still sees it.
func (t *weftTracer) TracePrepareStart(ctx context.Context, conn *Conn, data TracePrepareStartData) context.Context {
	if pt, ok := t.inner.(PrepareTracer); ok {
		return pt.TracePrepareStart(ctx, conn, data)
	}
	return ctx
}

func (t *weftTracer) TracePrepareEnd(ctx context.Context, conn *Conn, data TracePrepareEndData) {
	if pt, ok := t.inner.(PrepareTracer); ok {
		pt.TracePrepareEnd(ctx, conn, data)
	}
}

func (t *weftTracer) TraceConnectStart(ctx context.Context, data TraceConnectStartData) context.Context {
	if ct, ok := t.inner.(ConnectTracer); ok {
		return ct.TraceConnectStart(ctx, data)
	}
	return ctx
}

func (t *weftTracer) TraceConnectEnd(ctx context.Context, data TraceConnectEndData) {
	if ct, ok := t.inner.(ConnectTracer); ok {
		ct.TraceConnectEnd(ctx, data)
	}
}

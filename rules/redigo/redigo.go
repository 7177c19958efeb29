// Client spans for redigo: woven into package github.com/gomodule/redigo/redis,
// around the methods of its one real connection type, conn. Pool's
// activeConn, loggingConn and the like all end in a conn, so one command
// makes one span. redigo passes no context: spans take the goroutine's
// current one as parent.
//
// Do (and DoWithTimeout, DoContext) is one span. Commands queued by Send
// become one span when they are flushed (by Flush, or by the Do that
// follows them), which ends when the last of their replies is read:
// a "PIPELINE" (or "MULTI" … EXEC) batch, or the command itself when alone.

package redis

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"
)

const weftScope = "weft/github.com/gomodule/redigo"

// weftConnState is added to conn (the field "weft").
type weftConnState struct {
	mu      sync.Mutex
	host    string // server.address, from the dialed address
	port    int
	db      string // db.namespace: dialed with, or last SELECT-ed
	queued  []weftRedisCmd
	flushed []*weftBatch // sent, replies not all read yet, oldest first
}

type weftBatch struct {
	span unsafe.Pointer
	left int   // replies still to read
	err  error // the first error reply
}

// weftStart starts the span of a batch; c.weft.mu is held by the caller.
func (c *conn) weftStart(cmds []weftRedisCmd) unsafe.Pointer {
	op, text, size := weftRedisBatch(cmds)
	if op == "" {
		return nil
	}
	_, span := weftStartSpan(nil, weftScope, op, 3)
	if span == nil {
		return nil
	}
	host, port := c.weft.host, c.weft.port
	if host == "" && c.conn != nil {
		// Not dialed by DialContext (NewConn), or still inside it (AUTH, SELECT).
		if a := c.conn.RemoteAddr(); a != nil {
			host, port = weftSplitAddr(a.Network(), a.String())
		}
	}
	weftRedisAttrs(span, op, text, size, c.weft.db, host, port)
	return span
}

func weftSplitAddr(network, address string) (string, int) {
	if strings.HasPrefix(network, "unix") {
		return address, 0
	}
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return address, 0
	}
	p, _ := strconv.Atoi(port)
	return host, p
}

// weftFail records err on a span and ends it. An error reply (redis.Error)
// sets db.response.status_code and error.type to its prefix ("WRONGTYPE").
func weftFail(span unsafe.Pointer, err error) {
	defer weftEnd(span)
	if err == nil || err == ErrNil {
		return
	}
	if re, ok := err.(Error); ok {
		code := string(re)
		if i := strings.IndexByte(code, ' '); i > 0 {
			code = code[:i]
		}
		weftSetString(span, "db.response.status_code", code)
		weftSetError(span, code, string(re))
		return
	}
	t := fmt.Sprintf("%T", err)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t = "timeout"
	}
	weftSetError(span, t, err.Error())
}

func weftIsReply(err error) bool {
	_, ok := err.(Error)
	return ok
}

// weftSelected is the database a SELECT command switches to, or "".
func weftSelected(op string, args []interface{}) string {
	if op != "SELECT" || len(args) != 1 {
		return ""
	}
	if db := weftRedisArg(args[0]); db != "?" {
		return db
	}
	return ""
}

// --- DialContext: remember the address -------------------------------------

type weftDialState struct{ network, address string }

func weftDialBefore(_ *context.Context, network, address *string, _ *[]DialOption) (weftDialState, bool) {
	return weftDialState{network: *network, address: *address}, true
}

func weftDialAfter(st weftDialState, c *Conn, err *error) {
	defer func() { _ = recover() }()
	if *err != nil {
		return
	}
	cn, ok := (*c).(*conn)
	if !ok || cn == nil {
		return
	}
	host, port := weftSplitAddr(st.network, st.address)
	cn.weft.mu.Lock()
	cn.weft.host, cn.weft.port = host, port
	if cn.weft.db == "" {
		cn.weft.db = "0" // a new connection starts on 0; DialDatabase SELECTs
	}
	cn.weft.mu.Unlock()
}

// --- Send, Flush, Receive ----------------------------------------------------

func weftSendBefore(c **conn, cmd *string, args *[]interface{}) (*conn, bool) {
	defer func() { _ = recover() }()
	cn := *c
	if cn == nil || !weftEnabled() {
		return nil, false
	}
	op, text := weftRedisCommand(*cmd, *args)
	if op == "" {
		return nil, false
	}
	cn.weft.mu.Lock()
	cn.weft.queued = append(cn.weft.queued, weftRedisCmd{op: op, text: text})
	if db := weftSelected(op, *args); db != "" {
		cn.weft.db = db // for the commands queued after it
	}
	cn.weft.mu.Unlock()
	return cn, true
}

func weftSendAfter(cn *conn, err *error) {
	defer func() { _ = recover() }()
	if *err == nil {
		return
	}
	// The connection is broken: what was queued never reaches the server.
	cn.weft.mu.Lock()
	span := cn.weftStart(cn.weft.queued)
	cn.weft.queued = nil
	cn.weft.mu.Unlock()
	weftFail(span, *err)
}

type weftFlushState struct {
	cn *conn
	b  *weftBatch
}

func weftFlushBefore(c **conn) (weftFlushState, bool) {
	defer func() { _ = recover() }()
	cn := *c
	if cn == nil {
		return weftFlushState{}, false
	}
	cn.weft.mu.Lock()
	defer cn.weft.mu.Unlock()
	if len(cn.weft.queued) == 0 {
		return weftFlushState{}, false
	}
	b := &weftBatch{left: len(cn.weft.queued), span: cn.weftStart(cn.weft.queued)}
	cn.weft.queued = nil
	cn.weft.flushed = append(cn.weft.flushed, b)
	return weftFlushState{cn: cn, b: b}, true
}

func weftFlushAfter(st weftFlushState, err *error) {
	defer func() { _ = recover() }()
	if *err == nil {
		return
	}
	// Broken connection: no reply will come. Receive ends the other batches.
	st.cn.weft.mu.Lock()
	left := st.b.left
	st.b.left = 0
	st.cn.weft.mu.Unlock()
	if left > 0 {
		weftFail(st.b.span, *err)
	}
}

func weftReceiveBefore(c **conn, _ *time.Duration) (*conn, bool) {
	defer func() { _ = recover() }()
	cn := *c
	if cn == nil {
		return nil, false
	}
	cn.weft.mu.Lock()
	waiting := len(cn.weft.flushed) > 0
	cn.weft.mu.Unlock()
	return cn, waiting // not waiting: a pub/sub message, or tracing is off
}

func weftReceiveAfter(cn *conn, _ *interface{}, err *error) {
	defer func() { _ = recover() }()
	e := *err
	cn.weft.mu.Lock()
	if e != nil && !weftIsReply(e) {
		// The connection is broken: no batch gets the rest of its replies.
		all := cn.weft.flushed
		cn.weft.flushed = nil
		cn.weft.mu.Unlock()
		for _, b := range all {
			if b.left > 0 {
				weftFail(b.span, e)
			}
		}
		return
	}
	var done *weftBatch
	for len(cn.weft.flushed) > 0 {
		b := cn.weft.flushed[0]
		if b.left <= 0 { // its Flush failed
			cn.weft.flushed = cn.weft.flushed[1:]
			continue
		}
		if e != nil && b.err == nil {
			b.err = e
		}
		if b.left--; b.left == 0 {
			cn.weft.flushed = cn.weft.flushed[1:]
			done = b
		}
		break
	}
	cn.weft.mu.Unlock()
	if done != nil {
		weftFail(done.span, done.err)
	}
}

// --- Do ----------------------------------------------------------------------

type weftDoState struct {
	cn       *conn
	cmd      string
	span     unsafe.Pointer
	drained  []*weftBatch // flushed earlier; this Do reads their replies first
	selected string
}

func weftDoBefore(c **conn, _ *time.Duration, cmd *string, args *[]interface{}) (st weftDoState, ok bool) {
	defer func() { _ = recover() }()
	cn := *c
	if cn == nil || !weftEnabled() {
		return st, false
	}
	st = weftDoState{cn: cn, cmd: *cmd}
	cn.weft.mu.Lock()
	defer cn.weft.mu.Unlock()
	cmds := cn.weft.queued
	cn.weft.queued = nil
	st.drained = cn.weft.flushed
	cn.weft.flushed = nil
	if *cmd != "" {
		op, text := weftRedisCommand(*cmd, *args)
		if op == "" {
			op, text = strings.TrimSpace(*cmd), ""
		}
		cmds = append(cmds, weftRedisCmd{op: op, text: text})
		st.selected = weftSelected(op, *args)
	}
	if len(cmds) > 0 {
		st.span = cn.weftStart(cmds)
	}
	return st, st.span != nil || len(st.drained) > 0 || st.selected != ""
}

func weftDoAfter(st weftDoState, reply *interface{}, err *error) {
	defer func() { _ = recover() }()
	e := *err
	// Do("") returns every pending reply: the drained batches' come first.
	replies, _ := (*reply).([]interface{})
	for _, b := range st.drained {
		for ; b.left > 0; b.left-- {
			if st.cmd == "" && len(replies) > 0 {
				if re, ok := replies[0].(Error); ok && b.err == nil {
					b.err = re
				}
				replies = replies[1:]
			}
		}
		if e != nil && !weftIsReply(e) {
			b.err = e
		}
		weftFail(b.span, b.err)
	}
	if e == nil && st.selected != "" {
		st.cn.weft.mu.Lock()
		st.cn.weft.db = st.selected
		st.cn.weft.mu.Unlock()
	}
	if st.cmd == "" && e == nil {
		// The error replies of commands queued before Do("") are in replies.
		for _, r := range replies {
			if re, ok := r.(Error); ok {
				e = re
				break
			}
		}
	}
	weftFail(st.span, e)
}

// --- Close -------------------------------------------------------------------

func weftCloseBefore(c **conn) (struct{}, bool) {
	defer func() { _ = recover() }()
	cn := *c
	if cn == nil {
		return struct{}{}, false
	}
	cn.weft.mu.Lock()
	all := cn.weft.flushed
	cn.weft.flushed, cn.weft.queued = nil, nil
	cn.weft.mu.Unlock()
	// Replies never read: the spans end here.
	for _, b := range all {
		if b.left > 0 {
			weftFail(b.span, b.err)
		}
	}
	return struct{}{}, false
}

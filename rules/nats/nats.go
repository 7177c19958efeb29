// Producer and consumer spans for NATS (github.com/nats-io/nats.go), woven
// into package nats:
//
//   - publish, which every Publish, PublishMsg, PublishRequest, Request,
//     Msg.Respond and JetStream publish ends in: a "publish SUBJECT" producer
//     span, and the trace context in the message's headers (when the server
//     takes headers and the message still fits its max_payload);
//   - subscribe, which every subscription passes (Subscribe, QueueSubscribe,
//     JetStream push consumers, the jetstream package's Consume): a callback
//     is wrapped so that each message it gets runs in a "process SUBJECT"
//     consumer span, child of the publisher's span, as the goroutine's
//     current context (what the callback publishes, queries or sends joins
//     the trace);
//   - requestWithContext: the request's ctx is the goroutine's current one
//     while it publishes, so the publish span is its child.
//
// Subjects starting with "$" ($JS.API, acks, flow control, $SYS, $KV) are
// the protocol's own and get no span and no headers. Messages read with
// NextMsg, Fetch or from a channel get no span: nothing marks where their
// processing ends.

package nats

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"unsafe"
)

const weftScope = "weft/github.com/nats-io/nats.go"

// weftConnInfo is added to Conn (the field "weft"): the server address of
// the URL last connected to, parsed once.
type weftConnInfo struct {
	mu   sync.Mutex
	url  string
	host string
	port int64
}

func (nc *Conn) weftServer() (string, int64) {
	u := nc.ConnectedUrl()
	w := &nc.weft
	w.mu.Lock()
	defer w.mu.Unlock()
	if u != w.url {
		w.url, w.host, w.port = u, "", 0
		if p, err := url.Parse(u); err == nil {
			w.host = p.Hostname()
			w.port, _ = strconv.ParseInt(p.Port(), 10, 64)
		}
	}
	return w.host, w.port
}

// weftSystem reports the protocol's own subjects.
func weftSystem(subj string) bool { return strings.HasPrefix(subj, "$") }

// weftTemporary reports a reply inbox (the default prefix only).
func weftTemporary(subj string) bool { return strings.HasPrefix(subj, "_INBOX.") }

func weftAttrs(nc *Conn, span unsafe.Pointer, op, opType, subj string, size int) {
	host, port := nc.weftServer()
	kv := [10]string{
		"messaging.system", "nats",
		"messaging.operation.name", op,
		"messaging.operation.type", opType,
		"messaging.destination.name", subj,
	}
	n := 8
	if host != "" {
		kv[n], kv[n+1] = "server.address", host
		n += 2
	}
	weftSetStrings(span, kv[:n])
	if weftTemporary(subj) {
		weftSetBool(span, "messaging.destination.temporary", true)
	}
	weftSetInt(span, "messaging.message.body.size", int64(size))
	if port != 0 {
		weftSetInt(span, "server.port", port)
	}
}

// weftName is "OP SUBJECT", or "OP (temporary)" for a reply inbox, whose
// name is unique to one request.
func weftName(op, subj string) string {
	if weftTemporary(subj) {
		return op + " (temporary)"
	}
	return op + " " + subj
}

// --- publish -------------------------------------------------------------

func weftPublish(nc *Conn, subj string, hdr *[]byte, data []byte) (unsafe.Pointer, bool) {
	if nc == nil || !weftEnabled() || weftSystem(subj) {
		return nil, false
	}
	ctx, span := weftStartSpan(nil, weftScope, weftName("publish", subj), 4)
	if ctx == nil {
		return nil, false
	}
	// An unsampled span still propagates (flags 00).
	if nc.HeadersSupported() {
		*hdr = weftWithTrace(ctx, *hdr, int64(len(data)), nc.MaxPayload())
	}
	if span == nil {
		return nil, false
	}
	weftAttrs(nc, span, "publish", "send", subj, len(data))
	return span, true
}

// weftWithTrace returns hdr (the encoded "NATS/1.0" header block, or nil)
// with the trace context (traceparent, tracestate, baggage, or what
// OTEL_PROPAGATORS names) added, in a new slice. hdr is
// returned as it is when it already has a traceparent (the program
// propagates its own), is not a header block, or when the message would no
// longer fit the server's max_payload.
func weftWithTrace(ctx context.Context, hdr []byte, size, max int64) []byte {
	const line, crlf = "NATS/1.0\r\n", "\r\n"
	if hdr != nil {
		s := string(hdr)
		if !strings.HasPrefix(s, "NATS/1.0") || !strings.HasSuffix(s, "\r\n\r\n") ||
			strings.Contains(strings.ToLower(s), "\ntraceparent:") {
			return hdr
		}
	}
	h := make(map[string][]string, 3)
	weftInject(ctx, h)
	if len(h) == 0 {
		return hdr
	}
	out := make([]byte, 0, len(hdr)+len(line)+128)
	if hdr == nil {
		out = append(out, line...)
	} else {
		out = append(out, hdr[:len(hdr)-len(crlf)]...)
	}
	// The headers in the same order each time (nats.go imports no sort;
	// there are a few keys).
	keys := make([]string, 0, len(h))
	for k := range h {
		i := len(keys)
		keys = append(keys, k)
		for ; i > 0 && keys[i-1] > k; i-- {
			keys[i] = keys[i-1]
		}
		keys[i] = k
	}
	for _, k := range keys {
		for _, v := range h[k] {
			if strings.ContainsAny(v, "\r\n") {
				continue
			}
			out = append(out, strings.ToLower(k)...)
			out = append(out, ": "...)
			out = append(out, v...)
			out = append(out, crlf...)
		}
	}
	out = append(out, crlf...)
	if max > 0 && int64(len(out))+size > max {
		return hdr
	}
	return out
}

func weftPublishAfter(span unsafe.Pointer, err *error) {
	defer weftEnd(span)
	if e := *err; e != nil {
		weftSetError(span, weftErrorType(e), e.Error())
	}
}

// weftErrorType names an error by the nats.go sentinel it is ("nats:
// maximum payload exceeded" → that text), else "_OTHER".
func weftErrorType(err error) string {
	if s := err.Error(); strings.HasPrefix(s, "nats: ") && len(s) < 80 {
		return s
	}
	return "_OTHER"
}

// publish(subj, reply string, hdr, data []byte) error, before v1.48.
func weftPublishBefore(nc **Conn, subj, _ *string, hdr, data *[]byte) (_ unsafe.Pointer, ok bool) {
	defer func() { _ = recover() }()
	return weftPublish(*nc, *subj, hdr, *data)
}

// publish(subj, reply string, validateReply bool, hdr, data []byte) error.
func weftPublishBefore148(nc **Conn, subj, _ *string, _ *bool, hdr, data *[]byte) (_ unsafe.Pointer, ok bool) {
	defer func() { _ = recover() }()
	return weftPublish(*nc, *subj, hdr, *data)
}

// --- requestWithContext --------------------------------------------------

// weftRequestBefore makes ctx current when it carries a span other than
// the goroutine's: a Background ctx (Fiber's UserContext) leaves the
// goroutine's span the parent.
func weftRequestBefore(_ **Conn, ctx *context.Context, _ *string, _, _ *[]byte) (unsafe.Pointer, bool) {
	if !weftEnabled() {
		return nil, false
	}
	return weftEnterSpan(*ctx)
}

func weftRequestAfter(prev unsafe.Pointer, _ **Msg, _ *error) { weftLeave(prev) }

// --- subscribe -----------------------------------------------------------

// weftWrap wraps a subscription's callback (sync and channel
// subscriptions have none) in one that processes each message in a span.
// It asks weftEnabled at each message, not here: a subscription made
// while packages initialize may come before weft/rt's init.
func weftWrap(nc *Conn, subj, queue string, cb *MsgHandler) {
	inner := *cb
	if nc == nil || inner == nil || weftSystem(subj) {
		return
	}
	name := "process " + subj
	*cb = func(m *Msg) {
		if !weftEnabled() {
			inner(m)
			return
		}
		prev, span := weftProcessStart(nc, name, subj, queue, m)
		defer weftProcessEnd(prev, span)
		inner(m)
	}
}

func weftProcessStart(nc *Conn, name, subj, queue string, m *Msg) (prev, span unsafe.Pointer) {
	defer func() { _ = recover() }()
	// The goroutine delivering messages inherited the context of the code
	// that subscribed: the callback runs without it.
	// A JetStream status message (heartbeat, flow control, "no messages")
	// carries no data of the program's.
	if m == nil || (len(m.Data) == 0 && len(m.Header["Status"]) > 0) {
		return weftEnter(nil), nil
	}
	if weftTemporary(subj) {
		// A push consumer's deliver inbox: the message keeps the subject
		// it was published to (else it is an inbox too: "(temporary)").
		subj, name = m.Subject, weftName("process", m.Subject)
	}
	ctx := weftExtract(context.Background(), m.Header)
	ctx, span = weftStartSpan(ctx, weftScope, name, 5)
	if ctx == nil {
		return weftEnter(nil), nil
	}
	prev = weftEnter(ctx)
	if span != nil {
		weftAttrs(nc, span, "process", "process", m.Subject, len(m.Data))
		if queue != "" {
			weftSetString(span, "messaging.consumer.group.name", queue)
		}
		if subj != m.Subject {
			weftSetString(span, "messaging.destination.template", subj)
		}
	}
	return prev, span
}

func weftProcessEnd(prev, span unsafe.Pointer) {
	weftLeave(prev)
	weftEnd(span)
}

// subscribe(subj, queue string, cb MsgHandler, ch chan *Msg, isSync bool, js *jsSub), before v1.38.
func weftSubscribeBefore(nc **Conn, subj, queue *string, cb *MsgHandler, _ *chan *Msg, _ *bool, _ **jsSub) (_ struct{}, ok bool) {
	defer func() { _ = recover() }()
	weftWrap(*nc, *subj, *queue, cb)
	return
}

// subscribe(subj, queue string, cb MsgHandler, ch chan *Msg, errCh chan error, isSync bool, js *jsSub).
func weftSubscribeBefore138(nc **Conn, subj, queue *string, cb *MsgHandler, _ *chan *Msg, _ *chan (error), _ *bool, _ **jsSub) (_ struct{}, ok bool) {
	defer func() { _ = recover() }()
	weftWrap(*nc, *subj, *queue, cb)
	return
}

// Producer and consumer spans for RabbitMQ through
// github.com/rabbitmq/amqp091-go, woven into package amqp091:
//
//   - (*Channel).send with a basic.publish, which every Publish,
//     PublishWithContext and PublishWithDeferredConfirm(WithContext) ends
//     in: a "publish DESTINATION" producer span under the goroutine's
//     current context (PublishWithContext and
//     PublishWithDeferredConfirmWithContext make their ctx current for the
//     call when it carries a span), the trace context added to a copy of the
//     message's headers (the caller's Table is never changed; one that has
//     its own traceparent is sent as it is); the span ends when the frames
//     are written, with the error of a closed channel or connection;
//   - Consume and ConsumeWithContext: the deliveries channel is watched
//     (weft/rt.WatchChan, through the woven runtime); each delivery received
//     from it starts a "process DESTINATION" consumer span, child of the
//     producer's span found in the delivery's headers, as the receiving
//     goroutine's context. Nothing tells amqp091 when a delivery is done,
//     so the span lasts until that goroutine receives again from the same
//     channel, or the channel closes (Cancel, Channel.Close, the connection
//     lost: the consumer's buffer goroutine, (*consumers).buffer, returns);
//   - Get (basic.get): a "receive DESTINATION" client span for the call.
//
// DESTINATION follows OpenTelemetry's semantic conventions for RabbitMQ:
// "EXCHANGE:ROUTING_KEY" for a publish ("amq.default" for the default
// exchange without a routing key), "EXCHANGE:ROUTING_KEY:QUEUE" for a
// delivery, empty parts left out and a routing key equal to the queue
// named once. A server-named queue ("amq.gen-…") or the direct reply-to
// pseudo-queue is anonymous: the destination name keeps it, the span name
// leaves it out (its cardinality is unbounded).

package amqp091

import (
	"context"
	"net"
	"strconv"
	"strings"
	"sync"
	"unsafe"
)

const weftScope = "weft/github.com/rabbitmq/amqp091-go"

// --- names ---------------------------------------------------------------

// weftAnonymous reports a server-named queue or the direct reply-to
// pseudo-queue.
func weftAnonymous(s string) bool {
	return strings.HasPrefix(s, "amq.gen-") || strings.HasPrefix(s, "amq.rabbitmq.reply-to")
}

// weftDest joins the non-empty parts with ":" (a queue equal to the
// routing key once); "amq.default" when none is left.
func weftDest(exchange, key, queue string) string {
	if queue == key {
		queue = ""
	}
	var b strings.Builder
	for _, p := range [3]string{exchange, key, queue} {
		if p == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(':')
		}
		b.WriteString(p)
	}
	if b.Len() == 0 {
		return "amq.default"
	}
	return b.String()
}

// weftNames is the destination name and the span name's destination (the
// anonymous parts left out), and whether a part was anonymous.
func weftNames(exchange, key, queue string) (dest, short string, anon bool) {
	dest = weftDest(exchange, key, queue)
	if weftAnonymous(key) {
		key, anon = "", true
	}
	if weftAnonymous(queue) {
		queue, anon = "", true
	}
	if !anon {
		return dest, dest, false
	}
	return dest, weftDest(exchange, key, queue), true
}

// --- the server ----------------------------------------------------------

// weftConnInfo is added to Connection (the field "weft"): the broker's
// address, read once from the socket.
type weftConnInfo struct {
	once sync.Once
	host string
	port int64
}

func (c *Connection) weftServer() (string, int64) {
	if c == nil {
		return "", 0
	}
	w := &c.weft
	w.once.Do(func() {
		rc, ok := c.conn.(interface{ RemoteAddr() net.Addr })
		if !ok {
			return
		}
		a := rc.RemoteAddr()
		if a == nil {
			return
		}
		if t, ok := a.(*net.TCPAddr); ok {
			w.host, w.port = t.IP.String(), int64(t.Port)
			return
		}
		if h, p, err := net.SplitHostPort(a.String()); err == nil {
			w.host = h
			w.port, _ = strconv.ParseInt(p, 10, 64)
		}
	})
	return w.host, w.port
}

// weftAttrs sets what every span of the rule has.
func weftAttrs(span unsafe.Pointer, ch *Channel, op, opType, dest, key string, anon bool) {
	host, port := "", int64(0)
	if ch != nil {
		host, port = ch.connection.weftServer()
	}
	kv := [12]string{
		"messaging.system", "rabbitmq",
		"messaging.operation.name", op,
		"messaging.operation.type", opType,
		"messaging.destination.name", dest,
	}
	n := 8
	if key != "" {
		kv[n], kv[n+1] = "messaging.rabbitmq.destination.routing_key", key
		n += 2
	}
	if host != "" {
		kv[n], kv[n+1] = "server.address", host
		n += 2
	}
	weftSetStrings(span, kv[:n])
	if port != 0 {
		weftSetInt(span, "server.port", port)
	}
	if anon {
		weftSetBool(span, "messaging.destination.anonymous", true)
	}
}

// weftMessage sets the message's own attributes.
func weftMessage(span unsafe.Pointer, id, correlation string, size int) {
	if id != "" {
		weftSetString(span, "messaging.message.id", id)
	}
	if correlation != "" {
		weftSetString(span, "messaging.message.conversation_id", correlation)
	}
	weftSetInt(span, "messaging.message.body.size", int64(size))
}

// weftErrorType names an AMQP error by its reply code's name in the
// AMQP 0-9-1 spec ("channel-error"), else "_OTHER".
func weftErrorType(err error) string {
	e, ok := err.(*Error)
	if !ok || e == nil {
		return "_OTHER"
	}
	switch e.Code {
	case 311:
		return "content-too-large"
	case 312:
		return "no-route"
	case 313:
		return "no-consumers"
	case 320:
		return "connection-forced"
	case 402:
		return "invalid-path"
	case 403:
		return "access-refused"
	case 404:
		return "not-found"
	case 405:
		return "resource-locked"
	case 406:
		return "precondition-failed"
	case 501:
		return "frame-error"
	case 502:
		return "syntax-error"
	case 503:
		return "command-invalid"
	case 504:
		return "channel-error"
	case 505:
		return "unexpected-frame"
	case 506:
		return "resource-error"
	case 530:
		return "not-allowed"
	case 540:
		return "not-implemented"
	case 541:
		return "internal-error"
	}
	return strconv.Itoa(e.Code)
}

// --- publish -------------------------------------------------------------

// weftSendBefore: send(msg message) error. Only a basic.publish starts a
// span.
func weftSendBefore(c **Channel, msg *message) (_ unsafe.Pointer, ok bool) {
	defer func() { _ = recover() }()
	pub, _ := (*msg).(*basicPublish)
	if pub == nil || !weftEnabled() {
		return nil, false
	}
	ch := *c
	dest, short, anon := weftNames(pub.Exchange, pub.RoutingKey, "")
	ctx, span := weftStartSpan(nil, weftScope, "publish "+short, 4)
	if ctx == nil {
		return nil, false
	}
	// An unsampled span still propagates (flags 00).
	pub.Properties.Headers = weftWithTrace(ctx, pub.Properties.Headers)
	if span == nil {
		return nil, false
	}
	weftAttrs(span, ch, "publish", "send", dest, pub.RoutingKey, anon)
	weftMessage(span, pub.Properties.MessageId, pub.Properties.CorrelationId, len(pub.Body))
	return span, true
}

// weftWithTrace returns a copy of h with the trace context of ctx added,
// or h itself when it has a traceparent of the program's.
func weftWithTrace(ctx context.Context, h Table) Table {
	for k := range h {
		if strings.EqualFold(k, "traceparent") {
			return h
		}
	}
	carrier := make(map[string][]string, 3)
	weftInject(ctx, carrier)
	if len(carrier) == 0 {
		return h
	}
	out := make(Table, len(h)+len(carrier))
	for k, v := range h {
		out[k] = v
	}
	for k, v := range carrier {
		if len(v) > 0 {
			out[strings.ToLower(k)] = v[0]
		}
	}
	return out
}

func weftSendAfter(span unsafe.Pointer, err *error) {
	defer weftEnd(span)
	if e := *err; e != nil {
		weftSetError(span, weftErrorType(e), e.Error())
	}
}

// weftPublishCtxBefore makes ctx current for the publish when it carries a
// span other than the goroutine's: a Background ctx leaves the goroutine's
// span the parent.
func weftPublishCtxBefore(_ **Channel, ctx *context.Context, _, _ *string, _, _ *bool, _ *Publishing) (unsafe.Pointer, bool) {
	if !weftEnabled() || *ctx == nil {
		return nil, false
	}
	return weftEnterSpan(*ctx)
}

func weftPublishCtxAfter(prev unsafe.Pointer, _ *error) { weftLeave(prev) }

func weftPublishDCCtxAfter(prev unsafe.Pointer, _ **DeferredConfirmation, _ *error) {
	weftLeave(prev)
}

// --- Consume -------------------------------------------------------------

// weftConsumer is the state of one deliveries channel: the spans of the
// deliveries received, each open until the goroutine it went to receives
// again or the channel closes; by span id, as each is its goroutine's
// context.
type weftConsumer struct {
	ch    *Channel
	queue string
	mu    sync.Mutex
	done  bool
	open  map[string]weftOpen
}

type weftOpen struct {
	span unsafe.Pointer
	prev unsafe.Pointer // the goroutine's context before the span
}

// weftConsumers: the watched deliveries channels (by their hchan), for
// the consumer's buffer goroutine to end the spans still open when it
// closes its channel.
var weftConsumers sync.Map

type weftConsumeArgs struct {
	ch    *Channel
	queue string
}

func weftConsumeBefore(c **Channel, queue, _ *string, _, _, _, _ *bool, _ *Table) (weftConsumeArgs, bool) {
	return weftConsumeArgs{*c, *queue}, true
}

func weftConsumeCtxBefore(c **Channel, _ *context.Context, queue, _ *string, _, _, _, _ *bool, _ *Table) (weftConsumeArgs, bool) {
	return weftConsumeArgs{*c, *queue}, true
}

// weftConsumeAfter watches the deliveries channel returned. Not tested
// against weftEnabled: a consumer started before weft/rt's init is traced
// too (the hook asks at each receive).
func weftConsumeAfter(a weftConsumeArgs, deliveries *<-chan Delivery, err *error) {
	defer func() { _ = recover() }()
	d := *deliveries
	if *err != nil || d == nil {
		return
	}
	c := &weftConsumer{ch: a.ch, queue: a.queue}
	weftConsumers.Store(weftChanKey(d), c)
	weftWatchChan(d, nil, c.received)
}

func weftChanKey(ch interface{}) unsafe.Pointer {
	return (*[2]unsafe.Pointer)(unsafe.Pointer(&ch))[1]
}

// received runs on the receiving goroutine, with a pointer to the Delivery
// received (nil: the channel is closed, or the value dropped).
func (c *weftConsumer) received(ep unsafe.Pointer) {
	defer func() { _ = recover() }()
	c.finish()
	if ep == nil || !weftEnabled() {
		return
	}
	d := (*Delivery)(ep)
	var h map[string][]string // made only for a delivery that carries one
	if len(d.Headers) > 0 {
		for _, p := range weftPropagationKeys() {
			for k, v := range d.Headers {
				if !strings.EqualFold(k, p) {
					continue
				}
				var s string
				switch v := v.(type) {
				case string:
					s = v
				case []byte:
					s = string(v)
				default:
					continue
				}
				if h == nil {
					h = make(map[string][]string, 3)
				}
				h[p] = append(h[p], s)
			}
		}
	}
	c.mu.Lock()
	done := c.done
	c.mu.Unlock()
	if done {
		return
	}
	dest, short, anon := weftNames(d.Exchange, d.RoutingKey, c.queue)
	ctx, span := weftStartSpan(weftExtract(context.Background(), h), weftScope, "process "+short, 5)
	if ctx == nil {
		return
	}
	c.mu.Lock()
	prev := weftEnter(ctx)
	_, id := weftTraceIDs(context.Background())
	if c.open == nil || len(c.open) >= 1024 {
		// Goroutines that received once and ended: their spans end here.
		for _, o := range c.open {
			weftEnd(o.span)
		}
		c.open = make(map[string]weftOpen)
	}
	c.open[id] = weftOpen{span: span, prev: prev}
	c.mu.Unlock()
	if span == nil {
		return
	}
	weftAttrs(span, c.ch, "process", "process", dest, d.RoutingKey, anon)
	weftMessage(span, d.MessageId, d.CorrelationId, len(d.Body))
	weftSetInt(span, "messaging.rabbitmq.message.delivery_tag", int64(d.DeliveryTag))
}

// finish ends the span this goroutine got from c, and gives the goroutine
// its context back.
func (c *weftConsumer) finish() {
	_, id := weftTraceIDs(context.Background())
	if id == "" {
		return
	}
	c.mu.Lock()
	o, ok := c.open[id]
	delete(c.open, id)
	c.mu.Unlock()
	if ok {
		weftLeave(o.prev)
		weftEnd(o.span)
	}
}

// weftBufferBefore: (*consumers).buffer(in chan *Delivery, out chan
// Delivery), the goroutine that feeds a deliveries channel and closes it.
func weftBufferBefore(_ **consumers, _ *chan *Delivery, out *chan Delivery) (unsafe.Pointer, bool) {
	return weftChanKey(*out), true
}

// weftBufferAfter ends every span still open once the channel is closed:
// the goroutines they went to may never receive again.
func weftBufferAfter(key unsafe.Pointer) {
	defer func() { _ = recover() }()
	v, ok := weftConsumers.LoadAndDelete(key)
	if !ok {
		return
	}
	c := v.(*weftConsumer)
	c.mu.Lock()
	open := c.open
	c.open, c.done = nil, true
	c.mu.Unlock()
	for _, o := range open {
		weftEnd(o.span)
	}
}

// --- Get -----------------------------------------------------------------

type weftGetState struct {
	ch    *Channel
	queue string
	span  unsafe.Pointer
}

// weftGetBefore: Get(queue string, autoAck bool) (Delivery, bool, error).
func weftGetBefore(c **Channel, queue *string, _ *bool) (_ weftGetState, ok bool) {
	defer func() { _ = recover() }()
	if !weftEnabled() {
		return weftGetState{}, false
	}
	dest, short, anon := weftNames("", "", *queue)
	_, span := weftStartSpan(nil, weftScope, "receive "+short, 3)
	if span == nil {
		return weftGetState{}, false
	}
	weftAttrs(span, *c, "receive", "receive", dest, "", anon)
	return weftGetState{*c, *queue, span}, true
}

func weftGetAfter(st weftGetState, d *Delivery, ok *bool, err *error) {
	defer weftEnd(st.span)
	if e := *err; e != nil {
		weftSetError(st.span, weftErrorType(e), e.Error())
		return
	}
	if !*ok {
		return // the queue was empty
	}
	dest, short, anon := weftNames(d.Exchange, d.RoutingKey, st.queue)
	weftSetName(st.span, "receive "+short)
	weftAttrs(st.span, st.ch, "receive", "receive", dest, d.RoutingKey, anon)
	weftMessage(st.span, d.MessageId, d.CorrelationId, len(d.Body))
	weftSetInt(st.span, "messaging.rabbitmq.message.delivery_tag", int64(d.DeliveryTag))
}

// Producer and consumer spans for Kafka through sarama (IBM/sarama and its
// old path Shopify/sarama), woven into package sarama. sarama's API is
// channels: a program sends messages into an AsyncProducer's Input (a
// SyncProducer does the same for it) and receives them from a partition
// consumer's Messages (a consumer group's claims are partition consumers).
// So weft watches those channels (weft/rt.WatchChan, through the woven
// runtime):
//
//   - a send on a producer's input starts a "send TOPIC" producer span
//     under the sending goroutine's context and adds the trace context to
//     the message's headers; the span ends when sarama returns the message
//     as a success (partition and offset known) or an error;
//   - a receive from a partition consumer's messages starts a "process
//     TOPIC" consumer span, child of the producer's span from the headers,
//     as the receiving goroutine's context. Nothing tells sarama when a
//     message is done, so the span lasts until that goroutine receives
//     again from the same partition consumer, or it closes.
//
// A message with a traceparent header of the program's, one the trace
// context would push over Producer.MaxMessageBytes, or one for a broker
// older than Kafka 0.11 (Config.Version; headers need 0.11) keeps its
// headers as they are. A message offered in a select gets its span the
// first time it is offered (msg.weft says it has one).

package sarama

import (
	"context"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unsafe"
)

// --- producer ------------------------------------------------------------

// weftSpan is the type of the field "weft" added to ProducerMessage: the
// message's open span (declared here, where unsafe is imported).
type weftSpan = unsafe.Pointer

func weftNewProducerBefore(_ *Client) (_ struct{}, ok bool) { return struct{}{}, true }

func weftNewProducerAfter(_ struct{}, ap *AsyncProducer, err *error) {
	defer func() { _ = recover() }()
	if p, ok := (*ap).(*asyncProducer); ok && *err == nil && p != nil {
		weftWatchChan(p.input, p.weftSend, nil)
	}
}

// weftSend runs on the sending goroutine, with a pointer to the
// *ProducerMessage about to go into the producer's input.
func (p *asyncProducer) weftSend(ep unsafe.Pointer) {
	defer func() { _ = recover() }()
	msg := *(**ProducerMessage)(ep)
	if msg == nil || msg.flags != 0 || msg.weft != nil || !weftEnabled() {
		return
	}
	sctx, span := weftStartSpan(nil, weftScope, "send "+msg.Topic, 4)
	if sctx == nil {
		return
	}
	if p.conf.Version.IsAtLeast(V0_11_0_0) {
		weftInjectHeaders(sctx, msg, p.conf.Producer.MaxMessageBytes)
	}
	if span == nil {
		return
	}
	msg.weft = span
	kv := [8]string{
		"messaging.system", "kafka",
		"messaging.operation.name", "send",
		"messaging.operation.type", "send",
		"messaging.destination.name", msg.Topic,
	}
	weftSetStrings(span, kv[:])
	if key := weftKey(msg.Key); key != "" {
		weftSetString(span, "messaging.kafka.message.key", key)
	}
	if msg.Value != nil {
		weftSetInt(span, "messaging.message.body.size", int64(msg.Value.Length()))
	}
}

// weftInjectHeaders adds the trace context of ctx to msg's headers, unless
// it has its own traceparent or would outgrow limit (sarama refuses a
// message whose ByteSize is over Producer.MaxMessageBytes).
func weftInjectHeaders(ctx context.Context, msg *ProducerMessage, limit int) {
	size := 36 // a record's largest overhead: sarama's maximumRecordOverhead
	if msg.Key != nil {
		size += msg.Key.Length()
	}
	if msg.Value != nil {
		size += msg.Value.Length()
	}
	for _, h := range msg.Headers {
		if strings.EqualFold(string(h.Key), "traceparent") {
			return
		}
		size += len(h.Key) + len(h.Value) + 10
	}
	carrier := make(map[string][]string, 3)
	weftInject(ctx, carrier)
	keys := make([]string, 0, len(carrier))
	for k := range carrier {
		keys = append(keys, k)
	}
	sort.Strings(keys) // the headers in the same order each time
	added := make([]RecordHeader, 0, len(carrier))
	for _, k := range keys {
		for _, v := range carrier[k] {
			added = append(added, RecordHeader{Key: []byte(strings.ToLower(k)), Value: []byte(v)})
			size += len(k) + len(v) + 10
		}
	}
	if size > limit || len(added) == 0 {
		return
	}
	// A new slice: the program's own may be shared between messages.
	msg.Headers = append(append(make([]RecordHeader, 0, len(msg.Headers)+len(added)), msg.Headers...), added...)
}

// weftKey is a message key sarama's own encoders hold, as a string.
func weftKey(k Encoder) string {
	switch k := k.(type) {
	case StringEncoder:
		return string(k)
	case ByteEncoder:
		return string(k)
	}
	return ""
}

func weftSuccessesBefore(p **asyncProducer, batch *[]*ProducerMessage) (_ struct{}, ok bool) {
	defer func() { _ = recover() }()
	for _, msg := range *batch {
		if msg == nil || msg.weft == nil {
			continue
		}
		span := msg.weft
		msg.weft = nil
		weftSetString(span, "messaging.destination.partition.id", strconv.Itoa(int(msg.Partition)))
		weftSetInt(span, "messaging.kafka.offset", msg.Offset)
		if b, err := (*p).client.Leader(msg.Topic, msg.Partition); err == nil && b != nil {
			weftSetServer(span, b.Addr())
		}
		weftEnd(span)
	}
	return
}

func weftErrorBefore(_ **asyncProducer, msg **ProducerMessage, err *error) (_ struct{}, ok bool) {
	defer func() { _ = recover() }()
	weftFail(*msg, *err)
	return
}

func weftErrorsBefore(_ **asyncProducer, batch *[]*ProducerMessage, err *error) (_ struct{}, ok bool) {
	defer func() { _ = recover() }()
	for _, msg := range *batch {
		weftFail(msg, *err)
	}
	return
}

func weftFail(msg *ProducerMessage, err error) {
	if msg == nil || msg.weft == nil {
		return
	}
	span := msg.weft
	msg.weft = nil
	if err != nil {
		typ := "_OTHER"
		if k, ok := err.(KError); ok {
			typ = strconv.Itoa(int(k)) // Kafka's error code
		}
		weftSetError(span, typ, err.Error())
	}
	weftEnd(span)
}

// weftSetServer sets server.address and server.port from host:port.
func weftSetServer(span unsafe.Pointer, addr string) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		weftSetString(span, "server.address", addr)
		return
	}
	weftSetString(span, "server.address", host)
	if n, err := strconv.Atoi(port); err == nil {
		weftSetInt(span, "server.port", int64(n))
	}
}

// --- consumer ------------------------------------------------------------

// weftConsumerState is added to partitionConsumer (the field "weft"): the
// spans of the messages received, each open until the goroutine it went
// to receives again or the partition consumer closes; by span id, as each
// is its goroutine's context.
type weftConsumerState struct {
	mu     sync.Mutex
	group  string // the consumer group, for a group's claim
	server string // the partition's leader, host:port
	closed bool
	open   map[string]weftOpen
}

type weftOpen struct {
	span unsafe.Pointer
	prev unsafe.Pointer // the goroutine's context before the span
}

func weftConsumeBefore(_ **consumer, _ *string, _ *int32, _ *int64) (_ struct{}, ok bool) {
	return struct{}{}, true
}

func weftConsumeAfter(_ struct{}, pc *PartitionConsumer, err *error) {
	defer func() { _ = recover() }()
	child, ok := (*pc).(*partitionConsumer)
	if !ok || child == nil || *err != nil {
		return
	}
	if b, err := child.consumer.client.Leader(child.topic, child.partition); err == nil && b != nil {
		child.weft.server = b.Addr()
	}
	weftWatchChan(child.messages, nil, child.weftReceived)
}

func weftClaimBefore(sess **consumerGroupSession, _ *string, _ *int32, _ *int64) (*consumerGroupSession, bool) {
	return *sess, true
}

func weftClaimAfter(sess *consumerGroupSession, claim **consumerGroupClaim, err *error) {
	defer func() { _ = recover() }()
	if *err != nil || *claim == nil || sess == nil {
		return
	}
	if child, ok := (*claim).PartitionConsumer.(*partitionConsumer); ok {
		child.weft.mu.Lock()
		child.weft.group = sess.parent.groupID
		child.weft.mu.Unlock()
	}
}

// weftReceived runs on the receiving goroutine, with a pointer to the
// *ConsumerMessage received (nil: the channel is closed).
func (child *partitionConsumer) weftReceived(ep unsafe.Pointer) {
	defer func() { _ = recover() }()
	child.weftDone()
	if ep == nil || !weftEnabled() {
		return
	}
	msg := *(**ConsumerMessage)(ep)
	if msg == nil {
		return
	}
	var h map[string][]string // made only for a message that carries one
	keys := weftPropagationKeys()
	for _, x := range msg.Headers {
		if x == nil {
			continue
		}
		k := strings.ToLower(string(x.Key))
		for _, p := range keys {
			if k == p {
				if h == nil {
					h = make(map[string][]string, 3)
				}
				h[k] = append(h[k], string(x.Value))
				break
			}
		}
	}
	s := &child.weft
	s.mu.Lock()
	closed, group, server := s.closed, s.group, s.server
	s.mu.Unlock()
	if closed {
		return // drained after the close (a group's rebalance): never processed
	}
	ctx, span := weftStartSpan(weftExtract(context.Background(), h), weftScope, "process "+msg.Topic, 5)
	if ctx == nil {
		return
	}
	s.mu.Lock()
	prev := weftEnter(ctx)
	_, id := weftTraceIDs(context.Background())
	if s.open == nil || len(s.open) >= 1024 {
		// Goroutines that received once and ended: their spans end here.
		for _, o := range s.open {
			weftEnd(o.span)
		}
		s.open = make(map[string]weftOpen)
	}
	s.open[id] = weftOpen{span: span, prev: prev}
	s.mu.Unlock()
	if span == nil {
		return
	}
	kv := [12]string{
		"messaging.system", "kafka",
		"messaging.operation.name", "process",
		"messaging.operation.type", "process",
		"messaging.destination.name", msg.Topic,
		"messaging.destination.partition.id", strconv.Itoa(int(msg.Partition)),
	}
	n := 10
	if group != "" {
		kv[n], kv[n+1] = "messaging.consumer.group.name", group
		n += 2
	}
	weftSetStrings(span, kv[:n])
	weftSetInt(span, "messaging.kafka.offset", msg.Offset)
	weftSetInt(span, "messaging.message.body.size", int64(len(msg.Value)))
	if len(msg.Key) > 0 {
		weftSetString(span, "messaging.kafka.message.key", string(msg.Key))
	}
	if server != "" {
		weftSetServer(span, server)
	}
}

// weftDone ends the span this goroutine got from child, and gives the
// goroutine its context back.
func (child *partitionConsumer) weftDone() {
	_, id := weftTraceIDs(context.Background())
	if id == "" {
		return
	}
	s := &child.weft
	s.mu.Lock()
	o, ok := s.open[id]
	delete(s.open, id)
	s.mu.Unlock()
	if ok {
		weftLeave(o.prev)
		weftEnd(o.span)
	}
}

// weftCloseBefore ends every span still open: the goroutines they went to
// may have stopped receiving (a group's session ended), and what is
// drained from here on was never processed.
func weftCloseBefore(c **partitionConsumer) (_ struct{}, ok bool) {
	defer func() { _ = recover() }()
	child := *c
	if child == nil {
		return
	}
	child.weftDone()
	child.weft.mu.Lock()
	open := child.weft.open
	child.weft.open = nil
	child.weft.closed = true
	child.weft.mu.Unlock()
	for _, o := range open {
		weftEnd(o.span)
	}
	return
}

// Producer and consumer spans for Kafka through github.com/segmentio/kafka-go,
// woven into package kafka:
//
//   - (*Writer).WriteMessages: a "send TOPIC" producer span for the call
//     (one per batch of messages), the trace context added to each message's
//     headers; the messages go out as copies, the caller's slice untouched;
//   - (*Reader).FetchMessage (ReadMessage calls it): a "process TOPIC"
//     consumer span for the message returned, child of its producer's span,
//     as the goroutine's current context. A Reader hands out messages and is
//     never told when one is done, so the span lasts until the goroutine it
//     went to asks the Reader for another, or the Reader closes.
//
// A message that already has a traceparent header (the program propagates
// its own), or that the trace context would push over the Writer's
// BatchBytes, is sent as it is.

package kafka

import (
	"context"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unsafe"
)

const weftScope = "weft/github.com/segmentio/kafka-go"

// --- WriteMessages -------------------------------------------------------

func weftWriteBefore(w **Writer, ctx *context.Context, msgs *[]Message) (_ unsafe.Pointer, ok bool) {
	defer func() { _ = recover() }()
	wr := *w
	if wr == nil || len(*msgs) == 0 || !weftEnabled() {
		return nil, false
	}
	topic := wr.Topic
	if topic == "" {
		topic = (*msgs)[0].Topic
		for _, m := range *msgs {
			if m.Topic != topic {
				topic = ""
				break
			}
		}
	}
	name := "send"
	if topic != "" {
		name = "send " + topic
	}
	sctx, span := weftStartSpan(*ctx, weftScope, name, 4)
	if sctx == nil {
		return nil, false
	}
	h := make(map[string][]string, 3)
	weftInject(sctx, h)
	if len(h) > 0 {
		out := make([]Message, len(*msgs))
		copy(out, *msgs)
		limit := int64(wr.batchBytes())
		for i := range out {
			out[i].Headers = weftWithTrace(out[i], h, limit)
		}
		*msgs = out
	}
	if span == nil {
		return nil, false // unsampled: propagated, nothing recorded
	}
	kv := [10]string{
		"messaging.system", "kafka",
		"messaging.operation.name", "send",
		"messaging.operation.type", "send",
	}
	n := 6
	if topic != "" {
		kv[n], kv[n+1] = "messaging.destination.name", topic
		n += 2
	}
	var port int64
	if wr.Addr != nil {
		var host string
		host, port = weftHostPort(wr.Addr.String())
		kv[n], kv[n+1] = "server.address", host
		n += 2
	}
	weftSetStrings(span, kv[:n])
	if port > 0 {
		weftSetInt(span, "server.port", port)
	}
	if len(*msgs) > 1 {
		weftSetInt(span, "messaging.batch.message_count", int64(len(*msgs)))
	} else {
		m := (*msgs)[0]
		weftSetInt(span, "messaging.message.body.size", int64(len(m.Value)))
		if len(m.Key) > 0 {
			weftSetString(span, "messaging.kafka.message.key", string(m.Key))
		}
	}
	return span, true
}

// weftWithTrace returns m's headers with the trace context h added, in a new
// slice; m's own when it has a traceparent or would outgrow limit.
func weftWithTrace(m Message, h map[string][]string, limit int64) []Header {
	// The record's size as Writer measures it against BatchBytes, give
	// or take its fixed fields: generous, so a message near the limit is
	// left alone.
	size := int64(32 + len(m.Key) + len(m.Value))
	for _, x := range m.Headers {
		if strings.EqualFold(x.Key, "traceparent") {
			return m.Headers
		}
		size += int64(len(x.Key) + len(x.Value) + 10)
	}
	out := make([]Header, len(m.Headers), len(m.Headers)+len(h))
	copy(out, m.Headers)
	for _, k := range weftSortedKeys(h) {
		key := strings.ToLower(k)
		for _, v := range h[k] {
			out = append(out, Header{Key: key, Value: []byte(v)})
			size += int64(len(key) + len(v) + 10) // with the record's varints
		}
	}
	if limit > 0 && size > limit {
		return m.Headers
	}
	return out
}

func weftWriteAfter(span unsafe.Pointer, err *error) {
	defer weftEnd(span)
	if e := *err; e != nil {
		weftSetError(span, weftErrorType(e), e.Error())
	}
}

// weftErrorType is a Kafka error's title ("Unknown Topic Or Partition"), a
// context's ("context.DeadlineExceeded"), else "_OTHER".
func weftErrorType(err error) string {
	if e, ok := err.(Error); ok {
		return e.Title()
	}
	switch err {
	case context.Canceled:
		return "context.Canceled"
	case context.DeadlineExceeded:
		return "context.DeadlineExceeded"
	}
	return "_OTHER"
}

// --- FetchMessage --------------------------------------------------------

// weftReaderState is added to Reader (the field "weft"): the spans of the
// messages handed out, each open until the goroutine it went to asks for
// another, or the Reader closes; by span id, as each is its goroutine's
// context (a Reader may serve several goroutines).
type weftReaderState struct {
	mu   sync.Mutex
	open map[string]weftOpen
}

type weftOpen struct {
	span unsafe.Pointer
	prev unsafe.Pointer // the goroutine's context before the span
}

// weftDone ends the span this goroutine got from r, and gives the
// goroutine its context back.
func (r *Reader) weftDone() {
	_, id := weftTraceIDs(context.Background())
	if id == "" {
		return
	}
	s := &r.weft
	s.mu.Lock()
	o, ok := s.open[id]
	delete(s.open, id)
	s.mu.Unlock()
	if ok {
		weftLeave(o.prev)
		weftEnd(o.span)
	}
}

func weftFetchBefore(r **Reader, _ *context.Context) (_ *Reader, ok bool) {
	defer func() { _ = recover() }()
	rd := *r
	if rd == nil || !weftEnabled() {
		return nil, false
	}
	rd.weftDone()
	return rd, true
}

func weftFetchAfter(r *Reader, m *Message, err *error) {
	defer func() { _ = recover() }()
	if *err != nil {
		return
	}
	var h map[string][]string // made only for a message that carries one
	keys := weftPropagationKeys()
	for _, x := range m.Headers {
		if k := strings.ToLower(x.Key); weftIsPropagationKey(keys, k) {
			if h == nil {
				h = make(map[string][]string, 3)
			}
			h[k] = append(h[k], string(x.Value))
		}
	}
	name := "process " + m.Topic
	ctx, span := weftStartSpan(weftExtract(context.Background(), h), weftScope, name, 5)
	if ctx == nil {
		return
	}
	prev := weftEnter(ctx)
	_, id := weftTraceIDs(context.Background())
	s := &r.weft
	s.mu.Lock()
	if s.open == nil || len(s.open) >= 1024 {
		// Goroutines that fetched once and ended: their spans end here.
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
		"messaging.destination.name", m.Topic,
		"messaging.destination.partition.id", strconv.Itoa(m.Partition),
	}
	n := 10
	if g := r.config.GroupID; g != "" {
		kv[n], kv[n+1] = "messaging.consumer.group.name", g
		n += 2
	}
	weftSetStrings(span, kv[:n])
	weftSetInt(span, "messaging.kafka.offset", m.Offset)
	weftSetInt(span, "messaging.message.body.size", int64(len(m.Value)))
	if len(m.Key) > 0 {
		weftSetString(span, "messaging.kafka.message.key", string(m.Key))
	}
	if b := r.config.Brokers; len(b) > 0 {
		host, port := weftHostPort(b[0])
		weftSetString(span, "server.address", host)
		if port > 0 {
			weftSetInt(span, "server.port", port)
		}
	}
}

// weftCloseBefore ends every span still open, this goroutine's first.
func weftCloseBefore(r **Reader) (_ struct{}, ok bool) {
	defer func() { _ = recover() }()
	rd := *r
	if rd == nil {
		return
	}
	rd.weftDone()
	rd.weft.mu.Lock()
	open := rd.weft.open
	rd.weft.open = nil
	rd.weft.mu.Unlock()
	for _, o := range open {
		weftEnd(o.span)
	}
	return
}

// weftHostPort splits the first of a comma-separated list of host:port.
func weftHostPort(addr string) (string, int64) {
	addr, _, _ = strings.Cut(addr, ",")
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		return addr, 0
	}
	port, err := strconv.ParseInt(addr[i+1:], 10, 64)
	if err != nil {
		return addr, 0
	}
	return strings.Trim(addr[:i], "[]"), port
}

// weftIsPropagationKey reports whether the lower-case header key k is one
// of keys (weftPropagationKeys, the ones the configured propagators read).
func weftIsPropagationKey(keys []string, k string) bool {
	for _, p := range keys {
		if k == p {
			return true
		}
	}
	return false
}

// weftSortedKeys are h's keys in order, so headers are added alike each time.
func weftSortedKeys(h map[string][]string) []string {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

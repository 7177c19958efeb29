// Producer and consumer spans for Kafka through franz-go
// (github.com/twmb/franz-go/pkg/kgo), woven into package kgo:
//
//   - NewClient: a hook of weft's goes in with the program's options
//     (WithHooks). Its OnProduceRecordBuffered, which Produce, TryProduce and
//     ProduceSync call on the caller's goroutine, starts a "send TOPIC"
//     producer span, child of the record's Context (the ctx given to Produce,
//     else the goroutine's current context), and adds the trace context to
//     the record's headers; OnProduceRecordUnbuffered, called just before the
//     record's promise, ends it with the partition and offset, or the error;
//   - the consumer side has no hook that knows when a record is processed,
//     so the ways a program walks a poll's records are woven: the EachRecord
//     methods (of Fetches, FetchTopic, FetchPartition, FetchTopicPartition)
//     run the callback for each record inside a "process TOPIC" consumer
//     span, child of its producer's span, as the goroutine's context;
//     FetchesRecordIter.Next (RecordsAll uses it) starts one for the record
//     returned, open until that goroutine's next Next, a Done that answers
//     true, or its next poll. PollRecords (PollFetches calls it) marks the
//     records it returns with the client (group, broker) for the span.
//
// The record's headers are replaced by a new slice (the program's may be
// shared between records); kgo counts a record's size, headers included, when
// it is buffered and again when it is unbuffered, so the headers are left
// on the record after its promise. A record with a traceparent header of
// the program's, or that the trace context would push over the client's
// ProducerBatchMaxBytes, keeps its headers; a record weft has seen before
// (polled, or produced once already) has the trace context it carried
// replaced.

package kgo

import (
	"context"
	"errors"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	"github.com/twmb/franz-go/pkg/kerr"
)

const weftScope = "weft/github.com/twmb/franz-go/pkg/kgo"

// weftSpan is the type of the field "weftSpan" added to Record: the
// record's open send span (declared here, where unsafe is imported).
type weftSpan = unsafe.Pointer

// weftClient is what weft knows of a client, shared by its hook, the
// Client (field "weft") and the records it produced or polled (field
// "weftCl", which also tells weft it has seen the record). Set by
// NewClient before the client is returned, read-only after.
type weftClient struct {
	group    string
	host     string
	port     int64
	maxBatch func(topic string) int32
}

// --- NewClient -----------------------------------------------------------

// weftHook is the hook added to every client. No weftEnabled() here: a
// client made in a package's init may be made before weft/rt is up; the
// hook asks at each record.
type weftHook struct{ c *weftClient }

func weftNewClientBefore(opts *[]Opt) (*weftClient, bool) {
	defer func() { _ = recover() }()
	c := &weftClient{}
	// A new slice: the program's may be reused for other clients.
	*opts = append(append(make([]Opt, 0, len(*opts)+1), *opts...), WithHooks(&weftHook{c}))
	return c, true
}

func weftNewClientAfter(c *weftClient, cl **Client, err *error) {
	defer func() { _ = recover() }()
	if *err != nil || *cl == nil || c == nil {
		return
	}
	cfg := &(*cl).cfg
	c.group = cfg.group
	if len(cfg.seedBrokers) > 0 {
		c.host, c.port = weftHostPort(cfg.seedBrokers[0])
	}
	// An int32 before franz-go 1.21, a function of the topic since.
	switch v := interface{}(cfg.maxRecordBatchBytes).(type) {
	case int32:
		c.maxBatch = func(string) int32 { return v }
	case func(string) int32:
		c.maxBatch = v
	}
	(*cl).weft = c
}

// --- producing -----------------------------------------------------------

// OnProduceRecordBuffered runs on the goroutine that called Produce, after
// Produce set the record's Context and Topic.
func (h *weftHook) OnProduceRecordBuffered(r *Record) {
	defer func() { _ = recover() }()
	if r == nil || r.weftSpan != nil || !weftEnabled() {
		return
	}
	name := "send"
	if r.Topic != "" {
		name = "send " + r.Topic
	}
	sctx, span := weftStartSpan(r.Context, weftScope, name, 4)
	if sctx == nil {
		return
	}
	weftInjectRecord(sctx, r, h.c)
	r.weftCl = h.c
	if span == nil {
		return // unsampled: propagated, nothing recorded
	}
	r.weftSpan = span
	kv := [10]string{
		"messaging.system", "kafka",
		"messaging.operation.name", "send",
		"messaging.operation.type", "send",
		"messaging.destination.name", r.Topic,
	}
	n := 8
	if h.c.host != "" {
		kv[n], kv[n+1] = "server.address", h.c.host
		n += 2
	}
	weftSetStrings(span, kv[:n])
	if h.c.port > 0 {
		weftSetInt(span, "server.port", h.c.port)
	}
	weftSetInt(span, "messaging.message.body.size", int64(len(r.Value)))
	if len(r.Key) > 0 {
		weftSetString(span, "messaging.kafka.message.key", string(r.Key))
	}
}

// weftInjectRecord gives r a new header slice with the trace context of
// ctx: not for a record with a traceparent of the program's, nor one the
// headers would push over the client's batch limit. A record weft has seen
// before (r.weftCl set) has the trace context it carried replaced.
func weftInjectRecord(ctx context.Context, r *Record, c *weftClient) {
	seen := r.weftCl != nil
	keys := weftPropagationKeys()
	// The record's size in a batch of its own, generously: kgo fails a
	// record over ProducerBatchMaxBytes, so one near it is left alone.
	size := int64(61 + 36 + len(r.Key) + len(r.Value))
	stale := 0
	for _, x := range r.Headers {
		k := strings.ToLower(x.Key)
		if seen && weftIsPropagationKey(keys, k) {
			stale++
			continue
		}
		if k == "traceparent" {
			return // the program's own
		}
		size += int64(len(x.Key) + len(x.Value) + 10)
	}
	carrier := make(map[string][]string, 3)
	weftInject(ctx, carrier)
	if len(carrier) == 0 {
		return
	}
	out := make([]RecordHeader, 0, len(r.Headers)-stale+len(carrier))
	for _, x := range r.Headers {
		if stale > 0 && weftIsPropagationKey(keys, strings.ToLower(x.Key)) {
			continue
		}
		out = append(out, x)
	}
	for _, k := range weftSortedKeys(carrier) {
		key := strings.ToLower(k)
		for _, v := range carrier[k] {
			out = append(out, RecordHeader{Key: key, Value: []byte(v)})
			size += int64(len(key) + len(v) + 10)
		}
	}
	if c != nil && c.maxBatch != nil {
		if limit := int64(c.maxBatch(r.Topic)); limit > 0 && size > limit {
			return
		}
	}
	r.Headers = out
}

// OnProduceRecordUnbuffered runs just before the record's promise.
func (h *weftHook) OnProduceRecordUnbuffered(r *Record, err error) {
	defer func() { _ = recover() }()
	if r == nil || r.weftSpan == nil {
		return
	}
	span := r.weftSpan
	r.weftSpan = nil
	defer weftEnd(span)
	if err != nil {
		weftSetError(span, weftErrorType(err), err.Error())
		return
	}
	weftSetString(span, "messaging.destination.partition.id", strconv.Itoa(int(r.Partition)))
	weftSetInt(span, "messaging.kafka.offset", r.Offset)
}

// weftErrorType is a Kafka error's name ("MESSAGE_TOO_LARGE"), a
// context's ("context.DeadlineExceeded"), else "_OTHER".
func weftErrorType(err error) string {
	var ke *kerr.Error
	switch {
	case errors.As(err, &ke) && ke != nil:
		return ke.Message
	case errors.Is(err, context.Canceled):
		return "context.Canceled"
	case errors.Is(err, context.DeadlineExceeded):
		return "context.DeadlineExceeded"
	}
	return "_OTHER"
}

// --- polling -------------------------------------------------------------

func weftPollBefore(cl **Client, _ *context.Context, _ *int) (*Client, bool) {
	defer func() { _ = recover() }()
	weftEndOpen() // a RecordIter loop left early: its span ends here
	return *cl, true
}

// weftPollAfter marks the records with the client that polled them.
func weftPollAfter(cl *Client, fs *Fetches) {
	defer func() { _ = recover() }()
	if cl == nil || cl.weft == nil {
		return
	}
	c := cl.weft
	for i := range *fs {
		f := &(*fs)[i]
		for j := range f.Topics {
			t := &f.Topics[j]
			for k := range t.Partitions {
				for _, r := range t.Partitions[k].Records {
					if r != nil {
						r.weftCl = c
					}
				}
			}
		}
	}
}

// --- processing ----------------------------------------------------------

// weftProcess starts the "process TOPIC" span of r, child of its
// producer's span from the headers (else of the goroutine's context).
func weftProcess(r *Record) (ctx context.Context, span unsafe.Pointer) {
	defer func() {
		if recover() != nil {
			ctx, span = nil, nil
		}
	}()
	var h map[string][]string // made only for a record that carries one
	keys := weftPropagationKeys()
	for _, x := range r.Headers {
		if k := strings.ToLower(x.Key); weftIsPropagationKey(keys, k) {
			if h == nil {
				h = make(map[string][]string, 3)
			}
			h[k] = append(h[k], string(x.Value))
		}
	}
	ctx, span = weftStartSpan(weftExtract(context.Background(), h), weftScope, "process "+r.Topic, 5)
	if span == nil {
		return ctx, nil
	}
	kv := [16]string{
		"messaging.system", "kafka",
		"messaging.operation.name", "process",
		"messaging.operation.type", "process",
		"messaging.destination.name", r.Topic,
		"messaging.destination.partition.id", strconv.Itoa(int(r.Partition)),
	}
	n := 10
	if c := r.weftCl; c != nil {
		if c.group != "" {
			kv[n], kv[n+1] = "messaging.consumer.group.name", c.group
			n += 2
		}
		if c.host != "" {
			kv[n], kv[n+1] = "server.address", c.host
			n += 2
		}
	}
	weftSetStrings(span, kv[:n])
	if c := r.weftCl; c != nil && c.host != "" && c.port > 0 {
		weftSetInt(span, "server.port", c.port)
	}
	weftSetInt(span, "messaging.kafka.offset", r.Offset)
	weftSetInt(span, "messaging.message.body.size", int64(len(r.Value)))
	if len(r.Key) > 0 {
		weftSetString(span, "messaging.kafka.message.key", string(r.Key))
	}
	return ctx, span
}

// weftOpens are the spans of records a RecordIter handed out, each the
// current context of the goroutine it went to until that goroutine asks
// for another, the iterator says it is done, or the goroutine polls again;
// by span id, as each is its goroutine's context.
var weftOpens struct {
	mu sync.Mutex
	m  map[string]weftOpen
}

type weftOpen struct {
	span unsafe.Pointer
	prev unsafe.Pointer // the goroutine's context before the span
	rec  *Record
}

// weftTakeOpen removes and returns the span this goroutine got from a
// RecordIter, if any.
func weftTakeOpen() (weftOpen, bool) {
	weftOpens.mu.Lock()
	none := len(weftOpens.m) == 0
	weftOpens.mu.Unlock()
	if none {
		return weftOpen{}, false
	}
	_, id := weftTraceIDs(context.Background())
	if id == "" {
		return weftOpen{}, false
	}
	weftOpens.mu.Lock()
	o, ok := weftOpens.m[id]
	delete(weftOpens.m, id)
	weftOpens.mu.Unlock()
	return o, ok
}

// weftEndOpen ends the span this goroutine got from a RecordIter, and
// gives the goroutine its context back.
func weftEndOpen() {
	if o, ok := weftTakeOpen(); ok {
		weftLeave(o.prev)
		weftEnd(o.span)
	}
}

func weftNextBefore(i **FetchesRecordIter) (_ struct{}, ok bool) {
	defer func() { _ = recover() }()
	weftEndOpen()
	return struct{}{}, true
}

func weftNextAfter(_ struct{}, r **Record) {
	defer func() { _ = recover() }()
	rec := *r
	if rec == nil || !weftEnabled() {
		return
	}
	ctx, span := weftProcess(rec)
	if ctx == nil {
		return
	}
	_, id := weftTraceIDs(ctx)
	prev := weftEnter(ctx)
	weftOpens.mu.Lock()
	if weftOpens.m == nil || len(weftOpens.m) >= 1024 {
		// Goroutines that iterated and ended: their spans end here.
		for _, o := range weftOpens.m {
			weftEnd(o.span)
		}
		weftOpens.m = make(map[string]weftOpen)
	}
	weftOpens.m[id] = weftOpen{span: span, prev: prev, rec: rec}
	weftOpens.mu.Unlock()
}

func weftDoneBefore(_ **FetchesRecordIter) (_ struct{}, ok bool) { return struct{}{}, true }

func weftDoneAfter(_ struct{}, done *bool) {
	defer func() { _ = recover() }()
	if *done {
		weftEndOpen()
	}
}

// weftEach wraps an EachRecord callback: each record is processed inside
// its span, the goroutine's context for the call. Fetches.EachRecord walks
// a RecordIter: the span Next started for the record is the one, ended as
// the callback returns.
func weftEach(fn func(*Record)) func(*Record) {
	return func(r *Record) {
		o, ok := weftEachStart(r)
		if !ok {
			fn(r)
			return
		}
		defer weftEachEnd(o)
		fn(r)
	}
}

func weftEachStart(r *Record) (o weftOpen, ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	if r == nil || !weftEnabled() {
		return o, false
	}
	if o, ok := weftTakeOpen(); ok {
		if o.rec == r {
			return o, true // Next's span for r: ended after the callback
		}
		// A record of an iterator the callback runs in: left open.
		_, id := weftTraceIDs(context.Background())
		weftOpens.mu.Lock()
		weftOpens.m[id] = o
		weftOpens.mu.Unlock()
	}
	ctx, span := weftProcess(r)
	if ctx == nil {
		return o, false
	}
	return weftOpen{span: span, prev: weftEnter(ctx), rec: r}, true
}

func weftEachEnd(o weftOpen) {
	defer func() { _ = recover() }()
	weftLeave(o.prev)
	weftEnd(o.span)
}

func weftFetchesEachBefore(_ *Fetches, fn *func(*Record)) (_ struct{}, ok bool) {
	defer func() { _ = recover() }()
	if *fn != nil {
		*fn = weftEach(*fn)
	}
	return
}

func weftTopicEachBefore(_ **FetchTopic, fn *func(*Record)) (_ struct{}, ok bool) {
	defer func() { _ = recover() }()
	if *fn != nil {
		*fn = weftEach(*fn)
	}
	return
}

func weftPartitionEachBefore(_ **FetchPartition, fn *func(*Record)) (_ struct{}, ok bool) {
	defer func() { _ = recover() }()
	if *fn != nil {
		*fn = weftEach(*fn)
	}
	return
}

func weftTopicPartitionEachBefore(_ **FetchTopicPartition, fn *func(*Record)) (_ struct{}, ok bool) {
	defer func() { _ = recover() }()
	if *fn != nil {
		*fn = weftEach(*fn)
	}
	return
}

// --- helpers -------------------------------------------------------------

// weftHostPort splits a seed broker, host[:port] (kgo's default port is
// 9092).
func weftHostPort(addr string) (string, int64) {
	i := strings.LastIndexByte(addr, ':')
	if i < 0 || strings.HasSuffix(addr, "]") {
		return strings.Trim(addr, "[]"), 9092
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

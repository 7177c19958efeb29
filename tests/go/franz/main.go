// Command franz serves requests that produce to a real Kafka broker
// (WEFT_TEST_KAFKA_ADDR) through franz-go, and consumes what they send
// three times: in a consumer group whose loop hands each poll's records to
// Fetches.EachRecord, in a second group walking a RecordIter, and without a
// group through EachPartition and FetchTopicPartition.EachRecord. Each
// consumer calls a downstream HTTP server for each record; each handler
// waits until the three consumers saw its record, and answers with what
// they saw: the record's headers, sorted.
//
//	GET /sync   one record (key "k1") through ProduceSync, under the request's ctx
//	GET /async  one record through Produce with a promise, under context.Background()
//	GET /own    a record with a traceparent of the program's own
//	GET /fwd    a record the EachRecord group's consumer produces again, as "fwd 2"
//	GET /big    a record over ProducerBatchMaxBytes: the produce fails
//	GET /stop   closes the consumers
//
// Usage: franz ADDR DOWN_ADDR TOPIC. Runs until killed.
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}

func headers(r *kgo.Record) string {
	var out []string
	for _, h := range r.Headers {
		out = append(out, h.Key+"="+string(h.Value))
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}

const consumers = 3

// seen hands each record's headers to the handler waiting for it, once
// every consumer had it.
type seen struct {
	mu   sync.Mutex
	got  map[string][]string
	wait map[string]chan string
}

func (s *seen) add(r *kgo.Record) {
	value := string(r.Value)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.got[value] = append(s.got[value], headers(r))
	if len(s.got[value]) == consumers {
		if c := s.wait[value]; c != nil {
			c <- s.got[value][0]
		}
	}
}

func (s *seen) await(value string) string {
	c := make(chan string, 1)
	s.mu.Lock()
	if got := s.got[value]; len(got) >= consumers {
		s.mu.Unlock()
		return got[0]
	}
	s.wait[value] = c
	s.mu.Unlock()
	select {
	case h := <-c:
		return h
	case <-time.After(30 * time.Second):
		return "timeout"
	}
}

// call makes the consumer's downstream request, with no ctx: the
// goroutine's context (the record's span) is its parent.
func call(down, from string) {
	resp, err := http.Get("http://" + down + "/down?from=" + from)
	if err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

func main() {
	if len(os.Args) != 4 {
		log.Fatal("usage: franz ADDR DOWN_ADDR TOPIC")
	}
	addr, down, topic := os.Args[1], os.Args[2], os.Args[3]
	seeds := kgo.SeedBrokers(os.Getenv("WEFT_TEST_KAFKA_ADDR"))

	prod, err := kgo.NewClient(seeds, kgo.ProducerLinger(0))
	must(err)
	// The topic, one partition.
	req := kmsg.NewPtrCreateTopicsRequest()
	t := kmsg.NewCreateTopicsRequestTopic()
	t.Topic, t.NumPartitions, t.ReplicationFactor = topic, 1, 1
	req.Topics = append(req.Topics, t)
	resp, err := req.RequestWith(context.Background(), prod)
	must(err)
	if c := resp.Topics[0].ErrorCode; c != 0 {
		log.Fatalf("create topic: error %d", c)
	}

	go func() {
		mux := http.NewServeMux()
		mux.HandleFunc("/down", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
		log.Fatal(http.ListenAndServe(down, mux))
	}()

	s := &seen{got: map[string][]string{}, wait: map[string]chan string{}}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	consume := func(group string, each func(kgo.Fetches)) *kgo.Client {
		opts := []kgo.Opt{seeds, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
			kgo.FetchMaxWait(200 * time.Millisecond)}
		if group != "" {
			opts = append(opts, kgo.ConsumerGroup(group))
		}
		cl, err := kgo.NewClient(opts...)
		must(err)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				fs := cl.PollFetches(ctx)
				if ctx.Err() != nil {
					return
				}
				fs.EachError(func(t string, p int32, err error) { log.Printf("fetch %s/%d: %v", t, p, err) })
				each(fs)
			}
		}()
		return cl
	}
	cls := []*kgo.Client{
		consume("weft-"+topic+"-each", func(fs kgo.Fetches) {
			fs.EachRecord(func(r *kgo.Record) {
				call(down, "each")
				s.add(r)
				if string(r.Value) == "fwd" {
					// Consume, transform, produce: the record itself goes
					// out again, its headers still those it came with.
					r.Value = []byte("fwd 2")
					must(prod.ProduceSync(context.Background(), r).FirstErr())
				}
			})
		}),
		consume("weft-"+topic+"-iter", func(fs kgo.Fetches) {
			for iter := fs.RecordIter(); !iter.Done(); {
				r := iter.Next()
				call(down, "iter")
				s.add(r)
			}
		}),
		consume("", func(fs kgo.Fetches) {
			fs.EachPartition(func(p kgo.FetchTopicPartition) {
				p.EachRecord(func(r *kgo.Record) {
					call(down, "partition")
					s.add(r)
				})
			})
		}),
	}

	http.HandleFunc("/sync", func(w http.ResponseWriter, r *http.Request) {
		rec := &kgo.Record{Topic: topic, Key: []byte("k1"), Value: []byte("order 1")}
		must(prod.ProduceSync(r.Context(), rec).FirstErr())
		fmt.Fprintf(w, "order 1\n%s\n", s.await("order 1"))
	})
	http.HandleFunc("/async", func(w http.ResponseWriter, r *http.Request) {
		// No ctx: the goroutine's context (the request's span) is the parent.
		done := make(chan error, 1)
		hdrs := []kgo.RecordHeader{{Key: "x-key", Value: []byte("kept")}}
		prod.Produce(context.Background(), &kgo.Record{Topic: topic, Value: []byte("order 2"), Headers: hdrs},
			func(_ *kgo.Record, err error) { done <- err })
		must(<-done)
		if len(hdrs) != 1 || hdrs[0].Key != "x-key" {
			log.Fatalf("the program's header slice changed: %v", hdrs)
		}
		fmt.Fprintf(w, "order 2\n%s\n", s.await("order 2"))
	})
	http.HandleFunc("/own", func(w http.ResponseWriter, r *http.Request) {
		rec := &kgo.Record{Topic: topic, Value: []byte("own"),
			Headers: []kgo.RecordHeader{{Key: "traceparent", Value: []byte("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")}}}
		must(prod.ProduceSync(r.Context(), rec).FirstErr())
		fmt.Fprintf(w, "own\n%s\n", s.await("own"))
	})
	http.HandleFunc("/fwd", func(w http.ResponseWriter, r *http.Request) {
		must(prod.ProduceSync(r.Context(), &kgo.Record{Topic: topic, Value: []byte("fwd")}).FirstErr())
		fmt.Fprintf(w, "fwd\n%s\nfwd 2\n%s\n", s.await("fwd"), s.await("fwd 2"))
	})
	http.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		rec := &kgo.Record{Topic: topic, Value: make([]byte, 2<<20)}
		err := prod.ProduceSync(r.Context(), rec).FirstErr()
		fmt.Fprintf(w, "big: %v\n", err != nil)
	})
	http.HandleFunc("/stop", func(w http.ResponseWriter, r *http.Request) {
		cancel()
		wg.Wait()
		for _, cl := range cls {
			cl.Close()
		}
		io.WriteString(w, "stopped\n")
	})
	log.Fatal(http.ListenAndServe(addr, nil))
}

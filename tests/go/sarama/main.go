// Command sarama serves requests that produce to a real Kafka broker
// (WEFT_TEST_KAFKA_ADDR) through sarama, and consumes what they send twice:
// in a consumer group whose handler receives in a select, and with a
// partition consumer ranging over its channel. Each consumer calls a
// downstream HTTP server for each message; each handler waits until both
// consumers saw its message, and answers with what they saw: the message's
// headers, sorted.
//
//	GET /sync   one message (key "k1") through a SyncProducer
//	GET /async  one message through an AsyncProducer's Input, in a select
//	GET /own    a message with a traceparent of the program's own
//	GET /stop   closes the consumers
//
// Usage: sarama ADDR DOWN_ADDR TOPIC. Runs until killed.
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

	"example.com/saramafixture/k"
)

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}

func headers(m *k.ConsumerMessage) string {
	var out []string
	for _, h := range m.Headers {
		out = append(out, string(h.Key)+"="+string(h.Value))
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}

// seen hands each message's headers to the handler waiting for it, once
// both consumers had it.
type seen struct {
	mu   sync.Mutex
	got  map[string][]string
	wait map[string]chan string
}

func (s *seen) add(value, hdrs string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.got[value] = append(s.got[value], hdrs)
	if len(s.got[value]) == 2 {
		if c := s.wait[value]; c != nil {
			c <- s.got[value][0]
		}
	}
}

func (s *seen) await(value string) string {
	c := make(chan string, 1)
	s.mu.Lock()
	if got := s.got[value]; len(got) >= 2 {
		s.mu.Unlock()
		return got[0]
	}
	s.wait[value] = c
	s.mu.Unlock()
	select {
	case h := <-c:
		return h
	case <-time.After(20 * time.Second):
		return "timeout"
	}
}

type group struct {
	down string
	seen *seen
}

func (group) Setup(k.ConsumerGroupSession) error   { return nil }
func (group) Cleanup(k.ConsumerGroupSession) error { return nil }

func (g group) ConsumeClaim(sess k.ConsumerGroupSession, claim k.ConsumerGroupClaim) error {
	for {
		select {
		case m, ok := <-claim.Messages():
			if !ok {
				return nil
			}
			call(g.down, "group")
			sess.MarkMessage(m, "")
			g.seen.add(string(m.Value), headers(m))
		case <-sess.Context().Done():
			return nil
		}
	}
}

// call makes the consumer's downstream request, with no ctx: the
// goroutine's context (the message's span) is its parent.
func call(down, from string) {
	resp, err := http.Get("http://" + down + "/down?from=" + from)
	if err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

func main() {
	if len(os.Args) != 4 {
		log.Fatal("usage: sarama ADDR DOWN_ADDR TOPIC")
	}
	addr, down, topic := os.Args[1], os.Args[2], os.Args[3]
	brokers := []string{os.Getenv("WEFT_TEST_KAFKA_ADDR")}
	conf := k.NewConfig()
	conf.Version = k.Version
	conf.Producer.Return.Successes = true
	conf.Consumer.Offsets.Initial = k.OffsetOldest

	admin, err := k.NewClusterAdmin(brokers, conf)
	must(err)
	must(admin.CreateTopic(topic, &k.TopicDetail{NumPartitions: 1, ReplicationFactor: 1}, false))
	admin.Close()

	go func() {
		mux := http.NewServeMux()
		mux.HandleFunc("/down", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
		log.Fatal(http.ListenAndServe(down, mux))
	}()

	s := &seen{got: map[string][]string{}, wait: map[string]chan string{}}
	ctx, cancel := context.WithCancel(context.Background())
	cg, err := k.NewConsumerGroup(brokers, "weft-"+topic, conf)
	must(err)
	groupDone := make(chan struct{})
	go func() {
		defer close(groupDone)
		for ctx.Err() == nil {
			if err := cg.Consume(ctx, []string{topic}, group{down, s}); err != nil {
				log.Print(err)
				time.Sleep(100 * time.Millisecond)
			}
		}
	}()
	c, err := k.NewConsumer(brokers, conf)
	must(err)
	pc, err := c.ConsumePartition(topic, 0, k.OffsetOldest)
	must(err)
	go func() {
		for m := range pc.Messages() {
			call(down, "partition")
			s.add(string(m.Value), headers(m))
		}
	}()

	sp, err := k.NewSyncProducer(brokers, conf)
	must(err)
	ap, err := k.NewAsyncProducer(brokers, conf)
	must(err)
	http.HandleFunc("/sync", func(w http.ResponseWriter, r *http.Request) {
		_, _, err := sp.SendMessage(&k.ProducerMessage{Topic: topic, Key: k.StringEncoder("k1"), Value: k.StringEncoder("order 1")})
		must(err)
		fmt.Fprintf(w, "order 1\n%s\n", s.await("order 1"))
	})
	http.HandleFunc("/async", func(w http.ResponseWriter, r *http.Request) {
		// Offered in a select, as programs that can give up do.
		select {
		case ap.Input() <- &k.ProducerMessage{Topic: topic, Value: k.StringEncoder("order 2"),
			Headers: []k.RecordHeader{{Key: []byte("x-key"), Value: []byte("kept")}}}:
		case <-r.Context().Done():
			return
		}
		select {
		case <-ap.Successes():
		case err := <-ap.Errors():
			log.Fatal(err)
		}
		fmt.Fprintf(w, "order 2\n%s\n", s.await("order 2"))
	})
	http.HandleFunc("/own", func(w http.ResponseWriter, r *http.Request) {
		_, _, err := sp.SendMessage(&k.ProducerMessage{Topic: topic, Value: k.StringEncoder("own"),
			Headers: []k.RecordHeader{{Key: []byte("traceparent"), Value: []byte("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")}}})
		must(err)
		fmt.Fprintf(w, "own\n%s\n", s.await("own"))
	})
	http.HandleFunc("/stop", func(w http.ResponseWriter, r *http.Request) {
		cancel()
		must(cg.Close())
		<-groupDone
		must(pc.Close())
		io.WriteString(w, "stopped\n")
	})
	log.Fatal(http.ListenAndServe(addr, nil))
}

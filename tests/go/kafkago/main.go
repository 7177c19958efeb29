// Command kafkago serves requests that produce to a real Kafka broker
// (WEFT_TEST_KAFKA_ADDR) through segmentio/kafka-go, and consumes what
// they send with a Reader in a consumer group, read by two goroutines, for
// weft's Kafka tests. The consumer calls a downstream HTTP server for each
// message; each handler waits until its messages were consumed before it
// answers, with what the consumers saw: each message's headers, sorted.
//
//	GET /send      one message (key "k1") from a Writer with a topic
//	GET /batch     two messages in one call, from a Writer without one
//	GET /own       a message with a traceparent of the program's own
//	GET /stop      closes the Reader
//
// Usage: kafkago ADDR DOWN_ADDR TOPIC. Runs until killed.
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
	"time"

	"github.com/segmentio/kafka-go"
)

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}

// createTopic makes topic, one partition (through Client, which speaks the
// protocol versions a Kafka 4 broker still takes; Conn's do not).
func createTopic(broker, topic string) {
	c := &kafka.Client{Addr: kafka.TCP(broker)}
	res, err := c.CreateTopics(context.Background(), &kafka.CreateTopicsRequest{
		Topics: []kafka.TopicConfig{{Topic: topic, NumPartitions: 1, ReplicationFactor: 1}},
	})
	must(err)
	for _, err := range res.Errors {
		must(err)
	}
}

func headers(m kafka.Message) string {
	var out []string
	for _, h := range m.Headers {
		out = append(out, h.Key+"="+string(h.Value))
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}

func main() {
	if len(os.Args) != 4 {
		log.Fatal("usage: kafkago ADDR DOWN_ADDR TOPIC")
	}
	addr, down, topic := os.Args[1], os.Args[2], os.Args[3]
	broker := os.Getenv("WEFT_TEST_KAFKA_ADDR")
	createTopic(broker, topic)
	go func() {
		mux := http.NewServeMux()
		mux.HandleFunc("/down", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "down") })
		log.Fatal(http.ListenAndServe(down, mux))
	}()

	w := &kafka.Writer{Addr: kafka.TCP(broker), Topic: topic, BatchTimeout: 10 * time.Millisecond, RequiredAcks: kafka.RequireOne}
	wb := &kafka.Writer{Addr: kafka.TCP(broker), BatchTimeout: 10 * time.Millisecond, RequiredAcks: kafka.RequireOne}
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers:        []string{broker},
		GroupID:        "weft-" + topic,
		Topic:          topic,
		StartOffset:    kafka.FirstOffset,
		MaxWait:        50 * time.Millisecond,
		CommitInterval: 0,
	})
	// Two consumers share the Reader, as kafka-go allows.
	seen := make(chan string, 16)
	for i := 0; i < 2; i++ {
		go func() {
			for {
				m, err := r.ReadMessage(context.Background())
				if err != nil {
					return
				}
				resp, err := http.Get("http://" + down + "/down")
				if err == nil {
					resp.Body.Close()
				}
				seen <- string(m.Value) + "\n" + headers(m)
			}
		}()
	}
	// wait answers what n messages' consumers saw, sorted.
	wait := func(w http.ResponseWriter, n int) {
		var got []string
		for i := 0; i < n; i++ {
			select {
			case s := <-seen:
				got = append(got, s)
			case <-time.After(20 * time.Second):
				http.Error(w, "not consumed", 500)
				return
			}
		}
		sort.Strings(got)
		for _, s := range got {
			fmt.Fprintln(w, s)
		}
	}

	http.HandleFunc("/send", func(rw http.ResponseWriter, req *http.Request) {
		must(w.WriteMessages(req.Context(), kafka.Message{Key: []byte("k1"), Value: []byte("order 1")}))
		wait(rw, 1)
	})
	http.HandleFunc("/batch", func(rw http.ResponseWriter, req *http.Request) {
		must(wb.WriteMessages(req.Context(),
			kafka.Message{Topic: topic, Value: []byte("batch 1"), Headers: []kafka.Header{{Key: "x-key", Value: []byte("kept")}}},
			kafka.Message{Topic: topic, Value: []byte("batch 2")}))
		wait(rw, 2)
	})
	http.HandleFunc("/own", func(rw http.ResponseWriter, req *http.Request) {
		own := kafka.Header{Key: "traceparent", Value: []byte("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")}
		must(w.WriteMessages(req.Context(), kafka.Message{Value: []byte("own"), Headers: []kafka.Header{own}}))
		wait(rw, 1)
	})
	http.HandleFunc("/stop", func(rw http.ResponseWriter, req *http.Request) {
		must(r.Close())
		io.WriteString(rw, "stopped")
	})
	log.Fatal(http.ListenAndServe(addr, nil))
}

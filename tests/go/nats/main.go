// Command nats serves requests that publish to and consume from a real NATS
// server (WEFT_TEST_NATS_URL) through nats.go, for weft's NATS tests. Each
// handler waits until its messages were processed before it answers, so
// every span it causes has ended by then.
//
//	GET /publish   publish shop.orders; its subscriber publishes shop.audit,
//	               whose subscriber records it
//	GET /request   RequestWithContext svc.upper, answered by a queue
//	               subscriber (group "workers") with Respond
//	GET /requestbg the same with a ctx of its own, not the request's
//	GET /inbox     publish to an inbox of its own with a callback
//	GET /headers   PublishMsg with a header of the program's; a sync
//	               subscriber's NextMsg reads it: the body is its headers
//	GET /own       the same with a traceparent of the program's own
//	GET /big       a message of exactly max_payload bytes (no room for more
//	               headers): "ok" and the headers it arrived with
//	GET /wild      publish shop.events.created to a "shop.events.*" callback
//	GET /js        JetStream: publish js.orders.new to stream WEFT_PREFIX, a
//	               push consumer's callback acks it
//	GET /closed    publish on a closed connection: the error's text
//	GET /early     publish shop.early, whose subscriber package early made
//	               while packages were initialized
//
// Every subject starts with PREFIX (and the stream is WEFT_PREFIX), so
// that runs sharing the server do not hear each other.
//
// Usage: nats ADDR PREFIX. Runs until killed.
package main

import (
	"context"
	"encoding/json"
	"log"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"example.com/natsfixture/early"
)

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}

// headers renders a message's headers as sorted "key=value" lines.
func headers(m *nats.Msg) string {
	var out []string
	for k, vs := range m.Header {
		for _, v := range vs {
			out = append(out, strings.ToLower(k)+"="+v)
		}
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}

func main() {
	if len(os.Args) != 3 {
		log.Fatal("usage: nats ADDR PREFIX")
	}
	pre := os.Args[2] + "."
	url := os.Getenv("WEFT_TEST_NATS_URL")
	nc, err := nats.Connect(url)
	must(err)
	defer nc.Close()

	audited := make(chan string, 16)
	_, err = nc.Subscribe(pre+"shop.orders", func(m *nats.Msg) {
		must(nc.Publish(pre+"shop.audit", append([]byte("audit "), m.Data...)))
	})
	must(err)
	_, err = nc.Subscribe(pre+"shop.audit", func(m *nats.Msg) { audited <- string(m.Data) })
	must(err)
	_, err = nc.QueueSubscribe(pre+"svc.upper", "workers", func(m *nats.Msg) {
		must(m.Respond([]byte(strings.ToUpper(string(m.Data)))))
	})
	must(err)
	events := make(chan string, 16)
	_, err = nc.Subscribe(pre+"shop.events.*", func(m *nats.Msg) { events <- m.Subject })
	must(err)
	inbox, err := nc.SubscribeSync(pre + "shop.hdr")
	must(err)
	replies := make(chan string, 16)
	myInbox := nats.NewInbox()
	_, err = nc.Subscribe(myInbox, func(m *nats.Msg) { replies <- string(m.Data) })
	must(err)

	js, err := nc.JetStream()
	must(err)
	stream := "WEFT_" + os.Args[2]
	_ = js.DeleteStream(stream)
	_, err = js.AddStream(&nats.StreamConfig{Name: stream, Subjects: []string{pre + "js.orders.>"}})
	must(err)
	acked := make(chan string, 16)
	_, err = js.Subscribe(pre+"js.orders.>", func(m *nats.Msg) {
		must(m.Ack())
		acked <- string(m.Data)
	}, nats.ManualAck())
	must(err)
	must(nc.Flush())

	read := func(w http.ResponseWriter) *nats.Msg {
		m, err := inbox.NextMsg(5 * time.Second)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return nil
		}
		return m
	}
	wait := func(w http.ResponseWriter, ch chan string) {
		select {
		case s := <-ch:
			w.Write([]byte(s))
		case <-time.After(5 * time.Second):
			http.Error(w, "not processed", 500)
		}
	}

	http.HandleFunc("/publish", func(w http.ResponseWriter, r *http.Request) {
		must(nc.Publish(pre+"shop.orders", []byte("order 1")))
		wait(w, audited)
	})
	http.HandleFunc("/request", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		m, err := nc.RequestWithContext(ctx, pre+"svc.upper", []byte("hello"))
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Write(m.Data)
	})
	http.HandleFunc("/requestbg", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		m, err := nc.RequestWithContext(ctx, pre+"svc.upper", []byte("again"))
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Write(m.Data)
	})
	http.HandleFunc("/inbox", func(w http.ResponseWriter, r *http.Request) {
		must(nc.Publish(myInbox, []byte("to me")))
		wait(w, replies)
	})
	http.HandleFunc("/headers", func(w http.ResponseWriter, r *http.Request) {
		msg := nats.NewMsg(pre + "shop.hdr")
		msg.Header.Set("X-Key", "kept")
		msg.Data = []byte("with headers")
		must(nc.PublishMsg(msg))
		if m := read(w); m != nil {
			w.Write([]byte(headers(m)))
		}
	})
	http.HandleFunc("/own", func(w http.ResponseWriter, r *http.Request) {
		msg := nats.NewMsg(pre + "shop.hdr")
		msg.Header.Set("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
		must(nc.PublishMsg(msg))
		if m := read(w); m != nil {
			w.Write([]byte(headers(m)))
		}
	})
	http.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		if err := nc.Publish(pre+"shop.hdr", make([]byte, nc.MaxPayload())); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		if m := read(w); m != nil {
			w.Write([]byte("ok " + headers(m)))
		}
	})
	http.HandleFunc("/early", func(w http.ResponseWriter, r *http.Request) {
		must(early.Conn.Flush())
		must(nc.Publish(pre+"shop.early", []byte("early")))
		wait(w, early.Got)
	})
	http.HandleFunc("/wild", func(w http.ResponseWriter, r *http.Request) {
		must(nc.Publish(pre+"shop.events.created", []byte("{}")))
		wait(w, events)
	})
	http.HandleFunc("/js", func(w http.ResponseWriter, r *http.Request) {
		if _, err := js.Publish(pre+"js.orders.new", []byte("stored order")); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		wait(w, acked)
	})
	http.HandleFunc("/closed", func(w http.ResponseWriter, r *http.Request) {
		c, err := nats.Connect(url)
		must(err)
		c.Close()
		err = c.Publish(pre+"shop.orders", []byte("lost"))
		json.NewEncoder(w).Encode(err.Error())
	})
	log.Fatal(http.ListenAndServe(os.Args[1], nil))
}

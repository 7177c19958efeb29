// Command amqp serves requests that publish to a real RabbitMQ broker
// (WEFT_TEST_AMQP_URL) through rabbitmq/amqp091-go, and consumes what they
// publish with Consume, for weft's RabbitMQ tests. The consumer (one
// goroutine ranging over each queue's deliveries) calls a downstream HTTP
// server for each delivery; each handler waits until its message was
// consumed before it answers, with what the consumer saw: the body and the
// headers, sorted.
//
//	GET /publish   PublishWithContext (the request's ctx) to a direct
//	               exchange, routing key "order.created", with a header of
//	               the program's, a message id and a correlation id; also
//	               answers whether the caller's headers Table was changed
//	GET /default   Publish (no ctx) to the default exchange, routing key =
//	               the queue's name, under a span of the goroutine's
//	GET /own       a message with a traceparent of the program's own
//	GET /closed    Publish on a closed channel (the error is answered)
//	GET /get       publishes to a queue nobody consumes, then Gets it twice
//	               (the second finds it empty)
//	GET /anon      publishes to a server-named queue and Gets it
//	GET /stop      cancels the consumers
//
// Usage: amqp ADDR DOWN_ADDR PREFIX. Runs until killed.
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"runtime"
	"sort"
	"strings"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}

func headers(t amqp.Table) string {
	var out []string
	for k, v := range t {
		out = append(out, fmt.Sprintf("%s=%v", k, v))
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}

func main() {
	if len(os.Args) != 4 {
		log.Fatal("usage: amqp ADDR DOWN_ADDR PREFIX")
	}
	addr, down, prefix := os.Args[1], os.Args[2], os.Args[3]
	exchange, queue, dqueue, gqueue := prefix+"-ex", prefix+"-q", prefix+"-dq", prefix+"-gq"
	go func() {
		mux := http.NewServeMux()
		mux.HandleFunc("/down", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "down") })
		log.Fatal(http.ListenAndServe(down, mux))
	}()

	conn, err := amqp.Dial(os.Getenv("WEFT_TEST_AMQP_URL"))
	must(err)
	pub, err := conn.Channel()
	must(err)
	must(pub.ExchangeDeclare(exchange, "direct", false, true, false, false, nil))
	for _, q := range []string{queue, dqueue, gqueue} {
		_, err := pub.QueueDeclare(q, false, true, false, false, nil)
		must(err)
	}
	must(pub.QueueBind(queue, "order.created", exchange, false, nil))

	// The consumers: a channel of their own, one goroutine per queue.
	sub, err := conn.Channel()
	must(err)
	seen := make(chan string, 16)
	var consumers []<-chan amqp.Delivery
	for _, q := range []string{queue, dqueue} {
		deliveries, err := sub.Consume(q, "weft-"+q, true, false, false, false, nil)
		must(err)
		consumers = append(consumers, deliveries)
	}
	// Collections before anyone receives, with garbage of a hook's size in
	// between: the hook on an unbuffered deliveries channel must outlive
	// them (the collector does not see it through the channel).
	var b byte
	var junk [][]*byte
	for i := 0; i < 20; i++ {
		runtime.GC()
		for j := 0; j < 512; j++ { // 2 or 3 words, with pointers
			junk = append(junk, []*byte{&b, &b}, []*byte{&b, &b, &b})
		}
	}
	runtime.KeepAlive(junk)
	for _, deliveries := range consumers {
		go func() {
			for d := range deliveries {
				resp, err := http.Get("http://" + down + "/down")
				if err == nil {
					resp.Body.Close()
				}
				seen <- string(d.Body) + "\n" + headers(d.Headers)
			}
		}()
	}
	wait := func(w http.ResponseWriter) {
		select {
		case s := <-seen:
			fmt.Fprintln(w, s)
		case <-time.After(20 * time.Second):
			http.Error(w, "not consumed", 500)
		}
	}

	http.HandleFunc("/publish", func(rw http.ResponseWriter, req *http.Request) {
		own := amqp.Table{"x-key": "kept"}
		must(pub.PublishWithContext(req.Context(), exchange, "order.created", false, false, amqp.Publishing{
			Headers: own, Body: []byte("order 1"), MessageId: "m-1", CorrelationId: "c-1",
		}))
		fmt.Fprintf(rw, "caller's table: %s\n", headers(own))
		wait(rw)
	})
	http.HandleFunc("/default", func(rw http.ResponseWriter, req *http.Request) {
		must(pub.Publish("", dqueue, false, false, amqp.Publishing{Body: []byte("default")}))
		wait(rw)
	})
	http.HandleFunc("/own", func(rw http.ResponseWriter, req *http.Request) {
		own := amqp.Table{"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
		must(pub.PublishWithContext(context.Background(), exchange, "order.created", false, false, amqp.Publishing{Headers: own, Body: []byte("own")}))
		wait(rw)
	})
	http.HandleFunc("/closed", func(rw http.ResponseWriter, req *http.Request) {
		ch, err := conn.Channel()
		must(err)
		must(ch.Close())
		err = ch.Publish(exchange, "order.created", false, false, amqp.Publishing{Body: []byte("lost")})
		fmt.Fprintf(rw, "error: %v\n", err)
	})
	http.HandleFunc("/get", func(rw http.ResponseWriter, req *http.Request) {
		must(pub.Publish("", gqueue, false, false, amqp.Publishing{Body: []byte("got"), MessageId: "m-2"}))
		// The publish reaches the queue first: a channel's frames are
		// handled in order.
		for i := 0; i < 2; i++ {
			d, ok, err := pub.Get(gqueue, true)
			must(err)
			fmt.Fprintf(rw, "get %d: %v %s\n", i, ok, d.Body)
		}
	})
	http.HandleFunc("/anon", func(rw http.ResponseWriter, req *http.Request) {
		q, err := pub.QueueDeclare("", false, true, true, false, nil)
		must(err)
		must(pub.Publish("", q.Name, false, false, amqp.Publishing{Body: []byte("anon")}))
		d, ok, err := pub.Get(q.Name, true)
		must(err)
		fmt.Fprintf(rw, "%s: %v %s\n", strings.SplitN(q.Name, "-", 2)[0], ok, d.Body)
	})
	http.HandleFunc("/stop", func(rw http.ResponseWriter, req *http.Request) {
		must(sub.Cancel("weft-"+queue, false))
		must(sub.Cancel("weft-"+dqueue, false))
		io.WriteString(rw, "stopped")
	})
	log.Fatal(http.ListenAndServe(addr, nil))
}

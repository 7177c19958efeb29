// A net/http server whose handlers call Redis through redigo, go-redis v8
// and go-redis v9, each the way services do. It requests each path given
// as an argument from itself, in order, prints "ok" and exits (weft
// flushes the spans at exit). Keys start with $WEFT_TEST_KEY_PREFIX.
//
//	WEFT_TEST_REDIS_ADDR=127.0.0.1:36379 ./redis /redigo/do /v9/pipeline ...
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"

	v8 "github.com/go-redis/redis/v8"
	redigo "github.com/gomodule/redigo/redis"
	v9 "github.com/redis/go-redis/v9"
)

var (
	addr   = os.Getenv("WEFT_TEST_REDIS_ADDR")
	prefix = os.Getenv("WEFT_TEST_KEY_PREFIX")
)

func key(k string) string { return prefix + ":" + k }

// doContext is redigo's ConnWithContext (redigo 1.8.8 and later).
type doContext interface {
	DoContext(ctx context.Context, cmd string, args ...interface{}) (interface{}, error)
}

func must(w http.ResponseWriter, err error) bool {
	if err != nil {
		http.Error(w, err.Error(), 500)
		return false
	}
	return true
}

func main() {
	if addr == "" || prefix == "" {
		fmt.Fprintln(os.Stderr, "WEFT_TEST_REDIS_ADDR and WEFT_TEST_KEY_PREFIX must be set")
		os.Exit(2)
	}
	ctx := context.Background()
	pool := &redigo.Pool{
		MaxIdle: 2,
		Dial:    func() (redigo.Conn, error) { return redigo.Dial("tcp", addr) },
	}
	r8 := v8.NewClient(&v8.Options{Addr: addr})
	r9 := v9.NewClient(&v9.Options{Addr: addr})
	r9db := v9.NewClient(&v9.Options{Addr: addr, DB: 3})
	// Connect before the requests: a new connection's handshake is not
	// what the tests look at.
	for _, err := range []error{r8.Ping(ctx).Err(), r9.Ping(ctx).Err(), r9db.Ping(ctx).Err()} {
		if err != nil {
			fmt.Fprintln(os.Stderr, "redis:", err)
			os.Exit(1)
		}
	}
	c := pool.Get()
	if _, err := c.Do("PING"); err != nil {
		fmt.Fprintln(os.Stderr, "redis:", err)
		os.Exit(1)
	}
	c.Close()

	// A worker started before any request: it has no current context.
	work := make(chan func())
	go func() {
		for f := range work {
			f()
		}
	}()

	mux := http.NewServeMux()

	// --- redigo ---
	mux.HandleFunc("/redigo/do", func(w http.ResponseWriter, r *http.Request) {
		c := pool.Get()
		defer c.Close()
		_, err := c.Do("SET", key("k"), "v")
		if must(w, err) {
			_, err = redigo.String(c.Do("GET", key("k")))
			must(w, err)
		}
	})
	mux.HandleFunc("/redigo/pipeline", func(w http.ResponseWriter, r *http.Request) {
		c := pool.Get()
		defer c.Close()
		c.Send("SET", key("n"), 1)
		c.Send("INCR", key("n"))
		c.Send("GET", key("n"))
		if !must(w, c.Flush()) {
			return
		}
		for i := 0; i < 3; i++ {
			if _, err := c.Receive(); !must(w, err) {
				return
			}
		}
	})
	mux.HandleFunc("/redigo/multi", func(w http.ResponseWriter, r *http.Request) {
		c := pool.Get()
		defer c.Close()
		c.Send("MULTI")
		c.Send("INCR", key("x"))
		c.Send("INCR", key("y"))
		_, err := c.Do("EXEC")
		must(w, err)
	})
	mux.HandleFunc("/redigo/doall", func(w http.ResponseWriter, r *http.Request) {
		c := pool.Get()
		defer c.Close()
		c.Send("GET", key("k"))
		c.Send("GET", key("missing"))
		_, err := c.Do("")
		must(w, err)
	})
	mux.HandleFunc("/redigo/error", func(w http.ResponseWriter, r *http.Request) {
		c := pool.Get()
		defer c.Close()
		c.Do("SET", key("s"), "abc")
		if _, err := c.Do("INCR", key("s")); err == nil {
			http.Error(w, "INCR of a string worked", 500)
			return
		}
		// In a pipeline: the second reply is an error.
		c.Send("GET", key("s"))
		c.Send("LPUSH", key("s"), "x")
		c.Flush()
		c.Receive()
		if _, err := c.Receive(); err == nil {
			http.Error(w, "LPUSH on a string worked", 500)
		}
	})
	mux.HandleFunc("/redigo/nil", func(w http.ResponseWriter, r *http.Request) {
		c := pool.Get()
		defer c.Close()
		if _, err := redigo.String(c.Do("GET", key("missing"))); err != redigo.ErrNil {
			http.Error(w, fmt.Sprint("want ErrNil, got ", err), 500)
		}
	})
	mux.HandleFunc("/redigo/db", func(w http.ResponseWriter, r *http.Request) {
		c, err := redigo.Dial("tcp", addr, redigo.DialDatabase(3))
		if !must(w, err) {
			return
		}
		defer c.Close()
		c.Do("SET", key("k3"), "v")
		c.Do("SELECT", 4)
		c.Do("GET", key("k4"))
	})
	mux.HandleFunc("/redigo/goroutine", func(w http.ResponseWriter, r *http.Request) {
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := pool.Get()
			defer c.Close()
			c.Do("PING")
		}()
		wg.Wait()
	})
	mux.HandleFunc("/redigo/pubsub", func(w http.ResponseWriter, r *http.Request) {
		c, err := redigo.Dial("tcp", addr)
		if !must(w, err) {
			return
		}
		defer c.Close()
		// One goroutine receives while this one sends, as redigo allows.
		psc := redigo.PubSubConn{Conn: c}
		events := make(chan interface{})
		go func() {
			for {
				v := psc.Receive()
				events <- v
				if s, ok := v.(redigo.Subscription); ok && s.Count == 0 {
					return
				}
				if _, ok := v.(error); ok {
					return
				}
			}
		}()
		psc.Subscribe(key("ch"))
		if _, ok := (<-events).(redigo.Subscription); !ok {
			http.Error(w, "no subscription", 500)
			return
		}
		p := pool.Get()
		p.Do("PUBLISH", key("ch"), "hello")
		p.Close()
		if _, ok := (<-events).(redigo.Message); !ok {
			http.Error(w, "no message", 500)
			return
		}
		psc.Unsubscribe()
		if s, ok := (<-events).(redigo.Subscription); !ok || s.Count != 0 {
			http.Error(w, "not unsubscribed", 500)
		}
	})
	mux.HandleFunc("/redigo/context", func(w http.ResponseWriter, r *http.Request) {
		// The worker has no current context: only r.Context() links the span.
		done := make(chan struct{})
		work <- func() {
			defer close(done)
			c := pool.Get()
			defer c.Close()
			if dc, ok := c.(doContext); ok {
				dc.DoContext(r.Context(), "ECHO", "hello")
			}
		}
		<-done
	})

	// --- go-redis v8 and v9: the same calls ---
	mux.HandleFunc("/v8/cmd", func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if must(w, r8.Set(ctx, key("k"), "v", 0).Err()) {
			must(w, r8.Get(ctx, key("k")).Err())
		}
	})
	mux.HandleFunc("/v9/cmd", func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if must(w, r9.Set(ctx, key("k"), "v", 0).Err()) {
			must(w, r9.Get(ctx, key("k")).Err())
		}
	})
	mux.HandleFunc("/v8/pipeline", func(w http.ResponseWriter, r *http.Request) {
		_, err := r8.Pipelined(r.Context(), func(p v8.Pipeliner) error {
			p.Set(r.Context(), key("n"), 1, 0)
			p.Incr(r.Context(), key("n"))
			p.Get(r.Context(), key("n"))
			return nil
		})
		must(w, err)
	})
	mux.HandleFunc("/v9/pipeline", func(w http.ResponseWriter, r *http.Request) {
		_, err := r9.Pipelined(r.Context(), func(p v9.Pipeliner) error {
			p.Set(r.Context(), key("n"), 1, 0)
			p.Incr(r.Context(), key("n"))
			p.Get(r.Context(), key("n"))
			return nil
		})
		must(w, err)
	})
	mux.HandleFunc("/v8/tx", func(w http.ResponseWriter, r *http.Request) {
		_, err := r8.TxPipelined(r.Context(), func(p v8.Pipeliner) error {
			p.Incr(r.Context(), key("x"))
			p.Incr(r.Context(), key("y"))
			return nil
		})
		must(w, err)
	})
	mux.HandleFunc("/v9/tx", func(w http.ResponseWriter, r *http.Request) {
		_, err := r9.TxPipelined(r.Context(), func(p v9.Pipeliner) error {
			p.Incr(r.Context(), key("x"))
			p.Incr(r.Context(), key("y"))
			return nil
		})
		must(w, err)
	})
	mux.HandleFunc("/v8/error", func(w http.ResponseWriter, r *http.Request) {
		r8.Set(r.Context(), key("s"), "abc", 0)
		if r8.Incr(r.Context(), key("s")).Err() == nil {
			http.Error(w, "INCR of a string worked", 500)
		}
	})
	mux.HandleFunc("/v9/error", func(w http.ResponseWriter, r *http.Request) {
		r9.Set(r.Context(), key("s"), "abc", 0)
		if r9.Incr(r.Context(), key("s")).Err() == nil {
			http.Error(w, "INCR of a string worked", 500)
		}
	})
	mux.HandleFunc("/v8/nil", func(w http.ResponseWriter, r *http.Request) {
		if err := r8.Get(r.Context(), key("missing")).Err(); err != v8.Nil {
			http.Error(w, fmt.Sprint("want Nil, got ", err), 500)
		}
	})
	mux.HandleFunc("/v9/nil", func(w http.ResponseWriter, r *http.Request) {
		if err := r9.Get(r.Context(), key("missing")).Err(); !errors.Is(err, v9.Nil) {
			http.Error(w, fmt.Sprint("want Nil, got ", err), 500)
		}
	})
	mux.HandleFunc("/v8/ctxless", func(w http.ResponseWriter, r *http.Request) {
		must(w, r8.Ping(context.Background()).Err())
	})
	mux.HandleFunc("/v9/ctxless", func(w http.ResponseWriter, r *http.Request) {
		must(w, r9.Ping(context.Background()).Err())
	})
	mux.HandleFunc("/v8/conn", func(w http.ResponseWriter, r *http.Request) {
		c := r8.Conn(r.Context())
		defer c.Close()
		must(w, c.Ping(r.Context()).Err())
	})
	mux.HandleFunc("/v9/conn", func(w http.ResponseWriter, r *http.Request) {
		c := r9.Conn()
		defer c.Close()
		must(w, c.Ping(r.Context()).Err())
	})
	mux.HandleFunc("/v9/db", func(w http.ResponseWriter, r *http.Request) {
		if err := r9db.Get(r.Context(), key("missing")).Err(); !errors.Is(err, v9.Nil) {
			http.Error(w, fmt.Sprint("want Nil, got ", err), 500)
		}
	})

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	go http.Serve(ln, mux)
	for _, path := range os.Args[1:] {
		resp, err := http.Get("http://" + ln.Addr().String() + path)
		if err != nil {
			fmt.Fprintln(os.Stderr, path, err)
			os.Exit(1)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			fmt.Fprintf(os.Stderr, "%s: %s %s\n", path, resp.Status, body)
			os.Exit(1)
		}
	}
	fmt.Println("ok")
}

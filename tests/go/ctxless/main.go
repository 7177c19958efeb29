// Calls made without a context.Context must join the request's trace,
// and must never leak into another request's: ctx-less http.Get in a
// handler, in a goroutine the handler starts, and in a worker pool started
// before any request.
package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
)

var base string

func get(path string) {
	resp, err := http.Get(base + path) // no ctx on purpose
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

type job struct {
	path string
	done chan struct{}
}

func main() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	base = "http://" + ln.Addr().String()
	jobs := make(chan job)
	for i := 0; i < 2; i++ { // the pool exists before any request
		go func() {
			for j := range jobs {
				get(j.path)
				close(j.done)
			}
		}()
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /leaf/{from}", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("GET /a", func(w http.ResponseWriter, r *http.Request) {
		get("/leaf/handler")
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			get("/leaf/child")
		}()
		wg.Wait()
	})
	mux.HandleFunc("GET /pool", func(w http.ResponseWriter, r *http.Request) {
		j := job{path: "/leaf/pool", done: make(chan struct{})}
		jobs <- j
		<-j.done
	})
	go http.Serve(ln, mux)
	for _, p := range os.Args[1:] {
		get(p)
	}
	fmt.Println("ok")
}

// A plain net/http + database/sql server for weft's eBPF tests, built with
// plain `go build` (no weft): normal, stripped and PIE. It listens on
// 127.0.0.1:0, prints "listening on ADDR" and writes ADDR to $ADDR_FILE
// when set. Routes:
//
//	GET /items/{id}  query MariaDB with the request's context, then call
//	                 GET /ping from a child goroutine with no context
//	                 (http.Get) and wait for it
//	GET /count       count the items through a prepared statement (sql.Stmt)
//	GET /ping        200 "pong"
//	GET /call?to=URL POST "hello" to URL (http.Post, no context), answer its status
//	GET /proxy       forward to GET /backend through httputil.ReverseProxy
//	                 (a Transport without an http.Client)
//	GET /backend     200 "backend"
//	GET /broken      query a missing table, then GET http://127.0.0.1:1/
//	                 (connection refused); 502
//	GET /h2call      GET /h2/ping over HTTP/2 without TLS (Go 1.24+), as if
//	                 from an upstream: traceparent 00-H2TRACE-H2PARENT-01,
//	                 tracestate weft=h2 (the values are in the query)
//	GET /h2tls       the same over HTTP/2 with TLS (an httptest server on
//	                 this mux), to GET /h2/tls
//	GET /h2/ping, GET /h2/tls   200 "pong"
//	GET /fail        500
//	GET /quit        answer, then exit 0
package main

import (
	"database/sql"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	_ "github.com/go-sql-driver/mysql"
)

func main() {
	db, err := sql.Open("mysql", os.Getenv("MYSQL_DSN"))
	if err != nil {
		log.Fatal(err)
	}
	for i := 0; ; i++ {
		if _, err = db.Exec("CREATE TABLE IF NOT EXISTS ebpf_items (id INT PRIMARY KEY, name VARCHAR(64))"); err == nil || i == 50 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		log.Fatal(err)
	}
	if _, err := db.Exec("INSERT IGNORE INTO ebpf_items (id, name) VALUES (1, 'spool'), (2, 'shuttle')"); err != nil {
		log.Fatal(err)
	}
	count, err := db.Prepare("SELECT COUNT(*) FROM ebpf_items WHERE id > ?")
	if err != nil {
		log.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	base := "http://" + ln.Addr().String()

	mux := http.NewServeMux()
	mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) {
		var name string
		err := db.QueryRowContext(r.Context(), "SELECT name FROM ebpf_items WHERE id = ?", r.PathValue("id")).Scan(&name)
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { // no context: only goroutine linking can parent this call
			defer wg.Done()
			if resp, err := http.Get(base + "/ping"); err == nil {
				resp.Body.Close()
			}
		}()
		wg.Wait()
		fmt.Fprintln(w, name)
	})
	mux.HandleFunc("GET /count", func(w http.ResponseWriter, r *http.Request) {
		var n int
		if err := count.QueryRowContext(r.Context(), 0).Scan(&n); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, n)
	})
	mux.HandleFunc("GET /ping", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "pong") })
	target, err := url.Parse(base)
	if err != nil {
		log.Fatal(err)
	}
	mux.Handle("GET /proxy", &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(target)
		r.Out.URL.Path = "/backend"
	}})
	mux.HandleFunc("GET /backend", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "backend") })
	mux.HandleFunc("GET /call", func(w http.ResponseWriter, r *http.Request) {
		resp, err := http.Post(r.URL.Query().Get("to"), "text/plain", strings.NewReader("hello"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		resp.Body.Close()
		fmt.Fprintln(w, resp.Status)
	})
	mux.HandleFunc("GET /broken", func(w http.ResponseWriter, r *http.Request) {
		if rows, err := db.QueryContext(r.Context(), "SELECT id FROM ebpf_missing"); err == nil {
			rows.Close()
		}
		if resp, err := http.Get("http://127.0.0.1:1/"); err == nil {
			resp.Body.Close()
		}
		http.Error(w, "broken", http.StatusBadGateway)
	})
	mux.HandleFunc("GET /h2call", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		got, err := h2Get(base+"/h2/ping", q.Get("traceparent"), q.Get("tracestate"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotImplemented)
			return
		}
		fmt.Fprintln(w, got)
	})
	mux.HandleFunc("GET /h2/ping", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "pong", r.Proto) })
	var tlsOnce sync.Once
	var tlsSrv *httptest.Server
	mux.HandleFunc("GET /h2tls", func(w http.ResponseWriter, r *http.Request) {
		tlsOnce.Do(func() {
			tlsSrv = httptest.NewUnstartedServer(mux)
			tlsSrv.EnableHTTP2 = true
			tlsSrv.StartTLS()
		})
		req, err := http.NewRequest("GET", tlsSrv.URL+"/h2/tls", nil)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		req.Header.Set("traceparent", r.URL.Query().Get("traceparent"))
		req.Header.Set("tracestate", r.URL.Query().Get("tracestate"))
		resp, err := tlsSrv.Client().Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		resp.Body.Close()
		fmt.Fprintln(w, resp.Proto, resp.StatusCode)
	})
	mux.HandleFunc("GET /h2/tls", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "pong", r.Proto) })
	mux.HandleFunc("GET /fail", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "failing on purpose", http.StatusInternalServerError)
	})
	mux.HandleFunc("GET /quit", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "bye")
		go func() { time.Sleep(100 * time.Millisecond); os.Exit(0) }()
	})
	fmt.Println("listening on", ln.Addr().String())
	if f := os.Getenv("ADDR_FILE"); f != "" {
		if err := os.WriteFile(f+".tmp", []byte(ln.Addr().String()), 0o644); err != nil {
			log.Fatal(err)
		}
		if err := os.Rename(f+".tmp", f); err != nil {
			log.Fatal(err)
		}
	}
	srv := &http.Server{Handler: mux}
	h2c(srv)
	log.Fatal(srv.Serve(ln))
}

// A plain net/http + database/sql server for weft's eBPF tests, built with
// plain `go build` (no weft): normal, stripped and PIE.
//
//	MYSQL_DSN=... ./server          listens on 127.0.0.1:0, prints "listening on ADDR"
//
// GET /items/{id}  queries MariaDB with the request's context, then starts a
//                  goroutine that calls GET /ping over HTTP with no context
//                  (http.Get) and waits for it
// GET /ping        200 "pong"
// GET /fail        500
// GET /quit        answers, then exits 0
package main

import (
	"database/sql"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
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
	mux.HandleFunc("GET /ping", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "pong") })
	mux.HandleFunc("GET /fail", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "failing on purpose", http.StatusInternalServerError)
	})
	mux.HandleFunc("GET /quit", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "bye")
		go func() { time.Sleep(100 * time.Millisecond); os.Exit(0) }()
	})
	fmt.Println("listening on", ln.Addr().String())
	log.Fatal(http.Serve(ln, mux))
}

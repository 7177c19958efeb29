// A net/http server whose handlers talk to a MongoDB-protocol server
// (tests/services/mongo.sh) through the MongoDB Go driver: v1 (driver_v1.go)
// or, built with -tags mongov2, v2 (driver_v2.go). The program has a
// command monitor of its own, which counts what it is told.
//
//	mongo ADDR MONGODB_URI DATABASE
package main

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"os"
	"sync/atomic"
)

var started, succeeded, failed atomic.Int64

func main() {
	addr, uri, db := os.Args[1], os.Args[2], os.Args[3]
	s, err := connect(uri, db)
	if err != nil {
		log.Fatal(err)
	}
	fail := func(w http.ResponseWriter, err error) {
		w.WriteHeader(500)
		fmt.Fprintln(w, err)
	}
	http.HandleFunc("/insert", func(w http.ResponseWriter, r *http.Request) {
		if err := s.insertOne(r.Context(), "items", "a1", "apple"); err != nil {
			fail(w, err)
			return
		}
		name, err := s.findOne(r.Context(), "items", "a1")
		if err != nil {
			fail(w, err)
			return
		}
		fmt.Fprintln(w, name)
	})
	// Five documents read two at a time: a find and its getMores.
	http.HandleFunc("/cursor", func(w http.ResponseWriter, r *http.Request) {
		if err := s.insertMany(r.Context(), "batch", 5); err != nil {
			fail(w, err)
			return
		}
		n, err := s.readAll(r.Context(), "batch", 2)
		if err != nil {
			fail(w, err)
			return
		}
		fmt.Fprintln(w, "read", n)
	})
	// A duplicate key: the command succeeds with a write error.
	http.HandleFunc("/dup", func(w http.ResponseWriter, r *http.Request) {
		err := s.insertOne(r.Context(), "items", "a1", "again")
		fmt.Fprintln(w, "duplicate refused:", err != nil)
	})
	// A command the server does not know fails.
	http.HandleFunc("/fail", func(w http.ResponseWriter, r *http.Request) {
		err := s.run(r.Context(), "weftNoSuchCommand")
		fmt.Fprintln(w, "failed:", err != nil)
	})
	// No ctx from the request: the goroutine's context is the parent.
	http.HandleFunc("/ctxless", func(w http.ResponseWriter, r *http.Request) {
		name, err := s.findOne(context.Background(), "items", "a1")
		if err != nil {
			fail(w, err)
			return
		}
		fmt.Fprintln(w, name)
	})
	http.HandleFunc("/events", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "started=%d succeeded=%d failed=%d\n", started.Load(), succeeded.Load(), failed.Load())
	})
	log.Fatal(http.ListenAndServe(addr, nil))
}

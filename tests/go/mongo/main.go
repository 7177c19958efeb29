// A net/http server whose handlers talk to a MongoDB-protocol server
// (tests/services/mongo.sh) through package store.
//
//	mongo ADDR MONGODB_URI DATABASE
package main

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"os"

	"example.com/mongofixture/store"
)

func main() {
	addr, s := os.Args[1], store.S
	if store.Err != nil {
		log.Fatal(store.Err)
	}
	fail := func(w http.ResponseWriter, err error) {
		w.WriteHeader(500)
		fmt.Fprintln(w, err)
	}
	http.HandleFunc("/insert", func(w http.ResponseWriter, r *http.Request) {
		if err := s.InsertOne(r.Context(), "items", "a1", "apple"); err != nil {
			fail(w, err)
			return
		}
		name, err := s.FindOne(r.Context(), "items", "a1")
		if err != nil {
			fail(w, err)
			return
		}
		fmt.Fprintln(w, name)
	})
	// Five documents read two at a time: a find and its getMores.
	http.HandleFunc("/cursor", func(w http.ResponseWriter, r *http.Request) {
		if err := s.InsertMany(r.Context(), "batch", 5); err != nil {
			fail(w, err)
			return
		}
		n, err := s.ReadAll(r.Context(), "batch", 2)
		if err != nil {
			fail(w, err)
			return
		}
		fmt.Fprintln(w, "read", n)
	})
	// A duplicate key: the command succeeds with a write error.
	http.HandleFunc("/dup", func(w http.ResponseWriter, r *http.Request) {
		err := s.InsertOne(r.Context(), "items", "a1", "again")
		fmt.Fprintln(w, "duplicate refused:", err != nil)
	})
	// A command the server does not know fails.
	http.HandleFunc("/fail", func(w http.ResponseWriter, r *http.Request) {
		err := s.Run(r.Context(), "weftNoSuchCommand", 1)
		fmt.Fprintln(w, "failed:", err != nil)
	})
	// A command whose first value is a string but no collection.
	http.HandleFunc("/getlog", func(w http.ResponseWriter, r *http.Request) {
		err := s.Run(r.Context(), "getLog", "global")
		fmt.Fprintln(w, "getLog failed:", err != nil)
	})
	// No ctx from the request: the goroutine's context is the parent.
	http.HandleFunc("/ctxless", func(w http.ResponseWriter, r *http.Request) {
		name, err := s.FindOne(context.Background(), "items", "a1")
		if err != nil {
			fail(w, err)
			return
		}
		fmt.Fprintln(w, name)
	})
	http.HandleFunc("/events", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "started=%d succeeded=%d failed=%d\n", store.Started.Load(), store.Succeeded.Load(), store.Failed.Load())
	})
	log.Fatal(http.ListenAndServe(addr, nil))
}

// A tiny instrumented program: one HTTP round trip to itself, then exit.
// It prints the response so tests can check the program still works.
package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
)

func main() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /hello/{name}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("name") == "panic" {
			panic("hello panics")
		}
		fmt.Fprintf(w, "hello %s", r.PathValue("name"))
	})
	go http.Serve(ln, mux)
	resp, err := http.Get("http://" + ln.Addr().String() + "/hello/" + os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(body))
	if len(os.Args) > 2 && os.Args[2] == "exit3" {
		os.Exit(3)
	}
	if len(os.Args) > 2 && os.Args[2] == "wait" {
		select {} // until a signal ends it
	}
}

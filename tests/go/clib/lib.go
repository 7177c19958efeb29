// A Go library for C programs (-buildmode=c-shared or c-archive): its
// process ends when C's main returns, where Go's exit hooks never run.
package main

import "C"

import (
	"net/http"
	"net/http/httptest"
)

// Fetch serves one request to itself and returns the status code.
//
//export Fetch
func Fetch() C.int {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok"))
	}))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/fetch")
	if err != nil {
		return -1
	}
	resp.Body.Close()
	return C.int(resp.StatusCode)
}

func main() {}

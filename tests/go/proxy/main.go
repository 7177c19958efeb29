// Requests that reach an http.Transport without passing an http.Client:
// an httputil.ReverseProxy in front of a backend, called through an
// http.Client whose own RoundTripper clones each request before the
// Transport gets it. Prints what the backend saw.
package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
)

// cloning is a RoundTripper that hands the Transport a clone of each request.
type cloning struct{ next http.RoundTripper }

func (c cloning) RoundTrip(r *http.Request) (*http.Response, error) {
	return c.next.RoundTrip(r.Clone(r.Context()))
}

func listen() net.Listener {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	return ln
}

func main() {
	back := listen()
	go http.Serve(back, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "backend %s", r.URL.Path)
	}))
	target, _ := url.Parse("http://" + back.Addr().String())
	front := listen()
	go http.Serve(front, httputil.NewSingleHostReverseProxy(target))
	client := &http.Client{Transport: cloning{http.DefaultTransport}}
	resp, err := client.Get("http://" + front.Addr().String() + "/items")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(body))
}

// Requests that reach an http.Transport without passing an http.Client:
// an httputil.ReverseProxy in front of a backend, called through an
// http.Client whose own RoundTripper clones each request before the
// Transport gets it. Prints what the backend saw. With the argument
// "upgrade", the request asks for a protocol switch instead, which the
// backend accepts on the connection it hijacks (as WebSocket servers do),
// and the proxy passes through on the one it hijacks.
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
		if r.Header.Get("Upgrade") == "weft-echo" {
			conn, rw, err := w.(http.Hijacker).Hijack()
			if err != nil {
				return
			}
			defer conn.Close()
			rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: weft-echo\r\n\r\n")
			rw.Flush()
			line, _ := rw.ReadString('\n')
			rw.WriteString(line)
			rw.Flush()
			return
		}
		fmt.Fprintf(w, "backend %s", r.URL.Path)
	}))
	target, _ := url.Parse("http://" + back.Addr().String())
	front := listen()
	go http.Serve(front, httputil.NewSingleHostReverseProxy(target))
	client := &http.Client{Transport: cloning{http.DefaultTransport}}
	if len(os.Args) > 1 && os.Args[1] == "upgrade" {
		upgrade(client, "http://"+front.Addr().String()+"/echo")
		return
	}
	resp, err := client.Get("http://" + front.Addr().String() + "/items")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(body))
}

// upgrade switches protocols through the proxy and echoes one line.
func upgrade(client *http.Client, url string) {
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "weft-echo")
	resp, err := client.Do(req)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	conn, ok := resp.Body.(io.ReadWriteCloser)
	if !ok {
		fmt.Fprintln(os.Stderr, "no connection after", resp.Status)
		os.Exit(1)
	}
	defer conn.Close()
	io.WriteString(conn, "ping\n")
	line := make([]byte, 5)
	io.ReadFull(conn, line)
	fmt.Printf("%d %s", resp.StatusCode, line)
}

// Trace context across processes, through the environment. Run with no
// arguments, it serves /run and /ping/{from} on 127.0.0.1, then:
//
//  1. outside any span, runs itself as "child URL/ping/main";
//  2. GETs /run, whose handler runs "child URL/ping/run" inside its
//     server span (exec.CommandContext with the request's ctx);
//  3. sends /ping/raw over a bare TCP connection (no traceparent).
//
// As "child URL" it prints the TRACEPARENT it got (one line per variable
// found, "-" for none) and " own=…" for a variable "traceparent" (another
// variable, on Linux: weft leaves it alone), then GETs URL.
package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
)

func main() {
	if len(os.Args) == 3 && os.Args[1] == "child" {
		child(os.Args[2])
		return
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	base := "http://" + ln.Addr().String()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ping/{from}", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "pong") })
	mux.HandleFunc("GET /run", func(w http.ResponseWriter, r *http.Request) {
		out, err := exec.CommandContext(r.Context(), os.Args[0], "child", base+"/ping/run").Output()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Write(out)
	})
	go http.Serve(ln, mux)

	out, err := exec.Command(os.Args[0], "child", base+"/ping/main").Output()
	check(err)
	fmt.Printf("main: %s", out)

	resp, err := http.Get(base + "/run")
	check(err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Printf("run: %s", body)

	conn, err := net.Dial("tcp", ln.Addr().String())
	check(err)
	fmt.Fprintf(conn, "GET /ping/raw HTTP/1.0\r\nHost: x\r\n\r\n")
	status, _ := bufio.NewReader(conn).ReadString('\n')
	conn.Close()
	fmt.Printf("raw: %s", strings.TrimSpace(status)+"\n")
}

func child(url string) {
	var tp []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "TRACEPARENT=") {
			tp = append(tp, strings.TrimPrefix(kv, "TRACEPARENT="))
		}
	}
	if len(tp) == 0 {
		tp = []string{"-"}
	}
	if own := os.Getenv("traceparent"); own != "" {
		tp = append(tp, "own="+own)
	}
	fmt.Println(strings.Join(tp, " "))
	resp, err := http.Get(url)
	check(err)
	resp.Body.Close()
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

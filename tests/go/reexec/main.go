// Command reexec makes a request to itself, then replaces itself with a
// new run of its binary (syscall.Exec, as programs that reload their
// settings do); the new run makes a second request and exits. Spans the
// first run ended must not vanish with its process image.
package main

import (
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"syscall"
)

func main() {
	run := "first"
	if os.Getenv("REEXEC_SECOND") != "" {
		run = "second"
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	resp, err := http.Get("http://" + ln.Addr().String() + "/" + run)
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println(run, "run done")
	if run == "second" {
		return
	}
	exe, err := os.Executable()
	if err != nil {
		log.Fatal(err)
	}
	log.Fatal(syscall.Exec(exe, os.Args, append(os.Environ(), "REEXEC_SECOND=1")))
}

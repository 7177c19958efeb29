// Command plugins serves HTTP, handles SIGTERM itself (os/signal, as
// gotify does) and loads Go plugins (-buildmode=plugin), for weft's plugin
// test: fetch.so calls the host's server through net/http, plain.so uses
// nothing weft instruments. Each plugin's answer is printed.
//
// Usage: plugins ADDR PLUGIN.so...
package main

import (
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"plugin"
	"syscall"
)

func main() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGTERM)
	ln, err := net.Listen("tcp", os.Args[1])
	if err != nil {
		log.Fatal(err)
	}
	http.HandleFunc("/ping", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "pong") })
	go http.Serve(ln, nil)
	for _, path := range os.Args[2:] {
		p, err := plugin.Open(path)
		if err != nil {
			fmt.Println("open:", err)
			os.Exit(1)
		}
		f, err := p.Lookup("Run")
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(f.(func(string) string)("http://" + os.Args[1] + "/ping"))
	}
}

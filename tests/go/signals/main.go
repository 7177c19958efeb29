// A server that makes one request to itself, prints the answer, then waits
// for a signal. For weft's end-to-end tests of spans still queued when a
// signal ends the program:
//
//	signals die       imports os/signal but leaves SIGTERM to kill it
//	signals graceful  shuts down on SIGTERM and returns from main
//	signals quick     stops watching SIGTERM as soon as it comes, then
//	                  shuts down and returns from main (weft must judge by
//	                  the channels the signal was delivered to, not by
//	                  those left when it reads its own)
package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	ctx := context.Background()
	switch os.Args[1] {
	case "graceful":
		var stop context.CancelFunc
		ctx, stop = signal.NotifyContext(ctx, syscall.SIGTERM)
		defer stop()
	case "quick":
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, syscall.SIGTERM)
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		go func() {
			<-ch
			signal.Stop(ch)
			cancel()
		}()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "hello")
	})}
	go srv.Serve(ln)
	resp, err := http.Get("http://" + ln.Addr().String() + "/hello")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, string(body))
	<-ctx.Done()
	srv.Shutdown(context.Background())
	time.Sleep(100 * time.Millisecond) // (time for a wrong re-raise to land)
	fmt.Println("graceful")
}

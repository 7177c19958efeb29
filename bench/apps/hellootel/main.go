// Command hellootel is apps/hello hand-instrumented the usual way: the
// official OpenTelemetry Go SDK (OTLP/HTTP exporter, batch span processor,
// both configured by the standard OTEL_* environment, as weft's runtime is)
// and otelhttp around the mux.
package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"example.com/weft-bench/internal/otelsetup"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
)

func main() {
	addr := os.Getenv("HELLO_ADDR")
	if addr == "" {
		addr = "127.0.0.1:8090"
	}
	shutdown, err := otelsetup.Setup(context.Background())
	if err != nil {
		os.Stderr.WriteString("hellootel: " + err.Error() + "\n")
		os.Exit(1)
	}
	defer shutdown()

	mux := http.NewServeMux()
	mux.HandleFunc("GET /hello", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "hello, world\n")
	})
	srv := &http.Server{Addr: addr, Handler: otelhttp.NewHandler(mux, "hello", otelsetup.ServerSpanName), ReadHeaderTimeout: 10 * time.Second}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			os.Stderr.WriteString("hellootel: " + err.Error() + "\n")
			os.Exit(1)
		}
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}
}

// A program that traces with the OpenTelemetry Go SDK itself, built with
// weft: its spans and weft's must form one trace. It prints each SDK span
// as it ends ("otel NAME TRACE SPAN PARENT"); weft's spans go to the
// collector at OTEL_EXPORTER_OTLP_ENDPOINT.
//
// root (SDK) -> GET (weft client) -> GET /work (weft server)
// -> handler-work (SDK) -> GET (weft client) -> GET /leaf (weft server);
// and separate requests to /bg, whose handler starts an SDK span from
// context.Background() (its parent is weft's server span, the goroutine's
// current span), and to /extract, whose handler extracts the incoming
// traceparent with the SDK's propagator first, as otelhttp does (the SDK
// keeps that parent: a sibling of weft's server span).
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

type printExporter struct{}

func (printExporter) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	for _, s := range spans {
		sc := s.SpanContext()
		fmt.Printf("otel %s %s %s %s\n", s.Name(), sc.TraceID(), sc.SpanID(), s.Parent().SpanID())
	}
	return nil
}

func (printExporter) Shutdown(context.Context) error { return nil }

// seeTransport prints the span the API sees as current when the request
// reaches the transport ("seen PATH SPAN"), as otelhttp's transport would
// look it up: weft's client span has started by then.
type seeTransport struct{}

func (seeTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	fmt.Printf("seen %s %s\n", r.URL.Path, trace.SpanContextFromContext(r.Context()).SpanID())
	return http.DefaultTransport.RoundTrip(r)
}

var client = &http.Client{Transport: seeTransport{}}

func get(ctx context.Context, url string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		log.Fatal(err)
	}
	resp, err := client.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

func main() {
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(printExporter{}))
	otel.SetTracerProvider(tp)
	tracer := otel.Tracer("fixture")

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	mux := http.NewServeMux()
	mux.HandleFunc("/work", func(w http.ResponseWriter, r *http.Request) {
		// The tracer as otelhttp's handler picks it: the provider of the
		// span in the request's ctx, if any, else the global one.
		tp := otel.GetTracerProvider()
		if s := trace.SpanFromContext(r.Context()); s.SpanContext().IsValid() {
			tp = s.TracerProvider()
		}
		ctx, span := tp.Tracer("fixture").Start(r.Context(), "handler-work")
		defer span.End()
		get(ctx, base+"/leaf")
		io.WriteString(w, "done\n")
	})
	mux.HandleFunc("/leaf", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "leaf\n")
	})
	mux.HandleFunc("/bg", func(w http.ResponseWriter, r *http.Request) {
		_, span := tracer.Start(context.Background(), "bg-work")
		span.End()
	})
	mux.HandleFunc("/extract", func(w http.ResponseWriter, r *http.Request) {
		ctx := propagation.TraceContext{}.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		_, span := tracer.Start(ctx, "extract-work")
		span.End()
	})
	mux.HandleFunc("/v1/traces", func(w http.ResponseWriter, r *http.Request) {})
	go http.Serve(ln, mux)

	ctx, root := tracer.Start(context.Background(), "root")
	get(ctx, base+"/work")
	root.End()
	get(context.Background(), base+"/bg")
	get(context.Background(), base+"/extract")
	// As the SDK's OTLP/HTTP exporter sends: weft makes no client span.
	req, _ := http.NewRequest(http.MethodPost, base+"/v1/traces", nil)
	req.Header.Set("User-Agent", "OTel OTLP Exporter Go/1.47.0")
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
	}
	if err := tp.Shutdown(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
}

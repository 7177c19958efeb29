// Package otelsetup is the hand-written OpenTelemetry SDK setup the
// hand-instrumented benchmark programs share: what a user of the official
// SDK writes in main. Everything is configured by the standard environment
// (OTEL_SERVICE_NAME, OTEL_EXPORTER_OTLP_*, OTEL_BSP_*, OTEL_TRACES_SAMPLER),
// the same variables weft's runtime reads, so both get identical settings.
package otelsetup

import (
	"context"
	"net/http"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Setup installs a global TracerProvider exporting OTLP/HTTP protobuf
// through a batch span processor, and the W3C propagators. The returned
// function flushes and shuts it down.
func Setup(ctx context.Context) (func(), error) {
	exp, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, err
	}
	res, err := resource.New(ctx, resource.WithFromEnv(), resource.WithTelemetrySDK())
	if err != nil {
		return nil, err
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp), // OTEL_BSP_* from the environment
		sdktrace.WithResource(res),
	)
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		tp.Shutdown(ctx)
	}, nil
}

// ServerSpanName names server spans "GET" like weft does for an unrouted
// request (otelhttp would otherwise use the fixed operation name).
var ServerSpanName = otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string {
	return r.Method
})

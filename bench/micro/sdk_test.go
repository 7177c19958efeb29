// Package micro holds the official OpenTelemetry Go SDK's side of the
// micro-benchmarks: the same operations, shaped the same way, as weft's own
// benchmarks in runtime/weft (rt.BenchmarkStartEnd and friends,
// propagation.BenchmarkExtractInject, otlp.BenchmarkEncode512), so
// bench/run.sh can put the two side by side. Like weft's, each reports
// "cpu-ns/op" (process CPU time per op: on a loaded machine wall time
// mostly measures the wait for a CPU).
package micro

import (
	"context"
	"net/http"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// discard is a SpanExporter that drops everything (weft's benchmarks use a
// discarding exporter too).
type discard struct{}

func (discard) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discard) Shutdown(context.Context) error                             { return nil }

// provider mirrors weft's rt benchmark setup: batch processor, an hour's
// schedule delay, a 65536-span queue, batches of 512.
func provider(b *testing.B, sampler sdktrace.Sampler) trace.Tracer {
	bsp := sdktrace.NewBatchSpanProcessor(discard{},
		sdktrace.WithBatchTimeout(time.Hour), sdktrace.WithMaxQueueSize(1<<16), sdktrace.WithMaxExportBatchSize(512))
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(bsp), sdktrace.WithSampler(sampler))
	b.Cleanup(func() { tp.Shutdown(context.Background()) })
	return tp.Tracer("bench")
}

func cpuTime(b *testing.B) func() {
	var start syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &start)
	b.ResetTimer()
	return func() {
		b.StopTimer()
		var end syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &end)
		ns := (end.Utime.Nano() + end.Stime.Nano()) - (start.Utime.Nano() + start.Stime.Nano())
		b.ReportMetric(float64(ns)/float64(b.N), "cpu-ns/op")
	}
}

func BenchmarkStartEnd(b *testing.B) {
	tr := provider(b, sdktrace.ParentBased(sdktrace.AlwaysSample()))
	ctx := context.Background()
	b.ReportAllocs()
	defer cpuTime(b)()
	for i := 0; i < b.N; i++ {
		_, sp := tr.Start(ctx, "op")
		sp.End()
	}
}

func BenchmarkStartEndChildWithAttrs(b *testing.B) {
	tr := provider(b, sdktrace.ParentBased(sdktrace.AlwaysSample()))
	ctx, parent := tr.Start(context.Background(), "parent", trace.WithSpanKind(trace.SpanKindServer))
	defer parent.End()
	b.ReportAllocs()
	defer cpuTime(b)()
	for i := 0; i < b.N; i++ {
		_, sp := tr.Start(ctx, "SELECT orders", trace.WithSpanKind(trace.SpanKindClient))
		sp.SetAttributes(
			attribute.String("db.system.name", "mysql"),
			attribute.String("db.operation.name", "SELECT"),
			attribute.String("db.collection.name", "orders"),
			attribute.String("server.address", "db"),
			attribute.Int("server.port", 3306),
			attribute.String("db.namespace", "shop"),
		)
		sp.End()
	}
}

func BenchmarkStartEndUnsampled(b *testing.B) {
	tr := provider(b, sdktrace.NeverSample())
	ctx := context.Background()
	b.ReportAllocs()
	defer cpuTime(b)()
	for i := 0; i < b.N; i++ {
		_, sp := tr.Start(ctx, "op")
		sp.End()
	}
}

var prop = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})

func BenchmarkServerRequest(b *testing.B) {
	tr := provider(b, sdktrace.ParentBased(sdktrace.AlwaysSample()))
	in := http.Header{"Traceparent": {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}}
	b.ReportAllocs()
	defer cpuTime(b)()
	for i := 0; i < b.N; i++ {
		ctx := prop.Extract(context.Background(), propagation.HeaderCarrier(in))
		_, sp := tr.Start(ctx, "GET", trace.WithSpanKind(trace.SpanKindServer))
		sp.SetAttributes(attribute.String("http.request.method", "GET"), attribute.Int("http.response.status_code", 200))
		sp.End()
	}
}

func BenchmarkExtractInject(b *testing.B) {
	in := http.Header{"Traceparent": {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}, "Accept": {"*/*"}, "User-Agent": {"x"}}
	b.ReportAllocs()
	defer cpuTime(b)()
	for i := 0; i < b.N; i++ {
		ctx := prop.Extract(context.Background(), propagation.HeaderCarrier(in))
		out := http.Header{}
		prop.Inject(ctx, propagation.HeaderCarrier(out))
	}
}

// marshalClient is an otlptrace.Client that encodes the request the way
// otlptracehttp does (proto.Marshal) and sends nothing.
type marshalClient struct{ out []byte }

func (*marshalClient) Start(context.Context) error { return nil }
func (*marshalClient) Stop(context.Context) error  { return nil }
func (c *marshalClient) UploadTraces(_ context.Context, rs []*tracepb.ResourceSpans) error {
	var err error
	c.out, err = proto.MarshalOptions{}.MarshalAppend(c.out[:0], &collectortrace.ExportTraceServiceRequest{ResourceSpans: rs})
	return err
}

// testSpans mirrors weft's otlp.testSpans: a server span with a remote
// parent, 4 attributes and an error; a client span with 10 int
// attributes; a bare client span.
func testSpans() []sdktrace.ReadOnlySpan {
	parent := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{1, 2, 3}, SpanID: trace.SpanID{9, 9}, TraceFlags: 1, Remote: true})
	start := time.Now()
	scope := instrumentation.Scope{Name: "net/http"}
	s1 := tracetest.SpanStub{
		Name: "GET /users/{id}", SpanKind: trace.SpanKindServer, Parent: parent,
		SpanContext: trace.NewSpanContext(trace.SpanContextConfig{TraceID: parent.TraceID(), SpanID: trace.SpanID{1}, TraceFlags: 1}),
		StartTime:   start, EndTime: start.Add(time.Millisecond),
		Attributes: []attribute.KeyValue{attribute.String("http.request.method", "GET"), attribute.Int("http.response.status_code", -1),
			attribute.String("bad.utf8", "a\uFFFDb") /* protobuf-go rejects invalid UTF-8 */, attribute.String("empty", ""), attribute.String("error.type", "timeout")},
		Status:               sdktrace.Status{Code: codes.Error, Description: "took too long"},
		InstrumentationScope: scope,
	}
	var attrs []attribute.KeyValue
	for i := 0; i < 10; i++ {
		attrs = append(attrs, attribute.Int("k"+string(rune('a'+i)), i))
	}
	s2 := tracetest.SpanStub{
		Name: "SELECT orders", SpanKind: trace.SpanKindClient,
		SpanContext: trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{4}, SpanID: trace.SpanID{2}, TraceFlags: 1}),
		StartTime:   start, EndTime: start.Add(time.Microsecond), Attributes: attrs,
		InstrumentationScope: instrumentation.Scope{Name: "database/sql"},
	}
	s3 := tracetest.SpanStub{
		Name: "GET", SpanKind: trace.SpanKindClient,
		SpanContext: trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{5}, SpanID: trace.SpanID{3}, TraceFlags: 1}),
		StartTime:   start, EndTime: start.Add(time.Microsecond),
		InstrumentationScope: scope,
	}
	res := resource.NewSchemaless(attribute.String("service.name", "svc"))
	s1.Resource, s2.Resource, s3.Resource = res, res, res
	return tracetest.SpanStubs{s1, s2, s3}.Snapshots()
}

func BenchmarkEncode512(b *testing.B) {
	spans := testSpans()
	batch := make([]sdktrace.ReadOnlySpan, 512)
	for i := range batch {
		batch[i] = spans[i%len(spans)]
	}
	c := &marshalClient{}
	exp, err := otlptrace.New(context.Background(), c)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	defer cpuTime(b)()
	for i := 0; i < b.N; i++ {
		if err := exp.ExportSpans(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(c.out)))
}

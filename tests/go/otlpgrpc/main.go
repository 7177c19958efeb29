// Command otlpgrpc is an OTLP/gRPC trace receiver for weft's tests, made
// with grpc-go and the official OTLP protobuf definitions
// (go.opentelemetry.io/proto/otlp): it listens on ADDR and prints a line
// for each span it receives, and one for each call's api-key metadata:
//
//	span SERVICE KIND NAME TRACE_ID SPAN_ID PARENT_ID
//	call api-key=VALUE
//
// It accepts gzip-compressed calls. Runs until killed.
package main

import (
	"context"
	"encoding/hex"
	"fmt"
	"log"
	"net"
	"os"
	"strings"
	"sync"

	collector "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
	_ "google.golang.org/grpc/encoding/gzip"
	"google.golang.org/grpc/metadata"
)

type receiver struct {
	collector.UnimplementedTraceServiceServer
	mu sync.Mutex
}

func (r *receiver) Export(ctx context.Context, req *collector.ExportTraceServiceRequest) (*collector.ExportTraceServiceResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	md, _ := metadata.FromIncomingContext(ctx)
	fmt.Printf("call api-key=%s\n", strings.Join(md.Get("api-key"), ","))
	for _, rs := range req.ResourceSpans {
		service := ""
		for _, a := range rs.GetResource().GetAttributes() {
			if a.Key == "service.name" {
				service = a.GetValue().GetStringValue()
			}
		}
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				parent := hex.EncodeToString(s.ParentSpanId)
				if parent == "" {
					parent = "-"
				}
				fmt.Printf("span %s %s %s %s %s %s\n", service, s.Kind, strings.ReplaceAll(s.Name, " ", "_"),
					hex.EncodeToString(s.TraceId), hex.EncodeToString(s.SpanId), parent)
			}
		}
	}
	return &collector.ExportTraceServiceResponse{}, nil
}

func main() {
	if len(os.Args) != 2 {
		log.Fatal("usage: otlpgrpc ADDR")
	}
	ln, err := net.Listen("tcp", os.Args[1])
	if err != nil {
		log.Fatal(err)
	}
	srv := grpc.NewServer()
	collector.RegisterTraceServiceServer(srv, &receiver{})
	log.Fatal(srv.Serve(ln))
}

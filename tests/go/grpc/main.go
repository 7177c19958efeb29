// A gRPC server and client (one program, two modes) for weft's end-to-end
// tests: unary, server-streaming and bidirectional calls, status errors,
// and a ctx-less http.Get and log line inside a handler. It builds against
// the oldest and the newest grpc release weft supports, so it uses only
// API both have (grpc.Dial, the health service's generated code, a
// hand-written ServiceDesc for the bidirectional stream).
//
//	grpc server GRPC_ADDR HTTP_ADDR
//	grpc client GRPC_ADDR
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

type health struct {
	healthpb.UnimplementedHealthServer
	httpAddr string
}

func (h *health) Check(ctx context.Context, req *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	switch req.Service {
	case "missing":
		return nil, status.Error(codes.NotFound, "no such service")
	case "boom":
		return nil, status.Error(codes.Internal, "boom")
	}
	// The caller's own metadata arrives beside the trace context.
	md, _ := metadata.FromIncomingContext(ctx)
	if len(md.Get("x-caller")) != 1 || len(md.Get("traceparent")) != 1 {
		return nil, status.Errorf(codes.InvalidArgument, "metadata %v", md)
	}
	// No ctx: weft links this request to the handler's span.
	resp, err := http.Get("http://" + h.httpAddr + "/ping")
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	log.Printf("check %q", req.Service)
	return &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING}, nil
}

func (h *health) Watch(req *healthpb.HealthCheckRequest, stream healthpb.Health_WatchServer) error {
	for i := 0; i < 2; i++ {
		if err := stream.Send(&healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING}); err != nil {
			return err
		}
	}
	return nil
}

// chat echoes every message back: a bidirectional stream.
func chat(_ interface{}, ss grpc.ServerStream) error {
	for {
		var req healthpb.HealthCheckRequest
		if err := ss.RecvMsg(&req); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
		if err := ss.SendMsg(&healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING}); err != nil {
			return err
		}
	}
}

var chatStream = grpc.StreamDesc{StreamName: "Chat", Handler: chat, ServerStreams: true, ClientStreams: true}

var echoService = grpc.ServiceDesc{
	ServiceName: "weft.test.Echo",
	HandlerType: (*interface{})(nil),
	Streams:     []grpc.StreamDesc{chatStream},
}

func serve(grpcAddr, httpAddr string) {
	http.HandleFunc("/ping", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "pong") })
	go func() { log.Fatal(http.ListenAndServe(httpAddr, nil)) }()
	lis, err := net.Listen("tcp", grpcAddr)
	if err != nil {
		log.Fatal(err)
	}
	s := grpc.NewServer()
	healthpb.RegisterHealthServer(s, &health{httpAddr: httpAddr})
	s.RegisterService(&echoService, struct{}{})
	log.Fatal(s.Serve(lis))
}

func call(grpcAddr string) {
	cc, err := grpc.Dial(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		log.Fatal(err)
	}
	defer cc.Close()
	ctx := metadata.AppendToOutgoingContext(context.Background(), "x-caller", "fixture")
	client := healthpb.NewHealthClient(cc)
	for _, svc := range []string{"", "missing", "boom"} {
		resp, err := client.Check(ctx, &healthpb.HealthCheckRequest{Service: svc})
		if err != nil {
			fmt.Printf("check %q %s\n", svc, status.Code(err))
		} else {
			fmt.Printf("check %q %s\n", svc, resp.Status)
		}
	}

	watch, err := client.Watch(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		log.Fatal(err)
	}
	n := 0
	for {
		if _, err := watch.Recv(); err == io.EOF {
			break
		} else if err != nil {
			log.Fatal(err)
		}
		n++
	}
	fmt.Printf("watch %d\n", n)

	st, err := cc.NewStream(ctx, &chatStream, "/weft.test.Echo/Chat")
	if err != nil {
		log.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if err := st.SendMsg(&healthpb.HealthCheckRequest{Service: "x"}); err != nil {
			log.Fatal(err)
		}
	}
	if err := st.CloseSend(); err != nil {
		log.Fatal(err)
	}
	n = 0
	for {
		var resp healthpb.HealthCheckResponse
		if err := st.RecvMsg(&resp); err == io.EOF {
			break
		} else if err != nil {
			log.Fatal(err)
		}
		n++
	}
	fmt.Printf("chat %d\n", n)

	// As the OpenTelemetry SDK's OTLP/gRPC exporter calls: weft makes no
	// client span for it (and the server, which has no such service,
	// answers before any interceptor).
	err = cc.Invoke(ctx, "/opentelemetry.proto.collector.trace.v1.TraceService/Export", &healthpb.HealthCheckRequest{}, &healthpb.HealthCheckResponse{})
	fmt.Printf("export %s\n", status.Code(err))

	// Metadata grpc rejects (a key in upper case) stays rejected: weft
	// appends its keys and leaves the program's as they are.
	upper := metadata.NewOutgoingContext(context.Background(), metadata.MD{"X-Upper": {"1"}})
	_, err = client.Check(upper, &healthpb.HealthCheckRequest{})
	fmt.Printf("upper %s\n", status.Code(err))
}

func main() {
	log.SetFlags(0)
	log.SetOutput(os.Stdout)
	switch {
	case len(os.Args) == 4 && os.Args[1] == "server":
		serve(os.Args[2], os.Args[3])
	case len(os.Args) == 3 && os.Args[1] == "client":
		call(os.Args[2])
	default:
		log.Fatal("usage: grpc server GRPC_ADDR HTTP_ADDR | grpc client GRPC_ADDR")
	}
}

//go:build go1.24

package otlp

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"weft/internal/trace"
)

// grpcServer is an h2c server answering each call with the next status of
// statuses (0 afterwards), in a trailer or, when trailersOnly, in the
// headers; it keeps each request's message, unframed and decompressed.
type grpcServer struct {
	statuses     []int
	trailersOnly bool
	reply        []byte // the message answered with status 0
	reqs         []*http.Request
	msgs         [][]byte
}

func (g *grpcServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	data, _ := io.ReadAll(r.Body)
	msg := []byte(nil)
	if len(data) >= 5 && int(binary.BigEndian.Uint32(data[1:5])) == len(data)-5 {
		msg = data[5:]
		if data[0] == 1 {
			zr, err := gzip.NewReader(bytes.NewReader(msg))
			if err == nil {
				msg, _ = io.ReadAll(zr)
			}
		}
	}
	g.reqs, g.msgs = append(g.reqs, r), append(g.msgs, msg)
	code := 0
	if len(g.statuses) > 0 {
		code, g.statuses = g.statuses[0], g.statuses[1:]
	}
	w.Header().Set("Content-Type", "application/grpc")
	if g.trailersOnly || code != 0 {
		if g.trailersOnly {
			w.Header().Set("Grpc-Status", strconv.Itoa(code))
			w.Header().Set("Grpc-Message", "no%20room")
			return
		}
	}
	w.WriteHeader(200)
	if code == 0 {
		frame := binary.BigEndian.AppendUint32([]byte{0}, uint32(len(g.reply)))
		w.Write(append(frame, g.reply...))
	}
	w.Header().Set(http.TrailerPrefix+"Grpc-Status", strconv.Itoa(code))
	w.Header().Set(http.TrailerPrefix+"Grpc-Message", "no%20room")
}

func startGRPC(t *testing.T, g *grpcServer) *httptest.Server {
	srv := httptest.NewUnstartedServer(g)
	srv.Config.Protocols = new(http.Protocols)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

// An OTLP/gRPC export is one HTTP/2 POST to the Export method carrying the
// same ExportTraceServiceRequest as OTLP/HTTP, length-prefixed (gzip
// flagged in the prefix and in grpc-encoding), with the headers as
// metadata.
func TestGRPCExport(t *testing.T) {
	for _, gz := range []bool{false, true} {
		g := &grpcServer{}
		srv := startGRPC(t, g)
		e := newExporter(t, GRPCEndpoint("", srv.URL+"/ignored/path"), func(c *Config) {
			c.GRPC, c.Gzip = true, gz
			c.Headers["api-key"] = "secret"
		})
		spans := testSpans()
		if err := e.Export(context.Background(), spans); err != nil {
			t.Fatalf("gzip %v: %v", gz, err)
		}
		if len(g.reqs) != 1 {
			t.Fatalf("%d calls", len(g.reqs))
		}
		r := g.reqs[0]
		if r.ProtoMajor != 2 || r.Method != "POST" || r.URL.Path != grpcMethod {
			t.Errorf("%s %s %s", r.Proto, r.Method, r.URL.Path)
		}
		enc := ""
		if gz {
			enc = "gzip"
		}
		for k, want := range map[string]string{"Content-Type": "application/grpc", "Te": "trailers", "Api-Key": "secret", "Grpc-Encoding": enc} {
			if got := r.Header.Get(k); got != want {
				t.Errorf("gzip %v: header %s = %q, want %q", gz, k, got, want)
			}
		}
		want := AppendRequest(nil, EncodeResource([]trace.Attr{{Key: "service.name", Str: "test"}}), spans)
		if !bytes.Equal(g.msgs[0], want) {
			t.Errorf("gzip %v: the message differs from the encoding", gz)
		}
	}
}

// The status comes from the trailers, or the headers of a trailers-only
// answer: retryable codes say so, others are final, a reply's partial
// success counts its rejected spans.
func TestGRPCStatus(t *testing.T) {
	for _, only := range []bool{false, true} {
		g := &grpcServer{statuses: []int{14, 8, 3, 16}, trailersOnly: only}
		e := newExporter(t, GRPCEndpoint(startGRPC(t, g).URL, ""), func(c *Config) { c.GRPC = true })
		for _, want := range []struct {
			code  string
			retry bool
		}{{"14", true}, {"8", true}, {"3", false}, {"16", false}} {
			err, n := exportAtMost(t, e, context.Background(), 1, nil)
			_, retry := retryIn(err)
			if err == nil || err.Error() != "gRPC status "+want.code || retry != want.retry || n != 1 {
				t.Errorf("trailers-only %v: err %v (retry %v) after %d attempts, want status %s (retry %v)", only, err, retry, n, want.code, want.retry)
			}
		}
	}
	// partial_success {rejected_spans: 2, error_message: "x"}
	g := &grpcServer{reply: []byte{0x0a, 0x05, 0x08, 0x02, 0x12, 0x01, 'x'}}
	e := newExporter(t, GRPCEndpoint(startGRPC(t, g).URL, ""), func(c *Config) { c.GRPC = true })
	err := e.Export(context.Background(), testSpans())
	if l, ok := err.(interface{ Lost() int64 }); !ok || l.Lost() != 2 {
		t.Errorf("partial success: %v", err)
	}
}

// An HTTP/2 server that is not a gRPC one (no grpc-status) refuses the
// spans, once, not in a loop.
func TestGRPCNoStatus(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.Config.Protocols = new(http.Protocols)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	srv.Start()
	defer srv.Close()
	e := newExporter(t, GRPCEndpoint(srv.URL, ""), func(c *Config) { c.GRPC = true })
	err, n := exportAtMost(t, e, context.Background(), 1, nil)
	if _, retry := retryIn(err); err == nil || retry || n != 1 {
		t.Errorf("err %v (retry %v) after %d attempts", err, retry, n)
	}
}

func TestGRPCEndpoint(t *testing.T) {
	for _, c := range [][3]string{
		{"", "", "http://localhost:4317" + grpcMethod},
		{"", "http://collector:4317", "http://collector:4317" + grpcMethod},
		{"https://traces:443/x", "http://collector:4317", "https://traces:443" + grpcMethod},
		{"", "collector:4317", "http://collector:4317" + grpcMethod},
	} {
		if got := GRPCEndpoint(c[0], c[1]); got != c[2] {
			t.Errorf("GRPCEndpoint(%q, %q) = %q, want %q", c[0], c[1], got, c[2])
		}
	}
}

package otlp

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/pem"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"weft/internal/env"
	"weft/internal/trace"
)

// No test here asserts how long something took: CI runs on a loaded
// machine. They count attempts instead, prove "does not wait" with a
// collector that holds the request until the call under test has returned,
// and give every deadline they do not test a generous value. A guard that
// fires means a hang, never slowness.
const hangGuard = 60 * time.Second

type recorder struct {
	mu       sync.Mutex
	reqs     []*http.Request
	arrived  []time.Time
	bodies   [][]byte
	statuses []int // served in order; 200 afterwards
	header   http.Header
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	if req.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err == nil {
			body, _ = io.ReadAll(zr)
		}
	}
	r.mu.Lock()
	r.reqs = append(r.reqs, req)
	r.arrived = append(r.arrived, time.Now())
	r.bodies = append(r.bodies, body)
	code := 200
	if len(r.statuses) > 0 {
		code, r.statuses = r.statuses[0], r.statuses[1:]
	}
	for k, v := range r.header {
		w.Header()[k] = v
	}
	r.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.WriteHeader(code)
	if code >= 400 {
		w.Write([]byte("nope"))
	}
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.reqs)
}

// newExporter makes an exporter whose timeout never decides a test unless
// the test sets one.
func newExporter(t *testing.T, url string, mod func(*Config)) *Exporter {
	cfg := Config{Endpoint: url, Timeout: time.Hour, Headers: map[string]string{}}
	if mod != nil {
		mod(&cfg)
	}
	return New(cfg, []trace.Attr{{Key: "service.name", Str: "test"}})
}

// countAttempts wraps e's transport to count the requests (attempts) it
// sends. before, if set, runs with the attempt's number before it goes out.
func countAttempts(e *Exporter, before func(n int)) *atomic.Int64 {
	var n atomic.Int64
	inner := e.client.Transport
	e.client.Transport = rtFunc(func(r *http.Request) (*http.Response, error) {
		k := n.Add(1)
		if before != nil {
			before(int(k))
		}
		return inner.RoundTrip(r)
	})
	return &n
}

// exportAtMost exports testSpans through e with a ctx it cancels as soon as
// an attempt beyond max starts, so a retry loop that should have stopped
// fails the test (the attempt count says by how much) instead of hanging
// it. before is as for countAttempts. It returns Export's error and the
// number of attempts, and leaves e's transport as it found it.
func exportAtMost(t *testing.T, e *Exporter, ctx context.Context, max int, before func(n int)) (error, int) {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	inner := e.client.Transport
	n := countAttempts(e, func(k int) {
		if k > max {
			cancel()
		}
		if before != nil {
			before(k)
		}
	})
	type result struct{ err error }
	done := make(chan result, 1)
	go func() { done <- result{e.Export(ctx, testSpans())} }()
	select {
	case r := <-done:
		e.client.Transport = inner
		return r.err, int(n.Load())
	case <-time.After(hangGuard):
		t.Fatalf("Export hung (%d attempts so far)", n.Load())
		return nil, 0
	}
}

func TestExportSendsProtobuf(t *testing.T) {
	rec := &recorder{}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	e := newExporter(t, srv.URL+"/v1/traces", func(c *Config) {
		c.Headers["api-key"] = "secret value"
		c.Gzip = true
	})
	// The exporter's requests must carry a suppressed context.
	var suppressed atomic.Bool
	inner := e.client.Transport
	e.client.Transport = rtFunc(func(r *http.Request) (*http.Response, error) {
		suppressed.Store(trace.IsSuppressed(r.Context()))
		return inner.RoundTrip(r)
	})
	spans := testSpans()
	if err := e.Export(context.Background(), spans); err != nil {
		t.Fatal(err)
	}
	if rec.count() != 1 {
		t.Fatalf("%d requests", rec.count())
	}
	r := rec.reqs[0]
	if r.Method != "POST" || r.URL.Path != "/v1/traces" {
		t.Errorf("%s %s", r.Method, r.URL.Path)
	}
	for k, want := range map[string]string{
		"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip",
		"Api-Key": "secret value", "User-Agent": "weft/" + env.SDKVersion,
	} {
		if got := r.Header.Get(k); got != want {
			t.Errorf("header %s = %q, want %q", k, got, want)
		}
	}
	want := AppendRequest(nil, EncodeResource([]trace.Attr{{Key: "service.name", Str: "test"}}), spans)
	if !bytes.Equal(rec.bodies[0], want) {
		t.Error("body differs from the encoding")
	}
	if !suppressed.Load() {
		t.Error("exporter request context not suppressed")
	}
	// Empty batches send nothing.
	if err := e.Export(context.Background(), new(Batch)); err != nil || rec.count() != 1 {
		t.Error("empty batch sent")
	}
}

type rtFunc func(*http.Request) (*http.Response, error)

func (f rtFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// retryIn returns what an export error says about retrying it.
func retryIn(err error) (time.Duration, bool) {
	r, ok := err.(interface{ RetryAfter() (time.Duration, bool) })
	if !ok {
		return 0, false
	}
	return r.RetryAfter()
}

// Throttling and gateway errors are reported retryable, after one attempt:
// the batch processor waits and retries, not the exporter.
func TestExportRetryable(t *testing.T) {
	rec := &recorder{statuses: []int{503, 429, 502, 504}}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	e := newExporter(t, srv.URL, nil)
	for _, want := range []string{"HTTP 503 Service Unavailable", "HTTP 429 Too Many Requests", "HTTP 502 Bad Gateway", "HTTP 504 Gateway Timeout"} {
		err, n := exportAtMost(t, e, context.Background(), 1, nil)
		wait, retry := retryIn(err)
		if err == nil || err.Error() != want || n != 1 || !retry || wait != 0 {
			t.Errorf("err = %v (retry %v after %v) after %d attempts, want %s, retryable, after 1", err, retry, wait, n, want)
		}
	}
	if err, _ := exportAtMost(t, e, context.Background(), 1, nil); err != nil {
		t.Fatal(err)
	}
}

func TestExportRetryAfter(t *testing.T) {
	rec := &recorder{statuses: []int{429}, header: http.Header{"Retry-After": {"7"}}}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	err, n := exportAtMost(t, newExporter(t, srv.URL, nil), context.Background(), 1, nil)
	if wait, retry := retryIn(err); !retry || wait != 7*time.Second || n != 1 {
		t.Errorf("err = %v (retry %v after %v) after %d attempts, want a retry after 7s", err, retry, wait, n)
	}
}

func TestExportClientErrorNoRetry(t *testing.T) {
	var lines []string
	var mu sync.Mutex
	defer env.CaptureWarnings(func(l string) { mu.Lock(); lines = append(lines, l); mu.Unlock() })()
	rec := &recorder{statuses: []int{400, 400, 401}}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	e := newExporter(t, srv.URL, nil)
	for i := 0; i < 3; i++ {
		err := e.Export(context.Background(), testSpans())
		if err == nil || !strings.HasPrefix(err.Error(), "HTTP 40") {
			t.Errorf("err = %v", err)
		}
	}
	if rec.count() != 3 {
		t.Errorf("%d requests, want 3 (no retries)", rec.count())
	}
	if len(lines) != 1 || !strings.Contains(lines[0], "HTTP 400 Bad Request: nope") {
		t.Errorf("warnings %q", lines)
	}
}

func TestExportPartialSuccess(t *testing.T) {
	defer env.CaptureWarnings(func(string) {})()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(partialResponse(2, "too old"))
	}))
	defer srv.Close()
	err := newExporter(t, srv.URL, nil).Export(context.Background(), testSpans())
	if e, ok := err.(*Error); !ok || e.Lost() != 2 {
		t.Errorf("err = %#v", err)
	}
}

func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr + "/v1/traces"
}

func TestCollectorDown(t *testing.T) {
	url := closedPort(t)
	e := newExporter(t, url, nil)
	// A refused connection is worth retrying until the exporter is closing.
	err, n := exportAtMost(t, e, context.Background(), 1, nil)
	if _, retry := retryIn(err); err == nil || err.Error() != "connection refused" || n != 1 || !retry {
		t.Errorf("err = %v (retry %v) after %d attempts, want a retryable refusal after 1", err, retry, n)
	}
	e.Closing()
	err, n = exportAtMost(t, e, context.Background(), 1, nil)
	if _, retry := retryIn(err); err == nil || err.Error() != "connection refused" || n != 1 || retry {
		t.Errorf("closing: err = %v (retry %v) after %d attempts, want a final refusal after 1", err, retry, n)
	}
}

// A collector that accepts the request and never answers: the export ends
// at the timeout, while the collector still holds the request (it is
// released only after Export returned), and a timeout is not retried.
func TestCollectorHangs(t *testing.T) {
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(block)
	e := newExporter(t, srv.URL, func(c *Config) { c.Timeout = 200 * time.Millisecond })
	err, n := exportAtMost(t, e, context.Background(), 1, nil)
	if err == nil || err.Error() != "timeout" || n != 1 {
		t.Errorf("err = %v after %d attempts, want timeout after 1", err, n)
	}
}

func TestSummarize(t *testing.T) {
	// A name that does not resolve, without asking a DNS server (whose
	// speed and answer depend on the machine): the dialer fails the way
	// net.Dialer does for an unknown host.
	e := newExporter(t, "http://no-such-host.invalid/v1/traces", nil)
	e.client.Transport.(*http.Transport).DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, _ := net.SplitHostPort(addr)
		return nil, &net.OpError{Op: "dial", Net: network, Err: &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}}
	}
	e.Closing() // single attempt
	err, n := exportAtMost(t, e, context.Background(), 1, nil)
	if err == nil || err.Error() != "cannot resolve no-such-host.invalid" || n != 1 {
		t.Errorf("err = %v after %d attempts", err, n)
	}
	e2 := newExporter(t, "://bad", nil)
	if err := e2.Export(context.Background(), testSpans()); err == nil || !strings.HasPrefix(err.Error(), "bad endpoint") {
		t.Errorf("err = %v", err)
	}
}

func TestRetryAfterParse(t *testing.T) {
	if retryAfter("") != 0 || retryAfter("x") != 0 || retryAfter("-1") != 0 {
		t.Error("invalid")
	}
	if retryAfter("2") != 2*time.Second || retryAfter("3600") != 30*time.Second {
		t.Error("seconds")
	}
	// An HTTP date has whole seconds: the date 10s ahead is 9-10s ahead
	// when formatted, less whatever time passed until retryAfter read the
	// clock (bounded by measuring it, so a stall cannot fail the test).
	before := time.Now()
	d := retryAfter(before.Add(10 * time.Second).UTC().Format(http.TimeFormat))
	passed := time.Since(before)
	if d > 10*time.Second || d <= 9*time.Second-passed {
		t.Errorf("date: %v (%v passed)", d, passed)
	}
	if d := retryAfter(before.Add(time.Hour).UTC().Format(http.TimeFormat)); d != 30*time.Second {
		t.Errorf("date an hour ahead: %v, want the 30s cap", d)
	}
}

func TestEndpoint(t *testing.T) {
	defer env.CaptureWarnings(func(string) {})()
	cases := []struct{ traces, general, want string }{
		{"", "", "http://localhost:4318/v1/traces"},
		{"", "http://collector:4318", "http://collector:4318/v1/traces"},
		{"", "http://collector:4318/", "http://collector:4318/v1/traces"},
		{"", "https://collector:4318/otlp/", "https://collector:4318/otlp/v1/traces"},
		{"", "https://collector/otlp", "https://collector/otlp/v1/traces"},
		{"http://x:1/custom", "http://ignored", "http://x:1/custom"},
		{"http://x:1", "", "http://x:1"}, // signal-specific: as is
		{"", "collector:4318", "http://collector:4318/v1/traces"},
		{"", "http://collector:4318?a=b", "http://collector:4318/v1/traces?a=b"},
	}
	for _, c := range cases {
		if got := Endpoint(c.traces, c.general); got != c.want {
			t.Errorf("Endpoint(%q, %q) = %q, want %q", c.traces, c.general, got, c.want)
		}
	}
}

func TestConfigFromEnv(t *testing.T) {
	var lines []string
	defer env.CaptureWarnings(func(l string) { lines = append(lines, l) })()
	restore := env.SetLookup(map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT":       "http://c:4318",
		"OTEL_EXPORTER_OTLP_HEADERS":        "a=1, b = two%20words ,c=general",
		"OTEL_EXPORTER_OTLP_TRACES_HEADERS": "c=specific,broken",
		"OTEL_EXPORTER_OTLP_TIMEOUT":        "5000",
		"OTEL_EXPORTER_OTLP_TRACES_TIMEOUT": "1500",
		"OTEL_EXPORTER_OTLP_COMPRESSION":    "GZIP",
		"OTEL_EXPORTER_OTLP_PROTOCOL":       "http/json",
	})
	c := ConfigFromEnv()
	restore()
	if c.Endpoint != "http://c:4318/v1/traces" || c.Timeout != 1500*time.Millisecond || !c.Gzip || c.TLS != nil || c.GRPC {
		t.Errorf("%+v", c)
	}
	if c.Headers["a"] != "1" || c.Headers["b"] != "two words" || c.Headers["c"] != "specific" || len(c.Headers) != 3 {
		t.Errorf("headers %q", c.Headers)
	}
	if len(lines) != 2 || !strings.Contains(lines[0]+lines[1], "http/json") || !strings.Contains(lines[0]+lines[1], "TRACES_HEADERS") {
		t.Errorf("warnings %q", lines)
	}
	// gRPC: the endpoint names the collector, the path is the method's;
	// before Go 1.24 (no h2c) a plain-http endpoint is warned about.
	lines = nil
	restore = env.SetLookup(map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "GRPC"})
	c = ConfigFromEnv()
	restore()
	warned := len(lines) == 1 && strings.Contains(lines[0], "Go 1.24")
	if !c.GRPC || c.Endpoint != "http://c:4317"+grpcMethod || warned == h2c || len(lines) > 1 {
		t.Errorf("grpc %+v %q", c, lines)
	}
	lines = nil
	restore = env.SetLookup(map[string]string{"OTEL_EXPORTER_OTLP_COMPRESSION": "zstd", "OTEL_EXPORTER_OTLP_TIMEOUT": "-3"})
	c = ConfigFromEnv()
	restore()
	if c.Endpoint != DefaultEndpoint || c.Timeout != 10*time.Second || c.Gzip || len(lines) != 2 {
		t.Errorf("%+v %q", c, lines)
	}
	lines = nil
	restore = env.SetLookup(map[string]string{"OTEL_EXPORTER_OTLP_CERTIFICATE": "/nonexistent.pem"})
	c = ConfigFromEnv()
	restore()
	if c.TLS == nil || c.TLS.RootCAs != nil || len(lines) != 1 {
		t.Errorf("tls %+v %q", c.TLS, lines)
	}
}

func TestTLSCertificateFromEnv(t *testing.T) {
	rec := &recorder{}
	srv := httptest.NewTLSServer(rec)
	defer srv.Close()
	pemFile := t.TempDir() + "/ca.pem"
	if err := os.WriteFile(pemFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	restore := env.SetLookup(map[string]string{
		"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT":    srv.URL + "/v1/traces",
		"OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE": pemFile,
	})
	cfg := ConfigFromEnv()
	restore()
	if err := New(cfg, nil).Export(context.Background(), testSpans()); err != nil {
		t.Fatalf("export over TLS with the CA from the environment: %v", err)
	}
	// Without the CA the server is not trusted: one attempt, one warning.
	var lines []string
	defer env.CaptureWarnings(func(l string) { lines = append(lines, l) })()
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	cfg.TLS = nil
	e := New(cfg, nil)
	before := rec.count()
	for i := 0; i < 2; i++ {
		err, n := exportAtMost(t, e, context.Background(), 1, nil)
		if err == nil || !strings.HasPrefix(err.Error(), "TLS: x509: certificate signed by unknown authority") || n != 1 {
			t.Errorf("err = %v after %d attempts, want one", err, n)
		}
	}
	if rec.count() != before || len(lines) != 1 {
		t.Errorf("untrusted certificate reached the handler or not warned once: %q", lines)
	}
	// A plain-HTTP collector at an https endpoint.
	plain := httptest.NewServer(rec)
	defer plain.Close()
	cfg.Endpoint = strings.Replace(plain.URL, "http:", "https:", 1)
	if err := New(cfg, nil).Export(context.Background(), testSpans()); err == nil || !strings.HasPrefix(err.Error(), "TLS handshake failed") {
		t.Errorf("err = %v", err)
	}
}

// A body stops reading once its export has ended: the transport may read
// it later, after the batch was reused.
func TestBodyEnds(t *testing.T) {
	b := newBody([][]byte{[]byte("abc"), nil, []byte("de")})
	r1, _ := b.reader()
	r2, _ := b.reader()
	if got, err := io.ReadAll(r1); string(got) != "abcde" || err != nil || b.size != 5 {
		t.Fatalf("%q %v, size %d", got, err, b.size)
	}
	b.end()
	if n, err := r2.Read(make([]byte, 8)); n != 0 || err != errEnded {
		t.Errorf("read after end: %d %v", n, err)
	}
}

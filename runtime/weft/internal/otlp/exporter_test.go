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

func init() {
	initialBackoff = 5 * time.Millisecond
	maxBackoff = 20 * time.Millisecond
}

type recorder struct {
	mu       sync.Mutex
	reqs     []*http.Request
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

func newExporter(t *testing.T, url string, mod func(*Config)) *Exporter {
	cfg := Config{Endpoint: url, Timeout: 2 * time.Second, Headers: map[string]string{}}
	if mod != nil {
		mod(&cfg)
	}
	return New(cfg, []trace.Attr{{Key: "service.name", Str: "test"}})
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
	if err := e.Export(context.Background(), nil); err != nil || rec.count() != 1 {
		t.Error("empty batch sent")
	}
}

type rtFunc func(*http.Request) (*http.Response, error)

func (f rtFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestExportRetries(t *testing.T) {
	rec := &recorder{statuses: []int{503, 429, 502, 504}}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	e := newExporter(t, srv.URL, nil)
	if err := e.Export(context.Background(), testSpans()); err != nil {
		t.Fatal(err)
	}
	if rec.count() != 5 {
		t.Errorf("%d attempts, want 5", rec.count())
	}
	for i := 1; i < 5; i++ {
		if !bytes.Equal(rec.bodies[i], rec.bodies[0]) {
			t.Error("retry body differs")
		}
	}
}

func TestExportRetryAfter(t *testing.T) {
	rec := &recorder{statuses: []int{429}, header: http.Header{"Retry-After": {"1"}}}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	e := newExporter(t, srv.URL, nil)
	start := time.Now()
	if err := e.Export(context.Background(), testSpans()); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 900*time.Millisecond {
		t.Errorf("Retry-After ignored: %v", d)
	}
	// A Retry-After beyond the timeout gives up at once.
	rec.statuses = []int{503}
	rec.header = http.Header{"Retry-After": {"30"}}
	start = time.Now()
	if err := e.Export(context.Background(), testSpans()); err == nil || err.Error() != "HTTP 503 Service Unavailable" {
		t.Errorf("err = %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("waited %v for a retry beyond the timeout", d)
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
		var b buf
		m := b.begin(1)
		b.int64Field(1, 2)
		b.stringField(2, "too old")
		b.end(m)
		w.Write(b.b)
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
	e := newExporter(t, url, func(c *Config) { c.Timeout = 300 * time.Millisecond })
	start := time.Now()
	err := e.Export(context.Background(), testSpans())
	if err == nil || err.Error() != "connection refused" {
		t.Errorf("err = %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v, want about the 300ms timeout", d)
	}
	// While closing, a refused connection is not retried at all.
	e.Closing()
	e.Closing()
	start = time.Now()
	if err := e.Export(context.Background(), testSpans()); err == nil {
		t.Error("no error")
	}
	if d := time.Since(start); d > 200*time.Millisecond {
		t.Errorf("closing export took %v", d)
	}
}

func TestCollectorHangs(t *testing.T) {
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-block }))
	defer srv.Close()
	defer close(block)
	e := newExporter(t, srv.URL, func(c *Config) { c.Timeout = 200 * time.Millisecond })
	start := time.Now()
	err := e.Export(context.Background(), testSpans())
	if err == nil || err.Error() != "timeout" {
		t.Errorf("err = %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v", d)
	}
}

func TestSummarize(t *testing.T) {
	e := newExporter(t, "http://no-such-host.invalid/v1/traces", func(c *Config) { c.Timeout = 2 * time.Second })
	e.Closing() // single attempt
	err := e.Export(context.Background(), testSpans())
	if err == nil || !strings.HasPrefix(err.Error(), "cannot resolve ") {
		t.Errorf("err = %v", err)
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
	d := retryAfter(time.Now().Add(10 * time.Second).UTC().Format(http.TimeFormat))
	if d < 8*time.Second || d > 10*time.Second {
		t.Errorf("date: %v", d)
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
		"OTEL_EXPORTER_OTLP_PROTOCOL":       "grpc",
	})
	c := ConfigFromEnv()
	restore()
	if c.Endpoint != "http://c:4318/v1/traces" || c.Timeout != 1500*time.Millisecond || !c.Gzip || c.TLS != nil {
		t.Errorf("%+v", c)
	}
	if c.Headers["a"] != "1" || c.Headers["b"] != "two words" || c.Headers["c"] != "specific" || len(c.Headers) != 3 {
		t.Errorf("headers %q", c.Headers)
	}
	if len(lines) != 2 || !strings.Contains(lines[0]+lines[1], "grpc") || !strings.Contains(lines[0]+lines[1], "TRACES_HEADERS") {
		t.Errorf("warnings %q", lines)
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
	start := time.Now()
	for i := 0; i < 2; i++ {
		err := e.Export(context.Background(), testSpans())
		if err == nil || !strings.HasPrefix(err.Error(), "TLS: x509: certificate signed by unknown authority") {
			t.Errorf("err = %v", err)
		}
	}
	if time.Since(start) > time.Second || rec.count() != before || len(lines) != 1 {
		t.Errorf("untrusted certificate retried or not warned once: %q", lines)
	}
	// A plain-HTTP collector at an https endpoint.
	plain := httptest.NewServer(rec)
	defer plain.Close()
	cfg.Endpoint = strings.Replace(plain.URL, "http:", "https:", 1)
	if err := New(cfg, nil).Export(context.Background(), testSpans()); err == nil || !strings.HasPrefix(err.Error(), "TLS handshake failed") {
		t.Errorf("err = %v", err)
	}
}

// Package web's test serves and fetches over HTTP (net/http is woven, so
// the test binary has spans to export) and checks, with goleak, that no
// goroutine outlives the tests: weft must not leave one of its own.
package web

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestGet(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hi")
	}))
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	resp, err := client.Get(srv.URL + "/hello")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "hi" {
		t.Fatalf("body %q", body)
	}
}

// TestHTTP2 is served over HTTP/2 (TLS), whose server lives elsewhere in
// net/http from Go 1.27 on: the span must still get the status.
func TestHTTP2(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL + "/h2")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.ProtoMajor != 2 || resp.StatusCode != http.StatusCreated {
		t.Fatalf("%s %d", resp.Proto, resp.StatusCode)
	}
}

// The woven client sends a copy of the caller's request (it carries the
// traceparent header); the response must still name the caller's request,
// which gets no header, and the deprecated Transport.CancelRequest of it
// must still cancel it in flight.
func TestCallersRequest(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	defer close(release)
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}

	req, _ := http.NewRequest("GET", srv.URL+"/fast", nil)
	for _, send := range []func(*http.Request) (*http.Response, error){client.Do, tr.RoundTrip} {
		resp, err := send(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.Request != req {
			t.Error("resp.Request is not the caller's request")
		}
	}
	if len(req.Header) != 0 {
		t.Errorf("the caller's request got headers: %v", req.Header)
	}

	slow, _ := http.NewRequest("GET", srv.URL+"/slow", nil)
	done := make(chan error, 1)
	go func() {
		resp, err := client.Do(slow)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	// Until it takes: the request may not be in flight yet. (A guard
	// against a hang, not a timing check.)
	for guard := time.After(60 * time.Second); ; {
		tr.CancelRequest(slow)
		select {
		case err := <-done:
			if err == nil {
				t.Error("Client.Do succeeded after CancelRequest")
			}
			return
		case <-guard:
			t.Fatal("CancelRequest did not cancel the request")
		case <-time.After(10 * time.Millisecond):
		}
	}
}

type ctxKey struct{}

// httputil.DumpRequestOut sends nothing: no traceparent in the dump (and
// no client span: e2e_gotest looks for one to dump.invalid); the request
// keeps its context and, as without weft, gets its body back.
func TestDumpRequestOut(t *testing.T) {
	ctx := context.WithValue(context.Background(), ctxKey{}, 1)
	req, _ := http.NewRequestWithContext(ctx, "POST", "http://dump.invalid/x", strings.NewReader("body"))
	dump, err := httputil.DumpRequestOut(req, true)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(strings.ToLower(string(dump)), "traceparent") || !strings.HasSuffix(string(dump), "body") {
		t.Errorf("dump %q", dump)
	}
	if req.Context() != ctx {
		t.Error("the request's context changed")
	}
	if b, _ := io.ReadAll(req.Body); string(b) != "body" {
		t.Errorf("body after the dump: %q", b)
	}
}

package rt

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestMain doubles as the child process of the exit tests: with
// WEFT_RT_CHILD set, the SDK was configured by init from the environment
// the parent chose; the child ends a few spans and exits, so the exit hook
// must flush them.
func TestMain(m *testing.M) {
	if mode := os.Getenv("WEFT_RT_CHILD"); mode != "" {
		for i := 0; i < 5; i++ {
			_, sp := StartSpan(context.Background(), "child", "op", 1)
			End(sp)
		}
		code := 0
		if mode == "fail" {
			code = 3
		}
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// The exit tests assert what the child reports and exits with, never how
// long it took (CI runs on a loaded machine). That the exit flush is
// bounded shows in the loss line (a flush that waited out its deadline
// says "not exported (exit flush timed out)") and, for a hang, in
// childHangGuard, which kills the child and reports a hang, not slowness.
const childHangGuard = 60 * time.Second

type child struct {
	stderr string
	code   int
}

func runChild(t *testing.T, mode string, vars ...string) child {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), childHangGuard)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), append(vars, "WEFT_RT_CHILD="+mode, "OTEL_BSP_SCHEDULE_DELAY=60000")...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("hang: the child did not exit within %v (stderr %q)", childHangGuard, stderr.String())
	}
	c := child{stderr: stderr.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		c.code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return c
}

func collector(t *testing.T, h http.HandlerFunc) (url string, spans *atomic.Int64) {
	spans = &atomic.Int64{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		spans.Add(int64(strings.Count(string(body), "child"))) // one scope name per request
		if h != nil {
			h(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL, spans
}

func TestExitFlushes(t *testing.T) {
	t.Parallel()
	url, requests := collector(t, nil)
	for _, mode := range []string{"ok", "fail"} {
		before := requests.Load()
		c := runChild(t, mode, "OTEL_EXPORTER_OTLP_ENDPOINT="+url)
		if requests.Load() != before+1 {
			t.Errorf("%s: collector got %d batches, want 1", mode, requests.Load()-before)
		}
		if c.stderr != "" {
			t.Errorf("%s: stderr %q", mode, c.stderr)
		}
		if (mode == "fail") != (c.code == 3) {
			t.Errorf("%s: exit code %d", mode, c.code)
		}
	}
}

// With the collector down, the exit flush makes one attempt: the refusal
// is final once the program exits. The export and exporter timeouts are an
// hour, so an exporter that kept retrying would be cut by the 5s exit cap
// and report "not exported (exit flush timed out)" instead.
func TestExitCollectorDown(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	c := runChild(t, "ok", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=http://"+addr+"/v1/traces",
		"OTEL_BSP_EXPORT_TIMEOUT=3600000", "OTEL_EXPORTER_OTLP_TIMEOUT=3600000")
	if c.stderr != "weft: 5 spans lost (export failed: connection refused)\n" || c.code != 0 {
		t.Errorf("exit %d, stderr %q", c.code, c.stderr)
	}
}

// hangingCollector accepts export requests and never answers them: a
// request ends when its client gives up or, at the latest, when the test
// ends, so a child can only exit by not waiting for the answer.
func hangingCollector(t *testing.T) (url string, requests *atomic.Int64) {
	block := make(chan struct{})
	requests = &atomic.Int64{}
	url, _ = collector(t, func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		select {
		case <-block:
		case <-r.Context().Done():
		}
	})
	t.Cleanup(func() { close(block) }) // runs before the server's Close
	return url, requests
}

// A collector that hangs: the exit flush gives up at the export timeout.
// The flush deadline and the export's own deadline are both 500ms, so which
// one ends it depends on scheduling: the spans are reported either as lost
// to the export's timeout or as not exported by the flush; all 5 either way.
func TestExitCollectorHangs(t *testing.T) {
	t.Parallel()
	url, requests := hangingCollector(t)
	c := runChild(t, "ok", "OTEL_EXPORTER_OTLP_ENDPOINT="+url, "OTEL_BSP_EXPORT_TIMEOUT=500")
	switch c.stderr {
	case "weft: 5 spans not exported (exit flush timed out)\n",
		"weft: 5 spans lost (export failed: timeout)\n":
	default:
		t.Errorf("stderr %q", c.stderr)
	}
	if c.code != 0 || requests.Load() > 1 {
		t.Errorf("exit %d, %d requests (a timeout is not retried)", c.code, requests.Load())
	}
}

// However long the export timeout, the exit flush is capped (exitFlushCap):
// with a collector that hangs and hour-long timeouts, only the cap can end
// the flush, and the spans are reported as not exported.
func TestExitFlushCapped(t *testing.T) {
	t.Parallel()
	url, requests := hangingCollector(t)
	c := runChild(t, "ok", "OTEL_EXPORTER_OTLP_ENDPOINT="+url,
		"OTEL_BSP_EXPORT_TIMEOUT=3600000", "OTEL_EXPORTER_OTLP_TIMEOUT=3600000")
	if c.stderr != "weft: 5 spans not exported (exit flush timed out)\n" || c.code != 0 {
		t.Errorf("exit %d, stderr %q", c.code, c.stderr)
	}
	if requests.Load() > 1 {
		t.Errorf("%d requests", requests.Load())
	}
}

func TestExitDisabled(t *testing.T) {
	t.Parallel()
	url, requests := collector(t, nil)
	c := runChild(t, "ok", "OTEL_EXPORTER_OTLP_ENDPOINT="+url, "OTEL_SDK_DISABLED=true")
	if requests.Load() != 0 || c.stderr != "" {
		t.Errorf("disabled SDK exported (%d) or printed %q", requests.Load(), c.stderr)
	}
}

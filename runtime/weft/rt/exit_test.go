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

type child struct {
	stderr  string
	elapsed time.Duration
	code    int
}

func runChild(t *testing.T, mode string, vars ...string) child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), append(vars, "WEFT_RT_CHILD="+mode, "OTEL_BSP_SCHEDULE_DELAY=60000")...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	c := child{stderr: stderr.String(), elapsed: time.Since(start)}
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

func TestExitCollectorDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	c := runChild(t, "ok", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=http://"+addr+"/v1/traces")
	if c.stderr != "weft: 5 spans lost (export failed: connection refused)\n" {
		t.Errorf("stderr %q", c.stderr)
	}
	if c.elapsed > 3*time.Second {
		t.Errorf("exit took %v with the collector down", c.elapsed)
	}
}

func TestExitCollectorHangs(t *testing.T) {
	block := make(chan struct{})
	url, _ := collector(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	})
	defer close(block)
	c := runChild(t, "ok", "OTEL_EXPORTER_OTLP_ENDPOINT="+url, "OTEL_BSP_EXPORT_TIMEOUT=500")
	if !strings.HasPrefix(c.stderr, "weft: 5 spans ") {
		t.Errorf("stderr %q", c.stderr)
	}
	if c.elapsed > 4*time.Second {
		t.Errorf("exit took %v with a hanging collector", c.elapsed)
	}
}

func TestExitDisabled(t *testing.T) {
	url, requests := collector(t, nil)
	c := runChild(t, "ok", "OTEL_EXPORTER_OTLP_ENDPOINT="+url, "OTEL_SDK_DISABLED=true")
	if requests.Load() != 0 || c.stderr != "" {
		t.Errorf("disabled SDK exported (%d) or printed %q", requests.Load(), c.stderr)
	}
}

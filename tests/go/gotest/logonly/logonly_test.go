// Package logonly's test only logs: packages log and log/slog are woven
// (companion rules) because the web test in the same `go test ./...`
// needs them.
package logonly

import (
	"bytes"
	"context"
	"io"
	"log"
	"log/slog"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestLog(t *testing.T) {
	var buf bytes.Buffer
	l := log.New(&buf, "", 0)
	l.Print("outside any span")
	if buf.String() != "outside any span\n" {
		t.Fatalf("line %q", buf.String())
	}
}

// Logging outside any span allocates no more than under plain go: the
// hooks must not move the caller's arguments (log's closure, slog's
// variadic array) to the heap.
func TestLoggingOutsideASpanAllocatesNothing(t *testing.T) {
	sl := slog.New(slog.NewJSONHandler(io.Discard, nil))
	ctx := context.Background()
	if n := testing.AllocsPerRun(100, func() { sl.InfoContext(ctx, "m", "k", 1, "s", "v") }); n != 0 {
		t.Errorf("slog: %v allocations per call", n)
	}
	l := log.New(writer{}, "", log.LstdFlags)
	if n := testing.AllocsPerRun(100, func() { l.Printf("m %d %s", 1, "v") }); n != 0 {
		t.Errorf("log: %v allocations per call", n)
	}
}

type writer struct{}

func (writer) Write(b []byte) (int, error) { return len(b), nil }

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

// Logging outside any span allocates no more than under plain go: the slog
// hook must not move the caller's variadic arguments to the heap.
func TestSlogOutsideASpanAllocatesNothing(t *testing.T) {
	l := slog.New(slog.NewJSONHandler(io.Discard, nil))
	ctx := context.Background()
	if n := testing.AllocsPerRun(100, func() { l.InfoContext(ctx, "m", "k", 1, "s", "v") }); n != 0 {
		t.Fatalf("%v allocations per log call", n)
	}
}

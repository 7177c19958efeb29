// Package logonly's test only logs: package log is woven (a companion
// rule) because the web test in the same `go test ./...` needs it.
package logonly

import (
	"bytes"
	"log"
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

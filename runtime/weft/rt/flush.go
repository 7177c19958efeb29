package rt

import (
	"context"
	_ "unsafe" // linkname

	"weft/internal/env"
)

// Flush exports every span ended so far and waits, as long as a flush at
// exit would: for a process about to replace itself (syscall.Exec), whose
// exit hooks never run. Tracing goes on if the exec fails.
//
//go:linkname Flush
func Flush() {
	defer func() { recover() }()
	st := active.Load()
	if st == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), exitFlushTimeout(st))
	defer cancel()
	if !st.proc.Flush(ctx) {
		env.Print("spans queued before exec not all exported (flush timed out)")
	}
	// The new process image starts counting afresh: say now what was lost.
	if line := lossReport(st.proc.Stats()); line != "" {
		env.Print(line)
	}
}

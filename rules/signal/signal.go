// Woven into package os/signal: hands weft/rt a counter of the channels
// Notify delivers a signal to. weft/rt registers a channel for SIGTERM,
// SIGINT and SIGHUP in programs built to die by them; when one arrives
// and its channel is the only one, it flushes the spans and dies by the
// signal as the program would have; when the program has channels of its
// own, the program decides.

package signal

import (
	"os"
	_ "unsafe"
)

//go:linkname weftRegisterWatchers weft/rt.RegisterSignalWatchers
func weftRegisterWatchers(func(os.Signal) int64)

func init() { weftRegisterWatchers(weftWatchers) }

// weftWatchers is the number of channels Notify delivers sig to.
func weftWatchers(sig os.Signal) int64 {
	n := signum(sig)
	if n < 0 {
		return 0
	}
	handlers.Lock()
	defer handlers.Unlock()
	return handlers.ref[n]
}

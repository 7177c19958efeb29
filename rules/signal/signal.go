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

// weftWatchers is the number of channels Notify delivered sig to the last
// time it came (counted as it was delivered, in weftProcessBefore): by the
// time weft's channel is read, the program may have seen the signal on
// its own channel and stopped watching, and must not be taken then for a
// program that leaves the signal to its default.
func weftWatchers(sig os.Signal) int64 {
	n := signum(sig)
	if n < 0 {
		return 0
	}
	handlers.Lock()
	defer handlers.Unlock()
	return weftAtDelivery[n]
}

// weftAtDelivery holds, per signal, handlers.ref as the signal was last
// delivered (under handlers' lock).
var weftAtDelivery [numSig]int64

// weftProcessBefore runs as a signal is delivered to the channels.
func weftProcessBefore(sig *os.Signal) (struct{}, bool) {
	defer func() { _ = recover() }()
	if n := signum(*sig); n >= 0 {
		handlers.Lock()
		weftAtDelivery[n] = handlers.ref[n]
		handlers.Unlock()
	}
	return struct{}{}, false
}

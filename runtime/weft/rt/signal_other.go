//go:build !unix

package rt

import (
	"os"
	_ "unsafe" // for go:linkname
)

// RegisterSignalWatchers is called by woven os/signal's init (see
// signal_unix.go); other systems keep no signal watch.
//
//go:linkname RegisterSignalWatchers
func RegisterSignalWatchers(func(os.Signal) int64) {}

// FlushOnSignal does nothing here.
func FlushOnSignal(bool) struct{} { return struct{}{} }

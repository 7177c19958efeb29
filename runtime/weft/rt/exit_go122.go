//go:build !go1.23

package rt

import _ "unsafe" // for go:linkname

// runtimeAddExitHook is the runtime's exit-hook registry before Go 1.23
// moved it to internal/runtime/exithook.
//
//go:linkname runtimeAddExitHook runtime.addExitHook
func runtimeAddExitHook(f func(), runOnNonZeroExit bool)

// addExitHook runs f when the program exits, also on a non-zero exit code.
func addExitHook(f func()) { runtimeAddExitHook(f, true) }

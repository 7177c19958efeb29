//go:build go1.23

package rt

import "internal/runtime/exithook"

// addExitHook runs f when the program exits, also on a non-zero exit code.
func addExitHook(f func()) {
	exithook.Add(exithook.Hook{F: f, RunOnFailure: true})
}

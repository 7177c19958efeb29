// Package rt is the only package woven code talks to: the hook API of
// runtime/README.md. Every hook is marked with a push linkname so woven
// standard-library and module packages can pull it with
// //go:linkname local weft/rt.Name. Importing it (weft adds
// import _ "weft/rt" to the main package) reads the OTEL_* environment,
// starts the tracer and its background exporter, and registers an exit hook
// that flushes the spans still queued when the program exits.
//
// Every hook accepts a nil span and a nil context, and recovers from any
// panic so a bug in weft never reaches the user's program.
package rt

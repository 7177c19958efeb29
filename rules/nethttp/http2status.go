// Added to net/http/internal/http2 (Go 1.27+): the status a handler wrote,
// for net/http's server span (rules/nethttp/status_internal.go).

package http2

// WeftStatus is the status the handler wrote (200 if it wrote none), 0
// once the handler has finished.
func (w *responseWriter) WeftStatus() int {
	rws := w.rws
	if rws == nil {
		return 0
	}
	if !rws.wroteHeader {
		return 200
	}
	return rws.status
}

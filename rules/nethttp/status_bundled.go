// The response status on Go 1.22–1.26, where net/http bundles its HTTP/2
// server as http2* declarations of its own.

package http

// weftStatus is the status the handler wrote (200 if it wrote none), 0
// when w is not net/http's own writer.
func weftStatus(w ResponseWriter) int {
	switch w := w.(type) {
	case *response:
		if !w.wroteHeader {
			return StatusOK
		}
		return w.status
	case *http2responseWriter:
		if w.rws == nil {
			return 0
		}
		if !w.rws.wroteHeader {
			return StatusOK
		}
		return w.rws.status
	}
	return 0
}

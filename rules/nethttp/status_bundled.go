// The HTTP/2 response status on Go 1.22–1.26, where net/http bundles its
// HTTP/2 server as http2* declarations of its own.

package http

func weftHTTP2Status(w ResponseWriter) int {
	if w, ok := w.(*http2responseWriter); ok && w.rws != nil {
		if !w.rws.wroteHeader {
			return StatusOK
		}
		return w.rws.status
	}
	return 0
}

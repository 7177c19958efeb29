// The response status on Go 1.27+, whose HTTP/2 server lives in
// net/http/internal/http2: rules/nethttp/http2status.json gives its writer
// a WeftStatus method.

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
	case http2ResponseWriter:
		if w.ResponseWriter == nil {
			return 0
		}
		return w.ResponseWriter.WeftStatus()
	}
	return 0
}

// The HTTP/2 response status on Go 1.27+, whose HTTP/2 server lives in
// net/http/internal/http2: rules/nethttp/http2status.json gives its writer
// a WeftStatus method.

package http

func weftHTTP2Status(w ResponseWriter) int {
	if w, ok := w.(http2ResponseWriter); ok && w.ResponseWriter != nil {
		return w.ResponseWriter.WeftStatus()
	}
	return 0
}

//go:build !go1.24

package otlp

import "net/http"

// h2c: before Go 1.24, net/http's client speaks HTTP/2 only over TLS.
const h2c = false

// grpcTransport leaves tr as it is: it negotiates HTTP/2 over TLS
// (ForceAttemptHTTP2).
func grpcTransport(*http.Transport) {}

//go:build go1.24

package otlp

import "net/http"

// h2c: net/http can speak HTTP/2 without TLS (Go 1.24's Protocols), which
// OTLP/gRPC to a plain-http endpoint needs.
const h2c = true

// grpcTransport makes tr speak HTTP/2 only: with TLS, and without it
// (prior knowledge) for http:// endpoints.
func grpcTransport(tr *http.Transport) {
	p := new(http.Protocols)
	p.SetHTTP2(true)
	p.SetUnencryptedHTTP2(true)
	tr.Protocols = p
}

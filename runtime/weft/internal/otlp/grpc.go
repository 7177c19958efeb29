package otlp

import (
	"net/http"
	"net/url"
	"strconv"

	"weft/internal/env"
)

// gRPC status codes an export may be retried after (the OTLP
// specification's list).
var grpcRetryable = map[int]bool{
	1:  true, // CANCELLED
	4:  true, // DEADLINE_EXCEEDED
	8:  true, // RESOURCE_EXHAUSTED
	10: true, // ABORTED
	11: true, // OUT_OF_RANGE
	14: true, // UNAVAILABLE
	15: true, // DATA_LOSS
}

// grpcStatus reads the outcome of a gRPC call whose response (HTTP 200)
// was read into data: the grpc-status trailer, or header in a
// trailers-only response; on success, the reply's partial success.
func (e *Exporter) grpcStatus(resp *http.Response, data []byte) error {
	st := resp.Trailer.Get("Grpc-Status")
	msg := resp.Trailer.Get("Grpc-Message")
	if st == "" {
		st, msg = resp.Header.Get("Grpc-Status"), resp.Header.Get("Grpc-Message")
	}
	code, err := strconv.Atoi(st)
	if err != nil {
		e.warnOnce.Do(func() {
			env.Print("collector at " + e.cfg.Endpoint + " answered without a gRPC status (is it an OTLP/gRPC endpoint?)")
		})
		return &Error{Reason: "no gRPC status"}
	}
	if code == 0 {
		// One uncompressed message: a 5-byte prefix, then the reply.
		if len(data) >= 5 && data[0] == 0 {
			if n, m := partialSuccess(data[5:]); n > 0 {
				env.Warnf("collector rejected %d spans: %s", n, m)
				return &Error{Reason: "collector rejected spans", Rejected: n}
			}
		}
		return nil
	}
	if m, err := url.PathUnescape(msg); err == nil {
		msg = m
	}
	reason := "gRPC status " + st
	if grpcRetryable[code] {
		return &Error{Reason: reason, Retry: true}
	}
	e.warnOnce.Do(func() {
		hint := ""
		if msg != "" {
			hint = ": " + msg
		}
		env.Print("collector at " + e.cfg.Endpoint + " refused spans: " + reason + hint)
	})
	return &Error{Reason: reason}
}

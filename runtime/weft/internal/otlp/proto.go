// Package otlp encodes spans as an OTLP ExportTraceServiceRequest
// (opentelemetry/proto/collector/trace/v1, protobuf wire format, written by
// hand) and sends them to a collector over HTTP.
package otlp

import "weft/internal/protowire"

// Protobuf wire types.
const (
	wireVarint  = protowire.Varint
	wireFixed64 = protowire.Fixed64
	wireBytes   = protowire.Bytes
	wireFixed32 = protowire.Fixed32
)

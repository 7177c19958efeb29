// Package propagation implements the W3C Trace Context (traceparent,
// tracestate), W3C Baggage, B3 and Jaeger propagators over
// http.Header-like maps, selected by OTEL_PROPAGATORS.
package propagation

import (
	"weft/internal/trace"
)

const hexDigits = "0123456789abcdef"

// ParseTraceparent validates a traceparent value per W3C Trace Context:
// lower-case hex only, version ff invalid, all-zero ids invalid, version 00
// exactly 55 characters, later versions at least 55 with a '-' after the
// known fields. Leading and trailing spaces and tabs are ignored.
func ParseTraceparent(s string) (sc trace.SpanContext, ok bool) {
	s = trimOWS(s)
	if len(s) < 55 || s[2] != '-' || s[35] != '-' || s[52] != '-' {
		return sc, false
	}
	ver, ok1 := hexByte(s[0], s[1])
	if !ok1 || ver == 0xff {
		return sc, false
	}
	if ver == 0 && len(s) != 55 {
		return sc, false
	}
	if len(s) > 55 && s[55] != '-' {
		return sc, false
	}
	if !decodeHex(sc.TraceID[:], s[3:35]) || !decodeHex(sc.SpanID[:], s[36:52]) {
		return trace.SpanContext{}, false
	}
	flags, ok2 := hexByte(s[53], s[54])
	if !ok2 || !sc.TraceID.IsValid() || !sc.SpanID.IsValid() {
		return trace.SpanContext{}, false
	}
	sc.Flags = flags & (trace.FlagSampled | 0x02) // sampled and random
	sc.Remote = true
	return sc, true
}

// FormatTraceparent writes a version 00 traceparent.
func FormatTraceparent(sc *trace.SpanContext) string {
	var b [55]byte
	formatTraceparent(&b, sc)
	return string(b[:])
}

func formatTraceparent(b *[55]byte, sc *trace.SpanContext) {
	b[0], b[1], b[2] = '0', '0', '-'
	encodeHex(b[3:35], sc.TraceID[:])
	b[35] = '-'
	encodeHex(b[36:52], sc.SpanID[:])
	b[52] = '-'
	f := sc.Flags & (trace.FlagSampled | 0x02)
	b[53], b[54] = hexDigits[f>>4], hexDigits[f&0xf]
}

func trimOWS(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// lowerHexVal maps a lower-case hex digit to its value, anything else to
// 0xff: a table, since every incoming request parses 55 characters.
var lowerHexVal = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for i, c := range hexDigits {
		t[c] = byte(i)
	}
	return t
}()

// lowerHex returns the value of a lower-case hex digit, or -1.
func lowerHex(c byte) int {
	if v := lowerHexVal[c]; v != 0xff {
		return int(v)
	}
	return -1
}

func hexByte(hi, lo byte) (byte, bool) {
	h, l := lowerHexVal[hi], lowerHexVal[lo]
	return h<<4 | l, (h|l)&0xf0 == 0
}

// decodeHex decodes len(dst) bytes from the first 2*len(dst) characters
// of s; dst is undefined when it returns false.
func decodeHex(dst []byte, s string) bool {
	s = s[:2*len(dst)]
	var bad byte
	for i := range dst {
		h, l := lowerHexVal[s[2*i]], lowerHexVal[s[2*i+1]]
		bad |= h | l
		dst[i] = h<<4 | l
	}
	return bad&0xf0 == 0
}

func encodeHex(dst, src []byte) {
	for i, v := range src {
		dst[2*i] = hexDigits[v>>4]
		dst[2*i+1] = hexDigits[v&0xf]
	}
}

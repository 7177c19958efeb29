package propagation

import (
	"strings"

	"weft/internal/trace"
)

// B3 (Zipkin) propagation, as the OpenTelemetry specification describes it:
//
//	b3: {TraceId}-{SpanId}-{SamplingState}-{ParentSpanId}
//	X-B3-TraceId, X-B3-SpanId, X-B3-Sampled, X-B3-Flags, X-B3-ParentSpanId
//
// Ids are lower-case hex; a 64-bit trace id is left-padded to 128 bits.
// The sampling state is 0, 1 or d (debug, which means sampled); the parent
// span id is checked but not kept. Inject writes no parent and no debug
// flag.

// b3 extracts the single header, or when that is absent or invalid the
// multiple headers, as the specification asks of both B3 propagators.
func (f *fields) b3() (trace.SpanContext, bool) {
	if s := f.one(fB3); s != "" {
		if sc, ok := ParseB3(s); ok {
			return sc, true
		}
	}
	if len(f.v[fB3TraceID]) == 0 && len(f.v[fB3SpanID]) == 0 {
		return trace.SpanContext{}, false
	}
	return parseB3Multi(f.one(fB3TraceID), f.one(fB3SpanID), f.one(fB3Sampled), f.one(fB3Flags), f.one(fB3ParentID), len(f.v[fB3ParentID]) > 0)
}

// ParseB3 parses a b3 single header value. A value without ids ("0", the
// deny form, "1" or "d") carries no span context and returns false.
func ParseB3(s string) (sc trace.SpanContext, ok bool) {
	s = trimOWS(s)
	var tid string
	switch {
	case len(s) > 16 && s[16] == '-':
		tid, s = s[:16], s[17:]
	case len(s) > 32 && s[32] == '-':
		tid, s = s[:32], s[33:]
	default:
		return sc, false
	}
	if len(s) < 16 || !b3TraceID(&sc.TraceID, tid) || !decodeHex(sc.SpanID[:], s) || !sc.SpanID.IsValid() {
		return trace.SpanContext{}, false
	}
	s = s[16:]
	sampling := ""
	switch {
	case s == "": // deferred: not sampled
	case len(s) == 2 && s[0] == '-':
		sampling = s[1:]
	case len(s) == 19 && s[0] == '-' && s[2] == '-':
		var parent trace.SpanID
		if !decodeHex(parent[:], s[3:]) || !parent.IsValid() {
			return trace.SpanContext{}, false
		}
		sampling = s[1:2]
	default:
		return trace.SpanContext{}, false
	}
	switch sampling {
	case "", "0":
	case "1", "d":
		sc.Flags = trace.FlagSampled
	default:
		return trace.SpanContext{}, false
	}
	sc.Remote = true
	return sc, true
}

// parseB3Multi reads the multiple headers; hasParent tells a parent id
// that is present but repeated (so "") from one that is absent.
func parseB3Multi(tid, sid, sampled, flags, parent string, hasParent bool) (sc trace.SpanContext, ok bool) {
	tid, sid = trimOWS(tid), trimOWS(sid)
	if (len(tid) != 16 && len(tid) != 32) || len(sid) != 16 ||
		!b3TraceID(&sc.TraceID, tid) || !decodeHex(sc.SpanID[:], sid) || !sc.SpanID.IsValid() {
		return trace.SpanContext{}, false
	}
	if hasParent {
		var p trace.SpanID
		if parent = trimOWS(parent); len(parent) != 16 || !decodeHex(p[:], parent) || !p.IsValid() {
			return trace.SpanContext{}, false
		}
	}
	switch strings.ToLower(trimOWS(sampled)) { // true, false: lenient, as others are
	case "", "0", "false":
	case "1", "true":
		sc.Flags = trace.FlagSampled
	default:
		return trace.SpanContext{}, false
	}
	if trimOWS(flags) == "1" { // debug: sampled, whatever X-B3-Sampled says
		sc.Flags = trace.FlagSampled
	}
	sc.Remote = true
	return sc, true
}

// b3TraceID decodes a 16 or 32 digit trace id, left-padding the short one.
func b3TraceID(dst *trace.TraceID, s string) bool {
	switch len(s) {
	case 16:
		*dst = trace.TraceID{}
		if !decodeHex(dst[8:], s) {
			return false
		}
	case 32:
		if !decodeHex(dst[:], s) {
			return false
		}
	default:
		return false
	}
	return dst.IsValid()
}

// FormatB3 writes a b3 single header value: trace id, span id and 1 or 0.
func FormatB3(sc *trace.SpanContext) string {
	var b [32 + 1 + 16 + 2]byte
	encodeHex(b[:32], sc.TraceID[:])
	b[32] = '-'
	encodeHex(b[33:49], sc.SpanID[:])
	b[49], b[50] = '-', '0'
	if sc.Sampled() {
		b[50] = '1'
	}
	return string(b[:])
}

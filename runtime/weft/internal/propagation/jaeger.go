package propagation

import (
	"net/textproto"
	"net/url"
	"sort"
	"strings"

	"weft/internal/trace"
)

// Jaeger propagation:
//
//	uber-trace-id: {trace-id}:{span-id}:{parent-span-id}:{flags}
//	uberctx-{key}: {url-encoded value}   (one header a baggage member)
//
// Ids are lower-case hex, shorter ones left-padded with zeros; the parent
// span id is deprecated and ignored. Flags are one or two hex digits (none
// reads as 0): bit 1 sampled, bit 2 debug, which is not kept.

// ParseJaeger parses an uber-trace-id value.
func ParseJaeger(s string) (sc trace.SpanContext, ok bool) {
	s = trimOWS(s)
	if strings.IndexByte(s, ':') < 0 { // sent URL-encoded by some clients
		s = strings.ReplaceAll(strings.ReplaceAll(s, "%3A", ":"), "%3a", ":")
	}
	tid, rest, _ := strings.Cut(s, ":")
	sid, rest, _ := strings.Cut(rest, ":")
	_, flags, ok := strings.Cut(rest, ":")
	if !ok || strings.IndexByte(flags, ':') >= 0 ||
		!paddedHex(sc.TraceID[:], tid) || !paddedHex(sc.SpanID[:], sid) ||
		!sc.TraceID.IsValid() || !sc.SpanID.IsValid() {
		return trace.SpanContext{}, false
	}
	var f [1]byte
	if flags != "" && !paddedHex(f[:], flags) {
		return trace.SpanContext{}, false
	}
	sc.Flags = f[0] & trace.FlagSampled
	sc.Remote = true
	return sc, true
}

// FormatJaeger writes an uber-trace-id value, parent span id 0 as Jaeger
// clients send for "none", flags 1 or 0.
func FormatJaeger(sc *trace.SpanContext) string {
	var b [32 + 1 + 16 + 4]byte
	encodeHex(b[:32], sc.TraceID[:])
	b[32] = ':'
	encodeHex(b[33:49], sc.SpanID[:])
	copy(b[49:], ":0:0")
	if sc.Sampled() {
		b[52] = '1'
	}
	return string(b[:])
}

// paddedHex decodes 1 to 2*len(dst) lower-case hex digits into dst,
// right-aligned: shorter values are left-padded with zeros.
func paddedHex(dst []byte, s string) bool {
	if len(s) == 0 || len(s) > 2*len(dst) {
		return false
	}
	for i := range dst {
		dst[i] = 0
	}
	for i := 0; i < len(s); i++ {
		v := lowerHexVal[s[len(s)-1-i]]
		if v > 0xf {
			return false
		}
		dst[len(dst)-1-i/2] |= v << (4 * (i % 2))
	}
	return true
}

// jaegerBaggage returns b with the uberctx- members added in key order
// (replacing members of the same key). Values are URL-decoded; malformed
// ones are skipped.
func jaegerBaggage(b *Baggage, kv [][2]string) *Baggage {
	sort.SliceStable(kv, func(i, j int) bool { return kv[i][0] < kv[j][0] })
	var out Baggage
	if b != nil {
		out.Members = append(out.Members, b.Members...)
	}
	for _, x := range kv {
		v, err := url.QueryUnescape(trimOWS(x[1]))
		if err != nil || !isToken(x[0]) {
			continue
		}
		m := Member{Key: x[0], Value: v}
		replaced := false
		for i := range out.Members {
			if out.Members[i].Key == m.Key {
				out.Members[i], replaced = m, true
			}
		}
		if !replaced && len(out.Members) < maxBaggageMembers {
			out.Members = append(out.Members, m)
		}
	}
	return finish(&out)
}

// injectUberctx writes one uberctx- header a member of b and returns keys
// with the keys it wrote.
func injectUberctx(h map[string][]string, b *Baggage, keys []string) []string {
	for _, m := range b.Members {
		k := textproto.CanonicalMIMEHeaderKey(uberctxPrefix + m.Key)
		h[k] = []string{url.QueryEscape(m.Value)}
		keys = append(keys, k)
	}
	return keys
}

package propagation

import (
	"context"
	"strings"
)

// W3C Baggage limits (the same as the OpenTelemetry Go SDK's).
const (
	maxBaggageMembers = 180
	maxBaggageBytes   = 8192
	maxMemberBytes    = 4096
)

// Member is one baggage entry. Value is percent-decoded; Props holds the
// normalized properties (";k=v;flag"), if any.
type Member struct {
	Key, Value, Props string
}

// Baggage is an immutable list of members carried in a context.
type Baggage struct {
	Members []Member
}

type baggageKey struct{}

// BaggageFromContext returns the baggage in ctx, or nil.
func BaggageFromContext(ctx context.Context) *Baggage {
	if ctx == nil {
		return nil
	}
	b, _ := ctx.Value(baggageKey{}).(*Baggage)
	return b
}

// ContextWithBaggage returns ctx carrying b.
func ContextWithBaggage(ctx context.Context, b *Baggage) context.Context {
	if ctx == nil {
		ctx = context.Background()
	}
	return context.WithValue(ctx, baggageKey{}, b)
}

// ParseBaggage parses combined baggage header values. Malformed members
// are skipped; members past the count or size limits are dropped.
func ParseBaggage(values []string) *Baggage {
	var b Baggage
	size := 0
	for _, v := range values {
		for _, raw := range strings.Split(v, ",") {
			raw = trimOWS(raw)
			if raw == "" || len(raw) > maxMemberBytes {
				continue
			}
			m, ok := parseMember(raw)
			if !ok {
				continue
			}
			if len(b.Members) == maxBaggageMembers || size+len(raw)+1 > maxBaggageBytes {
				return finish(&b)
			}
			// A later duplicate key wins, as in the OTel Go SDK.
			replaced := false
			for i := range b.Members {
				if b.Members[i].Key == m.Key {
					b.Members[i], replaced = m, true
				}
			}
			if !replaced {
				b.Members = append(b.Members, m)
				size += len(raw) + 1
			}
		}
	}
	return finish(&b)
}

func finish(b *Baggage) *Baggage {
	if len(b.Members) == 0 {
		return nil
	}
	return b
}

func parseMember(raw string) (Member, bool) {
	kv, props, _ := strings.Cut(raw, ";")
	k, v, ok := strings.Cut(kv, "=")
	if !ok {
		return Member{}, false
	}
	k, v = trimOWS(k), trimOWS(v)
	if !isToken(k) || !isBaggageValue(v) {
		return Member{}, false
	}
	dv, ok := percentDecode(v)
	if !ok {
		return Member{}, false
	}
	m := Member{Key: k, Value: dv}
	if props != "" {
		var pb strings.Builder
		for _, p := range strings.Split(props, ";") {
			p = trimOWS(p)
			if p == "" {
				continue
			}
			pk, pv, hasV := strings.Cut(p, "=")
			pk, pv = trimOWS(pk), trimOWS(pv)
			if !isToken(pk) || (hasV && !isBaggageValue(pv)) {
				return Member{}, false
			}
			pb.WriteByte(';')
			pb.WriteString(pk)
			if hasV {
				pb.WriteByte('=')
				pb.WriteString(pv)
			}
		}
		m.Props = pb.String()
	}
	return m, true
}

// String serializes the baggage for the header, percent-encoding values.
func (b *Baggage) String() string {
	var sb strings.Builder
	for i, m := range b.Members {
		start := sb.Len()
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(m.Key)
		sb.WriteByte('=')
		percentEncode(&sb, m.Value)
		sb.WriteString(m.Props)
		if sb.Len() > maxBaggageBytes { // encoding grew it past the limit
			return sb.String()[:start]
		}
	}
	return sb.String()
}

// isToken checks an RFC 7230 token.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 || !tchar[c] {
			return false
		}
	}
	return true
}

var tchar = func() (t [128]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

// baggage-octet: %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E
func baggageOctet(c byte) bool {
	return c == 0x21 || (c >= 0x23 && c <= 0x2b) || (c >= 0x2d && c <= 0x3a) ||
		(c >= 0x3c && c <= 0x5b) || (c >= 0x5d && c <= 0x7e)
}

func isBaggageValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if !baggageOctet(s[i]) {
			return false
		}
	}
	return true
}

func percentDecode(s string) (string, bool) {
	if strings.IndexByte(s, '%') < 0 {
		return s, true
	}
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			out = append(out, s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", false
		}
		h, l := unhex(s[i+1]), unhex(s[i+2])
		if h < 0 || l < 0 {
			return "", false
		}
		out = append(out, byte(h<<4|l))
		i += 2
	}
	return string(out), true
}

func unhex(c byte) int {
	if v := lowerHex(c); v >= 0 {
		return v
	}
	if 'A' <= c && c <= 'F' {
		return int(c-'A') + 10
	}
	return -1
}

func percentEncode(sb *strings.Builder, s string) {
	const upper = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if baggageOctet(c) && c != '%' {
			sb.WriteByte(c)
			continue
		}
		sb.WriteByte('%')
		sb.WriteByte(upper[c>>4])
		sb.WriteByte(upper[c&0xf])
	}
}

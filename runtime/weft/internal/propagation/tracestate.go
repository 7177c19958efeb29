package propagation

import "strings"

// maxTracestateMembers is the W3C limit on tracestate list members.
const maxTracestateMembers = 32

// ParseTracestate validates the combined tracestate header values and
// returns them normalized (members joined by ",", empty members and
// optional whitespace removed). Any invalid member, a duplicate key or more
// than 32 members makes the whole tracestate invalid, as W3C allows.
func ParseTracestate(values []string) (string, bool) {
	var b strings.Builder
	n := 0
	var keys [maxTracestateMembers]string
	for _, v := range values {
		for len(v) > 0 {
			var m string
			if i := strings.IndexByte(v, ','); i >= 0 {
				m, v = v[:i], v[i+1:]
			} else {
				m, v = v, ""
			}
			m = trimOWS(m)
			if m == "" {
				continue
			}
			k, val, ok := strings.Cut(m, "=")
			if !ok || !validTSKey(k) || !validTSValue(val) || n == maxTracestateMembers {
				return "", false
			}
			for _, seen := range keys[:n] {
				if seen == k {
					return "", false
				}
			}
			keys[n] = k
			if n > 0 {
				b.WriteByte(',')
			}
			b.WriteString(m)
			n++
		}
	}
	return b.String(), true
}

func lcalpha(c byte) bool { return 'a' <= c && c <= 'z' }
func digit(c byte) bool   { return '0' <= c && c <= '9' }
func tsKeyChar(c byte) bool {
	return lcalpha(c) || digit(c) || c == '_' || c == '-' || c == '*' || c == '/'
}

// validTSKey checks simple-key and multi-tenant-key (tenant@system).
func validTSKey(k string) bool {
	tenant, system, multi := strings.Cut(k, "@")
	if !multi {
		if len(k) == 0 || len(k) > 256 || !lcalpha(k[0]) {
			return false
		}
		for i := 1; i < len(k); i++ {
			if !tsKeyChar(k[i]) {
				return false
			}
		}
		return true
	}
	if len(tenant) == 0 || len(tenant) > 241 || !(lcalpha(tenant[0]) || digit(tenant[0])) {
		return false
	}
	if len(system) == 0 || len(system) > 14 || !lcalpha(system[0]) {
		return false
	}
	for i := 1; i < len(tenant); i++ {
		if !tsKeyChar(tenant[i]) {
			return false
		}
	}
	for i := 1; i < len(system); i++ {
		if !tsKeyChar(system[i]) {
			return false
		}
	}
	return true
}

// validTSValue: 1 to 256 printable ASCII characters except ',' and '=',
// the last one not a space.
func validTSValue(v string) bool {
	if len(v) == 0 || len(v) > 256 || v[len(v)-1] == ' ' {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < 0x20 || c > 0x7e || c == ',' || c == '=' {
			return false
		}
	}
	return true
}

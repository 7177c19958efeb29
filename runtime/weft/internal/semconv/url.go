// Package semconv holds the helpers rules use to fill semantic-convention
// attributes: query redaction, SQL sanitizing and parsing, database system
// and DSN parsing. All are pure functions, safe on any input.
package semconv

import "strings"

// RedactQuery replaces every non-empty value in a raw URL query with
// "REDACTED", keeping keys, their encoding and their order:
// "a=1&b=&c" becomes "a=REDACTED&b=&c".
func RedactQuery(raw string) string {
	if strings.IndexByte(raw, '=') < 0 {
		return raw
	}
	var b strings.Builder
	b.Grow(len(raw) + 16)
	for i := 0; ; i++ {
		part, rest, more := strings.Cut(raw, "&")
		if i > 0 {
			b.WriteByte('&')
		}
		if k, v, ok := strings.Cut(part, "="); ok && v != "" {
			b.WriteString(k)
			b.WriteString("=REDACTED")
		} else {
			b.WriteString(part)
		}
		if !more {
			break
		}
		raw = rest
	}
	return b.String()
}

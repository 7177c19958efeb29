// Package env reads the OTEL_* environment and prints weft's few warnings.
//
// Every warning goes to stderr on one line starting with "weft: ", and each
// distinct warning is printed at most once per process.
package env

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Lookup returns the trimmed value of the variable; empty means unset.
// It is a variable so tests can substitute a fake environment.
var Lookup = func(name string) string {
	return strings.TrimSpace(os.Getenv(name))
}

// First returns the first non-empty variable among names.
func First(names ...string) string {
	for _, n := range names {
		if v := Lookup(n); v != "" {
			return v
		}
	}
	return ""
}

// Bool reports whether the variable is "true" (case-insensitive). Any other
// value, including an invalid one, is false, as the OTel spec requires.
func Bool(name string) bool {
	return strings.EqualFold(Lookup(name), "true")
}

// Millis reads a duration in milliseconds from the first set variable among
// names. Invalid or negative values warn once and yield def.
func Millis(def time.Duration, names ...string) time.Duration {
	for _, n := range names {
		v := Lookup(n)
		if v == "" {
			continue
		}
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil || ms < 0 || ms > int64(24*time.Hour/time.Millisecond) {
			Warnf("ignoring %s=%q: not a number of milliseconds", n, v)
			continue
		}
		return time.Duration(ms) * time.Millisecond
	}
	return def
}

// Int reads a positive integer; invalid values warn once and yield def.
func Int(name string, def int) int {
	v := Lookup(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 || n > 1<<24 {
		Warnf("ignoring %s=%q: not a positive integer", name, v)
		return def
	}
	return n
}

var (
	warnMu   sync.Mutex
	warned   = map[string]bool{}
	warnSink = func(line string) { os.Stderr.WriteString(line) }
)

// Warnf prints "weft: <message>" on stderr, once per distinct message.
func Warnf(format string, args ...any) {
	msg := format
	if len(args) > 0 {
		msg = fmt.Sprintf(format, args...)
	}
	warnMu.Lock()
	if warned[msg] {
		warnMu.Unlock()
		return
	}
	warned[msg] = true
	sink := warnSink
	warnMu.Unlock()
	sink("weft: " + msg + "\n")
}

// Print writes one line "weft: <msg>" on stderr unconditionally.
func Print(msg string) {
	warnMu.Lock()
	sink := warnSink
	warnMu.Unlock()
	sink("weft: " + msg + "\n")
}

// CaptureWarnings redirects warnings to f (for tests) and returns a function
// restoring the previous sink and forgetting which warnings were printed.
func CaptureWarnings(f func(line string)) (restore func()) {
	warnMu.Lock()
	old := warnSink
	warnSink = f
	warned = map[string]bool{}
	warnMu.Unlock()
	return func() {
		warnMu.Lock()
		warnSink = old
		warned = map[string]bool{}
		warnMu.Unlock()
	}
}

// SetLookup replaces the environment with m (for tests) and returns a
// function restoring the real one.
func SetLookup(m map[string]string) (restore func()) {
	old := Lookup
	Lookup = func(name string) string { return strings.TrimSpace(m[name]) }
	return func() { Lookup = old }
}

// ParseList parses the "k1=v1,k2=v2" form of OTEL_RESOURCE_ATTRIBUTES and
// OTEL_EXPORTER_OTLP_HEADERS: keys are trimmed, values trimmed and
// percent-decoded. ok is false when an entry is malformed.
func ParseList(s string) (kv [][2]string, ok bool) {
	ok = true
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		k, v, found := strings.Cut(item, "=")
		k = strings.TrimSpace(k)
		if !found || k == "" {
			ok = false
			continue
		}
		dv, good := PercentDecode(strings.TrimSpace(v))
		if !good {
			ok = false
			continue
		}
		kv = append(kv, [2]string{k, dv})
	}
	return kv, ok
}

// PercentDecode decodes %XX escapes (not '+', unlike query strings).
func PercentDecode(s string) (string, bool) {
	if strings.IndexByte(s, '%') < 0 {
		return s, true
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '%' {
			b = append(b, c)
			continue
		}
		if i+2 >= len(s) || unhex(s[i+1]) < 0 || unhex(s[i+2]) < 0 {
			return "", false
		}
		b = append(b, byte(unhex(s[i+1])<<4|unhex(s[i+2])))
		i += 2
	}
	return string(b), true
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c - 'a' + 10)
	case 'A' <= c && c <= 'F':
		return int(c - 'A' + 10)
	}
	return -1
}

// SDKVersion is weft's runtime version, reported as telemetry.sdk.version.
const SDKVersion = "0.1.0"

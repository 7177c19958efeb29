// Tests for the helpers in common.go, which hold no net/http internals:
// tests/run.sh runs them as `go test common.go common_test.go`.

package http

import (
	"net"
	"strconv"
	"testing"
)

func TestSplitHostPortMatchesNet(t *testing.T) {
	for _, in := range []string{
		"127.0.0.1:54321", "example.com:8080", "[::1]:443", "[fe80::1%eth0]:80",
		"example.com", "::1", "[::1]", "host:", ":80", "", "a:b:c", "[::1]x:80",
	} {
		host, port, ok := weftSplitHostPort(in)
		nh, np, err := net.SplitHostPort(in)
		if ok != (err == nil) || ok && (host != nh || port != np) {
			t.Errorf("%q: got (%q, %q, %v), net gives (%q, %q, %v)", in, host, port, ok, nh, np, err)
		}
	}
}

func TestPort(t *testing.T) {
	for _, in := range []string{"0", "80", "65535", "65536", "99999", "123456", "", "8a", "-1", "+1", " 80"} {
		got, ok := weftPort(in)
		n, err := strconv.ParseUint(in, 10, 16)
		if ok != (err == nil) || ok && got != int64(n) {
			t.Errorf("%q: got (%d, %v), strconv gives (%d, %v)", in, got, ok, n, err)
		}
	}
}

func TestHostPort(t *testing.T) {
	for _, c := range []struct {
		in, scheme, host string
		port             int64
	}{
		{"example.com", "http", "example.com", 80},
		{"example.com", "https", "example.com", 443},
		{"example.com:8443", "https", "example.com", 8443},
		{"[::1]:9000", "http", "::1", 9000},
		{"[::1]", "https", "::1", 443},
	} {
		host, port := weftHostPort(c.in, c.scheme)
		if host != c.host || port != c.port {
			t.Errorf("weftHostPort(%q, %q) = %q, %d; want %q, %d", c.in, c.scheme, host, port, c.host, c.port)
		}
	}
}

// Helpers shared by the net/http rules (woven into package net/http).

package http

import (
	"strconv"
	"strings"
)

// weftMethod returns the semconv method value and, for unknown methods, the original.
func weftMethod(m string) (string, string) {
	switch m {
	case "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", "QUERY":
		return m, ""
	case "":
		return "GET", ""
	}
	return "_OTHER", m
}

// weftHostPort splits host[:port], defaulting the port from the scheme.
func weftHostPort(hostport, scheme string) (string, int64) {
	host, port, ok := weftSplitHostPort(hostport)
	if !ok {
		host = strings.TrimSuffix(strings.TrimPrefix(hostport, "["), "]")
		if scheme == "https" {
			return host, 443
		}
		return host, 80
	}
	p, _ := weftPort(port)
	return host, p
}

// weftSplitHostPort is net.SplitHostPort for the addresses a request
// carries (host:port, [v6]:port), without building an error when it
// fails: every request pays for it.
func weftSplitHostPort(hostport string) (host, port string, ok bool) {
	i := strings.LastIndexByte(hostport, ':')
	if i < 0 {
		return "", "", false
	}
	host, port = hostport[:i], hostport[i+1:]
	if strings.HasPrefix(host, "[") {
		if !strings.HasSuffix(host, "]") {
			return "", "", false
		}
		host = host[1 : len(host)-1]
	} else if strings.IndexByte(host, ':') >= 0 {
		return "", "", false // an IPv6 address needs brackets
	}
	return host, port, true
}

// weftPort parses a decimal port number (0 to 65535).
func weftPort(s string) (int64, bool) {
	if s == "" || len(s) > 5 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, n <= 65535
}

// weftProtoVersion is network.protocol.version; constants for the usual
// versions, so a request costs no allocation for it.
func weftProtoVersion(major, minor int) string {
	switch {
	case major == 1 && minor == 1:
		return "1.1"
	case major == 1 && minor == 0:
		return "1.0"
	case major == 2 || major == 3:
		return strconv.Itoa(major) // small numbers: no allocation
	}
	return strconv.Itoa(major) + "." + strconv.Itoa(minor)
}

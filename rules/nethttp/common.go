// Helpers shared by the net/http rules (woven into package net/http).

package http

import (
	"net"
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
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		host = strings.TrimSuffix(strings.TrimPrefix(hostport, "["), "]")
		if scheme == "https" {
			return host, 443
		}
		return host, 80
	}
	p, _ := strconv.ParseInt(port, 10, 64)
	return host, p
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

//go:build !go1.24

package main

import (
	"errors"
	"net/http"
)

func h2c(*http.Server) {}

func h2Get(string, string, string) (string, error) {
	return "", errors.New("HTTP/2 without TLS needs Go 1.24")
}

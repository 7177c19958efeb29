//go:build go1.24

package main

import (
	"fmt"
	"net/http"
)

// h2c serves HTTP/2 without TLS (prior knowledge) besides HTTP/1 (Go 1.24+).
func h2c(srv *http.Server) {
	p := new(http.Protocols)
	p.SetHTTP1(true)
	p.SetUnencryptedHTTP2(true)
	srv.Protocols = p
}

// h2Get sends GET url over HTTP/2 without TLS, with an upstream's trace headers.
func h2Get(url, traceparent, tracestate string) (string, error) {
	p := new(http.Protocols)
	p.SetUnencryptedHTTP2(true)
	c := &http.Client{Transport: &http.Transport{Protocols: p}}
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("traceparent", traceparent)
	req.Header.Set("tracestate", tracestate)
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	return fmt.Sprint(resp.Proto, " ", resp.StatusCode), nil
}

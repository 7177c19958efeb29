// Package main is a plugin that calls a URL through net/http.
package main

import (
	"io"
	"net/http"
)

// Run GETs url and returns the body.
func Run(url string) string {
	resp, err := http.Get(url)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return "fetched " + string(b)
}

func main() {}

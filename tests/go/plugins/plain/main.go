// Package main is a plugin that uses nothing weft instruments.
package main

import "strings"

// Run returns url's host part, upper-cased.
func Run(url string) string {
	return "plain " + strings.ToUpper(strings.TrimPrefix(url, "http://")[:3])
}

func main() {}

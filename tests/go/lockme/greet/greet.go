// Package greet is woven by the test rule in tests/rules/greet.
package greet

import "strings"

// Hello greets name.
func Hello(name string) string {
	return "hello " + strings.TrimSpace(name)
}

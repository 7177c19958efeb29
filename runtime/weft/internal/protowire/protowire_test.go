package protowire

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// TestIsASCII checks the word-at-a-time check at every length up to 24
// with a high byte at every position, against utf8.ValidString's view.
func TestIsASCII(t *testing.T) {
	for n := 0; n <= 24; n++ {
		b := []byte(strings.Repeat("a", n))
		if !IsASCII(string(b)) {
			t.Fatalf("%d ASCII bytes reported as non-ASCII", n)
		}
		for i := 0; i < n; i++ {
			c := append([]byte(nil), b...)
			c[i] = 0xff
			if IsASCII(string(c)) {
				t.Errorf("len %d, 0xff at %d: reported ASCII", n, i)
			}
			if got := ValidUTF8(string(c)); !utf8.ValidString(got) || len(got) != n+2 {
				t.Errorf("len %d, 0xff at %d: repaired to %q", n, i, got)
			}
		}
	}
}

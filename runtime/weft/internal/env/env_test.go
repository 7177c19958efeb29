package env

import (
	"testing"
	"time"
)

func TestParseList(t *testing.T) {
	kv, ok := ParseList(" a = 1 ,b=x%20y%2C, ,c=")
	if !ok || len(kv) != 3 || kv[0] != [2]string{"a", "1"} || kv[1] != [2]string{"b", "x y,"} || kv[2] != [2]string{"c", ""} {
		t.Errorf("%q %v", kv, ok)
	}
	for _, bad := range []string{"a", "=1", "a=%", "a=%4", "a=%zz"} {
		if _, ok := ParseList(bad); ok {
			t.Errorf("ParseList(%q) ok", bad)
		}
	}
	if s, ok := PercentDecode("%e2%82%AC+"); !ok || s != "€+" {
		t.Errorf("%q", s)
	}
}

func TestNumbersAndWarnings(t *testing.T) {
	var lines []string
	defer CaptureWarnings(func(l string) { lines = append(lines, l) })()
	defer SetLookup(map[string]string{"A": " 250 ", "B": "x", "C": "-1", "D": "7", "E": "TRUE", "F": "yes"})()
	if Millis(time.Second, "B", "A") != 250*time.Millisecond || Millis(time.Second, "C") != time.Second || Millis(time.Second, "Z") != time.Second {
		t.Error("Millis")
	}
	if Int("D", 1) != 7 || Int("B", 1) != 1 || Int("C", 1) != 1 || Int("Z", 3) != 3 {
		t.Error("Int")
	}
	if !Bool("E") || Bool("F") || Bool("Z") {
		t.Error("Bool")
	}
	if First("Z", "D", "A") != "7" {
		t.Error("First")
	}
	Warnf("same %d", 1)
	Warnf("same %d", 1)
	if len(lines) != 5 || lines[4] != "weft: same 1\n" {
		t.Errorf("%q", lines)
	}
}

// Command harness runs weft's benchmarks and writes bench/RESULTS.md.
// bench/run.sh builds the programs and calls it; each subcommand writes one
// JSON file of raw measurements, and `report` turns them into the results
// file. Every figure it reports is a ratio against a baseline measured in
// the same run, interleaved with it, so a noisy machine moves both.
//
//	harness load   -scenario hello|shop -bin DIR -variant NAME ... -out FILE
//	harness build  -weft PATH -target NAME=DIR:PKG[,PKG] ... -out FILE
//	harness shim   -weft PATH -out FILE
//	harness report -dir RESULTS_DIR -out bench/RESULTS.md
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: harness load|build|shim|instr|report [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "load":
		err = loadMain(os.Args[2:])
	case "build":
		err = buildMain(os.Args[2:])
	case "shim":
		err = shimMain(os.Args[2:])
	case "instr":
		err = instrMain(os.Args[2:])
	case "report":
		err = reportMain(os.Args[2:])
	default:
		err = fmt.Errorf("unknown subcommand %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "harness %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

// multi is a repeatable string flag.
type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "  "+format+"\n", args...)
}

// spread is the median of a sample and its range.
type spread struct {
	Med, Min, Max float64
	N             int
}

func summarize(xs []float64) spread {
	if len(xs) == 0 {
		return spread{}
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return spread{Med: m, Min: s[0], Max: s[len(s)-1], N: len(s)}
}

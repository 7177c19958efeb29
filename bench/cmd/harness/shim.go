package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"time"
)

// ShimCase is one passthrough measurement: the same command run through
// the wrapped SDK's compile (the shim) and through compile.real, N times
// each, alternating.
type ShimCase struct {
	Case      string
	Args      []string
	N         int
	RealMs    []float64 // wall time of each run
	ShimMs    []float64
	RealCPUMs []float64 // user+system CPU of each run
	ShimCPUMs []float64
	// Through /usr/bin/env, the smallest exec wrapper there is: the floor
	// for any shim that execs the compiler.
	EnvMs, EnvCPUMs []float64
}

// ShimResult is the file `harness shim` writes.
type ShimResult struct{ Cases []ShimCase }

func shimMain(args []string) error {
	fs := flag.NewFlagSet("shim", flag.ExitOnError)
	weft := fs.String("weft", "", "the weft binary")
	n := fs.Int("n", 200, "runs of each command through each compiler")
	tmp := fs.String("tmp", os.TempDir(), "scratch directory")
	out := fs.String("out", "", "JSON file to write")
	fs.Parse(args)
	if *weft == "" || *out == "" {
		return errors.New("-weft and -out are needed")
	}
	work, err := os.MkdirTemp(*tmp, "weft-shim-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	sdk := filepath.Join(work, "sdk")
	if o, err := exec.Command(*weft, "sdk", "--out", sdk).CombinedOutput(); err != nil {
		return fmt.Errorf("weft sdk: %v: %s", err, o)
	}
	tools := filepath.Join(sdk, "pkg", "tool", runtime.GOOS+"_"+runtime.GOARCH)
	shim, real := filepath.Join(tools, "compile"), filepath.Join(tools, "compile.real")

	// A package no rule matches: one file, no imports.
	src := filepath.Join(work, "tiny.go")
	cfg := filepath.Join(work, "importcfg")
	os.WriteFile(src, []byte("package tiny\n\nfunc Add(a, b int) int { return a + b }\n"), 0o644)
	os.WriteFile(cfg, []byte("# import config\n"), 0o644)
	// A response file, the way long command lines arrive.
	rsp := filepath.Join(work, "args.rsp")
	os.WriteFile(rsp, []byte("-o\n"+filepath.Join(work, "tiny2.a")+"\n-p\nexample.com/tiny\n-pack\n-importcfg\n"+cfg+"\n-lang=go1.22\n"+src+"\n"), 0o644)

	cases := []ShimCase{
		{Case: "compile -V=full", Args: []string{"-V=full"}},
		{Case: "compile one untouched file", Args: []string{"-o", filepath.Join(work, "tiny.a"), "-p", "example.com/tiny", "-pack", "-importcfg", cfg, "-lang=go1.22", src}},
		{Case: "compile one untouched file, @responsefile", Args: []string{"@" + rsp}},
	}
	var res ShimResult
	for _, c := range cases {
		c.N = *n
		// One untimed run of each first (page cache, first exec).
		run(real, c.Args)
		run(shim, c.Args)
		for i := 0; i < *n; i++ {
			// Rotate the order: real, shim, env; shim, env, real; …
			kinds := []string{"real", "shim", "env"}
			for j := range kinds {
				k := kinds[(i+j)%3]
				var wall, cpu float64
				var err error
				switch k {
				case "real":
					wall, cpu, err = run(real, c.Args)
					c.RealMs, c.RealCPUMs = append(c.RealMs, wall), append(c.RealCPUMs, cpu)
				case "shim":
					wall, cpu, err = run(shim, c.Args)
					c.ShimMs, c.ShimCPUMs = append(c.ShimMs, wall), append(c.ShimCPUMs, cpu)
				case "env":
					wall, cpu, err = run("/usr/bin/env", append([]string{real}, c.Args...))
					c.EnvMs, c.EnvCPUMs = append(c.EnvMs, wall), append(c.EnvCPUMs, cpu)
				}
				if err != nil {
					return fmt.Errorf("%s %v: %w", k, c.Args, err)
				}
			}
		}
		r, s := summarize(c.RealMs), summarize(c.ShimMs)
		logf("%-42s real %.2f ms, through the shim %.2f ms (medians of %d)", c.Case, r.Med, s.Med, *n)
		res.Cases = append(res.Cases, c)
	}
	return writeJSON(*out, res)
}

// run execs bin with argv[0] "compile" (as the go command does; the
// compiler names itself after argv[0] in -V=full) and returns its wall and
// CPU time in milliseconds.
func run(bin string, args []string) (wall, cpu float64, err error) {
	cmd := exec.Command(bin, args...)
	if filepath.Base(bin) != "env" {
		cmd.Args[0] = filepath.Join(filepath.Dir(bin), "compile")
	}
	start := time.Now()
	out, err := cmd.CombinedOutput()
	wall = float64(time.Since(start).Microseconds()) / 1000
	if err != nil {
		return wall, 0, fmt.Errorf("%v: %s", err, out)
	}
	st := cmd.ProcessState
	cpu = float64((st.UserTime() + st.SystemTime()).Microseconds()) / 1000
	return wall, cpu, nil
}

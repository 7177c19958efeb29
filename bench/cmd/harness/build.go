package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// BuildRun is one timed build.
type BuildRun struct {
	Target  string
	Variant string // plain or weft
	Kind    string // cold (empty GOCACHE) or warm (no change)
	Round   int
	Seconds float64
}

// BuildResult is the file `harness build` writes.
type BuildResult struct {
	Targets   []BuildTarget
	Runs      []BuildRun
	SDKCreate []float64 // seconds: `weft go version` with an empty WEFT_CACHE…
	SDKReady  []float64 // …and with the SDK already made
	Failed    map[string]string
}

type BuildTarget struct {
	Name, Dir string
	Pkgs      []string
	Packages  int // packages in the build (go list -deps), std included
	Woven     int // packages a weft rule targets
	Affected  int // those and every package that depends on one
}

func buildMain(args []string) error {
	fs := flag.NewFlagSet("build", flag.ExitOnError)
	weft := fs.String("weft", "", "the weft binary")
	var targets multi
	fs.Var(&targets, "target", "NAME=DIR:PKG[,PKG…] (repeat)")
	coldRounds := fs.String("cold-rounds", "2", "cold rounds per target: N, or NAME=N,… (each round builds plain and weft once, alternating which goes first)")
	warmRounds := fs.Int("warm-rounds", 3, "warm no-change rounds per target")
	sdkRounds := fs.Int("sdk-rounds", 3, "rounds of wrapped-SDK creation")
	tmp := fs.String("tmp", os.TempDir(), "where the temporary caches go")
	out := fs.String("out", "", "JSON file to write")
	fs.Parse(args)
	if *weft == "" || *out == "" || len(targets) == 0 {
		return errors.New("-weft, -target and -out are needed")
	}
	res := BuildResult{Failed: map[string]string{}}

	// The wrapped SDK: made once per weft binary and Go toolchain.
	for r := 0; r < *sdkRounds; r++ {
		fresh, err := os.MkdirTemp(*tmp, "weft-cache-")
		if err != nil {
			return err
		}
		t, err := timed(context.Background(), "", []string{"WEFT_CACHE=" + fresh}, *weft, "go", "version")
		if err != nil {
			return fmt.Errorf("weft go version: %w", err)
		}
		res.SDKCreate = append(res.SDKCreate, t)
		t, err = timed(context.Background(), "", []string{"WEFT_CACHE=" + fresh}, *weft, "go", "version")
		if err != nil {
			return err
		}
		res.SDKReady = append(res.SDKReady, t)
		os.RemoveAll(fresh)
		logf("wrapped SDK: created in %.2fs, then `weft go version` %.2fs", res.SDKCreate[r], res.SDKReady[r])
	}

	for ti, spec := range targets {
		name, rest, _ := strings.Cut(spec, "=")
		dir, pkgList, _ := strings.Cut(rest, ":")
		tg := BuildTarget{Name: name, Dir: dir, Pkgs: strings.Split(pkgList, ",")}
		if err := countPackages(&tg, *weft); err != nil {
			res.Failed[name] = err.Error()
			logf("%s: %v", name, err)
			continue
		}
		res.Targets = append(res.Targets, tg)
		n := roundsFor(*coldRounds, name)
		if err := buildTarget(&res, tg, *weft, *tmp, n, *warmRounds, ti); err != nil {
			res.Failed[name] = err.Error()
			logf("%s: %v", name, err)
		}
	}
	return writeJSON(*out, res)
}

func roundsFor(spec, name string) int {
	def := 2
	for _, part := range strings.Split(spec, ",") {
		k, v, ok := strings.Cut(part, "=")
		var n int
		if !ok {
			fmt.Sscan(k, &n)
			def = n
		} else if k == name {
			fmt.Sscan(v, &n)
			return n
		}
	}
	return def
}

// countPackages fills in how many packages the build has, how many a weft
// rule targets, and how many depend on those (weaving changes their inputs,
// so a weft build compiles them apart from a plain build's).
func countPackages(tg *BuildTarget, weft string) error {
	rules, err := exec.Command(weft, "rules", "list").Output()
	if err != nil {
		return fmt.Errorf("weft rules list: %w", err)
	}
	targeted := map[string]bool{}
	for _, line := range strings.Split(string(rules), "\n")[1:] {
		if f := strings.Fields(line); len(f) > 1 {
			targeted[f[1]] = true
		}
	}
	out, err := exec.Command("go", append([]string{"-C", tg.Dir, "list", "-deps", "-f", "{{.ImportPath}} {{join .Deps \" \"}}"}, tg.Pkgs...)...).Output()
	if err != nil {
		return fmt.Errorf("go list -deps: %w", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		tg.Packages++
		if targeted[f[0]] {
			tg.Woven++
			tg.Affected++
			continue
		}
		for _, d := range f[1:] {
			if targeted[d] {
				tg.Affected++
				break
			}
		}
	}
	return nil
}

// buildTarget times the cold and warm builds of one target. Which variant
// goes first alternates by round, and by target (offset), so a one-round
// run over two targets is still ABBA.
func buildTarget(res *BuildResult, tg BuildTarget, weft, tmp string, coldRounds, warmRounds, offset int) error {
	outDir, err := os.MkdirTemp(tmp, "weft-bench-out-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(outDir)
	caches := map[string][]string{} // variant → env of its last cold build
	var cleanup []string
	defer func() {
		for _, d := range cleanup {
			os.RemoveAll(d)
		}
	}()
	build := func(variant string) []string {
		argv := append([]string{"go", "build", "-o", outDir + "/" + variant + "/"}, tg.Pkgs...)
		if variant == "weft" {
			argv = append([]string{weft}, argv...)
		}
		return argv
	}
	for r := 0; r < coldRounds; r++ {
		order := []string{"plain", "weft"}
		if (r+offset)%2 == 1 {
			order = []string{"weft", "plain"}
		}
		for _, v := range order {
			gocache, err := os.MkdirTemp(tmp, "gocache-")
			if err != nil {
				return err
			}
			cleanup = append(cleanup, gocache)
			env := []string{"GOCACHE=" + gocache, "GOPROXY=off"}
			if v == "weft" {
				wc, err := os.MkdirTemp(tmp, "weft-cache-")
				if err != nil {
					return err
				}
				cleanup = append(cleanup, wc)
				env = append(env, "WEFT_CACHE="+wc)
				// The SDK is made before the clock starts (its cost is
				// reported on its own).
				if _, err := timed(context.Background(), tg.Dir, env, weft, "go", "version"); err != nil {
					return err
				}
			}
			// Drop the previous round's caches of this variant.
			if old := caches[v]; old != nil {
				for _, e := range old {
					if d, ok := strings.CutPrefix(e, "GOCACHE="); ok {
						os.RemoveAll(d)
					} else if d, ok := strings.CutPrefix(e, "WEFT_CACHE="); ok {
						os.RemoveAll(d)
					}
				}
			}
			argv := build(v)
			t, err := timed(context.Background(), tg.Dir, env, argv[0], argv[1:]...)
			if err != nil {
				return fmt.Errorf("%s cold build: %w", v, err)
			}
			caches[v] = env
			res.Runs = append(res.Runs, BuildRun{Target: tg.Name, Variant: v, Kind: "cold", Round: r + 1, Seconds: t})
			logf("%s cold %-5s round %d: %6.2fs", tg.Name, v, r+1, t)
		}
	}
	for r := 0; r < warmRounds; r++ {
		// Alternate which goes first, as for the cold builds.
		order := []string{"plain", "weft"}
		if r%2 == 1 {
			order = []string{"weft", "plain"}
		}
		for _, v := range order {
			argv := build(v)
			t, err := timed(context.Background(), tg.Dir, caches[v], argv[0], argv[1:]...)
			if err != nil {
				return fmt.Errorf("%s warm build: %w", v, err)
			}
			res.Runs = append(res.Runs, BuildRun{Target: tg.Name, Variant: v, Kind: "warm", Round: r + 1, Seconds: t})
			logf("%s warm %-5s round %d: %6.3fs", tg.Name, v, r+1, t)
		}
	}
	return nil
}

// timed runs a command in dir with extra environment and returns its wall
// time in seconds.
func timed(ctx context.Context, dir string, env []string, name string, args ...string) (float64, error) {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	t := time.Since(start).Seconds()
	if err != nil {
		return t, fmt.Errorf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, tail(out, 2000))
	}
	return t, nil
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

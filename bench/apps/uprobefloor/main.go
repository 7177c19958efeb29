// Command uprobefloor calls two tiny functions in a loop and prints the CPU
// and wall time per call, so bench/ebpf-floor.sh can tell what one uprobe
// hit costs on this machine (run it with and without a probe attached).
//
// Usage: uprobefloor N leaf|call
//
//	leaf: main.leaf, 2 instructions (INCQ AX; RET), no stack check
//	call: main.call, which starts with Go's stack check and calls leaf
package main

import (
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"
)

//go:noinline
func leaf(x int) int { return x + 1 }

//go:noinline
func call(x int) int { return leaf(x) + 1 }

func cpu() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: uprobefloor N leaf|call")
		os.Exit(2)
	}
	n, _ := strconv.Atoi(os.Args[1])
	f := leaf
	if os.Args[2] == "call" {
		f = call
	}
	s := 0
	c0, t0 := cpu(), time.Now()
	for i := 0; i < n; i++ {
		s = f(s)
	}
	c1, t1 := cpu(), time.Now()
	fmt.Printf("%s n=%d cpu_ns_per_call=%.0f wall_ns_per_call=%.0f (%d)\n", os.Args[2], n,
		float64(c1-c0)/float64(n), float64(t1.Sub(t0))/float64(n), s)
}

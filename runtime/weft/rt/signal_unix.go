//go:build unix

package rt

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	_ "unsafe" // for go:linkname
)

// A program that dies by SIGTERM, SIGINT or SIGHUP (the default for each)
// never runs Go's exit hooks, so the spans still queued would be lost:
// the usual end of a server in a container. The link file of a program
// (not a test binary, not a C library) calls FlushOnSignal, which
// registers a channel for those signals. When one arrives and weft's
// channel is the only one Notify delivers it to, weft flushes as at exit,
// lets go of the signal and sends it again: the program dies by it as it
// would have. When the program has channels of its own for it, the
// program decides what happens; weft only exports what is queued.
//
// Counting the channels needs woven os/signal (rules/signal), whose init
// registers the counter. A program whose packages do not import
// os/signal has no channels but weft's.

// signalWatchers counts the channels Notify delivers a signal to.
var signalWatchers func(os.Signal) int64

// RegisterSignalWatchers is called by woven os/signal's init.
//
//go:linkname RegisterSignalWatchers
func RegisterSignalWatchers(f func(os.Signal) int64) { signalWatchers = f }

// FlushOnSignal starts the signal watch; imported says whether the
// program's packages import os/signal (then its channels are counted, or,
// if os/signal could not be woven, weft stays out of the way).
func FlushOnSignal(imported bool) struct{} {
	defer recoverHook()
	if active.Load() == nil || (imported && signalWatchers == nil) {
		return struct{}{}
	}
	var sigs []os.Signal
	for _, s := range []os.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP} {
		// An ignored signal (nohup, a background job) must stay ignored:
		// Notify would install a handler for it.
		if !signal.Ignored(s) {
			sigs = append(sigs, s)
		}
	}
	if len(sigs) == 0 {
		return struct{}{}
	}
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, sigs...)
	go watchSignals(ch)
	return struct{}{}
}

func watchSignals(ch chan os.Signal) {
	for sig := range ch {
		if signalWatchers != nil && signalWatchers(sig) > 1 {
			// The program handles it: export what is queued now, in case
			// its handler ends the process without returning from main.
			go flushQueued()
			continue
		}
		// A second signal (an impatient Ctrl-C) ends the wait for the flush.
		done := make(chan struct{})
		go func() {
			flushAtExit()
			close(done)
		}()
		select {
		case <-done:
		case <-ch:
		}
		signal.Stop(ch)
		if s, ok := sig.(syscall.Signal); ok {
			syscall.Kill(syscall.Getpid(), s)
		}
		return
	}
}

// flushQueued exports the spans queued now, within the exit flush bound.
func flushQueued() {
	defer func() { recover() }()
	if st := active.Load(); st != nil {
		ctx, cancel := context.WithTimeout(context.Background(), exitFlushTimeout(st))
		defer cancel()
		st.proc.Flush(ctx)
	}
}

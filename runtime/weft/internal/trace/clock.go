package trace

import (
	"sync/atomic"
	"time"
)

// Spans read the clock once at start and once at end: the monotonic clock
// only (time.Since on a time with a monotonic reading is one nanotime
// call). The wall time of a start comes from an anchor, a (wall, mono)
// pair taken by time.Now and refreshed when older than a second, so a step
// of the wall clock shows up within a second while durations always come
// from the monotonic clock.

var base = time.Now()

// mono is the monotonic clock, ns since base.
func mono() int64 { return int64(time.Since(base)) }

type anchorPair struct{ wall, mono int64 }

var anchor atomic.Pointer[anchorPair]

func newAnchor() *anchorPair {
	t := time.Now()
	a := &anchorPair{wall: t.UnixNano(), mono: int64(t.Sub(base))}
	anchor.Store(a)
	return a
}

func init() { newAnchor() }

// unixNano converts a reading of mono to unix ns.
func unixNano(m int64) int64 {
	a := anchor.Load()
	if d := m - a.mono; d > int64(time.Second) || d < -int64(time.Second) {
		a = newAnchor()
	}
	return a.wall + (m - a.mono)
}

package trace

import (
	"sync/atomic"
	"time"
)

// now returns the current time with one monotonic clock read instead of
// time.Now's two (wall and monotonic): the wall time is derived from an
// anchor refreshed every second, so a step of the wall clock shows up
// within a second, while durations always come from the monotonic clock.
func now() time.Time {
	a := anchor.Load()
	d := time.Since(*a)
	if d < 0 || d > time.Second {
		t := time.Now()
		anchor.Store(&t)
		return t
	}
	return a.Add(d)
}

var anchor atomic.Pointer[time.Time]

func init() {
	t := time.Now()
	anchor.Store(&t)
}

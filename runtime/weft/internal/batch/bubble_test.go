//go:build go1.25

package batch

import (
	"testing"
	"testing/synctest"
	"time"
)

// Spans ended in a testing/synctest bubble start no timer or worker there
// (either would belong to the bubble, and the exit flush, from outside,
// may not stop the timer: a fatal error); a span ended outside later, or
// the shutdown, exports them.
func TestSpansEndedInABubble(t *testing.T) {
	f := &fakeExporter{calls: make(chan int, 10)}
	p := New(f, Config{ScheduleDelay: time.Hour, ExportTimeout: time.Second, MaxQueueSize: 100, MaxBatchSize: 2})
	synctest.Test(t, func(t *testing.T) {
		for _, s := range spans(3) { // a full batch, and one more
			p.OnEnd(s)
		}
		synctest.Wait()
		if n, _ := f.total(); n != 0 {
			t.Errorf("exported %d spans from inside the bubble", n)
		}
	})
	if workers() != 0 {
		t.Error("a worker runs")
	}
	st := p.Shutdown(ctxTimeout(t, hangGuard))
	if n, _ := f.total(); n != 3 || st != (Stats{}) {
		t.Errorf("exported %d, stats %+v", n, st)
	}
}

package mapper

import "time"

// spinBelow is the cost under which a mapper call spins instead of
// sleeping: time.Sleep wakes tens of microseconds late, far too coarse for
// the 5-20 µs of a filesystem upcall.
const spinBelow = 100 * time.Microsecond

// pay burns d on the calling goroutine: spinning on the monotonic clock for
// small costs, sleeping for large ones.
func pay(d time.Duration) {
	if d <= 0 {
		return
	}
	if d >= spinBelow {
		time.Sleep(d)
		return
	}
	t0 := time.Now()
	for time.Since(t0) < d {
	}
}

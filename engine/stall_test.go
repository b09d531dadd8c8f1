package engine_test

import (
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iobench/iobench/device"
	"github.com/iobench/iobench/device/looptest"
	"github.com/iobench/iobench/engine"
	"github.com/iobench/iobench/engine/mapper"
)

// TestBackgroundQueuesAtGOMAXPROCS: with as many background queues as Ps
// and more, goroutines looping File.ReadAt must all make progress. Before
// the queues yielded after a wake (Queue.yieldAfterWake), the Ps passed
// from a queue goroutine to the caller it woke and on to the queue that
// caller woke, always through runnext, and a goroutine left in a P's run
// queue waited until that chain broke: with 4 queues at GOMAXPROCS 2 and
// five readers of a loop device, single ReadAt calls took from 0.1 s to
// seconds, all of it between the queue delivering the result and the
// caller running, while the chain delivered results to the others.
//
// The test counts what the fix changed instead of timing calls. Now a
// queue woken by a request yields its P (if it has not in the last
// fairSlice, 1 ms), which lets the P run the head of its run queue: the
// results the queues deliver to the readers between two such yields
// (engine.OnYieldAfterWake, engine.OnSyncDelivery) are at most about a
// fairSlice's worth of the chain, where without the yield there is no
// yield at all. And a reader a background queue served must run again
// before the queues have delivered many results to the others: without
// the yield it waited behind thousands. Counted in deliveries, neither
// bound depends on how fast the machine runs the chain (a loaded machine,
// the race detector) nor on pauses that stop every reader. The race
// detector's scheduler breaks such chains itself (it puts a woken
// goroutine in runnext only half the time), so only the plain run shows
// the stall. A wall-clock bound of several seconds stays as a backstop.
// The readers use no timers, which would end the chain by waking a
// goroutine of their own. The same must hold with the calls on the direct
// queues (the default; none goes to a background queue, so only the
// backstop applies), and with fewer direct queues than readers, where the
// rest go to the background queues.
func TestBackgroundQueuesAtGOMAXPROCS(t *testing.T) {
	for _, c := range []struct {
		name   string
		direct int
	}{{"background", -1}, {"direct", 0}, {"direct-2", 2}} {
		t.Run(c.name, func(t *testing.T) { testQueuesAtGOMAXPROCS(t, c.direct) })
	}
}

func testQueuesAtGOMAXPROCS(t *testing.T, direct int) {
	l := looptest.New(t, 64<<20, looptest.Options{})
	d := openDev(t, l.Path, true)
	prev := runtime.GOMAXPROCS(2)
	t.Cleanup(func() { runtime.GOMAXPROCS(prev) })

	const (
		queues  = 4
		readers = 5
		// betweenBound is the most results the background queues may
		// deliver to the readers between two yields after a wake (and
		// before the first, after the last). Measured on a 2-vCPU VM: at
		// most 37 idle, 49 beside two CPU hogs, 27 with the race detector
		// (about 20 deliveries a millisecond); without the yield, every
		// delivery of the run (thousands).
		betweenBound = 1000
		// passedBound is the most results the background queues may
		// deliver to other readers between delivering a reader's and the
		// reader running. Measured: mostly about 100, at most 1452 with
		// other load on the machine (while the kernel holds back the
		// thread of the reader's P, the other P goes on); without the
		// yield, 700 to 20000 with no other load, and the original stalls
		// of 0.1 s to 6.9 s were 2000 to 100000 deliveries.
		passedBound = 5000
		wallBound   = 5 * time.Second // backstop
	)
	run := 2 * time.Second
	if testing.Short() {
		run = time.Second
	}

	// delivered counts the results delivered to the readers by the
	// background queues; deliveredAt[i] is its count at the delivery of
	// reader i's result (0: none since the reader cleared it).
	var delivered atomic.Int64
	// sinceYield counts the deliveries since the last yield after a wake
	// (any queue's), mostBetween the most there were between two.
	var sinceYield, mostBetween, yields atomic.Int64
	deliveredAt := make([]atomic.Int64, readers)
	bufs := make([][]byte, readers)
	owner := map[*byte]int{}
	restore := engine.OnSyncDelivery(func(r *engine.Request) {
		if i, ok := owner[&r.Buf[0]]; ok {
			deliveredAt[i].Store(delivered.Add(1))
			n := sinceYield.Add(1)
			for m := mostBetween.Load(); n > m && !mostBetween.CompareAndSwap(m, n); m = mostBetween.Load() {
			}
		}
	})
	defer restore() // after e.Close, deferred below
	restoreYield := engine.OnYieldAfterWake(func() {
		sinceYield.Store(0)
		yields.Add(1)
	})
	defer restoreYield()

	e, err := engine.New(engine.Config{Devices: []*device.Device{d}, Mapper: mapper.NewLinear(0, 0, 0),
		Queues: queues, QueueDepth: 16, DirectQueues: direct})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := e.Close(); err != nil {
			t.Error(err)
		}
	}()
	f, err := e.Open("raw", engine.FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	blocks := d.Geometry().SizeBytes / 4096
	for i := range bufs {
		bufs[i] = e.Buffer(4096)
		owner[&bufs[i][0]] = i
		defer e.PutBuffer(bufs[i])
	}

	type result struct {
		calls   int
		handed  int           // calls a background queue served
		passed  int64         // the most deliveries to others a reader waited behind
		longest time.Duration // the longest call
		err     error
	}
	results := make([]result, readers)
	deadline := time.Now().Add(run)
	var wg sync.WaitGroup
	for i := range readers {
		wg.Go(func() {
			b := bufs[i]
			rng := rand.New(rand.NewPCG(uint64(i), 1))
			res := &results[i]
			for t0 := time.Now(); t0.Before(deadline); {
				deliveredAt[i].Store(0)
				if _, err := f.ReadAt(b, int64(rng.Uint64N(blocks))*4096); err != nil {
					res.err = err
					return
				}
				if at := deliveredAt[i].Load(); at != 0 {
					res.handed++
					res.passed = max(res.passed, delivered.Load()-at)
				}
				t1 := time.Now()
				res.calls++
				res.longest = max(res.longest, t1.Sub(t0))
				t0 = t1
			}
		})
	}
	wg.Wait()
	t.Logf("%d deliveries, %d yields after a wake, at most %d deliveries between two", delivered.Load(), yields.Load(), mostBetween.Load())
	if n := mostBetween.Load(); n > betweenBound {
		t.Errorf("the background queues delivered %d results with no yield after a wake between them (bound %d; %d yields in all)",
			n, betweenBound, yields.Load())
	}
	handed := 0
	for i, r := range results {
		t.Logf("reader %d: %d calls, %d served by background queues, waited behind at most %d deliveries to others, longest call %v",
			i, r.calls, r.handed, r.passed, r.longest)
		handed += r.handed
		if r.err != nil {
			t.Errorf("reader %d: %v", i, r.err)
		}
		if r.passed > passedBound {
			t.Errorf("reader %d: the background queues delivered %d results to other readers before it ran after its own, with %d queues at GOMAXPROCS 2 (bound %d)",
				i, r.passed, queues, passedBound)
		}
		if r.longest > wallBound {
			t.Errorf("reader %d: a ReadAt took %v with %d queues at GOMAXPROCS 2 (backstop %v)", i, r.longest, queues, wallBound)
		}
	}
	if direct != 0 && handed == 0 {
		t.Errorf("no call went to a background queue: nothing was checked")
	}
}

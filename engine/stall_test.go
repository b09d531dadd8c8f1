package engine_test

import (
	"math/rand/v2"
	"runtime"
	"sync"
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
// seconds. Now the longest is a few ms; the bound here is generous, for
// loaded machines and the race detector. The readers use no timers, which
// would end the chain by waking a goroutine of their own. The same must
// hold with the calls on the direct queues (the default), and with fewer
// direct queues than readers, where the rest go to the background queues.
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
		bound   = 500 * time.Millisecond
	)
	run := 2 * time.Second
	if testing.Short() {
		run = time.Second
	}
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

	type result struct {
		calls   int
		longest time.Duration
		err     error
	}
	results := make([]result, readers)
	deadline := time.Now().Add(run)
	var wg sync.WaitGroup
	for i := range readers {
		wg.Go(func() {
			b := e.Buffer(4096)
			defer e.PutBuffer(b)
			rng := rand.New(rand.NewPCG(uint64(i), 1))
			res := &results[i]
			for t0 := time.Now(); t0.Before(deadline); {
				if _, err := f.ReadAt(b, int64(rng.Uint64N(blocks))*4096); err != nil {
					res.err = err
					return
				}
				t1 := time.Now()
				res.calls++
				res.longest = max(res.longest, t1.Sub(t0))
				t0 = t1
			}
		})
	}
	wg.Wait()
	for i, r := range results {
		t.Logf("reader %d: %d calls, longest %v", i, r.calls, r.longest)
		if r.err != nil {
			t.Errorf("reader %d: %v", i, r.err)
		}
		if r.longest > bound {
			t.Errorf("reader %d: a ReadAt took %v with %d background queues at GOMAXPROCS 2 (bound %v)",
				i, r.longest, queues, bound)
		}
	}
}

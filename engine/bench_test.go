package engine_test

import (
	"fmt"
	"testing"

	"github.com/iobench/iobench/engine"
)

// BenchmarkQueueRandRead drives a caller-owned queue with 4 KiB random
// reads through the cache (every lookup a hit after warm-up), keeping qd
// requests in flight, and reports allocations per I/O (0 in steady state).
func BenchmarkQueueRandRead(b *testing.B) { benchQueue(b, nil) }

// BenchmarkQueueNull is BenchmarkQueueRandRead over the null ring (NOPs in
// place of device reads): the engine's own cost per I/O, with the ring.
func BenchmarkQueueNull(b *testing.B) { benchQueue(b, engine.NewNullRing) }

func benchQueue(b *testing.B, ring engine.RingFactory) {
	for _, qd := range []int{1, 32} {
		b.Run(fmt.Sprintf("qd%d", qd), func(b *testing.B) {
			const blocks = 16384
			m := newStripeMapper(blocks, bs, 1)
			e, _ := newEngine(b, blocks*bs, m, func(c *engine.Config) { c.QueueDepth = 64; c.NewRing = ring })
			f, _ := e.Open("f", engine.FileOptions{})
			q, err := e.NewQueue()
			if err != nil {
				b.Fatal(err)
			}
			defer q.Close()
			reqs := make([]engine.Request, qd)
			x := uint64(88172645463325252)
			next := func() uint64 {
				x ^= x << 13
				x ^= x >> 7
				x ^= x << 17
				return x % blocks * bs
			}
			for i := range reqs {
				reqs[i] = engine.Request{File: f, Offset: next(), Buf: e.Buffer(bs)}
				if err := q.Submit(&reqs[i]); err != nil {
					b.Fatal(err)
				}
			}
			done := make([]*engine.Request, 0, qd)
			b.ReportAllocs()
			b.ResetTimer()
			for n := 0; n < b.N; {
				done, err = q.Reap(done[:0], 1)
				if err != nil {
					b.Fatal(err)
				}
				for _, r := range done {
					if r.Err != nil {
						b.Fatal(r.Err)
					}
					r.Offset = next()
					q.Submit(r)
				}
				n += len(done)
			}
			b.StopTimer()
			for q.InFlight() > 0 {
				done, _ = q.Reap(done[:0], 1)
			}
		})
	}
}

package engine_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/iobench/iobench/device"
	"github.com/iobench/iobench/engine"
	"github.com/iobench/iobench/engine/mapper"
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
			randReads(b, e, f, qd, blocks)
		})
	}
}

// BenchmarkQueueNullExtents is 4 KiB random reads at depth 32 over the
// null ring of a 4 GiB file mapped linearly (one extent) and of the same
// file in 1M scattered extents with a warm cache: what a lookup in a large
// extent tree costs the data path. Compare the two ns/op of one run.
func BenchmarkQueueNullExtents(b *testing.B) {
	const (
		fileSize = 4 << 30
		blocks   = fileSize / bs
	)
	for _, extents := range []int{1, 1_000_000} {
		b.Run(fmt.Sprintf("extents=%d", extents), func(b *testing.B) {
			var m engine.Mapper = mapper.NewLinear(0, 0, fileSize)
			if extents > 1 {
				s, err := mapper.NewScattered(mapper.ScatteredConfig{
					DeviceLength: 2 * fileSize, FileSize: fileSize, Extents: extents, Seed: 1,
				})
				if err != nil {
					b.Fatal(err)
				}
				m = s
			}
			// The null ring reads nothing: a sparse device file will do.
			path := filepath.Join(b.TempDir(), "dev.img")
			if err := os.WriteFile(path, nil, 0o600); err != nil {
				b.Fatal(err)
			}
			if err := os.Truncate(path, 2*fileSize); err != nil {
				b.Fatal(err)
			}
			e, err := engine.New(engine.Config{Devices: []*device.Device{openDev(b, path, false)}, Mapper: m,
				QueueDepth: 64, NewRing: engine.NewNullRing})
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close()
			f, err := e.Open("f", engine.FileOptions{})
			if err != nil {
				b.Fatal(err)
			}
			if s, ok := m.(*mapper.Scattered); ok {
				if err := s.Warm(f); err != nil {
					b.Fatal(err)
				}
			}
			randReads(b, e, f, 32, blocks)
		})
	}
}

// randReads keeps qd random reads of one block of f in flight for b.N
// reads.
func randReads(b *testing.B, e *engine.Engine, f *engine.File, qd int, blocks uint64) {
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
	b.ReportMetric(float64(e.Stats().RingEnters)/float64(b.N), "enters/op")
	for q.InFlight() > 0 {
		done, _ = q.Reap(done[:0], 1)
	}
}

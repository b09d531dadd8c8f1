package engine_test

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"unsafe"

	"github.com/iobench/iobench/device"
	"github.com/iobench/iobench/device/looptest"
	"github.com/iobench/iobench/engine"
	"github.com/iobench/iobench/engine/mapper"
	"github.com/iobench/iobench/engine/uring"
	"golang.org/x/sys/unix"
)

// BenchmarkQueueRandRead drives a caller-owned queue with 4 KiB random
// reads through the cache (every lookup a hit after warm-up), keeping qd
// requests in flight, and reports allocations per I/O (0 in steady state).
func BenchmarkQueueRandRead(b *testing.B) { benchQueue(b, nil) }

// BenchmarkQueueNull is BenchmarkQueueRandRead over the null ring (no
// device reads, no system calls): the engine's own cost per I/O.
func BenchmarkQueueNull(b *testing.B) { benchQueue(b, engine.NewNullRing) }

// BenchmarkQueueNop is BenchmarkQueueRandRead over NOPs through io_uring:
// the engine's own cost per I/O with its io_uring_enter calls.
func BenchmarkQueueNop(b *testing.B) { benchQueue(b, engine.NewNopRing) }

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
	next := randomBlocks(blocks)
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

// BenchmarkDepth1Loop is 4 KiB random reads at depth 1 on a loop device
// over tmpfs, where every wait sleeps (the device answers in about 10 µs):
// the bare ring in fio's pattern (submit in one io_uring_enter, wait in
// another) and the engine (Queue.Submit, then Queue.Reap). Besides ns/op
// it reports the thread's CPU time per read from getrusage, split into
// user and system time: the split is the kernel's, sampled at its ticks,
// so compare the two rows of one run, not runs with each other.
func BenchmarkDepth1Loop(b *testing.B) {
	const size = 256 << 20
	const blocks = size / bs
	for _, via := range []string{"ring", "engine"} {
		b.Run(via, func(b *testing.B) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			l := looptest.New(b, size, looptest.Options{})
			next := randomBlocks(blocks)
			var read func() error
			if via == "ring" {
				read = bareRingReads(b, l.Path, next)
			} else {
				read = engineReads(b, l.Path, size, next)
			}
			for range 1000 { // warm the page cache's pages and the caches
				if err := read(); err != nil {
					b.Fatal(err)
				}
			}
			var u0, u1 unix.Rusage
			unix.Getrusage(unix.RUSAGE_THREAD, &u0)
			b.ResetTimer()
			for range b.N {
				if err := read(); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			unix.Getrusage(unix.RUSAGE_THREAD, &u1)
			usr := unix.TimevalToNsec(u1.Utime) - unix.TimevalToNsec(u0.Utime)
			sys := unix.TimevalToNsec(u1.Stime) - unix.TimevalToNsec(u0.Stime)
			b.ReportMetric(float64(usr)/float64(b.N), "usr-ns/op")
			b.ReportMetric(float64(sys)/float64(b.N), "sys-ns/op")
		})
	}
}

// BenchmarkSyncReadLoop is File.ReadAt, the library's synchronous call:
// 4 KiB random reads of a 256 MiB loop device over tmpfs (written first),
// one call at a time from each of 1 or 4 goroutines. "direct" is the
// default (each call on a direct queue, on the caller's thread, its one
// device read run as pread(2)), "direct-ring" the same with the read on
// the direct queue's ring (SetDirectSyscalls(false)), "background" hands
// each call to a background queue (DirectQueues -1),
// and "pread" is the reference: pread(2) with O_DIRECT on the same device
// from the same goroutines, what a Go program gets from the kernel with no
// engine. ns/op is wall time per read over all the goroutines; cpu-ns/op
// the process's CPU time per read (user and system, from getrusage; the
// loop device's kernel workers are not counted).
func BenchmarkSyncReadLoop(b *testing.B) {
	const size = 256 << 20
	const blocks = size / bs
	l := looptest.New(b, size, looptest.Options{})
	fillDevice(b, l.Path, size)
	for _, callers := range []int{1, 4} {
		for _, via := range []string{"pread", "direct", "direct-ring", "background"} {
			b.Run(fmt.Sprintf("%s/callers=%d", via, callers), func(b *testing.B) {
				direct := 0
				if via == "background" {
					direct = -1
				}
				defer engine.SetDirectSyscalls(via != "direct-ring")()
				e, err := engine.New(engine.Config{Devices: []*device.Device{openDev(b, l.Path, true)},
					Mapper: mapper.NewLinear(0, 0, size), QueueDepth: 8, DirectQueues: direct})
				if err != nil {
					b.Fatal(err)
				}
				defer e.Close()
				f, err := e.Open("f", engine.FileOptions{})
				if err != nil {
					b.Fatal(err)
				}
				raw, err := os.OpenFile(l.Path, os.O_RDONLY|unix.O_DIRECT, 0)
				if err != nil {
					b.Fatal(err)
				}
				defer raw.Close()
				read := func(buf []byte, off uint64) error {
					var err error
					if via == "pread" {
						_, err = raw.ReadAt(buf, int64(off))
					} else {
						_, err = f.ReadAt(buf, int64(off))
					}
					return err
				}
				run := func(n int, seed uint64) error {
					buf := e.Buffer(bs)
					defer e.PutBuffer(buf)
					x := seed
					for range n {
						x ^= x << 13
						x ^= x >> 7
						x ^= x << 17
						if err := read(buf, x%blocks*bs); err != nil {
							return err
						}
					}
					return nil
				}
				if err := run(1000, 1); err != nil { // warm the caches
					b.Fatal(err)
				}
				var u0, u1 unix.Rusage
				unix.Getrusage(unix.RUSAGE_SELF, &u0)
				b.ResetTimer()
				errs := make(chan error, callers)
				for i := range callers {
					n := b.N / callers
					if i < b.N%callers {
						n++
					}
					go func() { errs <- run(n, uint64(i)*0x9e3779b97f4a7c15+88172645463325252) }()
				}
				for range callers {
					if err := <-errs; err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				unix.Getrusage(unix.RUSAGE_SELF, &u1)
				cpu := unix.TimevalToNsec(u1.Utime) - unix.TimevalToNsec(u0.Utime) +
					unix.TimevalToNsec(u1.Stime) - unix.TimevalToNsec(u0.Stime)
				b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
			})
		}
	}
}

// fillDevice writes the device at path with pseudo-random data, so that
// reads copy pages rather than find holes.
func fillDevice(b *testing.B, path string, size int) {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 1<<20)
	fill(chunk, 5)
	for off := 0; off < size; off += len(chunk) {
		if _, err := f.WriteAt(chunk, int64(off)); err != nil {
			b.Fatal(err)
		}
	}
	if err := f.Sync(); err != nil {
		b.Fatal(err)
	}
}

// bareRingReads returns a function that reads one block at the offset next
// gives through a ring of its own: one io_uring_enter to submit, one to
// wait, as fio's io_uring engine does at depth 1.
func bareRingReads(b *testing.B, path string, next func() uint64) func() error {
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_DIRECT, 0)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { f.Close() })
	r, err := uring.New(4, uring.Params{})
	if err != nil {
		b.Skipf("io_uring: %v", err)
	}
	b.Cleanup(func() { r.Close() })
	buf, err := unix.Mmap(-1, 0, bs, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { unix.Munmap(buf) })
	fd := int32(f.Fd())
	cqes := make([]uring.CQE, 1)
	return func() error {
		r.GetSQE().PrepRead(fd, uintptr(unsafe.Pointer(&buf[0])), bs, next())
		if _, err := r.Submit(); err != nil {
			return err
		}
		for r.PeekBatchCQE(cqes) == 0 {
			if _, err := r.SubmitAndWait(1); err != nil {
				return err
			}
		}
		r.CQAdvance(1)
		if cqes[0].Res != bs {
			return fmt.Errorf("read: %d", cqes[0].Res)
		}
		return nil
	}
}

// engineReads returns a function that reads one block at the offset next
// gives through the engine: a queue of depth 1 over the device, mapped
// linearly, every lookup a cache hit after the first.
func engineReads(b *testing.B, path string, size uint64, next func() uint64) func() error {
	if r, err := uring.New(4, uring.Params{}); err != nil {
		b.Skipf("io_uring: %v", err)
	} else {
		r.Close()
	}
	e, err := engine.New(engine.Config{Devices: []*device.Device{openDev(b, path, true)},
		Mapper: mapper.NewLinear(0, 0, size), QueueDepth: 1})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.Close() })
	f, err := e.Open("f", engine.FileOptions{})
	if err != nil {
		b.Fatal(err)
	}
	q, err := e.NewQueue()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { q.Close() })
	req := engine.Request{File: f, Buf: e.Buffer(bs)}
	done := make([]*engine.Request, 0, 1)
	return func() error {
		req.Offset = next()
		if err := q.Submit(&req); err != nil {
			return err
		}
		done, err = q.Reap(done[:0], 1)
		if err != nil {
			return err
		}
		return done[0].Err
	}
}

// randomBlocks returns a generator of the byte offsets of random blocks
// among the first blocks (xorshift, the same sequence every run).
func randomBlocks(blocks uint64) func() uint64 {
	x := uint64(88172645463325252)
	return func() uint64 {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		return x % blocks * bs
	}
}

// BenchmarkReadAtNull is 4 KiB random File.ReadAt calls from one
// goroutine over the null ring: the library's synchronous path, one
// request at a time, on a direct queue (the default) and handed to a
// background queue (DirectQueues -1).
func BenchmarkReadAtNull(b *testing.B) {
	for _, via := range []string{"direct", "background"} {
		b.Run(via, func(b *testing.B) {
			const blocks = 16384
			m := newStripeMapper(blocks, bs, 1)
			e, _ := newEngine(b, blocks*bs, m, func(c *engine.Config) {
				c.QueueDepth = 64
				c.NewRing = engine.NewNullRing
				if via == "background" {
					c.DirectQueues = -1
				}
			})
			f, _ := e.Open("f", engine.FileOptions{})
			buf := e.Buffer(bs)
			next := randomBlocks(blocks)
			for range 1000 { // warm the cache
				if _, err := f.ReadAt(buf, int64(next())); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := f.ReadAt(buf, int64(next())); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCOWWriters is 4 KiB File.WriteAt calls through the COW mapper
// from several goroutines at once, each over its own part of one file:
// every write asks the mapper for fresh space, and every completed write
// commits to the read fork while the other writers' replies are on the
// way. It reports the mapper replies dropped as stale per write.
func BenchmarkCOWWriters(b *testing.B) {
	benchCOW(b, 4, func(e *engine.Engine, f *engine.File, next func() uint64, per int) error {
		buf := e.Buffer(bs)
		defer e.PutBuffer(buf)
		for range per {
			if _, err := f.WriteAt(buf, int64(next())); err != nil {
				return err
			}
		}
		return nil
	})
}

// BenchmarkCOWQueues is BenchmarkCOWWriters with each writer a
// caller-owned Queue keeping 8 writes in flight. 16 queues' threads share
// 2 CPUs here, and one kept off a CPU holds back all space freed
// meanwhile (46,000 writes' worth was seen waiting): its device is twice
// BenchmarkCOWWriters'.
func BenchmarkCOWQueues(b *testing.B) {
	const qd = 8
	benchCOW(b, 8, func(e *engine.Engine, f *engine.File, next func() uint64, per int) error {
		q, err := e.NewQueue()
		if err != nil {
			return err
		}
		defer q.Close()
		reqs := make([]engine.Request, qd)
		for i := range reqs {
			reqs[i] = engine.Request{File: f, Write: true, Offset: next(), Buf: e.Buffer(bs)}
			if err := q.Submit(&reqs[i]); err != nil {
				return err
			}
		}
		done := make([]*engine.Request, 0, qd)
		for n := 0; n < per; {
			if done, err = q.Reap(done[:0], 1); err != nil {
				return err
			}
			for _, r := range done {
				if r.Err != nil {
					return r.Err
				}
				r.Offset = next()
				if err := q.Submit(r); err != nil {
					return err
				}
			}
			n += len(done)
		}
		for q.InFlight() > 0 {
			done, _ = q.Reap(done[:0], 1)
		}
		return nil
	})
}

// benchCOW runs 1 and 16 writers, each write through write (per writes
// each, at the offsets next gives: random blocks of the writer's own part
// of a 64 MiB file), over the COW mapper on a device devMul times the
// file, and reports stale replies and mapper calls per write and writes
// a second.
func benchCOW(b *testing.B, devMul int64, write func(e *engine.Engine, f *engine.File, next func() uint64, per int) error) {
	const fileSize = 64 << 20
	for _, writers := range []int{1, 16} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			m, err := mapper.NewCOW(mapper.COWConfig{})
			if err != nil {
				b.Fatal(err)
			}
			e, _ := newEngine(b, devMul*fileSize, m, nil)
			f, err := e.Open("f", engine.FileOptions{Size: fileSize})
			if err != nil {
				b.Fatal(err)
			}
			part := uint64(fileSize / writers / bs)
			per := b.N/writers + 1
			b.ResetTimer()
			var wg sync.WaitGroup
			errs := make(chan error, writers)
			for w := range writers {
				wg.Go(func() {
					blocks, base := randomBlocks(part), uint64(w)*part*bs
					if err := write(e, f, func() uint64 { return base + blocks() }, per); err != nil {
						errs <- err
					}
				})
			}
			wg.Wait()
			b.StopTimer()
			close(errs)
			for err := range errs {
				b.Fatal(err)
			}
			st := e.Stats()
			n := float64(st.Writes)
			b.ReportMetric(float64(st.StaleRetries)/n, "stale/op")
			b.ReportMetric(float64(st.MapperCalls)/n, "mapcalls/op")
			b.ReportMetric(n/b.Elapsed().Seconds(), "writes/s")
		})
	}
}

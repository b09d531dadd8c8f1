package engine_test

import (
	"bytes"
	"errors"
	"os"
	"runtime"
	"syscall"
	"testing"

	"github.com/iobench/iobench/device"
	"github.com/iobench/iobench/device/looptest"
	"github.com/iobench/iobench/engine"
	"github.com/iobench/iobench/engine/mapper"
	"golang.org/x/sys/unix"
)

// opRing records every read and write queued on it.
type opRing struct {
	engine.Ring
	ops *[]engine.Op
}

func (r opRing) Queue(op *engine.Op) bool {
	ok := r.Ring.Queue(op)
	if ok && op.Sync == engine.NoSync && op.Trim == engine.NoTrim {
		*r.ops = append(*r.ops, *op)
	}
	return ok
}

// prioEngine is an engine on a fresh loop device whose rings record the
// reads and writes queued (into *ops) and whose mapper puts every other
// 4 KiB block of the file on a separate extent, so that a request of
// several blocks is split.
func prioEngine(t *testing.T, ops *[]engine.Op) (*engine.Engine, *engine.File) {
	t.Helper()
	if r, err := engine.NewIOURing(engine.RingOptions{Entries: 4}); err != nil {
		t.Skipf("io_uring: %v", err)
	} else {
		r.Close()
	}
	l := looptest.New(t, 8<<20, looptest.Options{})
	return trimEngine(t, l.Path, func(c *engine.Config) {
		c.Mapper, c.QueueDepth = newStripeMapper(1024, bs, 3), 8
		c.NewRing = func(o engine.RingOptions) (engine.Ring, error) {
			r, err := engine.NewIOURing(o)
			if err != nil {
				return nil, err
			}
			return opRing{r, ops}, nil
		}
	})
}

// TestPrioReachesTheRing: Request.Prio, Request.Async and Request.NoWait
// go with each device I/O of the request, all pieces of a split one
// included, and 0 stays 0.
func TestPrioReachesTheRing(t *testing.T) {
	var ops []engine.Op
	e, f := prioEngine(t, &ops)
	q, err := e.NewQueue()
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	for _, c := range []struct {
		write  bool
		blocks int
		prio   uint16
		async  bool
		nowait bool
	}{
		{false, 1, engine.IOPrio(engine.PrioClassRT, 0), false, true},
		{true, 1, engine.IOPrio(engine.PrioClassIdle, 0), true, false},
		{false, 4, engine.IOPrio(engine.PrioClassBE, 5), true, true},
		{true, 3, engine.IOPrio(engine.PrioClassBE, 7), false, true},
		{false, 2, 0, false, false},
	} {
		ops = ops[:0]
		buf := e.Buffer(c.blocks * bs)
		r := &engine.Request{File: f, Offset: 8 * bs, Buf: buf, Write: c.write, Prio: c.prio, Async: c.async, NoWait: c.nowait}
		if err := q.Submit(r); err != nil {
			t.Fatal(err)
		}
		done, err := q.Reap(nil, 1)
		if err != nil || len(done) != 1 || done[0].Err != nil {
			t.Fatalf("%+v: %v %v", c, err, done)
		}
		e.PutBuffer(buf)
		if len(ops) < c.blocks {
			t.Fatalf("%+v: %d device I/Os queued, want at least %d (the mapper splits every block)", c, len(ops), c.blocks)
		}
		for i, op := range ops {
			if op.Prio != c.prio || op.Async != c.async || op.NoWait != c.nowait {
				t.Errorf("%+v: device I/O %d had priority %#x, async %v, nowait %v", c, i, op.Prio, op.Async, op.NoWait)
			}
		}
	}
}

// TestPrioKernelChecks: the kernel sees the priority: it serves every
// class it knows (as root, real time included) and refuses a class it
// does not know with EINVAL, in the request's Err.
func TestPrioKernelChecks(t *testing.T) {
	var ops []engine.Op
	e, f := prioEngine(t, &ops)
	buf := e.Buffer(bs)
	defer e.PutBuffer(buf)
	done := make(chan *engine.Request, 1)
	for _, c := range []struct {
		prio uint16
		want error
	}{
		{engine.IOPrio(engine.PrioClassRT, 0), nil},
		{engine.IOPrio(engine.PrioClassBE, 7), nil},
		{engine.IOPrio(engine.PrioClassIdle, 0), nil},
		{engine.IOPrio(5, 0), syscall.EINVAL},
		{engine.IOPrio(7, 7), syscall.EINVAL},
	} {
		for _, write := range []bool{false, true} {
			r := &engine.Request{File: f, Offset: 2 * bs, Buf: buf, Write: write, Prio: c.prio, Done: done}
			if err := e.Submit(r); err != nil {
				t.Fatal(err)
			}
			got := (<-done).Err
			if c.want == nil && got != nil || c.want != nil && !errors.Is(got, c.want) {
				t.Errorf("priority %#x, write %v: %v, want %v", c.prio, write, got, c.want)
			}
		}
	}
}

// TestAsync: Request.Async sends a request's device I/O to the kernel's
// async workers: while a queue reads with it, the io-wq worker threads of
// the queue's thread (iou-wrk-<tid>) are switched to for a good part of
// the reads (a quarter at least: under load a worker can take several
// without a switch); while it reads without it, issued inline to the
// loop device, they hardly run.
func TestAsync(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	tid := unix.Gettid()
	var ops []engine.Op
	e, f := prioEngine(t, &ops)
	const reads = 64
	for _, async := range []bool{false, true} {
		q, err := e.NewQueue()
		if err != nil {
			t.Fatal(err)
		}
		buf := e.Buffer(bs)
		before := looptest.IOWorkerRuns(tid)
		for i := range reads {
			r := &engine.Request{File: f, Offset: uint64(i%32) * bs, Buf: buf, Async: async}
			if err := q.Submit(r); err != nil {
				t.Fatal(err)
			}
			if done, err := q.Reap(nil, 1); err != nil || done[0].Err != nil {
				t.Fatalf("async %v: %v %v", async, err, done)
			}
		}
		runs := looptest.RunsSince(before, looptest.IOWorkerRuns(tid))
		e.PutBuffer(buf)
		if err := q.Close(); err != nil {
			t.Fatal(err)
		}
		if async && runs < reads/4 || !async && runs >= reads/8 {
			t.Errorf("Async %v: the io-wq workers ran %d times for %d reads", async, runs, reads)
		}
	}
}

// TestNoWait: the kernel honours Request.NoWait (RWF_NOWAIT), and the
// engine hands the EAGAIN back without retrying. A direct read of a range
// whose page cache pages are dirty has to write them back first, which a
// NOWAIT read refuses with EAGAIN (kiocb_write_and_wait); the same read
// without NoWait writes them back and reads what was written, and a NoWait
// read then succeeds. (A buffered read of dropped pages is no test: the
// kernel may start readahead and find the page read by the time it looks,
// as it did on every try in one CI run.)
func TestNoWait(t *testing.T) {
	if r, err := engine.NewIOURing(engine.RingOptions{Entries: 4}); err != nil {
		t.Skipf("io_uring: %v", err)
	} else {
		r.Close()
	}
	l := looptest.New(t, 1<<20, looptest.Options{})
	d, err := device.Open(l.Path, device.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	e, err := newTestEngine(engine.Config{Devices: []*device.Device{d}, Mapper: mapper.NewLinear(0, 0, 1<<20), QueueDepth: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	f, err := e.Open("f", engine.FileOptions{Size: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	const off, n = 64 * bs, 16 * bs
	// Dirty the range's pages through a buffered descriptor, not synced:
	// they stay dirty for the kernel's dirty_expire_centisecs (30 s).
	want := make([]byte, n)
	for i := range want {
		want[i] = byte(i*7 + 1)
	}
	w, err := os.OpenFile(l.Path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := w.WriteAt(want, off); err != nil {
		t.Fatal(err)
	}
	buf := e.Buffer(n)
	defer e.PutBuffer(buf)
	done := make(chan *engine.Request, 1)
	read := func(nowait bool) error {
		r := &engine.Request{File: f, Offset: off, Buf: buf, NoWait: nowait, Done: done}
		if err := e.Submit(r); err != nil {
			t.Fatal(err)
		}
		return (<-done).Err
	}
	retries := e.Stats().Retries
	if err := read(true); !errors.Is(err, syscall.EAGAIN) {
		t.Fatalf("NoWait direct read of a range with dirty pages: %v, want EAGAIN", err)
	}
	if n := e.Stats().Retries - retries; n != 0 {
		t.Errorf("the engine retried the NoWait read %d times", n)
	}
	if err := read(false); err != nil {
		t.Fatalf("the read without NoWait: %v", err)
	}
	if !bytes.Equal(buf, want) {
		t.Errorf("the read without NoWait did not return the bytes written through the page cache")
	}
	clear(buf)
	if err := read(true); err != nil {
		t.Errorf("NoWait read once the pages are written back: %v", err)
	}
	if !bytes.Equal(buf, want) {
		t.Errorf("the NoWait read did not return the bytes written")
	}
}

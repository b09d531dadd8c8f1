package engine_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/iobench/iobench/device"
	"github.com/iobench/iobench/engine"
	"github.com/iobench/iobench/mapcache"
	"golang.org/x/sys/unix"
)

// gateMapper is a stripeMapper whose MapRead reports each call on entered
// and then waits until release is closed.
type gateMapper struct {
	*stripeMapper
	entered chan struct{}
	release chan struct{}
}

func (m *gateMapper) MapRead(req *engine.MapRequest, dst []mapcache.Mapping) ([]mapcache.Mapping, error) {
	m.entered <- struct{}{}
	<-m.release
	return m.stripeMapper.MapRead(req, dst)
}

// TestDirectCallsAcrossThreads: one direct queue serves calls from
// goroutines locked to four different threads, with requests of 16
// device I/Os on a queue of depth 2 (eight rounds each, the later ones
// with the goroutine locked to its thread), and with what the direct
// queue cannot take handed to the background queue. Every byte written
// reads back, and every call is counted on one path or the other.
func TestDirectCallsAcrossThreads(t *testing.T) {
	const blocks = 1024
	m := newStripeMapper(blocks, bs, 3)
	e, _ := newEngine(t, blocks*bs, m, func(c *engine.Config) { c.QueueDepth = 2; c.DirectQueues = 1 })
	f, err := e.Open("f", engine.FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	const (
		callers = 4
		rounds  = 40
		span    = 16 * bs // a 16-piece request: the stripe mapper's extents are a block or a few
	)
	var wg sync.WaitGroup
	tids := make([]int, callers)
	errs := make([]error, callers)
	for g := range callers {
		wg.Go(func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			tids[g] = unix.Gettid()
			w, r := e.Buffer(span), e.Buffer(span)
			defer e.PutBuffer(w)
			defer e.PutBuffer(r)
			for i := range rounds {
				off := int64(g*blocks/callers*bs) + int64(i%(blocks/callers*bs/span))*span // the caller's own quarter
				fill(w, uint64(g*1000+i))
				if n, err := f.WriteAt(w, off); err != nil || n != span {
					errs[g] = errors.Join(err, errors.New("short write"))
					return
				}
				if n, err := f.ReadAt(r, off); err != nil || n != span {
					errs[g] = errors.Join(err, errors.New("short read"))
					return
				}
				if !bytes.Equal(r, w) {
					errs[g] = errors.New("read back differs from what was written")
					return
				}
			}
		})
	}
	wg.Wait()
	for g, err := range errs {
		if err != nil {
			t.Fatalf("caller %d (thread %d): %v", g, tids[g], err)
		}
	}
	s := e.Stats()
	if s.DirectCalls == 0 {
		t.Fatal("no call ran on the direct queue")
	}
	if got, want := s.DirectCalls+s.HandedOff, uint64(callers*rounds*2); got != want {
		t.Fatalf("%d direct calls + %d handed off = %d, want %d calls", s.DirectCalls, s.HandedOff, got, want)
	}
	if made, idle := e.DirectQueuesMade(); made != 1 || idle != 1 {
		t.Fatalf("%d direct queues made, %d idle; want 1 and 1", made, idle)
	}
}

// TestDirectQueuesLimit: with two direct queues, a third call in progress
// at the same time goes to the background queue. The calls are held in
// the mapper until all three are in it.
func TestDirectQueuesLimit(t *testing.T) {
	const blocks = 256
	m := &gateMapper{stripeMapper: newStripeMapper(blocks, bs, 5), entered: make(chan struct{}), release: make(chan struct{})}
	e, path := newEngine(t, blocks*bs, m, func(c *engine.Config) { c.NoCache = true; c.DirectQueues = 2 })
	f, err := e.Open("f", engine.FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dev := readFile(t, path)
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range 3 {
		wg.Go(func() {
			b := make([]byte, bs)
			off := uint64(i * 10)
			if _, err := f.ReadAt(b, int64(off*bs)); err != nil {
				errs[i] = err
				return
			}
			d := m.perm[off] * bs
			if !bytes.Equal(b, dev[d:d+bs]) {
				errs[i] = errors.New("read returned other data than the device holds")
			}
		})
	}
	for range 3 {
		<-m.entered
	}
	if made, idle := e.DirectQueuesMade(); made != 2 || idle != 0 {
		t.Errorf("with 3 calls in the mapper: %d direct queues made, %d idle; want 2 and 0", made, idle)
	}
	close(m.release)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("call %d: %v", i, err)
		}
	}
	if s := e.Stats(); s.DirectCalls != 2 || s.HandedOff != 1 {
		t.Errorf("%d direct calls and %d handed off, want 2 and 1", s.DirectCalls, s.HandedOff)
	}
}

// TestCloseWaitsForDirectCall: Close waits for a call in progress on a
// direct queue, which completes with its data; calls after Close fail
// with ErrClosed.
func TestCloseWaitsForDirectCall(t *testing.T) {
	const blocks = 64
	m := &gateMapper{stripeMapper: newStripeMapper(blocks, bs, 7), entered: make(chan struct{}), release: make(chan struct{})}
	path := backing(t, blocks*bs)
	e, err := newTestEngine(engine.Config{Devices: []*device.Device{openDev(t, path, false)}, Mapper: m, DirectQueues: 4})
	if err != nil {
		t.Fatal(err)
	}
	f, err := e.Open("f", engine.FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dev := readFile(t, path)
	read := make(chan error, 1)
	b := make([]byte, bs)
	go func() {
		_, err := f.ReadAt(b, 3*bs)
		read <- err
	}()
	<-m.entered
	closed := make(chan error, 1)
	go func() { closed <- e.Close() }()
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) with a ReadAt in progress", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(m.release)
	if err := <-read; err != nil {
		t.Fatalf("the ReadAt Close waited for: %v", err)
	}
	if d := m.perm[3] * bs; !bytes.Equal(b, dev[d:d+bs]) {
		t.Fatal("the ReadAt Close waited for returned other data than the device holds")
	}
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
	if made, _ := e.DirectQueuesMade(); made != 0 {
		t.Fatalf("%d direct queues left after Close", made)
	}
	if _, err := f.ReadAt(b, 0); !errors.Is(err, engine.ErrClosed) {
		t.Fatalf("ReadAt after Close: %v, want ErrClosed", err)
	}
}

// TestDirectQueuesOff: DirectQueues -1 sends every call to the background
// queues, as before direct queues existed.
func TestDirectQueuesOff(t *testing.T) {
	const blocks = 64
	e, _ := newEngine(t, blocks*bs, newStripeMapper(blocks, bs, 9), func(c *engine.Config) { c.DirectQueues = -1 })
	f, _ := e.Open("f", engine.FileOptions{})
	b := make([]byte, bs)
	for i := range 10 {
		if _, err := f.ReadAt(b, int64(i)*bs); err != nil {
			t.Fatal(err)
		}
	}
	if s := e.Stats(); s.DirectCalls != 0 || s.HandedOff != 10 {
		t.Fatalf("%d direct calls and %d handed off, want 0 and 10", s.DirectCalls, s.HandedOff)
	}
	if made, _ := e.DirectQueuesMade(); made != 0 {
		t.Fatalf("%d direct queues made with DirectQueues -1", made)
	}
}

// failOnce fails the first Submit that waits, without submitting, as a
// ring whose io_uring_enter failed would.
type failOnce struct {
	engine.Ring
	fail *atomic.Int32
}

func (r failOnce) Submit(waitNr int, timeout time.Duration) error {
	if waitNr > 0 && r.fail.Add(-1) == 0 {
		return syscall.EBADF
	}
	return r.Ring.Submit(waitNr, timeout)
}

// TestDirectRingFailure: a direct queue whose ring fails under a call
// completes what it holds (the call's read succeeds all the same here:
// the operation was still queued) and is retired; the next call makes a
// new one.
func TestDirectRingFailure(t *testing.T) {
	const blocks = 64
	m := newStripeMapper(blocks, bs, 11)
	var fail atomic.Int32
	e, path := newEngine(t, blocks*bs, m, func(c *engine.Config) {
		c.DirectQueues = 1
		c.NewRing = func(o engine.RingOptions) (engine.Ring, error) {
			r, err := engine.NewIOURing(o)
			if err != nil || !o.Shared {
				return r, err
			}
			return failOnce{Ring: r, fail: &fail}, nil
		}
	})
	f, _ := e.Open("f", engine.FileOptions{})
	dev := readFile(t, path)
	b := make([]byte, bs)
	if _, err := f.ReadAt(b, 0); err != nil { // makes the direct queue
		t.Fatal(err)
	}
	fail.Store(1)
	n, err := f.ReadAt(b, 5*bs)
	if err != nil || n != bs {
		t.Fatalf("ReadAt over a failing ring: %d, %v", n, err)
	}
	if d := m.perm[5] * bs; !bytes.Equal(b, dev[d:d+bs]) {
		t.Fatal("ReadAt over a failing ring returned other data than the device holds")
	}
	if made, _ := e.DirectQueuesMade(); made != 0 {
		t.Fatalf("%d direct queues after a ring failure, want the failed one retired", made)
	}
	if _, err := f.ReadAt(b, 6*bs); err != nil {
		t.Fatal(err)
	}
	if made, idle := e.DirectQueuesMade(); made != 1 || idle != 1 {
		t.Fatalf("%d direct queues made, %d idle after the next call; want 1 and 1", made, idle)
	}
}

// TestDirectLoneIOBySyscall: a direct call whose request is one device
// I/O runs it as pread(2) or pwrite(2). Single-block writes and reads, in
// place and out of place, read back as written and make no io_uring_enter
// call; a request of several device I/Os goes through the ring; with the
// system calls turned off (SetDirectSyscalls) the same single-block calls
// enter the ring, and read back the same.
func TestDirectLoneIOBySyscall(t *testing.T) {
	const fileBlocks, devBlocks = 64, 192
	for _, syscalls := range []bool{true, false} {
		for _, cow := range []bool{false, true} {
			t.Run(fmt.Sprintf("syscalls=%v/cow=%v", syscalls, cow), func(t *testing.T) {
				defer engine.SetDirectSyscalls(syscalls)()
				var m engine.Mapper = newStripeMapper(devBlocks, bs, 5)
				if cow {
					m = newCOWMapper(devBlocks, fileBlocks, bs)
				}
				e, _ := newEngine(t, devBlocks*bs, m, func(c *engine.Config) { c.DirectQueues = 2 })
				f, err := e.Open("f", engine.FileOptions{})
				if err != nil {
					t.Fatal(err)
				}
				buf := e.Buffer(fileBlocks * bs)
				defer e.PutBuffer(buf)
				want := make([]byte, fileBlocks*bs)
				fill(want, 11)
				enters := e.Stats().RingEnters
				order := rand.New(rand.NewPCG(3, 4)).Perm(fileBlocks)
				for _, b := range order {
					blk := buf[b*bs : (b+1)*bs]
					copy(blk, want[b*bs:])
					if n, err := f.WriteAt(blk, int64(b*bs)); err != nil || n != bs {
						t.Fatalf("write of block %d: %d bytes, %v", b, n, err)
					}
				}
				clear(buf)
				for _, b := range order {
					if n, err := f.ReadAt(buf[b*bs:(b+1)*bs], int64(b*bs)); err != nil || n != bs {
						t.Fatalf("read of block %d: %d bytes, %v", b, n, err)
					}
				}
				if !bytes.Equal(buf, want) {
					t.Fatal("single-block reads differ from the single-block writes")
				}
				s := e.Stats()
				lone := s.RingEnters - enters
				if syscalls && lone != 0 {
					t.Errorf("%d io_uring_enter calls for %d single-block calls, want none", lone, 2*fileBlocks)
				}
				if !syscalls && lone < 2*fileBlocks {
					t.Errorf("%d io_uring_enter calls for %d single-block calls on the ring, want one each at least", lone, 2*fileBlocks)
				}
				if s.DirectCalls < 2*fileBlocks {
					t.Errorf("DirectCalls %d, want %d at least", s.DirectCalls, 2*fileBlocks)
				}
				// The whole file in one call: many device I/Os, on the ring.
				clear(buf)
				if n, err := f.ReadAt(buf, 0); err != nil || n != len(buf) {
					t.Fatalf("whole-file read: %d bytes, %v", n, err)
				}
				if !bytes.Equal(buf, want) {
					t.Fatal("whole-file read differs from the single-block writes")
				}
				if e.Stats().RingEnters == s.RingEnters {
					t.Error("a read of many device I/Os made no io_uring_enter call")
				}
			})
		}
	}
}

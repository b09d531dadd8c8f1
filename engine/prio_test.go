package engine_test

import (
	"errors"
	"syscall"
	"testing"

	"github.com/iobench/iobench/device"
	"github.com/iobench/iobench/device/looptest"
	"github.com/iobench/iobench/engine"
)

// prioRing records the priority of every read and write queued on it.
type prioRing struct {
	engine.Ring
	prios *[]uint16
}

func (r prioRing) Queue(op *engine.Op) bool {
	ok := r.Ring.Queue(op)
	if ok && op.Sync == engine.NoSync && op.Trim == engine.NoTrim {
		*r.prios = append(*r.prios, op.Prio)
	}
	return ok
}

// prioEngine is an engine on a fresh loop device whose rings record the
// priorities queued (into *prios) and whose mapper puts every other
// 4 KiB block of the file on a separate extent, so that a request of
// several blocks is split.
func prioEngine(t *testing.T, prios *[]uint16) (*engine.Engine, *engine.File) {
	t.Helper()
	l := looptest.New(t, 8<<20, looptest.Options{})
	d, err := device.Open(l.Path, device.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	e, err := engine.New(engine.Config{Devices: []*device.Device{d}, Mapper: newStripeMapper(1024, bs, 3),
		QueueDepth: 8, NewRing: func(o engine.RingOptions) (engine.Ring, error) {
			r, err := engine.NewIOURing(o)
			if err != nil {
				return nil, err
			}
			return prioRing{r, prios}, nil
		}})
	if err != nil {
		t.Skipf("io_uring: %v", err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Error(err)
		}
	})
	f, err := e.Open("f", engine.FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return e, f
}

// TestPrioReachesTheRing: Request.Prio goes with each device I/O of the
// request, all pieces of a split one included, and 0 stays 0.
func TestPrioReachesTheRing(t *testing.T) {
	var prios []uint16
	e, f := prioEngine(t, &prios)
	q, err := e.NewQueue()
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	for _, c := range []struct {
		write  bool
		blocks int
		prio   uint16
	}{
		{false, 1, engine.IOPrio(engine.PrioClassRT, 0)},
		{true, 1, engine.IOPrio(engine.PrioClassIdle, 0)},
		{false, 4, engine.IOPrio(engine.PrioClassBE, 5)},
		{true, 3, engine.IOPrio(engine.PrioClassBE, 7)},
		{false, 2, 0},
	} {
		prios = prios[:0]
		buf := e.Buffer(c.blocks * bs)
		r := &engine.Request{File: f, Offset: 8 * bs, Buf: buf, Write: c.write, Prio: c.prio}
		if err := q.Submit(r); err != nil {
			t.Fatal(err)
		}
		done, err := q.Reap(nil, 1)
		if err != nil || len(done) != 1 || done[0].Err != nil {
			t.Fatalf("%+v: %v %v", c, err, done)
		}
		e.PutBuffer(buf)
		if len(prios) < c.blocks {
			t.Fatalf("%+v: %d device I/Os queued, want at least %d (the mapper splits every block)", c, len(prios), c.blocks)
		}
		for i, p := range prios {
			if p != c.prio {
				t.Errorf("%+v: device I/O %d had priority %#x, want %#x", c, i, p, c.prio)
			}
		}
	}
}

// TestPrioKernelChecks: the kernel sees the priority: it serves every
// class it knows (as root, real time included) and refuses a class it
// does not know with EINVAL, in the request's Err.
func TestPrioKernelChecks(t *testing.T) {
	var prios []uint16
	e, f := prioEngine(t, &prios)
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

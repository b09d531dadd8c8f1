package engine_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/iobench/iobench/device/looptest"
	"github.com/iobench/iobench/engine"
)

// atomicUnitMax reads the loop device's queue/atomic_write_unit_max_bytes
// (0: the device cannot write atomically).
func atomicUnitMax(t *testing.T, dev string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("/sys/block", filepath.Base(dev), "queue/atomic_write_unit_max_bytes"))
	if err != nil {
		t.Skipf("no atomic write attributes in sysfs (kernel before 6.11?): %v", err)
	}
	return strings.TrimSpace(string(b))
}

// TestAtomicReachesTheKernel: Request.Atomic sets RWF_ATOMIC on the write's
// one device I/O (the ring sees Op.Atomic), and the kernel acts on it: a
// loop device cannot write atomically (its atomic write units are 0), so
// the atomic write fails with EOPNOTSUPP, where the same write without
// Atomic succeeds and its Op has no Atomic.
func TestAtomicReachesTheKernel(t *testing.T) {
	var ops []engine.Op
	l := looptest.New(t, 8<<20, looptest.Options{})
	if r, err := engine.NewIOURing(engine.RingOptions{Entries: 4}); err != nil {
		t.Skipf("io_uring: %v", err)
	} else {
		r.Close()
	}
	if m := atomicUnitMax(t, l.Path); m != "0" {
		t.Skipf("%s has atomic write units up to %s bytes: this test wants a device without", l.Path, m)
	}
	e, f := trimEngine(t, l.Path, func(c *engine.Config) {
		c.NewRing = func(o engine.RingOptions) (engine.Ring, error) {
			r, err := engine.NewIOURing(o)
			if err != nil {
				return nil, err
			}
			return opRing{r, &ops}, nil
		}
	})
	q, err := e.NewQueue()
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	buf := e.Buffer(bs)
	defer e.PutBuffer(buf)
	for _, atomic := range []bool{true, false} {
		ops = ops[:0]
		r := &engine.Request{File: f, Offset: 4 * bs, Buf: buf, Write: true, Atomic: atomic}
		if err := q.Submit(r); err != nil {
			t.Fatal(err)
		}
		done, err := q.Reap(nil, 1)
		if err != nil || len(done) != 1 {
			t.Fatalf("atomic %v: %v %v", atomic, err, done)
		}
		if len(ops) != 1 || ops[0].Atomic != atomic || !ops[0].Write {
			t.Errorf("atomic %v: device I/Os queued %+v, want one write with Atomic %v", atomic, ops, atomic)
		}
		switch got := done[0].Err; {
		case atomic && !errors.Is(got, syscall.EOPNOTSUPP):
			t.Errorf("atomic write to %s, which has no atomic write units: %v, want EOPNOTSUPP", l.Path, got)
		case !atomic && got != nil:
			t.Errorf("plain write: %v", got)
		}
	}
}

// TestAtomicSplitRefused: an atomic write that would go out as several
// device writes (here its two blocks lie on two extents) fails with
// ErrAtomicSplit before any device I/O is queued, as does an atomic read;
// an atomic write of one extent goes out as one device write with Atomic
// set.
func TestAtomicSplitRefused(t *testing.T) {
	var ops []engine.Op
	e, f := prioEngine(t, &ops)
	sm := newStripeMapper(1024, bs, 3) // prioEngine's mapper: the same seed, the same layout
	split, whole := -1, -1
	for b := range len(sm.perm) - 1 {
		if sm.perm[b+1] != sm.perm[b]+1 && split < 0 {
			split = b
		}
		if sm.perm[b+1] == sm.perm[b]+1 && whole < 0 {
			whole = b
		}
	}
	if split < 0 || whole < 0 {
		t.Fatalf("the stripe mapper's layout has no split (%d) or no two-block extent (%d)", split, whole)
	}
	q, err := e.NewQueue()
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	buf := e.Buffer(2 * bs)
	defer e.PutBuffer(buf)
	for _, c := range []struct {
		name  string
		block int
		write bool
		split bool
	}{
		{"write over two extents", split, true, true},
		{"read", whole, false, true},
		{"write of one extent", whole, true, false},
	} {
		ops = ops[:0]
		r := &engine.Request{File: f, Offset: uint64(c.block) * bs, Buf: buf, Write: c.write, Atomic: true}
		if err := q.Submit(r); err != nil {
			t.Fatal(err)
		}
		done, err := q.Reap(nil, 1)
		if err != nil || len(done) != 1 {
			t.Fatalf("%s: %v %v", c.name, err, done)
		}
		got := done[0].Err
		if c.split {
			if !errors.Is(got, engine.ErrAtomicSplit) || len(ops) != 0 {
				t.Errorf("atomic %s: %v with %d device I/Os queued, want ErrAtomicSplit and none", c.name, got, len(ops))
			}
			continue
		}
		if errors.Is(got, engine.ErrAtomicSplit) || len(ops) != 1 || !ops[0].Atomic || ops[0].Len != 2*bs {
			t.Errorf("atomic %s: %v, device I/Os %+v, want one of %d bytes with Atomic", c.name, got, ops, 2*bs)
		}
	}
}

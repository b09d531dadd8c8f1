package engine_test

import (
	"cmp"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/iobench/iobench/engine"
	"github.com/iobench/iobench/engine/faultring"
)

// syncRangeOp is one sync_file_range the ring completed: its device
// range, flags and result.
type syncRangeOp struct {
	addr, n uint64
	flags   engine.SyncRangeFlags
	res     int32
}

// syncRangeRing makes the engine's rings record (into *ops) the
// sync_file_range operations they complete.
func syncRangeRing(mu *sync.Mutex, ops *[]syncRangeOp) func(*engine.Config) {
	return func(c *engine.Config) {
		c.NewRing = faultring.NewFactory(nil, func(f *faultring.Ring) {
			f.Observe = func(op engine.Op, done bool, res int32) {
				if !done || op.Sync != engine.SyncRange {
					return
				}
				mu.Lock()
				*ops = append(*ops, syncRangeOp{op.Offset, uint64(op.Len), op.SyncFlags, res})
				mu.Unlock()
			}
		})
	}
}

// TestSyncRangeTranslates: File.SyncRange of a file whose blocks the
// mapper scatters over the device becomes sync_file_range operations on
// the device ranges under the file range, to the byte (a range that
// starts and ends inside blocks included), one for each run of blocks
// that follow each other on the device (in any order), with the
// request's flags, and the kernel takes each (result 0).
func TestSyncRangeTranslates(t *testing.T) {
	const blocks = 64
	var mu sync.Mutex
	var ops []syncRangeOp
	m := newStripeMapper(blocks, bs, 4)
	e, _ := newEngine(t, blocks*bs, m, syncRangeRing(&mu, &ops))
	f, err := e.Open("striped", engine.FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	flags := engine.SyncRangeWaitBefore | engine.SyncRangeWrite | engine.SyncRangeWaitAfter
	for _, c := range []struct{ off, n uint64 }{{0, blocks * bs}, {3*bs + 100, 20 * bs}, {bs - 1, 2}, {17 * bs, bs}, {5 * bs, 0}} {
		mu.Lock()
		ops = ops[:0]
		mu.Unlock()
		if err := f.SyncRange(int64(c.off), int64(c.n), flags); err != nil {
			t.Fatalf("SyncRange(%d, %d): %v", c.off, c.n, err)
		}
		// The device ranges under [off, off+n), block by block, joined
		// where they follow each other.
		var want []syncRangeOp
		for off := c.off; off < c.off+c.n; {
			b := off / bs
			end := min(c.off+c.n, (b+1)*bs)
			addr := m.perm[b]*bs + off%bs
			if k := len(want) - 1; k >= 0 && want[k].addr+want[k].n == addr {
				want[k].n += end - off
			} else {
				want = append(want, syncRangeOp{addr, end - off, flags, 0})
			}
			off = end
		}
		// The ring records them as they complete, which need not be the
		// order they went in: compare them by device address.
		mu.Lock()
		got := append([]syncRangeOp(nil), ops...)
		mu.Unlock()
		byAddr := func(a, b syncRangeOp) int { return cmp.Compare(a.addr, b.addr) }
		slices.SortFunc(got, byAddr)
		slices.SortFunc(want, byAddr)
		if len(got) != len(want) {
			t.Fatalf("SyncRange(%d, %d): %d operations %v, want %d %v", c.off, c.n, len(got), got, len(want), want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("SyncRange(%d, %d): operation %d is %+v, want %+v", c.off, c.n, i, got[i], want[i])
			}
		}
	}
}

// TestSyncRangeSkipsHoles: blocks of the file that hold nothing on the
// device (never written, with an out-of-place mapper) take no
// sync_file_range; written ones take theirs at the device address their
// last write went to, and a range past the end of the file stops there.
func TestSyncRangeSkipsHoles(t *testing.T) {
	var mu sync.Mutex
	var ops []syncRangeOp
	m := newCOWMapper(64, 16, bs)
	e, _ := newEngine(t, 64*bs, m, syncRangeRing(&mu, &ops))
	f, err := e.Open("cow", engine.FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	buf := e.Buffer(bs)
	defer e.PutBuffer(buf)
	for _, b := range []int64{2, 3, 9, 3} { // block 3 twice: its second place counts
		if _, err := f.WriteAt(buf, b*bs); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.SyncRange(0, 64*bs, engine.SyncRangeWrite); err != nil {
		t.Fatal(err)
	}
	m.mu.Lock()
	want := map[uint64]bool{m.data[2] * bs: true, m.data[3] * bs: true, m.data[9] * bs: true}
	m.mu.Unlock()
	mu.Lock()
	defer mu.Unlock()
	n := 0
	for _, op := range ops {
		for a := op.addr; a < op.addr+op.n; a += bs {
			if !want[a] || op.flags != engine.SyncRangeWrite || op.res != 0 {
				t.Errorf("operation %+v covers device block at %d, not one the file's written blocks are on", op, a)
			}
			n++
		}
	}
	if n != len(want) {
		t.Errorf("operations %v cover %d blocks, want the 3 written ones", ops, n)
	}
}

// TestSyncRangeRefuses: a negative range, unknown flags and a closed file
// are refused before anything reaches the ring.
func TestSyncRangeRefuses(t *testing.T) {
	var mu sync.Mutex
	var ops []syncRangeOp
	e, _ := newEngine(t, 1<<20, newStripeMapper(256, bs, 1), syncRangeRing(&mu, &ops))
	f, err := e.Open("f", engine.FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.SyncRange(-1, bs, engine.SyncRangeWrite); err == nil {
		t.Error("negative offset taken")
	}
	if err := f.SyncRange(0, bs, 8); err == nil {
		t.Error("flag 8 taken")
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.SyncRange(0, bs, engine.SyncRangeWrite); !errors.Is(err, engine.ErrFileClosed) {
		t.Errorf("closed file: %v, want ErrFileClosed", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(ops) != 0 {
		t.Errorf("refused requests reached the ring: %v", ops)
	}
}

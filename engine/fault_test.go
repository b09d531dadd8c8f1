package engine_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/iobench/iobench/engine"
	"github.com/iobench/iobench/engine/faultring"
	"github.com/iobench/iobench/mapcache"
)

// faults builds a Config tweak that puts a FaultRing configured by setup
// behind every queue.
func faults(setup func(*faultring.Ring)) func(*engine.Config) {
	return func(c *engine.Config) { c.NewRing = faultring.NewFactory(nil, setup) }
}

func TestOutOfPlaceRewrite(t *testing.T) {
	const fileBlocks, devBlocks = 32, 96
	m := newCOWMapper(devBlocks, fileBlocks, bs)
	e, _ := newEngine(t, devBlocks*bs, m, nil)
	f, err := e.Open("cow", engine.FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b := e.Buffer(fileBlocks * bs)
	defer e.PutBuffer(b)
	if _, err := f.ReadAt(b, 0); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, make([]byte, len(b))) {
		t.Fatal("unwritten cow file does not read as zeros")
	}
	want := make([]byte, len(b))
	for gen := range 3 {
		fill(want, uint64(gen))
		copy(b, want)
		if _, err := f.WriteAt(b, 0); err != nil {
			t.Fatalf("gen %d: %v", gen, err)
		}
		clear(b)
		if _, err := f.ReadAt(b, 0); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, want) {
			t.Fatalf("gen %d: read back differs", gen)
		}
	}
	s := f.Stats()
	if s.OutOfPlace != 3*fileBlocks {
		t.Fatalf("out-of-place writes %d, want %d", s.OutOfPlace, 3*fileBlocks)
	}
	// Two rewrites freed two generations of blocks; nothing else leaked.
	if got := m.freeBlocks(); got != devBlocks-fileBlocks {
		t.Fatalf("free blocks %d, want %d", got, devBlocks-fileBlocks)
	}
	if n := f.Cache().Len(mapcache.WriteFork); n != 0 {
		// The Delalloc arm is consumed block by block as it is written.
		t.Fatalf("write fork still holds %d records after every block was written", n)
	}
}

// TestFailedWriteKeepsOldData: a device error on an out-of-place write
// fails the write with EIO naming the device, returns the new space and
// leaves the old data readable.
func TestFailedWriteKeepsOldData(t *testing.T) {
	const fileBlocks, devBlocks = 8, 32
	var failWrites atomic.Bool
	m := newCOWMapper(devBlocks, fileBlocks, bs)
	e, path := newEngine(t, devBlocks*bs, m, faults(func(r *faultring.Ring) {
		r.Inject = func(op *engine.Op) faultring.Fault {
			if op.Write && failWrites.Load() {
				return faultring.Fault{Errno: syscall.EIO}
			}
			return faultring.Fault{}
		}
	}))
	f, _ := e.Open("cow", engine.FileOptions{})
	b := e.Buffer(fileBlocks * bs)
	defer e.PutBuffer(b)
	old := make([]byte, len(b))
	fill(old, 1)
	copy(b, old)
	if _, err := f.WriteAt(b, 0); err != nil {
		t.Fatal(err)
	}
	free := m.freeBlocks()
	failWrites.Store(true)
	fill(b, 2)
	_, err := f.WriteAt(b, 0)
	if !errors.Is(err, syscall.EIO) {
		t.Fatalf("failed write: %v, want EIO", err)
	}
	var ioErr *engine.IOError
	if !errors.As(err, &ioErr) || ioErr.DevPath != path || ioErr.Addr == mapcache.NullAddr {
		t.Fatalf("error does not name the device and address: %v", err)
	}
	failWrites.Store(false)
	clear(b)
	if _, err := f.ReadAt(b, 0); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, old) {
		t.Fatal("a failed write lost the old data")
	}
	if got := m.freeBlocks(); got != free {
		t.Fatalf("free blocks %d after the failed write, want %d back", got, free)
	}
}

func TestShortTransfersAndEAGAIN(t *testing.T) {
	const blocks = 64
	var n atomic.Int64
	m := newStripeMapper(blocks, bs, 11)
	e, _ := newEngine(t, blocks*bs, m, faults(func(r *faultring.Ring) {
		r.Inject = func(op *engine.Op) faultring.Fault {
			switch n.Add(1) % 4 {
			case 1:
				return faultring.Fault{Errno: syscall.EAGAIN}
			case 2:
				if op.Len > 512 {
					return faultring.Fault{Short: op.Len / 2 &^ 511}
				}
			case 3:
				return faultring.Fault{Hold: 3}
			}
			return faultring.Fault{}
		}
		r.MaxReap = 2
	}))
	f, _ := e.Open("f", engine.FileOptions{})
	want := make([]byte, blocks*bs)
	fill(want, 12)
	b := e.Buffer(len(want))
	defer e.PutBuffer(b)
	copy(b, want)
	if _, err := f.WriteAt(b, 0); err != nil {
		t.Fatal(err)
	}
	clear(b)
	if _, err := f.ReadAt(b, 0); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, want) {
		t.Fatal("data differs after short transfers, retries and late completions")
	}
	s := e.Stats()
	if s.ShortIOs == 0 || s.Retries == 0 {
		t.Fatalf("faults not exercised: short %d retries %d", s.ShortIOs, s.Retries)
	}
}

func TestPersistentErrors(t *testing.T) {
	for _, c := range []struct {
		name  string
		fault faultring.Fault
		want  error
	}{
		{"EAGAIN forever", faultring.Fault{Errno: syscall.EAGAIN}, syscall.EAGAIN},
		{"EIO", faultring.Fault{Errno: syscall.EIO}, syscall.EIO},
		{"zero-byte transfer", faultring.Fault{Zero: true}, engine.ErrShortIO},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := newStripeMapper(8, bs, 13)
			e, _ := newEngine(t, 8*bs, m, faults(func(r *faultring.Ring) {
				r.Inject = func(*engine.Op) faultring.Fault { return c.fault }
			}))
			f, _ := e.Open("f", engine.FileOptions{})
			b := e.Buffer(bs)
			defer e.PutBuffer(b)
			_, err := f.ReadAt(b, 0)
			if !errors.Is(err, c.want) {
				t.Fatalf("ReadAt: %v, want %v", err, c.want)
			}
			if f.Stats().Errors != 1 {
				t.Fatal("error not counted")
			}
		})
	}
}

func TestNoSpace(t *testing.T) {
	const fileBlocks, devBlocks = 8, 10
	m := newCOWMapper(devBlocks, fileBlocks, bs)
	e, _ := newEngine(t, devBlocks*bs, m, nil)
	f, _ := e.Open("cow", engine.FileOptions{})
	b := e.Buffer(fileBlocks * bs)
	defer e.PutBuffer(b)
	want := make([]byte, len(b))
	fill(want, 3)
	copy(b, want)
	if _, err := f.WriteAt(b, 0); err != nil {
		t.Fatal(err)
	}
	fill(b, 4)
	if _, err := f.WriteAt(b, 0); !errors.Is(err, engine.ErrNoSpace) {
		t.Fatalf("rewrite with 2 free blocks: %v, want ErrNoSpace", err)
	}
	clear(b)
	if _, err := f.ReadAt(b, 0); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, want) {
		t.Fatal("out of space lost the old data")
	}
}

// TestRewritesWhileReading runs out-of-place writers and readers together.
// Every block carries (block, generation) and a pattern derived from them:
// readers must never see a torn block, another block's data or a
// generation older than one they saw, and freed space must never be handed
// out while a device I/O still targets it.
func TestRewritesWhileReading(t *testing.T) {
	const fileBlocks, devBlocks, writers, readers = 64, 512, 4, 4
	iters := 300
	if testing.Short() {
		iters = 50
	}
	m := newCOWMapper(devBlocks, fileBlocks, bs)
	var mu sync.Mutex
	targeted := map[uint64]int{} // device block -> I/Os in flight on it
	var violations atomic.Int64
	m.freeHook = func(d uint64) {
		mu.Lock()
		defer mu.Unlock()
		if targeted[d] > 0 {
			violations.Add(1)
		}
	}
	e, _ := newEngine(t, devBlocks*bs, m, faults(func(r *faultring.Ring) {
		rng := rand.New(rand.NewPCG(1, 2))
		r.Inject = func(op *engine.Op) faultring.Fault {
			if rng.IntN(4) == 0 {
				return faultring.Fault{Hold: 1 + rng.IntN(4)}
			}
			return faultring.Fault{}
		}
		r.Observe = func(op engine.Op, done bool, _ int32) {
			mu.Lock()
			defer mu.Unlock()
			for a := op.Offset / bs; a < (op.Offset+uint64(op.Len)+bs-1)/bs; a++ {
				if done {
					targeted[a]--
				} else {
					targeted[a]++
				}
			}
		}
	}))
	f, _ := e.Open("cow", engine.FileOptions{})
	// Generation 0 everywhere first.
	b := e.Buffer(fileBlocks * bs)
	for i := range fileBlocks {
		stamp(b[i*bs:(i+1)*bs], uint64(i), 0)
	}
	if _, err := f.WriteAt(b, 0); err != nil {
		t.Fatal(err)
	}
	e.PutBuffer(b)

	var wg sync.WaitGroup
	errc := make(chan error, writers+readers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := e.Buffer(bs)
			defer e.PutBuffer(buf)
			rng := rand.New(rand.NewPCG(uint64(w), 3))
			gens := make([]uint64, fileBlocks)
			for range iters {
				blk := uint64(rng.IntN(fileBlocks/writers)*writers + w)
				gens[blk]++
				stamp(buf, blk, gens[blk])
				if _, err := f.WriteAt(buf, int64(blk*bs)); err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	for r := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := e.Buffer(8 * bs)
			defer e.PutBuffer(buf)
			rng := rand.New(rand.NewPCG(uint64(r), 4))
			seen := make([]uint64, fileBlocks)
			for range iters {
				n := 1 + rng.IntN(8)
				first := rng.IntN(fileBlocks - n + 1)
				if _, err := f.ReadAt(buf[:n*bs], int64(first*bs)); err != nil {
					errc <- err
					return
				}
				for i := range n {
					blk := uint64(first + i)
					gen, err := checkStamp(buf[i*bs:(i+1)*bs], blk)
					if err != nil {
						errc <- err
						return
					}
					if gen < seen[blk] {
						errc <- fmt.Errorf("block %d went back from generation %d to %d", blk, seen[blk], gen)
						return
					}
					seen[blk] = gen
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	if v := violations.Load(); v != 0 {
		t.Fatalf("%d device blocks were freed while an I/O still targeted them", v)
	}
}

// stamp fills a block with its number, generation and a pattern of both.
func stamp(b []byte, blk, gen uint64) {
	binary.LittleEndian.PutUint64(b[0:], blk)
	binary.LittleEndian.PutUint64(b[8:], gen)
	x := blk*0x9e3779b97f4a7c15 ^ gen
	for i := 16; i < len(b); i += 8 {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		binary.LittleEndian.PutUint64(b[i:], x)
	}
}

func checkStamp(b []byte, blk uint64) (uint64, error) {
	got := binary.LittleEndian.Uint64(b[0:])
	gen := binary.LittleEndian.Uint64(b[8:])
	if got != blk {
		return 0, fmt.Errorf("block %d holds block %d's data", blk, got)
	}
	want := make([]byte, len(b))
	stamp(want, blk, gen)
	if !bytes.Equal(b, want) {
		return 0, fmt.Errorf("block %d generation %d is torn", blk, gen)
	}
	return gen, nil
}

package engine_test

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/iobench/iobench/device"
	"github.com/iobench/iobench/engine"
	"github.com/iobench/iobench/engine/faultring"
	"github.com/iobench/iobench/mapcache"
)

// layoutMapper maps file block i to device block at[i] (-1: a hole), one
// block per mapping, so that a read of several blocks splits into one
// piece per block and the engine decides what to merge.
type layoutMapper struct{ at []int64 }

func (m *layoutMapper) OpenFile(*engine.File) (uint64, error) { return uint64(len(m.at)) * bs, nil }

func (m *layoutMapper) MapRead(req *engine.MapRequest, dst []mapcache.Mapping) ([]mapcache.Mapping, error) {
	b := req.Offset / bs
	if b >= uint64(len(m.at)) {
		return append(dst, mapcache.Mapping{Offset: b * bs, Length: mapcache.ToEOF&^(bs-1) - b*bs,
			Addr: mapcache.NullAddr, Type: mapcache.Hole}), nil
	}
	if m.at[b] < 0 {
		return append(dst, mapcache.Mapping{Offset: b * bs, Length: bs, Addr: mapcache.NullAddr, Type: mapcache.Hole}), nil
	}
	return append(dst, mapcache.Mapping{Offset: b * bs, Length: bs, Addr: uint64(m.at[b]) * bs, Type: mapcache.Mapped}), nil
}

func (m *layoutMapper) MapWrite(*engine.MapRequest, []mapcache.Mapping) ([]mapcache.Mapping, error) {
	return nil, engine.ErrReadOnly
}

func (m *layoutMapper) EndWrite(_ *engine.WriteEnd, dst []mapcache.Mapping) ([]mapcache.Mapping, error) {
	return dst, nil
}

func (m *layoutMapper) Free([]mapcache.Mapping) {}

// gapLayout draws a file of n blocks on a device of devBlocks: runs that
// climb with gaps of 0 to 3 blocks, jumps back, and holes.
func gapLayout(rng *rand.Rand, n, devBlocks int) []int64 {
	at := make([]int64, n)
	next := int64(rng.IntN(devBlocks / 4))
	for i := range at {
		switch k := rng.IntN(20); {
		case k == 0:
			at[i] = -1
			continue
		case k == 1:
			next = int64(rng.IntN(devBlocks - 8)) // a jump, often backwards
		}
		if next >= int64(devBlocks) {
			next = int64(rng.IntN(devBlocks / 2))
		}
		at[i] = next
		next += 1 + int64(rng.IntN(4))
	}
	return at
}

// expected returns what reading the file gives: the device's blocks
// where mapped, zeros in holes.
func expected(dev []byte, at []int64) []byte {
	out := make([]byte, len(at)*bs)
	for i, a := range at {
		if a >= 0 {
			copy(out[i*bs:(i+1)*bs], dev[a*bs:(a+1)*bs])
		}
	}
	return out
}

// layoutFile makes an engine over a device image of devBlocks, with the
// file laid out as at, and opens the file; want is what reading it all
// gives.
func layoutFile(t *testing.T, at []int64, devBlocks int, tweak func(*engine.Config)) (e *engine.Engine, f *engine.File, want []byte) {
	t.Helper()
	e, path := newEngine(t, int64(devBlocks)*bs, &layoutMapper{at: at}, tweak)
	dev, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if f, err = e.Open("f", engine.FileOptions{}); err != nil {
		t.Fatal(err)
	}
	return e, f, expected(dev, at)
}

// TestReadGap reads files of random layouts with ReadGap on and off and
// checks the data against the device's, and that merged reads ran (the
// gaps' bytes, the device's own, must never reach the caller's buffer).
func TestReadGap(t *testing.T) {
	const fileBlocks, devBlocks = 256, 1024
	for seed := uint64(1); seed <= 4; seed++ {
		rng := rand.New(rand.NewPCG(seed, 3))
		at := gapLayout(rng, fileBlocks, devBlocks)
		for _, gap := range []int{0, 2 * bs} {
			e, f, want := layoutFile(t, at, devBlocks, func(c *engine.Config) { c.ReadGap = gap })
			b := e.Buffer(len(want))
			// Reads of every size from 1 to 32 blocks at random offsets,
			// then the whole file, each into a buffer filled with junk.
			for i := 0; i < 200; i++ {
				n := 1 + rng.IntN(32)
				off := rng.IntN(fileBlocks-n+1) * bs
				buf := b[:n*bs]
				for j := range buf {
					buf[j] = 0xA5
				}
				if _, err := f.ReadAt(buf, int64(off)); err != nil {
					t.Fatalf("seed %d gap %d: ReadAt(%d, %d): %v", seed, gap, n*bs, off, err)
				}
				if !bytes.Equal(buf, want[off:off+n*bs]) {
					t.Fatalf("seed %d gap %d: ReadAt(%d, %d) read the wrong data", seed, gap, n*bs, off)
				}
			}
			if _, err := f.ReadAt(b, 0); err != nil || !bytes.Equal(b, want) {
				t.Fatalf("seed %d gap %d: whole file: %v, or wrong data", seed, gap, err)
			}
			e.PutBuffer(b)
			s := e.Stats()
			if gap == 0 && (s.GapReads != 0 || s.GapBytes != 0) {
				t.Fatalf("ReadGap 0 merged reads: %+v", s)
			}
			if gap > 0 && (s.GapReads == 0 || s.GapBytes == 0 || s.GapSplits != 0) {
				t.Fatalf("seed %d: ReadGap %d: %d merged reads, %d gap bytes, %d split again", seed, gap, s.GapReads, s.GapBytes, s.GapSplits)
			}
		}
	}
}

// TestReadGapFaults fails or shortens merged reads: the pieces are read
// again one by one and the data comes out right; a piece whose own read
// fails fails the request with an error naming its address.
func TestReadGapFaults(t *testing.T) {
	const fileBlocks, devBlocks = 64, 256
	at := make([]int64, fileBlocks)
	for i := range at {
		at[i] = int64(2*i + 1) // a block's gap between each two
	}
	bad := uint64(at[9]) * bs
	for _, c := range []struct {
		name  string
		fault func(op *engine.Op) faultring.Fault
		fails bool
	}{
		{"EIO on merged reads", func(op *engine.Op) faultring.Fault {
			if op.Iovecs > 0 {
				return faultring.Fault{Errno: syscall.EIO}
			}
			return faultring.Fault{}
		}, false},
		{"EAGAIN on merged reads", func(op *engine.Op) faultring.Fault {
			if op.Iovecs > 0 {
				return faultring.Fault{Errno: syscall.EAGAIN}
			}
			return faultring.Fault{}
		}, false},
		{"zero bytes from merged reads", func(op *engine.Op) faultring.Fault {
			if op.Iovecs > 0 {
				return faultring.Fault{Zero: true}
			}
			return faultring.Fault{}
		}, false},
		{"one bad block", func(op *engine.Op) faultring.Fault {
			if op.Offset <= bad && bad < op.Offset+uint64(op.Len) {
				return faultring.Fault{Errno: syscall.EIO}
			}
			return faultring.Fault{}
		}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			var vectored atomic.Int64
			e, f, want := layoutFile(t, at, devBlocks, func(cfg *engine.Config) {
				cfg.ReadGap = bs
				cfg.NewRing = faultring.NewFactory(nil, func(r *faultring.Ring) {
					r.Inject = func(op *engine.Op) faultring.Fault {
						if op.Iovecs > 0 {
							vectored.Add(1)
						}
						return c.fault(op)
					}
				})
			})
			b := e.Buffer(16 * bs)
			defer e.PutBuffer(b)
			for off := 0; off < fileBlocks*bs; off += len(b) {
				clear(b)
				_, err := f.ReadAt(b, int64(off))
				hitsBad := off <= 9*bs && 9*bs < off+len(b)
				if c.fails && hitsBad {
					var ioErr *engine.IOError
					if !errors.As(err, &ioErr) || !errors.Is(err, syscall.EIO) || ioErr.Addr != bad {
						t.Fatalf("ReadAt(%d): %v; want EIO at device address %d", off, err, bad)
					}
					continue
				}
				if err != nil {
					t.Fatalf("ReadAt(%d): %v", off, err)
				}
				if !bytes.Equal(b, want[off:off+len(b)]) {
					t.Fatalf("ReadAt(%d): wrong data", off)
				}
			}
			s := e.Stats()
			if vectored.Load() == 0 || s.GapSplits == 0 {
				t.Fatalf("no merged read was faulted: %d vectored, %d split again", vectored.Load(), s.GapSplits)
			}
		})
	}
}

// TestReadGapLimits: a negative or too large ReadGap is refused.
func TestReadGapLimits(t *testing.T) {
	for _, gap := range []int{-1, 1<<20 + 1} {
		m := &layoutMapper{at: []int64{0}}
		path := backing(t, 16*bs)
		_, err := engine.New(engine.Config{Devices: []*device.Device{openDev(t, path, false)}, Mapper: m, ReadGap: gap})
		if err == nil {
			t.Fatalf("ReadGap %d accepted", gap)
		}
	}
}

// FuzzReadGap reads files of fuzzed layouts through merged reads and
// checks every byte against the device's: data[0] picks the gap limit
// (0 to 3 blocks), the next 32 bytes place the file's 32 blocks on a
// 64-block device (63: a hole), and each further pair of bytes is a read
// (offset block, length in blocks).
func FuzzReadGap(f *testing.F) {
	seq := func(gap byte, at func(i int) byte, reads ...byte) []byte {
		b := []byte{gap}
		for i := range 32 {
			b = append(b, at(i))
		}
		return append(b, reads...)
	}
	f.Add(seq(1, func(i int) byte { return byte(2 * i) }, 0, 32, 3, 9, 31, 1))                            // a block apart
	f.Add(seq(2, func(i int) byte { return byte(i + i/4) }, 0, 32, 5, 7))                                 // runs of four, then a gap
	f.Add(seq(3, func(i int) byte { return byte(62 - i) }, 0, 32))                                        // descending: nothing merges
	f.Add(seq(1, func(i int) byte { return []byte{63, 10, 12, 63, 14}[i%5] + byte(i/5*6) }, 0, 32, 1, 4)) // holes between
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 33 {
			return
		}
		const fileBlocks, devBlocks = 32, 64
		gap := int(data[0]%4) * bs
		at := make([]int64, fileBlocks)
		for i := range at {
			if d := int64(data[1+i] % devBlocks); d == devBlocks-1 {
				at[i] = -1
			} else {
				at[i] = d
			}
		}
		e, f, want := layoutFile(t, at, devBlocks, func(c *engine.Config) { c.ReadGap = gap })
		b := e.Buffer(fileBlocks * bs)
		defer e.PutBuffer(b)
		reads := data[33:]
		for k := 0; k+1 < len(reads) && k < 64; k += 2 {
			off := int(reads[k] % fileBlocks)
			n := 1 + int(reads[k+1])%(fileBlocks-off)
			buf := b[:n*bs]
			for i := range buf {
				buf[i] = 0x5A
			}
			if _, err := f.ReadAt(buf, int64(off*bs)); err != nil {
				t.Fatalf("ReadAt(%d blocks at %d): %v", n, off, err)
			}
			if !bytes.Equal(buf, want[off*bs:(off+n)*bs]) {
				t.Fatalf("ReadAt(%d blocks at %d), gap %d, layout %v: wrong data", n, off, gap, at)
			}
		}
	})
}

// TestReadGapFixedBuffers: with registered buffers, merged reads go out as
// IORING_OP_READV_FIXED into the arena's registered region where the
// kernel has the opcode (no page pinning per read), and as plain READV
// where it does not; the data is right either way.
func TestReadGapFixedBuffers(t *testing.T) {
	const fileBlocks, devBlocks = 32, 128
	at := make([]int64, fileBlocks)
	for i := range at {
		at[i] = int64(3 * i)
	}
	var mu sync.Mutex
	var fixed, plain int
	e, f, want := layoutFile(t, at, devBlocks, func(c *engine.Config) {
		c.ReadGap, c.FixedBuffers = 2*bs, true
		c.NewRing = faultring.NewFactory(nil, func(r *faultring.Ring) {
			r.Observe = func(op engine.Op, done bool, _ int32) {
				if done || op.Iovecs == 0 {
					return
				}
				mu.Lock()
				defer mu.Unlock()
				if op.BufIndex >= 0 {
					fixed++
				} else {
					plain++
				}
			}
		})
	})
	b := e.Buffer(fileBlocks * bs)
	defer e.PutBuffer(b)
	if _, err := f.ReadAt(b, 0); err != nil || !bytes.Equal(b, want) {
		t.Fatalf("ReadAt: %v, or wrong data", err)
	}
	mu.Lock()
	defer mu.Unlock()
	switch {
	case fixed+plain == 0:
		t.Fatal("no merged read")
	case engine.ReadvFixedAvailable() && plain > 0:
		t.Fatalf("the kernel has READV_FIXED, yet %d merged reads went out as READV (%d fixed)", plain, fixed)
	case !engine.ReadvFixedAvailable() && fixed > 0:
		t.Fatalf("the kernel lacks READV_FIXED, yet %d merged reads used it", fixed)
	}
	t.Logf("READV_FIXED available: %v; %d fixed, %d plain merged reads", engine.ReadvFixedAvailable(), fixed, plain)
}

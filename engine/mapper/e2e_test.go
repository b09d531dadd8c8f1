package mapper_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/iobench/iobench/device"
	"github.com/iobench/iobench/device/looptest"
	"github.com/iobench/iobench/engine"
	"github.com/iobench/iobench/engine/mapper"
)

// TestMain fails the run if a queue goroutine or a loop device survives
// the tests.
func TestMain(m *testing.M) { looptest.MainNoLeaks(m) }

const bs = 4096

// loopEngine makes a loop device of sizeBytes (4 KiB blocks, on tmpfs) and
// an engine over it with mapper m.
func loopEngine(t *testing.T, sizeBytes int64, m engine.Mapper, queues int) (*engine.Engine, *os.File) {
	t.Helper()
	l := looptest.New(t, sizeBytes, looptest.Options{LogicalBlockSize: bs})
	return engineOn(t, l.Path, m, queues, false)
}

func engineOn(t *testing.T, path string, m engine.Mapper, queues int, readOnly bool) (*engine.Engine, *os.File) {
	t.Helper()
	return engineCfg(t, path, m, readOnly, engine.Config{Queues: queues})
}

func engineCfg(t *testing.T, path string, m engine.Mapper, readOnly bool, cfg engine.Config) (*engine.Engine, *os.File) {
	t.Helper()
	d, err := device.Open(path, device.Options{ReadOnly: readOnly})
	if err != nil {
		t.Fatalf("device.Open(%s): %v", path, err)
	}
	t.Cleanup(func() { d.Close() })
	cfg.Devices, cfg.Mapper, cfg.QueueDepth = []*device.Device{d}, m, 64
	e, err := engine.New(cfg)
	if err != nil {
		if errors.Is(err, syscall.ENOSYS) || errors.Is(err, syscall.EPERM) {
			t.Skipf("io_uring unavailable: %v", err)
		}
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Error(err)
		}
	})
	// A plain (buffered) view of the device, to check where data landed.
	raw, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	return e, raw
}

func pattern(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 11))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32() | 1)
	}
	return b
}

func dropDeviceCache(t *testing.T, raw *os.File) {
	t.Helper()
	// BLKFLSBUF: the buffered view must not serve pages cached before the
	// engine's direct writes.
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, raw.Fd(), 0x1261, 0); errno != 0 {
		t.Fatalf("BLKFLSBUF: %v", errno)
	}
}

func TestLinearOnLoop(t *testing.T) {
	const start = 1 << 20
	m := mapper.NewLinear(0, start, 8<<20)
	e, raw := loopEngine(t, 16<<20, m, 2)
	f, err := e.Open("raw", engine.FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	buf := e.Buffer(256 << 10)
	defer e.PutBuffer(buf)
	want := pattern(len(buf), 1)
	for _, off := range []int64{0, 3 << 20, 8<<20 - 256<<10} {
		copy(buf, want)
		if _, err := f.WriteAt(buf, off); err != nil {
			t.Fatal(err)
		}
		clear(buf)
		if _, err := f.ReadAt(buf, off); err != nil || !bytes.Equal(buf, want) {
			t.Fatalf("read back at %d: %v, equal %v", off, err, bytes.Equal(buf, want))
		}
		dropDeviceCache(t, raw)
		got := make([]byte, len(want))
		if _, err := raw.ReadAt(got, start+off); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("device at %d does not hold the data written at file offset %d", start+off, off)
		}
	}
	// A range past the end of the device is refused at open.
	big := mapper.NewLinear(0, 1<<20, 16<<20)
	e2, _ := engineOn(t, raw.Name(), big, 1, true)
	if _, err := e2.Open("x", engine.FileOptions{}); !errors.Is(err, mapper.ErrConfig) {
		t.Fatalf("range past the device: %v, want ErrConfig", err)
	}
	// Past the range: io.ReaderAt's EOF; writes refused.
	if n, err := f.ReadAt(buf[:bs], 8<<20); n != 0 || err == nil {
		t.Fatalf("read past the range: %d, %v", n, err)
	}
	if _, err := f.WriteAt(buf[:bs], 8<<20); !errors.Is(err, engine.ErrBeyondEOF) {
		t.Fatalf("write past the range: %v", err)
	}
}

func TestScatteredOnLoop(t *testing.T) {
	m, err := mapper.NewScattered(mapper.ScatteredConfig{FileSize: 16 << 20, Extents: 600, Seed: 5, ReplyExtents: 2})
	if err != nil {
		t.Fatal(err)
	}
	e, raw := loopEngine(t, 32<<20, m, 2)
	f, err := e.Open("s", engine.FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Extents() != 600 || f.Size() != 16<<20 {
		t.Fatalf("%d extents, size %d", m.Extents(), f.Size())
	}
	want := pattern(16<<20, 2)
	buf := e.Buffer(1 << 20)
	defer e.PutBuffer(buf)
	for off := 0; off < len(want); off += len(buf) {
		copy(buf, want[off:])
		if _, err := f.WriteAt(buf, int64(off)); err != nil {
			t.Fatal(err)
		}
	}
	// Every extent's bytes are where the layout says.
	dropDeviceCache(t, raw)
	for i := 0; i < m.Extents(); i += 37 {
		x := m.Extent(i)
		got := make([]byte, x.Length)
		if _, err := raw.ReadAt(got, int64(x.Addr)); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want[x.Offset:x.Offset+x.Length]) {
			t.Fatalf("extent %d %+v: device bytes differ from the file's", i, x)
		}
	}
	// Cold read through a second file: the mapper is called on misses.
	g, _ := e.Open("cold", engine.FileOptions{})
	calls := m.Calls()
	for off := 0; off < len(want); off += len(buf) {
		if _, err := g.ReadAt(buf, int64(off)); err != nil || !bytes.Equal(buf, want[off:off+len(buf)]) {
			t.Fatalf("cold read at %d: %v", off, err)
		}
	}
	if m.Calls() == calls {
		t.Fatal("cold reads did not call the mapper")
	}
	// Warm: no calls at all.
	h, _ := e.Open("warm", engine.FileOptions{})
	if err := m.Warm(h); err != nil {
		t.Fatal(err)
	}
	calls = m.Calls()
	for off := 0; off < len(want); off += len(buf) {
		if _, err := h.ReadAt(buf, int64(off)); err != nil || !bytes.Equal(buf, want[off:off+len(buf)]) {
			t.Fatalf("warm read at %d: %v", off, err)
		}
	}
	if m.Calls() != calls {
		t.Fatalf("warm reads called the mapper %d times", m.Calls()-calls)
	}
}

// block headers: file offset and generation, then the writer's pattern.
func stamp(b []byte, off, gen uint64) {
	binary.LittleEndian.PutUint64(b[0:], off)
	binary.LittleEndian.PutUint64(b[8:], gen)
	for i := 16; i < len(b); i++ {
		b[i] = byte(off>>12) ^ byte(gen) ^ byte(i)
	}
}

func checkStamp(b []byte) (off, gen uint64, ok bool) {
	off = binary.LittleEndian.Uint64(b[0:])
	gen = binary.LittleEndian.Uint64(b[8:])
	for i := 16; i < len(b); i++ {
		if b[i] != byte(off>>12)^byte(gen)^byte(i) {
			return off, gen, false
		}
	}
	return off, gen, true
}

// TestCOWOnLoop rewrites blocks out of place while readers run: readers
// never see a torn block, another block's data, or a generation older than
// one they saw; blocks never written read as zeros; afterwards the space
// used is exactly the file's data.
func TestCOWOnLoop(t *testing.T) {
	const fileBlocks = 256
	m, err := mapper.NewCOW(mapper.COWConfig{ExtentHint: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	e, _ := loopEngine(t, 16<<20, m, 2)
	f, err := e.Open("c", engine.FileOptions{Size: fileBlocks * bs})
	if err != nil {
		t.Fatal(err)
	}
	const writers, rounds = 4, 60
	var wg sync.WaitGroup
	errc := make(chan error, writers+2)
	stop := make(chan struct{})
	// Writer w owns blocks b with b%writers == w and only the first half
	// of the file: the second half stays a hole.
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 3))
			buf := e.Buffer(bs)
			defer e.PutBuffer(buf)
			for gen := uint64(1); gen <= rounds; gen++ {
				for b := w; b < fileBlocks/2; b += writers {
					if rng.IntN(2) == 0 && gen != rounds {
						continue
					}
					stamp(buf, uint64(b)*bs, gen)
					if _, err := f.WriteAt(buf, int64(b)*bs); err != nil {
						errc <- err
						return
					}
				}
			}
		}()
	}
	var rwg sync.WaitGroup
	for r := range 2 {
		rwg.Add(1)
		go func() {
			defer rwg.Done()
			rng := rand.New(rand.NewPCG(uint64(r), 4))
			buf := e.Buffer(4 * bs)
			defer e.PutBuffer(buf)
			seen := make([]uint64, fileBlocks)
			for {
				select {
				case <-stop:
					return
				default:
				}
				b := rng.IntN(fileBlocks - 4)
				if _, err := f.ReadAt(buf, int64(b)*bs); err != nil {
					errc <- err
					return
				}
				for i := range 4 {
					blk := buf[i*bs : (i+1)*bs]
					if b+i >= fileBlocks/2 {
						if !bytes.Equal(blk, make([]byte, bs)) {
							errc <- errors.New("a never-written block does not read as zeros")
							return
						}
						continue
					}
					off, gen, ok := checkStamp(blk)
					if off == 0 && gen == 0 && bytes.Equal(blk, make([]byte, bs)) {
						continue // not written yet
					}
					if !ok || off != uint64(b+i)*bs || gen < seen[b+i] {
						errc <- errors.New("torn, misplaced or stale block")
						return
					}
					seen[b+i] = gen
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	rwg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	buf := e.Buffer(bs)
	for b := range fileBlocks / 2 {
		if _, err := f.ReadAt(buf, int64(b)*bs); err != nil {
			t.Fatal(err)
		}
		if off, gen, ok := checkStamp(buf); !ok || off != uint64(b)*bs || gen != rounds {
			t.Fatalf("block %d: off %d gen %d ok %v, want the last round", b, off, gen, ok)
		}
	}
	e.PutBuffer(buf)
	if err := e.Close(); err != nil { // drains: every freed extent reaches Free
		t.Fatal(err)
	}
	if err := m.Check(f); err != nil {
		t.Fatal(err)
	}
	// Used space is the file's data, plus replies the engine dropped after
	// a race (still pending, handed out again by the next write).
	if used, pend := m.UsedBytes(), m.PendingBytes(); used-pend != fileBlocks/2*bs {
		t.Fatalf("%d bytes used (%d pending) after the writes, want the file's %d (stats %+v)", used, pend, fileBlocks/2*bs, m.Stats())
	}
	t.Logf("stats %+v, engine %+v", m.Stats(), e.Stats())
}

// TestCOWSameRange has writers race on the same blocks: each block ends up
// wholly one writer's, and no space is lost or freed twice.
func TestCOWSameRange(t *testing.T) {
	m, err := mapper.NewCOW(mapper.COWConfig{})
	if err != nil {
		t.Fatal(err)
	}
	e, _ := loopEngine(t, 8<<20, m, 4)
	f, err := e.Open("c", engine.FileOptions{Size: 64 * bs})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errc := make(chan error, 8)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := e.Buffer(16 * bs)
			defer e.PutBuffer(buf)
			for gen := range 40 {
				for i := range 16 {
					stamp(buf[i*bs:(i+1)*bs], uint64(i)*bs, uint64(w*1000+gen))
				}
				if _, err := f.WriteAt(buf, 0); err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	buf := e.Buffer(16 * bs)
	if _, err := f.ReadAt(buf, 0); err != nil {
		t.Fatal(err)
	}
	for i := range 16 {
		if off, _, ok := checkStamp(buf[i*bs : (i+1)*bs]); !ok || off != uint64(i)*bs {
			t.Fatalf("block %d torn or misplaced", i)
		}
	}
	e.PutBuffer(buf)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m.Check(f); err != nil {
		t.Fatal(err)
	}
	if used, pend := m.UsedBytes(), m.PendingBytes(); used-pend != 16*bs || pend > 16*bs {
		t.Fatalf("%d bytes used (%d pending), want 16 blocks of data (stats %+v)", used, pend, m.Stats())
	}
}

func TestCOWNoSpaceOnLoop(t *testing.T) {
	m, err := mapper.NewCOW(mapper.COWConfig{Start: 1 << 20, Length: 256 << 10})
	if err != nil {
		t.Fatal(err)
	}
	e, _ := loopEngine(t, 4<<20, m, 1)
	f, err := e.Open("c", engine.FileOptions{Size: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	buf := e.Buffer(128 << 10)
	defer e.PutBuffer(buf)
	want := pattern(len(buf), 9)
	copy(buf, want)
	if _, err := f.WriteAt(buf, 0); err != nil {
		t.Fatal(err)
	}
	big := e.Buffer(512 << 10)
	defer e.PutBuffer(big)
	if _, err := f.WriteAt(big, 256<<10); !errors.Is(err, engine.ErrNoSpace) {
		t.Fatalf("write larger than the free space: %v, want ErrNoSpace", err)
	}
	clear(buf)
	if _, err := f.ReadAt(buf, 0); err != nil || !bytes.Equal(buf, want) {
		t.Fatalf("data written before running out of space: %v, equal %v", err, bytes.Equal(buf, want))
	}
}

// With the cache off the engine asks the mapper for every piece of every
// request; COW must serve that too.
func TestCOWNoCache(t *testing.T) {
	m, err := mapper.NewCOW(mapper.COWConfig{})
	if err != nil {
		t.Fatal(err)
	}
	l := looptest.New(t, 8<<20, looptest.Options{LogicalBlockSize: bs})
	e, _ := engineCfg(t, l.Path, m, false, engine.Config{NoCache: true})
	f, err := e.Open("c", engine.FileOptions{Size: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	buf := e.Buffer(64 << 10)
	want := pattern(len(buf), 5)
	for round := range 3 {
		copy(buf, want)
		buf[0] = byte(round)
		if _, err := f.WriteAt(buf, 128<<10); err != nil {
			t.Fatal(err)
		}
		clear(buf)
		if _, err := f.ReadAt(buf, 128<<10); err != nil || buf[0] != byte(round) || !bytes.Equal(buf[1:], want[1:]) {
			t.Fatalf("round %d: read back %v, first byte %d", round, err, buf[0])
		}
	}
	e.PutBuffer(buf)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m.Check(f); err != nil {
		t.Fatal(err)
	}
	if used := m.UsedBytes(); used != 64<<10 {
		t.Fatalf("%d bytes used, want the 64 KiB written (stats %+v)", used, m.Stats())
	}
}

// TestCOWReopen: a cow file closed and opened again holds its data and
// its size, and rewriting it round after round reuses the space its
// earlier data held. Each Open used to make a new empty file, so that the
// data was gone and the space it held was never freed: the third round
// of rewriting a 16 MiB file over 32 MiB of space failed with ErrNoSpace.
func TestCOWReopen(t *testing.T) {
	m, err := mapper.NewCOW(mapper.COWConfig{Start: 1 << 20, Length: 32 << 20, FileSize: 16 << 20})
	if err != nil {
		t.Fatal(err)
	}
	l := looptest.New(t, 40<<20, looptest.Options{LogicalBlockSize: bs})
	e, _ := engineOn(t, l.Path, m, 1, false)
	buf := e.Buffer(1 << 20)
	defer e.PutBuffer(buf)
	for round := range 5 {
		f, err := e.Open("data", engine.FileOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if f.Size() != 16<<20 {
			t.Fatalf("round %d: size %d", round, f.Size())
		}
		for off := int64(0); off < 16<<20; off += 1 << 20 {
			if round > 0 {
				if _, err := f.ReadAt(buf, off); err != nil || !bytes.Equal(buf, pattern(len(buf), uint64(round-1)<<8|uint64(off>>20))) {
					t.Fatalf("round %d: %d MiB: the data of the round before is gone (%v)", round, off>>20, err)
				}
			}
			copy(buf, pattern(len(buf), uint64(round)<<8|uint64(off>>20)))
			if _, err := f.WriteAt(buf, off); err != nil {
				t.Fatalf("round %d: write at %d MiB: %v (free %d bytes)", round, off>>20, err, m.FreeBytes())
			}
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		if err := e.Sync(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.Open("data", engine.FileOptions{Size: 8 << 20}); !errors.Is(err, mapper.ErrConfig) {
		t.Errorf("reopened with another size: %v, want ErrConfig", err)
	}
	// A file is open in one engine at a time: another engine over the
	// same mapper is refused while this one has it, and finds the data
	// once this one closed it.
	f, err := e.Open("data", engine.FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e2, _ := engineOn(t, l.Path, m, 1, true) // read-only: this process holds the device for writing
	if _, err := e2.Open("data", engine.FileOptions{}); err == nil || !strings.Contains(err.Error(), "open in another engine") {
		t.Fatalf("open in a second engine while the first has it: %v", err)
	}
	f.Close()
	f2, err := e2.Open("data", engine.FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	buf2 := e2.Buffer(1 << 20)
	defer e2.PutBuffer(buf2)
	if _, err := f2.ReadAt(buf2, 15<<20); err != nil || !bytes.Equal(buf2, pattern(len(buf2), 4<<8|15)) {
		t.Fatalf("the data, read through a second engine: %v", err)
	}
}

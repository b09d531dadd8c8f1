package mapper

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/iobench/iobench/engine"
	"github.com/iobench/iobench/mapcache"
)

// deviceless returns an engine with no devices, enough to open files and
// call a mapper's methods directly.
func deviceless(t testing.TB, m engine.Mapper) *engine.Engine {
	t.Helper()
	e, err := engine.New(engine.Config{Mapper: m, ArenaBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Error(err)
		}
	})
	return e
}

func open(t testing.TB, e *engine.Engine, name string, size uint64) *engine.File {
	t.Helper()
	f, err := e.Open(name, engine.FileOptions{Size: size, BlockSize: 4096})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func mapRead(t testing.TB, m engine.Mapper, f *engine.File, off, length uint64) []mapcache.Mapping {
	t.Helper()
	out, err := m.MapRead(&engine.MapRequest{File: f, Offset: off, Length: length, Seq: f.Cache().Seq()}, nil)
	if err != nil {
		t.Fatalf("MapRead(%d, %d): %v", off, length, err)
	}
	return out
}

func TestLinear(t *testing.T) {
	m := NewLinear(0, 1<<20, 64<<20+100)
	e := deviceless(t, m)
	f := open(t, e, "raw", 0)
	if f.Size() != 64<<20 {
		t.Fatalf("size %d, want the range rounded down to blocks (%d)", f.Size(), 64<<20)
	}
	got := mapRead(t, m, f, 8192, 4096)
	want := mapcache.Mapping{Offset: 8192, Length: 64<<20 - 8192, Addr: 1<<20 + 8192, Type: mapcache.Mapped}
	if len(got) != 1 || got[0] != want {
		t.Fatalf("MapRead = %+v, want %+v", got, want)
	}
	if _, err := m.MapRead(&engine.MapRequest{File: f, Offset: 64 << 20}, nil); !errors.Is(err, ErrOutsideFile) {
		t.Fatalf("MapRead past the range: %v, want ErrOutsideFile", err)
	}
	w, err := m.MapWrite(&engine.MapRequest{File: f, Offset: 0, Length: 4096}, nil)
	if err != nil || len(w) != 1 || w[0].Type != mapcache.PureOverwrite {
		t.Fatalf("MapWrite = %+v, %v, want a pure overwrite", w, err)
	}
	// Unaligned start: refused at open.
	m2 := NewLinear(0, 100, 1<<20)
	e2 := deviceless(t, m2)
	if _, err := e2.Open("x", engine.FileOptions{}); !errors.Is(err, ErrConfig) {
		t.Fatalf("unaligned start: %v, want ErrConfig", err)
	}
	assertNoAllocs(t, m, f)
}

// assertNoAllocs checks that MapRead into a reused dst allocates nothing.
func assertNoAllocs(t *testing.T, m engine.Mapper, f *engine.File) {
	t.Helper()
	dst := make([]mapcache.Mapping, 0, 16)
	req := &engine.MapRequest{File: f, Length: 4096}
	allocs := testing.AllocsPerRun(200, func() {
		var err error
		if dst, err = m.MapRead(req, dst[:0]); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("MapRead allocates %v times per call", allocs)
	}
}

func TestScattered(t *testing.T) {
	cfg := ScatteredConfig{DeviceStart: 4096, DeviceLength: 256 << 20, FileSize: 64 << 20, Extents: 1000, Seed: 3, ReplyExtents: 3}
	m, err := NewScattered(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e := deviceless(t, m)
	f := open(t, e, "s", 0)
	if f.Size() != 64<<20 || m.Extents() != 1000 {
		t.Fatalf("size %d, %d extents", f.Size(), m.Extents())
	}
	for i := range m.Extents() {
		x := m.Extent(i)
		got := mapRead(t, m, f, x.Offset+x.Length-4096, 4096)
		if len(got) != min(3, m.Extents()-i) || got[0] != x {
			t.Fatalf("extent %d: MapRead = %+v, want %+v first", i, got, x)
		}
		if i+1 < m.Extents() && got[1] != m.Extent(i+1) {
			t.Fatalf("extent %d: second reply %+v, want %+v", i, got[1], m.Extent(i+1))
		}
		if x.Addr < cfg.DeviceStart || x.Addr+x.Length > cfg.DeviceStart+cfg.DeviceLength {
			t.Fatalf("extent %d %+v outside the device range", i, x)
		}
	}
	if m.Calls() != 1000 {
		t.Fatalf("%d calls counted, want 1000", m.Calls())
	}
	// Same seed, same layout.
	m2, _ := NewScattered(cfg)
	if m2.Extent(500) != m.Extent(500) {
		t.Fatal("two mappers with one seed differ")
	}
	// Warm fills the cache with the whole layout, without calls.
	if err := m.Warm(f); err != nil {
		t.Fatal(err)
	}
	if n := f.Cache().Len(mapcache.ReadFork); n != 1000 {
		t.Fatalf("warm cache holds %d records, want 1000 (neighbours must not merge)", n)
	}
	x := m.Extent(700)
	got, _, res := f.Cache().Lookup(mapcache.ReadFork, x.Offset+4096, 4096)
	if res != mapcache.Hit || got.Addr != x.Addr+4096 && x.Length > 4096 {
		t.Fatalf("warm lookup: %+v %v, want a hit in %+v", got, res, x)
	}
	if m.Calls() != 1000 {
		t.Fatal("Warm called the mapper")
	}
	assertNoAllocs(t, m, f)
}

func TestScatteredCost(t *testing.T) {
	for _, cost := range []time.Duration{20 * time.Microsecond, 200 * time.Microsecond} {
		m, err := NewScattered(ScatteredConfig{DeviceLength: 1 << 24, FileSize: 1 << 20, Extents: 16, Cost: cost})
		if err != nil {
			t.Fatal(err)
		}
		e := deviceless(t, m)
		f := open(t, e, "s", 0)
		const calls = 50
		t0 := time.Now()
		for range calls {
			mapRead(t, m, f, 0, 4096)
		}
		if dt := time.Since(t0); dt < calls*cost {
			t.Fatalf("%d calls at %v took %v, less than they cost", calls, cost, dt)
		}
	}
}

func TestScatteredBadConfig(t *testing.T) {
	if _, err := NewScattered(ScatteredConfig{DeviceLength: 1 << 20, FileSize: 1 << 21, Extents: 4}); !errors.Is(err, ErrConfig) {
		t.Fatalf("file bigger than the device: %v, want ErrConfig", err)
	}
	m, _ := NewScattered(ScatteredConfig{DeviceLength: 1 << 24, FileSize: 1 << 20, Extents: 4, BlockSize: 4096})
	e := deviceless(t, m)
	if _, err := e.Open("big-blocks", engine.FileOptions{BlockSize: 8192}); !errors.Is(err, ErrConfig) {
		t.Fatalf("file block larger than the layout's: %v, want ErrConfig", err)
	}
	// DeviceLength 0 waits for the device size; with no device there is
	// none.
	m0, _ := NewScattered(ScatteredConfig{FileSize: 1 << 20, Extents: 4})
	e0 := deviceless(t, m0)
	if _, err := e0.Open("x", engine.FileOptions{}); !errors.Is(err, ErrConfig) {
		t.Fatalf("no device: %v, want ErrConfig", err)
	}
}

func cowWrite(t *testing.T, m *COW, f *engine.File, off, length uint64, ok bool) (written []mapcache.Mapping, freed []mapcache.Mapping) {
	t.Helper()
	w, err := m.MapWrite(&engine.MapRequest{File: f, Offset: off, Length: length}, nil)
	if err != nil {
		t.Fatalf("MapWrite(%d, %d): %v", off, length, err)
	}
	var werr error
	if !ok {
		werr = errors.New("EIO")
	}
	for _, x := range w {
		if x.Type != mapcache.Mapped {
			t.Fatalf("MapWrite replied %+v", x)
		}
		freed, err = m.EndWrite(&engine.WriteEnd{File: f, Written: x, OutOfPlace: true, Err: werr}, freed)
		if err != nil {
			t.Fatal(err)
		}
	}
	return w, freed
}

func TestCOW(t *testing.T) {
	m, err := NewCOW(COWConfig{Start: 1 << 20, Length: 4 << 20, ExtentHint: 256 << 10})
	if err != nil {
		t.Fatal(err)
	}
	e := deviceless(t, m)
	f := open(t, e, "c", 1<<20)
	// Armed: the write fork covers the file with Delalloc.
	if wm, _, res := f.Cache().Lookup(mapcache.WriteFork, 8192, 4096); res != mapcache.Hit || wm.Type != mapcache.Delalloc {
		t.Fatalf("write fork at open: %+v %v, want a Delalloc hit", wm, res)
	}
	if got := mapRead(t, m, f, 0, 4096); got[0].Type != mapcache.Hole || got[0].Length != 1<<20 {
		t.Fatalf("new file reads %+v, want one hole", got)
	}
	w, freed := cowWrite(t, m, f, 0, 64<<10, true)
	if len(w) != 1 || w[0].Length != 64<<10 || len(freed) != 0 {
		t.Fatalf("first write: %+v, freed %+v", w, freed)
	}
	if got := mapRead(t, m, f, 4096, 4096); got[0].Type != mapcache.Mapped || got[0].Addr != w[0].Addr+4096 {
		t.Fatalf("after the write reads %+v, want mapped at %d", got, w[0].Addr+4096)
	}
	w2, freed := cowWrite(t, m, f, 8192, 8192, true)
	if len(freed) != 1 || freed[0].Addr != w[0].Addr+8192 || freed[0].Length != 8192 {
		t.Fatalf("rewrite freed %+v, want the old 8 KiB at %d", freed, w[0].Addr+8192)
	}
	if got := mapRead(t, m, f, 8192, 4096); got[0].Addr != w2[0].Addr {
		t.Fatalf("after the rewrite reads %+v, want %d", got, w2[0].Addr)
	}
	used := m.UsedBytes()
	m.Free(freed)
	if m.UsedBytes() != used-8192 {
		t.Fatalf("free gave back %d bytes, want 8192", used-m.UsedBytes())
	}
	// A failed write hands back its own space and leaves the data.
	_, freed = cowWrite(t, m, f, 0, 4096, false)
	if len(freed) != 1 || freed[0].Addr == w[0].Addr {
		t.Fatalf("failed write freed %+v", freed)
	}
	m.Free(freed)
	if got := mapRead(t, m, f, 0, 4096); got[0].Addr != w[0].Addr {
		t.Fatalf("failed write changed the data: %+v", got)
	}
	if m.UsedBytes() != 64<<10 {
		t.Fatalf("%d bytes used, want the file's 64 KiB", m.UsedBytes())
	}
	if err := m.Check(f); err != nil {
		t.Fatal(err)
	}
	assertNoAllocs(t, m, f)
}

func TestCOWNoSpace(t *testing.T) {
	m, _ := NewCOW(COWConfig{Length: 64 << 10})
	e := deviceless(t, m)
	f := open(t, e, "c", 1<<20)
	w, _ := cowWrite(t, m, f, 0, 128<<10, true)
	if len(w) != 1 || w[0].Length != 64<<10 {
		t.Fatalf("write larger than the space got %+v, want the 64 KiB there are", w)
	}
	_, err := m.MapWrite(&engine.MapRequest{File: f, Offset: 64 << 10, Length: 4096}, nil)
	if !errors.Is(err, engine.ErrNoSpace) {
		t.Fatalf("write with no space: %v, want engine.ErrNoSpace", err)
	}
	if m.Stats().NoSpace != 1 {
		t.Fatalf("stats %+v", m.Stats())
	}
}

func TestCOWPreallocate(t *testing.T) {
	m, _ := NewCOW(COWConfig{Length: 4 << 20, Preallocate: true, FileSize: 1 << 20})
	e := deviceless(t, m)
	f := open(t, e, "c", 0)
	if f.Size() != 1<<20 {
		t.Fatalf("size %d, want COWConfig.FileSize", f.Size())
	}
	got := mapRead(t, m, f, 0, 4096)
	if got[0].Type != mapcache.Mapped || got[0].Length != 1<<20 {
		t.Fatalf("preallocated file reads %+v, want one 1 MiB mapped extent", got)
	}
	if m.UsedBytes() != 1<<20 {
		t.Fatalf("%d bytes used, want 1 MiB", m.UsedBytes())
	}
}

func TestCOWNotOpen(t *testing.T) {
	m, _ := NewCOW(COWConfig{Length: 4 << 20})
	other := deviceless(t, NewLinear(0, 0, 1<<20))
	f := open(t, other, "x", 0)
	if _, err := m.MapRead(&engine.MapRequest{File: f}, nil); !errors.Is(err, ErrNotOpen) {
		t.Fatalf("file of another mapper: %v, want ErrNotOpen", err)
	}
}

func BenchmarkMapRead(b *testing.B) {
	lin := NewLinear(0, 0, 1<<30)
	sc, err := NewScattered(ScatteredConfig{DeviceLength: 1 << 36, FileSize: 1 << 34, Extents: 1 << 20, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	cow, _ := NewCOW(COWConfig{Length: 1 << 30, Preallocate: true, FileSize: 1 << 28})
	for _, bc := range []struct {
		name string
		m    engine.Mapper
		file string
	}{{"linear", lin, "f"}, {"scattered-1M", sc, "f"}, {"cow", cow, "f"}, {"fiemap-512", NewFiemap(0, FiemapOptions{}), ""}} {
		b.Run(bc.name, func(b *testing.B) {
			e := deviceless(b, bc.m)
			name := bc.file
			if name == "" {
				name = sparseFile(b, 512)
			}
			f := open(b, e, name, 0)
			size := f.Size()
			dst := make([]mapcache.Mapping, 0, 16)
			req := &engine.MapRequest{File: f, Length: 4096}
			x := uint64(88172645463325252)
			b.ReportAllocs()
			for b.Loop() {
				x ^= x << 13
				x ^= x >> 7
				x ^= x << 17
				req.Offset = x % size &^ 4095
				dst, err = bc.m.MapRead(req, dst[:0])
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCOWWrite is the mapper's share of a 4 KiB random out-of-place
// write: MapWrite, EndWrite, Free.
func BenchmarkCOWWrite(b *testing.B) {
	m, _ := NewCOW(COWConfig{Length: 1 << 30})
	e := deviceless(b, m)
	f := open(b, e, "f", 1<<28)
	var w, freed []mapcache.Mapping
	req := &engine.MapRequest{File: f, Length: 4096}
	end := &engine.WriteEnd{File: f, OutOfPlace: true}
	x := uint64(88172645463325252)
	b.ReportAllocs()
	for b.Loop() {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		req.Offset = x % (1 << 28) &^ 4095
		var err error
		if w, err = m.MapWrite(req, w[:0]); err != nil {
			b.Fatal(err)
		}
		end.Written = w[0]
		freed, _ = m.EndWrite(end, freed[:0])
		m.Free(freed)
	}
}

// sparseFile writes a file in the test's temporary directory with one
// written block in every two (so pieces extents), on the machine's disk
// filesystem; it skips when that filesystem has no FIEMAP.
func sparseFile(tb testing.TB, pieces int) string {
	tb.Helper()
	p := filepath.Join(tb.TempDir(), "sparse")
	fd, err := os.Create(p)
	if err != nil {
		tb.Fatal(err)
	}
	defer fd.Close()
	blk := make([]byte, 4096)
	for i := range blk {
		blk[i] = 1
	}
	for i := range pieces {
		if _, err := fd.WriteAt(blk, int64(i)*8192); err != nil {
			tb.Fatal(err)
		}
	}
	m := NewFiemap(0, FiemapOptions{})
	e := deviceless(tb, m)
	if _, err := e.Open(p, engine.FileOptions{}); err != nil {
		tb.Skipf("no FIEMAP on %s: %v", filepath.Dir(p), err)
	}
	return p
}

func TestFiemapMapRead(t *testing.T) {
	m := NewFiemap(0, FiemapOptions{ReplyExtents: 3})
	e := deviceless(t, m)
	f := open(t, e, sparseFile(t, 100), 0)
	defer m.Close(f)
	layout, err := m.Layout(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(layout) != 199 {
		t.Fatalf("%d segments for 100 written blocks with holes between, want 199", len(layout))
	}
	got := mapRead(t, m, f, 8192+4096, 4096)
	if len(got) != 3 || got[0] != layout[3] || got[2] != layout[5] {
		t.Fatalf("MapRead = %+v, want segments 3-5 %+v", got, layout[3:6])
	}
	if _, err := m.MapWrite(&engine.MapRequest{File: f, Length: 4096}, nil); !errors.Is(err, engine.ErrReadOnly) {
		t.Fatalf("MapWrite: %v, want ErrReadOnly", err)
	}
	if wm, _, res := f.Cache().Lookup(mapcache.WriteFork, 0, 4096); res != mapcache.Hit || wm.Type != mapcache.Delalloc {
		t.Fatalf("write fork %+v %v: writes would not reach MapWrite", wm, res)
	}
	buf := make([]byte, 4096)
	if err := m.ReadInline(f, 8192, buf); err != nil || buf[0] != 1 || buf[4095] != 1 {
		t.Fatalf("ReadInline: %v %d", err, buf[0])
	}
	assertNoAllocs(t, m, f)
}

// BenchmarkWarm fills a file's cache with a scattered layout of 1M extents.
func BenchmarkWarm1M(b *testing.B) {
	m, err := NewScattered(ScatteredConfig{DeviceLength: 1 << 36, FileSize: 1 << 34, Extents: 1 << 20, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	e := deviceless(b, m)
	for i := 0; b.Loop(); i++ {
		f := open(b, e, strconv.Itoa(i), 0)
		if err := m.Warm(f); err != nil {
			b.Fatal(err)
		}
	}
}

// TestWhichMappersTrim pins the documented choice: the in-place mappers
// allow trims, the out-of-place and filesystem mappers refuse them.
func TestWhichMappersTrim(t *testing.T) {
	for _, c := range []struct {
		m    engine.Mapper
		trim bool
	}{
		{NewLinear(0, 0, 0), true}, {&Scattered{}, true},
		{&COW{}, false}, {&COWLog{}, false}, {&Fiemap{}, false}, {&Ext4{}, false},
	} {
		if _, ok := c.m.(engine.Trimmer); ok != c.trim {
			t.Errorf("%T: allows trims %v, want %v", c.m, ok, c.trim)
		}
	}
}

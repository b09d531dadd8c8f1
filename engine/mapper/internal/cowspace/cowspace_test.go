package cowspace

import (
	"errors"
	"math/rand/v2"
	"testing"
)

const bs = 4096

func newSpace(t testing.TB, blocks, chunkBlocks uint64) *Space {
	t.Helper()
	s, err := New(1<<20, blocks*bs, bs, chunkBlocks*bs)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustCheck(t *testing.T, s *Space, files ...*File) {
	t.Helper()
	if err := s.Check(files...); err != nil {
		t.Fatal(err)
	}
}

func freeAll(s *Space, freed []Extent) {
	for _, e := range freed {
		s.Free(e.Addr, e.Len)
	}
}

func TestWriteCommitFree(t *testing.T) {
	s := newSpace(t, 64, 16)
	f := s.NewFile(16 * bs)
	if e, ok := f.Lookup(0, 1<<30); !ok || e.Addr != NoAddr || e.Len != 16*bs {
		t.Fatalf("new file: %+v %v, want one 16-block hole", e, ok)
	}
	w, err := f.Alloc(0, 4*bs, 8, nil)
	if err != nil || len(w) != 1 || w[0].Len != 4*bs {
		t.Fatalf("alloc: %+v %v", w, err)
	}
	if s.FreeBytes() != 60*bs {
		t.Fatalf("free %d after allocating 4 of 64 blocks", s.FreeBytes()/bs)
	}
	// Not data until the write ends.
	if e, _ := f.Lookup(0, bs); e.Addr != NoAddr {
		t.Fatalf("pending space visible: %+v", e)
	}
	if freed := f.End(w[0], true, nil); len(freed) != 0 {
		t.Fatalf("first write freed %+v", freed)
	}
	if e, _ := f.Lookup(0, 1<<30); e != (Extent{0, 4 * bs, w[0].Addr}) {
		t.Fatalf("after write: %+v, want %+v", e, w[0])
	}
	mustCheck(t, s, f)

	// Rewrite the middle: out of place, the old middle is freed.
	w2, _ := f.Alloc(bs, 2*bs, 8, nil)
	if w2[0].Addr == w[0].Addr+bs {
		t.Fatal("rewrite got the space that holds the data")
	}
	freed := f.End(w2[0], true, nil)
	if len(freed) != 1 || freed[0] != (Extent{bs, 2 * bs, w[0].Addr + bs}) {
		t.Fatalf("rewrite freed %+v", freed)
	}
	mustCheck(t, s, f)
	before := s.FreeBytes()
	freeAll(s, freed)
	if s.FreeBytes() != before+2*bs {
		t.Fatalf("free gave back %d bytes, want %d", s.FreeBytes()-before, 2*bs)
	}
	freeAll(s, freed) // a second Free of the same space changes nothing
	if s.FreeBytes() != before+2*bs || s.Stats().IgnoredFrees != 2*bs {
		t.Fatalf("double free changed the free space (%d) or was not noticed (%+v)", s.FreeBytes(), s.Stats())
	}
	mustCheck(t, s, f)

	// A failed write returns its new space and leaves the data.
	w3, _ := f.Alloc(0, 4*bs, 8, nil)
	freed = f.End(w3[0], false, nil)
	if len(freed) != 1 || freed[0].Addr != w3[0].Addr || freed[0].Len != 4*bs {
		t.Fatalf("failed write freed %+v, want its own space %+v", freed, w3)
	}
	if e, _ := f.Lookup(0, bs); e.Addr != w[0].Addr {
		t.Fatalf("failed write changed the data: %+v", e)
	}
	freeAll(s, freed)
	mustCheck(t, s, f)
}

// Two writes issued to the same location (the second found the first's
// space in the engine's write fork) in every order of success and failure.
func TestSharedLocation(t *testing.T) {
	for _, tc := range []struct {
		name   string
		first  bool // outcome of the write that ends first
		second bool
		data   bool // the shared space ends up as the file's data
	}{
		{"ok-ok", true, true, true},
		{"ok-fail", true, false, true},
		{"fail-ok", false, true, true},
		{"fail-fail", false, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSpace(t, 32, 8)
			f := s.NewFile(8 * bs)
			old, _ := f.Alloc(0, 2*bs, 8, nil)
			f.End(old[0], true, nil)
			w, _ := f.Alloc(0, 2*bs, 8, nil)
			var freed []Extent
			freed = f.End(w[0], tc.first, freed)
			freed = f.End(w[0], tc.second, freed)
			mustCheck(t, s, f)
			// The engine frees only after both writes ended.
			freeAll(s, freed)
			mustCheck(t, s, f)
			e, _ := f.Lookup(0, 2*bs)
			want := old[0].Addr
			if tc.data {
				want = w[0].Addr
			}
			if e.Addr != want {
				t.Fatalf("data at %d, want %d", e.Addr, want)
			}
			// Everything but the data is free again.
			if got := s.FreeBytes(); got != 30*bs {
				t.Fatalf("%d blocks free, want 30", got/bs)
			}
		})
	}
}

// A write to space that a newer write has replaced meanwhile is ignored.
func TestStaleWrite(t *testing.T) {
	s := newSpace(t, 32, 8)
	f := s.NewFile(8 * bs)
	a, _ := f.Alloc(0, bs, 8, nil)
	f.End(a[0], true, nil) // A commits; a second write B to a[0] is in flight
	c, _ := f.Alloc(0, bs, 8, nil)
	freed := f.End(c[0], true, nil) // C replaces A: a[0] released
	freed = f.End(a[0], true, freed)
	if e, _ := f.Lookup(0, bs); e.Addr != c[0].Addr {
		t.Fatalf("stale write took over: data at %d, want %d", e.Addr, c[0].Addr)
	}
	if s.Stats().StaleWrites != bs {
		t.Fatalf("stats %+v: want one stale block", s.Stats())
	}
	freeAll(s, freed)
	mustCheck(t, s, f)
	if s.FreeBytes() != 31*bs {
		t.Fatalf("%d blocks free, want 31", s.FreeBytes()/bs)
	}
}

// A reply the caller dropped is not lost: the next Alloc of the blocks
// hands out the same space, and only what is still pending is new.
func TestDroppedReply(t *testing.T) {
	s := newSpace(t, 64, 16)
	f := s.NewFile(16 * bs)
	a, _ := f.Alloc(4*bs, 2*bs, 8, nil) // dropped
	b, err := f.Alloc(2*bs, 8*bs, 8, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Blocks 2-3 fresh, 4-5 the dropped space, 6-9 fresh.
	var got []uint64
	for _, e := range b {
		for o := uint64(0); o < e.Len; o += bs {
			got = append(got, e.Addr+o)
		}
	}
	if len(got) != 8 || got[2] != a[0].Addr || got[3] != a[0].Addr+bs {
		t.Fatalf("second alloc %+v did not reuse the dropped %+v", b, a)
	}
	if s.PendingBytes() != 8*bs {
		t.Fatalf("%d blocks pending, want 8", s.PendingBytes()/bs)
	}
	for _, e := range b {
		f.End(e, true, nil)
	}
	if s.PendingBytes() != 0 || s.FreeBytes() != 56*bs {
		t.Fatalf("after the writes: %d pending, %d free", s.PendingBytes()/bs, s.FreeBytes()/bs)
	}
	mustCheck(t, s, f)
}

func TestNoSpace(t *testing.T) {
	s := newSpace(t, 8, 4)
	f := s.NewFile(16 * bs)
	w, err := f.Alloc(0, 16*bs, 16, nil)
	if err != nil || len(w) != 1 || w[0].Len != 8*bs {
		t.Fatalf("alloc of 16 blocks in 8: %+v %v, want the 8 there are", w, err)
	}
	_, err = f.Alloc(8*bs, bs, 16, nil)
	if !errors.Is(err, ErrNoSpace) {
		t.Fatalf("alloc with nothing free: %v, want ErrNoSpace", err)
	}
	freed := f.End(w[0], false, nil)
	freeAll(s, freed)
	if _, err := f.Alloc(8*bs, 8*bs, 16, nil); err != nil {
		t.Fatalf("alloc after free: %v", err)
	}
}

// Sequential writes of a file land device-contiguously; two files
// writing in turn carve from separate chunks.
func TestHintKeepsFilesTogether(t *testing.T) {
	s := newSpace(t, 1024, 64)
	f, g := s.NewFile(64*bs), s.NewFile(64*bs)
	for b := uint64(0); b < 32; b++ {
		for _, h := range []*File{f, g} {
			w, err := h.Alloc(b*bs, bs, 1, nil)
			if err != nil {
				t.Fatal(err)
			}
			h.End(w[0], true, nil)
		}
	}
	for _, h := range []*File{f, g} {
		if e, _ := h.Lookup(0, 1<<30); e.Len != 32*bs {
			t.Fatalf("interleaved sequential writes: first extent %d blocks, want 32", e.Len/bs)
		}
	}
	mustCheck(t, s, f, g)
}

func TestBadConfig(t *testing.T) {
	for _, c := range []struct {
		start, length uint64
		bs            uint32
	}{{0, 1 << 20, 3000}, {100, 1 << 20, 4096}, {0, 100, 4096}} {
		if _, err := New(c.start, c.length, c.bs, 0); !errors.Is(err, ErrConfig) {
			t.Errorf("%+v: %v, want ErrConfig", c, err)
		}
	}
}

// TestRandomized runs random allocations and write ends (including several
// writes sharing a location, failures, and frees delayed as the engine
// delays them) against a model of each file's data, checking the
// accounting after every step.
func TestRandomized(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 7))
	s := newSpace(t, 256, 16)
	files := []*File{s.NewFile(64 * bs), s.NewFile(48 * bs)}
	model := []map[uint64]uint64{{}, {}} // file block -> device address
	var inflight []*write
	type delayed struct {
		freed []Extent
		after int // steps to wait
	}
	var pendingFrees []delayed
	for step := range 3000 {
		switch op := rng.IntN(10); {
		case op < 4:
			fi := rng.IntN(len(files))
			f := files[fi]
			nb := f.nblocks
			b := uint64(rng.IntN(int(nb)))
			n := 1 + uint64(rng.IntN(int(min(8, nb-b))))
			ws, err := f.Alloc(b*bs, n*bs, 1+rng.IntN(3), nil)
			if errors.Is(err, ErrNoSpace) {
				continue
			}
			if err != nil {
				t.Fatalf("step %d: %v", step, err)
			}
			if ws[0].Off != b*bs {
				t.Fatalf("step %d: alloc at %d starts at %d", step, b*bs, ws[0].Off)
			}
			if rng.IntN(10) == 0 {
				continue // the caller dropped the reply (a stale cache race)
			}
			for _, e := range ws {
				inflight = append(inflight, &write{file: fi, ext: e, users: 1 + rng.IntN(2)})
			}
		case op < 8 && len(inflight) > 0:
			i := rng.IntN(len(inflight))
			w := inflight[i]
			ok := rng.IntN(4) != 0
			f := files[w.file]
			// Whether this end should commit: any block still pending or
			// doomed commits; others are already data or stale.
			var commit []bool
			s.mu.Lock()
			for d := uint64(0); d < w.ext.Len/bs; d++ {
				st := s.st[(w.ext.Addr-s.start)/bs+d]
				commit = append(commit, ok && (st == pending || st == doomed))
			}
			s.mu.Unlock()
			freed := f.End(w.ext, ok, nil)
			for d, c := range commit {
				if c {
					model[w.file][w.ext.Off/bs+uint64(d)] = w.ext.Addr + uint64(d)*bs
				}
			}
			w.users--
			if w.users == 0 {
				inflight[i] = inflight[len(inflight)-1]
				inflight = inflight[:len(inflight)-1]
			}
			pendingFrees = append(pendingFrees, delayed{freed, rng.IntN(5)})
		default:
			// The engine frees after in-flight I/O drains; model that by
			// freeing only when no write is in flight or after a delay
			// for space no in-flight write can target.
			keep := pendingFrees[:0]
			for _, d := range pendingFrees {
				if d.after > 0 {
					d.after--
					keep = append(keep, d)
					continue
				}
				if conflicts(d.freed, inflight) {
					keep = append(keep, d)
					continue
				}
				freeAll(s, d.freed)
			}
			pendingFrees = keep
		}
		if err := s.Check(files...); err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
		for fi, f := range files {
			for b := range f.nblocks {
				e, _ := f.Lookup(b*bs, bs)
				want, ok := model[fi][b]
				if !ok {
					want = NoAddr
				}
				if e.Addr != want {
					t.Fatalf("step %d: file %d block %d at %d, model says %d", step, fi, b, e.Addr, want)
				}
			}
		}
	}
}

// write is a device write in flight in TestRandomized.
type write struct {
	file  int
	ext   Extent
	users int // writes still to end at this location
}

// conflicts reports whether freed space overlaps space an in-flight write
// may still target: the engine would not yet free it.
func conflicts(freed []Extent, inflight []*write) bool {
	for _, e := range freed {
		for _, w := range inflight {
			if e.Addr < w.ext.Addr+w.ext.Len && w.ext.Addr < e.Addr+e.Len {
				return true
			}
		}
	}
	return false
}

// BenchmarkRewrite is the allocator's share of a 4 KiB random out-of-place
// write: allocate, end, free the old block.
func BenchmarkRewrite(b *testing.B) {
	s := newSpace(b, 1<<18, 256)
	f := s.NewFile(1 << 17 * bs)
	var w, freed []Extent
	x := uint64(88172645463325252)
	b.ReportAllocs()
	for b.Loop() {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		off := x % f.nblocks * bs
		var err error
		w, err = f.Alloc(off, bs, 1, w[:0])
		if err != nil {
			b.Fatal(err)
		}
		freed = f.End(w[0], true, freed[:0])
		for _, e := range freed {
			s.Free(e.Addr, e.Len)
		}
	}
}

func TestRestoreResize(t *testing.T) {
	s, err := New(1<<20, 64*4096, 4096, 4*4096)
	if err != nil {
		t.Fatal(err)
	}
	f := s.NewFile(16 * 4096)
	if err := f.Restore(0, 2*4096, 1<<20+8*4096); err != nil {
		t.Fatal(err)
	}
	if err := f.Restore(4096, 4096, 1<<20); err == nil {
		t.Fatal("restore over a block with data succeeded")
	}
	if err := f.Restore(8*4096, 4096, 1<<20+8*4096); err == nil {
		t.Fatal("restore of a device block in use succeeded")
	}
	if err := f.Restore(0, 4096, 1<<20+64*4096); err == nil {
		t.Fatal("restore past the range succeeded")
	}
	if got := s.FreeBytes(); got != 62*4096 {
		t.Fatalf("%d free after restoring 2 blocks", got)
	}
	if err := s.Check(f); err != nil {
		t.Fatal(err)
	}
	// Shrink past the second block: it is released, then freed.
	freed := f.Resize(4096, nil)
	if len(freed) != 1 || freed[0] != (Extent{Off: 4096, Len: 4096, Addr: 1<<20 + 9*4096}) {
		t.Fatalf("freed %+v", freed)
	}
	s.Free(freed[0].Addr, freed[0].Len)
	if got := s.FreeBytes(); got != 63*4096 || f.SizeBytes() != 4096 {
		t.Fatalf("%d free, file %d bytes after shrinking", got, f.SizeBytes())
	}
	// Grow as a hole past a table page.
	f.Resize(2000*4096, nil)
	if e, ok := f.Lookup(1500*4096, 4096); !ok || e.Addr != NoAddr {
		t.Fatalf("grown range: %+v %v", e, ok)
	}
	if _, err := f.Alloc(1999*4096, 4096, 1, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Check(f); err != nil {
		t.Fatal(err)
	}
}

func TestEndRemap(t *testing.T) {
	s, err := New(0, 64*4096, 4096, 16*4096)
	if err != nil {
		t.Fatal(err)
	}
	f := s.NewFile(8 * 4096)
	ws, err := f.Alloc(0, 2*4096, 4, nil)
	if err != nil || len(ws) != 1 {
		t.Fatalf("alloc: %+v %v", ws, err)
	}
	first := ws[0].Addr
	_, rms := f.EndRemap(ws[0], true, nil, nil)
	if len(rms) != 1 || rms[0] != (Remap{Off: 0, Len: 2 * 4096, Addr: first, Old: NoAddr}) {
		t.Fatalf("first write: %+v", rms)
	}
	// Overwrite the second block: one remap from the old location.
	ws, _ = f.Alloc(4096, 4096, 4, ws[:0])
	freed, rms := f.EndRemap(ws[0], true, nil, rms[:0])
	if len(rms) != 1 || rms[0] != (Remap{Off: 4096, Len: 4096, Addr: ws[0].Addr, Old: first + 4096}) || len(freed) != 1 {
		t.Fatalf("overwrite: %+v, freed %+v", rms, freed)
	}
	// The same write ending again changes nothing and records nothing;
	// a failed write records nothing.
	if _, rms = f.EndRemap(ws[0], true, nil, rms[:0]); len(rms) != 0 {
		t.Fatalf("repeated end: %+v", rms)
	}
	ws, _ = f.Alloc(0, 4096, 4, ws[:0])
	if _, rms = f.EndRemap(ws[0], false, nil, rms[:0]); len(rms) != 0 {
		t.Fatalf("failed write: %+v", rms)
	}
}

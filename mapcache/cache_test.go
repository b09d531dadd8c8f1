package mapcache

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"unsafe"
)

const bs = 4096

func mapped(off, n, addr uint64) Mapping {
	return Mapping{Offset: off * bs, Length: n * bs, Addr: addr * bs, Type: Mapped}
}

func records(c *Cache, f Fork) []Mapping {
	var out []Mapping
	for m := range c.All(f) {
		out = append(out, m)
	}
	return out
}

func mustCheck(t testing.TB, c *Cache) {
	t.Helper()
	if err := c.Check(); err != nil {
		t.Fatal(err)
	}
}

func TestUpsertRemoveCases(t *testing.T) {
	type op struct {
		remove bool
		m      Mapping // for remove: Offset, Length
	}
	cases := []struct {
		name string
		ops  []op
		want []Mapping
	}{
		{"single", []op{{m: mapped(0, 4, 100)}}, []Mapping{mapped(0, 4, 100)}},
		{"left merge", []op{{m: mapped(0, 4, 100)}, {m: mapped(4, 2, 104)}}, []Mapping{mapped(0, 6, 100)}},
		{"right merge", []op{{m: mapped(4, 2, 104)}, {m: mapped(0, 4, 100)}}, []Mapping{mapped(0, 6, 100)}},
		{"three-way merge", []op{{m: mapped(0, 2, 100)}, {m: mapped(4, 2, 104)}, {m: mapped(2, 2, 102)}}, []Mapping{mapped(0, 6, 100)}},
		{"no merge across address gap", []op{{m: mapped(0, 2, 100)}, {m: mapped(2, 2, 200)}}, []Mapping{mapped(0, 2, 100), mapped(2, 2, 200)}},
		{"no merge across device", []op{{m: mapped(0, 2, 100)}, {m: Mapping{Offset: 2 * bs, Length: 2 * bs, Addr: 102 * bs, Type: Mapped, Dev: 1}}},
			[]Mapping{mapped(0, 2, 100), {Offset: 2 * bs, Length: 2 * bs, Addr: 102 * bs, Type: Mapped, Dev: 1}}},
		{"no merge across type", []op{{m: mapped(0, 2, 100)}, {m: Mapping{Offset: 2 * bs, Length: 2 * bs, Addr: 102 * bs, Type: Unwritten}}},
			[]Mapping{mapped(0, 2, 100), {Offset: 2 * bs, Length: 2 * bs, Addr: 102 * bs, Type: Unwritten}}},
		{"no merge across flags", []op{{m: mapped(0, 2, 100)}, {m: Mapping{Offset: 2 * bs, Length: 2 * bs, Addr: 102 * bs, Type: Mapped, Flags: 1}}},
			[]Mapping{mapped(0, 2, 100), {Offset: 2 * bs, Length: 2 * bs, Addr: 102 * bs, Type: Mapped, Flags: 1}}},
		{"holes merge without addresses", []op{{m: Mapping{Offset: 0, Length: bs, Type: Hole}}, {m: Mapping{Offset: bs, Length: bs, Type: Hole, Addr: 77}}},
			[]Mapping{{Offset: 0, Length: 2 * bs, Addr: NullAddr, Type: Hole}}},
		{"overwrite middle", []op{{m: mapped(0, 8, 100)}, {m: mapped(2, 2, 500)}}, []Mapping{mapped(0, 2, 100), mapped(2, 2, 500), mapped(4, 4, 104)}},
		{"remove whole", []op{{m: mapped(0, 4, 100)}, {remove: true, m: Mapping{Offset: 0, Length: 4 * bs}}}, nil},
		{"remove front", []op{{m: mapped(0, 4, 100)}, {remove: true, m: Mapping{Offset: 0, Length: bs}}}, []Mapping{mapped(1, 3, 101)}},
		{"remove tail", []op{{m: mapped(0, 4, 100)}, {remove: true, m: Mapping{Offset: 3 * bs, Length: bs}}}, []Mapping{mapped(0, 3, 100)}},
		{"remove middle splits", []op{{m: mapped(0, 4, 100)}, {remove: true, m: Mapping{Offset: bs, Length: 2 * bs}}}, []Mapping{mapped(0, 1, 100), mapped(3, 1, 103)}},
		{"remove to EOF", []op{{m: mapped(0, 4, 100)}, {m: mapped(10, 4, 300)}, {remove: true, m: Mapping{Offset: 2 * bs, Length: ToEOF}}}, []Mapping{mapped(0, 2, 100)}},
		{"remove everything", []op{{m: mapped(0, 4, 100)}, {m: mapped(10, 4, 300)}, {remove: true, m: Mapping{Offset: 0, Length: ToEOF}}}, nil},
		{"remove across records", []op{{m: mapped(0, 4, 100)}, {m: mapped(4, 4, 300)}, {remove: true, m: Mapping{Offset: 2 * bs, Length: 4 * bs}}}, []Mapping{mapped(0, 2, 100), mapped(6, 2, 302)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cache := New(bs)
			for _, o := range c.ops {
				var err error
				if o.remove {
					err = cache.Remove(ReadFork, o.m.Offset, o.m.Length)
				} else {
					err = cache.Upsert(ReadFork, o.m)
				}
				if err != nil {
					t.Fatal(err)
				}
				mustCheck(t, cache)
			}
			got := records(cache, ReadFork)
			if fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Fatalf("got %v\nwant %v", got, c.want)
			}
		})
	}
}

func TestWriteForkAndLookup(t *testing.T) {
	c := New(bs)
	if _, _, r := c.Lookup(WriteFork, 0, bs); r != NoFork {
		t.Fatalf("empty write fork: %v", r)
	}
	// A pure overwrite into a missing write fork allocates nothing.
	if err := c.Upsert(WriteFork, Mapping{Offset: 0, Length: bs, Type: PureOverwrite}); err != nil {
		t.Fatal(err)
	}
	_, noFork, r := c.Lookup(WriteFork, 0, bs)
	if r != NoFork || c.Stats().MemoryBytes != 0 || c.HasWriteFork() {
		t.Fatalf("pure overwrite created the write fork: %v", r)
	}
	if err := c.Upsert(WriteFork, Mapping{Offset: 0, Length: 16 * bs, Type: Delalloc}); err != nil {
		t.Fatal(err)
	}
	// NoFork is answered without the lock; creating the fork changes its
	// cookie all the same.
	if c.Valid(noFork) || !c.HasWriteFork() {
		t.Fatalf("cookie of a NoFork answer valid after the write fork was created (%v)", c.HasWriteFork())
	}
	if _, _, r := c.Lookup(WriteFork, 20*bs, bs); r != Miss {
		t.Fatalf("write fork beyond its records: %v", r)
	}
	// Lookup trims to block boundaries and advances the address.
	c.Upsert(ReadFork, mapped(4, 8, 100))
	m, cookie, r := c.Lookup(ReadFork, 5*bs+100, 2*bs)
	if r != Hit || m.Offset != 5*bs || m.Length != 3*bs || m.Addr != 101*bs || !c.Valid(cookie) {
		t.Fatalf("lookup: %+v %v", m, r)
	}
	m, _, _ = c.Lookup(ReadFork, 10*bs, 100*bs)
	if m.Offset != 10*bs || m.Length != 2*bs {
		t.Fatalf("lookup to the record end: %+v", m)
	}
	// Miss even if a record starts later in the range.
	if _, _, r := c.Lookup(ReadFork, 0, 8*bs); r != Miss {
		t.Fatalf("lookup before a record: %v", r)
	}
	// Any change invalidates the cookie, also in the other fork.
	c.Upsert(WriteFork, mapped(0, 1, 900))
	if c.Valid(cookie) {
		t.Fatal("cookie survived a change")
	}
	if ok, err := c.UpsertIf(cookie, ReadFork, mapped(50, 1, 1)); ok || err != nil {
		t.Fatalf("UpsertIf with a stale cookie: %v %v", ok, err)
	}
	// CommitWrite moves the written range from the write fork to the read
	// fork.
	n, err := c.CommitWrite(0, bs)
	if err != nil || n != 1 {
		t.Fatalf("commit: %d %v", n, err)
	}
	if m, _, r := c.Lookup(ReadFork, 0, bs); r != Hit || m.Addr != 900*bs {
		t.Fatalf("after commit: %+v %v", m, r)
	}
	if _, _, r := c.Lookup(WriteFork, 0, bs); r != Miss {
		t.Fatalf("write fork still covers the committed range: %v", r)
	}
	if m, _, r := c.Lookup(WriteFork, bs, bs); r != Hit || m.Type != Delalloc {
		t.Fatalf("write fork beside the committed range: %+v %v", m, r)
	}
	if next, ok := c.NextMapped(ReadFork, 2*bs); !ok || next != 4*bs {
		t.Fatalf("NextMapped: %d %v", next, ok)
	}
	if _, ok := c.NextMapped(ReadFork, 12*bs); ok {
		t.Fatal("NextMapped past the last record")
	}
	mustCheck(t, c)
}

func TestBadInputChangesNothing(t *testing.T) {
	c := New(bs)
	c.Upsert(ReadFork, mapped(0, 4, 100))
	seq := c.Seq()
	bad := []struct {
		m    Mapping
		want error
	}{
		{Mapping{Offset: 0, Length: 0, Type: Mapped}, ErrInvalid},
		{Mapping{Offset: 100, Length: bs, Type: Mapped}, ErrUnaligned},
		{Mapping{Offset: 0, Length: 100, Type: Mapped}, ErrUnaligned},
		{Mapping{Offset: 0, Length: bs, Type: RetryCache}, ErrBadType},
		{Mapping{Offset: 0, Length: bs, Type: 42}, ErrBadType},
		{Mapping{Offset: 0, Length: bs, Type: PureOverwrite}, ErrBadType},
		{Mapping{Offset: 0, Length: 2 * bs, Addr: ^uint64(0) - bs, Type: Mapped}, ErrInvalid},
		{Mapping{Offset: ^uint64(0) &^ (bs - 1), Length: 2 * bs, Type: Hole}, ErrInvalid},
	}
	for _, b := range bad {
		if err := c.Upsert(ReadFork, b.m); !errors.Is(err, b.want) {
			t.Errorf("Upsert(%+v): %v, want %v", b.m, err, b.want)
		}
	}
	if _, err := c.UpsertIf(seq, ReadFork, mapped(8, 2, 1), mapped(9, 2, 5)); !errors.Is(err, ErrInvalid) {
		t.Errorf("overlapping UpsertIf: %v", err)
	}
	if err := c.Remove(ReadFork, 100, bs); !errors.Is(err, ErrUnaligned) {
		t.Errorf("unaligned remove: %v", err)
	}
	if c.Seq() != seq || fmt.Sprint(records(c, ReadFork)) != fmt.Sprint([]Mapping{mapped(0, 4, 100)}) {
		t.Fatal("bad input changed the cache")
	}
}

// model is the reference: one entry per block.
type model struct {
	blocks   [2]map[uint64]Mapping // block -> {Type, Flags, Dev, Addr of that block}
	hasWrite bool
}

func newModel() *model {
	return &model{blocks: [2]map[uint64]Mapping{{}, {}}}
}

func (md *model) upsert(f Fork, m Mapping) {
	if f == WriteFork && !md.hasWrite {
		if m.Type == PureOverwrite {
			return
		}
		md.hasWrite = true
	}
	for b := m.Offset / bs; b < m.End()/bs; b++ {
		e := Mapping{Type: m.Type, Flags: m.Flags, Dev: m.Dev, Addr: NullAddr}
		if m.Type.hasStorage() {
			e.Addr = m.Addr + (b*bs - m.Offset)
		}
		md.blocks[f][b] = e
	}
}

func (md *model) remove(f Fork, off, end uint64) {
	for b := range md.blocks[f] {
		if b*bs >= off && b*bs < end {
			delete(md.blocks[f], b)
		}
	}
}

// expect returns the maximal record covering block b.
func (md *model) expect(f Fork, b uint64) (Mapping, bool) {
	e, ok := md.blocks[f][b]
	if !ok {
		return Mapping{}, false
	}
	same := func(x uint64, dir int64) bool {
		o, ok := md.blocks[f][x]
		if !ok || o.Type != e.Type || o.Flags != e.Flags || o.Dev != e.Dev {
			return false
		}
		if !e.Type.hasStorage() {
			return true
		}
		return o.Addr == uint64(int64(e.Addr)+dir*int64((int64(x)-int64(b))*bs))
	}
	lo, hi := b, b
	for lo > 0 && same(lo-1, 1) {
		lo--
	}
	for same(hi+1, 1) {
		hi++
	}
	m := e
	m.Offset, m.Length = lo*bs, (hi-lo+1)*bs
	if e.Type.hasStorage() {
		m.Addr = e.Addr - (b-lo)*bs
	}
	return m, true
}

// opGen draws operations, including bad ones, from a byte source.
type opGen struct{ next func() uint64 }

func (g opGen) mapping() Mapping {
	types := []Type{Hole, Delalloc, Mapped, Mapped, Mapped, Unwritten, Inline, PureOverwrite, RetryCache, 9}
	m := Mapping{
		Offset: g.next() % 64 * bs, Length: (1 + g.next()%12) * bs,
		Addr: (g.next() % 8) * 16 * bs, Type: types[g.next()%uint64(len(types))],
		Flags: uint16(g.next() % 2), Dev: uint32(g.next() % 2),
	}
	switch g.next() % 16 {
	case 0:
		m.Offset += 100 // unaligned
	case 1:
		m.Length = 0
	case 2:
		m.Addr = ^uint64(0) - bs // overflows
	}
	return m
}

// step applies one random operation to c and md and compares.
func step(t testing.TB, c *Cache, md *model, g opGen) {
	f := Fork(g.next() % 2)
	switch g.next() % 7 {
	case 0, 1, 2: // upsert
		m := g.mapping()
		seq := c.Seq()
		err := c.Upsert(f, m)
		if err != nil {
			if c.Seq() != seq {
				t.Fatalf("failed upsert %+v changed the cache", m)
			}
			return
		}
		md.upsert(f, m)
	case 3: // remove
		off := g.next() % 70 * bs
		n := (1 + g.next()%16) * bs
		if g.next()%5 == 0 {
			n = ToEOF
		}
		if err := c.Remove(f, off, n); err != nil {
			t.Fatalf("remove: %v", err)
		}
		end := off + n
		if n == ToEOF {
			end = ToEOF
		}
		md.remove(f, off, end)
	case 4: // commit
		off := g.next() % 64 * bs
		n := (1 + g.next()%8) * bs
		if _, err := c.CommitWrite(off, n); err != nil {
			t.Fatal(err)
		}
		for b := off / bs; b < (off+n)/bs; b++ {
			if e, ok := md.blocks[WriteFork][b]; ok {
				delete(md.blocks[WriteFork], b)
				if e.Type != PureOverwrite {
					md.blocks[ReadFork][b] = e
				}
			}
		}
	case 5: // UpsertIf with a valid or stale cookie
		cookie := c.Seq()
		if g.next()%3 == 0 {
			cookie--
		}
		m := g.mapping()
		ok, err := c.UpsertIf(cookie, f, m)
		if ok {
			md.upsert(f, m)
		} else if err == nil && cookie == c.Seq() {
			t.Fatal("UpsertIf refused a valid cookie")
		}
	case 6: // lookups agree with the model
	}
	if err := c.Check(); err != nil {
		t.Fatal(err)
	}
	for f := range Fork(2) {
		for b := uint64(0); b < 80; b++ {
			lookupAgrees(t, c, md, f, b)
			extentAgrees(t, c, md, f, b)
		}
		// Records are the maximal runs.
		for m := range c.All(f) {
			want, _ := md.expect(f, m.Offset/bs)
			if m != want {
				t.Fatalf("%v record %+v, model's maximal run %+v", f, m, want)
			}
		}
	}
}

// lookupAgrees checks a one-block Lookup of block b in fork f against the
// model.
func lookupAgrees(t testing.TB, c *Cache, md *model, f Fork, b uint64) {
	t.Helper()
	m, _, r := c.Lookup(f, b*bs, bs)
	if f == WriteFork && !md.hasWrite {
		if r != NoFork {
			t.Fatalf("write fork exists in the cache only")
		}
		return
	}
	want, ok := md.expect(f, b)
	if ok != (r == Hit) {
		t.Fatalf("%v block %d: cache %v, model %v", f, b, r, ok)
	}
	if !ok {
		return
	}
	want.Offset, want.Length = b*bs, bs
	if want.Type.hasStorage() {
		want.Addr = md.blocks[f][b].Addr
	}
	if m != want {
		t.Fatalf("%v block %d: cache %+v, model %+v", f, b, m, want)
	}
}

// extentAgrees checks Extent at block b of fork f against the model: the
// maximal run holding b, whole.
func extentAgrees(t testing.TB, c *Cache, md *model, f Fork, b uint64) {
	t.Helper()
	seq := c.Seq()
	m, cookie, r := c.Extent(f, b*bs)
	if cookie != seq {
		t.Fatalf("Extent's cookie %d, Seq %d", cookie, seq)
	}
	if f == WriteFork && !md.hasWrite {
		if r != NoFork {
			t.Fatalf("Extent: write fork exists in the cache only")
		}
		return
	}
	want, ok := md.expect(f, b)
	if ok != (r == Hit) {
		t.Fatalf("Extent: %v block %d: cache %v, model %v", f, b, r, ok)
	}
	if ok && m != want {
		t.Fatalf("Extent: %v block %d: cache %+v, model's maximal run %+v", f, b, m, want)
	}
}

func TestRandomizedAgainstModel(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	for range 20 {
		c, md := New(bs), newModel()
		g := opGen{next: rng.Uint64}
		for range 300 {
			step(t, c, md, g)
		}
	}
}

func FuzzCache(f *testing.F) {
	f.Add([]byte{0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10})
	f.Add([]byte{1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31, 33})
	f.Add(binary.LittleEndian.AppendUint64(nil, 0xdeadbeefcafef00d))
	f.Fuzz(func(t *testing.T, data []byte) {
		i := 0
		next := func() uint64 {
			if i >= len(data) {
				i++
				return uint64(i)
			}
			i++
			return uint64(data[i-1])
		}
		c, md := New(bs), newModel()
		for n := 0; n < 64 && i < len(data)+8; n++ {
			step(t, c, md, opGen{next: next})
		}
	})
}

// TestBigTreeStructure builds, overwrites and deletes enough records for a
// three-level tree, checking the structure as it goes.
func TestBigTreeStructure(t *testing.T) {
	c := New(bs)
	const n = 4000
	for i := range uint64(n) {
		if err := c.Upsert(ReadFork, mapped(2*i, 1, 3*i)); err != nil {
			t.Fatal(err)
		}
	}
	if c.Len(ReadFork) != n {
		t.Fatalf("%d records", c.Len(ReadFork))
	}
	if tr := &c.forks[ReadFork]; tr.height < 2 {
		t.Fatalf("height %d for %d records", tr.height, n)
	}
	mustCheck(t, c)
	// Sequential appends fill leaves completely.
	if tr := &c.forks[ReadFork]; tr.leaves != (n+leafCap-1)/leafCap {
		t.Fatalf("%d leaves for %d appended records, want %d", tr.leaves, n, (n+leafCap-1)/leafCap)
	}
	rng := rand.New(rand.NewPCG(5, 5))
	for range n {
		off := rng.Uint64N(2*n) * bs
		if err := c.Remove(ReadFork, off, bs); err != nil {
			t.Fatal(err)
		}
	}
	mustCheck(t, c)
	c.Remove(ReadFork, 0, ToEOF)
	if c.Len(ReadFork) != 0 || c.Stats().MemoryBytes != 0 {
		t.Fatal("remove everything left something")
	}
}

func TestConcurrentLookupsAndUpserts(t *testing.T) {
	c := New(bs)
	for i := range uint64(1000) {
		c.Upsert(ReadFork, mapped(2*i, 1, 5*i))
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for r := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(r), 0))
			for {
				select {
				case <-stop:
					return
				default:
				}
				b := rng.Uint64N(2000)
				m, cookie, res := c.Lookup(ReadFork, b*bs, bs)
				if res == Hit && m.Type == Mapped && m.Addr%bs != 0 {
					t.Error("torn lookup")
					return
				}
				_ = c.Valid(cookie)
			}
		}()
	}
	rng := rand.New(rand.NewPCG(9, 9))
	for range 3000 {
		b := rng.Uint64N(2000)
		if rng.IntN(2) == 0 {
			c.Upsert(ReadFork, mapped(b, 1+rng.Uint64N(4), rng.Uint64N(1<<20)))
		} else {
			c.Remove(ReadFork, b*bs, bs)
		}
	}
	close(stop)
	wg.Wait()
	mustCheck(t, c)
}

func TestBudgetEvictsReadForkOnly(t *testing.T) {
	b := NewBudget(64 << 10)
	c1, c2 := New(bs), New(bs)
	c1.SetBudget(b)
	c2.SetBudget(b)
	c2.Upsert(WriteFork, Mapping{Offset: 0, Length: 1 << 30, Type: Delalloc})
	for i := range uint64(5000) {
		c1.Upsert(ReadFork, mapped(2*i, 1, 3*i))
		c2.Upsert(WriteFork, mapped(2*i, 1, 3*i+1))
	}
	recs, _ := b.Evicted()
	if recs == 0 {
		t.Fatal("nothing evicted over the budget")
	}
	if c2.Len(WriteFork) < 5000 {
		t.Fatalf("write-fork records evicted: %d left", c2.Len(WriteFork))
	}
	if s := c1.Stats(); s.Evicted == 0 || s.Records[ReadFork] >= 5000 {
		t.Fatalf("stats: %+v", s)
	}
	mustCheck(t, c1)
	mustCheck(t, c2)
}

func ExampleCache() {
	c := New(4096)
	c.Upsert(ReadFork, Mapping{Offset: 0, Length: 8192, Addr: 1 << 20, Type: Mapped})
	c.Upsert(ReadFork, Mapping{Offset: 8192, Length: 4096, Addr: 1<<20 + 8192, Type: Mapped}) // merges
	m, _, r := c.Lookup(ReadFork, 4096, 4096)
	fmt.Println(r, m.Offset, m.Length, m.Addr, c.Len(ReadFork))
	// Output: hit 4096 4096 1052672 1
}

// TestEndWriteAtMovesOnlyItsLocation: an older write completing after a
// newer one re-pointed the range moves (or drops) nothing.
func TestEndWriteAtMovesOnlyItsLocation(t *testing.T) {
	c := New(bs)
	c.Upsert(ReadFork, mapped(0, 4, 100))
	c.Upsert(WriteFork, mapped(0, 4, 200)) // older write's location
	c.Upsert(WriteFork, mapped(0, 4, 300)) // a newer write re-pointed it
	if n, err := c.CommitWriteAt(0, 4*bs, 0, 200*bs); n != 0 || err != nil {
		t.Fatalf("stale commit moved %d (%v)", n, err)
	}
	if n, _ := c.DropWriteAt(0, 4*bs, 0, 200*bs); n != 0 {
		t.Fatalf("stale drop removed %d", n)
	}
	if m, _, _ := c.Lookup(ReadFork, 0, bs); m.Addr != 100*bs {
		t.Fatalf("read fork changed: %+v", m)
	}
	if n, _ := c.CommitWriteAt(bs, 2*bs, 0, 301*bs); n != 1 {
		t.Fatalf("matching commit moved %d", n)
	}
	got := records(c, ReadFork)
	want := []Mapping{mapped(0, 1, 100), mapped(1, 2, 301), mapped(3, 1, 103)}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("read fork %v, want %v", got, want)
	}
	if n, _ := c.DropWriteAt(0, bs, 0, 300*bs); n != 1 || c.Len(WriteFork) != 1 {
		t.Fatalf("drop: %d, write fork %v", n, records(c, WriteFork))
	}
	mustCheck(t, c)
}

// TestNodeSizes guards the size classes and alignment the layout is built
// for: Go puts an 8-byte header in front of pointerful objects over 512
// bytes, so a leaf must stay within 1016 bytes to come from the 1024-byte
// class (an inner node within 1528 for the 1536-byte class).
func TestNodeSizes(t *testing.T) {
	if s := unsafe.Sizeof(leaf{}); s+8 > leafBytes {
		t.Errorf("leaf is %d bytes, over the %d-byte class with its header", s, leafBytes)
	}
	if s := unsafe.Sizeof(inner{}); s+8 > innerBytes {
		t.Errorf("inner node is %d bytes, over the %d-byte class with its header", s, innerBytes)
	}
}

// TestSearchEveryPosition checks the two-step leaf and inner searches
// against a linear scan at every fill and every position, including
// offsets below the first key and at the top of the address space.
func TestSearchEveryPosition(t *testing.T) {
	for n := 1; n <= leafCap; n++ {
		l := newLeaf()
		for i := range n {
			l.recs[i].off = uint64(10 + 10*i)
		}
		l.n = n
		queries := []uint64{0, 9, noKey - 2, noKey - 1}
		for i := range n {
			queries = append(queries, l.recs[i].off-1, l.recs[i].off, l.recs[i].off+1)
		}
		for _, q := range queries {
			want := -1
			for i := range n {
				if l.recs[i].off <= q {
					want = i
				}
			}
			if got := l.search(q); got != want {
				t.Fatalf("leaf of %d: search(%d) = %d, want %d", n, q, got, want)
			}
		}
	}
	for n := 2; n <= innerCap; n++ {
		in := newInner()
		for i := range n {
			in.keys[i] = uint64(100 + 10*i)
		}
		in.n = n
		for q := uint64(0); q < uint64(100+10*n+20); q++ {
			want := 0
			for i := 1; i < n; i++ {
				if in.keys[i] <= q {
					want = i
				}
			}
			if got := in.route(q); got != want {
				t.Fatalf("inner of %d: route(%d) = %d, want %d", n, q, got, want)
			}
		}
		if got := in.route(noKey - 1); got != n-1 {
			t.Fatalf("inner of %d: route(max) = %d", n, got)
		}
	}
}

// TestLookupAtTopOfAddressSpace looks up offsets near 2^64 around a record
// that ends one block below it.
func TestLookupAtTopOfAddressSpace(t *testing.T) {
	c := New(bs)
	top := ToEOF &^ (bs - 1) // the last block's offset
	m := Mapping{Offset: top - 4*bs, Length: 4 * bs, Addr: 0, Type: Mapped}
	if err := c.Upsert(ReadFork, m); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		off  uint64
		want Result
	}{{top - 4*bs, Hit}, {top - 1, Hit}, {top, Miss}, {ToEOF, Miss}, {top - 5*bs, Miss}} {
		if _, _, r := c.Lookup(ReadFork, tc.off, 1); r != tc.want {
			t.Errorf("Lookup(%#x) = %v, want %v", tc.off, r, tc.want)
		}
	}
}

// TestRandomizedBigTree runs the model comparison on a file large enough
// for multi-level trees (thousands of records), where splits, merges and
// the line-at-a-time searches cross leaf and inner-node boundaries, and
// ends out-of-place writes the way the engine does (CommitWriteAt,
// DropWriteAt). Check runs after every step. It runs twice: as the cache
// is, and with the leaf index on from the smallest multi-leaf tree, so
// that lookups go through index slots whose leaves split, merge, shed
// records and leave the tree between them.
func TestRandomizedBigTree(t *testing.T) {
	t.Run("default", randomizedBigTree)
	t.Run("indexed", func(t *testing.T) {
		defer func(n int) { indexMinLeaves = n }(indexMinLeaves)
		indexMinLeaves = 2
		randomizedBigTree(t)
		if c := sequential(4 * leafCap); c.forks[ReadFork].index.Load() == nil {
			t.Fatal("no leaf index on a tree of four leaves with indexMinLeaves 2")
		}
	})
}

func randomizedBigTree(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 2))
	const blocks = 8000
	c, md := New(bs), newModel()
	// Start from a full read fork of single-block records that cannot
	// merge (addresses far apart): 8000 records, three levels.
	for b := range uint64(blocks) {
		m := Mapping{Offset: b * bs, Length: bs, Type: Mapped, Addr: (b*7919%blocks + 10*blocks) * 2 * bs}
		if err := c.Upsert(ReadFork, m); err != nil {
			t.Fatal(err)
		}
		md.upsert(ReadFork, m)
	}
	for step := range 2000 {
		f := Fork(rng.IntN(2))
		off := rng.Uint64N(blocks) * bs
		n := (1 + rng.Uint64N(8)) * bs
		switch rng.IntN(8) {
		case 0, 1, 2, 3: // mostly runs that can merge with neighbours
			m := Mapping{Offset: off, Length: n, Type: Mapped, Addr: off + uint64(rng.IntN(6))*blocks*bs, Dev: uint32(rng.IntN(2))}
			if rng.IntN(5) == 0 {
				m.Type, m.Addr = Hole, NullAddr
			}
			if err := c.Upsert(f, m); err != nil {
				t.Fatalf("step %d: %v", step, err)
			}
			md.upsert(f, m)
		case 4, 5:
			if err := c.Remove(f, off, n); err != nil {
				t.Fatalf("step %d: %v", step, err)
			}
			md.remove(f, off, off+n)
		case 6: // the end of a write that went to one write-fork record
			var w Mapping
			found := false
			for m := range c.Overlapping(WriteFork, off, n) {
				if m.Type == Mapped {
					w, found = m, true
					break
				}
			}
			if !found {
				continue
			}
			commit := rng.IntN(2) == 0
			end := c.DropWriteAt
			if commit {
				end = c.CommitWriteAt
			}
			if _, err := end(w.Offset, w.Length, w.Dev, w.Addr); err != nil {
				t.Fatalf("step %d: %v", step, err)
			}
			for b := w.Offset / bs; b < w.End()/bs; b++ {
				e, ok := md.blocks[WriteFork][b]
				if ok && e.Type == Mapped && e.Dev == w.Dev && e.Addr == w.Addr+(b*bs-w.Offset) {
					delete(md.blocks[WriteFork], b)
					if commit {
						md.blocks[ReadFork][b] = e
					}
				}
			}
		case 7:
		}
		if err := c.Check(); err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
		for range 8 {
			f, b := Fork(rng.IntN(2)), rng.Uint64N(blocks+16)
			lookupAgrees(t, c, md, f, b)
			extentAgrees(t, c, md, f, b)
		}
	}
	for f := range Fork(2) {
		for b := uint64(0); b < blocks+16; b++ {
			lookupAgrees(t, c, md, f, b)
			extentAgrees(t, c, md, f, b)
		}
		for m := range c.All(f) {
			if want, _ := md.expect(f, m.Offset/bs); m != want {
				t.Fatalf("%v record %+v, model's maximal run %+v", f, m, want)
			}
		}
	}
	if tr := &c.forks[ReadFork]; tr.height < 2 {
		t.Fatalf("read fork height %d: the test did not reach a multi-level tree", tr.height)
	}
}

// TestChildZeroDeletedThenRefilled deletes an inner node's first child and
// then fills the new first child from below until it splits: the node's
// keys[0] (the deleted child's old separator's successor) is then above
// the new separator. keys[0] is never used for routing, so this is a
// valid tree, and the checker must accept it rather than report "inner
// keys out of order".
func TestChildZeroDeletedThenRefilled(t *testing.T) {
	c := New(bs)
	up := func(b uint64) {
		t.Helper()
		if err := c.Upsert(ReadFork, mapped(b, 1, 3*b)); err != nil {
			t.Fatal(err)
		}
	}
	for b := uint64(2000); b < 2000+2*3*leafCap; b += 2 {
		up(b) // three full leaves of non-mergeable records
	}
	if tr := &c.forks[ReadFork]; tr.height != 1 || tr.leaves != 3 {
		t.Fatalf("height %d, %d leaves", tr.height, tr.leaves)
	}
	if err := c.Remove(ReadFork, 2000*bs, 2*leafCap*bs); err != nil { // the first leaf
		t.Fatal(err)
	}
	mustCheck(t, c)
	for b := uint64(0); b < 4*leafCap; b += 2 {
		up(b) // below every remaining record: the first child splits
		mustCheck(t, c)
	}
	for b := uint64(0); b < 4*leafCap; b += 2 {
		if _, _, r := c.Lookup(ReadFork, b*bs, bs); r != Hit {
			t.Fatalf("block %d: %v", b, r)
		}
	}
}

// TestExactOverwritesAgainstModel: overwriting whole one-block and
// longer records with mappings that may or may not merge with their
// neighbours (the commits of out-of-place writes, which upsert rewrites in
// place when nothing merges) agrees with the model, with the invariants
// checked after every step.
func TestExactOverwritesAgainstModel(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 2))
	types := []Type{Mapped, Mapped, Mapped, Unwritten, Hole, Delalloc}
	for range 3 {
		c, md := New(bs), newModel()
		const blocks = 600
		for b := uint64(0); b < blocks; {
			n := 1 + rng.Uint64N(3)
			m := Mapping{Offset: b * bs, Length: n * bs, Type: Mapped, Addr: rng.Uint64N(1<<20) * bs}
			if err := c.Upsert(ReadFork, m); err != nil {
				t.Fatal(err)
			}
			md.upsert(ReadFork, m)
			b += n
		}
		for range 600 {
			// Overwrite the record covering a random block, whole.
			rec, ok := md.expect(ReadFork, rng.Uint64N(blocks))
			if !ok {
				t.Fatal("a block of the file has no record")
			}
			nm := Mapping{Offset: rec.Offset, Length: rec.Length, Type: types[rng.IntN(len(types))], Flags: uint16(rng.IntN(2)), Dev: uint32(rng.IntN(2))}
			switch rng.IntN(4) {
			case 0: // continues the left neighbour's addresses, when it has some
				if l, ok := md.blocks[ReadFork][rec.Offset/bs-1]; ok && rec.Offset > 0 && l.Type.hasStorage() {
					nm.Type, nm.Flags, nm.Dev, nm.Addr = l.Type, l.Flags, l.Dev, l.Addr+bs
				}
			case 1: // the right neighbour continues nm
				if r, ok := md.blocks[ReadFork][rec.End()/bs]; ok && r.Type.hasStorage() && r.Addr >= rec.Length {
					nm.Type, nm.Flags, nm.Dev, nm.Addr = r.Type, r.Flags, r.Dev, r.Addr-rec.Length
				}
			default:
				nm.Addr = rng.Uint64N(1<<20) * bs
			}
			if !nm.Type.hasStorage() {
				nm.Addr = 0
			}
			if err := c.Upsert(ReadFork, nm); err != nil {
				t.Fatalf("upsert %+v: %v", nm, err)
			}
			md.upsert(ReadFork, nm)
			mustCheck(t, c)
			for x := rec.Offset/bs - min(rec.Offset/bs, 2); x < min(blocks, rec.End()/bs+2); x++ {
				lookupAgrees(t, c, md, ReadFork, x)
			}
		}
		for b := uint64(0); b < blocks; b++ {
			lookupAgrees(t, c, md, ReadFork, b)
			extentAgrees(t, c, md, ReadFork, b)
		}
		for m := range c.All(ReadFork) {
			if want, _ := md.expect(ReadFork, m.Offset/bs); m != want {
				t.Fatalf("record %+v, model's maximal run %+v", m, want)
			}
		}
	}
}

// TestIndexedConcurrentLookups: lookups from several goroutines, which
// fill the leaf index's slots under the read lock, while another
// goroutine upserts and removes records (splitting, merging and dropping
// leaves the slots point to), with the index on from two leaves. Blocks
// at even indexes are never touched by the writer: every lookup of one
// must return its record exactly. Run with -race, it checks the slots'
// atomics too.
func TestIndexedConcurrentLookups(t *testing.T) {
	defer func(n int) { indexMinLeaves = n }(indexMinLeaves)
	indexMinLeaves = 2
	const blocks = 6000
	c := New(bs)
	for b := uint64(0); b < blocks; b += 2 {
		if err := c.Upsert(ReadFork, mapped(b, 1, 3*b+7)); err != nil {
			t.Fatal(err)
		}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 9))
			for {
				select {
				case <-stop:
					return
				default:
				}
				b := rng.Uint64N(blocks/2) * 2
				m, _, r := c.Lookup(ReadFork, b*bs, bs)
				if r != Hit || m.Offset != b*bs || m.Addr != (3*b+7)*bs || m.Length != bs {
					errs <- fmt.Errorf("block %d: %v %+v", b, r, m)
					return
				}
			}
		}()
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 3000 {
		b := rng.Uint64N(blocks/2)*2 + 1 // odd blocks only
		if rng.IntN(2) == 0 {
			if err := c.Upsert(ReadFork, mapped(b, 1, 5*b+1)); err != nil {
				t.Fatal(err)
			}
		} else if err := c.Remove(ReadFork, b*bs, bs); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if c.forks[ReadFork].index.Load() == nil {
		t.Error("the tree had no leaf index")
	}
	if err := c.Check(); err != nil {
		t.Fatal(err)
	}
}

// TestExtentWholeChain: a mapping longer than a record holds is kept as a
// chain of records; Extent returns it whole from any offset in it, and
// the pieces when a write splits it.
func TestExtentWholeChain(t *testing.T) {
	c := New(512) // records hold at most 2^21 blocks: 1 GiB
	big := Mapping{Offset: 1 << 20, Length: 5<<30 + 3*512, Addr: 7 << 30, Type: Mapped, Dev: 1}
	if err := c.Upsert(ReadFork, big); err != nil {
		t.Fatal(err)
	}
	if n := c.forks[ReadFork].count; n != 6 || c.Len(ReadFork) != 1 {
		t.Fatalf("a 5 GiB mapping in %d records, %d chains; want one chain of 6", n, c.Len(ReadFork))
	}
	for _, off := range []uint64{big.Offset, big.Offset + 512, big.Offset + 2<<30 + 77*512, big.End() - 1} {
		m, _, r := c.Extent(ReadFork, off)
		if r != Hit || m != big {
			t.Fatalf("Extent at %d: %v %+v, want %+v", off, r, m, big)
		}
	}
	for _, off := range []uint64{0, big.Offset - 1, big.End()} {
		if _, _, r := c.Extent(ReadFork, off); r != Miss {
			t.Errorf("Extent at %d, outside the mapping: %v", off, r)
		}
	}
	// A write in the third record splits the chain in three.
	mid := Mapping{Offset: big.Offset + 2<<30, Length: 4096, Addr: 99 << 30, Type: Mapped, Dev: 1}
	if err := c.Upsert(ReadFork, mid); err != nil {
		t.Fatal(err)
	}
	before := Mapping{Offset: big.Offset, Length: 2 << 30, Addr: big.Addr, Type: Mapped, Dev: 1}
	after := Mapping{Offset: mid.End(), Length: big.End() - mid.End(), Addr: big.Addr + (mid.End() - big.Offset), Type: Mapped, Dev: 1}
	for _, want := range []Mapping{before, mid, after} {
		for _, off := range []uint64{want.Offset, want.Offset + want.Length/2, want.End() - 1} {
			if m, _, r := c.Extent(ReadFork, off); r != Hit || m != want {
				t.Fatalf("after the split, Extent at %d: %v %+v, want %+v", off, r, m, want)
			}
		}
	}
	if _, _, r := c.Extent(WriteFork, big.Offset); r != NoFork {
		t.Errorf("Extent in a write fork that does not exist: %v", r)
	}
}

// TestBudgetHeldByEveryChange: the budget is enforced after every change
// that can add read-fork records, not only after Upsert: a commit of 500
// out-of-place writes (CommitWrite, CommitWriteAt), a Remove that splits
// records, and DropWriteAt each leave the budget's use within its limit
// while the read fork has records to drop. A reference-model audit found
// a commit leaving 10752 bytes used of a 4096-byte budget.
func TestBudgetHeldByEveryChange(t *testing.T) {
	const n = 500
	ops := map[string]func(c *Cache) error{
		"CommitWrite": func(c *Cache) error { _, err := c.CommitWrite(0, 2*n*4096); return err },
		"CommitWriteAt": func(c *Cache) error {
			for i := uint64(0); i < n; i++ {
				if _, err := c.CommitWriteAt(2*i*4096, 4096, 0, 4*i*4096); err != nil {
					return err
				}
			}
			return nil
		},
		"Remove": func(c *Cache) error {
			// Every other block out of a long read-fork record: n splits.
			for i := uint64(0); i < n; i++ {
				if err := c.Remove(ReadFork, (2*i+1)*4096, 4096); err != nil {
					return err
				}
			}
			return nil
		},
	}
	for name, op := range ops {
		c := New(4096)
		b := NewBudget(4096)
		c.SetBudget(b)
		if name == "Remove" {
			if err := c.Upsert(ReadFork, Mapping{Offset: 0, Length: 2 * n * 4096, Addr: 1 << 30, Type: Mapped}); err != nil {
				t.Fatal(err)
			}
		} else {
			for i := uint64(0); i < n; i++ {
				if err := c.Upsert(WriteFork, Mapping{Offset: 2 * i * 4096, Length: 4096, Addr: 4 * i * 4096, Type: Mapped}); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := op(c); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if b.Used() > 4096 && c.Len(ReadFork) > 0 {
			t.Errorf("%s: budget %d bytes used of 4096, with %d read-fork records left to drop", name, b.Used(), c.Len(ReadFork))
		}
		if err := c.Check(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestOverlappingEmptyRange: an empty range overlaps nothing, also where
// it starts inside a record (which yielded a zero-length mapping).
func TestOverlappingEmptyRange(t *testing.T) {
	c := New(4096)
	if err := c.Upsert(ReadFork, Mapping{Offset: 0, Length: 8 * 4096, Addr: 1 << 20, Type: Mapped}); err != nil {
		t.Fatal(err)
	}
	for _, off := range []uint64{0, 4096, 8 * 4096} {
		for m := range c.Overlapping(ReadFork, off, 0) {
			t.Errorf("Overlapping(%d, 0) yields %+v", off, m)
		}
	}
}

// TestPureOverwriteIntoMissingFork: a pure overwrite upserted into a
// missing write fork changes nothing, so it leaves the sequence (and every
// cookie) as it was; and a batch that makes the write fork stores its pure
// overwrites whatever their place in it (one before the Mapped mapping
// that made the fork was dropped, and its range then missed). From a
// reference-model audit.
func TestPureOverwriteIntoMissingFork(t *testing.T) {
	c := New(4096)
	seq := c.Seq()
	if err := c.Upsert(WriteFork, Mapping{Offset: 0, Length: 4096, Addr: NullAddr, Type: PureOverwrite}); err != nil {
		t.Fatal(err)
	}
	if c.Seq() != seq || c.HasWriteFork() {
		t.Errorf("a pure overwrite into a missing write fork: sequence %d -> %d, write fork %v", seq, c.Seq(), c.HasWriteFork())
	}
	ok, err := c.UpsertIf(c.Seq(), WriteFork,
		Mapping{Offset: 0, Length: 4096, Addr: NullAddr, Type: PureOverwrite},
		Mapping{Offset: 4096, Length: 4096, Addr: 1 << 20, Type: Mapped})
	if err != nil || !ok {
		t.Fatalf("UpsertIf: %v %v", ok, err)
	}
	if m, _, r := c.Lookup(WriteFork, 0, 4096); r != Hit || m.Type != PureOverwrite {
		t.Errorf("write fork at 0 after the batch: %v %+v; want the pure overwrite", r, m)
	}
	if err := c.Check(); err != nil {
		t.Error(err)
	}
}

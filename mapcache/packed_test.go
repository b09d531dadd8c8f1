package mapcache

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// unitModel is the reference for tests at the scale of chains: one entry
// per unit of unitBlocks blocks (a quarter of the longest Mapped record),
// so that mappings of a few units span chains of records.
type unitModel struct {
	units map[uint64]Mapping // unit -> {Type, Flags, Dev, Addr of that unit}
}

const (
	unitBlocks = 1 << (lenBits - 2)
	unit       = unitBlocks * bs
)

func (md *unitModel) upsert(m Mapping) {
	for u := m.Offset / unit; u < m.End()/unit; u++ {
		e := Mapping{Type: m.Type, Flags: m.Flags, Dev: m.Dev, Addr: NullAddr}
		if m.Type.hasStorage() {
			e.Addr = m.Addr + (u*unit - m.Offset)
		}
		md.units[u] = e
	}
}

func (md *unitModel) remove(off, end uint64) {
	for u := range md.units {
		if u*unit >= off && u*unit < end {
			delete(md.units, u)
		}
	}
}

// run returns the maximal run covering unit u.
func (md *unitModel) run(u uint64) (Mapping, bool) {
	if _, ok := md.units[u]; !ok {
		return Mapping{}, false
	}
	// continues reports whether unit x+1 continues unit x.
	continues := func(x uint64) bool {
		a, ok1 := md.units[x]
		b, ok2 := md.units[x+1]
		a.Length = unit
		return ok1 && ok2 && sameKind(a, b)
	}
	lo, hi := u, u
	for lo > 0 && continues(lo-1) {
		lo--
	}
	for continues(hi) {
		hi++
	}
	m := md.units[lo]
	m.Offset, m.Length = lo*unit, (hi-lo+1)*unit
	return m, true
}

// TestRandomizedChains runs upserts and removes of mappings several
// records long against the unit model: chains are built, trimmed, split
// and joined, and every lookup and every record the API shows must be the
// maximal run, chains joined. Check runs after every step.
func TestRandomizedChains(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 3))
	const units = 200
	c, md := New(bs), &unitModel{units: map[uint64]Mapping{}}
	for step := range 3000 {
		off := rng.Uint64N(units) * unit
		n := (1 + rng.Uint64N(24)) * unit
		switch rng.IntN(4) {
		case 0, 1, 2:
			// Addresses from a few bases, so neighbours often continue
			// each other; some holes; two devices.
			m := Mapping{Offset: off, Length: n, Type: Mapped, Addr: off + uint64(rng.IntN(3))*units*unit, Dev: uint32(rng.IntN(2))}
			switch rng.IntN(6) {
			case 0:
				m.Type, m.Addr = Hole, NullAddr
			case 1:
				m.Type = Unwritten
			}
			if err := c.Upsert(ReadFork, m); err != nil {
				t.Fatalf("step %d: %v", step, err)
			}
			md.upsert(m)
		case 3:
			if err := c.Remove(ReadFork, off, n); err != nil {
				t.Fatalf("step %d: %v", step, err)
			}
			md.remove(off, off+n)
		}
		if err := c.Check(); err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
		for range 8 {
			u := rng.Uint64N(units + 30)
			// A lookup from inside the unit reaching up to 40 units on:
			// it must follow chains as far as the run goes.
			off := u*unit + rng.Uint64N(unitBlocks)*bs
			length := (1 + rng.Uint64N(40)) * unit
			m, _, r := c.Lookup(ReadFork, off, length)
			want, ok := md.run(u)
			if ok != (r == Hit) {
				t.Fatalf("step %d: unit %d: cache %v, model %v", step, u, r, ok)
			}
			// Extent: the whole run, chains joined.
			if e, _, er := c.Extent(ReadFork, off); er != r || (ok && e != want) {
				t.Fatalf("step %d: Extent at %d: cache %v %+v, model %v %+v", step, off, er, e, ok, want)
			}
			if !ok {
				continue
			}
			want = advance(want, off-want.Offset)
			want.Length = min(want.End(), off+length) - off
			if m != want {
				t.Fatalf("step %d: lookup [%d,+%d): cache %+v, model %+v", step, off, length, m, want)
			}
		}
	}
	records := 0
	for m := range c.All(ReadFork) {
		want, _ := md.run(m.Offset / unit)
		if m != want {
			t.Fatalf("record %+v, model's maximal run %+v", m, want)
		}
		records++
	}
	if c.Len(ReadFork) != records || c.Stats().Records[ReadFork] != records {
		t.Fatalf("Len %d, Stats %d, All yields %d", c.Len(ReadFork), c.Stats().Records[ReadFork], records)
	}
	if tr := &c.forks[ReadFork]; tr.count <= records {
		t.Fatalf("%d chunks for %d records: the test made no chains", tr.count, records)
	}
}

// TestChainShapes checks the chunks of a long mapping, how trimming its
// middle mends the chains at both edges, and that a lookup follows a
// chain only as far as the range asks.
func TestChainShapes(t *testing.T) {
	c := New(bs)
	full := uint64(1<<lenBits) * bs
	m := Mapping{Offset: 0, Length: 2*full + 5*bs, Addr: 1 << 30, Type: Mapped}
	if err := c.Upsert(ReadFork, m); err != nil {
		t.Fatal(err)
	}
	mustCheck(t, c)
	tr := &c.forks[ReadFork]
	if tr.count != 3 || tr.heads != 1 || c.Len(ReadFork) != 1 {
		t.Fatalf("%d chunks, %d heads, Len %d: want 3, 1, 1", tr.count, tr.heads, c.Len(ReadFork))
	}
	if got := records(c, ReadFork); fmt.Sprint(got) != fmt.Sprint([]Mapping{m}) {
		t.Fatalf("records %v", got)
	}
	// Lookups stop at the range asked for, or follow the chain to its end.
	if got, _, r := c.Lookup(ReadFork, full-bs, 2*bs); r != Hit || got.Offset != full-bs || got.Length != 2*bs || got.Addr != m.Addr+full-bs {
		t.Fatalf("lookup across a chunk boundary: %+v %v", got, r)
	}
	if got, _, _ := c.Lookup(ReadFork, bs, ToEOF); got.End() != m.End() || got.Addr != m.Addr+bs {
		t.Fatalf("lookup to EOF: %+v", got)
	}
	// Cut a block near the end of the first chunk: the left part keeps
	// the first chunk (short now); the right part is a new chain whose
	// first piece is too short to stand beside the next: they fuse.
	if err := c.Remove(ReadFork, full-2*bs, bs); err != nil {
		t.Fatal(err)
	}
	mustCheck(t, c)
	want := []Mapping{
		{Offset: 0, Length: full - 2*bs, Addr: m.Addr, Type: Mapped},
		{Offset: full - bs, Length: full + 6*bs, Addr: m.Addr + full - bs, Type: Mapped},
	}
	if got := records(c, ReadFork); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after the cut: %v\nwant %v", got, want)
	}
	// Putting the block back joins everything into one record again.
	if err := c.Upsert(ReadFork, Mapping{Offset: full - 2*bs, Length: bs, Addr: m.Addr + full - 2*bs, Type: Mapped}); err != nil {
		t.Fatal(err)
	}
	mustCheck(t, c)
	if got := records(c, ReadFork); fmt.Sprint(got) != fmt.Sprint([]Mapping{m}) || c.Len(ReadFork) != 1 {
		t.Fatalf("after the repair: %v", got)
	}
}

// TestChainsAtTheTopOfTheRange: a record holds at most 2^63 bytes, as
// seen through the API, however many records its chain takes (with
// one-byte blocks a hole record holds 2^61 bytes).
func TestChainsAtTheTopOfTheRange(t *testing.T) {
	c := New(1)
	a := Mapping{Offset: 0, Length: 1 << 63, Type: Hole, Addr: NullAddr}
	b := Mapping{Offset: 1 << 63, Length: 1 << 62, Type: Hole, Addr: NullAddr}
	for _, m := range []Mapping{a, b} {
		if err := c.Upsert(ReadFork, m); err != nil {
			t.Fatal(err)
		}
		mustCheck(t, c)
	}
	if got := records(c, ReadFork); fmt.Sprint(got) != fmt.Sprint([]Mapping{a, b}) || c.Len(ReadFork) != 2 {
		t.Fatalf("records %v, Len %d", got, c.Len(ReadFork))
	}
	if got, _, r := c.Lookup(ReadFork, 5, ToEOF); r != Hit || got.Offset != 5 || got.End() != 1<<63 {
		t.Fatalf("lookup: %+v %v", got, r)
	}
	// Shrinking the first record lets the two merge into one of 2^63.
	if err := c.Remove(ReadFork, 0, 1<<62); err != nil {
		t.Fatal(err)
	}
	if err := c.Upsert(ReadFork, Mapping{Offset: 1<<63 + 1<<62, Length: 1, Type: Hole}); err != nil {
		t.Fatal(err)
	}
	mustCheck(t, c)
	want := []Mapping{{Offset: 1 << 62, Length: 1 << 63, Type: Hole, Addr: NullAddr}, {Offset: 1<<63 + 1<<62, Length: 1, Type: Hole, Addr: NullAddr}}
	if got := records(c, ReadFork); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("records %v\nwant %v", got, want)
	}
}

// TestEscapedRecords stores what the packed word cannot hold (addresses
// that are not block-aligned or beyond 2^40 blocks, more kinds than a
// leaf's dictionary has room for) and checks that it reads back, merges
// and is accounted for.
func TestEscapedRecords(t *testing.T) {
	c := New(bs)
	high := uint64(1<<addrBits) * bs
	ms := []Mapping{
		{Offset: 0, Length: bs, Addr: 100, Type: Mapped},
		{Offset: 2 * bs, Length: 2 * bs, Addr: high, Type: Mapped},
		{Offset: 4 * bs, Length: bs, Addr: high + 2*bs, Type: Mapped}, // merges with the one before
	}
	for i := range uint64(8) { // eight kinds in one leaf
		ms = append(ms, Mapping{Offset: (10 + 2*i) * bs, Length: bs, Addr: i * bs, Type: Mapped, Dev: uint32(i)})
	}
	for _, m := range ms {
		if err := c.Upsert(ReadFork, m); err != nil {
			t.Fatal(err)
		}
		mustCheck(t, c)
	}
	want := append([]Mapping{ms[0], {Offset: 2 * bs, Length: 3 * bs, Addr: high, Type: Mapped}}, ms[3:]...)
	if got := records(c, ReadFork); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("records %v\nwant %v", got, want)
	}
	for _, w := range want {
		if got, _, r := c.Lookup(ReadFork, w.End()-bs, bs); r != Hit || got.Addr != w.Addr+w.Length-bs || got.Dev != w.Dev {
			t.Fatalf("lookup of %+v: %+v %v", w, got, r)
		}
	}
	tr := &c.forks[ReadFork]
	if len(tr.side) == 0 || c.Stats().MemoryBytes != leafBytes+uint64(len(tr.side))*sideRecBytes {
		t.Fatalf("%d escaped, memory %d", len(tr.side), c.Stats().MemoryBytes)
	}
	// Removing them empties the side table.
	if err := c.Remove(ReadFork, 0, 5*bs); err != nil {
		t.Fatal(err)
	}
	for i := range uint64(8) {
		c.Remove(ReadFork, (10+2*i)*bs, bs)
	}
	mustCheck(t, c)
	if len(tr.side) != 0 || c.Len(ReadFork) != 0 {
		t.Fatalf("%d side-table entries, %d records left", len(tr.side), c.Len(ReadFork))
	}
}

// TestLeafMergeWithFullDictionaries: leaves whose dictionaries do not fit
// together are left apart, and everything still checks.
func TestLeafMergeWithFullDictionaries(t *testing.T) {
	c := New(bs)
	const n = 4 * leafCap
	for i := range uint64(n) {
		if err := c.Upsert(ReadFork, Mapping{Offset: 2 * i * bs, Length: bs, Addr: 3 * i * bs, Type: Mapped, Dev: uint32(i / leafCap * 3 % 7)}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range uint64(n) {
		if i%leafCap > 2 {
			if err := c.Remove(ReadFork, 2*i*bs, bs); err != nil {
				t.Fatal(err)
			}
			mustCheck(t, c)
		}
	}
	if c.Len(ReadFork) != 4*3 {
		t.Fatalf("%d records", c.Len(ReadFork))
	}
}

// TestRandomOrderFillsLeaves inserts records in random order, of several
// kinds so that shedding records into a sibling has to map dictionary
// entries (and sometimes cannot), checking the structure as it goes, and
// that leaves end up fuller than splits alone would leave them.
func TestRandomOrderFillsLeaves(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 4))
	const n = 5000
	c := New(bs)
	for k, x := range rng.Perm(n) {
		b := uint64(x)
		m := mapped(2*b, 1, 3*b)
		if rng.IntN(20) == 0 {
			m.Dev = uint32(rng.IntN(5)) // now and then a rarer kind
		}
		if err := c.Upsert(ReadFork, m); err != nil {
			t.Fatal(err)
		}
		if k%500 == 0 {
			mustCheck(t, c)
		}
	}
	mustCheck(t, c)
	tr := &c.forks[ReadFork]
	if fill := float64(tr.count) / float64(tr.leaves*leafCap); c.Len(ReadFork) != n || fill < 0.75 {
		t.Fatalf("%d records in %d leaves: %.2f full", c.Len(ReadFork), tr.leaves, fill)
	}
}

// TestEscapedChain: a mapping too long for one record at an address too
// high for the packed word is a chain of escaped records; it reads back,
// splits and joins like any other.
func TestEscapedChain(t *testing.T) {
	c := New(bs)
	full := uint64(1<<lenBits) * bs
	m := Mapping{Offset: 8 * bs, Length: 2*full + 3*bs, Addr: uint64(1<<addrBits)*bs + 7*bs, Type: Unwritten, Dev: 9}
	if err := c.Upsert(ReadFork, m); err != nil {
		t.Fatal(err)
	}
	mustCheck(t, c)
	tr := &c.forks[ReadFork]
	if tr.count != 3 || len(tr.side) != 3 || c.Len(ReadFork) != 1 {
		t.Fatalf("%d chunks, %d escaped, Len %d", tr.count, len(tr.side), c.Len(ReadFork))
	}
	off := m.Offset + full + bs
	if got, _, r := c.Lookup(ReadFork, off, ToEOF); r != Hit || got.Addr != m.Addr+full+bs || got.End() != m.End() || got.Dev != 9 {
		t.Fatalf("lookup: %+v %v", got, r)
	}
	if err := c.Remove(ReadFork, off, bs); err != nil {
		t.Fatal(err)
	}
	mustCheck(t, c)
	if c.Len(ReadFork) != 2 {
		t.Fatalf("Len %d after a cut", c.Len(ReadFork))
	}
	if err := c.Upsert(ReadFork, Mapping{Offset: off, Length: bs, Addr: m.Addr + full + bs, Type: Unwritten, Dev: 9}); err != nil {
		t.Fatal(err)
	}
	mustCheck(t, c)
	if got := records(c, ReadFork); fmt.Sprint(got) != fmt.Sprint([]Mapping{m}) {
		t.Fatalf("records %v", got)
	}
	c.Remove(ReadFork, 0, ToEOF)
	if len(tr.side) != 0 || c.Stats().MemoryBytes != 0 {
		t.Fatal("remove everything left side-table entries")
	}
}

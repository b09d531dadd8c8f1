package mapcache

import (
	"fmt"
	"iter"
	"math/bits"
	"slices"
	"sync"
	"sync/atomic"
)

// Type is a mapping's type. The values are the kernel's (iomap) for the
// first five; RetryCache and PureOverwrite are the engine's own.
type Type uint16

const (
	Hole      Type = 0 // no storage: reads as zeros
	Delalloc  Type = 1 // space promised, not yet placed: reads as zeros
	Mapped    Type = 2 // data at Addr on device Dev
	Unwritten Type = 3 // space at Addr, not yet written: reads as zeros
	Inline    Type = 4 // data held by the mapper
	// RetryCache is a mapper reply only: "I filled the cache myself; look
	// up again". It is never stored.
	RetryCache Type = 254
	// PureOverwrite in the write fork means "write through the read
	// mapping". Stored into a missing write fork, it does nothing.
	PureOverwrite Type = 255
)

func (t Type) String() string {
	switch t {
	case Hole:
		return "hole"
	case Delalloc:
		return "delalloc"
	case Mapped:
		return "mapped"
	case Unwritten:
		return "unwritten"
	case Inline:
		return "inline"
	case RetryCache:
		return "retry-cache"
	case PureOverwrite:
		return "pure-overwrite"
	}
	return fmt.Sprintf("type(%d)", uint16(t))
}

// hasStorage reports whether mappings of type t carry a device address.
func (t Type) hasStorage() bool { return t == Mapped || t == Unwritten }

// NullAddr is the address of mappings without storage; ToEOF as a length
// means "to the end of the file".
const NullAddr, ToEOF = ^uint64(0), ^uint64(0)

// Mapping maps [Offset, Offset+Length) of a file to [Addr, Addr+Length) of
// device Dev. Offsets, lengths and addresses are bytes.
type Mapping struct {
	Offset, Length, Addr uint64
	Type                 Type
	Flags                uint16
	Dev                  uint32
}

// End returns Offset+Length.
func (m Mapping) End() uint64 { return m.Offset + m.Length }

// Fork selects one of a file's two mapping sets.
type Fork uint8

const (
	ReadFork  Fork = iota // where the data is
	WriteFork             // where writes in flight go (out of place)
)

func (f Fork) String() string {
	if f == WriteFork {
		return "write fork"
	}
	return "read fork"
}

// Result is the outcome of Lookup.
type Result uint8

const (
	Hit    Result = iota // a record covers the offset
	Miss                 // no record covers the offset
	NoFork               // the write fork does not exist: writes are pure overwrites
)

func (r Result) String() string {
	return [...]string{"hit", "miss", "no fork"}[r]
}

// Cache is one file's extent cache: a read fork and an optional write fork,
// each a B+tree of non-overlapping, maximally merged records, and a
// sequence number that changes with every modification.
//
// Lookups may run concurrently with each other (they share a lock);
// modifications are exclusive. A cookie from Lookup or Seq stays valid
// (Valid) until the next change to either fork.
type Cache struct {
	mu    sync.RWMutex
	bs    uint64
	seq   atomic.Uint64
	forks [2]tree
	// hasWrite is set, under the exclusive lock and before the sequence
	// changes, when the write fork is created; it is never cleared.
	// Lookup reads it without the lock.
	hasWrite atomic.Bool
	budget   *Budget
	// accounted is the memory last reported to the budget.
	accounted int64

	// Lookups count one of these each, and only one: every atomic
	// read-modify-write is a full barrier on x86, so the fewer the better.
	hits, misses, noForks atomic.Uint64
	merges, splits        atomic.Uint64
	evictedRecs           atomic.Uint64
	evictedBytes          atomic.Uint64
}

// New returns an empty cache for a file with the given block size (a power
// of two).
func New(blockSize uint32) *Cache {
	if blockSize == 0 || blockSize&(blockSize-1) != 0 {
		panic(fmt.Sprintf("mapcache: block size %d is not a power of two", blockSize))
	}
	c := &Cache{bs: uint64(blockSize)}
	shift := uint8(bits.TrailingZeros32(blockSize))
	c.forks[ReadFork].shift, c.forks[WriteFork].shift = shift, shift
	return c
}

// BlockSize returns the cache's block size.
func (c *Cache) BlockSize() uint32 { return uint32(c.bs) }

// Seq returns the current sequence: a cookie valid until the next change.
func (c *Cache) Seq() uint64 { return c.seq.Load() }

// Valid reports whether nothing changed since cookie was taken.
func (c *Cache) Valid(cookie uint64) bool { return c.seq.Load() == cookie }

// validate checks m for storing into fork f.
func (c *Cache) validate(f Fork, m Mapping) error {
	switch {
	case f != ReadFork && f != WriteFork:
		return fmt.Errorf("%w: fork %d", ErrInvalid, f)
	case m.Length == 0:
		return fmt.Errorf("%w: zero length at %d", ErrInvalid, m.Offset)
	case m.Offset%c.bs != 0 || m.Length%c.bs != 0:
		return fmt.Errorf("%w: [%d,+%d) is not aligned to %d-byte blocks", ErrUnaligned, m.Offset, m.Length, c.bs)
	case m.Offset+m.Length < m.Offset || m.Length > 1<<63:
		return fmt.Errorf("%w: [%d,+%d) overflows", ErrInvalid, m.Offset, m.Length)
	}
	switch m.Type {
	case Mapped, Unwritten:
		if m.Addr == NullAddr || m.Addr+m.Length < m.Addr {
			return fmt.Errorf("%w: address %#x+%d overflows", ErrInvalid, m.Addr, m.Length)
		}
	case Hole, Delalloc, Inline:
	case PureOverwrite:
		if f != WriteFork {
			return fmt.Errorf("%w: pure overwrite in the read fork", ErrBadType)
		}
	default:
		return fmt.Errorf("%w: %v cannot be stored", ErrBadType, m.Type)
	}
	return nil
}

// Upsert stores m in fork f, replacing whatever covered its range and
// merging with neighbours. A bad mapping returns an error wrapping
// ErrInvalid, ErrUnaligned or ErrBadType and changes nothing.
func (c *Cache) Upsert(f Fork, m Mapping) error {
	if err := c.validate(f, m); err != nil {
		return err
	}
	c.mu.Lock()
	if c.upsert(f, m) {
		c.changed()
	}
	c.mu.Unlock()
	c.enforceBudget()
	return nil
}

// UpsertIf stores ms (all of them, in one exclusive section) if cookie is
// still valid and reports whether it did. Every mapping is checked first:
// a bad one, or two overlapping, return an error and change nothing.
func (c *Cache) UpsertIf(cookie uint64, f Fork, ms ...Mapping) (bool, error) {
	for i, m := range ms {
		if err := c.validate(f, m); err != nil {
			return false, fmt.Errorf("mapping %d: %w", i, err)
		}
		for k := range i {
			if ms[k].Offset < m.End() && m.Offset < ms[k].End() {
				return false, fmt.Errorf("%w: mappings %d and %d overlap", ErrInvalid, k, i)
			}
		}
	}
	c.mu.Lock()
	if c.seq.Load() != cookie {
		c.mu.Unlock()
		return false, nil
	}
	if f == WriteFork && !c.hasWrite.Load() && slices.ContainsFunc(ms, func(m Mapping) bool { return m.Type != PureOverwrite }) {
		// The batch makes the write fork: its pure overwrites are
		// stored too, whatever their place in it (before the fork
		// exists one would be dropped as what no fork already means).
		c.hasWrite.Store(true)
	}
	stored := false
	for _, m := range ms {
		stored = c.upsert(f, m) || stored
	}
	if stored {
		c.changed()
	}
	c.mu.Unlock()
	c.enforceBudget()
	return true, nil
}

// upsert stores m in fork f and reports whether that changed anything: a
// pure overwrite into a missing write fork, which already means pure
// overwrite, does not.
func (c *Cache) upsert(f Fork, m Mapping) bool {
	if f == WriteFork && !c.hasWrite.Load() {
		if m.Type == PureOverwrite {
			return false // no write fork already means pure overwrite
		}
		c.hasWrite.Store(true)
	}
	if !m.Type.hasStorage() {
		m.Addr = NullAddr
	}
	t := &c.forks[f]
	end := m.End()
	l, i, ok := t.floor(m.Offset)
	if ok && t.replace(l, i, m) {
		return true
	}
	if t.overlaps(l, i, ok, m.Offset, end) {
		c.remove(t, m.Offset, end)
		l, i, ok = t.floor(m.Offset)
	}
	// Decide both merges first, while the positions are valid: with the
	// left neighbour (the chain ending at m.Offset) and with the right
	// one (the chain starting at m's end), keeping the joined record
	// within 2^63 bytes, the left merge first.
	start := m.Offset // of the record m becomes part of
	leftJoin := false
	if ok {
		left, _ := t.chunk(l, i)
		if left.End() == m.Offset && sameKind(left, m) {
			if s := t.chainStart(l, i); end-s <= 1<<63 {
				start, leftJoin = s, true
			}
		}
	} else {
		l = nil
	}
	rightJoin, rightMore := false, false
	if rl, ri, ok := t.after(l, i); ok && rl.recs[ri].off == end {
		right, _ := t.chunk(rl, ri)
		if sameKind(m, right) && t.chainEnd(rl, ri)-start <= 1<<63 {
			rightJoin = true
			// Take the right chain's first record into m; the rest of
			// the chain (if any) continues m's.
			nl, ni, ok := t.after(rl, ri)
			rightMore = ok && nl.recs[ni].word&contBit != 0
			t.delete(right.Offset)
			m.Length += right.Length
			c.merges.Add(1)
		}
	}
	if leftJoin {
		// Grow the left chain's last record in place (its offset, and
		// so its place in the tree, stays) and continue the chain with
		// the rest.
		if rightJoin {
			l, i, _ = t.floor(m.Offset) // the delete may have moved it
		}
		left, _ := t.chunk(l, i)
		grow := min(t.maxChunk(m.Type)-left.Length, m.Length)
		if grow > 0 {
			t.setLength(l, i, left.Length+grow)
		}
		if m = advance(m, grow); m.Length > 0 {
			t.insertChain(m, true)
		}
		c.merges.Add(1)
	} else {
		t.insertChain(m, false)
	}
	if rightMore {
		// The right chain's second record now follows m's last one:
		// they may fit in one.
		l, i, _ := t.floor(m.End() - 1)
		t.fuseAt(l, i)
	}
	return true
}

// replace rewrites record i of l in place as m, and reports whether it
// did, when that is the whole of what upserting m does: the record is a
// chain of one that covers exactly m's range, neither is escaped, and m
// merges with neither neighbour. An out-of-place write's commit is
// usually this (a block that moves to fresh space), and rewriting the
// word costs a fraction of removing the record and inserting it again:
// 4 KiB random out-of-place writes spent a quarter of their CPU time in
// upsert, over half of it in the remove.
func (t *tree) replace(l *leaf, i int, m Mapping) bool {
	w := l.recs[i].word
	if l.recs[i].off != m.Offset || w&contBit != 0 || w>>slotShift&slotMask == escSlot {
		return false
	}
	old, _ := t.chunk(l, i)
	if old.Length != m.Length || m.Length > t.maxChunk(m.Type) {
		return false
	}
	nl, ni, okn := t.after(l, i)
	if okn {
		if nl.recs[ni].word&contBit != 0 {
			return false // old continues in a chain
		}
		if right, _ := t.chunk(nl, ni); right.Offset == m.End() && sameKind(m, right) {
			return false // m would merge with the right neighbour
		}
	}
	if pl, pi, okp := t.before(l, i); okp {
		if left, _ := t.chunk(pl, pi); left.End() == m.Offset && sameKind(left, m) {
			return false // and with the left one
		}
	}
	p, ok := t.pack(l, m)
	if !ok {
		return false // it would be escaped
	}
	l.recs[i].word = p
	return true
}

// join makes the chain starting at x continue the one ending there, if
// the two records could merge, and reports whether it did.
func (t *tree) join(x uint64) bool {
	rl, ri, ok := t.at(x)
	if !ok || rl.recs[ri].word&contBit != 0 {
		return false
	}
	ll, li, ok := t.before(rl, ri)
	if !ok {
		return false
	}
	left, _ := t.chunk(ll, li)
	right, _ := t.chunk(rl, ri)
	if left.End() != x || !sameKind(left, right) || t.chainEnd(rl, ri)-t.chainStart(ll, li) > 1<<63 {
		return false
	}
	t.setCont(rl, ri, true)
	t.fuseAt(ll, li)
	return true
}

// overlaps reports whether a record overlaps [off, end), given the floor
// of off (l, i, ok).
func (t *tree) overlaps(l *leaf, i int, ok bool, off, end uint64) bool {
	if ok {
		if m, _ := t.chunk(l, i); m.End() > off {
			return true
		}
	} else {
		l = nil
	}
	l, i, ok = t.after(l, i)
	return ok && l.recs[i].off < end
}

// advance drops the first n bytes of m.
func advance(m Mapping, n uint64) Mapping {
	m.Offset += n
	m.Length -= n
	if m.Type.hasStorage() {
		m.Addr += n
	}
	return m
}

// sameKind reports whether b continues a (b starts where a ends): same
// device, type and flags, and the next address for Mapped and Unwritten.
func sameKind(a, b Mapping) bool {
	if a.Dev != b.Dev || a.Type != b.Type || a.Flags != b.Flags {
		return false
	}
	return !a.Type.hasStorage() || a.Addr+a.Length == b.Addr
}

// mergeable reports whether b can be appended to a (b starts where a ends).
func mergeable(a, b Mapping) bool {
	return sameKind(a, b) && a.Length+b.Length <= 1<<63
}

// insertChain inserts m, whose range is empty, as a chain of records: as
// many full ones as it takes, then the rest. cont is the first record's
// cont bit.
func (t *tree) insertChain(m Mapping, cont bool) {
	most := t.maxChunk(m.Type)
	for {
		part := m
		part.Length = min(m.Length, most)
		t.insert(part, cont)
		if part.Length == m.Length {
			return
		}
		m, cont = advance(m, part.Length), true
	}
}

// chainStart returns the offset of the chain that record i of l is part of.
func (t *tree) chainStart(l *leaf, i int) uint64 {
	for l.recs[i].word&contBit != 0 {
		l, i, _ = t.before(l, i)
	}
	return l.recs[i].off
}

// chainEnd returns the end of the chain that record i of l is part of.
func (t *tree) chainEnd(l *leaf, i int) uint64 {
	m, _ := t.chunk(l, i)
	end := m.End()
	for {
		var ok bool
		if l, i, ok = t.after(l, i); !ok || l.recs[i].word&contBit == 0 {
			return end
		}
		m, _ = t.chunk(l, i)
		end = m.End()
	}
}

// extend returns where the chain through record i of l (which ends at
// end) reaches, following it no further than limit.
func (t *tree) extend(l *leaf, i int, end, limit uint64) uint64 {
	for end < limit {
		var ok bool
		if l, i, ok = t.after(l, i); !ok || l.recs[i].word&contBit == 0 {
			break
		}
		m, _ := t.chunk(l, i)
		end = m.End()
	}
	return end
}

// fuseAt joins record i of l with the next one when that continues it
// and the two fit in one record.
func (t *tree) fuseAt(l *leaf, i int) {
	a, _ := t.chunk(l, i)
	nl, ni, ok := t.after(l, i)
	if !ok || nl.recs[ni].word&contBit == 0 {
		return
	}
	b, _ := t.chunk(nl, ni)
	if a.Length+b.Length > t.maxChunk(a.Type) {
		return
	}
	t.delete(b.Offset)
	l, i, _ = t.at(a.Offset)
	t.setLength(l, i, a.Length+b.Length)
}

// mendRight restores the rules after [off, end) was removed, at its end:
// the record starting there starts a chain, joins the next record of its
// chain if the two fit in one, and merges with the next chain if only the
// 2^63 limit kept them apart.
func (t *tree) mendRight(end uint64) {
	l, i, ok := t.at(end)
	if !ok {
		return
	}
	t.setCont(l, i, false)
	t.fuseAt(l, i)
	l, i, _ = t.at(end)
	t.join(t.chainEnd(l, i))
}

// mendLeft is mendRight at the start of the removed range: the record
// trimmed to end there joins its chain's previous record if the two fit
// in one, and its chain merges with the previous one if only the 2^63
// limit kept them apart.
func (t *tree) mendLeft(off uint64) {
	l, i, ok := t.floor(off - 1)
	if !ok {
		return
	}
	if l.recs[i].word&contBit != 0 {
		pl, pi, _ := t.before(l, i)
		t.fuseAt(pl, pi)
		l, i, _ = t.floor(off - 1)
	}
	t.join(t.chainStart(l, i))
}

// kin reports whether record i of l continues the one before it or could
// (adjacent, of the same kind).
func (t *tree) kin(l *leaf, i int) bool {
	if l.recs[i].word&contBit != 0 {
		return true
	}
	pl, pi, ok := t.before(l, i)
	if !ok {
		return false
	}
	p, _ := t.chunk(pl, pi)
	m, _ := t.chunk(l, i)
	return p.End() == m.Offset && sameKind(p, m)
}

// Remove deletes [off, off+length) from fork f (length ToEOF: to the end),
// trimming and splitting records at the edges.
func (c *Cache) Remove(f Fork, off, length uint64) error {
	if f != ReadFork && f != WriteFork {
		return fmt.Errorf("%w: fork %d", ErrInvalid, f)
	}
	if length == 0 || off%c.bs != 0 || (length != ToEOF && length%c.bs != 0) {
		return fmt.Errorf("%w: remove [%d,+%d) with %d-byte blocks", ErrUnaligned, off, length, c.bs)
	}
	end := off + length
	if length == ToEOF || end < off {
		end = ToEOF
	}
	defer c.enforceBudget() // after the unlock below: it takes the lock
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.remove(&c.forks[f], off, end) {
		c.changed()
	}
	return nil
}

// remove deletes [off, end) from t and reports whether anything changed.
func (c *Cache) remove(t *tree, off, end uint64) bool {
	if t.count == 0 {
		return false
	}
	if off == 0 && end == ToEOF {
		t.clear() // everything: free the tree at once
		return true
	}
	changed := false
	// Whether the records left at either edge need mending (see
	// mendLeft and mendRight): only when they have a neighbour that
	// continues them or could.
	mendLeft, mendRight := false, false
	for {
		// The first record ending after off.
		l, i, ok := t.floor(off)
		if ok {
			if r, _ := t.chunk(l, i); r.End() <= off {
				l, i, ok = t.after(l, i)
			}
		} else {
			l, i, ok = t.after(nil, 0)
		}
		if !ok {
			break
		}
		r, cont := t.chunk(l, i)
		if r.Offset >= end {
			break
		}
		changed = true
		if cont && r.Offset == off {
			mendLeft = true // its chain ends at off now
		}
		if r.End() >= end {
			nl, ni, ok := t.after(l, i)
			mendRight = ok && nl.recs[ni].off == r.End()
		}
		if r.Offset < off {
			// Keep the left part where it is: its offset, and so its
			// place in the tree, does not change.
			mendLeft = t.kin(l, i)
			t.setLength(l, i, off-r.Offset)
			if r.End() > end {
				t.insert(advance(r, end-r.Offset), false)
				c.splits.Add(1)
				break
			}
			if r.End() == end {
				break // nothing after this record can overlap
			}
			continue
		}
		t.delete(r.Offset)
		if r.End() > end {
			t.insert(advance(r, end-r.Offset), false)
			break
		}
		if r.End() == end {
			break
		}
	}
	if mendRight && end != ToEOF {
		t.mendRight(end)
	}
	if mendLeft {
		t.mendLeft(off)
	}
	return changed
}

// Lookup returns the record of fork f covering off, trimmed to
// [round_down(off, bs), min(round_up(off+length, bs), record end)) with its
// address advanced to match (NullAddr for types without storage), and a
// validity cookie. Miss means no record covers off; NoFork that the write
// fork does not exist. It allocates nothing.
func (c *Cache) Lookup(f Fork, off, length uint64) (Mapping, uint64, Result) {
	if off == noKey {
		return c.lookupLastByte(f)
	}
	aoff := off &^ (c.bs - 1)
	aend := off + length
	if aend < off || length == ToEOF {
		aend = ToEOF
	} else if aend = (aend + c.bs - 1) &^ (c.bs - 1); aend == 0 {
		aend = ToEOF
	}
	if cookie, none := c.noWriteFork(f); none {
		return Mapping{}, cookie, NoFork
	}
	c.mu.RLock()
	cookie := c.seq.Load()
	t := &c.forks[f&1]
	// Decode the record as scalars: building a Mapping here costs
	// store-forwarding stalls on the hot path.
	var start, n, addr uint64
	var md meta
	found := false
	l := t.indexed(off)
	if l == nil {
		if l = t.find(off); l != nil && l.n > 0 && l.recs[0].off <= off {
			t.remember(off, l)
		}
	}
	if l != nil {
		// Loading the dictionary's line early, alongside the keys',
		// measured slower: more lines in flight per lookup.
		i := l.search(off)
		if i >= 0 {
			w := l.recs[i].word
			md = l.dict[w>>slotShift&slotMask]
			start = l.recs[i].off
			if md.typ.hasStorage() {
				n = (w>>addrBits&lenMask + 1) << t.shift
				addr = (w & addrMask) << t.shift
			} else {
				n = (w&longMask + 1) << t.shift
				addr = NullAddr
			}
			if md.typ == escapedType || start+n < aend {
				// An escaped record, or the range reaches past this
				// record (and perhaps along its chain).
				start, n, addr, md, found = t.lookupAt(l, i, off, aend)
			} else {
				found = start+n > off
			}
		} else if l, i, ok := t.floor(off); ok {
			// Every record of the leaf is after off: the floor, if
			// any, is in an earlier leaf.
			start, n, addr, md, found = t.lookupAt(l, i, off, aend)
		}
	}
	c.mu.RUnlock()
	if !found {
		c.misses.Add(1)
		return Mapping{}, cookie, Miss
	}
	c.hits.Add(1)
	if md.typ.hasStorage() {
		addr += aoff - start
	}
	return Mapping{Offset: aoff, Length: min(aend, start+n) - aoff, Addr: addr,
		Type: md.typ, Flags: md.flags, Dev: md.dev}, cookie, Hit
}

// noWriteFork reports, for a lookup in fork f, that f is the write fork
// and it does not exist (counted), with the cookie that answer holds for.
// Without a write fork the answer needs no lock: the cookie is read
// first, and creating the fork changes it.
func (c *Cache) noWriteFork(f Fork) (uint64, bool) {
	if f != WriteFork {
		return 0, false
	}
	cookie := c.seq.Load()
	if c.hasWrite.Load() {
		return 0, false
	}
	c.noForks.Add(1)
	return cookie, true
}

// Extent returns the mapping of fork f that holds off, whole: from the
// head of the chain of records it is kept in (a mapping longer than a
// record holds is kept as a chain) to the chain's end, not trimmed to a
// request as Lookup's answer is; Addr is the address of its start. With
// the cookie it returns, a caller may keep the mapping and use it for any
// offset in it for as long as Seq returns that cookie: every change to
// the cache moves the sequence. It counts as a lookup (Stats), as
// Lookup does; what a caller then answers from the mapping it keeps is
// not counted here.
func (c *Cache) Extent(f Fork, off uint64) (Mapping, uint64, Result) {
	if off == noKey {
		return c.lookupLastByte(f)
	}
	if cookie, none := c.noWriteFork(f); none {
		return Mapping{}, cookie, NoFork
	}
	c.mu.RLock()
	cookie := c.seq.Load()
	t := &c.forks[f&1]
	var m Mapping
	// The leaf as Lookup finds it: through the leaf index where there is
	// one (a large cache), whose slots a Prefetcher loads ahead.
	l := t.indexed(off)
	if l == nil {
		if l = t.find(off); l != nil && l.n > 0 && l.recs[0].off <= off {
			t.remember(off, l)
		}
	}
	i, found := -1, false
	if l != nil {
		if i = l.search(off); i >= 0 {
			found = true
			// The common case decoded here, as Lookup does: a record of
			// a mapping with storage, in the dictionary, alone in its
			// chain (it continues nothing, and the next record, in the
			// same leaf, does not continue it). The general case below
			// calls chunk and extend, twice the instructions.
			w := l.recs[i].word
			md := l.dict[w>>slotShift&slotMask]
			if md.typ.hasStorage() && w&contBit == 0 && i+1 < l.n && l.recs[i+1].word&contBit == 0 {
				start, n := l.recs[i].off, (w>>addrBits&lenMask+1)<<t.shift
				if start+n <= off {
					found = false
				} else {
					m = Mapping{Offset: start, Length: n, Addr: (w & addrMask) << t.shift,
						Type: md.typ, Flags: md.flags, Dev: md.dev}
					l = nil // decoded
				}
			}
		} else {
			// Every record of the leaf is after off: the floor, if any,
			// is in an earlier leaf.
			l, i, found = t.floor(off)
		}
	}
	if found && l != nil {
		var cont bool
		m, cont = t.chunk(l, i)
		found = m.End() > off
		if found {
			m.Length = t.extend(l, i, m.End(), ToEOF) - m.Offset
			// Back to the chain's head: a chained record continues the
			// one before it, which ends where it starts, at the address
			// before its own.
			for hl, hi := l, i; cont; {
				var ok bool
				if hl, hi, ok = t.before(hl, hi); !ok {
					break
				}
				var h Mapping
				h, cont = t.chunk(hl, hi)
				m.Offset, m.Length = h.Offset, m.Length+h.Length
				m.Addr = h.Addr
			}
		}
	}
	c.mu.RUnlock()
	if !found {
		c.misses.Add(1)
		return Mapping{}, cookie, Miss
	}
	c.hits.Add(1)
	return m, cookie, Hit
}

// lookupAt is Lookup's general case for record i of l, the floor of off:
// it decodes the record (escaped or not) and follows its chain towards
// aend, returning the record's start, its length up to where the chain
// was followed, address, dictionary entry, and whether it covers off.
func (t *tree) lookupAt(l *leaf, i int, off, aend uint64) (start, n, addr uint64, md meta, found bool) {
	m, _ := t.chunk(l, i)
	if m.End() <= off {
		return 0, 0, 0, meta{}, false
	}
	end := t.extend(l, i, m.End(), aend)
	return m.Offset, end - m.Offset, m.Addr, meta{m.Type, m.Flags, m.Dev}, true
}

// lookupLastByte is Lookup at offset 2^64-1, which no record covers
// (records end at or below it). The tree searches need offsets below it.
func (c *Cache) lookupLastByte(f Fork) (Mapping, uint64, Result) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if f == WriteFork && !c.hasWrite.Load() {
		c.noForks.Add(1)
		return Mapping{}, c.seq.Load(), NoFork
	}
	c.misses.Add(1)
	return Mapping{}, c.seq.Load(), Miss
}

// CommitWrite is the end of a successful out-of-place write: every
// write-fork record overlapping [off, off+length), trimmed to the range,
// moves to the read fork (PureOverwrite records are just dropped), in one
// exclusive section. It returns how many records moved.
func (c *Cache) CommitWrite(off, length uint64) (int, error) {
	if length == 0 || off%c.bs != 0 || length%c.bs != 0 || off+length < off {
		return 0, fmt.Errorf("%w: commit [%d,+%d) with %d-byte blocks", ErrUnaligned, off, length, c.bs)
	}
	defer c.enforceBudget() // after the unlock below: it takes the lock
	c.mu.Lock()
	defer c.mu.Unlock()
	end := off + length
	var buf [8]Mapping
	moved := buf[:0]
	for m := range c.overlapping(WriteFork, off, end) {
		moved = append(moved, m)
	}
	if len(moved) == 0 {
		return 0, nil
	}
	c.remove(&c.forks[WriteFork], off, end)
	n := 0
	for _, m := range moved {
		if m.Type == PureOverwrite {
			continue
		}
		c.upsert(ReadFork, m)
		n++
	}
	c.changed()
	return n, nil
}

// CommitWriteAt is CommitWrite for one device write: only the parts of the
// write-fork records that still point at [addr, addr+length) on dev move to
// the read fork. A write that completes after a newer write re-pointed the
// range moves nothing, so readers never see a location before its data is
// written. It returns how many records moved.
func (c *Cache) CommitWriteAt(off, length uint64, dev uint32, addr uint64) (int, error) {
	return c.endWriteAt(off, length, dev, addr, true)
}

// DropWriteAt is the end of a failed device write: the parts of the
// write-fork records that still point at [addr, addr+length) on dev are
// removed; a newer write's location for the range is left alone.
func (c *Cache) DropWriteAt(off, length uint64, dev uint32, addr uint64) (int, error) {
	return c.endWriteAt(off, length, dev, addr, false)
}

func (c *Cache) endWriteAt(off, length uint64, dev uint32, addr uint64, commit bool) (int, error) {
	if length == 0 || off%c.bs != 0 || length%c.bs != 0 || off+length < off || addr+length < addr {
		return 0, fmt.Errorf("%w: end of write [%d,+%d) with %d-byte blocks", ErrUnaligned, off, length, c.bs)
	}
	defer c.enforceBudget() // after the unlock below: it takes the lock
	c.mu.Lock()
	defer c.mu.Unlock()
	var buf [8]Mapping
	match := buf[:0]
	for m := range c.overlapping(WriteFork, off, off+length) {
		if m.Type == Mapped && m.Dev == dev && m.Addr == addr+(m.Offset-off) {
			match = append(match, m)
		}
	}
	if len(match) == 0 {
		return 0, nil
	}
	for _, m := range match {
		c.remove(&c.forks[WriteFork], m.Offset, m.End())
		if commit {
			c.upsert(ReadFork, m)
		}
	}
	c.changed()
	return len(match), nil
}

// overlapping yields fork f's records overlapping [off, end), trimmed to
// it, each chain joined into one record. The caller holds the lock.
func (c *Cache) overlapping(f Fork, off, end uint64) iter.Seq[Mapping] {
	return func(yield func(Mapping) bool) {
		t := &c.forks[f]
		if t.count == 0 {
			return
		}
		emit := func(m Mapping) bool {
			if m.End() <= off {
				return true
			}
			if m.Offset < off {
				m = advance(m, off-m.Offset)
			}
			if m.End() > end {
				m.Length = end - m.Offset
			}
			return yield(m)
		}
		l, i, ok := t.floor(off)
		if !ok {
			l, i, ok = t.after(nil, 0)
		}
		var cur Mapping
		have := false
		for ; ok; l, i, ok = t.after(l, i) {
			m, cont := t.chunk(l, i)
			if have && cont {
				cur.Length += m.Length
			} else {
				if have && !emit(cur) {
					return
				}
				if m.Offset >= end {
					return
				}
				cur, have = m, true
			}
			if cur.End() >= end {
				break // what follows is past the range, or trimmed off
			}
		}
		if have {
			emit(cur)
		}
	}
}

// Overlapping returns fork f's records overlapping [off, off+length),
// trimmed to the range, in order. It works on a snapshot taken under the
// shared lock.
func (c *Cache) Overlapping(f Fork, off, length uint64) iter.Seq[Mapping] {
	if length == 0 {
		return func(func(Mapping) bool) {} // an empty range meets nothing
	}
	end := off + length
	if length == ToEOF || end < off {
		end = ToEOF
	}
	c.mu.RLock()
	var out []Mapping
	for m := range c.overlapping(f&1, off, end) {
		out = append(out, m)
	}
	c.mu.RUnlock()
	return func(yield func(Mapping) bool) {
		for _, m := range out {
			if !yield(m) {
				return
			}
		}
	}
}

// NextMapped returns the first offset at or after off that fork f has a
// record for (off itself when a record covers it), and false when there is
// none: the hole/gap query.
func (c *Cache) NextMapped(f Fork, off uint64) (uint64, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	t := &c.forks[f&1]
	if t.count == 0 {
		return 0, false
	}
	l, i, ok := t.floor(off)
	if ok {
		if m, _ := t.chunk(l, i); m.End() > off {
			return off, true
		}
	}
	if l, i, ok = t.after(l, i); ok {
		return l.recs[i].off, true
	}
	return 0, false
}

// All returns fork f's records in order, from a snapshot.
func (c *Cache) All(f Fork) iter.Seq[Mapping] { return c.Overlapping(f, 0, ToEOF) }

// Len returns the number of records in fork f.
func (c *Cache) Len(f Fork) int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.forks[f&1].heads
}

// HasWriteFork reports whether the write fork exists.
func (c *Cache) HasWriteFork() bool { return c.hasWrite.Load() }

// changed bumps the sequence after a modification (the caller holds the
// exclusive lock) and, in invariant builds, checks everything.
func (c *Cache) changed() {
	c.seq.Add(1)
	if invariants {
		if err := c.check(); err != nil {
			panic("mapcache: invariant violated: " + err.Error())
		}
	}
	if c.budget != nil {
		c.budget.note(c)
	}
}

// Check verifies every invariant of both forks: records sorted, non
// overlapping, non-empty, block-aligned, of storable types, no two
// neighbours that could merge; and the trees' structure.
func (c *Cache) Check() error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.check()
}

func (c *Cache) check() error {
	if !c.hasWrite.Load() && c.forks[WriteFork].count != 0 {
		return fmt.Errorf("%w: records in a write fork that does not exist", ErrCorrupt)
	}
	for f := range c.forks {
		if err := c.checkFork(Fork(f)); err != nil {
			return err
		}
	}
	return nil
}

// checkFork checks fork f's tree, its records (chunks) and what the API
// shows of them: every chain joined into one record.
func (c *Cache) checkFork(f Fork) error {
	t := &c.forks[f]
	if err := t.check(); err != nil {
		return fmt.Errorf("%w: %v: %v", ErrCorrupt, f, err)
	}
	var prev, cur, last Mapping // the previous joined record, the current one, the last chunk
	var bytes uint64
	n, k := 0, 0 // joined records, chunks
	flush := func() error {
		if err := c.validate(f, cur); err != nil {
			return fmt.Errorf("%w: %v record %d: %v", ErrCorrupt, f, n, err)
		}
		if n > 0 && prev.End() == cur.Offset && mergeable(prev, cur) {
			return fmt.Errorf("%w: %v records %d and %d could merge", ErrCorrupt, f, n-1, n)
		}
		prev = cur
		n++
		return nil
	}
	for l := t.first; l != nil; l = l.next {
		for i := range l.n {
			m, cont := t.chunk(l, i)
			if err := c.validate(f, m); err != nil {
				return fmt.Errorf("%w: %v chunk %d: %v", ErrCorrupt, f, k, err)
			}
			if !m.Type.hasStorage() && m.Addr != NullAddr {
				return fmt.Errorf("%w: %v chunk %d: %v with an address", ErrCorrupt, f, k, m.Type)
			}
			if m.Length > t.maxChunk(m.Type) {
				return fmt.Errorf("%w: %v chunk %d: %d bytes, longer than a record holds", ErrCorrupt, f, k, m.Length)
			}
			if k > 0 && last.End() > m.Offset {
				return fmt.Errorf("%w: %v chunks %d and %d overlap", ErrCorrupt, f, k-1, k)
			}
			switch {
			case cont && k == 0:
				return fmt.Errorf("%w: %v chunk 0 continues nothing", ErrCorrupt, f)
			case cont && (last.End() != m.Offset || !sameKind(last, m)):
				return fmt.Errorf("%w: %v chunk %d does not continue chunk %d", ErrCorrupt, f, k, k-1)
			case cont && last.Length+m.Length <= t.maxChunk(m.Type):
				return fmt.Errorf("%w: %v chunks %d and %d of a chain fit in one", ErrCorrupt, f, k-1, k)
			case cont && cur.Length+m.Length > 1<<63:
				return fmt.Errorf("%w: %v chain through chunk %d is longer than 2^63", ErrCorrupt, f, k)
			case cont:
				cur.Length += m.Length
			default:
				if k > 0 {
					if err := flush(); err != nil {
						return err
					}
				}
				cur = m
			}
			bytes += m.Length
			last = m
			k++
		}
	}
	if k > 0 {
		if err := flush(); err != nil {
			return err
		}
	}
	if bytes != t.bytes {
		return fmt.Errorf("%w: %v maps %d bytes, recorded %d", ErrCorrupt, f, bytes, t.bytes)
	}
	return nil
}

// Stats are a cache's counters and sizes.
type Stats struct {
	Records      [2]int    // per fork
	BytesMapped  [2]uint64 // per fork
	MemoryBytes  uint64    // held by the trees' nodes
	Lookups      uint64
	Hits, Misses uint64
	Merges       uint64 // records merged with a neighbour on insert
	Splits       uint64 // records split in two by a remove
	Evicted      uint64 // read-fork records dropped by the memory budget
	EvictedBytes uint64
}

// Stats returns the cache's statistics.
func (c *Cache) Stats() Stats {
	c.mu.RLock()
	s := Stats{
		Records:     [2]int{c.forks[0].heads, c.forks[1].heads},
		BytesMapped: [2]uint64{c.forks[0].bytes, c.forks[1].bytes},
		MemoryBytes: c.forks[0].memory() + c.forks[1].memory(),
	}
	c.mu.RUnlock()
	s.Hits, s.Misses = c.hits.Load(), c.misses.Load()
	s.Lookups = s.Hits + s.Misses + c.noForks.Load()
	s.Merges, s.Splits = c.merges.Load(), c.splits.Load()
	s.Evicted, s.EvictedBytes = c.evictedRecs.Load(), c.evictedBytes.Load()
	return s
}

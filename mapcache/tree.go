package mapcache

import (
	"fmt"
	"sync/atomic"
	"unsafe"
)

// The tree is a B+tree keyed by file offset, with records only in the
// leaves and the leaves linked both ways.
//
// A record is 16 bytes: its offset (a whole word, the search key) and one
// packed word with its length, its address in blocks and a two-bit index
// into the leaf's dictionary of {type, flags, device}, which almost every
// leaf needs one or two entries of (XFS packs 128 bits the same way, with
// an unwritten bit in place of the dictionary):
//
//	bit 63      cont: the record continues its predecessor (see below)
//	bits 61-62  dictionary slot 0-2, or 3: escaped
//	Mapped and Unwritten, in the dictionary:
//	bits 40-60  length in blocks, minus one (up to 2^21 blocks)
//	bits 0-39   address in blocks (below 2^40 blocks)
//	other types, and escaped records:
//	bits 0-60   length in blocks, minus one
//
// A record that does not fit (an address that is not block-aligned or
// above 2^40 blocks, or a fourth {type, flags, device} in one leaf) is
// escaped: its address and dictionary entry live in the tree's side table,
// keyed by offset, and its word keeps only the length.
//
// A mapping longer than a record can hold is stored as a chain of records
// ("chunks"), as XFS does: a head followed by records whose cont bit is
// set, each starting where the one before ends, with the same type, flags
// and device and (for Mapped and Unwritten) the next address. What the API
// shows is the chain joined: Lookup, Overlapping, All, Len and Stats see
// one record per chain, and Check verifies the merging rules on the joined
// records. Within a chain, no two neighbours fit in one record together
// (their lengths add up to more than the length field holds), which bounds
// a chain to fewer than two records per full record's worth of length, and
// is what Check verifies of the chunks.
//
// Layout of a leaf: its first cache line (after Go's 8-byte allocation
// header) holds the links, the count and the dictionary; then 60
// records, each offset beside its packed word, four to a line-aligned
// line (unused records hold noKey, which sorts after every offset, so a
// search needs no count). 1016 bytes: with the header, exactly the
// 1024-byte size class. A search compares the first key of each line
// (independent loads: a cold leaf costs one memory latency, not one per
// probe), then searches the four records of one line, whose word is then
// at hand. Inner nodes do the same over 63 children and eight lines of
// eight keys (1536-byte class).
//
// Appends at the end of a full node split it so the left node stays full:
// sequentially built trees have full leaves. Elsewhere a full leaf first
// sheds records into a sibling with room (as B*-trees do), so randomly
// built trees have leaves about 85% full rather than 70%.
//
// Inner node invariant: child i holds only offsets in [keys[i], keys[i+1])
// for i >= 1; keys[i] is a lower bound (it may be lower than the child's
// first record after deletions), which is all routing needs. Child 0 holds
// whatever reaches the node below keys[1]; keys[0] is never read by
// routing, and once a node's first child has been deleted it may even be
// above keys[1].

const (
	leafCap  = 60
	innerCap = 63
	// A node with fewer than minFill entries is merged into a neighbour
	// when the two fit in one node.
	minFill = leafCap / 4

	// An inner node's key array is a power of two long, whole cache
	// lines, with at least one noKey slot. A leaf's records are 16 bytes,
	// four to a line.
	innerKeys   = 64
	recsPerLine = 4

	leafBytes  = 1024
	innerBytes = 1536

	// noKey fills unused key slots. No record starts there: a record is
	// at least one block long and ends at or below 2^64.
	noKey = ^uint64(0)
)

// The packed word.
const (
	contBit   = uint64(1) << 63
	slotShift = 61
	slotMask  = 3
	addrBits  = 40
	lenBits   = 21
	addrMask  = 1<<addrBits - 1
	lenMask   = 1<<lenBits - 1
	longMask  = 1<<slotShift - 1 // the length of records without a packed address

	// dictSlots are the dictionary entries records can use; the last
	// entry always holds the escape marker, so that decoding is one
	// indexed load for every record.
	dictSlots = 3
	escSlot   = 3
)

// Dictionary markers: types no record has.
const (
	freeType    Type = 0xfffe // an unused dictionary entry
	escapedType Type = 0xffff // the escape entry: see the side table
)

type meta struct {
	typ   Type
	flags uint16
	dev   uint32
}

// sideRec is an escaped record's address and dictionary entry.
type sideRec struct {
	addr uint64
	meta meta
}

// sideRecBytes is what one side-table entry costs, for memory accounting
// (key, value and the map's overhead, measured roughly).
const sideRecBytes = 64

// A leaf. The links, count and dictionary come first: with Go's header
// they fill the first cache line, the keys start on the next, and the
// collector scans only the two pointers at the front.
type leaf struct {
	prev, next *leaf
	n          int
	dict       [dictSlots + 1]meta
	recs       [leafCap]leafRec // recs[n:] hold {noKey, 0}
}

// leafRec is a record in a leaf: its offset and its packed word, side by
// side so that the line a search ends in holds the word too.
type leafRec struct {
	off, word uint64
}

type inner struct {
	keys   [innerKeys]uint64 // keys[n:] hold noKey
	n      int
	inners [innerCap]*inner // children, at heights above 1
	leaves [innerCap]*leaf  // children, at height 1
}

func newLeaf() *leaf {
	l := &leaf{}
	for i := range l.recs {
		l.recs[i].off = noKey
	}
	for s := range dictSlots {
		l.dict[s] = meta{typ: freeType}
	}
	l.dict[escSlot] = meta{typ: escapedType}
	return l
}

func newInner() *inner {
	n := &inner{}
	for i := range n.keys {
		n.keys[i] = noKey
	}
	return n
}

func (l *leaf) insertAt(i int, key, w uint64) {
	copy(l.recs[i+1:l.n+1], l.recs[i:l.n])
	l.recs[i] = leafRec{key, w}
	l.n++
}

func (l *leaf) deleteAt(i int) {
	copy(l.recs[i:], l.recs[i+1:l.n])
	l.n--
	l.recs[l.n] = leafRec{off: noKey}
}

// truncate drops the records from i on.
func (l *leaf) truncate(i int) {
	for k := i; k < l.n; k++ {
		l.recs[k] = leafRec{off: noKey}
	}
	l.n = i
}

// slot returns the dictionary slot holding md, adding it if there is room
// (after dropping entries no record of the leaf uses).
func (l *leaf) slot(md meta) (int, bool) {
	if s, ok := l.addSlot(md); ok {
		return s, true
	}
	l.compactDict()
	return l.addSlot(md)
}

// addSlot returns the dictionary slot holding md, adding it if a slot is
// free.
func (l *leaf) addSlot(md meta) (int, bool) {
	free := -1
	for s := range dictSlots {
		if l.dict[s] == md {
			return s, true
		}
		if free < 0 && l.dict[s].typ == freeType {
			free = s
		}
	}
	if free < 0 {
		return 0, false
	}
	l.dict[free] = md
	return free, true
}

// compactDict frees the dictionary entries no record uses.
func (l *leaf) compactDict() {
	var used [dictSlots + 1]bool
	for _, rc := range l.recs[:l.n] {
		used[rc.word>>slotShift&slotMask] = true
	}
	for s := range dictSlots {
		if !used[s] {
			l.dict[s] = meta{typ: freeType}
		}
	}
}

// The search below is written out for leaves of 60 records.
const _ = uint(leafCap-60) + uint(60-leafCap)

// search returns the index of the last record with offset <= off, or -1.
// off must be below noKey.
func (l *leaf) search(off uint64) int {
	// Pick the cache line of eight keys first, then search within it:
	// three probes in one line instead of five across four. These are
	// branches, not conditional moves, on purpose: with random lookups
	// the processor's speculation past them (into the record, and into
	// the next lookup) measured 1.8x faster than branch-free code.
	//
	// The line is the last whose first key is <= off: a chain of
	// compares that stops at the first line past off, written out (the
	// compiler unrolls no loop). A loop over all fifteen lines, counting
	// those <= off, took 137 instructions per read where this takes about
	// 20 (callgrind, 4 KiB random reads of a warm 1M-extent file).
	r := &l.recs
	var i int
	switch {
	case r[4].off > off:
		i = 0
	case r[8].off > off:
		i = 4
	case r[12].off > off:
		i = 8
	case r[16].off > off:
		i = 12
	case r[20].off > off:
		i = 16
	case r[24].off > off:
		i = 20
	case r[28].off > off:
		i = 24
	case r[32].off > off:
		i = 28
	case r[36].off > off:
		i = 32
	case r[40].off > off:
		i = 36
	case r[44].off > off:
		i = 40
	case r[48].off > off:
		i = 44
	case r[52].off > off:
		i = 48
	case r[56].off > off:
		i = 52
	default:
		i = 56
	}
	// noKey slots never compare <= off, so the result stays below n.
	if r[i+2].off <= off {
		i += 2
	}
	if r[i+1].off <= off {
		i++
	}
	if r[i].off > off {
		return -1 // only at i == 0: every record is after off
	}
	return i
}

// route returns the child of n that off belongs to. off must be below
// noKey.
func (n *inner) route(off uint64) int {
	// Child 0 takes everything below keys[1]; keys[0] is not compared.
	// As in leaf.search: choose one of eight cache lines, then search
	// within it. The line search is written out in both rather than
	// shared: a helper over slices measured 25% slower lookups at 1M
	// extents (bounds checks in the hottest loop of the cache).
	k := &n.keys
	i := 0
	for line := 8; line < len(k); line += 8 {
		if k[line] <= off {
			i += 8
		}
	}
	const mask = len(n.keys) - 1
	if k[(i+4)&mask] <= off {
		i += 4
	}
	if k[(i+2)&mask] <= off {
		i += 2
	}
	if k[(i+1)&mask] <= off {
		i++
	}
	return i
}

func (n *inner) insertAt(i int, key uint64, in *inner, lf *leaf) {
	copy(n.keys[i+1:n.n+1], n.keys[i:n.n])
	copy(n.inners[i+1:n.n+1], n.inners[i:n.n])
	copy(n.leaves[i+1:n.n+1], n.leaves[i:n.n])
	n.keys[i], n.inners[i], n.leaves[i] = key, in, lf
	n.n++
}

func (n *inner) deleteAt(i int) {
	copy(n.keys[i:], n.keys[i+1:n.n])
	copy(n.inners[i:], n.inners[i+1:n.n])
	copy(n.leaves[i:], n.leaves[i+1:n.n])
	n.n--
	n.keys[n.n], n.inners[n.n], n.leaves[n.n] = noKey, nil, nil
}

// truncate drops the children from i on.
func (n *inner) truncate(i int) {
	for k := i; k < n.n; k++ {
		n.keys[k], n.inners[k], n.leaves[k] = noKey, nil, nil
	}
	n.n = i
}

// tree is one fork's B+tree.
type tree struct {
	nodes       // what clear resets
	shift uint8 // log2 of the block size
	// index is the leaf index of a large tree (see leafIndex); nil
	// while the tree is small. Prefetches read it without the cache's
	// lock, so it is only ever stored atomically.
	index atomic.Pointer[leafIndex]
}

// nodes is a tree's nodes and counts.
type nodes struct {
	root   *inner // nil while the tree is a single leaf
	single *leaf  // the only leaf, when root is nil
	height int    // levels of inner nodes
	first  *leaf
	count  int // records, chunks of a chain counted one by one
	heads  int // records that do not continue their predecessor: what the API counts
	leaves int
	inners int
	bytes  uint64 // sum of record lengths
	side   map[uint64]sideRec
}

// maxChunk returns the longest record of type typ, in bytes.
func (t *tree) maxChunk(typ Type) uint64 {
	if typ.hasStorage() {
		return 1 << (lenBits + t.shift)
	}
	if t.shift >= 63-slotShift {
		return 1 << 63 // the longest mapping there is
	}
	return 1 << (slotShift + t.shift)
}

// chunk decodes record i of l; cont reports its cont bit.
func (t *tree) chunk(l *leaf, i int) (m Mapping, cont bool) {
	w, key := l.recs[i].word, l.recs[i].off
	md := l.dict[w>>slotShift&slotMask]
	m.Offset, m.Addr = key, NullAddr
	switch {
	case md.typ == escapedType:
		s := t.side[key]
		md, m.Addr = s.meta, s.addr
		m.Length = (w&longMask + 1) << t.shift
	case md.typ.hasStorage():
		m.Length = (w>>addrBits&lenMask + 1) << t.shift
		m.Addr = (w & addrMask) << t.shift
	default:
		m.Length = (w&longMask + 1) << t.shift
	}
	m.Type, m.Flags, m.Dev = md.typ, md.flags, md.dev
	return m, w&contBit != 0
}

// encode packs m (at most maxChunk long) for leaf l, adding to l's
// dictionary or escaping it to the side table as needed. The record must
// be inserted into l right after.
func (t *tree) encode(l *leaf, m Mapping, cont bool) uint64 {
	var w uint64
	if cont {
		w = contBit
	}
	if p, ok := t.pack(l, m); ok {
		return w | p
	}
	blocks := m.Length>>t.shift - 1
	md := meta{m.Type, m.Flags, m.Dev}
	if t.side == nil {
		t.side = make(map[uint64]sideRec)
	}
	t.side[m.Offset] = sideRec{addr: m.Addr, meta: md}
	return w | escSlot<<slotShift | blocks
}

// pack returns m's word for leaf l without the cont bit, taking a
// dictionary slot of l, or false when m does not fit a packed word (an
// address that is not block-aligned or above 2^40 blocks, or no slot).
func (t *tree) pack(l *leaf, m Mapping) (uint64, bool) {
	blocks := m.Length>>t.shift - 1
	md := meta{m.Type, m.Flags, m.Dev}
	if !md.typ.hasStorage() {
		s, ok := l.slot(md)
		return uint64(s)<<slotShift | blocks, ok
	}
	a := m.Addr >> t.shift
	if m.Addr&(1<<t.shift-1) != 0 || a > addrMask {
		return 0, false
	}
	s, ok := l.slot(md)
	return uint64(s)<<slotShift | blocks<<addrBits | a, ok
}

// setLength changes the length of record i of l in place (at most
// maxChunk of its type).
func (t *tree) setLength(l *leaf, i int, length uint64) {
	old, _ := t.chunk(l, i)
	t.bytes += length - old.Length
	w := l.recs[i].word
	blocks := length>>t.shift - 1
	if w>>slotShift&slotMask != escSlot && old.Type.hasStorage() {
		l.recs[i].word = w&^(lenMask<<addrBits) | blocks<<addrBits
	} else {
		l.recs[i].word = w&^longMask | blocks
	}
}

// setCont sets or clears the cont bit of record i of l.
func (t *tree) setCont(l *leaf, i int, cont bool) {
	was := l.recs[i].word&contBit != 0
	if was == cont {
		return
	}
	if cont {
		l.recs[i].word |= contBit
		t.heads--
	} else {
		l.recs[i].word &^= contBit
		t.heads++
	}
}

// find returns the leaf that off routes to. off must be below noKey.
func (t *tree) find(off uint64) *leaf {
	if t.root == nil {
		return t.single
	}
	n := t.root
	for h := t.height; h > 1; h-- {
		n = n.inners[n.route(off)]
	}
	return n.leaves[n.route(off)]
}

// floor returns the record with the greatest offset <= off.
func (t *tree) floor(off uint64) (*leaf, int, bool) {
	if off == noKey {
		off-- // no record starts at noKey, so the floor is the same
	}
	l := t.find(off)
	if l == nil {
		return nil, 0, false
	}
	i := l.search(off)
	if i >= 0 {
		return l, i, true
	}
	// Every record of this leaf is after off (its key is a lower bound):
	// the floor is the previous leaf's last record.
	for p := l.prev; p != nil; p = p.prev {
		if p.n > 0 {
			return p, p.n - 1, true
		}
	}
	return nil, 0, false
}

// at returns the record that starts at off.
func (t *tree) at(off uint64) (*leaf, int, bool) {
	l, i, ok := t.floor(off)
	if !ok || l.recs[i].off != off {
		return nil, 0, false
	}
	return l, i, true
}

// after returns the record following position l, i (a position from
// floor, or nil for "before everything").
func (t *tree) after(l *leaf, i int) (*leaf, int, bool) {
	if l == nil {
		l, i = t.first, -1
	}
	for ; l != nil; l, i = l.next, -1 {
		if i+1 < l.n {
			return l, i + 1, true
		}
	}
	return nil, 0, false
}

// before returns the record preceding position l, i.
func (t *tree) before(l *leaf, i int) (*leaf, int, bool) {
	if i > 0 {
		return l, i - 1, true
	}
	for p := l.prev; p != nil; p = p.prev {
		if p.n > 0 {
			return p, p.n - 1, true
		}
	}
	return nil, 0, false
}

// insert adds m (at most maxChunk long), whose offset is not in the tree,
// as a record with the given cont bit.
func (t *tree) insert(m Mapping, cont bool) {
	t.count++
	if !cont {
		t.heads++
	}
	t.bytes += m.Length
	if t.root == nil {
		if t.single == nil {
			t.single = newLeaf()
			t.first = t.single
			t.leaves = 1
		}
		if right := t.insertLeaf(t.single, m, cont); right != nil {
			t.root = newInner()
			t.inners++
			t.root.insertAt(0, 0, nil, t.single)
			t.root.insertAt(1, right.recs[0].off, nil, right)
			t.single, t.height = nil, 1
		}
		return
	}
	key, in, lf := t.insertNode(t.root, t.height, m, cont)
	if in != nil || lf != nil {
		old := t.root
		t.root = newInner()
		t.inners++
		t.root.insertAt(0, 0, old, nil)
		t.root.insertAt(1, key, in, lf)
		t.height++
	}
	t.sizeIndex()
}

// insertNode inserts m below n and returns a new right sibling of n's
// child level (key and node) when n split.
func (t *tree) insertNode(n *inner, h int, m Mapping, cont bool) (uint64, *inner, *leaf) {
	c := n.route(m.Offset)
	var key uint64
	var nin *inner
	var nlf *leaf
	if h == 1 {
		if n.leaves[c].n == leafCap && t.shed(n, c) {
			c = n.route(m.Offset) // m may belong to the sibling now
		}
		if r := t.insertLeaf(n.leaves[c], m, cont); r != nil {
			key, nlf = r.recs[0].off, r
		}
	} else {
		key, nin, nlf = t.insertNode(n.inners[c], h-1, m, cont)
	}
	if nin == nil && nlf == nil {
		return 0, nil, nil
	}
	if n.n < innerCap {
		n.insertAt(c+1, key, nin, nlf)
		return 0, nil, nil
	}
	// Split n. An insertion after the last child keeps n full.
	right := newInner()
	t.inners++
	t.hugeNode(unsafe.Pointer(right))
	at := innerCap / 2
	if c+1 == innerCap {
		at = innerCap
	}
	right.n = n.n - at
	copy(right.keys[:], n.keys[at:n.n])
	copy(right.inners[:], n.inners[at:n.n])
	copy(right.leaves[:], n.leaves[at:n.n])
	n.truncate(at)
	if c+1 < at || (c+1 == at && at < innerCap) {
		n.insertAt(c+1, key, nin, nlf)
	} else {
		right.insertAt(c+1-at, key, nin, nlf)
	}
	return right.keys[0], right, nil
}

// hugeLeaves is the tree size, in leaves, from which new nodes ask for
// huge pages (adviseHuge): about 2 MiB of leaves, past which lookups
// start to miss the TLB of 4 KiB pages.
const hugeLeaves = 2048

// hugeNode asks for huge pages under the new node p of a large tree.
func (t *tree) hugeNode(p unsafe.Pointer) {
	if t.leaves >= hugeLeaves {
		adviseHuge(uintptr(p))
	}
}

// insertLeaf inserts m into l, splitting it when full; it returns the new
// right leaf, if any.
func (t *tree) insertLeaf(l *leaf, m Mapping, cont bool) *leaf {
	i := l.search(m.Offset) + 1
	if l.n < leafCap {
		l.insertAt(i, m.Offset, t.encode(l, m, cont))
		return nil
	}
	right := newLeaf()
	t.leaves++
	t.hugeNode(unsafe.Pointer(right))
	at := leafCap / 2
	if i == leafCap {
		at = leafCap // appending: keep l full
	}
	right.n = l.n - at
	right.dict = l.dict // the moved records' slots stay valid
	copy(right.recs[:], l.recs[at:l.n])
	l.truncate(at)
	if i < at || (i == at && at < leafCap) {
		l.insertAt(i, m.Offset, t.encode(l, m, cont))
	} else {
		right.insertAt(i-at, m.Offset, t.encode(right, m, cont))
	}
	right.prev, right.next = l, l.next
	if l.next != nil {
		l.next.prev = right
	}
	l.next = right
	return right
}

// shed makes room in child c of n, a full leaf, by moving records to a
// sibling with room for at least two (half of its room), and reports
// whether it did. Random inserts then leave leaves fuller than the
// half-full halves of splits (B*-trees do the same).
func (t *tree) shed(n *inner, c int) bool {
	l := n.leaves[c]
	if c+1 < n.n {
		if r := n.leaves[c+1]; leafCap-r.n >= 2 {
			k := (leafCap - r.n) / 2
			if to, ok := slotsFor(r, l, l.n-k, l.n); ok {
				copy(r.recs[k:k+r.n], r.recs[:r.n])
				for j := range k {
					src := l.recs[l.n-k+j]
					r.recs[j] = leafRec{src.off, remap(src.word, &to)}
				}
				r.n += k
				l.truncate(l.n - k)
				n.keys[c+1] = r.recs[0].off
				return true
			}
		}
	}
	if c > 0 {
		if p := n.leaves[c-1]; leafCap-p.n >= 2 {
			k := (leafCap - p.n) / 2
			if to, ok := slotsFor(p, l, 0, k); ok {
				for j := range k {
					p.recs[p.n+j] = leafRec{l.recs[j].off, remap(l.recs[j].word, &to)}
				}
				p.n += k
				copy(l.recs[:], l.recs[k:l.n])
				for j := l.n - k; j < l.n; j++ {
					l.recs[j] = leafRec{off: noKey}
				}
				l.n -= k
				n.keys[c] = l.recs[0].off
				return true
			}
		}
	}
	return false
}

// slotsFor maps the dictionary slots of records [from, to) of src onto
// dst's dictionary, adding entries there; false when they do not fit.
func slotsFor(dst, src *leaf, from, to int) ([dictSlots + 1]uint64, bool) {
	var used [dictSlots + 1]bool
	for _, rc := range src.recs[from:to] {
		used[rc.word>>slotShift&slotMask] = true
	}
	var m [dictSlots + 1]uint64
	m[escSlot] = escSlot
	// Compact once, first: compacting between additions would free the
	// slots just added for src's records.
	dst.compactDict()
	for s := range dictSlots {
		if !used[s] {
			continue
		}
		ds, ok := dst.addSlot(src.dict[s])
		if !ok {
			return m, false
		}
		m[s] = uint64(ds)
	}
	return m, true
}

// remap returns w with its dictionary slot mapped through to.
func remap(w uint64, to *[dictSlots + 1]uint64) uint64 {
	return w&^(slotMask<<slotShift) | to[w>>slotShift&slotMask]<<slotShift
}

// forget updates the counts for record i of l, about to be deleted.
func (t *tree) forget(l *leaf, i int) {
	m, cont := t.chunk(l, i)
	t.count--
	if !cont {
		t.heads--
	}
	t.bytes -= m.Length
	if l.recs[i].word>>slotShift&slotMask == escSlot {
		delete(t.side, m.Offset)
	}
}

// delete removes the record at offset off (which must exist).
func (t *tree) delete(off uint64) {
	if t.root == nil {
		l := t.single
		i := l.search(off)
		t.forget(l, i)
		l.deleteAt(i)
		if l.n == 0 {
			t.clear()
		}
		return
	}
	t.deleteNode(t.root, t.height, off)
	// Collapse a root with one child.
	for t.root != nil && t.root.n == 1 {
		if t.height == 1 {
			t.single = t.root.leaves[0]
			t.root = nil
		} else {
			t.root = t.root.inners[0]
		}
		t.inners--
		t.height--
	}
	if t.count == 0 {
		t.clear()
	}
}

// deleteNode removes off below n, merging underfull children into a
// neighbour and freeing empty ones.
func (t *tree) deleteNode(n *inner, h int, off uint64) {
	c := n.route(off)
	if h == 1 {
		l := n.leaves[c]
		i := l.search(off)
		t.forget(l, i)
		l.deleteAt(i)
		switch {
		case l.n == 0:
			t.unlink(l)
			n.deleteAt(c)
		case l.n < minFill:
			t.mergeLeaf(n, c)
		}
		return
	}
	child := n.inners[c]
	t.deleteNode(child, h-1, off)
	switch {
	case child.n == 0:
		n.deleteAt(c)
		t.inners--
	case child.n < minFill:
		t.mergeInner(n, c)
	}
}

func (t *tree) unlink(l *leaf) {
	if ix := t.index.Load(); ix != nil && (t.leaves <= ix.sizedFor/2 || t.leaves <= indexMinLeaves) {
		t.index.Store(nil) // shrunk: drop it (and what it keeps alive)
	}
	if l.prev != nil {
		l.prev.next = l.next
	} else {
		t.first = l.next
	}
	if l.next != nil {
		l.next.prev = l.prev
	}
	l.prev, l.next = nil, nil
	t.leaves--
}

// mergeLeaf merges child c of n with a neighbour when both fit in one
// leaf, records and dictionary entries.
func (t *tree) mergeLeaf(n *inner, c int) {
	a, b := c-1, c
	if c == 0 {
		a, b = 0, 1
	}
	if b >= n.n {
		return
	}
	left, right := n.leaves[a], n.leaves[b]
	if left.n+right.n > leafCap {
		return
	}
	to, ok := slotsFor(left, right, 0, right.n)
	if !ok {
		return // too many kinds for one leaf: leave them apart
	}
	for k := range right.n {
		left.recs[left.n+k] = leafRec{right.recs[k].off, remap(right.recs[k].word, &to)}
	}
	left.n += right.n
	right.n = 0
	t.unlink(right)
	n.deleteAt(b)
}

// mergeInner merges child c of n with a neighbour when both fit.
func (t *tree) mergeInner(n *inner, c int) {
	a, b := c-1, c
	if c == 0 {
		a, b = 0, 1
	}
	if b >= n.n {
		return
	}
	left, right := n.inners[a], n.inners[b]
	if left.n+right.n > innerCap {
		return
	}
	// Right's first key may be a stale lower bound; the separator in n is
	// a valid one for right's first child.
	right.keys[0] = n.keys[b]
	copy(left.keys[left.n:], right.keys[:right.n])
	copy(left.inners[left.n:], right.inners[:right.n])
	copy(left.leaves[left.n:], right.leaves[:right.n])
	left.n += right.n
	t.inners--
	n.deleteAt(b)
}

func (t *tree) clear() {
	t.nodes = nodes{}
	t.index.Store(nil)
}

// memory returns the bytes the tree's nodes and side table hold.
func (t *tree) memory() uint64 {
	m := uint64(t.leaves)*leafBytes + uint64(t.inners)*innerBytes + uint64(len(t.side))*sideRecBytes
	if ix := t.index.Load(); ix != nil {
		m += uint64(len(ix.slots)) * 8
	}
	return m
}

// A leafIndex takes a lookup in a large tree straight to its leaf,
// without the walk down the inner nodes, where a lookup at a million
// extents spent about as long as in the leaf itself (three levels of
// branches that no predictor guesses on random offsets). It is a
// direct-mapped table, one slot per 1<<shift bytes of file offsets, three
// to six per leaf, each holding a leaf of its span: filled when the index
// is made, and after that by lookups that had to walk down the tree. It is
// a hint, checked on every use: a slot's leaf serves a lookup only if it
// still has records (a leaf taken out of the tree is left with none) and
// the floor record of off is in it or in one of its two neighbours, which
// the leaf's own first and last offsets and the neighbour's tell. Anything
// else goes down the tree, and the leaf found there takes the slot.
//
// Lookups fill slots while holding the cache's read lock, so slots are
// atomic; changes to the tree hold the write lock, and only they replace
// or drop the index. A slot keeps its leaf alive: a leaf taken out of the
// tree stays in memory until its slot is overwritten or the index is
// dropped, which happens whenever the tree shrinks to half of what the
// index was made for.
type leafIndex struct {
	shift    uint8
	sizedFor int // leaves when the index was made
	slots    []atomic.Pointer[leaf]
}

// indexSlotsPerLeaf is the most slots per leaf an index is made with (it
// has at least half as many): with fewer, more slots straddle two leaves
// and send lookups in one of them down the tree.
const indexSlotsPerLeaf = 6

// indexMinLeaves is the size at which a tree gets a leaf index: where its
// inner nodes no longer fit in a processor's L1 and L2 caches with room
// to spare (tests lower it, to put the index under the model tests).
var indexMinLeaves = hugeLeaves

// sizeIndex makes a new, empty index when the tree has become large (as
// many leaves as indexMinLeaves) or has doubled since its index was made. It
// covers the offsets up to a quarter past the last record's; lookups
// beyond go down the tree.
func (t *tree) sizeIndex() {
	if t.leaves < indexMinLeaves || t.root == nil {
		return
	}
	if ix := t.index.Load(); ix != nil && t.leaves < 2*ix.sizedFor {
		return
	}
	n := t.root
	for h := t.height; h > 1; h-- {
		n = n.inners[n.n-1]
	}
	last := n.leaves[n.n-1]
	span := last.recs[last.n-1].off
	span += span / 4
	want := uint64(t.leaves) * indexSlotsPerLeaf
	shift := 0
	for span>>shift >= want {
		shift++
	}
	ix := &leafIndex{shift: uint8(shift), sizedFor: t.leaves,
		slots: make([]atomic.Pointer[leaf], span>>shift+1)}
	ix.fill(t.first)
	t.index.Store(ix)
}

// fill points every slot of a new index from the first leaf's first
// record on at the leaf that holds the floor of the slot's first offset
// (a slot that two leaves share gets the later one), so that lookups find
// their leaves through the index from the start: filled only by lookups,
// a million-extent file's 100K slots took a few hundred thousand random
// reads to fill, each of the others a walk down the tree.
func (ix *leafIndex) fill(first *leaf) {
	n := uint64(len(ix.slots))
	for l := first; l != nil; l = l.next {
		b := l.recs[0].off >> ix.shift
		end := n - 1 // the last leaf's slots run to the index's end
		if l.next != nil {
			end = min(end, l.next.recs[0].off>>ix.shift)
		}
		for ; b <= end && b < n; b++ {
			ix.slots[b].Store(l)
		}
	}
}

// indexed returns the leaf the index holds for off if it serves a lookup
// of off (see leafIndex), else nil.
func (t *tree) indexed(off uint64) *leaf {
	ix := t.index.Load()
	if ix == nil {
		return nil
	}
	b := off >> ix.shift
	if b >= uint64(len(ix.slots)) {
		return nil
	}
	l := ix.slots[b].Load()
	if l == nil || l.n == 0 {
		return nil
	}
	// l has records, so it is in the tree (checkIndex) and its links are
	// its neighbours there. A slot that two leaves share holds one of
	// them; lookups in the other take the link to it rather than the
	// walk down the tree (and leave the slot alone: storing in it, they
	// would take turns), as do lookups past l's last record, whose floor
	// is that record unless the next leaf starts at or before off.
	if off < l.recs[0].off {
		if l = l.prev; l == nil || off < l.recs[0].off {
			return nil
		}
		return l
	}
	if off > l.recs[l.n-1].off {
		if nx := l.next; nx != nil && off >= nx.recs[0].off {
			if nn := nx.next; off > nx.recs[nx.n-1].off && nn != nil && off >= nn.recs[0].off {
				return nil
			}
			return nx
		}
	}
	return l
}

// remember stores l, the leaf that holds the floor record of off, in
// off's slot.
func (t *tree) remember(off uint64, l *leaf) {
	ix := t.index.Load()
	if ix == nil {
		return
	}
	if b := off >> ix.shift; b < uint64(len(ix.slots)) && ix.slots[b].Load() != l {
		ix.slots[b].Store(l)
	}
}

// checkSlots verifies that the leaf's count is in range, its offsets
// ascend, its unused slots are empty (searches rely on noKey there), and
// its records' dictionary entries exist.
func (l *leaf) checkSlots() error {
	if l.n < 1 || l.n > leafCap {
		return fmt.Errorf("leaf with %d records", l.n)
	}
	for i := 1; i < l.n; i++ {
		if l.recs[i].off <= l.recs[i-1].off {
			return fmt.Errorf("leaf offsets out of order at %d", i)
		}
	}
	for i := l.n; i < len(l.recs); i++ {
		if l.recs[i] != (leafRec{off: noKey}) {
			return fmt.Errorf("leaf slot %d of %d not empty", i, l.n)
		}
	}
	if l.dict[escSlot].typ != escapedType {
		return fmt.Errorf("leaf's escape entry is %v", l.dict[escSlot])
	}
	for s := range dictSlots {
		md := l.dict[s]
		if md.typ == escapedType {
			return fmt.Errorf("leaf's dictionary slot %d holds the escape entry", s)
		}
		for k := range s {
			if md.typ != freeType && l.dict[k] == md {
				return fmt.Errorf("leaf's dictionary slots %d and %d are the same", k, s)
			}
		}
	}
	for i, rc := range l.recs[:l.n] {
		if l.dict[rc.word>>slotShift&slotMask].typ == freeType {
			return fmt.Errorf("record %d uses a free dictionary slot", i)
		}
	}
	return nil
}

// checkLeaves verifies what the leaves hold against the tree's counts:
// records, heads, escaped records and the side table.
func (t *tree) checkLeaves() error {
	n, heads, escaped := 0, 0, 0
	for l := t.first; l != nil; l = l.next {
		for i, rc := range l.recs[:l.n] {
			w := rc.word
			n++
			if w&contBit == 0 {
				heads++
			}
			if w>>slotShift&slotMask == escSlot {
				escaped++
				if _, ok := t.side[l.recs[i].off]; !ok {
					return fmt.Errorf("escaped record at %d has no side-table entry", l.recs[i].off)
				}
			}
		}
	}
	if n != t.count || heads != t.heads || escaped != len(t.side) {
		return fmt.Errorf("%d records, %d heads, %d escaped; recorded %d, %d and %d side-table entries",
			n, heads, escaped, t.count, t.heads, len(t.side))
	}
	return nil
}

// check verifies the tree's structure: routing bounds, fill, counts and
// the leaf chain.
func (t *tree) check() error {
	if t.root == nil {
		if t.single == nil {
			if t.count != 0 || t.heads != 0 || t.bytes != 0 || t.first != nil || len(t.side) != 0 {
				return fmt.Errorf("empty tree with count %d", t.count)
			}
			return nil
		}
		if t.first != t.single || t.single.prev != nil || t.single.next != nil || t.single.n != t.count || t.single.n == 0 {
			return fmt.Errorf("single-leaf tree inconsistent")
		}
		if err := t.single.checkSlots(); err != nil {
			return err
		}
		return t.checkLeaves()
	}
	var leaves []*leaf
	inners := 0
	var walk func(n *inner, h int, lo, hi uint64, root bool) error
	walk = func(n *inner, h int, lo, hi uint64, root bool) error {
		inners++
		if n.n < 1 || (root && n.n < 2) || n.n > innerCap {
			return fmt.Errorf("inner node with %d children", n.n)
		}
		for i := n.n; i < len(n.keys); i++ {
			if n.keys[i] != noKey || (i < innerCap && (n.inners[i] != nil || n.leaves[i] != nil)) {
				return fmt.Errorf("inner node slot %d of %d not empty", i, n.n)
			}
		}
		for i := range n.n {
			clo, chi := n.keys[i], hi
			if i == 0 {
				clo = lo
			} else if (i > 1 && n.keys[i] < n.keys[i-1]) || n.keys[i] < lo {
				// keys[0] is left out: routing never reads it.
				return fmt.Errorf("inner keys out of order")
			}
			if i+1 < n.n {
				chi = n.keys[i+1]
			}
			if h == 1 {
				l := n.leaves[i]
				if l == nil || n.inners[i] != nil || l.n == 0 {
					return fmt.Errorf("bad leaf child %d at height 1", i)
				}
				if err := l.checkSlots(); err != nil {
					return err
				}
				for k := range l.n {
					if l.recs[k].off < clo || l.recs[k].off >= chi {
						return fmt.Errorf("record %d outside its routing range [%d,%d)", l.recs[k].off, clo, chi)
					}
				}
				leaves = append(leaves, l)
			} else {
				if n.inners[i] == nil || n.leaves[i] != nil {
					return fmt.Errorf("bad inner child %d at height %d", i, h)
				}
				if err := walk(n.inners[i], h-1, clo, chi, false); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := walk(t.root, t.height, 0, ^uint64(0), true); err != nil {
		return err
	}
	if inners != t.inners || len(leaves) != t.leaves {
		return fmt.Errorf("node counts: %d inner %d leaves, recorded %d and %d", inners, len(leaves), t.inners, t.leaves)
	}
	n := 0
	var prev *leaf
	for i, l := range leaves {
		if (i == 0) != (t.first == l) || l.prev != prev || (prev != nil && prev.next != l) {
			return fmt.Errorf("leaf chain broken at leaf %d", i)
		}
		n += l.n
		prev = l
	}
	if prev != nil && prev.next != nil {
		return fmt.Errorf("leaf chain runs past the last leaf")
	}
	if n != t.count {
		return fmt.Errorf("%d records, recorded %d", n, t.count)
	}
	if err := t.checkIndex(leaves); err != nil {
		return err
	}
	return t.checkLeaves()
}

// checkIndex verifies that every leaf the index holds is either one of
// the tree's leaves or taken out of it (no records): a leaf with records
// outside the tree would serve lookups with records the tree no longer
// has.
func (t *tree) checkIndex(leaves []*leaf) error {
	ix := t.index.Load()
	if ix == nil {
		return nil
	}
	if t.leaves < indexMinLeaves {
		return fmt.Errorf("leaf index on a tree of %d leaves", t.leaves)
	}
	in := make(map[*leaf]bool, len(leaves))
	for _, l := range leaves {
		in[l] = true
	}
	for b := range ix.slots {
		if l := ix.slots[b].Load(); l != nil && l.n > 0 && !in[l] {
			return fmt.Errorf("leaf index slot %d holds a leaf with %d records that is not in the tree", b, l.n)
		}
	}
	return nil
}

package mapcache

import "fmt"

// The tree is a B+tree keyed by file offset, with records only in the
// leaves and the leaves linked both ways.
//
// A leaf keeps its offsets in one 256-byte array at the start of the node,
// four cache lines' worth of eight keys, and the rest of each record in parallel
// arrays beside it: 1000 bytes, which with the 8-byte header Go puts on
// pointerful objects over 512 bytes is exactly the 1024-byte size class
// (31 records would spill into the 1152-byte class). Unused key slots hold
// noKey, which sorts after every offset, so a search needs no count: it
// compares the first key of each line, then searches the eight keys of one
// line. The line loads do not depend on each other, so a cold leaf costs
// one memory latency instead of one per probe. Inner nodes do the same over
// 63 children and eight lines of keys (1536-byte class).
//
// Appends at the end of a full node split it so the left node stays full:
// sequentially built trees have full leaves.
//
// Inner node invariant: child i holds only offsets in [keys[i], keys[i+1])
// for i >= 1; keys[i] is a lower bound (it may be lower than the child's
// first record after deletions), which is all routing needs. Child 0 holds
// whatever reaches the node below keys[1]; keys[0] is never read by
// routing, and once a node's first child has been deleted it may even be
// above keys[1].

const (
	leafCap  = 30
	innerCap = 63
	// A node with fewer than minFill entries is merged into a neighbour
	// when the two fit in one node.
	minFill = leafCap / 4

	// Key arrays are a power of two long, whole cache lines, with at
	// least one noKey slot.
	leafKeys  = 32
	innerKeys = 64

	leafBytes  = 1024
	innerBytes = 1536

	// noKey fills unused key slots. No record starts there: a record is
	// at least one block long and ends at or below 2^64.
	noKey = ^uint64(0)
)

type meta struct {
	typ   Type
	flags uint16
	dev   uint32
}

// rec is a record without its offset.
type rec struct {
	length, addr uint64
	meta         meta
}

// A leaf's offsets come first. The object starts 8 bytes into its slot
// (after Go's allocation header), so a group of eight keys spans two lines;
// padding the keys onto line boundaries (29 records a leaf) measured no
// faster, and the line pairs are fetched together anyway.
type leaf struct {
	off        [leafKeys]uint64 // off[n:] hold noKey
	n          int
	length     [leafCap]uint64
	addr       [leafCap]uint64
	meta       [leafCap]meta
	prev, next *leaf
}

type inner struct {
	keys   [innerKeys]uint64 // keys[n:] hold noKey
	n      int
	inners [innerCap]*inner // children, at heights above 1
	leaves [innerCap]*leaf  // children, at height 1
}

func newLeaf() *leaf {
	l := &leaf{}
	for i := range l.off {
		l.off[i] = noKey
	}
	return l
}

func newInner() *inner {
	n := &inner{}
	for i := range n.keys {
		n.keys[i] = noKey
	}
	return n
}

func (l *leaf) get(i int) Mapping {
	md := l.meta[i]
	return Mapping{Offset: l.off[i], Length: l.length[i], Addr: l.addr[i], Type: md.typ, Flags: md.flags, Dev: md.dev}
}

func (l *leaf) set(i int, m Mapping) {
	l.off[i] = m.Offset
	l.length[i], l.addr[i], l.meta[i] = m.Length, m.Addr, meta{m.Type, m.Flags, m.Dev}
}

func (l *leaf) insertAt(i int, m Mapping) {
	copy(l.off[i+1:l.n+1], l.off[i:l.n])
	copy(l.length[i+1:l.n+1], l.length[i:l.n])
	copy(l.addr[i+1:l.n+1], l.addr[i:l.n])
	copy(l.meta[i+1:l.n+1], l.meta[i:l.n])
	l.set(i, m)
	l.n++
}

func (l *leaf) deleteAt(i int) {
	copy(l.off[i:], l.off[i+1:l.n])
	copy(l.length[i:], l.length[i+1:l.n])
	copy(l.addr[i:], l.addr[i+1:l.n])
	copy(l.meta[i:], l.meta[i+1:l.n])
	l.n--
	l.off[l.n] = noKey
	l.length[l.n], l.addr[l.n], l.meta[l.n] = 0, 0, meta{}
}

// truncate drops the records from i on.
func (l *leaf) truncate(i int) {
	for k := i; k < l.n; k++ {
		l.off[k] = noKey
		l.length[k], l.addr[k], l.meta[k] = 0, 0, meta{}
	}
	l.n = i
}

// search returns the index of the last record with offset <= off, or -1.
// off must be below noKey.
func (l *leaf) search(off uint64) int {
	// Pick the cache line of eight keys first, then search within it:
	// three probes in one line instead of five across four. These are
	// branches, not conditional moves, on purpose: with random lookups
	// the processor's speculation past them (into the record, and into
	// the next lookup) measured 1.8x faster than branch-free code.
	k := &l.off
	i := 0
	for line := 8; line < len(k); line += 8 {
		if k[line] <= off {
			i += 8
		}
	}
	// noKey slots never compare <= off, so the result stays below n.
	const mask = len(l.off) - 1
	if k[(i+4)&mask] <= off {
		i += 4
	}
	if k[(i+2)&mask] <= off {
		i += 2
	}
	if k[(i+1)&mask] <= off {
		i++
	}
	if k[i&mask] > off {
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
	root   *inner // nil while the tree is a single leaf
	single *leaf  // the only leaf, when root is nil
	height int    // levels of inner nodes
	first  *leaf
	count  int
	leaves int
	inners int
	bytes  uint64 // sum of record lengths
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

// ceil returns the first record with offset > off (l, i is a position
// from floor, or nil for "before everything").
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

// insert adds m, whose offset is not in the tree.
func (t *tree) insert(m Mapping) {
	t.count++
	t.bytes += m.Length
	if t.root == nil {
		if t.single == nil {
			t.single = newLeaf()
			t.first = t.single
			t.leaves = 1
		}
		if right := t.insertLeaf(t.single, m); right != nil {
			t.root = newInner()
			t.inners++
			t.root.insertAt(0, 0, nil, t.single)
			t.root.insertAt(1, right.off[0], nil, right)
			t.single, t.height = nil, 1
		}
		return
	}
	key, in, lf := t.insertNode(t.root, t.height, m)
	if in != nil || lf != nil {
		old := t.root
		t.root = newInner()
		t.inners++
		t.root.insertAt(0, 0, old, nil)
		t.root.insertAt(1, key, in, lf)
		t.height++
	}
}

// insertNode inserts m below n and returns a new right sibling of n's
// child level (key and node) when n split.
func (t *tree) insertNode(n *inner, h int, m Mapping) (uint64, *inner, *leaf) {
	c := n.route(m.Offset)
	var key uint64
	var nin *inner
	var nlf *leaf
	if h == 1 {
		if r := t.insertLeaf(n.leaves[c], m); r != nil {
			key, nlf = r.off[0], r
		}
	} else {
		key, nin, nlf = t.insertNode(n.inners[c], h-1, m)
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

// insertLeaf inserts m into l, splitting it when full; it returns the new
// right leaf, if any.
func (t *tree) insertLeaf(l *leaf, m Mapping) *leaf {
	i := l.search(m.Offset) + 1
	if l.n < leafCap {
		l.insertAt(i, m)
		return nil
	}
	right := newLeaf()
	t.leaves++
	at := leafCap / 2
	if i == leafCap {
		at = leafCap // appending: keep l full
	}
	right.n = l.n - at
	copy(right.off[:], l.off[at:l.n])
	copy(right.length[:], l.length[at:l.n])
	copy(right.addr[:], l.addr[at:l.n])
	copy(right.meta[:], l.meta[at:l.n])
	l.truncate(at)
	if i < at || (i == at && at < leafCap) {
		l.insertAt(i, m)
	} else {
		right.insertAt(i-at, m)
	}
	right.prev, right.next = l, l.next
	if l.next != nil {
		l.next.prev = right
	}
	l.next = right
	return right
}

// delete removes the record at offset off (which must exist).
func (t *tree) delete(off uint64) {
	if t.root == nil {
		l := t.single
		i := l.search(off)
		t.count--
		t.bytes -= l.length[i]
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
		t.count--
		t.bytes -= l.length[i]
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

// mergeLeaf merges child c of n with a neighbour when both fit in one leaf.
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
	copy(left.off[left.n:], right.off[:right.n])
	copy(left.length[left.n:], right.length[:right.n])
	copy(left.addr[left.n:], right.addr[:right.n])
	copy(left.meta[left.n:], right.meta[:right.n])
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

func (t *tree) clear() { *t = tree{} }

// memory returns the bytes the tree's nodes hold.
func (t *tree) memory() uint64 {
	return uint64(t.leaves)*leafBytes + uint64(t.inners)*innerBytes
}

// checkSlots verifies that the leaf's count is in range, its offsets
// ascend, and its unused slots are empty (searches rely on noKey there).
func (l *leaf) checkSlots() error {
	if l.n < 1 || l.n > leafCap {
		return fmt.Errorf("leaf with %d records", l.n)
	}
	for i := 1; i < l.n; i++ {
		if l.off[i] <= l.off[i-1] {
			return fmt.Errorf("leaf offsets out of order at %d", i)
		}
	}
	for i := l.n; i < len(l.off); i++ {
		if l.off[i] != noKey || (i < leafCap && (l.length[i] != 0 || l.addr[i] != 0 || l.meta[i] != meta{})) {
			return fmt.Errorf("leaf slot %d of %d not empty", i, l.n)
		}
	}
	return nil
}

// check verifies the tree's structure: routing bounds, fill, counts and
// the leaf chain.
func (t *tree) check() error {
	if t.root == nil {
		if t.single == nil {
			if t.count != 0 || t.first != nil {
				return fmt.Errorf("empty tree with count %d", t.count)
			}
			return nil
		}
		if t.first != t.single || t.single.prev != nil || t.single.next != nil || t.single.n != t.count || t.single.n == 0 {
			return fmt.Errorf("single-leaf tree inconsistent")
		}
		return t.single.checkSlots()
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
					if l.off[k] < clo || l.off[k] >= chi {
						return fmt.Errorf("record %d outside its routing range [%d,%d)", l.off[k], clo, chi)
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
	return nil
}

package ext4

import (
	"cmp"
	"fmt"
	"slices"
	"sort"
)

// Extent maps Len file blocks from file block Logical to filesystem block
// Physical. Unwritten extents are allocated but read as zeros.
type Extent struct {
	Logical   uint64
	Physical  uint64
	Len       uint64
	Unwritten bool
}

const (
	extentMagic    = 0xf30a
	extentMaxDepth = 5
	maxFileBlocks  = 1 << 32 // logical block numbers are 32 bits
)

// Extents returns the block map of in, sorted by Logical, non-overlapping,
// with neighbours that are file- and device-contiguous and of the same
// kind merged. It reads extent trees of any depth and ext2/3 block
// pointer maps. Every address is checked against the filesystem, every
// tree block's header, ordering and checksum is checked, and a tree or
// map that reaches a block twice is an error (a loop), so a hostile image
// gives an error, never a read outside the device or a hang.
func (fsys *FS) Extents(in *Inode) ([]Extent, error) {
	ext, _, err := fsys.BlockMap(in)
	return ext, err
}

// BlockMap returns what Extents does, and the blocks of the map itself
// (extent tree nodes below the inode, or indirect blocks), in the order
// they were read.
func (fsys *FS) BlockMap(in *Inode) (ext []Extent, mapBlocks []uint64, err error) {
	if in.HasInlineData() {
		return nil, nil, nil
	}
	w := walker{fs: fsys, in: in, seen: map[uint64]bool{}}
	if in.HasExtents() {
		err = w.node(in.Blocks[:], 0, maxFileBlocks, -1, in.Block, true)
	} else {
		if in.IsSymlink() && fsys.fastSymlink(in) {
			return nil, nil, nil
		}
		err = w.indirectRoot()
	}
	if err != nil {
		return nil, nil, err
	}
	if err := w.checkBlocks(); err != nil {
		return nil, nil, err
	}
	return w.out, w.order, nil
}

// checkBlocks refuses a map that reaches a filesystem block twice, as
// data of two file blocks or as data and a map block, or that reaches
// any metadata block (meta.go: superblocks, group descriptors, reserved
// GDT blocks, bitmaps, inode tables, the journal, ...): ext4 shares no
// blocks (shared_blocks is refused). Without it a few hundred bytes of
// extents naming one run of blocks over and over made a directory read
// the same blocks up to the filesystem's block count, and a file over an
// inode table served (and, with in-place overwrite, let a write go over)
// the filesystem's own metadata. Each run is looked up in the merged
// metadata set by binary search.
func (w *walker) checkBlocks() error {
	type run struct {
		start, len uint64
		logical    int64 // file block, or -1 for a tree or indirect block
	}
	runs := make([]run, 0, len(w.out)+len(w.order))
	for _, e := range w.out {
		runs = append(runs, run{e.Physical, e.Len, int64(e.Logical)})
	}
	for _, b := range w.order {
		runs = append(runs, run{b, 1, -1})
	}
	slices.SortFunc(runs, func(a, b run) int { return cmp.Compare(a.start, b.start) })
	name := func(r run) string {
		if r.logical < 0 {
			return fmt.Sprintf("map block %d", r.start)
		}
		return fmt.Sprintf("file blocks [%d,+%d) at block %d", r.logical, r.len, r.start)
	}
	meta := w.fs.meta
	for i, r := range runs {
		if i > 0 {
			if p := runs[i-1]; p.start+p.len > r.start {
				return corrupt(w.in.what()+" block map", w.in.Block, "filesystem block %d is mapped twice: as %s and as %s",
					r.start, name(p), name(r))
			}
		}
		j := sort.Search(len(meta), func(j int) bool { return meta[j].start+meta[j].len > r.start })
		if j < len(meta) && meta[j].start < r.start+r.len {
			m := w.fs.metaAt(max(r.start, meta[j].start))
			return corrupt(w.in.what()+" block map", w.in.Block, "%s overlaps %s at blocks [%d,+%d)",
				name(r), m, m.start, m.len)
		}
	}
	return nil
}

type walker struct {
	fs     *FS
	in     *Inode
	seen   map[uint64]bool // tree and indirect blocks visited
	order  []uint64        // the same, in the order visited
	out    []Extent
	mapped uint64 // blocks mapped so far
}

// add appends an extent, merging it into the last one when contiguous.
func (w *walker) add(e Extent, blk uint64) error {
	sb := w.fs.sb
	// The block holding the superblock (0, or 1 with 1 KiB blocks) is
	// never file data (the kernel refuses it too): mapped, an overwrite
	// of the file would go over the superblock.
	if e.Physical <= uint64(sb.FirstDataBlock) {
		return corrupt(w.in.what()+" extent", blk, "blocks [%d,+%d) for file block %d start at or before the superblock's block %d",
			e.Physical, e.Len, e.Logical, sb.FirstDataBlock)
	}
	if e.Physical >= sb.BlocksCount || sb.BlocksCount-e.Physical < e.Len {
		return corrupt(w.in.what()+" extent", blk, "blocks [%d,+%d) for file block %d are outside the filesystem's %d blocks",
			e.Physical, e.Len, e.Logical, sb.BlocksCount)
	}
	w.mapped += e.Len
	if w.mapped > sb.BlocksCount {
		return corrupt(w.in.what()+" extent", blk, "maps more blocks than the filesystem's %d", sb.BlocksCount)
	}
	if n := len(w.out); n > 0 {
		p := &w.out[n-1]
		if e.Logical < p.Logical+p.Len {
			return corrupt(w.in.what()+" extent", blk, "file block %d overlaps the previous extent [%d,+%d)", e.Logical, p.Logical, p.Len)
		}
		if p.Unwritten == e.Unwritten && p.Logical+p.Len == e.Logical && p.Physical+p.Len == e.Physical {
			p.Len += e.Len
			return nil
		}
	}
	w.out = append(w.out, e)
	return nil
}

// node walks the extent tree node b (the inode's i_block when inInode)
// covering file blocks [lo, hi), at the depth its parent expects (-1 for
// the root).
func (w *walker) node(b []byte, lo, hi uint64, wantDepth int, blk uint64, inInode bool) error {
	what := w.in.what() + " extent tree root"
	if !inInode {
		what = fmt.Sprintf("%s extent block", w.in.what())
	}
	if len(b) < 12 {
		return corrupt(what, blk, "%d bytes", len(b))
	}
	magic, entries, maxEntries, depth := le.Uint16(b), int(le.Uint16(b[2:])), int(le.Uint16(b[4:])), int(le.Uint16(b[6:]))
	if magic != extentMagic {
		return corrupt(what, blk, "extent header magic %#04x, want %#04x", magic, extentMagic)
	}
	room := (len(b) - 12) / 12
	if maxEntries > room || maxEntries == 0 {
		return corrupt(what, blk, "extent header says %d entries fit, the node holds %d", maxEntries, room)
	}
	if entries > maxEntries {
		return corrupt(what, blk, "extent header has %d entries, more than its maximum %d", entries, maxEntries)
	}
	if depth > extentMaxDepth || (wantDepth >= 0 && depth != wantDepth) {
		return corrupt(what, blk, "extent node depth %d, want %s", depth, depthWant(wantDepth))
	}
	if !inInode && w.fs.sb.hasMetadataCsum() {
		tail := 12 + 12*maxEntries
		if tail+4 > len(b) {
			return corrupt(what, blk, "no room for the checksum after %d entries", maxEntries)
		}
		stored := le.Uint32(b[tail:])
		if c := crc32c(w.in.csumSeed, b[:tail]); c != stored {
			return badSum(what, blk, stored, c)
		}
	}
	prev := lo
	for i := range entries {
		e := b[12+12*i:]
		first := uint64(le.Uint32(e))
		if first < prev || first >= hi {
			return corrupt(what, blk, "entry %d starts at file block %d, outside [%d,%d) or out of order", i, first, prev, hi)
		}
		if depth == 0 {
			n := uint64(le.Uint16(e[4:]))
			unwritten := false
			if n > 32768 {
				n -= 32768
				unwritten = true
			}
			if n == 0 {
				return corrupt(what, blk, "entry %d has length 0", i)
			}
			if first+n > hi {
				return corrupt(what, blk, "entry %d [%d,+%d) reaches past file block %d", i, first, n, hi)
			}
			phys := uint64(le.Uint16(e[6:]))<<32 | uint64(le.Uint32(e[8:]))
			if err := w.add(Extent{Logical: first, Physical: phys, Len: n, Unwritten: unwritten}, blk); err != nil {
				return err
			}
			prev = first + n
			continue
		}
		end := hi
		if i+1 < entries {
			end = uint64(le.Uint32(b[12+12*(i+1):]))
			if end <= first {
				return corrupt(what, blk, "index entries %d and %d out of order (%d, %d)", i, i+1, first, end)
			}
		}
		child := uint64(le.Uint16(e[8:]))<<32 | uint64(le.Uint32(e[4:]))
		if err := w.child(child, blk, what); err != nil {
			return err
		}
		buf := make([]byte, w.fs.sb.BlockSize())
		if err := w.fs.readBlock(buf, child, fmt.Sprintf("%s extent block", w.in.what())); err != nil {
			return err
		}
		if err := w.node(buf, first, end, depth-1, child, false); err != nil {
			return err
		}
		prev = first
	}
	return nil
}

func depthWant(d int) string {
	if d < 0 {
		return fmt.Sprintf("at most %d", extentMaxDepth)
	}
	return fmt.Sprint(d)
}

// child checks a tree or indirect block pointer: inside the filesystem,
// and not visited before (which would be a loop or a shared node).
func (w *walker) child(child, blk uint64, what string) error {
	sb := w.fs.sb
	if child <= uint64(sb.FirstDataBlock) || child >= sb.BlocksCount {
		return corrupt(what, blk, "points to block %d, outside the filesystem's %d blocks", child, sb.BlocksCount)
	}
	if w.seen[child] {
		return corrupt(what, blk, "points to block %d a second time (a loop in the tree)", child)
	}
	w.seen[child] = true
	w.order = append(w.order, child)
	return nil
}

// indirectRoot walks an ext2/3 block map: 12 direct pointers, then a
// single, double and triple indirect block.
func (w *walker) indirectRoot() error {
	per := uint64(w.fs.sb.BlockSize() / 4)
	logical := uint64(0)
	for i := range 12 {
		if p := uint64(le.Uint32(w.in.Blocks[4*i:])); p != 0 {
			if err := w.add(Extent{Logical: uint64(i), Physical: p, Len: 1}, w.in.Block); err != nil {
				return err
			}
		}
	}
	logical = 12
	span := uint64(1)
	for level := 1; level <= 3; level++ {
		span *= per
		if p := uint64(le.Uint32(w.in.Blocks[4*(11+level):])); p != 0 {
			if err := w.indirect(p, level, logical, w.in.Block); err != nil {
				return err
			}
		}
		logical += span
	}
	return nil
}

// indirect walks indirect block p of the given level, whose first pointer
// maps file block logical.
func (w *walker) indirect(p uint64, level int, logical, parent uint64) error {
	what := fmt.Sprintf("%s indirect block", w.in.what())
	if err := w.child(p, parent, what); err != nil {
		return err
	}
	buf := make([]byte, w.fs.sb.BlockSize())
	if err := w.fs.readBlock(buf, p, what); err != nil {
		return err
	}
	per := uint64(len(buf) / 4)
	span := uint64(1)
	for range level - 1 {
		span *= per
	}
	for i := range per {
		q := uint64(le.Uint32(buf[4*i:]))
		if q == 0 {
			continue
		}
		l := logical + i*span
		if l >= maxFileBlocks {
			return corrupt(what, p, "pointer %d maps file block %d, past the largest", i, l)
		}
		if level == 1 {
			if err := w.add(Extent{Logical: l, Physical: q, Len: 1}, p); err != nil {
				return err
			}
			continue
		}
		if err := w.indirect(q, level-1, l, p); err != nil {
			return err
		}
	}
	return nil
}

// Package cowspace is the core of the cow mapper: an out-of-place block
// allocator over a device range and, for each file, the device block that
// holds each file block's current data.
//
// Every device block is in one of five states:
//
//	free      in the allocator
//	pending   handed to a write (Alloc) that has not ended
//	doomed    pending, but a write to it failed and it was handed back to be
//	          freed; a concurrent write to the same place may still revive it
//	live      a file's current data
//	released  a file's former data, handed back to be freed
//
// and moves free → pending (Alloc) → live (End ok) → released (End ok of a
// later write to the same file range) → free (Free); or pending → doomed
// (End failed) → free (Free). Two writes may target the same pending space
// (the second found the first's location in the engine's write fork), so
// End accepts a write to space that is already live for that file range
// (nothing to do), revives doomed space (it becomes live; the later Free of
// it is ignored), and ignores a write to space that has meanwhile been
// released (a newer write replaced it). Free frees only doomed and released
// blocks, so the space that holds a file's data is never freed.
//
// All methods of a Space are safe for concurrent use (one mutex: the calls
// are short and come from cache misses and write completions).
package cowspace

import (
	"errors"
	"fmt"
	"sync"
)

// ErrNoSpace is returned by Alloc when no device block is free.
var ErrNoSpace = errors.New("cowspace: no free space")

// ErrConfig is returned by New for a range or block size it cannot use.
var ErrConfig = errors.New("cowspace: bad config")

type state uint8

const (
	free state = iota
	pending
	doomed
	live
	released
)

// Extent is a run of file blocks and where they are, in bytes. Addr is
// NoAddr for a hole.
type Extent struct {
	Off, Len, Addr uint64
}

// NoAddr is the address of a hole.
const NoAddr = ^uint64(0)

// tableBlocks is how many file blocks one lazily allocated page of a
// file's block table covers.
const tableBlocks = 512

// Space is the allocator over one device range, and the files on it.
type Space struct {
	mu          sync.Mutex
	bs          uint64
	shift       uint
	start       uint64 // device byte address of block 0
	nblocks     uint64
	chunkBlocks uint64

	st         []state  // per device block
	chunkFree  []uint32 // free blocks per chunk
	freeChunks []uint32 // chunks that were wholly free when pushed
	stacked    []bool   // chunk is in freeChunks
	scanChunk  uint64   // where the search for a partly free chunk resumes
	freeBlocks uint64

	stats Stats
}

// Stats counts what a Space did.
type Stats struct {
	AllocCalls    uint64 // Alloc calls that allocated something
	AllocBytes    uint64
	Committed     uint64 // bytes that became file data
	Revived       uint64 // bytes of doomed space revived by a concurrent write
	StaleWrites   uint64 // bytes of ended writes ignored: their space was replaced meanwhile
	FreedBytes    uint64 // bytes returned to the allocator
	IgnoredFrees  uint64 // bytes of Free calls for space that was not waiting to be freed
	NoSpaceErrors uint64
}

// New returns a Space over [startBytes, startBytes+lengthBytes) of a
// device, in blocks of blockSize bytes, carving allocations from chunks of
// chunkBytes (the extent-size hint; rounded to blocks, at least one).
func New(startBytes, lengthBytes uint64, blockSize uint32, chunkBytes uint64) (*Space, error) {
	bs := uint64(blockSize)
	if bs == 0 || bs&(bs-1) != 0 {
		return nil, fmt.Errorf("%w: block size %d is not a power of two", ErrConfig, bs)
	}
	if startBytes%bs != 0 {
		return nil, fmt.Errorf("%w: start %d is not a multiple of the %d-byte block", ErrConfig, startBytes, bs)
	}
	n := lengthBytes / bs
	if n == 0 {
		return nil, fmt.Errorf("%w: range of %d bytes holds no %d-byte block", ErrConfig, lengthBytes, bs)
	}
	cb := max(1, chunkBytes/bs)
	cb = min(cb, n, 1<<31)
	nchunks := (n + cb - 1) / cb
	s := &Space{
		bs: bs, start: startBytes, nblocks: n, chunkBlocks: cb,
		st:         make([]state, n),
		chunkFree:  make([]uint32, nchunks),
		freeChunks: make([]uint32, 0, nchunks),
		stacked:    make([]bool, nchunks),
		freeBlocks: n,
	}
	for bs>>s.shift > 1 {
		s.shift++
	}
	// Push in reverse so that allocation starts at the front of the range.
	for c := nchunks; c > 0; c-- {
		s.chunkFree[c-1] = uint32(s.chunkLen(c - 1))
		s.freeChunks = append(s.freeChunks, uint32(c-1))
		s.stacked[c-1] = true
	}
	return s, nil
}

func (s *Space) chunkLen(c uint64) uint64 {
	return min(s.chunkBlocks, s.nblocks-c*s.chunkBlocks)
}

// BlockSize returns the block size in bytes.
func (s *Space) BlockSize() uint64 { return s.bs }

// PendingBytes returns the bytes handed out by Alloc that no End has
// settled: writes in flight, and space whose reply the caller dropped
// (handed out again by the next Alloc of the same blocks).
func (s *Space) PendingBytes() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n uint64
	for _, st := range s.st {
		if st == pending {
			n++
		}
	}
	return n * s.bs
}

// FreeBytes returns the bytes in the allocator.
func (s *Space) FreeBytes() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.freeBlocks * s.bs
}

// TotalBytes returns the size of the range, in whole blocks.
func (s *Space) TotalBytes() uint64 { return s.nblocks * s.bs }

// Stats returns the counters.
func (s *Space) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// File is one file's block tables on a Space. Its methods take the Space's
// lock.
type File struct {
	s       *Space
	nblocks uint64
	data    table // the device block holding each file block's data
	// pend is the space Alloc handed out for each file block and no End
	// has settled yet. Alloc hands it out again rather than allocating
	// more, so space whose reply the engine dropped (it raced with a cache
	// change) is not lost: the next write of the block uses it.
	pend table
	// The file's allocation cursor: the chunk it carves from and the next
	// block to try, so that a file's nearby writes land together.
	cur, curEnd uint64
}

// table maps file blocks to 1 + a device block (0: none), in pages
// allocated on first use.
type table [][]uint64

func (t table) get(b uint64) uint64 {
	p := t[b/tableBlocks]
	if p == nil {
		return 0
	}
	return p[b%tableBlocks]
}

func (t table) set(b, v uint64) {
	p := t[b/tableBlocks]
	if p == nil {
		if v == 0 {
			return
		}
		p = make([]uint64, tableBlocks)
		t[b/tableBlocks] = p
	}
	p[b%tableBlocks] = v
}

// NewFile returns the table of a file of sizeBytes (rounded up to blocks),
// all hole.
func (s *Space) NewFile(sizeBytes uint64) *File {
	n := (sizeBytes + s.bs - 1) / s.bs
	pages := (n + tableBlocks - 1) / tableBlocks
	return &File{s: s, nblocks: n, data: make(table, pages), pend: make(table, pages)}
}

func (f *File) get(b uint64) uint64     { return f.data.get(b) }
func (f *File) set(b, v uint64)         { f.data.set(b, v) }
func (f *File) pending(b uint64) uint64 { return f.pend.get(b) }

// Lookup returns the extent of f's current data that covers off: a run of
// device-contiguous blocks, or a run of hole blocks (Addr NoAddr), starting
// at the block of off and at most maxBytes long (at least one block), cut
// at the end of the file. ok is false past the end of the file.
func (f *File) Lookup(off, maxBytes uint64) (e Extent, ok bool) {
	s := f.s
	b := off >> s.shift
	if b >= f.nblocks {
		return Extent{}, false
	}
	maxB := max(1, maxBytes>>s.shift)
	end := b + min(maxB, f.nblocks-b)
	s.mu.Lock()
	v := f.get(b)
	n := uint64(1)
	if v == 0 {
		for b+n < end {
			// Skip whole unallocated pages at once.
			if (b+n)%tableBlocks == 0 && f.data[(b+n)/tableBlocks] == nil {
				n = min(end-b, n+tableBlocks)
				continue
			}
			if f.get(b+n) != 0 {
				break
			}
			n++
		}
	} else {
		for b+n < end && f.get(b+n) == v+n {
			n++
		}
	}
	s.mu.Unlock()
	e = Extent{Off: b << s.shift, Len: n << s.shift, Addr: NoAddr}
	if v != 0 {
		e.Addr = s.start + (v-1)<<s.shift
	}
	return e, true
}

// Alloc allocates fresh space for the file range [off, off+length)
// (block-aligned, inside the file) and appends it to dst as extents, in
// file order. It may allocate less than asked (at most maxExtents extents,
// and what is free), but always the block at off or nothing; with nothing
// free it returns an error wrapping ErrNoSpace. The space stays pending
// until an End for it; until then, Alloc of the same blocks returns the
// same space (several writes may target it; End sorts them out).
func (f *File) Alloc(off, length uint64, maxExtents int, dst []Extent) ([]Extent, error) {
	s := f.s
	b := off >> s.shift
	n := length >> s.shift
	if off%s.bs != 0 || length%s.bs != 0 || n == 0 || b >= f.nblocks || n > f.nblocks-b {
		return dst, fmt.Errorf("cowspace: alloc [%d,+%d) of a %d-block file: not whole blocks inside the file", off, length, f.nblocks)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.freeBlocks == 0 && f.pending(b) == 0 {
		s.stats.NoSpaceErrors++
		return dst, fmt.Errorf("%w: %d bytes asked, 0 of %d free", ErrNoSpace, length, s.nblocks*s.bs)
	}
	s.stats.AllocCalls++
	for k := 0; n > 0 && k < maxExtents; k++ {
		var db, got uint64
		if p := f.pending(b); p != 0 {
			// Hand out again what an earlier Alloc gave this block.
			db, got = p-1, 1
			for got < n && f.pending(b+got) == p+got {
				got++
			}
		} else {
			if s.freeBlocks == 0 {
				break
			}
			// Fresh space, up to the next block that has some pending.
			want := uint64(1)
			for want < n && f.pending(b+want) == 0 {
				want++
			}
			db, got = f.carve(want)
			for i := range got {
				s.st[db+i] = pending
				f.pend.set(b+i, db+i+1)
			}
			s.chunkFree[db/s.chunkBlocks] -= uint32(got)
			s.freeBlocks -= got
			s.stats.AllocBytes += got << s.shift
		}
		addr := s.start + db<<s.shift
		if l := len(dst); l > 0 && k > 0 && dst[l-1].Addr+dst[l-1].Len == addr {
			dst[l-1].Len += got << s.shift
		} else {
			dst = append(dst, Extent{Off: b << s.shift, Len: got << s.shift, Addr: addr})
		}
		b += got
		n -= got
	}
	return dst, nil
}

// carve returns the first free run of at most n blocks from f's cursor,
// moving the cursor to a new chunk when the current one has nothing free.
// The caller holds the lock and has checked that a block is free.
func (f *File) carve(n uint64) (db, got uint64) {
	s := f.s
	for {
		for f.cur < f.curEnd && s.st[f.cur] != free {
			f.cur++
		}
		if f.cur < f.curEnd {
			break
		}
		c := s.pickChunk()
		f.cur, f.curEnd = c*s.chunkBlocks, c*s.chunkBlocks+s.chunkLen(c)
	}
	db = f.cur
	for f.cur < f.curEnd && f.cur-db < n && s.st[f.cur] == free {
		f.cur++
	}
	return db, f.cur - db
}

// pickChunk returns a chunk with a free block: a wholly free one if there
// is one, else the next partly free one. The caller has checked that a
// block is free.
func (s *Space) pickChunk() uint64 {
	for len(s.freeChunks) > 0 {
		c := uint64(s.freeChunks[len(s.freeChunks)-1])
		s.freeChunks = s.freeChunks[:len(s.freeChunks)-1]
		s.stacked[c] = false
		if uint64(s.chunkFree[c]) == s.chunkLen(c) {
			return c
		}
	}
	nc := uint64(len(s.chunkFree))
	for i := uint64(0); i < nc; i++ {
		c := (s.scanChunk + i) % nc
		if s.chunkFree[c] > 0 {
			s.scanChunk = (c + 1) % nc
			return c
		}
	}
	panic("cowspace: no free chunk although blocks are free")
}

// End ends a write of the file range w.Off..+w.Len to device address
// w.Addr. With ok, the space becomes the file's data where it was pending
// (or doomed), and the space it replaces is appended to freed (to be given
// to Free once nothing can still read it); a write to space that is
// already this range's data changes nothing, and one to space that was
// replaced meanwhile is ignored. Without ok, the pending space of the write
// is appended to freed. Extents in freed carry the file offset they held.
func (f *File) End(w Extent, ok bool, freed []Extent) []Extent {
	freed, _ = f.end(w, ok, freed, false, nil)
	return freed
}

// Remap is a change End made to a file's data: file bytes [Off, Off+Len)
// moved from Old to Addr (NoAddr: a hole).
type Remap struct {
	Off, Len, Addr, Old uint64
}

// EndRemap is End that also appends to remaps what it changed in the
// file's data, in runs where both the new and the old locations are
// contiguous (or holes): what a journal must record to replay it.
func (f *File) EndRemap(w Extent, ok bool, freed []Extent, remaps []Remap) ([]Extent, []Remap) {
	return f.end(w, ok, freed, true, remaps)
}

func (f *File) end(w Extent, ok bool, freed []Extent, track bool, remaps []Remap) ([]Extent, []Remap) {
	s := f.s
	if w.Addr < s.start || w.Off%s.bs != 0 || w.Len%s.bs != 0 || w.Addr%s.bs != 0 {
		return freed, remaps
	}
	fb := w.Off >> s.shift
	db := (w.Addr - s.start) >> s.shift
	n := w.Len >> s.shift
	if db >= s.nblocks || n > s.nblocks-db || fb >= f.nblocks || n > f.nblocks-fb {
		return freed, remaps
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := uint64(0); i < n; i++ {
		d := db + i
		before := f.get(fb + i)
		if f.pending(fb+i) == d+1 {
			f.pend.set(fb+i, 0)
		}
		switch st := s.st[d]; {
		case !ok:
			if st == pending {
				s.st[d] = doomed
				freed = appendBlock(freed, (fb+i)<<s.shift, s.start+d<<s.shift, s.bs)
			}
		case st == pending || st == doomed:
			if st == doomed {
				s.stats.Revived += s.bs
			}
			if old := f.get(fb + i); old != 0 {
				s.st[old-1] = released
				freed = appendBlock(freed, (fb+i)<<s.shift, s.start+(old-1)<<s.shift, s.bs)
			}
			f.set(fb+i, d+1)
			s.st[d] = live
			s.stats.Committed += s.bs
		case f.get(fb+i) == d+1:
			// Already this block's data: a concurrent write to the same
			// location ended first.
		default:
			s.stats.StaleWrites += s.bs
		}
		if after := f.get(fb + i); track && after != before {
			remaps = appendRemap(remaps, (fb+i)<<s.shift, s.addrOf(after), s.addrOf(before), s.bs)
		}
	}
	return freed, remaps
}

// addrOf is the device address of table value v (1 + block; 0: none).
func (s *Space) addrOf(v uint64) uint64 {
	if v == 0 {
		return NoAddr
	}
	return s.start + (v-1)<<s.shift
}

// appendRemap appends one block's change, extending the last run when
// the file offset, the new and the old location all follow on.
func appendRemap(rs []Remap, off, addr, old, bs uint64) []Remap {
	follows := func(a, b, l uint64) bool {
		return (a == NoAddr && b == NoAddr) || (a != NoAddr && b != NoAddr && a+l == b)
	}
	if l := len(rs); l > 0 {
		r := &rs[l-1]
		if r.Off+r.Len == off && follows(r.Addr, addr, r.Len) && follows(r.Old, old, r.Len) {
			r.Len += bs
			return rs
		}
	}
	return append(rs, Remap{Off: off, Len: bs, Addr: addr, Old: old})
}

// appendBlock appends one block to freed, extending the last extent when
// both the file offset and the address follow on.
func appendBlock(freed []Extent, off, addr, bs uint64) []Extent {
	if l := len(freed); l > 0 {
		e := &freed[l-1]
		if e.Off+e.Len == off && e.Addr+e.Len == addr {
			e.Len += bs
			return freed
		}
	}
	return append(freed, Extent{Off: off, Len: bs, Addr: addr})
}

// Free returns the doomed and released blocks of the device range
// [addr, addr+length) to the allocator; other blocks (revived, or never
// handed out) are left alone.
func (s *Space) Free(addr, length uint64) {
	if addr < s.start || addr%s.bs != 0 || length%s.bs != 0 {
		return
	}
	db := (addr - s.start) >> s.shift
	n := length >> s.shift
	if db >= s.nblocks || n > s.nblocks-db {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for d := db; d < db+n; d++ {
		if st := s.st[d]; st != doomed && st != released {
			s.stats.IgnoredFrees += s.bs
			continue
		}
		s.st[d] = free
		s.freeBlocks++
		s.stats.FreedBytes += s.bs
		c := d / s.chunkBlocks
		s.chunkFree[c]++
		if uint64(s.chunkFree[c]) == s.chunkLen(c) && !s.stacked[c] {
			s.stacked[c] = true
			s.freeChunks = append(s.freeChunks, uint32(c))
		}
	}
}

// Check verifies the Space's accounting against the given files' tables
// (all the files of the Space, or none): free counts per chunk and in
// total, every live block is the data of exactly one file block and every
// file block's data is live, every pending block is the pending space of
// exactly one file block and vice versa. It reports
// every problem it finds (up to a few).
func (s *Space) Check(files ...*File) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	bad := func(format string, a ...any) {
		if len(errs) < 8 {
			errs = append(errs, fmt.Errorf(format, a...))
		}
	}
	var total uint64
	for c := range s.chunkFree {
		var nf uint64
		lo := uint64(c) * s.chunkBlocks
		for d := lo; d < lo+s.chunkLen(uint64(c)); d++ {
			if s.st[d] == free {
				nf++
			}
		}
		if nf != uint64(s.chunkFree[c]) {
			bad("chunk %d: %d free blocks, counted %d", c, nf, s.chunkFree[c])
		}
		total += nf
	}
	if total != s.freeBlocks {
		bad("%d free blocks, counted %d", total, s.freeBlocks)
	}
	owner := make(map[uint64]bool)
	pendOwner := make(map[uint64]bool)
	for fi, f := range files {
		for b := range f.nblocks {
			if v := f.get(b); v != 0 {
				if s.st[v-1] != live {
					bad("file %d block %d: device block %d is in state %d, not live", fi, b, v-1, s.st[v-1])
				}
				if owner[v-1] {
					bad("file %d block %d: device block %d is the data of two file blocks", fi, b, v-1)
				}
				owner[v-1] = true
			}
			if p := f.pending(b); p != 0 {
				if s.st[p-1] != pending {
					bad("file %d block %d: pending device block %d is in state %d", fi, b, p-1, s.st[p-1])
				}
				if pendOwner[p-1] {
					bad("file %d block %d: pending device block %d handed to two file blocks", fi, b, p-1)
				}
				pendOwner[p-1] = true
			}
		}
	}
	if len(files) > 0 {
		for d, st := range s.st {
			if st == live && !owner[uint64(d)] {
				bad("device block %d is live but no file's data", d)
			}
			if st == pending && !pendOwner[uint64(d)] {
				bad("device block %d is pending but no file block's pending space", d)
			}
		}
	}
	return errors.Join(errs...)
}

// Restore makes the device range [addr, addr+length) the data of file
// bytes [off, off+length): how a durable mapper rebuilds a Space from what
// it recovered. Every block must be free and inside the range, the file
// range inside the file and without data; otherwise nothing changes and
// the error says which block.
func (f *File) Restore(off, length, addr uint64) error {
	s := f.s
	if off%s.bs != 0 || length%s.bs != 0 || addr%s.bs != 0 || addr < s.start {
		return fmt.Errorf("cowspace: restore [%d,+%d)@%d: not whole blocks of the range", off, length, addr)
	}
	fb, db, n := off>>s.shift, (addr-s.start)>>s.shift, length>>s.shift
	if db >= s.nblocks || n > s.nblocks-db || fb >= f.nblocks || n > f.nblocks-fb {
		return fmt.Errorf("cowspace: restore [%d,+%d)@%d: outside the file or the range", off, length, addr)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range n {
		if s.st[db+i] != free || f.get(fb+i) != 0 {
			return fmt.Errorf("cowspace: restore: device block %d is not free or file block %d has data", db+i, fb+i)
		}
	}
	for i := range n {
		s.st[db+i] = live
		f.set(fb+i, db+i+1)
	}
	s.chunkFreeRange(db, n)
	s.freeBlocks -= n
	return nil
}

// chunkFreeRange takes n blocks from db on out of the chunks' free counts.
// The caller holds the lock.
func (s *Space) chunkFreeRange(db, n uint64) {
	for i := range n {
		s.chunkFree[(db+i)/s.chunkBlocks]--
	}
}

// Resize changes the file to sizeBytes (rounded up to blocks). The data
// past the new end is released and pending space there doomed, both
// appended to freed (to be given to Free once nothing can read them); a
// larger file grows as a hole. No write to the cut range may be in
// flight.
func (f *File) Resize(sizeBytes uint64, freed []Extent) []Extent {
	s := f.s
	n := (sizeBytes + s.bs - 1) / s.bs
	s.mu.Lock()
	defer s.mu.Unlock()
	for b := n; b < f.nblocks; b++ {
		if v := f.get(b); v != 0 {
			s.st[v-1] = released
			freed = appendBlock(freed, b<<s.shift, s.start+(v-1)<<s.shift, s.bs)
			f.set(b, 0)
		}
		if p := f.pending(b); p != 0 {
			if s.st[p-1] == pending {
				s.st[p-1] = doomed
				freed = appendBlock(freed, b<<s.shift, s.start+(p-1)<<s.shift, s.bs)
			}
			f.pend.set(b, 0)
		}
	}
	pages := int((n + tableBlocks - 1) / tableBlocks)
	for len(f.data) < pages {
		f.data = append(f.data, nil)
		f.pend = append(f.pend, nil)
	}
	clear(f.data[pages:])
	clear(f.pend[pages:])
	f.data, f.pend = f.data[:pages], f.pend[:pages]
	f.nblocks = n
	return freed
}

// SizeBytes returns the file's size in whole blocks.
func (f *File) SizeBytes() uint64 { return f.nblocks << f.s.shift }

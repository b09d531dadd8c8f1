// Package fiemap reads a file's extents with the FS_IOC_FIEMAP ioctl and
// translates them into a block-aligned layout that covers the file with no
// gaps: each segment says whether its bytes are on the device (Mapped),
// read as zeros (Hole, Unwritten, Delalloc), or must be read through the
// filesystem (Inline: inline, tail-packed, encoded or misaligned data).
//
// The translation is pure (Translate) so that it can be tested on made-up
// extent lists; Get does the system call.
package fiemap

import (
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The ioctl ABI (include/uapi/linux/fiemap.h and fs.h); x/sys/unix does not
// carry it.
const (
	iocFiemap = 0xC020660B // _IOWR('f', 11, struct fiemap)

	flagSync = 0x1 // FIEMAP_FLAG_SYNC: flush dirty data before mapping

	// Extent flags.
	ExtentLast          = 0x1
	ExtentUnknown       = 0x2
	ExtentDelalloc      = 0x4
	ExtentEncoded       = 0x8
	ExtentDataEncrypted = 0x80
	ExtentNotAligned    = 0x100
	ExtentDataInline    = 0x200
	ExtentDataTail      = 0x400
	ExtentUnwritten     = 0x800
	ExtentMerged        = 0x1000
	ExtentShared        = 0x2000
)

// ErrBadExtents is returned when the filesystem reports extents that go
// backwards or overflow.
var ErrBadExtents = errors.New("fiemap: inconsistent extents")

// Extent is one struct fiemap_extent: byte offsets and lengths as the
// filesystem reported them.
type Extent struct {
	Logical, Physical, Length uint64
	Flags                     uint32
}

// fiemapHeader is struct fiemap without its flexible array.
type fiemapHeader struct {
	Start, Length               uint64
	Flags, MappedExtents, Count uint32
	reserved                    uint32
}

// rawExtent is struct fiemap_extent.
type rawExtent struct {
	Logical, Physical, Length uint64
	reserved64                [2]uint64
	Flags                     uint32
	reserved                  [3]uint32
}

// batch is how many extents one ioctl asks for.
const batch = 256

// Get returns the extents of the open file fd, calling the ioctl in
// batches until the filesystem marks the last extent or maps nothing more.
// With sync, dirty data is flushed first (so that delayed allocations get
// their blocks).
func Get(fd int, sync bool) ([]Extent, error) {
	type request struct {
		h   fiemapHeader
		ext [batch]rawExtent
	}
	req := new(request)
	var out []Extent
	var start uint64
	for {
		*req = request{}
		req.h.Start = start
		req.h.Length = ^uint64(0) - start
		req.h.Count = batch
		if sync {
			req.h.Flags = flagSync
		}
		if _, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), iocFiemap, uintptr(unsafe.Pointer(req))); errno != 0 {
			return nil, fmt.Errorf("fiemap: FS_IOC_FIEMAP: %w", errno)
		}
		n := int(min(req.h.MappedExtents, batch))
		if n == 0 {
			return out, nil
		}
		for _, r := range req.ext[:n] {
			out = append(out, Extent{Logical: r.Logical, Physical: r.Physical, Length: r.Length, Flags: r.Flags})
		}
		last := req.ext[n-1]
		if last.Flags&ExtentLast != 0 {
			return out, nil
		}
		next := last.Logical + last.Length
		if next <= start || last.Length == 0 {
			return nil, fmt.Errorf("%w: extent at %d+%d does not advance past %d", ErrBadExtents, last.Logical, last.Length, start)
		}
		start = next
	}
}

// Kind is what a segment of a translated layout is.
type Kind uint8

const (
	Hole Kind = iota
	Delalloc
	Mapped
	Unwritten
	Inline
)

func (k Kind) String() string {
	switch k {
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
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Segment is one piece of a translated layout. Addr is the device byte
// address for Mapped and Unwritten, and meaningless otherwise.
type Segment struct {
	Off, Len, Addr uint64
	Kind           Kind
}

// Translate turns extents (as Get returns them, in logical order) of a file
// of sizeBytes into segments of blockSize-aligned offsets and lengths that
// tile [0, round_up(sizeBytes, blockSize)) with no gaps and no overlaps;
// neighbours of the same kind (and contiguous addresses) are merged.
//
//   - gaps between extents, and the tail after the last one, are holes;
//   - unwritten extents read as zeros; delayed or unknown ones as Delalloc;
//   - inline, tail-packed, encoded, encrypted and not-aligned data, and any
//     piece of an extent that does not fill whole blocks at block-aligned
//     device addresses, are Inline (read through the filesystem);
//   - where two extents' rounded ranges meet inside one block, that block
//     is Inline;
//   - extents reaching past the rounded size are cut there.
func Translate(extents []Extent, sizeBytes, blockSize uint64) ([]Segment, error) {
	bs := blockSize
	end := (sizeBytes + bs - 1) / bs * bs
	var t translator
	var prevEnd uint64
	for i, e := range extents {
		if e.Length == 0 {
			continue
		}
		if e.Logical+e.Length < e.Logical || e.Physical+e.Length < e.Physical && kindOf(e.Flags) != Inline {
			return nil, fmt.Errorf("%w: extent %d at %d+%d overflows", ErrBadExtents, i, e.Logical, e.Length)
		}
		if e.Logical < prevEnd {
			return nil, fmt.Errorf("%w: extent %d at %d starts before the previous one ends (%d)", ErrBadExtents, i, e.Logical, prevEnd)
		}
		prevEnd = e.Logical + e.Length
		if e.Logical >= end {
			break
		}
		lo, hi := e.Logical, min(e.Logical+e.Length, end)
		k := kindOf(e.Flags)
		if k != Mapped && k != Unwritten {
			t.add(Segment{Off: lo / bs * bs, Len: roundUp(hi, bs) - lo/bs*bs, Kind: k})
			continue
		}
		// Device data: whole blocks at aligned addresses only.
		if (e.Physical-e.Logical)%bs != 0 {
			t.add(Segment{Off: lo / bs * bs, Len: roundUp(hi, bs) - lo/bs*bs, Kind: Inline})
			continue
		}
		alo, ahi := roundUp(lo, bs), hi/bs*bs
		if hi == end || hi == sizeBytes {
			// The file's last block: the bytes past EOF in it are never
			// returned, so reading the whole block from the device is
			// fine.
			ahi = roundUp(hi, bs)
		}
		if alo >= ahi {
			t.add(Segment{Off: lo / bs * bs, Len: roundUp(hi, bs) - lo/bs*bs, Kind: Inline})
			continue
		}
		if lo < alo {
			t.add(Segment{Off: lo / bs * bs, Len: bs, Kind: Inline})
		}
		t.add(Segment{Off: alo, Len: ahi - alo, Addr: e.Physical + (alo - e.Logical), Kind: k})
		if ahi < roundUp(hi, bs) {
			t.add(Segment{Off: ahi, Len: bs, Kind: Inline})
		}
	}
	if t.end() < end {
		t.add(Segment{Off: t.end(), Len: end - t.end(), Kind: Hole})
	}
	return t.segs, nil
}

func kindOf(flags uint32) Kind {
	switch {
	case flags&(ExtentDataInline|ExtentDataTail|ExtentNotAligned|ExtentEncoded|ExtentDataEncrypted) != 0:
		return Inline
	case flags&(ExtentDelalloc|ExtentUnknown) != 0:
		return Delalloc
	case flags&ExtentUnwritten != 0:
		return Unwritten
	}
	return Mapped
}

func roundUp(n, a uint64) uint64 { return (n + a - 1) / a * a }

type translator struct{ segs []Segment }

func (t *translator) end() uint64 {
	if len(t.segs) == 0 {
		return 0
	}
	s := t.segs[len(t.segs)-1]
	return s.Off + s.Len
}

// add appends s (block-aligned, not starting before the previous segment's
// start), filling a gap before it with a hole and turning an overlap with
// the previous segment into Inline.
func (t *translator) add(s Segment) {
	if e := t.end(); s.Off > e {
		t.push(Segment{Off: e, Len: s.Off - e, Kind: Hole})
	} else if s.Off < e {
		// Overlap (only ever the block two rounded extents share): cut the
		// previous segment back, make the shared part Inline.
		p := &t.segs[len(t.segs)-1]
		ov := min(e, s.Off+s.Len) - s.Off
		p.Len = s.Off - p.Off
		if p.Len == 0 {
			t.segs = t.segs[:len(t.segs)-1]
		}
		t.push(Segment{Off: s.Off, Len: ov, Kind: Inline})
		if e > s.Off+s.Len {
			// s lay inside the previous segment: the rest of it stays
			// what it was, but it was cut; re-add it as Inline too to
			// keep the tiling simple (this only happens for extents
			// smaller than a block).
			t.push(Segment{Off: s.Off + s.Len, Len: e - (s.Off + s.Len), Kind: Inline})
			return
		}
		s.Len -= ov
		if s.Len == 0 {
			return
		}
		if s.Kind == Mapped || s.Kind == Unwritten {
			s.Addr += ov
		}
		s.Off += ov
	}
	t.push(s)
}

// push appends s, merging it into the previous segment when they continue
// each other.
func (t *translator) push(s Segment) {
	if n := len(t.segs); n > 0 {
		p := &t.segs[n-1]
		if p.Kind == s.Kind && p.Off+p.Len == s.Off &&
			(s.Kind != Mapped && s.Kind != Unwritten || p.Addr+p.Len == s.Addr) {
			p.Len += s.Len
			return
		}
	}
	t.segs = append(t.segs, s)
}

// Find returns the index of the segment covering off, or -1 past the end.
func Find(segs []Segment, off uint64) int {
	lo, hi := 0, len(segs)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if segs[mid].Off+segs[mid].Len <= off {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo == len(segs) {
		return -1
	}
	return lo
}

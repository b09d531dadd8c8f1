// Package cowlog is the on-device format of the durable copy-on-write
// mapper: the superblock, the two checkpoint slots and the remap journal,
// their codecs, and recovery (the last valid checkpoint plus the journal
// replayed to its last valid transaction).
//
// It imports nothing of the project and works on byte slices and an
// io.ReaderAt. Every length, count and address it reads is checked against
// the geometry before use, so a hostile image gives an error wrapping
// ErrCorrupt (or ErrNoSuperblock, ErrVersion), never a panic or a read
// outside the device.
//
// Layout, in blocks of Superblock.BlockSize bytes:
//
//	0                      superblock
//	CkptA, CkptB           two checkpoint slots of CkptBlocks each
//	Journal                JournalBlocks of transactions, from its start
//	Data                   DataBlocks of file data
//
// A checkpoint holds every file (id, name, size, mapped extents) as of a
// journal sequence; the valid slot with the higher generation wins. The
// journal that follows a checkpoint of generation G starts at its first
// block; its transactions carry G and consecutive sequence numbers, and
// each one's CRC-32C is seeded with the previous one's (the first with the
// checkpoint's), so a transaction left over from an older generation or an
// earlier incarnation of the same position never passes as the next one.
// All integers are little endian.
package cowlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// Sentinel errors.
var (
	// ErrNoSuperblock is returned when block 0 does not carry the format's
	// magic: a blank device or one with another signature.
	ErrNoSuperblock = errors.New("cowlog: no cowlog superblock")
	// ErrVersion is returned for a superblock of a format version this
	// code does not read.
	ErrVersion = errors.New("cowlog: unsupported format version")
	// ErrCorrupt is returned when metadata fails a checksum or a bounds
	// check where a torn write cannot explain it: a bad superblock, no
	// valid checkpoint, a transaction that fails its checksum with a
	// valid one after it, an address past the data area, a block
	// referenced twice.
	ErrCorrupt = errors.New("cowlog: corrupt metadata")
	// ErrGeometry is returned by NewLayout for a device too small or a
	// block size it cannot use.
	ErrGeometry = errors.New("cowlog: bad geometry")
	// ErrTooBig is returned by the encoders when a transaction or a
	// checkpoint does not fit its area.
	ErrTooBig = errors.New("cowlog: does not fit")
)

// Version is the format version this package writes and reads.
const Version = 1

// Magic numbers.
const (
	sbMagic   = "IOBCOWL\x00"
	ckptMagic = 0x4b43_4c43 // "CLCK"
	txnMagic  = 0x4e54_4c43 // "CLTN"
)

// Sizes of the fixed parts.
const (
	sbBytes      = 96
	ckptHdrBytes = 64
	txnHdrBytes  = 32
	// MaxName is the longest file name.
	MaxName = 255
	// fileHdrBytes is a checkpoint file entry without name and extents.
	fileHdrBytes = 4 + 8 + 4 + 2
	extentBytes  = 24
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func crc(seed uint32, b []byte) uint32 { return crc32.Update(seed, castagnoli, b) }

// NoAddr is the address of a hole in a remap record.
const NoAddr = ^uint64(0)

// MixedAddr is a remap record's replaced address when the range did not
// live in one run (or one hole) before: replay checks nothing then.
const MixedAddr = ^uint64(0) - 1

// Superblock describes the geometry. Areas are in blocks.
type Superblock struct {
	BlockSize     uint32
	DeviceBytes   uint64 // size the device had when formatted
	MaxFiles      uint32
	CkptBlocks    uint64 // size of each checkpoint slot
	CkptA, CkptB  uint64 // first block of each slot
	Journal       uint64 // first journal block
	JournalBlocks uint64
	Data          uint64 // first data block
	DataBlocks    uint64
	UUID          uint64 // tells this format's metadata from an older format's on the same device
}

// NewLayout returns the geometry of a device of devBytes in blocks of
// bs bytes holding up to maxFiles files, sized so that a checkpoint of
// any state fits its slot (every data block its own extent).
func NewLayout(devBytes uint64, bs uint32, maxFiles uint32, uuid uint64) (Superblock, error) {
	if bs < 512 || bs&(bs-1) != 0 || bs > 1<<20 {
		return Superblock{}, fmt.Errorf("%w: block size %d", ErrGeometry, bs)
	}
	if maxFiles == 0 || maxFiles > 1<<16 {
		return Superblock{}, fmt.Errorf("%w: %d files (1 to 65536)", ErrGeometry, maxFiles)
	}
	b := uint64(bs)
	n := devBytes / b
	ckptBytes := uint64(ckptHdrBytes) + uint64(maxFiles)*(fileHdrBytes+MaxName) + n*extentBytes
	ck := (ckptBytes + b - 1) / b
	j := min(max(64, n/64), 1<<14)
	meta := 1 + 2*ck + j
	if n < meta+16 {
		return Superblock{}, fmt.Errorf("%w: %d bytes hold %d blocks of %d; metadata needs %d and data at least 16", ErrGeometry, devBytes, n, bs, meta)
	}
	return Superblock{
		BlockSize: bs, DeviceBytes: n * b, MaxFiles: maxFiles,
		CkptBlocks: ck, CkptA: 1, CkptB: 1 + ck, Journal: 1 + 2*ck, JournalBlocks: j,
		Data: meta, DataBlocks: n - meta, UUID: uuid,
	}, nil
}

// DataStart and DataEnd bound the data area in bytes.
func (s *Superblock) DataStart() uint64 { return s.Data * uint64(s.BlockSize) }

// DataEnd is the byte just past the data area.
func (s *Superblock) DataEnd() uint64 { return (s.Data + s.DataBlocks) * uint64(s.BlockSize) }

// Slot returns the byte address of checkpoint slot gen%2.
func (s *Superblock) Slot(gen uint64) uint64 {
	if gen%2 == 0 {
		return s.CkptA * uint64(s.BlockSize)
	}
	return s.CkptB * uint64(s.BlockSize)
}

// JournalBytes returns the journal's start and length in bytes.
func (s *Superblock) JournalBytes() (start, length uint64) {
	return s.Journal * uint64(s.BlockSize), s.JournalBlocks * uint64(s.BlockSize)
}

// Encode writes the superblock into the first block of dst (len >= BlockSize).
func (s *Superblock) Encode(dst []byte) {
	clear(dst[:s.BlockSize])
	copy(dst, sbMagic)
	le := binary.LittleEndian
	le.PutUint32(dst[8:], Version)
	le.PutUint32(dst[12:], s.BlockSize)
	le.PutUint64(dst[16:], s.DeviceBytes)
	le.PutUint32(dst[24:], s.MaxFiles)
	le.PutUint64(dst[28:], s.CkptBlocks)
	le.PutUint64(dst[36:], s.CkptA)
	le.PutUint64(dst[44:], s.CkptB)
	le.PutUint64(dst[52:], s.Journal)
	le.PutUint64(dst[60:], s.JournalBlocks)
	le.PutUint64(dst[68:], s.Data)
	le.PutUint64(dst[76:], s.DataBlocks)
	le.PutUint64(dst[84:], s.UUID)
	le.PutUint32(dst[92:], crc(0, dst[:92]))
}

// HasMagic reports whether b starts with the superblock magic.
func HasMagic(b []byte) bool { return len(b) >= 8 && string(b[:8]) == sbMagic }

// DecodeSuperblock parses block 0 of a device of devBytes and checks the
// geometry against it.
func DecodeSuperblock(b []byte, devBytes uint64) (Superblock, error) {
	if !HasMagic(b) {
		return Superblock{}, ErrNoSuperblock
	}
	if len(b) < sbBytes {
		return Superblock{}, fmt.Errorf("%w: superblock: %d bytes", ErrCorrupt, len(b))
	}
	le := binary.LittleEndian
	if got, want := le.Uint32(b[92:]), crc(0, b[:92]); got != want {
		return Superblock{}, fmt.Errorf("%w: superblock (block 0): checksum %#x, computed %#x", ErrCorrupt, got, want)
	}
	if v := le.Uint32(b[8:]); v != Version {
		return Superblock{}, fmt.Errorf("%w: version %d, this code reads %d", ErrVersion, v, Version)
	}
	s := Superblock{
		BlockSize: le.Uint32(b[12:]), DeviceBytes: le.Uint64(b[16:]), MaxFiles: le.Uint32(b[24:]),
		CkptBlocks: le.Uint64(b[28:]), CkptA: le.Uint64(b[36:]), CkptB: le.Uint64(b[44:]),
		Journal: le.Uint64(b[52:]), JournalBlocks: le.Uint64(b[60:]), Data: le.Uint64(b[68:]), DataBlocks: le.Uint64(b[76:]),
	}
	s.UUID = le.Uint64(b[84:])
	want, err := NewLayout(s.DeviceBytes, s.BlockSize, s.MaxFiles, s.UUID)
	if err != nil {
		return Superblock{}, fmt.Errorf("%w: superblock (block 0): %w", ErrCorrupt, err)
	}
	if want != s {
		return Superblock{}, fmt.Errorf("%w: superblock (block 0): geometry does not match its own sizes", ErrCorrupt)
	}
	if s.DeviceBytes > devBytes {
		return Superblock{}, fmt.Errorf("%w: superblock (block 0): formatted for %d bytes, the device has %d", ErrCorrupt, s.DeviceBytes, devBytes)
	}
	return s, nil
}

// Extent is a run of file bytes mapped to device bytes.
type Extent struct {
	Off, Len, Addr uint64
}

// File is one file's durable state.
type File struct {
	ID      uint32
	Name    string
	Size    uint64
	Extents []Extent // mapped extents, sorted, non-overlapping; holes left out
}

// Checkpoint is the whole state as of journal sequence Seq.
type Checkpoint struct {
	Gen, Seq uint64
	Files    []File
}

// EncodeCheckpoint appends the checkpoint, padded to whole blocks, to dst
// and returns it with the checkpoint's checksum (the seed of the journal
// that follows it).
func EncodeCheckpoint(dst []byte, sb *Superblock, ck *Checkpoint) ([]byte, uint32, error) {
	if uint64(len(ck.Files)) > uint64(sb.MaxFiles) {
		return dst, 0, fmt.Errorf("%w: %d files, at most %d", ErrTooBig, len(ck.Files), sb.MaxFiles)
	}
	start := len(dst)
	dst = append(dst, make([]byte, ckptHdrBytes)...)
	le := binary.LittleEndian
	var next, used uint64
	for i := range ck.Files {
		f := &ck.Files[i]
		if len(f.Name) > MaxName {
			return dst[:start], 0, fmt.Errorf("%w: name of %d bytes", ErrTooBig, len(f.Name))
		}
		dst = le.AppendUint32(dst, f.ID)
		dst = le.AppendUint64(dst, f.Size)
		dst = le.AppendUint32(dst, uint32(len(f.Extents)))
		dst = le.AppendUint16(dst, uint16(len(f.Name)))
		dst = append(dst, f.Name...)
		for _, e := range f.Extents {
			dst = le.AppendUint64(dst, e.Off)
			dst = le.AppendUint64(dst, e.Len)
			dst = le.AppendUint64(dst, e.Addr)
			next++
			used += e.Len / uint64(sb.BlockSize)
		}
	}
	plen := uint64(len(dst) - start - ckptHdrBytes)
	bs := uint64(sb.BlockSize)
	total := (uint64(ckptHdrBytes) + plen + bs - 1) / bs * bs
	if total > sb.CkptBlocks*bs {
		return dst[:start], 0, fmt.Errorf("%w: checkpoint of %d bytes, slot %d", ErrTooBig, total, sb.CkptBlocks*bs)
	}
	h := dst[start:]
	le.PutUint32(h[0:], ckptMagic)
	le.PutUint32(h[4:], Version)
	le.PutUint64(h[8:], ck.Gen)
	le.PutUint64(h[16:], ck.Seq)
	le.PutUint32(h[24:], uint32(len(ck.Files)))
	le.PutUint64(h[28:], next)
	le.PutUint64(h[36:], plen)
	le.PutUint64(h[44:], used)
	le.PutUint64(h[52:], sb.UUID)
	sum := crc(0, h[:60])
	sum = crc(sum, h[ckptHdrBytes:ckptHdrBytes+int(plen)])
	le.PutUint32(h[60:], sum)
	dst = append(dst, make([]byte, int(total)-ckptHdrBytes-int(plen))...)
	return dst, sum, nil
}

// ckptHeader is what a slot's first block says.
type ckptHeader struct {
	gen, seq, nextents, plen, used uint64
	nfiles                         uint32
	sum                            uint32
}

func decodeCkptHeader(b []byte, sb *Superblock) (ckptHeader, bool) {
	le := binary.LittleEndian
	if len(b) < ckptHdrBytes || le.Uint32(b) != ckptMagic || le.Uint32(b[4:]) != Version ||
		le.Uint64(b[52:]) != sb.UUID {
		return ckptHeader{}, false
	}
	h := ckptHeader{gen: le.Uint64(b[8:]), seq: le.Uint64(b[16:]), nfiles: le.Uint32(b[24:]),
		nextents: le.Uint64(b[28:]), plen: le.Uint64(b[36:]), used: le.Uint64(b[44:]), sum: le.Uint32(b[60:])}
	if h.plen > sb.CkptBlocks*uint64(sb.BlockSize)-ckptHdrBytes || h.nfiles > sb.MaxFiles || h.nextents > sb.DataBlocks {
		return ckptHeader{}, false
	}
	return h, true
}

// DecodeCheckpoint parses a checkpoint slot's bytes (header already
// checksummed by the caller through readCheckpoint) into ck, checking
// every extent against the data area and the file sizes.
func decodeCheckpointBody(b []byte, h ckptHeader, sb *Superblock) (*Checkpoint, error) {
	le := binary.LittleEndian
	ck := &Checkpoint{Gen: h.gen, Seq: h.seq, Files: make([]File, 0, h.nfiles)}
	p := b
	need := func(n int) bool { return len(p) >= n }
	bs := uint64(sb.BlockSize)
	var used, next uint64
	for range h.nfiles {
		if !need(fileHdrBytes) {
			return nil, fmt.Errorf("checkpoint ends inside a file entry")
		}
		f := File{ID: le.Uint32(p), Size: le.Uint64(p[4:])}
		n := le.Uint32(p[12:])
		nl := int(le.Uint16(p[16:]))
		p = p[fileHdrBytes:]
		if nl > MaxName || !need(nl) {
			return nil, fmt.Errorf("file %d: name of %d bytes", f.ID, nl)
		}
		f.Name = string(p[:nl])
		p = p[nl:]
		if uint64(n) > h.nextents-next || !need(int(n)*extentBytes) {
			return nil, fmt.Errorf("file %d: %d extents past the checkpoint's", f.ID, n)
		}
		f.Extents = make([]Extent, n)
		var end uint64
		for i := range f.Extents {
			e := Extent{Off: le.Uint64(p), Len: le.Uint64(p[8:]), Addr: le.Uint64(p[16:])}
			p = p[extentBytes:]
			if err := checkExtent(sb, e, f.Size); err != nil {
				return nil, fmt.Errorf("file %d extent %d: %w", f.ID, i, err)
			}
			if e.Off < end {
				return nil, fmt.Errorf("file %d extent %d: offset %d overlaps or precedes the previous extent", f.ID, i, e.Off)
			}
			end = e.Off + e.Len
			used += e.Len / bs
			f.Extents[i] = e
		}
		next += uint64(n)
		ck.Files = append(ck.Files, f)
	}
	if next != h.nextents || used != h.used {
		return nil, fmt.Errorf("counts %d extents and %d blocks, header says %d and %d", next, used, h.nextents, h.used)
	}
	return ck, nil
}

// checkExtent checks one mapped extent: aligned, non-empty, inside the
// file and inside the data area.
func checkExtent(sb *Superblock, e Extent, size uint64) error {
	bs := uint64(sb.BlockSize)
	if e.Len == 0 || e.Off%bs != 0 || e.Len%bs != 0 || e.Addr%bs != 0 {
		return fmt.Errorf("extent [%d,+%d)@%d is empty or not aligned to %d", e.Off, e.Len, e.Addr, bs)
	}
	if e.Off+e.Len < e.Off || e.Off+e.Len > (size+bs-1)/bs*bs {
		return fmt.Errorf("extent [%d,+%d) reaches past the file's %d bytes", e.Off, e.Len, size)
	}
	if e.Addr < sb.DataStart() || e.Addr+e.Len < e.Addr || e.Addr+e.Len > sb.DataEnd() {
		return fmt.Errorf("extent [%d,+%d) at address %d is outside the data area [%d,%d)", e.Off, e.Len, e.Addr, sb.DataStart(), sb.DataEnd())
	}
	return nil
}

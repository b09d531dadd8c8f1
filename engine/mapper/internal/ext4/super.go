package ext4

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"slices"
	"strings"
)

var le = binary.LittleEndian

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// crc32c is the kernel's crc32c_le(seed, p): no inversion on the way in or
// out, so that calls chain the way ext4's checksums chain them.
func crc32c(seed uint32, p []byte) uint32 { return ^crc32.Update(^seed, castagnoli, p) }

// crc16 is the kernel's crc16 (polynomial 0x8005, reflected), used by the
// gdt_csum group descriptor checksum.
func crc16(crc uint16, p []byte) uint16 {
	for _, b := range p {
		crc ^= uint16(b)
		for range 8 {
			if crc&1 != 0 {
				crc = crc>>1 ^ 0xa001
			} else {
				crc >>= 1
			}
		}
	}
	return crc
}

const (
	superOffset = 1024
	superSize   = 1024
	superMagic  = 0xef53
)

// Feature bits (superblock s_feature_compat, _incompat, _ro_compat).
const (
	compatHasJournal   = 0x4
	compatResizeInode  = 0x10
	compatSparseSuper2 = 0x200
	compatOrphanFile   = 0x1000

	incompatCompression = 0x1
	incompatFiletype    = 0x2
	incompatRecover     = 0x4
	incompatJournalDev  = 0x8
	incompatMetaBG      = 0x10
	incompatExtents     = 0x40
	incompat64Bit       = 0x80
	incompatMMP         = 0x100
	incompatFlexBG      = 0x200
	incompatEAInode     = 0x400
	incompatDirData     = 0x1000
	incompatCsumSeed    = 0x2000
	incompatLargeDir    = 0x4000
	incompatInlineData  = 0x8000
	incompatEncrypt     = 0x10000
	incompatCasefold    = 0x20000

	roSparseSuper  = 0x1
	roLargeFile    = 0x2
	roBtreeDir     = 0x4
	roHugeFile     = 0x8
	roGdtCsum      = 0x10
	roDirNlink     = 0x20
	roExtraIsize   = 0x40
	roHasSnapshot  = 0x80
	roQuota        = 0x100
	roBigalloc     = 0x200
	roMetadataCsum = 0x400
	roReplica      = 0x800
	roReadonly     = 0x1000
	roProject      = 0x2000
	roSharedBlocks = 0x4000
	roVerity       = 0x8000
	roOrphan       = 0x10000
)

// incompatSupported are the incompatible features this reader reads.
// Refused by name: compression, needs_recovery (the journal holds data not
// yet in place), journal_dev (an external journal device, no files),
// dirdata, encrypt, casefold (names compare folded), and any unknown bit.
const incompatSupported = incompatFiletype | incompatMetaBG | incompatExtents | incompat64Bit |
	incompatMMP | incompatFlexBG | incompatEAInode | incompatCsumSeed | incompatLargeDir | incompatInlineData

// roSupported are the read-only-compatible features whose meaning this
// reader knows. Unknown ones (and bigalloc, snapshots, shared blocks) are
// refused, although the kernel would mount read-only: they may change
// how blocks are addressed.
const roSupported = roSparseSuper | roLargeFile | roBtreeDir | roHugeFile | roGdtCsum | roDirNlink |
	roExtraIsize | roQuota | roMetadataCsum | roReadonly | roProject | roVerity | roOrphan

var incompatNames = map[uint32]string{
	incompatCompression: "compression", incompatFiletype: "filetype", incompatRecover: "needs_recovery",
	incompatJournalDev: "journal_dev", incompatMetaBG: "meta_bg", incompatExtents: "extent", incompat64Bit: "64bit",
	incompatMMP: "mmp", incompatFlexBG: "flex_bg", incompatEAInode: "ea_inode", incompatDirData: "dirdata",
	incompatCsumSeed: "metadata_csum_seed", incompatLargeDir: "large_dir", incompatInlineData: "inline_data",
	incompatEncrypt: "encrypt", incompatCasefold: "casefold",
}

var roNames = map[uint32]string{
	roSparseSuper: "sparse_super", roLargeFile: "large_file", roBtreeDir: "btree_dir", roHugeFile: "huge_file",
	roGdtCsum: "uninit_bg", roDirNlink: "dir_nlink", roExtraIsize: "extra_isize", roHasSnapshot: "snapshot",
	roQuota: "quota", roBigalloc: "bigalloc", roMetadataCsum: "metadata_csum", roReplica: "replica",
	roReadonly: "read-only", roProject: "project", roSharedBlocks: "shared_blocks", roVerity: "verity",
	roOrphan: "orphan_present",
}

func featureNames(bits uint32, names map[uint32]string) string {
	var out []string
	for b := uint32(1); b != 0; b <<= 1 {
		if bits&b == 0 {
			continue
		}
		if n, ok := names[b]; ok {
			out = append(out, n)
		} else {
			out = append(out, fmt.Sprintf("unknown(%#x)", b))
		}
	}
	return strings.Join(out, ", ")
}

// Superblock holds the fields of the ext4 superblock that the reader uses.
type Superblock struct {
	InodesCount     uint32
	BlocksCount     uint64
	FirstDataBlock  uint32
	LogBlockSize    uint32
	BlocksPerGroup  uint32
	InodesPerGroup  uint32
	State           uint16
	RevLevel        uint32
	InodeSize       uint16
	FirstIno        uint32 // the first inode for files; those below it but the root are reserved
	FeatureCompat   uint32
	FeatureIncompat uint32
	FeatureRoCompat uint32
	UUID            [16]byte
	VolumeName      string
	DescSize        uint16
	FirstMetaBG     uint32
	BackupBGs       [2]uint32
	ChecksumSeed    uint32
	Checksum        uint32

	// Where the metadata outside the groups' descriptors lives: the
	// blocks reserved after the group descriptors for online resize, the
	// journal's inode (0 without has_journal or with an external journal),
	// the MMP block (mmp), the quota files (quota, project) and the orphan
	// file (orphan_file); 0 when the feature is off.
	ReservedGDTBlocks uint16
	JournalInum       uint32
	MMPBlock          uint64
	QuotaInums        [3]uint32 // user, group, project
	OrphanFileInum    uint32
}

// BlockSize returns the block size in bytes.
func (s *Superblock) BlockSize() uint32 { return 1024 << s.LogBlockSize }

// Features returns the names of the incompatible and read-only-compatible
// features the filesystem has, as mkfs.ext4 -O spells them.
func (s *Superblock) Features() string {
	a := featureNames(s.FeatureIncompat, incompatNames)
	b := featureNames(s.FeatureRoCompat, roNames)
	if a == "" || b == "" {
		return a + b
	}
	return a + ", " + b
}

// ParseSuperblock decodes and checks the 1024-byte superblock b (as read
// from byte 1024 of the device) for a device of devBytes bytes: the magic,
// the geometry, the features and, with metadata_csum, the checksum.
func ParseSuperblock(b []byte, devBytes uint64) (*Superblock, error) {
	const what = "superblock"
	if len(b) < superSize {
		return nil, corrupt(what, 0, "%d bytes, want %d", len(b), superSize)
	}
	s := &Superblock{
		InodesCount:     le.Uint32(b[0x00:]),
		BlocksCount:     uint64(le.Uint32(b[0x04:])),
		FirstDataBlock:  le.Uint32(b[0x14:]),
		LogBlockSize:    le.Uint32(b[0x18:]),
		BlocksPerGroup:  le.Uint32(b[0x20:]),
		InodesPerGroup:  le.Uint32(b[0x28:]),
		State:           le.Uint16(b[0x3a:]),
		RevLevel:        le.Uint32(b[0x4c:]),
		InodeSize:       128,
		FirstIno:        11,
		FeatureCompat:   le.Uint32(b[0x5c:]),
		FeatureIncompat: le.Uint32(b[0x60:]),
		FeatureRoCompat: le.Uint32(b[0x64:]),
		DescSize:        32,
		FirstMetaBG:     le.Uint32(b[0x104:]),
		BackupBGs:       [2]uint32{le.Uint32(b[0x24c:]), le.Uint32(b[0x250:])},
		ChecksumSeed:    le.Uint32(b[0x270:]),
		Checksum:        le.Uint32(b[0x3fc:]),

		ReservedGDTBlocks: le.Uint16(b[0xce:]),
	}
	if s.FeatureCompat&compatHasJournal != 0 {
		s.JournalInum = le.Uint32(b[0xe0:])
	}
	if s.FeatureIncompat&incompatMMP != 0 {
		s.MMPBlock = le.Uint64(b[0x168:])
	}
	if s.FeatureRoCompat&roQuota != 0 {
		s.QuotaInums[0], s.QuotaInums[1] = le.Uint32(b[0x240:]), le.Uint32(b[0x244:])
		if s.FeatureRoCompat&roProject != 0 {
			s.QuotaInums[2] = le.Uint32(b[0x26c:])
		}
	}
	if s.FeatureCompat&compatOrphanFile != 0 {
		s.OrphanFileInum = le.Uint32(b[0x280:])
	}
	copy(s.UUID[:], b[0x68:0x78])
	s.VolumeName = strings.TrimRight(string(b[0x78:0x88]), "\x00")
	blk := uint64(0)
	if s.LogBlockSize == 0 {
		blk = 1
	}
	if magic := le.Uint16(b[0x38:]); magic != superMagic {
		return nil, corrupt(what, blk, "magic %#04x, want %#04x (not an ext2/3/4 filesystem)", magic, superMagic)
	}
	if s.LogBlockSize > 6 {
		return nil, corrupt(what, blk, "block size 1024<<%d is over 64 KiB", s.LogBlockSize)
	}
	bs := s.BlockSize()
	if s.RevLevel >= 1 {
		s.InodeSize = le.Uint16(b[0x58:])
		s.FirstIno = le.Uint32(b[0x54:])
	}
	// The metadata checksum comes first: a flipped bit anywhere is then
	// reported as what it is.
	if s.FeatureRoCompat&roMetadataCsum != 0 {
		if t := b[0x175]; t != 1 {
			return nil, corrupt(what, blk, "checksum type %d, want 1 (crc32c)", t)
		}
		if c := crc32c(^uint32(0), b[:0x3fc]); c != s.Checksum {
			return nil, badSum(what, blk, s.Checksum, c)
		}
	}
	if s.FeatureIncompat&incompat64Bit != 0 {
		s.BlocksCount |= uint64(le.Uint32(b[0x150:])) << 32
		s.DescSize = le.Uint16(b[0xfe:])
		if s.DescSize < 64 || s.DescSize > 1024 || s.DescSize&(s.DescSize-1) != 0 {
			return nil, corrupt(what, blk, "group descriptor size %d with 64bit, want a power of two in 64..1024", s.DescSize)
		}
	}
	if bad := s.FeatureIncompat &^ incompatSupported; bad != 0 {
		return nil, &StructError{Struct: what, Block: blk, Err: ErrUnsupported,
			Detail: "incompatible feature(s) " + featureNames(bad, incompatNames)}
	}
	if bad := s.FeatureRoCompat &^ roSupported; bad != 0 {
		return nil, &StructError{Struct: what, Block: blk, Err: ErrUnsupported,
			Detail: "feature(s) " + featureNames(bad, roNames)}
	}
	if le.Uint32(b[0x1c:]) != s.LogBlockSize {
		return nil, corrupt(what, blk, "cluster size log %d differs from block size log %d without bigalloc", le.Uint32(b[0x1c:]), s.LogBlockSize)
	}
	if s.InodeSize < 128 || s.InodeSize > uint16(min(bs, 32768)) || s.InodeSize&(s.InodeSize-1) != 0 {
		return nil, corrupt(what, blk, "inode size %d, want a power of two in 128..%d", s.InodeSize, bs)
	}
	// One block of pointers (the resize inode's double indirect block)
	// lists the reserved GDT blocks, as e2fsck requires.
	if uint32(s.ReservedGDTBlocks) > bs/4 {
		return nil, corrupt(what, blk, "%d reserved GDT blocks, more than the %d a %d-byte block of pointers lists", s.ReservedGDTBlocks, bs/4, bs)
	}
	if want := uint32(0); bs == 1024 {
		want = 1
		if s.FirstDataBlock != want {
			return nil, corrupt(what, blk, "first data block %d, want %d for %d-byte blocks", s.FirstDataBlock, want, bs)
		}
	} else if s.FirstDataBlock != want {
		return nil, corrupt(what, blk, "first data block %d, want %d for %d-byte blocks", s.FirstDataBlock, want, bs)
	}
	if s.FirstIno < 11 {
		return nil, corrupt(what, blk, "first file inode %d, want 11 or more", s.FirstIno)
	}
	if s.BlocksPerGroup == 0 || s.BlocksPerGroup > 8*bs {
		return nil, corrupt(what, blk, "%d blocks per group, want 1..%d", s.BlocksPerGroup, 8*bs)
	}
	if s.InodesPerGroup == 0 || s.InodesPerGroup > 8*bs {
		return nil, corrupt(what, blk, "%d inodes per group, want 1..%d", s.InodesPerGroup, 8*bs)
	}
	if s.BlocksCount <= uint64(s.FirstDataBlock) {
		return nil, corrupt(what, blk, "%d blocks, not more than the first data block %d", s.BlocksCount, s.FirstDataBlock)
	}
	if devBytes/uint64(bs) < s.BlocksCount {
		return nil, corrupt(what, blk, "%d blocks of %d bytes do not fit the %d-byte device", s.BlocksCount, bs, devBytes)
	}
	groups := s.Groups()
	// groups x InodesPerGroup wraps only past 2^64 (a device of 2^61
	// bytes or more); compared as a quotient it cannot.
	if groups > uint64(s.InodesCount)/uint64(s.InodesPerGroup) || uint64(s.InodesCount) != groups*uint64(s.InodesPerGroup) {
		return nil, corrupt(what, blk, "%d inodes, want %d groups x %d", s.InodesCount, groups, s.InodesPerGroup)
	}
	if s.FeatureIncompat&incompatMetaBG != 0 && uint64(s.FirstMetaBG) > s.descBlocks() {
		return nil, corrupt(what, blk, "first meta_bg %d is past the %d group descriptor blocks", s.FirstMetaBG, s.descBlocks())
	}
	if s.FeatureIncompat&incompatCsumSeed == 0 {
		s.ChecksumSeed = crc32c(^uint32(0), s.UUID[:])
	}
	return s, nil
}

// Groups returns the number of block groups.
func (s *Superblock) Groups() uint64 {
	return (s.BlocksCount - uint64(s.FirstDataBlock) + uint64(s.BlocksPerGroup) - 1) / uint64(s.BlocksPerGroup)
}

func (s *Superblock) hasMetadataCsum() bool { return s.FeatureRoCompat&roMetadataCsum != 0 }

// groupHasSuper reports whether group g holds a superblock backup (and so a
// copy of the group descriptors, except under meta_bg).
func (s *Superblock) groupHasSuper(g uint64) bool {
	if g == 0 {
		return true
	}
	if s.FeatureCompat&compatSparseSuper2 != 0 {
		return g == uint64(s.BackupBGs[0]) || g == uint64(s.BackupBGs[1])
	}
	if g <= 1 || s.FeatureRoCompat&roSparseSuper == 0 {
		return true
	}
	if g&1 == 0 {
		return false
	}
	for _, base := range []uint64{3, 5, 7} {
		p := base
		for p < g {
			p *= base
		}
		if p == g {
			return true
		}
	}
	return false
}

// inodeTableBlocks returns the length of a group's inode table in blocks.
func (s *Superblock) inodeTableBlocks() uint64 {
	return (uint64(s.InodesPerGroup)*uint64(s.InodeSize) + uint64(s.BlockSize()) - 1) / uint64(s.BlockSize())
}

// descBlocks returns the number of group descriptor blocks.
func (s *Superblock) descBlocks() uint64 {
	perBlock := uint64(s.BlockSize()) / uint64(s.DescSize)
	return (s.Groups() + perBlock - 1) / perBlock
}

// descBlock returns the block holding group descriptor block i.
func (s *Superblock) descBlock(i uint64) uint64 {
	first := uint64(s.FirstDataBlock)
	if s.FeatureIncompat&incompatMetaBG == 0 || i < uint64(s.FirstMetaBG) {
		return first + 1 + i
	}
	perBlock := uint64(s.BlockSize()) / uint64(s.DescSize)
	g := i * perBlock
	b := first + g*uint64(s.BlocksPerGroup)
	if s.groupHasSuper(g) {
		b++
	}
	return b
}

// Group is a block group descriptor: where the group's bitmaps and inode
// table are (with flex_bg, possibly in another group).
type Group struct {
	BlockBitmap uint64
	InodeBitmap uint64
	InodeTable  uint64
	Flags       uint16
}

func (s *Superblock) parseGroup(g uint64, d []byte, block uint64) (Group, error) {
	what := fmt.Sprintf("group descriptor %d", g)
	stored := le.Uint16(d[0x1e:])
	switch {
	case s.hasMetadataCsum():
		var gb [4]byte
		le.PutUint32(gb[:], uint32(g))
		c := crc32c(s.ChecksumSeed, gb[:])
		c = crc32c(c, d[:0x1e])
		c = crc32c(c, []byte{0, 0})
		c = crc32c(c, d[0x20:])
		if uint16(c) != stored {
			return Group{}, badSum(what, block, uint32(stored), c&0xffff)
		}
	case s.FeatureRoCompat&roGdtCsum != 0:
		var gb [4]byte
		le.PutUint32(gb[:], uint32(g))
		c := crc16(0xffff, s.UUID[:])
		c = crc16(c, gb[:])
		c = crc16(c, d[:0x1e])
		if len(d) > 0x20 {
			c = crc16(c, d[0x20:])
		}
		if c != stored {
			return Group{}, badSum(what, block, uint32(stored), uint32(c))
		}
	}
	gr := Group{
		BlockBitmap: uint64(le.Uint32(d[0x00:])),
		InodeBitmap: uint64(le.Uint32(d[0x04:])),
		InodeTable:  uint64(le.Uint32(d[0x08:])),
		Flags:       le.Uint16(d[0x12:]),
	}
	if len(d) >= 64 {
		gr.BlockBitmap |= uint64(le.Uint32(d[0x20:])) << 32
		gr.InodeBitmap |= uint64(le.Uint32(d[0x24:])) << 32
		gr.InodeTable |= uint64(le.Uint32(d[0x28:])) << 32
	}
	// The kernel refuses to mount with a bitmap outside the filesystem or
	// on the superblock's block (ext4_check_descriptors).
	for _, b := range []struct {
		name string
		at   uint64
	}{{"block bitmap", gr.BlockBitmap}, {"inode bitmap", gr.InodeBitmap}} {
		if b.at <= uint64(s.FirstDataBlock) || b.at >= s.BlocksCount {
			return Group{}, corrupt(what, block, "%s at block %d is outside the filesystem's blocks %d..%d", b.name, b.at, s.FirstDataBlock+1, s.BlocksCount-1)
		}
	}
	itBlocks := s.inodeTableBlocks()
	if gr.InodeTable <= uint64(s.FirstDataBlock) || gr.InodeTable > s.BlocksCount || s.BlocksCount-gr.InodeTable < itBlocks {
		return Group{}, corrupt(what, block, "inode table at block %d (+%d) is outside the filesystem's %d blocks", gr.InodeTable, itBlocks, s.BlocksCount)
	}
	return gr, nil
}

// readGroups reads and checks every group descriptor.
func (fs *FS) readGroups() error {
	s := fs.sb
	bs := uint64(s.BlockSize())
	ds := uint64(s.DescSize)
	perBlock := bs / ds
	n := s.Groups()
	// Not make([]Group, 0, n): n is the superblock's word (up to 2^32
	// groups, 64 GiB of Group), and the descriptors are what bear it out.
	fs.groups = nil
	buf := make([]byte, bs)
	for i := uint64(0); i*perBlock < n; i++ {
		blk := s.descBlock(i)
		if blk >= s.BlocksCount {
			return corrupt("group descriptor block", blk, "descriptor block %d is past the filesystem's %d blocks", i, s.BlocksCount)
		}
		if err := fs.readBlock(buf, blk, "group descriptor block"); err != nil {
			return err
		}
		for j := uint64(0); j < perBlock && i*perBlock+j < n; j++ {
			g, err := s.parseGroup(i*perBlock+j, buf[j*ds:(j+1)*ds], blk)
			if err != nil {
				return err
			}
			fs.groups = append(fs.groups, g)
		}
	}
	return nil
}

// blockRun is len filesystem blocks from start.
type blockRun struct{ start, len uint64 }

// mergeRuns sorts runs by start and merges those that overlap or touch.
func mergeRuns(runs []blockRun) []blockRun {
	slices.SortFunc(runs, func(a, b blockRun) int { return cmp.Compare(a.start, b.start) })
	out := runs[:0]
	for _, r := range runs {
		if n := len(out); n > 0 && out[n-1].start+out[n-1].len >= r.start {
			out[n-1].len = max(out[n-1].len, r.start+r.len-out[n-1].start)
			continue
		}
		out = append(out, r)
	}
	return out
}

// readBlock reads filesystem block blk into buf (len(buf) <= block size).
func (fs *FS) readBlock(buf []byte, blk uint64, what string) error {
	if blk >= fs.sb.BlocksCount {
		return corrupt(what, blk, "block is past the filesystem's %d blocks", fs.sb.BlocksCount)
	}
	return fs.readAt(buf, blk*uint64(fs.sb.BlockSize()), what, blk)
}

func (fs *FS) readAt(buf []byte, off uint64, what string, blk uint64) error {
	if off > fs.devBytes || uint64(len(buf)) > fs.devBytes-off {
		return corrupt(what, blk, "bytes [%d,+%d) are past the %d-byte device", off, len(buf), fs.devBytes)
	}
	if _, err := fs.r.ReadAt(buf, int64(off)); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return &StructError{Struct: what, Block: blk, Detail: fmt.Sprintf("read [%d,+%d)", off, len(buf)), Err: err}
	}
	return nil
}

package ext4

import (
	"fmt"
	"io/fs"
)

// Inode flags (i_flags) the reader looks at.
const (
	flagEncrypt    = 0x800
	flagIndex      = 0x1000 // htree directory
	flagHugeFile   = 0x40000
	flagExtents    = 0x80000
	flagVerity     = 0x100000
	flagEAInode    = 0x200000
	flagInlineData = 0x10000000
	flagCasefold   = 0x40000000
)

// File types of i_mode.
const (
	modeFmt  = 0xf000
	modeDir  = 0x4000
	modeReg  = 0x8000
	modeLink = 0xa000
)

// Inode is a decoded inode. Raw keeps its on-disk bytes (inode size).
type Inode struct {
	Ino        uint32
	Mode       uint16
	Size       uint64
	Links      uint16
	Flags      uint32
	Generation uint32
	Blocks     [60]byte // i_block: extent root, block pointers, inline data or a fast symlink
	Block      uint64   // the inode table block it was read from
	Raw        []byte
	csumSeed   uint32
}

// IsDir reports whether the inode is a directory.
func (in *Inode) IsDir() bool { return in.Mode&modeFmt == modeDir }

// IsRegular reports whether the inode is a regular file.
func (in *Inode) IsRegular() bool { return in.Mode&modeFmt == modeReg }

// IsSymlink reports whether the inode is a symbolic link.
func (in *Inode) IsSymlink() bool { return in.Mode&modeFmt == modeLink }

// HasExtents reports whether the inode maps its blocks with an extent tree
// (otherwise: inline data, or ext2/3 block pointers).
func (in *Inode) HasExtents() bool { return in.Flags&flagExtents != 0 }

// HasInlineData reports whether the inode keeps its data in the inode.
func (in *Inode) HasInlineData() bool { return in.Flags&flagInlineData != 0 }

// FileMode returns the inode's mode as an fs.FileMode.
func (in *Inode) FileMode() fs.FileMode {
	m := fs.FileMode(in.Mode & 0o777)
	switch in.Mode & modeFmt {
	case modeDir:
		m |= fs.ModeDir
	case modeLink:
		m |= fs.ModeSymlink
	case modeReg:
	case 0x2000:
		m |= fs.ModeCharDevice | fs.ModeDevice
	case 0x6000:
		m |= fs.ModeDevice
	case 0x1000:
		m |= fs.ModeNamedPipe
	case 0xc000:
		m |= fs.ModeSocket
	default:
		m |= fs.ModeIrregular
	}
	return m
}

func (in *Inode) what() string { return fmt.Sprintf("inode %d", in.Ino) }

// Inode reads, checks and decodes inode ino.
func (fsys *FS) Inode(ino uint32) (*Inode, error) {
	blk, off, err := fsys.inodeLoc(ino)
	if err != nil {
		return nil, err
	}
	size := uint32(fsys.sb.InodeSize)
	raw := make([]byte, size)
	if err := fsys.readAt(raw, blk*uint64(fsys.sb.BlockSize())+uint64(off), fmt.Sprintf("inode %d", ino), blk); err != nil {
		return nil, err
	}
	return fsys.parseInode(ino, raw, blk)
}

func (fsys *FS) parseInode(ino uint32, raw []byte, blk uint64) (*Inode, error) {
	in := &Inode{
		Ino:        ino,
		Mode:       le.Uint16(raw[0x00:]),
		Size:       uint64(le.Uint32(raw[0x04:])) | uint64(le.Uint32(raw[0x6c:]))<<32,
		Links:      le.Uint16(raw[0x1a:]),
		Flags:      le.Uint32(raw[0x20:]),
		Generation: le.Uint32(raw[0x64:]),
		Block:      blk,
		Raw:        raw,
	}
	copy(in.Blocks[:], raw[0x28:0x28+60])
	what := in.what()
	extra := uint32(0)
	if len(raw) > 128 {
		extra = uint32(le.Uint16(raw[0x80:]))
		if extra > uint32(len(raw))-128 || extra&3 != 0 {
			return nil, corrupt(what, blk, "extra inode size %d does not fit a %d-byte inode", extra, len(raw))
		}
	}
	if fsys.sb.hasMetadataCsum() {
		var nb [4]byte
		le.PutUint32(nb[:], ino)
		seed := crc32c(fsys.sb.ChecksumSeed, nb[:])
		le.PutUint32(nb[:], in.Generation)
		seed = crc32c(seed, nb[:])
		in.csumSeed = seed
		zero := []byte{0, 0}
		c := crc32c(seed, raw[:0x7c])
		c = crc32c(c, zero)
		c = crc32c(c, raw[0x7e:0x80])
		stored := uint32(le.Uint16(raw[0x7c:]))
		hasHi := false
		if len(raw) > 128 {
			c = crc32c(c, raw[0x80:0x82])
			off := 0x82
			if extra >= 4 {
				hasHi = true
				stored |= uint32(le.Uint16(raw[0x82:])) << 16
				c = crc32c(c, zero)
				off = 0x84
			}
			c = crc32c(c, raw[off:])
		}
		if !hasHi {
			c &= 0xffff
		}
		if c != stored {
			return nil, badSum(what, blk, stored, c)
		}
	}
	// Logical block numbers are 32 bits: no block map reaches past 2^32
	// blocks. A larger size is corrupt, and taken as it is it would make
	// a reader copy zeros for days or wrap size+block-1 to a small number.
	if in.Size > maxFileBlocks*uint64(fsys.sb.BlockSize()) {
		return nil, corrupt(what, blk, "size %d bytes is past the largest file, 2^32 blocks of %d bytes", in.Size, fsys.sb.BlockSize())
	}
	if in.Flags&flagEncrypt != 0 {
		return nil, &StructError{Struct: what, Block: blk, Detail: "file is encrypted", Err: ErrUnsupported}
	}
	return in, nil
}

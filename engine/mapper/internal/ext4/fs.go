package ext4

import (
	"fmt"
	"io"
	"sync"
)

// FS is an ext2/3/4 filesystem read from an io.ReaderAt (a device or an
// image). It never writes. Its methods are safe for concurrent use when
// the ReaderAt is (os.File is).
type FS struct {
	r        io.ReaderAt
	devBytes uint64
	sb       *Superblock
	groups   []Group
	// Every metadata block (meta.go): the superblock and its backups, the
	// group descriptors and their backups, the reserved GDT blocks, the
	// bitmaps, the inode tables, the special inodes' blocks and the MMP
	// block, sorted by start and merged: never file data or a map block.
	meta []blockRun
	// The special inodes' blocks and the MMP block, named, for errors.
	special []metaRun

	// Directories looked up in, by inode: name -> inode number, so that
	// resolving every name of a large directory reads it once.
	dirMu sync.Mutex
	dirs  map[uint32]map[string]uint32
}

// maxCachedDirs bounds the directory cache; it is emptied when full.
const maxCachedDirs = 64

// Open reads and checks the superblock and every group descriptor of the
// filesystem on r, a device of devBytes bytes, and the block maps of the
// journal and the other special inodes, to know every metadata block. Nothing it reads later is
// trusted either: every address is checked against the filesystem and the
// device before it is read.
func Open(r io.ReaderAt, devBytes uint64) (*FS, error) {
	fs := &FS{r: r, devBytes: devBytes}
	b := make([]byte, superSize)
	if err := fs.readAt(b, superOffset, "superblock", 0); err != nil {
		return nil, err
	}
	sb, err := ParseSuperblock(b, devBytes)
	if err != nil {
		return nil, err
	}
	fs.sb = sb
	if err := fs.readGroups(); err != nil {
		return nil, err
	}
	if err := fs.buildMeta(); err != nil {
		return nil, err
	}
	return fs, nil
}

// Superblock returns the parsed superblock. The caller must not change it.
func (fs *FS) Superblock() *Superblock { return fs.sb }

// BlockSize returns the filesystem block size in bytes.
func (fs *FS) BlockSize() uint32 { return fs.sb.BlockSize() }

// Clean reports whether the superblock says the filesystem was cleanly
// unmounted (or is mounted read-only): state has "valid" set and no
// "errors" bit.
func (fs *FS) Clean() bool { return fs.sb.State&0x1 != 0 && fs.sb.State&0x2 == 0 }

// inodeLoc returns the block and the byte offset within it of inode ino.
func (fs *FS) inodeLoc(ino uint32) (blk uint64, off uint32, err error) {
	if ino == 0 || ino > fs.sb.InodesCount {
		return 0, 0, corrupt(fmt.Sprintf("inode %d", ino), 0, "inode number out of range 1..%d", fs.sb.InodesCount)
	}
	g := uint64(ino-1) / uint64(fs.sb.InodesPerGroup)
	idx := uint64(ino-1) % uint64(fs.sb.InodesPerGroup)
	bs := uint64(fs.sb.BlockSize())
	byteOff := idx * uint64(fs.sb.InodeSize)
	return fs.groups[g].InodeTable + byteOff/bs, uint32(byteOff % bs), nil
}

package ext4

import (
	"errors"
	"fmt"
)

// ErrCorrupt is returned when an on-disk structure is inconsistent: a bad
// magic number, a count or length that does not fit, an address outside
// the filesystem or the device, a loop.
var ErrCorrupt = errors.New("ext4: corrupt filesystem")

// ErrChecksum is returned when a structure's checksum (metadata_csum or
// the older gdt_csum) does not match its contents.
var ErrChecksum = errors.New("ext4: checksum mismatch")

// ErrUnsupported is returned for a filesystem feature or a file kind this
// reader does not read (encryption, compression, bigalloc, ...).
var ErrUnsupported = errors.New("ext4: unsupported")

// ErrNotFound is returned when a path names nothing.
var ErrNotFound = errors.New("ext4: no such file or directory")

// ErrNotDir is returned when a path walks through something that is not a
// directory, or ReadDir is asked about one.
var ErrNotDir = errors.New("ext4: not a directory")

// ErrSymlinkLoop is returned when resolving a path follows too many
// symbolic links.
var ErrSymlinkLoop = errors.New("ext4: too many levels of symbolic links")

// StructError says which on-disk structure was wrong, where, and how. It
// wraps ErrCorrupt, ErrChecksum or ErrUnsupported (or an I/O error).
type StructError struct {
	Struct string // "superblock", "group descriptor 3", "inode 12", "extent block", "directory block", ...
	Block  uint64 // filesystem block the structure lives in
	Detail string
	Err    error
}

func (e *StructError) Error() string {
	return fmt.Sprintf("%v: %s at block %d: %s", e.Err, e.Struct, e.Block, e.Detail)
}

func (e *StructError) Unwrap() error { return e.Err }

func corrupt(what string, block uint64, format string, args ...any) error {
	return &StructError{Struct: what, Block: block, Detail: fmt.Sprintf(format, args...), Err: ErrCorrupt}
}

func badSum(what string, block uint64, stored, computed uint32) error {
	return &StructError{Struct: what, Block: block,
		Detail: fmt.Sprintf("stored checksum %#x, computed %#x", stored, computed), Err: ErrChecksum}
}

package mapper

import (
	"errors"
	"fmt"

	"github.com/iobench/iobench/engine/mapper/internal/ext4"
)

// ErrConfig is returned when a mapper's configuration cannot work: a range
// too small or unaligned, a block size that is not a power of two, more
// extents than blocks, or a file block size the layout cannot serve.
var ErrConfig = errors.New("mapper: bad configuration")

// ErrOutsideFile is returned when a mapper is asked about an offset at or
// past the end of the file it describes.
var ErrOutsideFile = errors.New("mapper: offset outside the file")

// ErrNotOpen is returned when a mapper is asked about a file that it did not
// open (its OpenFile was not called for it).
var ErrNotOpen = errors.New("mapper: file not opened through this mapper")

// ErrExt4Mounted is returned when the filesystem is mounted read-write
// (or mounted at all, for in-place overwrite): the kernel may change it
// under the mapper.
var ErrExt4Mounted = errors.New("mapper: ext4 filesystem is mounted")

// ErrExt4NotFound and ErrExt4NotDir are returned (wrapped) for a path
// the ext4 filesystem does not have, or whose parent is no directory.
var (
	ErrExt4NotFound = ext4.ErrNotFound
	ErrExt4NotDir   = ext4.ErrNotDir
)

// checkRange fails when [start, start+length) of device dev reaches past
// the end of the device, for an engine that has the device (an engine
// without it, as in unit tests, is not checked).
func checkRange(what string, ds, start, length uint64, dev uint32) error {
	if ds == 0 {
		return nil
	}
	if start+length < start || start+length > ds {
		return fmt.Errorf("%w: %s: range [%d,+%d) reaches past the end of device %d (%d bytes)", ErrConfig, what, start, length, dev, ds)
	}
	return nil
}

package mapper

import "errors"

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

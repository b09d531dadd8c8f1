package mapcache

import "errors"

var (
	// ErrInvalid is returned when a mapping or range is malformed: zero
	// length, overflowing, overlapping another in the same call.
	ErrInvalid = errors.New("mapcache: invalid mapping")
	// ErrUnaligned is returned when an offset or length is not a multiple
	// of the cache's block size.
	ErrUnaligned = errors.New("mapcache: unaligned range")
	// ErrBadType is returned when a mapping's type cannot be stored in the
	// fork it is given to (RetryCache, unknown types, PureOverwrite in the
	// read fork).
	ErrBadType = errors.New("mapcache: type cannot be stored")
	// ErrCorrupt is returned by Check when an invariant does not hold.
	ErrCorrupt = errors.New("mapcache: corrupt cache")
)

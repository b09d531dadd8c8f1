package device

import "errors"

// Refusals of CheckWritable and Open. Each is wrapped in an error naming
// the device and the reason, and saying how to override (Options.Force,
// --force on the command line).
var (
	// ErrInUse is returned when a block device is held by someone else:
	// opened exclusively (O_EXCL) by another program, or a holder (dm, md,
	// LVM, bcache) sits on it.
	ErrInUse = errors.New("device is in use")
	// ErrMounted is returned when a block device, or one of its
	// partitions, is mounted (found by device number in
	// /proc/self/mountinfo).
	ErrMounted = errors.New("device is mounted")
	// ErrPartitioned is returned when a block device has partitions.
	ErrPartitioned = errors.New("device has partitions")
	// ErrHasSignature is returned when a block device carries a
	// filesystem, swap, LVM, RAID, LUKS or partition-table signature.
	ErrHasSignature = errors.New("device holds data")
	// ErrUnreadable is returned when the blocks a signature would be in
	// cannot be read (a device error): what they hold is not known.
	ErrUnreadable = errors.New("cannot read the device to check it for a filesystem or partition table")
)

// Errors of Open that Force does not override.
var (
	// ErrReadOnly is returned when a device is opened for writing but the
	// kernel marks it read-only (a read-only loop device, blockdev --setro)
	// or the caller may not write it.
	ErrReadOnly = errors.New("device is read-only")
	// ErrNotDevice is returned when a path is neither a block device nor
	// a regular file.
	ErrNotDevice = errors.New("not a block device or regular file")
	// ErrNoDirectIO is returned when O_DIRECT is asked for (the default)
	// and the file's filesystem does not support it.
	ErrNoDirectIO = errors.New("direct I/O not supported")
	// ErrClosed is returned by Device.Close when the device is already
	// closed.
	ErrClosed = errors.New("device is closed")
)

// Errors of Arena.
var (
	// ErrBadArena is returned by NewArena for a size or alignment it
	// cannot serve.
	ErrBadArena = errors.New("bad arena size or alignment")
)

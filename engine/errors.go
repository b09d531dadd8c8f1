package engine

import (
	"errors"
	"fmt"

	"github.com/iobench/iobench/mapcache"
)

// Sentinel errors. Errors returned by the engine wrap one of these (or a
// syscall.Errno from the device) so that callers can use errors.Is.
var (
	// ErrUnaligned is returned when a request's offset, length or buffer
	// address is not aligned to what the device requires.
	ErrUnaligned = errors.New("unaligned request")
	// ErrBadMapping is returned when a mapper replies with mappings that do
	// not cover the requested offset, overlap, are unaligned, have an
	// unknown type or lie beyond the device. Nothing is written.
	ErrBadMapping = errors.New("bad mapping from mapper")
	// ErrNoSpace is returned (wrapped) by mappers that cannot allocate space
	// for a write. The engine asks again, for up to a second, while space
	// freed by earlier writes goes back to the mapper as the I/O that
	// still reached it (on other queues) completes.
	ErrNoSpace = errors.New("no space left for write")
	// ErrReadOnly is returned when writing to a read-only device or file.
	ErrReadOnly = errors.New("read-only")
	// ErrBeyondEOF is returned when a write reaches past the end of a file.
	ErrBeyondEOF = errors.New("write beyond end of file")
	// ErrNegativeOffset is returned by File.ReadAt and File.WriteAt for
	// an offset below zero.
	ErrNegativeOffset = errors.New("negative offset")
	// ErrShortIO is returned when the device transferred fewer bytes than
	// asked and no more could be had.
	ErrShortIO = errors.New("short transfer")
	// ErrInFlight is returned by Submit for a request that was submitted
	// and has not been handed back yet (or appears twice in one
	// Queue.Submit): nothing of that call is submitted.
	ErrInFlight = errors.New("request already in flight")
	// ErrClosed is returned for requests made to, or cancelled by, a closed
	// engine, and (wrapped, naming the queue) by a closed Queue.
	ErrClosed = errors.New("engine closed")
	// ErrBadRequest is returned for a request the engine cannot take as
	// it is: no file, a file of another engine, an unknown Sync, a
	// negative length.
	ErrBadRequest = errors.New("bad request")
	// ErrFileClosed is returned for requests on a File after its Close.
	ErrFileClosed = errors.New("file closed")
	// ErrMapper wraps an error returned by the mapper.
	ErrMapper = errors.New("mapper error")
	// ErrNoDiscard is returned for a trim that would reach a device that
	// cannot discard (its queue/discard_max_bytes is 0). Nothing is
	// discarded.
	ErrNoDiscard = errors.New("device cannot discard")
	// ErrTrimRefused is returned for a trim of a file whose mapper does
	// not allow trims (it is no Trimmer, or its Trim refused the range).
	// Nothing is discarded.
	ErrTrimRefused = errors.New("trim refused by the mapper")
	// ErrAtomicSplit is returned for an Atomic request that is not one
	// write the engine sends as one device write: it would be split into
	// several (its range crosses extents or devices, or exceeds the
	// largest device I/O), or it is a read, trim or flush. Nothing is
	// written.
	ErrAtomicSplit = errors.New("atomic write cannot go out as one device write")
)

// errQueueClosed is ErrClosed from a Queue closed while its engine may
// still be open.
var errQueueClosed = fmt.Errorf("queue closed: %w", ErrClosed)

// IOError describes a failed request or device I/O, in the shape of
// fs.PathError: what was done, to which file range, on which device and
// device address, and why.
type IOError struct {
	Op      string // "read" or "write"
	File    string
	Offset  uint64 // file offset of the failed piece
	Length  uint64
	Dev     uint32
	DevPath string
	Addr    uint64 // device byte address; mapcache.NullAddr when none
	Err     error
}

func (e *IOError) Error() string {
	if e.DevPath == "" {
		return fmt.Sprintf("%s %s @%d+%d: %v", e.Op, e.File, e.Offset, e.Length, e.Err)
	}
	return fmt.Sprintf("%s %s @%d+%d (device %s @%d): %v",
		e.Op, e.File, e.Offset, e.Length, e.DevPath, e.Addr, e.Err)
}

func (e *IOError) Unwrap() error { return e.Err }

// newIOError is the one constructor of IOError: the failure of op on
// [off, off+length) of file, at device address addr of device dev, or
// with no device (dev nil) when the request failed before one was chosen.
func newIOError(op, file string, off, length uint64, dev *devEntry, addr uint64, err error) *IOError {
	e := &IOError{Op: op, File: file, Offset: off, Length: length, Addr: mapcache.NullAddr, Err: err}
	if dev != nil {
		e.Dev, e.DevPath, e.Addr = dev.index, dev.path, addr
	}
	return e
}

func opName(write bool) string {
	if write {
		return "write"
	}
	return "read"
}

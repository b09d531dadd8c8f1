package engine

import (
	"time"

	"github.com/iobench/iobench/mapcache"
)

// A Mapper plays the role a filesystem plays in the reference design (a FUSE
// server answering iomap_begin and ioend): it says where a file's bytes live
// on the engine's devices.
//
// The engine calls a Mapper only on a cache miss (or always, when the cache
// is off), from any of its queue goroutines, so every method must be safe
// for concurrent use. A Mapper may block (a real filesystem upcall does); the
// queue that called it waits.
//
// Replies are appended to dst and returned, so that a Mapper that keeps its
// own slice allocates nothing. A reply must cover req.Offset, be sorted by
// offset and non-overlapping, block-aligned, and lie within the device named
// by each mapping's Dev; anything else fails the request with ErrBadMapping
// and nothing is written. A Mapper may instead fill the file's cache itself
// (File.Cache().UpsertIf with req.Seq) and reply with a single mapping of
// type mapcache.RetryCache: the engine then looks the cache up again.
type Mapper interface {
	// MapRead returns the read mappings covering at least req.Offset.
	// Mapped and Unwritten mappings address a device; Hole, Delalloc and
	// Unwritten read as zeros; Inline reads through InlineReader.
	MapRead(req *MapRequest, dst []mapcache.Mapping) ([]mapcache.Mapping, error)

	// MapWrite returns where a write of the range must go, as write-fork
	// mappings: a fresh out-of-place location (Mapped), PureOverwrite
	// ("write through the read mapping", which must then be Mapped or
	// Unwritten), or Delalloc placeholders that make every later write to
	// the range call MapWrite again (how an out-of-place mapper arms a
	// file). Mappers that only overwrite in place return PureOverwrite.
	MapWrite(req *MapRequest, dst []mapcache.Mapping) ([]mapcache.Mapping, error)

	// EndWrite is the ioend: it is called once for every device write the
	// engine issued on the mapper's behalf, after the device completed it
	// (end.Err says how), and once, with an error, for every location of
	// a MapWrite reply the engine dropped unwritten (the file's cache
	// changed while the mapper worked; end.Err then says so). On success
	// the mapper records end.Written as the file's data for the range and
	// appends to freed the space that the write made unused. The engine
	// then moves the range from the write fork to the read fork and hands
	// freed back through Free once no I/O that could still target it is in
	// flight. On failure the engine drops the write-fork range and the old
	// data stays readable; the mapper appends to freed only space that
	// holds no file data.
	//
	// A mapper that writes out of place must allow for writes sharing a
	// location: a second write to a range finds the first's location in
	// the write fork and goes there too, before the first has ended, so
	// one location can be ended several times, in any order and with
	// either outcome. Space that one of them made the file's data must
	// not be freed when another fails (nor when a failure ends first and
	// a success later: the success makes it data again), and an end for
	// space a newer write has since replaced must change nothing.
	// mapper.COW is a worked example.
	EndWrite(end *WriteEnd, freed []mapcache.Mapping) ([]mapcache.Mapping, error)

	// Free returns space to the mapper. It is called only after every I/O
	// that might target the space has completed.
	Free(freed []mapcache.Mapping)
}

// InlineReader is implemented by mappers that return mapcache.Inline
// mappings: it copies the inline bytes of [off, off+len(dst)) into dst.
type InlineReader interface {
	ReadInline(f *File, off uint64, dst []byte) error
}

// Opener is implemented by mappers that want to prepare a file when it is
// opened: report its size and pre-populate or arm its cache.
type Opener interface {
	OpenFile(f *File) (sizeBytes uint64, err error)
}

// MapRequest is what the engine asks a Mapper. The Mapper must not retain
// it after returning.
type MapRequest struct {
	File   *File
	Offset uint64 // byte offset, block-aligned
	Length uint64 // bytes wanted; the reply may cover less or more
	// Seq is the file cache's sequence when the engine decided to call the
	// mapper; mappings stored under it are dropped if the cache changed.
	Seq uint64
}

// WriteEnd reports a completed device write to Mapper.EndWrite.
type WriteEnd struct {
	File    *File
	Written mapcache.Mapping // the range written and where it went
	// OutOfPlace is true when Written came from the write fork (a fresh
	// location), false for a write through the read mapping.
	OutOfPlace bool
	Err        error // nil when the device write succeeded
	// Latency is the device time of the write: from when it was resolved
	// (the request's start, or the end of its mapper call) to when its
	// completion was reaped.
	Latency time.Duration
}

// InPlace can be embedded by mappers that never write out of place: every
// write goes through the read mapping and nothing is ever freed.
type InPlace struct{}

// MapWrite replies PureOverwrite for the requested range.
func (InPlace) MapWrite(req *MapRequest, dst []mapcache.Mapping) ([]mapcache.Mapping, error) {
	return append(dst, mapcache.Mapping{
		Offset: req.Offset, Length: req.Length,
		Addr: mapcache.NullAddr, Type: mapcache.PureOverwrite,
	}), nil
}

// EndWrite frees nothing.
func (InPlace) EndWrite(_ *WriteEnd, freed []mapcache.Mapping) ([]mapcache.Mapping, error) {
	return freed, nil
}

// Free does nothing.
func (InPlace) Free([]mapcache.Mapping) {}

// FileCloser is implemented by mappers that hold per-file resources: the
// engine calls Close when the file is closed (File.Close or Engine.Close).
type FileCloser interface {
	Close(f *File) error
}

package mapper

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/iobench/iobench/engine"
	"github.com/iobench/iobench/engine/mapper/internal/cowspace"
	"github.com/iobench/iobench/mapcache"
)

// COWConfig describes a COW mapper. Sizes are bytes.
type COWConfig struct {
	Dev    uint32
	Start  uint64 // first device byte of the space; a multiple of BlockSize
	Length uint64 // bytes of space; 0: to the end of the device (known at the first OpenFile)
	// ExtentHint is the size of the chunks allocations are carved from:
	// each file writes into a chunk of its own until it is full, so its
	// nearby writes stay device-contiguous. Default 1 MiB.
	ExtentHint uint64
	// BlockSize is the allocation unit; default 4096. Files opened on the
	// mapper must have this block size.
	BlockSize uint32
	// FileSize is the size of files opened with a size of 0.
	FileSize uint64
	// Preallocate gives every file space for all its blocks when it is
	// opened (its contents are then whatever the device held), instead of
	// starting as a hole.
	Preallocate bool
}

// COW is an out-of-place allocator over a device range: a copy-on-write
// filesystem in miniature, in memory.
//
// Files are known by name: a file closed (File.Close, or Engine.Close)
// and opened again, by the same engine or another over the same mapper,
// holds the data it had, with its size. A file is open in one engine at a
// time.
//
// A file starts as a hole (or preallocated, see COWConfig). OpenFile arms
// the file's write fork with a Delalloc record over the whole file, so
// every write asks MapWrite, which allocates fresh space. When the device
// write ends (EndWrite), the new space becomes the file's data and the
// space it replaces is handed back to be freed; a failed write hands back
// its new space and leaves the old data. Free returns space to the
// allocator. The mapper keeps each file's data locations itself, so a
// file's cache may be dropped at any time.
//
// Two writes can target the same new space (the second finds the first's
// location in the write fork before the first ends); whichever way they
// end, the space that holds the file's data is never freed: a write that
// fails after the other succeeded frees nothing, a write that succeeds
// after the other failed revives the space, and a write to space a newer
// write replaced meanwhile is ignored.
//
// Every method is safe for concurrent use.
type COW struct {
	cfg   COWConfig
	mu    sync.Mutex // serialises a deferred build; guards files
	space atomic.Pointer[cowspace.Space]
	// files holds each file's data by name: a file closed and opened
	// again (by this engine or another over the same mapper) finds its
	// data, as in a filesystem, and its space is never orphaned.
	files map[string]cowFileOf
}

// cowFileOf is a file's data, its size as it was made, and whether an
// engine has it open.
type cowFileOf struct {
	cf   *cowspace.File
	size uint64
	open bool
}

// maxWriteExtents bounds the extents one MapWrite reply holds (the engine
// asks again for the rest).
const maxWriteExtents = 8

// minReadReply is the least a MapRead reply covers when the file allows,
// so that a miss fills the cache for more than one small read.
const minReadReply = 1 << 20

// NewCOW returns a COW over the range cfg names.
func NewCOW(cfg COWConfig) (*COW, error) {
	if cfg.BlockSize == 0 {
		cfg.BlockSize = 4096
	}
	if cfg.ExtentHint == 0 {
		cfg.ExtentHint = 1 << 20
	}
	c := &COW{cfg: cfg}
	if cfg.Length != 0 {
		if err := c.build(cfg.Length); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func (c *COW) build(length uint64) error {
	s, err := cowspace.New(c.cfg.Start, length, c.cfg.BlockSize, c.cfg.ExtentHint)
	if err != nil {
		return fmt.Errorf("%w: cow: %w", ErrConfig, err)
	}
	c.space.Store(s)
	return nil
}

// FreeBytes returns the space not allocated to any file or write (0 before
// the space is built).
func (c *COW) FreeBytes() uint64 {
	if s := c.space.Load(); s != nil {
		return s.FreeBytes()
	}
	return 0
}

// TotalBytes returns the size of the space.
func (c *COW) TotalBytes() uint64 {
	if s := c.space.Load(); s != nil {
		return s.TotalBytes()
	}
	return 0
}

// UsedBytes returns the space allocated: files' data, pending space (see
// PendingBytes), and space waiting to be freed.
func (c *COW) UsedBytes() uint64 { return c.TotalBytes() - c.FreeBytes() }

// PendingBytes returns the space MapWrite handed out that no EndWrite has
// settled: writes in flight, and replies the engine dropped because they
// raced with a cache change. The latter is not lost: the next MapWrite of
// the same blocks hands it out again. O(space) to compute: for tests and
// statistics.
func (c *COW) PendingBytes() uint64 {
	if s := c.space.Load(); s != nil {
		return s.PendingBytes()
	}
	return 0
}

// COWStats counts what a COW mapper did. Bytes throughout.
type COWStats struct {
	Allocated    uint64 // handed to writes
	Committed    uint64 // became file data
	Revived      uint64 // handed back by a failed write, then made data by a concurrent one
	StaleWrites  uint64 // ended writes ignored because a newer write replaced their space
	Freed        uint64 // returned to the allocator
	IgnoredFrees uint64 // Free of space that was not waiting to be freed
	NoSpace      uint64 // MapWrite calls that failed for lack of space
}

// Stats returns the counters.
func (c *COW) Stats() COWStats {
	s := c.space.Load()
	if s == nil {
		return COWStats{}
	}
	st := s.Stats()
	return COWStats{Allocated: st.AllocBytes, Committed: st.Committed, Revived: st.Revived,
		StaleWrites: st.StaleWrites, Freed: st.FreedBytes, IgnoredFrees: st.IgnoredFrees, NoSpace: st.NoSpaceErrors}
}

// Check verifies the allocator's accounting against the given files'
// data: for tests.
func (c *COW) Check(files ...*engine.File) error {
	s := c.space.Load()
	if s == nil {
		return nil
	}
	cfs := make([]*cowspace.File, 0, len(files))
	for _, f := range files {
		cf, err := cowFile(f)
		if err != nil {
			return err
		}
		cfs = append(cfs, cf)
	}
	return s.Check(cfs...)
}

func cowFile(f *engine.File) (*cowspace.File, error) {
	cf, ok := f.Private().(*cowspace.File)
	if !ok {
		return nil, fmt.Errorf("%w: cow: %s", ErrNotOpen, f.Name())
	}
	return cf, nil
}

// OpenFile gives f its name's block table (with the data a file of that
// name was given before), or an empty (or preallocated) one for a new
// name, and arms its write fork with Delalloc over the whole file. A new
// file opened with size 0 gets COWConfig.FileSize; a known one opened
// with size 0 keeps its own, and with another size is refused.
func (c *COW) OpenFile(f *engine.File) (uint64, error) {
	s := c.space.Load()
	if s == nil {
		c.mu.Lock()
		if s = c.space.Load(); s == nil {
			ds := f.Engine().DeviceSize(c.cfg.Dev)
			if ds <= c.cfg.Start {
				c.mu.Unlock()
				return 0, fmt.Errorf("%w: cow: start %d is not inside device %d (%d bytes)", ErrConfig, c.cfg.Start, c.cfg.Dev, ds)
			}
			err := c.build(ds - c.cfg.Start)
			s = c.space.Load()
			if err != nil {
				c.mu.Unlock()
				return 0, err
			}
		}
		c.mu.Unlock()
	}
	if err := checkRange("cow", f.Engine().DeviceSize(c.cfg.Dev), c.cfg.Start, s.TotalBytes(), c.cfg.Dev); err != nil {
		return 0, err
	}
	bs := uint64(f.BlockSize())
	if bs != s.BlockSize() {
		// Replies must be aligned to the file's blocks; allocations are
		// in the space's.
		return 0, fmt.Errorf("%w: cow: file block size %d is not the allocation block %d", ErrConfig, bs, s.BlockSize())
	}
	c.mu.Lock() // a name's first opens, from two engines, make one file
	defer c.mu.Unlock()
	known, reopened := c.files[f.Name()]
	cf, size := known.cf, f.Size()
	if reopened {
		// Two engines' caches over one block table would each miss
		// the other's writes.
		if known.open {
			return 0, fmt.Errorf("cow: %s is open in another engine over this mapper: close it there first", f.Name())
		}
		// Its data is kept: the size is the file's, as it was made.
		if size != 0 && size != known.size {
			return 0, fmt.Errorf("%w: cow: %s holds %d bytes of data, opened with size %d (open it with its size, or 0)", ErrConfig, f.Name(), known.size, size)
		}
		size = known.size
	}
	if size == 0 {
		size = c.cfg.FileSize
	}
	if size == 0 {
		return 0, fmt.Errorf("%w: cow: %s: no file size (open it with one, or set COWConfig.FileSize)", ErrConfig, f.Name())
	}
	rounded := (size + bs - 1) / bs * bs
	if !reopened {
		cf = s.NewFile(rounded)
		if c.cfg.Preallocate {
			if err := preallocate(cf, rounded); err != nil {
				return 0, fmt.Errorf("cow: preallocate %s: %w", f.Name(), err)
			}
		}
		if c.files == nil {
			c.files = map[string]cowFileOf{}
		}
	}
	c.files[f.Name()] = cowFileOf{cf: cf, size: size} // open once armed, below
	f.SetPrivate(cf)
	err := f.Cache().Upsert(mapcache.WriteFork, mapcache.Mapping{
		Offset: 0, Length: rounded, Addr: mapcache.NullAddr, Type: mapcache.Delalloc, Dev: c.cfg.Dev,
	})
	if err != nil {
		return 0, fmt.Errorf("cow: arm the write fork of %s: %w", f.Name(), err)
	}
	c.files[f.Name()] = cowFileOf{cf: cf, size: size, open: true}
	return size, nil
}

// Close implements engine.FileCloser: the file's data stays, for the
// next open of its name, in this engine or another.
func (c *COW) Close(f *engine.File) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if k, ok := c.files[f.Name()]; ok && f.Private() == any(k.cf) {
		k.open = false
		c.files[f.Name()] = k
	}
	return nil
}

func preallocate(cf *cowspace.File, size uint64) error {
	var ws []cowspace.Extent
	for off := uint64(0); off < size; {
		var err error
		ws, err = cf.Alloc(off, size-off, 64, ws[:0])
		if err != nil {
			return noSpace(err, size-off)
		}
		for _, w := range ws {
			cf.End(w, true, nil)
			off = w.Off + w.Len
		}
	}
	return nil
}

func noSpace(err error, asked uint64) error {
	if errors.Is(err, cowspace.ErrNoSpace) {
		return fmt.Errorf("%w: cow: %d bytes asked: %w", engine.ErrNoSpace, asked, err)
	}
	return err
}

// MapRead replies the file's data at req.Offset: one Mapped extent of
// device-contiguous blocks, or one Hole, covering at least req.Length (or
// 1 MiB) where the layout allows.
func (c *COW) MapRead(req *engine.MapRequest, dst []mapcache.Mapping) ([]mapcache.Mapping, error) {
	cf, err := cowFile(req.File)
	if err != nil {
		return dst, err
	}
	e, ok := cf.Lookup(req.Offset, max(req.Length, minReadReply))
	if !ok {
		return dst, fmt.Errorf("%w: cow: offset %d of %s (%d bytes)", ErrOutsideFile, req.Offset, req.File.Name(), req.File.Size())
	}
	m := mapcache.Mapping{Offset: e.Off, Length: e.Len, Addr: mapcache.NullAddr, Type: mapcache.Hole, Dev: c.cfg.Dev}
	if e.Addr != cowspace.NoAddr {
		m.Addr, m.Type = e.Addr, mapcache.Mapped
	}
	return append(dst, m), nil
}

// MapWrite allocates fresh space for the range (all of it, or a prefix when
// space is short or fragmented) and replies it as Mapped write-fork
// mappings; blocks that already have space handed out and not yet settled
// by EndWrite get that space again. With no space at all the error wraps
// engine.ErrNoSpace.
func (c *COW) MapWrite(req *engine.MapRequest, dst []mapcache.Mapping) ([]mapcache.Mapping, error) {
	cf, err := cowFile(req.File)
	if err != nil {
		return dst, err
	}
	var buf [maxWriteExtents]cowspace.Extent
	ws, err := cf.Alloc(req.Offset, req.Length, maxWriteExtents, buf[:0])
	if err != nil {
		return dst, noSpace(err, req.Length)
	}
	for _, w := range ws {
		dst = append(dst, mapcache.Mapping{Offset: w.Off, Length: w.Len, Addr: w.Addr, Type: mapcache.Mapped, Dev: c.cfg.Dev})
	}
	return dst, nil
}

// EndWrite records a successful out-of-place write as the file's data and
// appends the space it replaced to freed; a failed write's space is
// appended instead (see COW for writes that share space).
func (c *COW) EndWrite(end *engine.WriteEnd, freed []mapcache.Mapping) ([]mapcache.Mapping, error) {
	if !end.OutOfPlace {
		return freed, nil // an overwrite in place changes no location
	}
	cf, err := cowFile(end.File)
	if err != nil {
		return freed, err
	}
	w := end.Written
	var buf [16]cowspace.Extent
	out := cf.End(cowspace.Extent{Off: w.Offset, Len: w.Length, Addr: w.Addr}, end.Err == nil, buf[:0])
	for _, e := range out {
		freed = append(freed, mapcache.Mapping{Offset: e.Off, Length: e.Len, Addr: e.Addr, Type: mapcache.Mapped, Dev: c.cfg.Dev})
	}
	return freed, nil
}

// Free returns space handed back by EndWrite to the allocator.
func (c *COW) Free(freed []mapcache.Mapping) {
	s := c.space.Load()
	if s == nil {
		return
	}
	for _, m := range freed {
		if m.Dev == c.cfg.Dev {
			s.Free(m.Addr, m.Length)
		}
	}
}

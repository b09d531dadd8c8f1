package engine

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/iobench/iobench/mapcache"
)

// A File is a named range of bytes whose data lives on the engine's devices
// wherever the mapper says. It has its own extent cache, size and block
// size. All methods are safe for concurrent use.
type File struct {
	eng   *Engine
	name  string
	bs    uint32
	cache *mapcache.Cache
	size  atomic.Uint64
	// closed is set by Close: requests fail with ErrFileClosed after it.
	closed atomic.Bool

	privMu sync.Mutex
	priv   any

	counters counters
}

// Name returns the name the file was opened with.
func (f *File) Name() string { return f.name }

// Size returns the file size in bytes.
func (f *File) Size() uint64 { return f.size.Load() }

// SetSize changes the file size (a mapper growing or truncating the file).
// It does not touch the cache: a mapper that shrinks a file removes the
// mappings past the new end itself.
func (f *File) SetSize(sizeBytes uint64) { f.size.Store(sizeBytes) }

// BlockSize returns the block size of the file's cache.
func (f *File) BlockSize() uint32 { return f.bs }

// Cache returns the file's extent cache. Mappers may invalidate
// (Remove) or pre-populate (Upsert) it at any time.
func (f *File) Cache() *mapcache.Cache { return f.cache }

// Engine returns the engine the file belongs to.
func (f *File) Engine() *Engine { return f.eng }

// Private returns the value the mapper stored with SetPrivate.
func (f *File) Private() any {
	f.privMu.Lock()
	defer f.privMu.Unlock()
	return f.priv
}

// SetPrivate stores per-file mapper state.
func (f *File) SetPrivate(v any) {
	f.privMu.Lock()
	f.priv = v
	f.privMu.Unlock()
}

// Stats returns the file's counters, with its cache's figures filled in.
func (f *File) Stats() Stats {
	s := f.counters.snapshot()
	s.addCache(f.cache)
	return s
}

func (s *Stats) addCache(c *mapcache.Cache) {
	cs := c.Stats()
	s.CachedExtents += uint64(cs.Records[0] + cs.Records[1])
	s.CacheBytes += cs.MemoryBytes
	s.Merges += cs.Merges
	s.Evicted += cs.Evicted
}

// Invalidate drops the file's cached read mappings for [off, off+length)
// (length mapcache.ToEOF for the rest of the file), so the next access asks
// the mapper again.
func (f *File) Invalidate(off, length uint64) error {
	if err := f.cache.Remove(mapcache.ReadFork, off, length); err != nil {
		return fmt.Errorf("engine: invalidate %s: %w", f.name, err)
	}
	return nil
}

// ReadAt reads len(p) bytes at off, as io.ReaderAt says: at end of file it
// returns the bytes it could read and io.EOF. p, off and len(p) must be
// aligned (see Engine.Alignment). It blocks until the device reads are done
// and may be called from any goroutine.
func (f *File) ReadAt(p []byte, off int64) (int, error) {
	return f.rw(p, off, false)
}

// WriteAt writes p at off. It returns len(p) and nil only when every byte
// reached the device; writes do not extend the file (ErrBeyondEOF).
func (f *File) WriteAt(p []byte, off int64) (int, error) {
	return f.rw(p, off, true)
}

func (f *File) rw(p []byte, off int64, write bool) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("engine: %s %s: offset %d: %w", opName(write), f.name, off, ErrNegativeOffset)
	}
	if f.closed.Load() && !f.eng.closed.Load() {
		return 0, newIOError(opName(write), f.name, uint64(off), uint64(len(p)), nil, 0, ErrFileClosed)
	}
	r := f.eng.getRequest()
	r.File, r.Offset, r.Buf, r.Write = f, uint64(off), p, write
	n, err := f.eng.do(r)
	f.eng.putRequest(r)
	return n, err
}

// Close closes the file: the mapper releases what it holds for it
// (FileCloser), and the engine forgets it, so the next Open of the name
// starts afresh. Requests on a closed file must not be in flight; requests
// made after Close fail with ErrFileClosed. Close is idempotent.
func (f *File) Close() error {
	if f.closed.Swap(true) {
		return nil
	}
	e := f.eng
	e.filesMu.Lock()
	if e.files[f.name] == f {
		delete(e.files, f.name)
	}
	e.filesMu.Unlock()
	if c, ok := e.cfg.Mapper.(FileCloser); ok {
		return c.Close(f)
	}
	return nil
}

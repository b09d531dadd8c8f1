package mapper

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/iobench/iobench/engine"
	"github.com/iobench/iobench/engine/mapper/internal/fiemap"
	"github.com/iobench/iobench/mapcache"
)

// FiemapOptions tune a Fiemap mapper.
type FiemapOptions struct {
	// Root is joined in front of file names (empty: names are paths).
	Root string
	// Device, when set, is the path of the block device of engine device
	// dev; OpenFile then refuses files that live on another device.
	Device string
	// NoSync skips FIEMAP_FLAG_SYNC: dirty data is not flushed first, so
	// delayed allocations show as Delalloc (and read as zeros).
	NoSync bool
	// ReplyExtents is how many segments one MapRead replies; default 8.
	ReplyExtents int
}

// Fiemap serves the layout of real files on a mounted filesystem whose
// block device is engine device dev, so that the engine reads their data
// straight from the device. OpenFile takes the file's name as its path,
// reads its size and its extents (FS_IOC_FIEMAP) and translates them:
// unwritten extents and holes read as zeros, delayed allocations as
// Delalloc, and inline, tail-packed, encoded or misaligned data as Inline,
// which ReadInline reads through the filesystem. The layout is taken once,
// at open: a file changed later must be reopened. Files are read-only
// through this mapper. Every method is safe for concurrent use.
type Fiemap struct {
	dev  uint32
	opts FiemapOptions
}

type fiemapFile struct {
	fd   *os.File // opened without O_DIRECT, for inline data
	segs []fiemap.Segment
}

// NewFiemap returns a Fiemap for files on the filesystem of device dev.
func NewFiemap(dev uint32, opts FiemapOptions) *Fiemap {
	if opts.ReplyExtents <= 0 {
		opts.ReplyExtents = 8
	}
	return &Fiemap{dev: dev, opts: opts}
}

// OpenFile reads f's size and layout. The file stays open (for inline
// reads) until Close, or until f is dropped.
func (m *Fiemap) OpenFile(f *engine.File) (uint64, error) {
	path := f.Name()
	if m.opts.Root != "" {
		path = filepath.Join(m.opts.Root, path)
	}
	fd, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("fiemap: %w", err)
	}
	ff, size, err := m.load(fd, uint64(f.BlockSize()))
	if err != nil {
		fd.Close()
		return 0, fmt.Errorf("fiemap: %s: %w", path, err)
	}
	f.SetPrivate(ff)
	// Without a write fork the engine would write in place through the
	// read mappings, under the filesystem's feet; Delalloc over the whole
	// file sends every write to MapWrite, which refuses it.
	if err := f.Cache().Upsert(mapcache.WriteFork, mapcache.Mapping{
		Offset: 0, Length: wholeFile(f.BlockSize()), Addr: mapcache.NullAddr, Type: mapcache.Delalloc, Dev: m.dev,
	}); err != nil {
		fd.Close()
		return 0, fmt.Errorf("fiemap: arm the write fork of %s: %w", path, err)
	}
	return size, nil
}

// wholeFile is the longest block-aligned length a mapping of a file with
// blocks of bs bytes can have from offset 0.
func wholeFile(bs uint32) uint64 { return (mapcache.ToEOF >> 1) &^ (uint64(bs) - 1) }

func (m *Fiemap) load(fd *os.File, bs uint64) (*fiemapFile, uint64, error) {
	var st unix.Stat_t
	if err := unix.Fstat(int(fd.Fd()), &st); err != nil {
		return nil, 0, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, 0, fmt.Errorf("%w: not a regular file", ErrConfig)
	}
	if m.opts.Device != "" {
		var ds unix.Stat_t
		if err := unix.Stat(m.opts.Device, &ds); err != nil {
			return nil, 0, err
		}
		if ds.Rdev != st.Dev {
			return nil, 0, fmt.Errorf("%w: the file is on device %d:%d, not on %s (%d:%d)", ErrConfig,
				unix.Major(st.Dev), unix.Minor(st.Dev), m.opts.Device, unix.Major(ds.Rdev), unix.Minor(ds.Rdev))
		}
	}
	ext, err := fiemap.Get(int(fd.Fd()), !m.opts.NoSync)
	if err != nil {
		return nil, 0, err
	}
	size := uint64(st.Size)
	segs, err := fiemap.Translate(ext, size, bs)
	if err != nil {
		return nil, 0, err
	}
	return &fiemapFile{fd: fd, segs: segs}, size, nil
}

func (m *Fiemap) file(f *engine.File) (*fiemapFile, error) {
	ff, ok := f.Private().(*fiemapFile)
	if !ok {
		return nil, fmt.Errorf("%w: fiemap: %s", ErrNotOpen, f.Name())
	}
	return ff, nil
}

// Close closes the file that OpenFile opened for f's inline data.
func (m *Fiemap) Close(f *engine.File) error {
	ff, err := m.file(f)
	if err != nil {
		return err
	}
	if err := ff.fd.Close(); err != nil && !errors.Is(err, os.ErrClosed) {
		return err
	}
	return nil // closing twice (File.Close, then Engine.Close) is fine
}

// Layout returns f's translated layout as read mappings, for tests and
// for showing how a file lies on the device.
func (m *Fiemap) Layout(f *engine.File) ([]mapcache.Mapping, error) {
	ff, err := m.file(f)
	if err != nil {
		return nil, err
	}
	out := make([]mapcache.Mapping, 0, len(ff.segs))
	for _, s := range ff.segs {
		out = append(out, m.mapping(s))
	}
	return out, nil
}

var kindType = [...]mapcache.Type{
	fiemap.Hole: mapcache.Hole, fiemap.Delalloc: mapcache.Delalloc, fiemap.Mapped: mapcache.Mapped,
	fiemap.Unwritten: mapcache.Unwritten, fiemap.Inline: mapcache.Inline,
}

func (m *Fiemap) mapping(s fiemap.Segment) mapcache.Mapping {
	mm := mapcache.Mapping{Offset: s.Off, Length: s.Len, Addr: mapcache.NullAddr, Type: kindType[s.Kind], Dev: m.dev}
	if s.Kind == fiemap.Mapped || s.Kind == fiemap.Unwritten {
		mm.Addr = s.Addr
	}
	return mm
}

// MapRead replies the segment covering req.Offset and up to
// ReplyExtents-1 following ones. It allocates nothing when dst has room.
func (m *Fiemap) MapRead(req *engine.MapRequest, dst []mapcache.Mapping) ([]mapcache.Mapping, error) {
	ff, err := m.file(req.File)
	if err != nil {
		return dst, err
	}
	i := fiemap.Find(ff.segs, req.Offset)
	if i < 0 {
		return dst, fmt.Errorf("%w: fiemap: offset %d of %s (%d bytes)", ErrOutsideFile, req.Offset, req.File.Name(), req.File.Size())
	}
	for n := 0; n < m.opts.ReplyExtents && i < len(ff.segs); n, i = n+1, i+1 {
		dst = append(dst, m.mapping(ff.segs[i]))
	}
	return dst, nil
}

// MapWrite fails: files are read-only through this mapper.
func (m *Fiemap) MapWrite(req *engine.MapRequest, dst []mapcache.Mapping) ([]mapcache.Mapping, error) {
	return dst, fmt.Errorf("%w: fiemap: %s is read-only through the fiemap mapper", engine.ErrReadOnly, req.File.Name())
}

// EndWrite does nothing: no write is ever issued.
func (m *Fiemap) EndWrite(_ *engine.WriteEnd, freed []mapcache.Mapping) ([]mapcache.Mapping, error) {
	return freed, nil
}

// Free does nothing.
func (m *Fiemap) Free([]mapcache.Mapping) {}

// ReadInline reads [off, off+len(dst)) through the filesystem; bytes past
// the end of the file read as zeros.
func (m *Fiemap) ReadInline(f *engine.File, off uint64, dst []byte) error {
	ff, err := m.file(f)
	if err != nil {
		return err
	}
	n, err := ff.fd.ReadAt(dst, int64(off))
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("fiemap: inline read of %s @%d+%d: %w", f.Name(), off, len(dst), err)
	}
	clear(dst[n:])
	return nil
}

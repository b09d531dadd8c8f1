package mapper

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/iobench/iobench/engine"
	"github.com/iobench/iobench/engine/mapper/internal/layout"
	"github.com/iobench/iobench/mapcache"
)

// ScatteredConfig describes a Scattered mapper. Sizes are bytes.
type ScatteredConfig struct {
	Dev          uint32
	DeviceStart  uint64 // rounded up to BlockSize
	DeviceLength uint64 // 0: to the end of the device (known at the first OpenFile)
	FileSize     uint64 // rounded up to BlockSize
	Extents      int    // how many extents the file has; at most FileSize/BlockSize
	Seed         uint64 // the same seed gives the same layout
	// Cost is spent in every MapRead and MapWrite call, modelling a
	// filesystem server's upcall: spinning below 100 µs, sleeping above.
	Cost time.Duration
	// ReplyExtents is how many extents one MapRead replies (the one
	// covering the offset and those after it); default 1.
	ReplyExtents int
	// BlockSize is the layout's block: extent sizes and addresses are
	// multiples of it; default 4096. Files opened on it must have a block
	// size that divides it.
	BlockSize uint32
}

// Scattered makes every file the same synthetic fragmented layout (see
// package layout: extent sizes vary, no two file neighbours are
// device-contiguous, reproducible from the seed). Writes go in place.
// Every method is safe for concurrent use; the layout is built once, at
// construction or, with DeviceLength 0, at the first OpenFile.
type Scattered struct {
	engine.InPlace
	cfg   ScatteredConfig
	mu    sync.Mutex // serialises a deferred build
	l     atomic.Pointer[layout.Layout]
	calls atomic.Uint64
}

// NewScattered builds the layout cfg describes.
func NewScattered(cfg ScatteredConfig) (*Scattered, error) {
	if cfg.BlockSize == 0 {
		cfg.BlockSize = 4096
	}
	if cfg.ReplyExtents <= 0 {
		cfg.ReplyExtents = 1
	}
	s := &Scattered{cfg: cfg}
	if cfg.DeviceLength != 0 {
		if err := s.build(cfg.DeviceLength); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (s *Scattered) build(devLength uint64) error {
	c := s.cfg
	l, err := layout.Build(layout.Config{
		BlockSize: uint64(c.BlockSize), DeviceStart: c.DeviceStart, DeviceLength: devLength,
		FileSize: c.FileSize, Extents: c.Extents, Seed: c.Seed,
	})
	if err != nil {
		return fmt.Errorf("%w: scattered: %w", ErrConfig, err)
	}
	s.l.Store(l)
	return nil
}

// Calls returns how many MapRead and MapWrite calls the mapper served
// (each paid the cost).
func (s *Scattered) Calls() uint64 { return s.calls.Load() }

// Extents returns the number of extents of the layout (0 before it is
// built).
func (s *Scattered) Extents() int {
	if l := s.l.Load(); l != nil {
		return l.Len()
	}
	return 0
}

// Extent returns extent i (0 <= i < Extents()) of the layout as a read
// mapping; it must not be called before the layout is built.
func (s *Scattered) Extent(i int) mapcache.Mapping {
	off, n, addr := s.l.Load().Extent(i)
	return mapcache.Mapping{Offset: off, Length: n, Addr: addr, Type: mapcache.Mapped, Dev: s.cfg.Dev}
}

// OpenFile builds the layout if it waited for the device size, checks that
// the file's block size divides the layout's, and reports the layout's size
// (FileSize rounded up to the block).
func (s *Scattered) OpenFile(f *engine.File) (uint64, error) {
	l := s.l.Load()
	if l == nil {
		s.mu.Lock()
		if l = s.l.Load(); l == nil {
			ds := f.Engine().DeviceSize(s.cfg.Dev)
			if ds <= s.cfg.DeviceStart {
				s.mu.Unlock()
				return 0, fmt.Errorf("%w: scattered: start %d is not inside device %d (%d bytes)", ErrConfig, s.cfg.DeviceStart, s.cfg.Dev, ds)
			}
			err := s.build(ds - s.cfg.DeviceStart)
			l = s.l.Load()
			if err != nil {
				s.mu.Unlock()
				return 0, err
			}
		}
		s.mu.Unlock()
	}
	if s.cfg.DeviceLength != 0 {
		if err := checkRange("scattered", f.Engine().DeviceSize(s.cfg.Dev), s.cfg.DeviceStart, s.cfg.DeviceLength, s.cfg.Dev); err != nil {
			return 0, err
		}
	}
	if fbs := f.BlockSize(); uint64(s.cfg.BlockSize)%uint64(fbs) != 0 {
		return 0, fmt.Errorf("%w: scattered: file block size %d does not divide the layout's %d", ErrConfig, fbs, s.cfg.BlockSize)
	}
	return l.SizeBytes(), nil
}

// MapRead pays the cost and replies the extent covering req.Offset and up
// to ReplyExtents-1 following ones. It allocates nothing when dst has
// room.
func (s *Scattered) MapRead(req *engine.MapRequest, dst []mapcache.Mapping) ([]mapcache.Mapping, error) {
	s.calls.Add(1)
	pay(s.cfg.Cost)
	l := s.l.Load()
	if l == nil {
		return dst, fmt.Errorf("%w: scattered: layout not built", ErrNotOpen)
	}
	i := l.Find(req.Offset)
	if i < 0 {
		return dst, fmt.Errorf("%w: scattered: offset %d, file is %d bytes", ErrOutsideFile, req.Offset, l.SizeBytes())
	}
	for n := 0; n < s.cfg.ReplyExtents && i < l.Len(); n, i = n+1, i+1 {
		off, length, addr := l.Extent(i)
		dst = append(dst, mapcache.Mapping{Offset: off, Length: length, Addr: addr, Type: mapcache.Mapped, Dev: s.cfg.Dev})
	}
	return dst, nil
}

// MapWrite pays the cost and replies a pure overwrite: writes go in place.
func (s *Scattered) MapWrite(req *engine.MapRequest, dst []mapcache.Mapping) ([]mapcache.Mapping, error) {
	s.calls.Add(1)
	pay(s.cfg.Cost)
	return s.InPlace.MapWrite(req, dst)
}

// Warm fills f's read cache with the whole layout, without the cost: the
// warm-cache starting point of a benchmark. f must have been opened on s.
func (s *Scattered) Warm(f *engine.File) error {
	l := s.l.Load()
	if l == nil {
		return fmt.Errorf("%w: scattered: layout not built", ErrNotOpen)
	}
	c := f.Cache()
	for i := range l.Len() {
		if err := c.Upsert(mapcache.ReadFork, s.Extent(i)); err != nil {
			return fmt.Errorf("scattered: warm %s: extent %d: %w", f.Name(), i, err)
		}
	}
	return nil
}

package mapper

import (
	"fmt"

	"github.com/iobench/iobench/engine"
	"github.com/iobench/iobench/mapcache"
)

// Linear makes every file the same device range: file byte o is device
// byte start+o. It is for benchmarking a raw device through the engine.
// Writes go in place. It holds no state, so it is safe for concurrent use.
type Linear struct {
	engine.InPlace
	dev           uint32
	start, length uint64
}

// NewLinear returns a Linear over [startBytes, startBytes+lengthBytes) of
// device dev. A lengthBytes of 0 means to the end of the device (known when
// a file is opened).
func NewLinear(dev uint32, startBytes, lengthBytes uint64) *Linear {
	return &Linear{dev: dev, start: startBytes, length: lengthBytes}
}

// OpenFile reports the range length, rounded down to the file's block
// size, as the file size.
func (l *Linear) OpenFile(f *engine.File) (uint64, error) {
	n, err := l.size(f)
	if err != nil {
		return 0, err
	}
	return n, nil
}

func (l *Linear) size(f *engine.File) (uint64, error) {
	n := l.length
	if n == 0 {
		ds := f.Engine().DeviceSize(l.dev)
		if ds <= l.start {
			return 0, fmt.Errorf("%w: linear: start %d is not inside device %d (%d bytes)", ErrConfig, l.start, l.dev, ds)
		}
		n = ds - l.start
	}
	if err := checkRange("linear", f.Engine().DeviceSize(l.dev), l.start, n, l.dev); err != nil {
		return 0, err
	}
	bs := uint64(f.BlockSize())
	if l.start%bs != 0 {
		return 0, fmt.Errorf("%w: linear: start %d is not a multiple of the %d-byte block", ErrConfig, l.start, bs)
	}
	n = n / bs * bs
	if n == 0 {
		return 0, fmt.Errorf("%w: linear: range of %d bytes holds no %d-byte block", ErrConfig, l.length, bs)
	}
	return n, nil
}

// MapRead replies one Mapped extent from req.Offset to the end of the
// range.
func (l *Linear) MapRead(req *engine.MapRequest, dst []mapcache.Mapping) ([]mapcache.Mapping, error) {
	end := l.length
	if end == 0 {
		end = req.File.Size()
	}
	end = end / uint64(req.File.BlockSize()) * uint64(req.File.BlockSize())
	if req.Offset >= end {
		return dst, fmt.Errorf("%w: linear: offset %d, range is %d bytes", ErrOutsideFile, req.Offset, end)
	}
	return append(dst, mapcache.Mapping{
		Offset: req.Offset, Length: end - req.Offset, Addr: l.start + req.Offset,
		Type: mapcache.Mapped, Dev: l.dev,
	}), nil
}

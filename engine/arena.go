package engine

import "github.com/iobench/iobench/device"

// arena is the engine's view of its buffer arena (device.Arena): aligned
// buffers outside the Go heap, registrable as fixed buffers.
type arena struct {
	a *device.Arena
}

func newArena(sizeBytes, align int) (*arena, error) {
	a, err := device.NewArena(sizeBytes, align)
	if err != nil {
		return nil, err
	}
	return &arena{a: a}, nil
}

func (a *arena) get(n int) []byte  { return a.a.Get(n) }
func (a *arena) put(b []byte)      { a.a.Put(b) }
func (a *arena) regions() [][]byte { return a.a.Regions() }
func (a *arena) close() error      { return a.a.Close() }

// index returns the fixed-buffer index of b, or -1 when b is not from the
// arena (then the I/O uses a plain buffer).
func (a *arena) index(b []byte) int32 { return int32(a.a.Index(b)) }

package engine_test

import (
	"fmt"
	"math/rand/v2"
	"sync"

	"github.com/iobench/iobench/engine"
	"github.com/iobench/iobench/mapcache"
)

// The engine's tests use small mappers of their own, so that they test the
// engine and not the bundled mappers (engine/mapper has its own tests and
// the end-to-end tests).

// stripeMapper maps file block i to device block perm[i]: every block is its
// own extent unless neighbours happen to be device-contiguous, so requests
// span many extents. Writes go in place.
type stripeMapper struct {
	engine.InPlace
	bs   uint64
	perm []uint64 // file block -> device block
}

func newStripeMapper(blocks int, bs uint64, seed uint64) *stripeMapper {
	rng := rand.New(rand.NewPCG(seed, 1))
	perm := make([]uint64, blocks)
	for i := range perm {
		perm[i] = uint64(i)
	}
	// Shuffle runs of 1..4 blocks so that some extents are longer than a
	// block.
	rng.Shuffle(len(perm), func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
	return &stripeMapper{bs: bs, perm: perm}
}

func (m *stripeMapper) OpenFile(f *engine.File) (uint64, error) {
	return uint64(len(m.perm)) * m.bs, nil
}

func (m *stripeMapper) MapRead(req *engine.MapRequest, dst []mapcache.Mapping) ([]mapcache.Mapping, error) {
	b := req.Offset / m.bs
	if b >= uint64(len(m.perm)) {
		return append(dst, mapcache.Mapping{Offset: req.Offset, Length: mapcache.ToEOF&^(m.bs-1) - req.Offset,
			Addr: mapcache.NullAddr, Type: mapcache.Hole}), nil
	}
	// Extend while device-contiguous.
	n := uint64(1)
	for b+n < uint64(len(m.perm)) && m.perm[b+n] == m.perm[b]+n {
		n++
	}
	return append(dst, mapcache.Mapping{Offset: b * m.bs, Length: n * m.bs,
		Addr: m.perm[b] * m.bs, Type: mapcache.Mapped}), nil
}

// cowMapper is a small out-of-place allocator: each write gets fresh
// blocks, the old ones are freed at the end of the write. Blocks of the
// file never written read as holes.
type cowMapper struct {
	bs uint64

	mu       sync.Mutex
	free     []uint64          // free device blocks
	data     map[uint64]uint64 // file block -> device block
	inFlight map[uint64]int    // device blocks handed to writes not yet ended
	freed    int
	size     uint64
	first    uint64 // device blocks [first, first+count) are this allocator's
	count    uint64
	mapErr   error // returned by MapWrite when set
	freeHook func(dev uint64)
}

func newCOWMapper(devBlocks int, fileBlocks int, bs uint64) *cowMapper {
	return newCOWMapperRange(0, uint64(devBlocks), fileBlocks, bs)
}

// newCOWMapperRange allocates from device blocks [first, first+count).
func newCOWMapperRange(first, count uint64, fileBlocks int, bs uint64) *cowMapper {
	m := &cowMapper{bs: bs, data: make(map[uint64]uint64), inFlight: make(map[uint64]int),
		size: uint64(fileBlocks) * bs, first: first, count: count}
	for b := range count {
		m.free = append(m.free, first+b)
	}
	return m
}

func (m *cowMapper) owns(devBlock uint64) bool {
	return devBlock >= m.first && devBlock < m.first+m.count
}

func (m *cowMapper) OpenFile(f *engine.File) (uint64, error) {
	// Arm the write fork: every write asks MapWrite.
	err := f.Cache().Upsert(mapcache.WriteFork, mapcache.Mapping{Offset: 0, Length: m.size,
		Addr: mapcache.NullAddr, Type: mapcache.Delalloc})
	return m.size, err
}

func (m *cowMapper) MapRead(req *engine.MapRequest, dst []mapcache.Mapping) ([]mapcache.Mapping, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b := req.Offset / m.bs
	if d, ok := m.data[b]; ok {
		return append(dst, mapcache.Mapping{Offset: b * m.bs, Length: m.bs, Addr: d * m.bs, Type: mapcache.Mapped}), nil
	}
	return append(dst, mapcache.Mapping{Offset: b * m.bs, Length: m.bs, Addr: mapcache.NullAddr, Type: mapcache.Hole}), nil
}

func (m *cowMapper) MapWrite(req *engine.MapRequest, dst []mapcache.Mapping) ([]mapcache.Mapping, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.mapErr != nil {
		return dst, m.mapErr
	}
	if len(m.free) == 0 {
		return dst, fmt.Errorf("cow: %w: 1 block wanted, 0 free", engine.ErrNoSpace)
	}
	// First in, first out: freed blocks are reused last, so allocations
	// sweep the whole device (and a sparse backing file fills up).
	d := m.free[0]
	m.free = m.free[1:]
	m.inFlight[d]++
	return append(dst, mapcache.Mapping{Offset: req.Offset, Length: m.bs, Addr: d * m.bs, Type: mapcache.Mapped}), nil
}

func (m *cowMapper) EndWrite(end *engine.WriteEnd, freed []mapcache.Mapping) ([]mapcache.Mapping, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	w := end.Written
	for off := uint64(0); off < w.Length; off += m.bs {
		fb, d := (w.Offset+off)/m.bs, (w.Addr+off)/m.bs
		if !end.OutOfPlace {
			continue
		}
		if m.inFlight[d] <= 1 {
			delete(m.inFlight, d)
		} else {
			m.inFlight[d]--
		}
		if end.Err != nil {
			if m.data[fb] != d && m.inFlight[d] == 0 {
				freed = append(freed, mapcache.Mapping{Offset: fb * m.bs, Length: m.bs, Addr: d * m.bs, Type: mapcache.Mapped})
			}
			continue
		}
		if old, ok := m.data[fb]; ok && old != d {
			freed = append(freed, mapcache.Mapping{Offset: fb * m.bs, Length: m.bs, Addr: old * m.bs, Type: mapcache.Mapped})
		}
		m.data[fb] = d
	}
	return freed, nil
}

func (m *cowMapper) Free(freed []mapcache.Mapping) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, f := range freed {
		for off := uint64(0); off < f.Length; off += m.bs {
			d := (f.Addr + off) / m.bs
			if m.freeHook != nil {
				m.freeHook(d)
			}
			m.free = append(m.free, d)
			m.freed++
		}
	}
}

func (m *cowMapper) freeBlocks() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.free)
}

// badMapper replies with whatever reply returns.
type badMapper struct {
	engine.InPlace
	size  uint64
	reply func(req *engine.MapRequest) ([]mapcache.Mapping, error)
}

func (m *badMapper) OpenFile(*engine.File) (uint64, error) { return m.size, nil }

func (m *badMapper) MapRead(req *engine.MapRequest, dst []mapcache.Mapping) ([]mapcache.Mapping, error) {
	ms, err := m.reply(req)
	return append(dst, ms...), err
}

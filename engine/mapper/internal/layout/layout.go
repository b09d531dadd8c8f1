// Package layout builds and searches the synthetic fragmented file layouts
// of the scattered mapper: N extents of varying, block-aligned sizes that
// tile a file, placed over a device range so that no two file neighbours
// are device-contiguous (an extent cache can never merge them).
//
// A Layout is immutable once built, so any number of goroutines may search
// it at once. It is reproducible: the same Config gives the same layout. It
// holds two sorted arrays (16 bytes per extent) and searches them by
// bisection, so a million extents take 16 MiB and a lookup allocates
// nothing.
package layout

import (
	"errors"
	"fmt"
	"math/rand/v2"
)

// ErrConfig is returned when a Config cannot give a layout: zero or
// unaligned sizes, more extents than blocks, or a device range too small
// for the file.
var ErrConfig = errors.New("layout: bad config")

// Config describes a layout. Sizes are bytes.
type Config struct {
	BlockSize    uint64 // power of two
	DeviceStart  uint64 // first usable device byte; rounded up to BlockSize
	DeviceLength uint64 // usable device bytes from DeviceStart
	FileSize     uint64 // rounded up to BlockSize
	Extents      int
	Seed         uint64
}

// Layout is a built layout.
type Layout struct {
	bs uint64
	// fileBlock[i] is the first file block of extent i; fileBlock[n] is the
	// number of file blocks (a sentinel that ends the last extent).
	fileBlock []uint64
	// devAddr[i] is the device byte address of extent i.
	devAddr []uint64
}

// Build builds the layout that c describes.
func Build(c Config) (*Layout, error) {
	bs := c.BlockSize
	if bs == 0 || bs&(bs-1) != 0 {
		return nil, fmt.Errorf("%w: block size %d is not a power of two", ErrConfig, bs)
	}
	if c.Extents <= 0 {
		return nil, fmt.Errorf("%w: %d extents", ErrConfig, c.Extents)
	}
	start := (c.DeviceStart + bs - 1) &^ (bs - 1)
	if start < c.DeviceStart || c.DeviceLength < start-c.DeviceStart {
		return nil, fmt.Errorf("%w: device start %d overflows the range", ErrConfig, c.DeviceStart)
	}
	devBlocks := (c.DeviceLength - (start - c.DeviceStart)) / bs
	fileBlocks := (c.FileSize + bs - 1) / bs
	n := uint64(c.Extents)
	switch {
	case fileBlocks == 0:
		return nil, fmt.Errorf("%w: file size 0", ErrConfig)
	case n > fileBlocks:
		return nil, fmt.Errorf("%w: %d extents in a file of %d blocks", ErrConfig, n, fileBlocks)
	case devBlocks < fileBlocks:
		return nil, fmt.Errorf("%w: a %d-block file does not fit in %d device blocks", ErrConfig, fileBlocks, devBlocks)
	}
	rng := rand.New(rand.NewPCG(c.Seed, c.Seed^0x5ca77e2ed))

	l := &Layout{bs: bs, fileBlock: make([]uint64, n+1), devAddr: make([]uint64, n)}
	// Sizes: one block each, and the rest spread by random weights so that
	// sizes vary around the mean (the weights live in devAddr until the
	// addresses are chosen below, to avoid a third array at a million
	// extents).
	spread(rng, l.devAddr, fileBlocks-n)
	var fb uint64
	for i := range n {
		l.fileBlock[i] = fb
		fb += 1 + l.devAddr[i]
	}
	l.fileBlock[n] = fb

	// Device order: a random permutation of the extents. With room for a
	// gap between every two, place them with gaps; otherwise back to back,
	// with the permutation repaired so that extent i+1 never directly
	// follows extent i.
	order := make([]uint32, n)
	for i := range order {
		order[i] = uint32(i)
	}
	rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	spare := devBlocks - fileBlocks
	gapped := spare >= n
	if !gapped {
		repair(rng, order)
	}
	// gaps[k] is the gap before the k-th extent in device order; reuse the
	// first-file-block trick: compute into a slice of n only when gapped.
	var gaps []uint64
	if gapped {
		gaps = make([]uint64, n)
		spread(rng, gaps, spare-n)
	}
	addr := start
	for k, e := range order {
		if gapped {
			addr += (1 + gaps[k]) * bs
		}
		l.devAddr[e] = addr
		addr += (l.fileBlock[e+1] - l.fileBlock[e]) * bs
	}
	return l, nil
}

// spread fills w with random non-negative integers summing to total.
func spread(rng *rand.Rand, w []uint64, total uint64) {
	if len(w) == 0 {
		return
	}
	var sum float64
	fw := make([]float64, 0, min(len(w), 1<<16))
	// Weights are drawn in windows to bound the scratch memory; each
	// window gets its share of total in proportion to its length.
	per := float64(total) / float64(len(w))
	var given uint64
	for lo := 0; lo < len(w); lo += cap(fw) {
		hi := min(len(w), lo+cap(fw))
		fw = fw[:0]
		sum = 0
		for range hi - lo {
			x := rng.Float64()
			fw = append(fw, x)
			sum += x
		}
		share := uint64(per * float64(hi-lo))
		if hi == len(w) {
			share = total - given
		}
		var got uint64
		for i, x := range fw {
			v := uint64(x / sum * float64(share))
			w[lo+i] = v
			got += v
		}
		// Rounding leftovers go to random extents of the window.
		for ; got < share; got++ {
			w[lo+rng.IntN(hi-lo)]++
		}
		given += share
	}
}

// repair permutes order until no element is directly followed by its
// successor (i then i+1), which would make file neighbours
// device-contiguous when extents are placed back to back.
func repair(rng *rand.Rand, order []uint32) {
	n := len(order)
	if n < 2 {
		return
	}
	for pass := 0; pass < 64; pass++ {
		bad := false
		for k := 0; k+1 < n; k++ {
			if order[k+1] == order[k]+1 {
				bad = true
				j := rng.IntN(n)
				order[k+1], order[j] = order[j], order[k+1]
			}
		}
		if !bad {
			return
		}
	}
	// Random swaps did not converge (only tiny n): reverse, which has no
	// ascending neighbours at all.
	for i := range order {
		order[i] = uint32(n - 1 - i)
	}
}

// Len returns the number of extents.
func (l *Layout) Len() int { return len(l.devAddr) }

// BlockSize returns the block size.
func (l *Layout) BlockSize() uint64 { return l.bs }

// SizeBytes returns the size of the laid-out file: the file size rounded up
// to the block size.
func (l *Layout) SizeBytes() uint64 { return l.fileBlock[len(l.devAddr)] * l.bs }

// Extent returns extent i: its file offset, length and device address, in
// bytes.
func (l *Layout) Extent(i int) (off, length, addr uint64) {
	return l.fileBlock[i] * l.bs, (l.fileBlock[i+1] - l.fileBlock[i]) * l.bs, l.devAddr[i]
}

// Find returns the index of the extent that covers file byte off, or -1
// past the end of the file.
func (l *Layout) Find(off uint64) int {
	b := off / l.bs
	n := len(l.devAddr)
	if b >= l.fileBlock[n] {
		return -1
	}
	// Largest i with fileBlock[i] <= b.
	lo, hi := 0, n
	for hi-lo > 1 {
		mid := int(uint(lo+hi) >> 1)
		if l.fileBlock[mid] <= b {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo
}

// Package crashtest records what a device saw, in the style of Linux's
// dm-log-writes, and rebuilds the device image a crash at any point would
// have left: a test puts a Recorder's ring factory behind an engine, runs
// a workload, and replays the log.
//
// The Recorder sits at the engine's Ring seam, so it sees every device
// write and flush the engine issues: file data, and the metadata a mapper
// writes through Engine.WriteDevice and Engine.FlushDevice. It logs each
// one when the kernel completes it, in completion order, and the test
// adds its own marks (what it issued, what was acknowledged, which syncs
// returned) to the same log.
//
// A crash after event k keeps every write that a flush before k covered,
// and any subset of the writes completed since the last flush, each one
// whole, not at all, or torn at sector granularity: a volatile write cache
// may persist them in any order.
package crashtest

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"unsafe"

	"github.com/iobench/iobench/engine"
	"github.com/iobench/iobench/engine/faultring"
)

// Kind is an event's type.
type Kind uint8

// Event kinds.
const (
	Write Kind = iota + 1 // a completed device write
	Flush                 // a completed flush
	Mark                  // the test's note
)

// Event is one entry of the log.
type Event struct {
	Kind Kind
	Off  uint64 // Write: device byte address
	Data []byte // Write: the bytes the device acknowledged
	Note any    // Mark
}

// Recorder logs device writes and flushes through the rings it makes.
// It is safe for concurrent use (every queue's ring logs into it).
type Recorder struct {
	mu     sync.Mutex
	events []Event
	infl   map[inflightKey][]byte
}

type inflightKey struct {
	ring *faultring.Ring
	ud   uint64
}

// NewRecorder returns an empty recorder.
func NewRecorder() *Recorder { return &Recorder{infl: map[inflightKey][]byte{}} }

// Factory returns a RingFactory whose rings (made by inner, nil: io_uring)
// log into r.
func (r *Recorder) Factory(inner engine.RingFactory) engine.RingFactory {
	return faultring.NewFactory(inner, func(f *faultring.Ring) {
		f.Observe = func(op engine.Op, done bool, res int32) { r.observe(f, op, done, res) }
	})
}

func (r *Recorder) observe(f *faultring.Ring, op engine.Op, done bool, res int32) {
	key := inflightKey{f, op.UserData}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !done {
		if op.Write && op.Len > 0 {
			// The buffer is the caller's until completion: copy it now.
			// (op.Addr is memory outside the Go heap, or pinned.)
			p := *(*unsafe.Pointer)(unsafe.Pointer(&op.Addr))
			r.infl[key] = append([]byte(nil), unsafe.Slice((*byte)(p), op.Len)...)
		}
		return
	}
	data, ok := r.infl[key]
	delete(r.infl, key)
	switch {
	case res < 0:
	case op.Sync != engine.NoSync:
		r.events = append(r.events, Event{Kind: Flush})
	case op.Write && ok:
		n := min(int(res), len(data))
		if n > 0 {
			r.events = append(r.events, Event{Kind: Write, Off: op.Offset, Data: data[:n]})
		}
	}
}

// Mark adds the test's note to the log.
func (r *Recorder) Mark(note any) {
	r.mu.Lock()
	r.events = append(r.events, Event{Kind: Mark, Note: note})
	r.mu.Unlock()
}

// Events returns the log so far.
func (r *Recorder) Events() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.events...)
}

// Counts returns how many writes and flushes the log holds.
func Counts(events []Event) (writes, flushes int) {
	for _, e := range events {
		switch e.Kind {
		case Write:
			writes++
		case Flush:
			flushes++
		}
	}
	return writes, flushes
}

// FlushPoints returns the indexes just after every flush: crash points
// where everything before is durable.
func FlushPoints(events []Event) []int {
	var out []int
	for i, e := range events {
		if e.Kind == Flush {
			out = append(out, i+1)
		}
	}
	return out
}

// Fate is what a crash does to one unflushed write.
type Fate uint8

// Fates.
const (
	Keep Fate = iota // persisted whole
	Drop             // lost
	Torn             // some sectors persisted
)

// Image is a crashed device: a base image and the sectors the crash kept
// on top of it. It is an io.ReaderAt; Bytes makes it whole.
type Image struct {
	base   []byte
	sector int
	over   map[uint64][]byte // sector index -> its bytes
}

// ReadAt implements io.ReaderAt.
func (m *Image) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off+int64(len(p)) > int64(len(m.base)) {
		return 0, fmt.Errorf("crashtest: read [%d,+%d) outside the %d-byte image", off, len(p), len(m.base))
	}
	copy(p, m.base[off:])
	ss := int64(m.sector)
	for s := off / ss; s*ss < off+int64(len(p)); s++ {
		d, ok := m.over[uint64(s)]
		if !ok {
			continue
		}
		lo := max(s*ss, off)
		hi := min(s*ss+ss, off+int64(len(p)))
		copy(p[lo-off:hi-off], d[lo-s*ss:hi-s*ss])
	}
	return len(p), nil
}

// Size returns the image's size in bytes.
func (m *Image) Size() uint64 { return uint64(len(m.base)) }

// Bytes returns the whole image.
func (m *Image) Bytes() []byte {
	b := append([]byte(nil), m.base...)
	for s, d := range m.over {
		copy(b[s*uint64(m.sector):], d)
	}
	return b
}

// Crash builds the image a crash after events[:k] leaves, over base (the
// device before the log, not modified). Writes that a flush in
// events[:k] covers are applied; each write after the last flush gets the
// fate fate(i) (i counts those writes from 0), and torn writes keep each
// sector with probability one half, drawn from rnd. The writes kept are
// applied in log order, which together with dropping any subset is every
// order in which a cache could persist them, for the blocks they cover.
// Writes must be whole sectors.
func Crash(base []byte, events []Event, k int, sector int, rnd *rand.Rand, fate func(i int) Fate) (*Image, error) {
	if k < 0 || k > len(events) {
		return nil, fmt.Errorf("crashtest: crash point %d outside a log of %d events", k, len(events))
	}
	img := &Image{base: base, sector: sector, over: map[uint64][]byte{}}
	last := 0
	for i := range k {
		if events[i].Kind == Flush {
			last = i + 1
		}
	}
	apply := func(e *Event, sectors func(int) bool) error {
		if e.Off+uint64(len(e.Data)) > uint64(len(base)) || e.Off%uint64(sector) != 0 || len(e.Data)%sector != 0 {
			return fmt.Errorf("crashtest: write [%d,+%d) unaligned or past the %d-byte image", e.Off, len(e.Data), len(base))
		}
		for s := 0; s < len(e.Data); s += sector {
			if sectors == nil || sectors(s) {
				img.over[(e.Off+uint64(s))/uint64(sector)] = e.Data[s : s+sector]
			}
		}
		return nil
	}
	for i := range last {
		if events[i].Kind == Write {
			if err := apply(&events[i], nil); err != nil {
				return nil, err
			}
		}
	}
	w := 0
	for i := last; i < k; i++ {
		if events[i].Kind != Write {
			continue
		}
		var err error
		switch fate(w) {
		case Keep:
			err = apply(&events[i], nil)
		case Torn:
			err = apply(&events[i], func(int) bool { return rnd.IntN(2) == 0 })
		}
		if err != nil {
			return nil, err
		}
		w++
	}
	return img, nil
}

// Unflushed returns how many writes in events[:k] come after the last
// flush.
func Unflushed(events []Event, k int) int {
	n := 0
	for i := range k {
		switch events[i].Kind {
		case Flush:
			n = 0
		case Write:
			n++
		}
	}
	return n
}

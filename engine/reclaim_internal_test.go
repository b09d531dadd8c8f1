package engine

import (
	"cmp"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/iobench/iobench/mapcache"
)

// freeRecorder is a mapper that records the space given back to it.
type freeRecorder struct {
	InPlace
	freed []mapcache.Mapping
}

func (m *freeRecorder) Free(ms []mapcache.Mapping) { m.freed = append(m.freed, ms...) }

func (m *freeRecorder) OpenFile(*File) (uint64, error) { return 0, nil }

func (m *freeRecorder) MapRead(*MapRequest, []mapcache.Mapping) ([]mapcache.Mapping, error) {
	return nil, nil
}

// TestReclaimKeepsSpaceFreedWhileReadingSlots: space freed after a
// reclaimer read the queues' slots, while a request that started after
// that read (and so was not seen) may have looked up the old mapping, is
// not given back by that reclaim; the next one, which sees the request,
// keeps it until the request leaves.
func TestReclaimKeepsSpaceFreedWhileReadingSlots(t *testing.T) {
	rec := &freeRecorder{}
	e := &Engine{cfg: Config{Mapper: rec}}
	q := &Queue{eng: e}
	q.epochs.init()
	e.queues = []*Queue{q}
	old := mapcache.Mapping{Offset: 0, Length: 4096, Addr: 8192, Type: mapcache.Mapped}
	e.retire([]mapcache.Mapping{{Offset: 4096, Length: 4096, Addr: 0, Type: mapcache.Mapped}}) // something pending, so reclaim looks
	var reqEpoch uint64
	afterSlotsRead = func() {
		// A request starts (it looks up old), then a write moves the
		// range and frees old.
		reqEpoch = e.epoch.Load()
		q.enterEpoch(reqEpoch)
		e.retire([]mapcache.Mapping{old})
	}
	t.Cleanup(func() { afterSlotsRead = nil })
	e.reclaim(false)
	afterSlotsRead = nil
	for _, m := range rec.freed {
		if m == old {
			t.Fatalf("space freed while a request could still reach it went back: %+v", rec.freed)
		}
	}
	if len(rec.freed) != 1 {
		t.Fatalf("the space freed before the reclaim began: %+v, want it given back", rec.freed)
	}
	e.reclaim(false)
	if len(rec.freed) != 1 {
		t.Fatalf("went back while the request is in flight: %+v", rec.freed)
	}
	q.epochs.leave(reqEpoch)
	e.reclaim(false)
	if len(rec.freed) != 2 || rec.freed[1] != old {
		t.Fatalf("after the request left: %+v, want %+v given back", rec.freed, old)
	}
}

// TestFreeListAgainstModel drives the free list with adds whose tags come
// a little out of order (as goroutines racing from epoch.Add to the lock
// bring them) and takes of random bounds, against a plain slice: a take
// returns exactly the items tagged at most its bound, oldest tag first and
// in the order added within a tag, and leaves the rest; the list stays in
// tag order and its pending count and oldest tag are right after every
// step.
func TestFreeListAgainstModel(t *testing.T) {
	for seed := range uint64(50) {
		r := rand.New(rand.NewPCG(seed, 3))
		var l freeList
		var model []freed // every item waiting, in no order
		next := uint64(1)
		var addr uint64
		for step := range 2000 {
			if r.IntN(3) > 0 {
				tag := next + uint64(r.IntN(4)) // later tags may come first
				next++
				ms := make([]mapcache.Mapping, 1+r.IntN(3))
				for i := range ms {
					addr += 4096
					ms[i] = mapcache.Mapping{Length: 4096, Addr: addr, Type: mapcache.Mapped}
					model = append(model, freed{tag: tag, m: ms[i]})
				}
				l.add(tag, ms)
			} else {
				max := next - uint64(r.IntN(8))
				got := l.take(max)
				var want, keep []freed
				for _, it := range model {
					if it.tag <= max {
						want = append(want, it)
					} else {
						keep = append(keep, it)
					}
				}
				model = keep
				slices.SortStableFunc(want, func(a, b freed) int { return cmp.Compare(a.tag, b.tag) })
				if len(got) != len(want) {
					t.Fatalf("seed %d step %d: take(%d) gave %d mappings, want %d", seed, step, max, len(got), len(want))
				}
				for i := range got {
					if got[i] != want[i].m {
						t.Fatalf("seed %d step %d: take(%d)[%d] = %+v, want %+v (tag %d)", seed, step, max, i, got[i], want[i].m, want[i].tag)
					}
				}
			}
			live := l.items[l.head:]
			if !slices.IsSortedFunc(live, func(a, b freed) int { return cmp.Compare(a.tag, b.tag) }) {
				t.Fatalf("seed %d step %d: list out of tag order", seed, step)
			}
			if int(l.pending.Load()) != len(model) || len(live) != len(model) {
				t.Fatalf("seed %d step %d: pending %d, %d items, want %d", seed, step, l.pending.Load(), len(live), len(model))
			}
			oldest, ok := l.oldestPending()
			if ok != (len(model) > 0) {
				t.Fatalf("seed %d step %d: oldestPending ok=%v with %d waiting", seed, step, ok, len(model))
			}
			if ok {
				want := slices.MinFunc(model, func(a, b freed) int { return cmp.Compare(a.tag, b.tag) }).tag
				if oldest != want {
					t.Fatalf("seed %d step %d: oldest pending %d, want %d", seed, step, oldest, want)
				}
			}
		}
	}
}

// TestEpochModes: an engine starts publishing epochs with plain stores.
// The first retire turns it fenced for good. A reclaim makes the
// membarrier before it reads the slots while a queue that published
// plainly has not said it publishes with barriers, which each says at its
// next request (a direct queue idle in the pool is marked by the
// reclaim); queues that never published plainly hold nothing up.
func TestEpochModes(t *testing.T) {
	if !registerMembarrier() {
		t.Skip("no membarrier(2) MEMBARRIER_CMD_PRIVATE_EXPEDITED in this kernel: engines start fenced")
	}
	newEngine := func() (*Engine, []*Queue, *freeRecorder) {
		rec := &freeRecorder{}
		e := &Engine{cfg: Config{Mapper: rec}, plainEpochs: true}
		qs := []*Queue{{eng: e}, {eng: e}, {eng: e}}
		for _, q := range qs {
			q.epochs.init()
		}
		e.queues = qs
		e.direct.free = []*Queue{qs[2]} // idle in the pool
		return e, qs, rec
	}
	m := func(block uint64) mapcache.Mapping {
		return mapcache.Mapping{Offset: block * 4096, Length: 4096, Addr: 8192 + block*4096, Type: mapcache.Mapped}
	}

	// No queue published plainly: no barrier.
	first, _, _ := newEngine()
	first.retire([]mapcache.Mapping{m(0)})
	if n := first.reclaim(false); n != 1 || first.counters.barriers.Load() != 0 {
		t.Fatalf("no plain slot: gave back %d with %d barriers, want 1 with none", n, first.counters.barriers.Load())
	}

	e, qs, rec := newEngine()
	qs[0].enterEpoch(e.epoch.Load()) // plain: the engine has freed nothing
	qs[2].enterEpoch(e.epoch.Load())
	qs[2].epochs.leave(0)
	if e.fenced.Load() || qs[0].fenceAck != 0 || qs[0].plainUsed != 1 || qs[0].epochs.oldest != 0 || qs[1].plainUsed != 0 {
		t.Fatalf("before any retire: fenced %v, ack %d, plain %d, slot %d", e.fenced.Load(), qs[0].fenceAck, qs[0].plainUsed, qs[0].epochs.oldest)
	}
	e.retire([]mapcache.Mapping{m(1)})
	if !e.fenced.Load() {
		t.Fatal("the first retire did not turn the engine fenced")
	}
	if n := e.reclaim(false); n != 0 || e.counters.barriers.Load() != 1 {
		t.Fatalf("reclaim: gave back %d with %d barriers; want one barrier and nothing (queue 0 is in flight at epoch 0)", n, e.counters.barriers.Load())
	}
	if qs[2].fenceAck != 1 {
		t.Fatal("the reclaim did not mark the pooled direct queue fenced")
	}
	qs[0].epochs.leave(0)
	if n := e.reclaim(false); n != 1 || rec.freed[0] != m(1) || e.counters.barriers.Load() != 2 {
		t.Fatalf("after the request left: gave back %d (%v) with %d barriers, want %v with a second barrier", n, rec.freed, e.counters.barriers.Load(), m(1))
	}
	qs[0].enterEpoch(e.epoch.Load())
	if qs[0].fenceAck != 1 || !qs[0].sawFenced {
		t.Fatalf("queue 0: ack %d after a request in the fenced mode", qs[0].fenceAck)
	}
	qs[0].epochs.leave(e.epoch.Load())
	e.retire([]mapcache.Mapping{m(2)})
	if n := e.reclaim(false); n != 1 || e.counters.barriers.Load() != 2 {
		t.Fatalf("every plain queue fenced: gave back %d with %d barriers, want 1 with none more", n, e.counters.barriers.Load())
	}
}

// BenchmarkMembarrier measures the barrier a reclaim makes while a queue
// may have published its epoch plainly (reclaim.go): with no other
// thread of the process running, and with one spinning on another CPU,
// which the kernel then interrupts.
func BenchmarkMembarrier(b *testing.B) {
	if !registerMembarrier() {
		b.Skip("no membarrier(2) MEMBARRIER_CMD_PRIVATE_EXPEDITED in this kernel")
	}
	b.Run("idle", func(b *testing.B) {
		for b.Loop() {
			if err := membarrier(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("busy", func(b *testing.B) {
		var stop atomic.Bool
		done := make(chan struct{})
		go func() {
			runtime.LockOSThread()
			defer close(done)
			for !stop.Load() {
			}
		}()
		for b.Loop() {
			if err := membarrier(); err != nil {
				b.Fatal(err)
			}
		}
		stop.Store(true)
		<-done
	})
}

package engine

import (
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
		q.epochs.enter(reqEpoch)
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

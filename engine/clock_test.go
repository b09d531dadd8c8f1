package engine_test

import (
	"testing"
	"time"

	"github.com/iobench/iobench/engine"
	"github.com/iobench/iobench/mapcache"
)

// sleepyMapper maps the file straight onto the device, sleeping d in
// every MapRead.
type sleepyMapper struct {
	engine.InPlace
	size uint64
	d    time.Duration
}

func (m *sleepyMapper) OpenFile(*engine.File) (uint64, error) { return m.size, nil }

func (m *sleepyMapper) MapRead(req *engine.MapRequest, dst []mapcache.Mapping) ([]mapcache.Mapping, error) {
	time.Sleep(m.d)
	return append(dst, mapcache.Mapping{Offset: req.Offset, Length: req.Length, Addr: req.Offset, Type: mapcache.Mapped}), nil
}

// TestSubmitClocks: requests submitted together share a clock reading
// for their start, but one whose resolution waits on the mapper does not
// pass that wait on: the first request's latency holds its mapper call,
// the second's (a cache hit) does not.
func TestSubmitClocks(t *testing.T) {
	const wait = 100 * time.Millisecond
	m := &sleepyMapper{size: 16 * bs}
	// No early submission: no system call between the two to take the
	// clock again.
	e, _ := newEngine(t, 16*bs, m, func(c *engine.Config) { c.EagerSubmit = -1 })
	f, err := e.Open("f", engine.FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	warm := e.Buffer(bs)
	defer e.PutBuffer(warm)
	if _, err := f.ReadAt(warm, bs); err != nil { // caches block 1
		t.Fatal(err)
	}
	m.d = wait
	q, err := e.NewQueue()
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	miss := &engine.Request{File: f, Offset: 0, Buf: e.Buffer(bs)}
	hit := &engine.Request{File: f, Offset: bs, Buf: e.Buffer(bs)}
	defer e.PutBuffer(miss.Buf)
	defer e.PutBuffer(hit.Buf)
	if err := q.Submit(miss, hit); err != nil {
		t.Fatal(err)
	}
	done, err := q.Reap(nil, 2)
	if err != nil || len(done) != 2 {
		t.Fatalf("reaped %d: %v", len(done), err)
	}
	if miss.Err != nil || hit.Err != nil {
		t.Fatalf("errors: %v, %v", miss.Err, hit.Err)
	}
	if miss.Latency < wait {
		t.Errorf("the miss took %v, less than its mapper's %v", miss.Latency, wait)
	}
	if hit.Latency >= wait {
		t.Errorf("the hit submitted with it took %v: the miss's mapper wait (%v) was counted in it", hit.Latency, wait)
	}
}

// endWriteRecorder is sleepyMapper recording what EndWrite is told.
type endWriteRecorder struct {
	sleepyMapper
	ends []time.Duration
}

func (m *endWriteRecorder) EndWrite(w *engine.WriteEnd, freed []mapcache.Mapping) ([]mapcache.Mapping, error) {
	m.ends = append(m.ends, w.Latency)
	return freed, nil
}

// TestWriteEndLatency: the device time EndWrite is given starts after the
// write's mapper call, where the request's latency starts before it.
func TestWriteEndLatency(t *testing.T) {
	const wait = 100 * time.Millisecond
	m := &endWriteRecorder{sleepyMapper: sleepyMapper{size: 16 * bs, d: wait}}
	e, _ := newEngine(t, 16*bs, m, nil)
	f, q := fileAndQueue(t, e)
	defer q.Close()
	r := &engine.Request{File: f, Offset: 0, Buf: e.Buffer(bs), Write: true}
	defer e.PutBuffer(r.Buf)
	if err := q.Submit(r); err != nil {
		t.Fatal(err)
	}
	if _, err := q.Reap(nil, 1); err != nil || r.Err != nil {
		t.Fatalf("reap: %v, %v", err, r.Err)
	}
	if len(m.ends) != 1 {
		t.Fatalf("EndWrite called %d times, want 1", len(m.ends))
	}
	if r.Latency < wait {
		t.Errorf("the write took %v, less than its mapper's %v", r.Latency, wait)
	}
	if d := m.ends[0]; d <= 0 || d >= wait || d > r.Latency-wait {
		t.Errorf("EndWrite's device time %v: want it above 0 and without the mapper's %v (request latency %v)", d, wait, r.Latency)
	}
}

// TestCompletedOnEngineClock: Completed is on Engine.Clock, between a
// reading before the submission and one after the reap, and Latency
// ends at it.
func TestCompletedOnEngineClock(t *testing.T) {
	m := &sleepyMapper{size: 16 * bs}
	e, _ := newEngine(t, 16*bs, m, nil)
	f, q := fileAndQueue(t, e)
	defer q.Close()
	var reqs []*engine.Request
	for i := range 4 {
		r := &engine.Request{File: f, Offset: uint64(i) * bs, Buf: e.Buffer(bs)}
		defer e.PutBuffer(r.Buf)
		reqs = append(reqs, r)
	}
	before := e.Clock()
	if err := q.Submit(reqs...); err != nil {
		t.Fatal(err)
	}
	done, err := q.Reap(nil, len(reqs))
	after := e.Clock()
	if err != nil || len(done) != len(reqs) {
		t.Fatalf("reaped %d: %v", len(done), err)
	}
	for _, r := range reqs {
		if r.Err != nil {
			t.Fatal(r.Err)
		}
		if start := r.Completed - r.Latency; start < before || r.Completed > after || r.Latency <= 0 {
			t.Errorf("request at %d: started %v, completed %v (latency %v), outside [%v, %v]",
				r.Offset, start, r.Completed, r.Latency, before, after)
		}
	}
}

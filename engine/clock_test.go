package engine_test

import (
	"strings"
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

// TestLastReap: a reap that finds completions in the ring reports the
// reading their latencies end at, on Engine.Clock, between a reading
// before the submission and one after the reap; a reap that only hands
// back what an earlier one found, or nothing, reports none.
func TestLastReap(t *testing.T) {
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
	if _, ok := q.LastReap(); ok {
		t.Fatal("a queue that never reaped reports a reap")
	}
	before := e.Clock()
	if err := q.Submit(reqs...); err != nil {
		t.Fatal(err)
	}
	// Wait for all four, hand back one: the others wait for the next call.
	done, err := q.ReapBatch(nil, len(reqs), 1)
	after := e.Clock()
	if err != nil || len(done) != 1 {
		t.Fatalf("reaped %d: %v", len(done), err)
	}
	at, ok := q.LastReap()
	if !ok || at < before || at > after {
		t.Fatalf("last reap at %v (%v), want one in [%v, %v]", at, ok, before, after)
	}
	for _, r := range reqs {
		if r.Err != nil {
			t.Fatal(r.Err)
		}
		// Every latency ends at a reading of this call, the last at it.
		if r.Latency <= 0 || at-r.Latency < before {
			t.Errorf("request at %d: latency %v does not fit between %v and the reap at %v", r.Offset, r.Latency, before, at)
		}
	}
	done, err = q.ReapBatch(done[:0], 0, 0)
	if err != nil || len(done) != len(reqs)-1 {
		t.Fatalf("second reap returned %d: %v", len(done), err)
	}
	if at, ok := q.LastReap(); ok {
		t.Errorf("a reap of what an earlier one found reports a reading (%v)", at)
	}
	if done, err = q.Reap(done[:0], 0); err != nil || len(done) != 0 {
		t.Fatalf("empty reap returned %d: %v", len(done), err)
	}
	if _, ok := q.LastReap(); ok {
		t.Error("an empty reap reports a reading")
	}
}

// TestClockMendsSetBackCounter: with the CPU's counter as its clock, an
// engine whose counter is set back under it (a virtual machine restored
// from a snapshot) has a clock that stands still until its queues check
// it against CLOCK_MONOTONIC: after a few thousand reaps it runs again, at
// the monotonic clock's pace. The engine reports the step (Stats,
// ClockInfo); an engine made after it, or on another clock, reports none.
func TestClockMendsSetBackCounter(t *testing.T) {
	e, _ := newEngine(t, 16*bs, &sleepyMapper{size: 16 * bs}, func(c *engine.Config) {
		c.Clock, c.NewRing = engine.ClockCPU, engine.NewNullRing
	})
	restore, ok := engine.SetBackTSC()
	t.Cleanup(restore)
	if !ok {
		t.Skip("no counter clock here")
	}
	f, q := fileAndQueue(t, e)
	defer q.Close()
	r := &engine.Request{File: f, Buf: e.Buffer(bs)}
	defer e.PutBuffer(r.Buf)
	var done []*engine.Request
	for i := range 2 * engine.TSCCheckEvery {
		r.Offset = uint64(i%16) * bs
		if err := q.Submit(r); err != nil {
			t.Fatal(err)
		}
		var err error
		if done, err = q.Reap(done[:0], 1); err != nil || len(done) != 1 || r.Err != nil {
			t.Fatalf("read %d: %d reaped, %v, %v", i, len(done), err, r.Err)
		}
	}
	c0, w0 := e.Clock(), time.Now()
	time.Sleep(20 * time.Millisecond)
	ran, wall := e.Clock()-c0, time.Since(w0)
	if ran < wall/2 || ran > 2*wall {
		t.Errorf("the engine's clock ran %v in %v of CLOCK_MONOTONIC", ran, wall)
	}
	// The clock stood at its calibration's time: it stepped forward by
	// the time since, more than the 10 ms it may stray.
	if s := e.Stats(); s.ClockSteps != 1 || s.ClockStepMax <= 10*time.Millisecond {
		t.Errorf("Stats: %d clock steps, largest %v; want 1, forward by more than 10ms", s.ClockSteps, s.ClockStepMax)
	}
	if info := e.ClockInfo(); !strings.HasPrefix(info, "cpu (") || !strings.Contains(info, "paired with it afresh once") ||
		!strings.Contains(info, " forward") {
		t.Errorf("ClockInfo %q does not report the step", info)
	}
	for _, src := range []engine.ClockSource{engine.ClockCPU, engine.ClockMonotonic} {
		e2, _ := newEngine(t, 16*bs, &sleepyMapper{size: 16 * bs}, func(c *engine.Config) {
			c.Clock, c.NewRing = src, engine.NewNullRing
		})
		if s := e2.Stats(); s.ClockSteps != 0 || s.ClockStepMax != 0 || strings.Contains(e2.ClockInfo(), "afresh") {
			t.Errorf("%v engine made after the step: %d steps, largest %v, %q", src, s.ClockSteps, s.ClockStepMax, e2.ClockInfo())
		}
	}
}

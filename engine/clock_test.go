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

package runner

import (
	"sync"
	"sync/atomic"
)

// Flow control (flow, flow_id, flow_sleep), as fio has it: the clones of
// the jobs with a flow weight that share a flow_id issue I/O in
// proportion to their weights. A clone about to issue compares its share
// of the flow's I/O so far with its share of the flow's weight; ahead of
// it, it holds the I/O back (it waits until its I/O in flight has
// completed and flow_sleep has passed, then looks again), otherwise it
// counts the I/O and issues it.

// flow is the shared state of one flow_id.
type flow struct {
	ios    atomic.Int64 // I/O issued by all its clones
	weight atomic.Int64 // the weights of its clones, summed as fio's unsigned 32-bit total
}

// flowWeight is a job's flow weight as fio 3.33 counts it: an unsigned
// 32-bit number (fio accepts a negative flow, as older fio's flow counter
// took one, and stores it unsigned: flow=-2 weighs 2^32-2).
func flowWeight(flow int) int64 { return int64(uint32(int32(flow))) }

// add adds w to the flow's weight, wrapping as fio's unsigned total does
// (butterfly.fio's flow=2 and flow=-2 sum to 0: neither job is held back,
// its share of the weight being infinite).
func (f *flow) add(w int64) {
	for {
		old := f.weight.Load()
		if f.weight.CompareAndSwap(old, int64(uint32(old+w))) {
			break
		}
	}
	if flowAdded != nil {
		flowAdded(f, w)
	}
}

// Test hooks, nil but in tests (set before a run, cleared after it):
// flowAdded is called after w was added to f's weight (w < 0: a job left
// it), flowTook on a clone's goroutine after take decided (ok: it counted
// the I/O).
var (
	flowAdded func(f *flow, w int64)
	flowTook  func(m *flowMember, ok bool)
)

// flows holds the run's flows by flow_id.
type flows struct {
	mu sync.Mutex
	m  map[int]*flow
}

// join adds clones of weight w (flowWeight's) to flow id and returns the
// flow.
func (fs *flows) join(id int, w int64) *flow {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.m == nil {
		fs.m = map[int]*flow{}
	}
	f := fs.m[id]
	if f == nil {
		f = &flow{}
		fs.m[id] = f
	}
	f.add(w)
	return f
}

// flowMember is a clone's part in a flow.
type flowMember struct {
	f      *flow
	weight int64
	ios    int64 // I/O this clone issued
}

// take reports whether the clone may issue an I/O now, and counts it if
// so: not while its share of the flow's I/O is above its share of the
// flow's weight.
func (m *flowMember) take() bool {
	if all := m.f.ios.Load(); all > 0 && float64(m.ios)/float64(all) > float64(m.weight)/float64(m.f.weight.Load()) {
		if flowTook != nil {
			flowTook(m, false)
		}
		return false
	}
	m.f.ios.Add(1)
	m.ios++
	if flowTook != nil {
		flowTook(m, true)
	}
	return true
}

// leave takes the clone out of its flow when it ends, as fio's thread
// leaves at its exit: its weight and the I/O it counted both go, so the
// clones still running share the flow by their own weights and counts
// alone.
func (m *flowMember) leave() {
	m.f.ios.Add(-m.ios)
	m.f.add(-m.weight)
}

package engine_test

import (
	"testing"

	"github.com/iobench/iobench/engine"
)

// TestHoldForWait: a queue that measured holding new I/O for its wait to
// be faster (batchCtl) submits nothing early: four requests submitted one
// at a time go to the kernel when the caller waits, where submitting
// early takes a system call for each. Only queues with the default early submission
// measure: one given Config.EagerSubmit keeps it.
func TestHoldForWait(t *testing.T) {
	const blocks = 64
	for _, hold := range []bool{false, true} {
		m := newStripeMapper(blocks, bs, 1)
		e, _ := newEngine(t, blocks*bs, m, func(c *engine.Config) { c.QueueDepth = 16 })
		f, q := fileAndQueue(t, e)
		if !q.HoldForWait(hold) {
			t.Fatal("a queue of depth 16 with the default EagerSubmit has no batchCtl")
		}
		before := q.RingEnters()
		reqs := make([]engine.Request, 4)
		for i := range reqs {
			reqs[i] = engine.Request{File: f, Offset: uint64(i) * bs, Buf: e.Buffer(bs)}
			if err := q.Submit(&reqs[i]); err != nil {
				t.Fatal(err)
			}
		}
		enters := q.RingEnters() - before
		for got := 0; got < len(reqs); {
			done, err := q.Reap(nil, 1)
			if err != nil {
				t.Fatal(err)
			}
			got += len(done)
		}
		q.Close()
		if hold && enters != 0 {
			t.Errorf("holding for the wait: %d io_uring_enter calls while 4 reads were submitted one at a time, want none", enters)
		}
		if !hold && enters < 4 {
			t.Errorf("submitting early: %d io_uring_enter calls while 4 reads were submitted one at a time, want one for each", enters)
		}
		for i := range reqs {
			if reqs[i].Err != nil || reqs[i].N != bs {
				t.Errorf("hold %v: read %d: %d bytes, %v", hold, i, reqs[i].N, reqs[i].Err)
			}
		}
	}
	m := newStripeMapper(blocks, bs, 1)
	e, _ := newEngine(t, blocks*bs, m, func(c *engine.Config) { c.QueueDepth, c.EagerSubmit = 16, 8 })
	q, err := e.NewQueue()
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if q.HoldForWait(true) {
		t.Error("a queue given Config.EagerSubmit measures whether to hold: it should keep the threshold given")
	}
}

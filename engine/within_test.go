package engine_test

import (
	"testing"
	"time"

	"github.com/iobench/iobench/engine"
)

// slowRing holds every completion of the ring it wraps for delay before
// Reap hands it out, as a slow device would; Submit waits for that as a
// real ring waits for the device, up to its timeout.
type slowRing struct {
	engine.Ring
	delay time.Duration
	held  []slowCompletion
}

type slowCompletion struct {
	c  engine.Completion
	at time.Time
}

func (r *slowRing) pull() {
	var buf [64]engine.Completion
	for _, c := range buf[:r.Ring.Reap(buf[:])] {
		r.held = append(r.held, slowCompletion{c, time.Now().Add(r.delay)})
	}
}

func (r *slowRing) Submit(waitNr int, timeout time.Duration) error {
	if err := r.Ring.Submit(0, 0); err != nil || waitNr == 0 {
		return err
	}
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	for {
		r.pull()
		next := time.Now().Add(time.Millisecond) // the device has not answered yet
		if len(r.held) > 0 {
			next = r.held[0].at
		}
		if !next.After(time.Now()) {
			return nil
		}
		if !deadline.IsZero() && next.After(deadline) {
			time.Sleep(time.Until(deadline))
			return nil
		}
		time.Sleep(time.Until(next))
	}
}

func (r *slowRing) Reap(dst []engine.Completion) int {
	r.pull()
	n := 0
	for len(r.held) > 0 && n < len(dst) && !r.held[0].at.After(time.Now()) {
		dst[n] = r.held[0].c
		r.held = r.held[1:]
		n++
	}
	return n
}

// TestReapBatchWithin: ReapBatchWithin waits for completions no longer
// than its timeout (a timeout of 0 only looks), returning none when none
// came, where ReapBatch waits until one does.
func TestReapBatchWithin(t *testing.T) {
	const delay = 400 * time.Millisecond
	e, _ := newEngine(t, 1<<20, newStripeMapper(256, bs, 5), func(c *engine.Config) {
		c.QueueDepth = 8
		c.NewRing = func(o engine.RingOptions) (engine.Ring, error) {
			r, err := engine.NewIOURing(o)
			if err != nil {
				return nil, err
			}
			return &slowRing{Ring: r, delay: delay}, nil
		}
	})
	f, err := e.Open("f", engine.FileOptions{Size: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	q, err := e.NewQueue()
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	buf := e.Buffer(bs)
	defer e.PutBuffer(buf)
	start := time.Now()
	if err := q.Submit(&engine.Request{File: f, Offset: 3 * bs, Buf: buf}); err != nil {
		t.Fatal(err)
	}
	done, err := q.ReapBatchWithin(nil, 1, 0, 50*time.Millisecond)
	if took := time.Since(start); err != nil || len(done) != 0 || took >= delay-100*time.Millisecond {
		t.Fatalf("ReapBatchWithin 50 ms before the completion: %d requests, %v, after %v", len(done), err, took)
	}
	if done, err = q.ReapBatchWithin(done, 1, 0, 0); err != nil || len(done) != 0 {
		t.Fatalf("ReapBatchWithin 0: %d requests, %v", len(done), err)
	}
	done, err = q.ReapBatch(done, 1, 0)
	if took := time.Since(start); err != nil || len(done) != 1 || done[0].Err != nil || took < delay-50*time.Millisecond {
		t.Fatalf("ReapBatch: %d requests, %v, after %v (the device takes %v)", len(done), err, took, delay)
	}
}

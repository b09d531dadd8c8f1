package engine_test

import (
	"bytes"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/iobench/iobench/device"
	"github.com/iobench/iobench/device/looptest"
	"github.com/iobench/iobench/engine"
)

// qd1Reads reads n blocks one at a time through a caller-owned queue and
// returns the engine's statistics afterwards.
func qd1Reads(t *testing.T, e *engine.Engine, f *engine.File, n int, write bool) engine.Stats {
	t.Helper()
	return qd1ReadsPaused(t, e, f, n, write, 0)
}

// qd1ReadsPaused is qd1Reads with a sleep of pause (if positive) after
// each I/O has completed, as a rate-limited job pauses.
func qd1ReadsPaused(t *testing.T, e *engine.Engine, f *engine.File, n int, write bool, pause time.Duration) engine.Stats {
	t.Helper()
	onQueue(t, e, func(q *engine.Queue) error {
		r := &engine.Request{File: f, Buf: e.Buffer(bs), Write: write}
		defer e.PutBuffer(r.Buf)
		var done []*engine.Request
		var err error
		for i := range n {
			r.Offset = uint64(i%64) * bs
			if err := q.Submit(r); err != nil {
				return err
			}
			if done, err = q.Reap(done[:0], 1); err != nil {
				return err
			}
			if len(done) != 1 || done[0].Err != nil || done[0].N != bs {
				return fmt.Errorf("I/O %d: %d done, %+v", i, len(done), done)
			}
			if pause > 0 {
				time.Sleep(pause)
			}
		}
		return nil
	})
	return e.Stats()
}

// onQueue runs fn with a queue of its own on a goroutine of its own (a
// queue locks its goroutine to a thread) and fails t with fn's error.
func onQueue(t *testing.T, e *engine.Engine, fn func(q *engine.Queue) error) {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		errc <- func() error {
			q, err := e.NewQueue()
			if err != nil {
				return err
			}
			defer q.Close()
			return fn(q)
		}()
	}()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

// At queue depth 1 an I/O costs an io_uring_enter or two (one submits
// and waits; the wait may be cut into bounded waits, never into more than
// a few when the device answers in microseconds).
func TestRingEntersCounted(t *testing.T) {
	const blocks, n = 64, 200
	e, _ := newEngine(t, blocks*bs, newStripeMapper(blocks, bs, 1), nil)
	f, _ := e.Open("f", engine.FileOptions{})
	s := qd1Reads(t, e, f, n, false)
	if s.RingEnters < n || s.RingEnters > 3*n {
		t.Fatalf("%d io_uring_enter calls for %d reads at queue depth 1; want between %d and %d", s.RingEnters, n, n, 3*n)
	}
	if fs := f.Stats(); fs.RingEnters != 0 {
		t.Errorf("per-file RingEnters = %d, want 0 (the figure is engine-wide)", fs.RingEnters)
	}
}

// TestLoneIOOneEnter: an I/O that is the only one in flight is submitted
// and waited for in one io_uring_enter (Queue.pumpJoined) while the queue
// is busy, on a device that completes it after the submission returns (a
// loop device, whose worker does the read); with Config.SplitSubmit in
// two, but where the completion was already there when the submission
// returned. After a pause (a rate-limited job's) it is submitted alone
// and waited for in a second call.
func TestLoneIOOneEnter(t *testing.T) {
	l := looptest.New(t, 16<<20, looptest.Options{})
	for _, c := range []struct {
		name  string
		split bool
		pause time.Duration
	}{{"busy", false, 0}, {"split", true, 0}, {"paused", false, 200 * time.Microsecond}} {
		t.Run(c.name, func(t *testing.T) {
			d, err := device.Open(l.Path, device.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { d.Close() })
			const blocks = 4096
			n := 400
			if c.pause > 0 {
				n = 100
			}
			e, err := newTestEngine(engine.Config{Devices: []*device.Device{d}, Mapper: newStripeMapper(blocks, bs, 1),
				QueueDepth: 8, SplitSubmit: c.split, NoFollow: true})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if err := e.Close(); err != nil {
					t.Error(err)
				}
			})
			f, _ := e.Open("f", engine.FileOptions{})
			before := e.Stats().RingEnters
			for _, write := range []bool{false, true} {
				qd1ReadsPaused(t, e, f, n, write, c.pause)
			}
			enters := int(e.Stats().RingEnters - before)
			switch {
			case c.name == "busy" && !engine.Checked && (enters < 2*n || enters > 2*n+2*n/10):
				// The first I/O of each queue goes alone: nothing was
				// reaped before it; so does one after the thread was
				// preempted between two I/Os for longer than joinedIdle
				// (9 in 800 with other packages' tests running, in CI). In
				// a checked build (make test's race runs) the queue takes
				// longer than joinedIdle from one I/O to the next; the run
				// without -race checks this.
				t.Errorf("%d io_uring_enter calls for %d reads and writes at depth 1, want one each (and a tenth more at most)", enters, 2*n)
			case c.split && enters <= 2*n+4:
				t.Errorf("%d io_uring_enter calls for %d reads and writes at depth 1 with SplitSubmit, want more than one each for some", enters, 2*n)
			case c.pause > 0 && enters < 4*n-2*n/10:
				// Two each, but where the completion was there when the
				// submission returned (5 in 200 with other tests running).
				t.Errorf("%d io_uring_enter calls for %d reads and writes at depth 1, each after a pause of %v, want two each (a submission, a wait)", enters, 2*n, c.pause)
			}
			t.Logf("%d io_uring_enter calls for %d I/Os", enters, 2*n)
		})
	}
}

// The null ring runs the whole engine path with no device I/O and no
// system call: reads report every byte and leave the buffer as it was,
// writes leave the device untouched.
func TestNullRing(t *testing.T) {
	const blocks = 64
	e, path := newEngine(t, blocks*bs, newStripeMapper(blocks, bs, 4), func(c *engine.Config) {
		c.NewRing = engine.NewNullRing
	})
	if !bytes.Contains([]byte(e.RingInfo()), []byte("null")) {
		t.Errorf("RingInfo %q does not say the ring is null", e.RingInfo())
	}
	f, _ := e.Open("f", engine.FileOptions{Size: blocks * bs})
	before := readFile(t, path)
	buf := e.Buffer(8 * bs)
	defer e.PutBuffer(buf)
	for i := range buf {
		buf[i] = 0xA5
	}
	if n, err := f.WriteAt(buf, 0); n != len(buf) || err != nil {
		t.Fatalf("null write: %d, %v", n, err)
	}
	clear(buf)
	if n, err := f.ReadAt(buf, 4*bs); n != len(buf) || err != nil {
		t.Fatalf("null read: %d, %v", n, err)
	}
	if !bytes.Equal(buf, make([]byte, len(buf))) {
		t.Error("a null read changed the buffer")
	}
	if !bytes.Equal(readFile(t, path), before) {
		t.Error("a null write reached the device")
	}
	if s := e.Stats(); s.IOs == 0 || s.ReadBytes != 8*bs || s.WriteBytes != 8*bs || s.Splits == 0 {
		t.Errorf("stats after null I/O: %+v", s)
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ReapBatch waits for min requests and hands back at most max, keeping the
// rest for the next call (fio's iodepth_batch_complete_min and _max).
func TestReapBatch(t *testing.T) {
	const blocks = 64
	e, _ := newEngine(t, blocks*bs, newStripeMapper(blocks, bs, 1), nil)
	f, _ := e.Open("f", engine.FileOptions{})
	onQueue(t, e, func(q *engine.Queue) error {
		reqs := make([]engine.Request, 8)
		for i := range reqs {
			reqs[i] = engine.Request{File: f, Offset: uint64(i) * bs, Buf: e.Buffer(bs)}
			defer e.PutBuffer(reqs[i].Buf)
			if err := q.Submit(&reqs[i]); err != nil {
				return err
			}
		}
		got, err := q.ReapBatch(nil, 8, 3)
		if err != nil || len(got) != 3 {
			return fmt.Errorf("ReapBatch(min 8, max 3) = %d requests, %v", len(got), err)
		}
		if q.InFlight() != 5 {
			return fmt.Errorf("after taking 3 of 8: InFlight %d, want 5", q.InFlight())
		}
		rest, err := q.ReapBatch(nil, 0, 0)
		if err != nil || len(rest) != 5 {
			return fmt.Errorf("ReapBatch(0, 0) = %d requests, %v; want the 5 kept back", len(rest), err)
		}
		seen := map[*engine.Request]bool{}
		for _, r := range append(got, rest...) {
			if seen[r] || r.Err != nil {
				return fmt.Errorf("request @%d returned twice or failed: %v", r.Offset, r.Err)
			}
			seen[r] = true
		}
		return nil
	})
}

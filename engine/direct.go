package engine

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"
)

// Direct queues: synchronous calls on the caller's thread.
//
// File.ReadAt, File.WriteAt and the engine's other synchronous calls
// (Sync, trims) borrow a direct queue from the engine's pool, lock the
// calling goroutine to its thread, submit their request and wait for it
// on that thread, as pread would, and give the queue back. Handing the
// request to a background queue's goroutine instead costs two goroutine
// hand-offs between threads per call, each a thread wake-up: over NOPs a
// call took 14-26 µs that way against about 1 µs for the same request on
// a queue of the caller's own (BenchmarkReadAtNull, BenchmarkQueueNull at
// depth 1).
//
// A direct queue's ring is set up to be entered from any thread
// (RingOptions.Shared: no SINGLE_ISSUER), since successive calls come
// from different threads (see Queue.call for how a call keeps to one).
// Its waits go through the runtime, as a blocking system call does: a
// call never keeps a P from the program's other goroutines. A request of
// one plain read or write does not reach the ring at all: the ring holds
// it and runs it as pread(2) or pwrite(2) when the call waits
// (iouring.runHeld), which from four goroutines at once ran 1.07x and
// 0.90x pread's own rate where the ring ran 0.71x (BenchmarkSyncReadLoop).
//
// The pool holds at most Config.DirectQueues queues, made on first need;
// a call that finds every one of them busy goes to a background queue.
// Close waits for the calls in progress, then closes the pool's queues.

// directPool lends direct queues.
type directPool struct {
	mu    sync.Mutex
	free  []*Queue // idle, the most recently used last
	made  int      // queues made and not retired
	limit int      // the most there may be
}

// take lends a queue: an idle one, or a new one while fewer than limit
// exist. It returns nil when none may be had; a queue that cannot be made
// (the kernel refuses another ring) ends the making of more.
func (e *Engine) takeDirect() *Queue {
	d := &e.direct
	d.mu.Lock()
	if n := len(d.free); n > 0 {
		q := d.free[n-1]
		d.free[n-1] = nil
		d.free = d.free[:n-1]
		d.mu.Unlock()
		return q
	}
	if d.made >= d.limit {
		d.mu.Unlock()
		return nil
	}
	d.made++
	d.mu.Unlock()
	q, err := e.newQueue(directQueue)
	if err != nil {
		d.mu.Lock()
		d.made--
		d.limit = d.made
		d.mu.Unlock()
		return nil
	}
	return q
}

// putDirect takes a lent queue back; a queue whose ring failed is closed
// instead.
func (e *Engine) putDirect(q *Queue, broken bool) {
	d := &e.direct
	if broken {
		_ = q.closeDirect()
		d.mu.Lock()
		d.made--
		d.mu.Unlock()
		return
	}
	d.mu.Lock()
	d.free = append(d.free, q)
	d.mu.Unlock()
}

// doDirect runs r on a direct queue, on the calling goroutine's thread.
// It reports false, having done nothing, when no direct queue is free.
func (e *Engine) doDirect(r *Request) (int, error, bool) {
	if e.cfg.DirectQueues < 0 {
		return 0, nil, false
	}
	// Held shared for the whole call: Close, which takes it exclusively,
	// waits for the calls in progress.
	e.submitMu.RLock()
	defer e.submitMu.RUnlock()
	if e.closed.Load() {
		return 0, ErrClosed, true
	}
	q := e.takeDirect()
	if q == nil {
		return 0, nil, false
	}
	n, err, broken := q.call(r)
	e.putDirect(q, broken)
	return n, err, true
}

// call submits r, waits for it and returns its outcome. A ring that fails
// is drained of what it holds and reported broken.
//
// The first wait submits and waits in one system call (pumpDirect), on
// whatever thread the goroutine is on; most calls end there. A call that
// needs more (several rounds of device I/O, a retry) locks the goroutine
// to that thread for the rest: without SINGLE_ISSUER the kernel hands a
// completion's work to the thread that submitted the I/O, and a thread
// busy elsewhere in user space would take it up only at its next entry
// into the kernel. Calls that need one round are not locked: a locked
// goroutine whose P was taken during its wait must be handed back to its
// own thread, which an unlocked one needs not. (4 goroutines reading a
// loop device at once, BenchmarkSyncReadLoop: 10.3 and 11.0 µs per read
// with every call locked, 9.3 and 10.8 without, one run each; the
// difference is within the noise of that machine.)
func (q *Queue) call(r *Request) (n int, err error, broken bool) {
	// Delivered to q.ready, rather than on the channel a background
	// queue answers on.
	sync := r.sync
	r.sync = nil
	defer func() { r.sync = sync }()
	q.calls++ // flushed with the tally, before r is delivered
	if err = q.Submit(r); err == nil && len(q.ready) == 0 {
		err = q.pump(q.completionsFor(1), 0)
	}
	if err == nil && len(q.ready) == 0 {
		runtime.LockOSThread()
		for err == nil && len(q.ready) == 0 && q.requests > 0 {
			err = q.pump(q.completionsFor(1), 0)
		}
		runtime.UnlockOSThread()
	}
	if err == nil && len(q.ready) == 1 {
		q.ready[0] = nil
		q.ready = q.ready[:0]
		r.busy = false
		return r.N, r.Err, false
	}
	// The ring failed under the request: complete what is in flight (the
	// caller's buffer must be free when the call returns) and retire the
	// queue. A request that completed all the same reports its outcome.
	runtime.LockOSThread()
	derr := q.drainDirect()
	runtime.UnlockOSThread()
	done := false
	for i, x := range q.ready {
		done = done || x == r
		x.busy = false
		q.ready[i] = nil
	}
	q.ready = q.ready[:0]
	switch {
	case done:
		return r.N, r.Err, true
	case derr != nil:
		return r.N, derr, true
	case err != nil:
		return r.N, err, true
	}
	return r.N, fmt.Errorf("engine: %s: the request did not complete", r.describe()), true
}

// directDrainTries bounds the failed rounds drainDirect makes.
const directDrainTries = 20

// drainDirect is drain for a direct queue whose ring failed under a call:
// it completes what the ring holds, failing what waits for a slot, and
// gives up after directDrainTries rounds that fail (a ring that can no
// longer be entered: the queue is retired and its ring closed, which
// ends in the kernel whatever it still holds).
func (q *Queue) drainDirect() error {
	var last error
	for failed := 0; q.requests > 0; {
		err := q.pump(1, 100*time.Millisecond)
		if err == nil {
			continue
		}
		last = err
		q.failBacklog(err)
		if failed++; failed == directDrainTries {
			return fmt.Errorf("engine: direct queue: %d requests still in flight after %d failed rounds: %w", q.requests, failed, err)
		}
	}
	return last
}

// closeDirect closes a direct queue, which holds no request.
func (q *Queue) closeDirect() error {
	if q.ring == nil {
		return nil
	}
	err := q.ring.Close()
	q.ring = nil
	q.eng.unregister(q)
	return err
}

// closeDirectQueues closes the idle direct queues: at Close, once no call
// holds one.
func (e *Engine) closeDirectQueues() error {
	d := &e.direct
	d.mu.Lock()
	free := d.free
	d.free, d.made, d.limit = nil, 0, 0
	d.mu.Unlock()
	var errs []error
	for _, q := range free {
		if err := q.closeDirect(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

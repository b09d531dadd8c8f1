package engine

import (
	"errors"
	"runtime"
	"time"
)

// Background queues serve requests from any goroutine: File.ReadAt,
// File.WriteAt and Engine.Submit send them over a channel to the queue's
// goroutine, which owns the ring.

// idleWait bounds how long a busy background queue waits in the kernel for
// a completion before it looks at its channel again.
const idleWait = 200 * time.Microsecond

func (e *Engine) startBackground() (*Queue, error) {
	ready := make(chan error, 1)
	var q *Queue
	stopped := make(chan error, 1)
	in := make(chan *Request, e.cfg.QueueDepth)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		var err error
		q, err = e.newQueue(true)
		if err == nil {
			q.in, q.stopped = in, stopped
		}
		ready <- err
		if err != nil {
			return
		}
		stopped <- q.serve()
	}()
	if err := <-ready; err != nil {
		return nil, err
	}
	return q, nil
}

// serve is the background queue's loop. It returns when its channel is
// closed and everything it took has completed.
func (q *Queue) serve() error {
	var fatal error
	open := true
	for open || q.requests > 0 {
		if open && q.requests == 0 {
			r, ok := <-q.in
			if !ok {
				open = false
				continue
			}
			q.take(r, fatal)
		}
		// Take whatever else is waiting, up to a ring's worth.
	drain:
		for n := 0; open && n < q.depth; n++ {
			select {
			case r, ok := <-q.in:
				if !ok {
					open = false
					break drain
				}
				q.take(r, fatal)
			default:
				break drain
			}
		}
		q.fill()
		q.deliver()
		if q.requests == 0 {
			continue
		}
		wait, timeout := 1, idleWait
		if !open {
			timeout = 100 * time.Millisecond
		} else if len(q.in) > 0 {
			wait = 0
		}
		if err := q.pump(wait, timeout); err != nil {
			fatal = err
			q.failBacklog(err)
			if q.inflightIOs() == 0 && !open {
				break
			}
		}
	}
	q.deliver()
	err := q.ring.Close()
	q.eng.unregister(q)
	return errors.Join(fatal, err)
}

// take starts r, or fails it at once when the queue's ring is broken.
func (q *Queue) take(r *Request, fatal error) {
	if fatal != nil {
		r.reset()
		r.q = q
		r.Err = fatal
		q.finished = append(q.finished, r)
		return
	}
	q.start(r)
}

// stopBackground closes the queue's channel and waits for it to finish.
// The caller guarantees nobody sends any more.
func (q *Queue) stopBackground() error {
	close(q.in)
	return <-q.stopped
}

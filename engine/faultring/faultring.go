// Package faultring is a fault-injecting io_uring for tests of the engine:
// it sits behind engine.Config.NewRing and injects errors, short transfers,
// late and reordered completions and completions trickling out a few at a
// time, as a device or kernel would produce them. It is a test tool, in the
// manner of pebble's vfs/errorfs; production code never imports it.
// Discards (Op.Trim) are faulted like transfers: Short shortens the range
// discarded, and the completion reports that many bytes.
//
//	cfg.NewRing = faultring.NewFactory(nil, func(r *faultring.Ring) {
//		r.Inject = func(op *engine.Op) faultring.Fault {
//			if op.Write {
//				return faultring.Fault{Errno: syscall.EIO}
//			}
//			return faultring.Fault{}
//		}
//	})
package faultring

import (
	"syscall"
	"time"

	"github.com/iobench/iobench/engine"
)

// Fault is what a Ring does to one operation.
type Fault struct {
	// Errno, when set, completes the operation with -Errno without
	// handing it to the device.
	Errno syscall.Errno
	// Zero completes the operation with 0 bytes transferred without
	// handing it to the device (what a read at the end of a device gets).
	Zero bool
	// Short, when between 0 and the operation's length, shortens the
	// operation to Short bytes before the device sees it, so the
	// completion reports a short transfer.
	Short uint32
	// Hold delays the operation's completion by this many Reap calls, so
	// completions arrive late and out of order.
	Hold int
}

// Ring wraps an engine.Ring and injects faults at the ring boundary, as a
// device or kernel would produce them: errors, short transfers, late and
// reordered completions, and completions trickling out a few at a time (a
// consumer falling behind, the engine's view of CQ overflow).
//
// Like any engine.Ring it is used by one goroutine.
type Ring struct {
	Inner engine.Ring
	// Inject is called for every operation queued; nil injects nothing.
	Inject func(op *engine.Op) Fault
	// MaxReap, when positive, caps how many completions one Reap returns.
	MaxReap int
	// Observe, when set, sees every operation queued (done false) and
	// every completion handed to the engine (done true, with its result).
	Observe func(op engine.Op, done bool, res int32)

	synth []engine.Completion // completions made up by the ring
	held  []heldCompletion
	holds map[uint64]int       // user data -> Reap calls to hold
	ops   map[uint64]engine.Op // in flight, when observing
}

type heldCompletion struct {
	c    engine.Completion
	left int
}

// NewFactory returns an engine.RingFactory that wraps every ring inner
// creates (nil: io_uring) in a Ring, which setup configures. Each
// queue's ring calls the hooks from that queue's goroutine, so hooks shared
// by several queues must be safe for concurrent use.
func NewFactory(inner engine.RingFactory, setup func(*Ring)) engine.RingFactory {
	if inner == nil {
		inner = engine.NewIOURing
	}
	return func(opts engine.RingOptions) (engine.Ring, error) {
		r, err := inner(opts)
		if err != nil {
			return nil, err
		}
		f := &Ring{Inner: r}
		if setup != nil {
			setup(f)
		}
		return f, nil
	}
}

// Queue implements engine.Ring.
func (f *Ring) Queue(op *engine.Op) bool {
	var fault Fault
	if f.Inject != nil {
		fault = f.Inject(op)
	}
	if f.Observe != nil {
		if f.ops == nil {
			f.ops = make(map[uint64]engine.Op)
		}
		f.ops[op.UserData] = *op
		f.Observe(*op, false, 0)
	}
	if fault.Errno != 0 || fault.Zero {
		f.synth = append(f.synth, engine.Completion{UserData: op.UserData, Res: -int32(fault.Errno)})
		return true
	}
	o := *op
	if fault.Short > 0 && fault.Short < o.Len {
		o.Len = fault.Short
	}
	if !f.Inner.Queue(&o) {
		return false
	}
	if fault.Hold > 0 {
		if f.holds == nil {
			f.holds = make(map[uint64]int)
		}
		f.holds[op.UserData] = fault.Hold
	}
	return true
}

// Submit implements engine.Ring. It never blocks while made-up or held
// completions are waiting, since the kernel knows nothing of them.
func (f *Ring) Submit(waitNr int, timeout time.Duration) error {
	if len(f.synth) > 0 || len(f.held) > 0 {
		return f.Inner.Submit(0, 0)
	}
	return f.Inner.Submit(waitNr, timeout)
}

// Reap implements engine.Ring.
func (f *Ring) Reap(dst []engine.Completion) int {
	if f.MaxReap > 0 && len(dst) > f.MaxReap {
		dst = dst[:f.MaxReap]
	}
	n := 0
	// Held completions age by one Reap call each.
	keep := f.held[:0]
	for _, h := range f.held {
		h.left--
		if h.left <= 0 && n < len(dst) {
			dst[n] = h.c
			n++
			continue
		}
		keep = append(keep, h)
	}
	f.held = keep
	defer f.observe(dst[:0], &n)
	for n < len(dst) && len(f.synth) > 0 {
		dst[n] = f.synth[0]
		f.synth = f.synth[1:]
		n++
	}
	if n == len(dst) {
		return n
	}
	start := n
	got := f.Inner.Reap(dst[start:])
	for i := start; i < start+got; i++ {
		c := dst[i]
		if hold, ok := f.holds[c.UserData]; ok {
			delete(f.holds, c.UserData)
			f.held = append(f.held, heldCompletion{c: c, left: hold})
			continue
		}
		dst[n] = c
		n++
	}
	return n
}

// RegisterBuffers implements engine.Ring.
func (f *Ring) RegisterBuffers(bufs [][]byte) error { return f.Inner.RegisterBuffers(bufs) }

// RegisterFiles implements engine.Ring.
func (f *Ring) RegisterFiles(fds []int32) error { return f.Inner.RegisterFiles(fds) }

// Info implements engine.Ring.
func (f *Ring) Info() string { return f.Inner.Info() + " (fault injection)" }

// Enters implements engine.Ring.
func (f *Ring) Enters() uint64 { return f.Inner.Enters() }

// Close implements engine.Ring.
func (f *Ring) Close() error { return f.Inner.Close() }

// observe reports the completions in dst[:*n] to Observe.
func (f *Ring) observe(dst []engine.Completion, n *int) {
	if f.Observe == nil {
		return
	}
	for _, c := range dst[:*n] {
		op := f.ops[c.UserData]
		delete(f.ops, c.UserData)
		f.Observe(op, true, c.Res)
	}
}

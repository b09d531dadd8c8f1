package engine_test

import (
	"errors"
	"syscall"
	"testing"

	"github.com/iobench/iobench/engine"
	"github.com/iobench/iobench/engine/faultring"
)

// TestSyncRequests: a flush request issues one IORING_OP_FSYNC per device
// (fdatasync with the datasync flag), moves no data, completes on a
// caller's queue like any request, and reports a device error as an
// IOError naming the flush.
func TestSyncRequests(t *testing.T) {
	var ops []engine.Op
	failSync := false
	e, _ := newEngine(t, 64*bs, newStripeMapper(64, bs, 1), faults(func(f *faultring.Ring) {
		f.Observe = func(op engine.Op, done bool, res int32) {
			if !done {
				ops = append(ops, op)
			}
		}
		f.Inject = func(op *engine.Op) faultring.Fault {
			if failSync && op.Sync != engine.NoSync {
				return faultring.Fault{Errno: syscall.EIO}
			}
			return faultring.Fault{}
		}
	}))
	f, _ := e.Open("f", engine.FileOptions{})
	errc := make(chan error, 1)
	go func() { errc <- flushes(e, f, &failSync) }()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	checkSyncOps(t, ops)
}

// flushes writes a block, flushes with fdatasync, then has an fsync fail.
func flushes(e *engine.Engine, f *engine.File, failSync *bool) error {
	q, err := e.NewQueue()
	if err != nil {
		return err
	}
	defer q.Close()
	w := engine.Request{File: f, Offset: 0, Buf: e.Buffer(bs), Write: true}
	defer e.PutBuffer(w.Buf)
	s := engine.Request{File: f, Sync: engine.Fdatasync, Buf: e.Buffer(bs)} // Buf is not used
	defer e.PutBuffer(s.Buf)
	var done []*engine.Request
	for _, r := range []*engine.Request{&w, &s} {
		if err := q.Submit(r); err != nil {
			return err
		}
		if done, err = q.Reap(done[:0], 1); err != nil || len(done) != 1 || done[0].Err != nil {
			return errors.Join(err, r.Err, errors.New("request failed"))
		}
	}
	if s.N != 0 || s.Latency <= 0 {
		return errors.New("flush: N or latency wrong")
	}
	*failSync = true
	s.Sync = engine.Fsync
	q.Submit(&s)
	done, _ = q.Reap(done[:0], 1)
	var ioe *engine.IOError
	if len(done) != 1 || !errors.As(s.Err, &ioe) || ioe.Op != "fsync" || !errors.Is(s.Err, syscall.EIO) {
		return errors.New("failed flush: " + errString(s.Err))
	}
	return nil
}

func checkSyncOps(t *testing.T, ops []engine.Op) {
	var syncs, datasyncs int
	for _, op := range ops {
		switch op.Sync {
		case engine.Fdatasync:
			datasyncs++
		case engine.Fsync:
			syncs++
		}
		if op.Sync != engine.NoSync && op.Len != 0 {
			t.Errorf("flush op carries %d bytes", op.Len)
		}
	}
	if datasyncs != 1 || syncs != 1 {
		t.Errorf("%d fdatasync and %d fsync ops, want one each (one device)", datasyncs, syncs)
	}
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

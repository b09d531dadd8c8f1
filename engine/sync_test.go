package engine_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/iobench/iobench/engine"
	"github.com/iobench/iobench/engine/faultring"
	"github.com/iobench/iobench/engine/mapper"
)

// TestDeviceIOAndSync writes and reads device blocks around files and
// mappers, and checks that Sync and FlushDevice reach the ring as
// IORING_OP_FSYNC operations that complete without error.
func TestDeviceIOAndSync(t *testing.T) {
	var mu sync.Mutex
	var fsyncs, writes int
	var order []string
	e, _ := newEngine(t, 1<<20, mapper.NewLinear(0, 0, 0), func(c *engine.Config) {
		c.NewRing = faultring.NewFactory(nil, func(f *faultring.Ring) {
			f.Observe = func(op engine.Op, done bool, res int32) {
				if !done {
					return
				}
				mu.Lock()
				defer mu.Unlock()
				if res < 0 {
					t.Errorf("op %+v failed: %d", op, res)
				}
				switch {
				case op.Sync != engine.NoSync:
					fsyncs++
					order = append(order, fmt.Sprintf("flush link=%v", op.Link))
				case op.Write:
					writes++
					order = append(order, fmt.Sprintf("write link=%v", op.Link))
				}
			}
		})
	})
	buf := e.Buffer(2 * bs)
	defer e.PutBuffer(buf)
	for i := range buf {
		buf[i] = byte(i * 13)
	}
	want := bytes.Clone(buf)
	if err := e.WriteDevice(0, buf, 4*bs); err != nil {
		t.Fatal(err)
	}
	if err := e.FlushDevice(0); err != nil {
		t.Fatal(err)
	}
	if err := e.Sync(); err != nil {
		t.Fatal(err)
	}
	f, err := e.Open("raw", engine.FileOptions{Size: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	clear(buf)
	if err := e.ReadDevice(0, buf, 4*bs); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf, want) {
		t.Fatal("device read does not return the device write")
	}
	mu.Lock()
	if fsyncs != 3 || writes != 1 {
		t.Errorf("ring saw %d fsyncs and %d writes, want 3 and 1", fsyncs, writes)
	}
	mu.Unlock()

	// A commit is flush, write, flush, linked, in that order.
	mu.Lock()
	order = order[:0]
	mu.Unlock()
	fill := bytes.Repeat([]byte{0xc3}, bs)
	copy(buf, fill)
	if err := e.CommitDevice(0, buf[:bs], 8*bs); err != nil {
		t.Fatal(err)
	}
	clear(buf)
	if err := e.ReadDevice(0, buf[:bs], 8*bs); err != nil || !bytes.Equal(buf[:bs], fill) {
		t.Fatalf("commit did not write (%v)", err)
	}
	mu.Lock()
	if got := strings.Join(order, ", "); got != "flush link=true, write link=true, flush link=false" {
		t.Errorf("commit reached the ring as %s", got)
	}
	mu.Unlock()

	// Bad requests fail with errors, not panics.
	if err := e.WriteDevice(0, buf, 1<<20); !errors.Is(err, engine.ErrBadMapping) {
		t.Errorf("write past the device: %v", err)
	}
	if err := e.WriteDevice(0, buf[:100], 0); !errors.Is(err, engine.ErrUnaligned) {
		t.Errorf("unaligned write: %v", err)
	}
	if err := e.FlushDevice(3); !errors.Is(err, engine.ErrBadMapping) {
		t.Errorf("flush of a missing device: %v", err)
	}

	// The same on a caller-owned queue.
	q, err := e.NewQueue()
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	mu.Lock()
	before := fsyncs
	mu.Unlock()
	if err := q.Sync(); err != nil {
		t.Fatal(err)
	}
	copy(buf, want)
	if err := q.CommitDevice(0, buf[:bs], 9*bs); err != nil {
		t.Fatal(err)
	}
	clear(buf)
	if err := q.ReadDevice(0, buf[:bs], 9*bs); err != nil || !bytes.Equal(buf[:bs], want[:bs]) {
		t.Fatalf("queue commit did not write (%v)", err)
	}
	if err := q.WriteDevice(0, buf, 1<<20); !errors.Is(err, engine.ErrBadMapping) {
		t.Errorf("queue write past the device: %v", err)
	}
	mu.Lock()
	if fsyncs != before+3 {
		t.Errorf("queue sync and commit made %d flushes, want 3", fsyncs-before)
	}
	mu.Unlock()
}

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

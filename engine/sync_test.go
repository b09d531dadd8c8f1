package engine_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
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
				case op.Fsync:
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

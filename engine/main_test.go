package engine_test

import (
	"bytes"
	"testing"

	"github.com/iobench/iobench/device"
	"github.com/iobench/iobench/device/looptest"
	"github.com/iobench/iobench/engine"
	"go.uber.org/goleak"
)

// TestMain fails the run if a goroutine (a queue that did not stop) or a
// loop device survives the tests.
func TestMain(m *testing.M) {
	looptest.Main(&leakCheck{m})
}

type leakCheck struct{ m *testing.M }

func (l *leakCheck) Run() int {
	code := l.m.Run()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			println("goroutines left behind:", err.Error())
			return 1
		}
	}
	return code
}

// TestLoopDeviceRoundTrip runs the engine on a real block device (a loop
// device with 4 KiB logical blocks), with registered files and fixed
// buffers.
func TestLoopDeviceRoundTrip(t *testing.T) {
	l := looptest.New(t, 16<<20, looptest.Options{LogicalBlockSize: 4096})
	d, err := device.Open(l.Path, device.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	const blocks = 4096
	m := newStripeMapper(blocks, bs, 21)
	e, err := engine.New(engine.Config{Devices: []*device.Device{d}, Mapper: m,
		FixedBuffers: true, RegisterFiles: true, Queues: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := e.Close(); err != nil {
			t.Error(err)
		}
	}()
	if off, _ := e.Alignment(); off != 4096 {
		t.Fatalf("alignment %d on a 4 KiB device", off)
	}
	t.Logf("ring: %s", e.RingInfo())
	f, _ := e.Open("f", engine.FileOptions{})
	b := e.Buffer(1 << 20)
	defer e.PutBuffer(b)
	want := make([]byte, len(b))
	fill(want, 99)
	copy(b, want)
	if _, err := f.WriteAt(b, 8<<20); err != nil {
		t.Fatal(err)
	}
	clear(b)
	if _, err := f.ReadAt(b, 8<<20); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, want) {
		t.Fatal("loop device round trip differs")
	}
	small := e.Buffer(512)
	defer e.PutBuffer(small)
	if _, err := f.ReadAt(small[:512], 0); err == nil {
		t.Fatal("512-byte read on a 4 KiB device accepted")
	}
}

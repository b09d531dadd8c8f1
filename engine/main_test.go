package engine_test

import (
	"bytes"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/iobench/iobench/device"
	"github.com/iobench/iobench/device/looptest"
	"github.com/iobench/iobench/engine"
)

// TestMain fails the run if a goroutine (a queue that did not stop) or a
// loop device survives the tests.
func TestMain(m *testing.M) {
	looptest.MainNoLeaks(m)
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
	e, err := newTestEngine(engine.Config{Devices: []*device.Device{d}, Mapper: m,
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

// countFDs and countMaps read /proc/self for the open file descriptors and
// memory mappings of the test process.
func countFDs(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	return len(ents)
}

// mappings returns /proc/self/maps: each mapping's range and name.
func mappings(t *testing.T) []mapping {
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Skipf("no /proc/self/maps: %v", err)
	}
	var out []mapping
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Fields(line)
		lo, hi, ok := strings.Cut(f[0], "-")
		if !ok {
			t.Fatalf("/proc/self/maps line %q", line)
		}
		m := mapping{name: f[len(f)-1]}
		m.lo, _ = strconv.ParseUint(lo, 16, 64)
		m.hi, _ = strconv.ParseUint(hi, 16, 64)
		out = append(out, m)
	}
	return out
}

type mapping struct {
	lo, hi uint64
	name   string
}

// ringMappings counts the io_uring mappings among ms.
func ringMappings(ms []mapping) int {
	n := 0
	for _, m := range ms {
		if strings.Contains(m.name, "io_uring") {
			n++
		}
	}
	return n
}

// settledFDs counts the open file descriptors once the descriptors of
// Devices closed earlier (kept until the Device is garbage) are gone:
// garbage collections until the count holds still.
func settledFDs(t *testing.T) int {
	n := -1
	for range 20 {
		runtime.GC()
		time.Sleep(5 * time.Millisecond) // cleanups run on their own goroutine
		m := countFDs(t)
		if m == n {
			return m
		}
		n = m
	}
	return n
}

// TestCloseReleasesEverything: after Engine.Close nothing the engine made
// survives: ring file descriptors, ring and arena mappings, registered
// buffers and files (unregistered before the rings close), goroutines
// (checked by TestMain).
func TestCloseReleasesEverything(t *testing.T) {
	path := backing(t, 1<<20)
	d := openDev(t, path, false)
	fds, rings := settledFDs(t), ringMappings(mappings(t))
	var arenas []mapping // each engine's buffer arena, while it was open
	for range 3 {
		e, err := newTestEngine(engine.Config{Devices: []*device.Device{d}, Mapper: newStripeMapper(256, bs, 1),
			Queues: 2, FixedBuffers: true, RegisterFiles: true})
		if err != nil {
			t.Fatal(err)
		}
		f, _ := e.Open("f", engine.FileOptions{})
		b := e.Buffer(bs)
		if _, err := f.ReadAt(b, 0); err != nil {
			t.Fatal(err)
		}
		addr := uint64(uintptr(unsafe.Pointer(&b[0])))
		for _, m := range mappings(t) {
			if m.lo <= addr && addr < m.hi {
				arenas = append(arenas, m)
			}
		}
		done := make(chan error, 1)
		go func() {
			q, err := e.NewQueue()
			if err == nil {
				err = q.Close()
			}
			done <- err
		}()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		e.PutBuffer(b)
		if got := countFDs(t); got <= fds {
			t.Fatalf("an open engine holds no file descriptors (%d, before %d)", got, fds)
		}
		if got := ringMappings(mappings(t)); got <= rings {
			t.Fatalf("an open engine maps no rings (%d io_uring mappings, before %d)", got, rings)
		}
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if got := settledFDs(t); got != fds {
		t.Fatalf("%d file descriptors after Close, %d before", got, fds)
	}
	// The rings' mappings are gone, and so are the arenas' (counting all
	// mappings would count the Go runtime's heap growth too).
	ms := mappings(t)
	if got := ringMappings(ms); got != rings {
		t.Fatalf("%d io_uring mappings after Close, %d before", got, rings)
	}
	if len(arenas) != 3 {
		t.Fatalf("found %d arena mappings for 3 engines", len(arenas))
	}
	for _, a := range arenas {
		for _, m := range ms {
			if m.lo == a.lo && m.hi == a.hi {
				t.Fatalf("an arena's mapping %#x-%#x is still there after Close", a.lo, a.hi)
			}
		}
	}
}

package engine_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/iobench/iobench/device"
	"github.com/iobench/iobench/device/looptest"
	"github.com/iobench/iobench/engine"
	"golang.org/x/sys/unix"
	"unsafe"
)

// Real faults from the kernel, no device-mapper needed: loop devices over
// files on a small tmpfs (ENOSPC), switched read-only (EPERM), over a
// truncated backing file (I/O past the end), and engines closed under load.

// smallTmpfs mounts a tmpfs of sizeBytes on a temporary directory.
func smallTmpfs(t *testing.T, sizeBytes int) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting tmpfs needs root")
	}
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size="+itoa(sizeBytes)); err != nil {
		t.Skipf("cannot mount tmpfs: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
	return dir
}

// loopOver attaches a loop device (direct I/O) to a sparse file of
// sizeBytes in dir, detached at cleanup.
func loopOver(t *testing.T, dir string, sizeBytes int64) (*device.Loop, string) {
	t.Helper()
	path := filepath.Join(dir, "backing.img")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	f.Truncate(sizeBytes)
	f.Close()
	l, err := device.AttachLoop(path, device.LoopOptions{DirectIO: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := l.Detach(); err != nil {
			t.Error(err)
		}
	})
	return l, path
}

func engineOn(t *testing.T, path string, m engine.Mapper) *engine.Engine {
	t.Helper()
	d, err := device.Open(path, device.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	e, err := newTestEngine(engine.Config{Devices: []*device.Device{d}, Mapper: m, QueueDepth: 32})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Error(err)
		}
	})
	return e
}

// TestENOSPCOutOfPlace: a loop device over a sparse 32 MiB file on an
// 8 MiB tmpfs fails writes with ENOSPC once tmpfs is full. Out-of-place
// rewrites that fail leave the old data readable, the engine keeps
// running, and every acknowledged write verifies afterwards.
func TestENOSPCOutOfPlace(t *testing.T) {
	dir := smallTmpfs(t, 8<<20)
	l, _ := loopOver(t, dir, 32<<20)
	const fileBlocks, devBlocks = 256, 8192 // a 1 MiB file on a 32 MiB device
	m := newCOWMapper(devBlocks, fileBlocks, bs)
	e := engineOn(t, l.Path(), m)
	f, _ := e.Open("f", engine.FileOptions{})
	buf := e.Buffer(bs)
	defer e.PutBuffer(buf)
	gens := make([]uint64, fileBlocks)
	var nospc int
	for round := uint64(1); round <= 40 && nospc < 50; round++ {
		for blk := range uint64(fileBlocks) {
			stamp(buf, blk, round)
			_, err := f.WriteAt(buf, int64(blk*bs))
			switch {
			case err == nil:
				gens[blk] = round
			case errors.Is(err, syscall.ENOSPC):
				nospc++
			default:
				t.Fatalf("round %d block %d: %v", round, blk, err)
			}
		}
	}
	if nospc == 0 {
		t.Fatal("tmpfs never ran out of space")
	}
	for blk := range uint64(fileBlocks) {
		if _, err := f.ReadAt(buf, int64(blk*bs)); err != nil {
			t.Fatal(err)
		}
		if gens[blk] == 0 {
			if !bytes.Equal(buf, make([]byte, bs)) {
				t.Fatalf("block %d was never written but is not a hole", blk)
			}
			continue
		}
		gen, err := checkStamp(buf, blk)
		if err != nil || gen != gens[blk] {
			t.Fatalf("block %d: generation %d, want the last acknowledged %d (%v)", blk, gen, gens[blk], err)
		}
	}
	t.Logf("%d writes failed with ENOSPC; all acknowledged writes verified", nospc)
}

// TestENOSPCInPlace: in-place writes past tmpfs' space fail with ENOSPC and
// name the device and address; what was written before stays.
func TestENOSPCInPlace(t *testing.T) {
	dir := smallTmpfs(t, 4<<20)
	l, _ := loopOver(t, dir, 16<<20)
	const blocks = 4096
	e := engineOn(t, l.Path(), newStripeMapper(blocks, bs, 5))
	f, _ := e.Open("f", engine.FileOptions{})
	b := e.Buffer(64 << 10)
	defer e.PutBuffer(b)
	var written int64
	var err error
	for off := int64(0); off < blocks*bs; off += int64(len(b)) {
		fill(b, uint64(off))
		if _, err = f.WriteAt(b, off); err != nil {
			break
		}
		written = off + int64(len(b))
	}
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("writing 16 MiB to a 4 MiB tmpfs: %v, want ENOSPC", err)
	}
	var ioErr *engine.IOError
	if !errors.As(err, &ioErr) || ioErr.DevPath != l.Path() {
		t.Fatalf("error does not name the device: %v", err)
	}
	want := make([]byte, len(b))
	for off := int64(0); off < written; off += int64(len(b)) {
		if _, err := f.ReadAt(b, off); err != nil {
			t.Fatal(err)
		}
		fill(want, uint64(off))
		if !bytes.Equal(b, want) {
			t.Fatalf("acknowledged data at %d lost", off)
		}
	}
}

// TestReadOnlySwitch: a device switched read-only (BLKROSET, what
// `blockdev --setro` does) mid-run fails writes with EPERM and serves
// reads; switched back, writing resumes.
func TestReadOnlySwitch(t *testing.T) {
	l := looptest.New(t, 8<<20, looptest.Options{})
	e := engineOn(t, l.Path, newStripeMapper(2048, bs, 6))
	f, _ := e.Open("f", engine.FileOptions{})
	b := e.Buffer(bs)
	defer e.PutBuffer(b)
	fill(b, 1)
	if _, err := f.WriteAt(b, 0); err != nil {
		t.Fatal(err)
	}
	setRO := func(ro int) {
		fd, err := unix.Open(l.Path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer unix.Close(fd)
		if err := unix.IoctlSetPointerInt(fd, unix.BLKROSET, ro); err != nil {
			t.Fatal(err)
		}
	}
	setRO(1)
	defer setRO(0)
	if _, err := f.WriteAt(b, bs); !errors.Is(err, syscall.EPERM) {
		t.Fatalf("write to a read-only device: %v, want EPERM", err)
	}
	if _, err := f.ReadAt(b, 0); err != nil {
		t.Fatalf("read from a read-only device: %v", err)
	}
	setRO(0)
	if _, err := f.WriteAt(b, bs); err != nil {
		t.Fatalf("write after switching back: %v", err)
	}
}

// TestTruncatedBacking: after the backing file shrinks, I/O past its end
// fails or completes short; it is never taken as a full transfer, and
// after the loop device picks up the new size (losetup -c) requests past
// the end are refused by the engine's validation.
func TestTruncatedBacking(t *testing.T) {
	l := looptest.New(t, 8<<20, looptest.Options{})
	e := engineOn(t, l.Path, newStripeMapper(2048, bs, 7))
	f, _ := e.Open("f", engine.FileOptions{})
	b := e.Buffer(1 << 20)
	defer e.PutBuffer(b)
	fill(b, 2)
	for off := int64(0); off < 8<<20; off += 1 << 20 {
		if _, err := f.WriteAt(b, off); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Truncate(l.Backing, 4<<20); err != nil {
		t.Fatal(err)
	}
	// Blocks still inside the backing file read fine; past its end the
	// loop driver returns errors or short reads, which must surface.
	var failures int
	for off := int64(0); off < 8<<20; off += 1 << 20 {
		n, err := f.ReadAt(b, off)
		if err != nil {
			failures++
			continue
		}
		if n != len(b) {
			t.Fatalf("read at %d: %d bytes without an error", off, n)
		}
	}
	t.Logf("%d of 8 reads failed after truncation to 4 MiB", failures)
	if err := l.Loop.Resize(); err != nil {
		t.Fatal(err)
	}
	d, err := device.Open(l.Path, device.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	size := d.Geometry().SizeBytes
	d.Close()
	if size != 4<<20 {
		t.Fatalf("after resize the device has %d bytes", size)
	}
}

// TestCloseUnderLoad: Engine.Close while goroutines keep submitting: every
// request completes (done or ErrClosed), nothing hangs or is dropped.
func TestCloseUnderLoad(t *testing.T) {
	m := newStripeMapper(1024, bs, 8)
	path := backing(t, 1024*bs)
	d := openDev(t, path, false)
	e, err := newTestEngine(engine.Config{Devices: []*device.Device{d}, Mapper: m, Queues: 2, QueueDepth: 16})
	if err != nil {
		t.Fatal(err)
	}
	f, _ := e.Open("f", engine.FileOptions{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	results := map[string]int{}
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 2*bs+4096)
			off := 4096 - int(uintptrOf(buf)%4096)
			b := buf[off : off+2*bs]
			for i := 0; ; i++ {
				_, err := f.ReadAt(b, int64((g*100+i)%1000)*bs)
				mu.Lock()
				switch {
				case err == nil:
					results["ok"]++
				case errors.Is(err, engine.ErrClosed):
					results["closed"]++
				default:
					results[err.Error()]++
				}
				mu.Unlock()
				if err != nil {
					return
				}
			}
		}()
	}
	time.Sleep(50 * time.Millisecond)
	done := make(chan error, 1)
	go func() { done <- e.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close hung with I/O in flight")
	}
	wg.Wait()
	if results["ok"] == 0 || results["closed"] != 8 || len(results) != 2 {
		t.Fatalf("results: %v", results)
	}
}

func uintptrOf(b []byte) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(b))) }

// TestDeviceGoneUnderLoad: the backing file of a loop device vanishes (is
// truncated to nothing) and the device is detached while readers and
// writers run. Requests fail with errors or complete; none hangs, and the
// engine shuts down cleanly. (The kernel defers a loop detach until the
// last opener closes, so the detach itself fails nothing: the truncation
// is what takes the data away. A write extends the backing file again up
// to its block, giving the reads below it their blocks back as zeros: the
// writers hold off from the truncation until the readers have run into
// the void for a while, so that reads fail under any load; with all of
// them running throughout, a loaded machine once saw no read fail.)
func TestDeviceGoneUnderLoad(t *testing.T) {
	l := looptest.New(t, 16<<20, looptest.Options{})
	d, err := device.Open(l.Path, device.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	e, err := newTestEngine(engine.Config{Devices: []*device.Device{d}, Mapper: newStripeMapper(4096, bs, 9), Queues: 2, QueueDepth: 16})
	if err != nil {
		t.Fatal(err)
	}
	f, _ := e.Open("f", engine.FileOptions{})
	var wg sync.WaitGroup
	var ok, failed atomic.Int64
	stop := make(chan struct{})
	var held atomic.Bool       // writers hold off
	var holding sync.WaitGroup // writers that have not yet held off
	holding.Add(3)
	for g := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := e.Buffer(bs)
			defer e.PutBuffer(b)
			acked := false
			for i := 0; ; i++ {
				select {
				case <-stop:
					if g%2 == 0 && !acked {
						holding.Done()
					}
					return
				default:
				}
				if g%2 == 0 && held.Load() {
					if !acked {
						acked = true
						holding.Done()
					}
					time.Sleep(time.Millisecond)
					continue
				}
				off := int64((g*1000+i)%4096) * bs
				var err error
				if g%2 == 0 {
					_, err = f.WriteAt(b, off)
				} else {
					_, err = f.ReadAt(b, off)
				}
				if err != nil {
					failed.Add(1)
				} else {
					ok.Add(1)
				}
			}
		}()
	}
	time.Sleep(50 * time.Millisecond)
	held.Store(true)
	holding.Wait() // no write in flight
	if err := os.Truncate(l.Backing, 0); err != nil {
		t.Fatal(err)
	}
	_ = l.Loop.Detach()
	// Readers alone until reads have failed (a few ms unloaded), then
	// the writers too.
	for deadline := time.Now().Add(5 * time.Second); failed.Load() == 0 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	held.Store(false)
	time.Sleep(100 * time.Millisecond)
	close(stop)
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(10 * time.Second):
		t.Fatal("requests hung after the device went away")
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if failed.Load() == 0 {
		t.Fatalf("no request failed after the backing file vanished (%d succeeded)", ok.Load())
	}
	t.Logf("%d requests completed, %d failed with errors after the device went away", ok.Load(), failed.Load())
}

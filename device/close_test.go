package device_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/iobench/iobench/device"
	"golang.org/x/sys/unix"
)

// TestClosedDeviceFdRefusesIO: after Close, a write through the descriptor
// number a holder kept does not land in a file opened afterwards (which
// would otherwise reuse the number); it fails with EBADF. A second Close
// says the device is closed.
func TestClosedDeviceFdRefusesIO(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	for _, p := range []string{a, b} {
		if err := os.WriteFile(p, make([]byte, 4096), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	d, err := device.Open(a, device.Options{NoDirect: true})
	if err != nil {
		t.Fatal(err)
	}
	stale := d.Fd()
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if d.Fd() != -1 || !d.Closed() {
		t.Fatalf("after Close: Fd %d, Closed %v", d.Fd(), d.Closed())
	}
	if err := d.Close(); !errors.Is(err, device.ErrClosed) {
		t.Fatalf("second Close: %v, want ErrClosed", err)
	}
	other, err := os.OpenFile(b, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if int(other.Fd()) == stale {
		t.Fatalf("the closed device's descriptor %d was reused while the Device is reachable", stale)
	}
	if _, err := unix.Pwrite(stale, []byte("stray write"), 0); !errors.Is(err, unix.EBADF) {
		t.Fatalf("write through the stale descriptor: %v, want EBADF", err)
	}
	got, _ := os.ReadFile(b)
	if !bytes.Equal(got, make([]byte, 4096)) {
		t.Fatal("a write through a closed device's descriptor landed in another file")
	}
	got, _ = os.ReadFile(a)
	if !bytes.Equal(got, make([]byte, 4096)) {
		t.Fatal("a write after Close landed in the closed device's file")
	}
}

// TestAutoClearLoop: an AutoClear loop device stays attached while the
// Loop holds it, also with its backing file unlinked, and is gone after
// Detach even while another opener still holds it until that one closes.
func TestAutoClearLoop(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for loop devices")
	}
	if _, err := os.Stat("/dev/loop-control"); err != nil {
		t.Skip("no loop devices")
	}
	backing := filepath.Join(t.TempDir(), "autoclear.img")
	if err := os.WriteFile(backing, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	os.Truncate(backing, 8<<20)
	l, err := device.AttachLoop(backing, device.LoopOptions{AutoClear: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Detach() })
	// udev may open and close the device right after attach: it must
	// stay attached, held by the Loop.
	time.Sleep(200 * time.Millisecond)
	if err := os.Remove(backing); err != nil {
		t.Fatal(err)
	}
	if got := device.LoopBacking()[l.Path()]; got != backing+" (deleted)" {
		t.Fatalf("%s backing %q, want %q", l.Path(), got, backing+" (deleted)")
	}
	d, err := device.Open(l.Path(), device.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Detach(); err != nil {
		t.Fatal(err)
	}
	d.Close()
	for i := 0; ; i++ {
		if _, ok := device.LoopBacking()[l.Path()]; !ok {
			break
		}
		if i == 50 {
			t.Fatalf("%s still attached after Detach and the last close", l.Path())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

package mapper

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/iobench/iobench/device"
	"github.com/iobench/iobench/engine"
)

// shmImage creates a zeroed image file of sizeBytes on tmpfs (O_DIRECT
// works there) and returns its path.
func shmImage(t testing.TB, sizeBytes int64) string {
	t.Helper()
	dir := t.TempDir()
	if d, err := os.MkdirTemp("/dev/shm", "cowlog-test-"); err == nil {
		t.Cleanup(func() { os.RemoveAll(d) })
		dir = d
	}
	p := filepath.Join(dir, "dev.img")
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(p, sizeBytes); err != nil {
		t.Fatal(err)
	}
	return p
}

// logEngine opens the cowlog at path and an engine over it; both are
// closed at cleanup (or earlier through the returned stop).
func logEngine(t testing.TB, path string, cfg COWLogConfig, ecfg engine.Config) (*COWLog, *engine.Engine, func()) {
	t.Helper()
	c, err := OpenCOWLog(path, cfg)
	if err != nil {
		t.Fatal(err)
	}
	d, err := device.Open(path, device.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ecfg.Devices, ecfg.Mapper = []*device.Device{d}, c
	if ecfg.QueueDepth == 0 {
		ecfg.QueueDepth = 32
	}
	e, err := engine.New(ecfg)
	if err != nil {
		d.Close()
		if errors.Is(err, syscall.ENOSYS) || errors.Is(err, syscall.EPERM) {
			t.Skipf("io_uring unavailable: %v", err)
		}
		t.Fatal(err)
	}
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		if err := c.Shutdown(); err != nil {
			t.Error(err)
		}
		if err := e.Close(); err != nil {
			t.Error(err)
		}
		d.Close()
	}
	t.Cleanup(stop)
	return c, e, stop
}

func fill(b []byte, v byte) {
	for i := range b {
		b[i] = v + byte(i/4096)
	}
}

func TestCOWLogPersists(t *testing.T) {
	path := shmImage(t, 16<<20)
	if err := FormatCOWLog(path, COWLogConfig{}); err != nil {
		t.Fatal(err)
	}
	if p, err := ProbeCOWLog(path); err != nil || p != ProbeFormatted {
		t.Fatalf("probe: %q %v", p, err)
	}
	c, e, stop := logEngine(t, path, COWLogConfig{}, engine.Config{})
	if !c.Recovered().Formatted {
		t.Fatalf("fresh format: %+v", c.Recovered())
	}
	if err := c.Create("a", 1<<20); err != nil {
		t.Fatal(err)
	}
	if err := c.Create("b", 256<<10); err != nil {
		t.Fatal(err)
	}
	if err := c.Create("gone", 64<<10); err != nil {
		t.Fatal(err)
	}
	if err := c.Create("a", 10); !errors.Is(err, ErrFileExists) {
		t.Fatalf("second create: %v", err)
	}
	fa, err := e.Open("a", engine.FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fb, err := e.Open("b", engine.FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	buf := e.Buffer(64 << 10)
	fill(buf, 1)
	if _, err := fa.WriteAt(buf, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := fa.WriteAt(buf[:8192], 128<<10); err != nil {
		t.Fatal(err)
	}
	fill(buf, 7)
	if _, err := fa.WriteAt(buf[:4096], 4096); err != nil { // overwrite
		t.Fatal(err)
	}
	if _, err := fb.WriteAt(buf, 64<<10); err != nil {
		t.Fatal(err)
	}
	gone, err := e.Open("gone", engine.FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gone.WriteAt(buf, 0); err != nil {
		t.Fatal(err)
	}
	if err := c.Remove("gone"); !errors.Is(err, ErrFileOpen) {
		t.Fatalf("remove of an open file: %v", err)
	}
	if err := gone.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Remove("gone"); err != nil {
		t.Fatal(err)
	}
	if err := fb.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Truncate("b", 96<<10); err != nil { // keeps 64K..96K
		t.Fatal(err)
	}
	if err := fa.Sync(); err != nil {
		t.Fatal(err)
	}
	// Not synced: may be lost, but must not break anything.
	if _, err := fa.WriteAt(buf[:4096], 512<<10); err != nil {
		t.Fatal(err)
	}
	usedBefore := c.space.TotalBytes() - c.FreeBytes()
	e.PutBuffer(buf)
	stop()
	_ = usedBefore

	c, e, _ = logEngine(t, path, COWLogConfig{}, engine.Config{})
	r := c.Recovered()
	if r.Txns == 0 || r.Files != 2 {
		t.Fatalf("recovered %+v", r)
	}
	list := c.List()
	if len(list) != 2 || list[0] != (FileInfo{"a", 1 << 20}) || list[1] != (FileInfo{"b", 96 << 10}) {
		t.Fatalf("list %+v", list)
	}
	// a: 0..64K version 1 except 4K..8K version 7; 128K..136K version 1.
	want := make([]byte, 1<<20)
	fill(want[:64<<10], 1)
	fill(want[128<<10:136<<10], 1)
	copy(want[4096:8192], func() []byte { b := make([]byte, 4096); fill(b, 7); return b }())
	fa, err = e.Open("a", engine.FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := e.Buffer(1 << 20)
	defer e.PutBuffer(got)
	if _, err := fa.ReadAt(got, 0); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got[:512<<10], want[:512<<10]) || !bytes.Equal(got[516<<10:], want[516<<10:]) {
		t.Fatal("file a differs after reopen")
	}
	if _, err := c.Sync(e), c.Check(); err != nil {
		t.Fatal(err)
	}
	// Space: a's blocks (+ maybe the unsynced one), b's 32K.
	used := c.space.TotalBytes() - c.FreeBytes()
	if used != 72<<10+32<<10 && used != 76<<10+32<<10 {
		t.Fatalf("%d bytes used after recovery", used)
	}
}

package device

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

func TestOpenRegularFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, make([]byte, 1<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	g := d.Geometry()
	if g.SizeBytes != 1<<20 || g.Kind != "file" || g.LogicalBlockSize == 0 || g.DIOMemAlign == 0 {
		t.Fatalf("geometry %+v", g)
	}
	if g.String() == "" {
		t.Fatal("empty description")
	}
	if _, err := Open(t.TempDir(), Options{}); !errors.Is(err, ErrNotDevice) || !strings.HasSuffix(err.Error(), ": a directory") {
		t.Fatalf("a directory: %v, want ErrNotDevice saying it is a directory", err)
	}
	// A character device is refused from its stat alone (nothing opens
	// it), pointing fio's /dev/null jobs to ioengine=null.
	if _, err := Open("/dev/null", Options{ReadOnly: true}); !errors.Is(err, ErrNotDevice) || !strings.Contains(err.Error(), "ioengine=null") {
		t.Fatalf("/dev/null: %v, want ErrNotDevice naming ioengine=null", err)
	} else if strings.Contains(err.Error(), "mode") {
		t.Fatalf("/dev/null: %v: a mode string in place of what it is", err)
	}
	if _, err := Open(filepath.Join(t.TempDir(), "missing"), Options{}); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a missing file: %v, want ErrNotExist", err)
	}
}

func TestOpenFlags(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, make([]byte, 1<<16), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, o := range []Options{{}, {NoDirect: true}, {ReadOnly: true}, {ReadOnly: true, NoDirect: true}, {Sync: true}, {DSync: true}} {
		d, err := Open(path, o)
		if errors.Is(err, ErrNoDirectIO) {
			t.Skipf("the temporary directory's filesystem has no O_DIRECT: %v", err)
		}
		if err != nil {
			t.Fatal(err)
		}
		fl, err := unix.FcntlInt(uintptr(d.Fd()), unix.F_GETFL, 0)
		d.Close()
		if err != nil {
			t.Fatal(err)
		}
		if direct := fl&unix.O_DIRECT != 0; direct == o.NoDirect {
			t.Errorf("%+v: O_DIRECT %v", o, direct)
		}
		// O_SYNC includes O_DSYNC's bit.
		if sync, dsync := fl&unix.O_SYNC == unix.O_SYNC, fl&unix.O_DSYNC != 0; sync != o.Sync || dsync != (o.Sync || o.DSync) {
			t.Errorf("%+v: O_SYNC %v O_DSYNC %v", o, sync, dsync)
		}
		if fl&unix.O_NOATIME == 0 {
			t.Errorf("%+v: no O_NOATIME (flags %#x)", o, fl)
		}
		if rw := fl&unix.O_ACCMODE == unix.O_RDWR; rw == o.ReadOnly {
			t.Errorf("%+v: flags %#x", o, fl)
		}
		if d.ReadOnly() != o.ReadOnly || d.IsBlock() || d.Path() != path {
			t.Errorf("%+v: ReadOnly %v IsBlock %v Path %s", o, d.ReadOnly(), d.IsBlock(), d.Path())
		}
	}
}

// TestOpenNoatimeNotOwner opens a file the process neither owns nor may
// act as owner of (CAP_FOWNER): O_NOATIME is refused there, and Open opens
// it without. It runs itself again as user nobody, which needs root.
func TestOpenNoatimeNotOwner(t *testing.T) {
	if path := os.Getenv("DEVICE_TEST_NOATIME_PATH"); path != "" {
		d, err := Open(path, Options{ReadOnly: true, NoDirect: true})
		if err != nil {
			fmt.Println("open:", err)
			os.Exit(1)
		}
		fl, err := unix.FcntlInt(uintptr(d.Fd()), unix.F_GETFL, 0)
		if err != nil || fl&unix.O_NOATIME != 0 {
			fmt.Printf("flags %#x, %v\n", fl, err)
			os.Exit(1)
		}
		fmt.Println("ok")
		os.Exit(0)
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root, to run a child process as another user")
	}
	dir, err := os.MkdirTemp("", "noatime")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "f")
	if err := os.WriteFile(path, make([]byte, 4096), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// The test binary's own directory is not open to other users.
	bin, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	self := filepath.Join(dir, "device.test")
	if err := os.WriteFile(self, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, "-test.run=^TestOpenNoatimeNotOwner$")
	cmd.Env = append(os.Environ(), "DEVICE_TEST_NOATIME_PATH="+path)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "ok") {
		t.Fatalf("as nobody: %v: %s", err, out)
	}
}

func TestKindOf(t *testing.T) {
	for disk, want := range map[string]string{
		"nvme0n1": "nvme", "loop7": "loop", "zram0": "zram", "vda": "virtio", "sdb": "scsi",
		"dm-0": "dm", "md127": "md", "nbd3": "nbd", "mmcblk0": "mmc", "xyz": "block",
	} {
		if got := kindOf(disk); got != want {
			t.Errorf("kindOf(%q) = %q, want %q", disk, got, want)
		}
	}
}

func TestArena(t *testing.T) {
	a, err := NewArena(1<<20, 4096)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				n := 512 * (1 + (i+g)%16)
				b := a.Get(n)
				if b == nil {
					t.Error("arena exhausted")
					return
				}
				if len(b) != n || uintptr(unsafe.Pointer(&b[0]))%4096 != 0 || a.Index(b) < 0 {
					t.Errorf("bad buffer: len %d addr %p index %d", len(b), &b[0], a.Index(b))
					return
				}
				b[0] = byte(g)
				a.Put(b)
			}
		}()
	}
	wg.Wait()
	// Poisoning, with no other goroutine to take the buffer back out
	// between the Put and the check.
	for n := 512; n <= 8192; n *= 2 {
		b := a.Get(n)
		b[0], b[n-1] = 1, 1
		a.Put(b)
		if b[0] != Poison || b[n-1] != Poison {
			t.Fatalf("returned %d-byte buffer not poisoned", n)
		}
	}
	if a.Index(make([]byte, 8)) != -1 {
		t.Fatal("heap buffer reported inside the arena")
	}
	if b := a.Get(2 << 20); b != nil {
		t.Fatal("buffer larger than the arena handed out")
	}
	allocs := testing.AllocsPerRun(100, func() { a.Put(a.Get(4096)) })
	if allocs != 0 {
		t.Fatalf("%v allocations per Get/Put", allocs)
	}
}

func TestCheckWritableRegularFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, make([]byte, 4096), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := CheckWritable(path); err != nil {
		t.Fatalf("regular file refused: %v", err)
	}
	if err := CheckWritable(filepath.Join(t.TempDir(), "missing")); err == nil || errors.Is(err, ErrInUse) {
		t.Fatalf("missing path: %v", err)
	}
}

func TestArenaPutAfterClose(t *testing.T) {
	a, err := NewArena(1<<20, 4096)
	if err != nil {
		t.Fatal(err)
	}
	b := a.Get(4096)
	a.Close()
	a.Put(b) // must not touch unmapped memory
	if a.Get(4096) != nil {
		t.Fatal("Get after Close returned memory")
	}
}

func BenchmarkArenaGetPut(b *testing.B) {
	for _, size := range []int{4 << 10, 64 << 10, 1 << 20} {
		b.Run(humanSize(size), func(b *testing.B) {
			a, err := NewArena(64<<20, 4096)
			if err != nil {
				b.Fatal(err)
			}
			defer a.Close()
			b.ReportAllocs()
			b.SetBytes(int64(size))
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					buf := a.Get(size)
					if buf == nil {
						b.Error("arena exhausted")
						return
					}
					a.Put(buf)
				}
			})
		})
	}
}

func humanSize(n int) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%dMiB", n>>20)
	}
	return fmt.Sprintf("%dKiB", n>>10)
}

func TestPoisonFillsAll(t *testing.T) {
	for _, n := range []int{1, 2, 3, 511, 512, 4096, 4097, 65536} {
		b := make([]byte, n+1)
		poison(b[:n])
		for i, c := range b[:n] {
			if c != Poison {
				t.Fatalf("len %d: byte %d = %#x", n, i, c)
			}
		}
		if b[n] != 0 {
			t.Fatalf("len %d: wrote past the end", n)
		}
	}
}

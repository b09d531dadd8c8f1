package engine_test

import (
	"bytes"
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/iobench/iobench/device"
	"github.com/iobench/iobench/device/looptest"
	"github.com/iobench/iobench/engine"
	"github.com/iobench/iobench/engine/faultring"
	"github.com/iobench/iobench/engine/mapper"
	"golang.org/x/sys/unix"
)

// kernelAtLeast reports whether the running kernel is major.minor or later.
func kernelAtLeast(major, minor int) bool {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return false
	}
	parts := strings.SplitN(unix.ByteSliceToString(u.Release[:]), ".", 3)
	if len(parts) < 2 {
		return false
	}
	ma, _ := strconv.Atoi(parts[0])
	mi, _ := strconv.Atoi(strings.TrimFunc(parts[1], func(r rune) bool { return r < '0' || r > '9' }))
	return ma > major || ma == major && mi >= minor
}

// trimEngine is an engine with the linear mapper over the device at path,
// and its file "raw".
func trimEngine(t *testing.T, path string, tweak func(*engine.Config)) (*engine.Engine, *engine.File) {
	t.Helper()
	cfg := engine.Config{Devices: []*device.Device{openDev(t, path, false)}, Mapper: mapper.NewLinear(0, 0, 0), QueueDepth: 16}
	if tweak != nil {
		tweak(&cfg)
	}
	e, err := newTestEngine(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Error(err)
		}
	})
	f, err := e.Open("raw", engine.FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return e, f
}

// writePattern writes n bytes of a non-zero pattern at 0 and returns it.
func writePattern(t *testing.T, e *engine.Engine, f *engine.File, n int) []byte {
	t.Helper()
	want := make([]byte, n)
	fill(want, 5)
	for i := range want {
		want[i] |= 1 // no zero byte: a discarded block shows
	}
	buf := e.Buffer(n)
	defer e.PutBuffer(buf)
	copy(buf, want)
	if _, err := f.WriteAt(buf, 0); err != nil {
		t.Fatal(err)
	}
	return want
}

// checkTrimmed reads [0, len(want)) back through the engine: [off, off+n)
// must read as zeros, the rest as want.
func checkTrimmed(t *testing.T, e *engine.Engine, f *engine.File, want []byte, off, n int) {
	t.Helper()
	buf := e.Buffer(len(want))
	defer e.PutBuffer(buf)
	if _, err := f.ReadAt(buf, 0); err != nil {
		t.Fatal(err)
	}
	exp := bytes.Clone(want)
	clear(exp[off : off+n])
	if !bytes.Equal(buf, exp) {
		for i := range buf {
			if buf[i] != exp[i] {
				t.Fatalf("byte %d reads %#x, want %#x (trimmed [%d,+%d))", i, buf[i], exp[i], off, n)
			}
		}
	}
}

// checkHole checks that the backing file at path has a hole exactly at
// [off, off+n) within [0, size): the discard deallocated the range and
// nothing else.
func checkHole(t *testing.T, path string, off, n, size int64) {
	t.Helper()
	fd, err := unix.Open(path, unix.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if hole, err := unix.Seek(fd, 0, unix.SEEK_HOLE); err != nil || hole != off {
		t.Fatalf("%s: first hole at %d (%v), want %d", path, hole, err, off)
	}
	if data, err := unix.Seek(fd, off, unix.SEEK_DATA); err != nil || data != off+n {
		t.Fatalf("%s: data after the hole at %d (%v), want %d", path, data, err, off+n)
	}
	if hole, err := unix.Seek(fd, off+n, unix.SEEK_HOLE); err != nil || hole < size {
		t.Fatalf("%s: another hole at %d (%v) before %d", path, hole, err, size)
	}
}

// TestTrimLoopDevice discards a range of a loop device, through io_uring's
// block discard command and through the BLKDISCARD ioctl (the fallback),
// with plain and registered files: the range reads as zeros, the loop
// driver punched exactly that hole in its backing file, and the
// neighbours keep their data.
func TestTrimLoopDevice(t *testing.T) {
	for _, c := range []struct {
		name           string
		ioctl, regfile bool
	}{{"uring-cmd", false, false}, {"uring-cmd-registered", false, true}, {"ioctl", true, false}, {"ioctl-registered", true, true}} {
		t.Run(c.name, func(t *testing.T) {
			const size, off, n = 4 << 20, 256 << 10, 512 << 10
			l := looptest.New(t, 64<<20, looptest.Options{})
			e, f := trimEngine(t, l.Path, func(cfg *engine.Config) {
				cfg.DiscardIoctl, cfg.RegisterFiles = c.ioctl, c.regfile
			})
			method := e.TrimMethod(0)
			t.Logf("%s: trims by %v, alignment %d", l.Path, method, e.TrimAlignment())
			switch {
			case c.ioctl && method != engine.TrimIoctl:
				t.Fatalf("DiscardIoctl: method %v", method)
			case !c.ioctl && kernelAtLeast(6, 12) && method != engine.TrimBlockCmd:
				t.Fatalf("kernel 6.12 or later: method %v, want the io_uring command", method)
			}
			if err := e.CheckTrim(); err != nil {
				t.Fatal(err)
			}
			want := writePattern(t, e, f, size)
			before := e.Stats()
			if err := f.Trim(off, n); err != nil {
				t.Fatal(err)
			}
			s := e.Stats()
			if s.Trims-before.Trims != 1 || s.TrimBytes-before.TrimBytes != n || s.Writes != before.Writes {
				t.Fatalf("stats: %d trims, %d bytes trimmed, writes %d -> %d", s.Trims-before.Trims,
					s.TrimBytes-before.TrimBytes, before.Writes, s.Writes)
			}
			checkTrimmed(t, e, f, want, off, n)
			checkHole(t, l.Backing, off, n, size)
		})
	}
}

// TestTrimRegularFile punches a hole in a regular file target through
// io_uring's fallocate, and only there.
func TestTrimRegularFile(t *testing.T) {
	const size, off, n = 1 << 20, 64 << 10, 128 << 10
	path := backing(t, size)
	e, f := trimEngine(t, path, nil)
	if m := e.TrimMethod(0); m != engine.TrimPunchHole {
		t.Fatalf("a regular file trims by %v, want a punched hole", m)
	}
	want := writePattern(t, e, f, size)
	if err := f.Trim(off, n); err != nil {
		t.Fatal(err)
	}
	checkTrimmed(t, e, f, want, off, n)
	checkHole(t, path, off, n, size)
	if st, err := os.Stat(path); err != nil || st.Size() != size {
		t.Fatalf("size after the punch: %v, %v (KEEP_SIZE)", st, err)
	}
}

// TestTrimThroughMapper trims a file scattered over the device: the
// device ranges under the file range are discarded, the blocks of the
// device outside the file range keep their data, and holes in the file
// are skipped.
func TestTrimThroughMapper(t *testing.T) {
	const blocks = 64
	path := backing(t, blocks*bs)
	m := newStripeMapper(blocks, bs, 3)
	e, err := newTestEngine(engine.Config{Devices: []*device.Device{openDev(t, path, false)}, Mapper: m, QueueDepth: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	f, err := e.Open("striped", engine.FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := writePattern(t, e, f, blocks*bs)
	if err := f.Trim(8*bs, 16*bs); err != nil {
		t.Fatal(err)
	}
	checkTrimmed(t, e, f, want, 8*bs, 16*bs)
	if s := e.Stats(); s.TrimBytes != 16*bs || s.Splits == 0 {
		t.Fatalf("trimmed %d bytes in %d split requests, want %d over several extents", s.TrimBytes, s.Splits, 16*bs)
	}
}

// TestTrimBadInput: every refusal is found before anything is discarded,
// and says what is wrong.
func TestTrimBadInput(t *testing.T) {
	const size = 1 << 20
	l := looptest.New(t, size, looptest.Options{})
	e, f := trimEngine(t, l.Path, nil)
	want := writePattern(t, e, f, size)
	a := int64(e.TrimAlignment())
	for _, c := range []struct {
		name   string
		off, n int64
		want   error
		says   string
	}{
		{"misaligned offset", 512, a, engine.ErrUnaligned, "discard unit"},
		{"misaligned length", 0, a + 512, engine.ErrUnaligned, "discard unit"},
		{"past the end", size - a, 2 * a, engine.ErrBeyondEOF, "past the end"},
		{"negative", -a, a, nil, "negative"},
	} {
		err := f.Trim(c.off, c.n)
		if err == nil || c.want != nil && !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s: %v, want %v saying %q", c.name, err, c.want, c.says)
		}
	}
	if err := f.Trim(0, 0); err != nil {
		t.Errorf("empty trim: %v", err)
	}
	checkTrimmed(t, e, f, want, 0, 0)
	if s := e.Stats(); s.TrimBytes != 0 {
		t.Fatalf("%d bytes discarded by refused trims", s.TrimBytes)
	}
}

// TestTrimRefusals: a mapper that is no Trimmer, a read-only device and
// a device that cannot discard refuse trims up front (CheckTrim) and per
// request, discarding nothing.
func TestTrimRefusals(t *testing.T) {
	t.Run("out-of-place mapper", func(t *testing.T) {
		e, _ := newEngine(t, 64*bs, newCOWMapper(64, 16, bs), nil)
		f, err := e.Open("cow", engine.FileOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.CheckTrim(); !errors.Is(err, engine.ErrTrimRefused) {
			t.Fatalf("CheckTrim: %v", err)
		}
		if err := f.Trim(0, bs); !errors.Is(err, engine.ErrTrimRefused) {
			t.Fatalf("trim: %v, want ErrTrimRefused", err)
		}
	})
	t.Run("read-only device", func(t *testing.T) {
		path := backing(t, 1<<20)
		e, err := newTestEngine(engine.Config{Devices: []*device.Device{openDev(t, path, true)}, Mapper: mapper.NewLinear(0, 0, 0)})
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		f, err := e.Open("raw", engine.FileOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.CheckTrim(); !errors.Is(err, engine.ErrReadOnly) {
			t.Fatalf("CheckTrim: %v", err)
		}
		if err := f.Trim(0, bs); !errors.Is(err, engine.ErrReadOnly) {
			t.Fatalf("trim: %v, want ErrReadOnly", err)
		}
	})
	t.Run("device without discard", func(t *testing.T) {
		// A loop device over a ramfs file: ramfs cannot punch holes, so
		// the loop driver offers no discard.
		l := looptest.New(t, 1<<20, looptest.Options{NoDiscard: true})
		e, f := trimEngine(t, l.Path, nil)
		if e.TrimMethod(0) != engine.NoTrim {
			t.Skipf("this kernel's loop driver offers discard over ramfs (%v)", e.TrimMethod(0))
		}
		if err := e.CheckTrim(); !errors.Is(err, engine.ErrNoDiscard) || !strings.Contains(err.Error(), "discard_max_bytes") {
			t.Fatalf("CheckTrim: %v", err)
		}
		if err := f.Trim(0, bs); !errors.Is(err, engine.ErrNoDiscard) {
			t.Fatalf("trim: %v, want ErrNoDiscard", err)
		}
	})
}

// TestTrimFaults: trims go through the ring seam like any device I/O, so
// the fault ring's errors and short completions reach them, and the null
// ring completes them without touching the device.
func TestTrimFaults(t *testing.T) {
	t.Run("EIO", func(t *testing.T) {
		path := backing(t, 1<<20)
		e, f := trimEngine(t, path, func(c *engine.Config) {
			c.NewRing = faultring.NewFactory(nil, func(r *faultring.Ring) {
				r.Inject = func(op *engine.Op) faultring.Fault {
					if op.Trim != engine.NoTrim {
						return faultring.Fault{Errno: syscall.EIO}
					}
					return faultring.Fault{}
				}
			})
		})
		err := f.Trim(64<<10, 64<<10)
		var ioe *engine.IOError
		if !errors.Is(err, syscall.EIO) || !errors.As(err, &ioe) || ioe.Op != "trim" || ioe.Addr != 64<<10 {
			t.Fatalf("trim under EIO: %v", err)
		}
		if s := e.Stats(); s.Errors != 1 {
			t.Fatalf("%d errors counted", s.Errors)
		}
	})
	t.Run("short", func(t *testing.T) {
		path := backing(t, 1<<20)
		var trims int
		e, f := trimEngine(t, path, func(c *engine.Config) {
			c.NewRing = faultring.NewFactory(nil, func(r *faultring.Ring) {
				r.Inject = func(op *engine.Op) faultring.Fault {
					if op.Trim == engine.NoTrim {
						return faultring.Fault{}
					}
					trims++
					return faultring.Fault{Short: 8 << 10}
				}
			})
		})
		want := writePattern(t, e, f, 1<<20)
		if err := f.Trim(64<<10, 32<<10); err != nil {
			t.Fatal(err)
		}
		checkTrimmed(t, e, f, want, 64<<10, 32<<10)
		if s := e.Stats(); trims != 4 || s.ShortIOs != 3 || s.TrimBytes != 32<<10 {
			t.Fatalf("%d discards, %d short, %d bytes: want 4 of 8 KiB", trims, s.ShortIOs, s.TrimBytes)
		}
	})
	t.Run("null", func(t *testing.T) {
		path := backing(t, 1<<20)
		e, f := trimEngine(t, path, func(c *engine.Config) { c.NewRing = engine.NewNullRing })
		before, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Trim(0, 1<<20); err != nil {
			t.Fatal(err)
		}
		after, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if s := e.Stats(); !bytes.Equal(before, after) || s.TrimBytes != 1<<20 {
			t.Fatalf("null ring: device changed %v, %d bytes counted", !bytes.Equal(before, after), s.TrimBytes)
		}
	})
}

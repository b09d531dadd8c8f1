package mapper_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iobench/iobench/device"
	"github.com/iobench/iobench/device/looptest"
	"github.com/iobench/iobench/engine"
	"github.com/iobench/iobench/engine/mapper"
	"github.com/iobench/iobench/mapcache"
)

// ext4ImageFile makes an image file with mkfs.ext4 -d (no root needed).
func ext4ImageFile(t *testing.T, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath("mkfs.ext4"); err != nil {
		t.Skipf("needs mkfs.ext4: %v", err)
	}
	src := t.TempDir()
	f, err := os.Create(filepath.Join(src, "sparse"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range int64(40) {
		if _, err := f.WriteAt(pattern(4096, uint64(i)), 3*i*4096); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()
	if err := os.WriteFile(filepath.Join(src, "tiny"), []byte("tiny"), 0o644); err != nil {
		t.Fatal(err)
	}
	return mkfsFromDir(t, src, args...)
}

// mkfsFromDir makes a 32 MiB image file of the tree at src with
// mkfs.ext4 -d and the given options.
func mkfsFromDir(t *testing.T, src string, args ...string) string {
	t.Helper()
	img := filepath.Join(t.TempDir(), "fs.img")
	if err := os.WriteFile(img, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img, 32<<20); err != nil {
		t.Fatal(err)
	}
	a := append(append([]string{"-q", "-F"}, args...), "-d", src, img)
	if out, err := exec.Command("mkfs.ext4", a...).CombinedOutput(); err != nil {
		t.Fatalf("mkfs.ext4: %v: %s", err, out)
	}
	return img
}

func newExt4OnImage(t *testing.T, img string, opts mapper.Ext4Options) *mapper.Ext4 {
	t.Helper()
	raw, err := os.Open(img)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	st, _ := raw.Stat()
	m, err := mapper.NewExt4(0, raw, uint64(st.Size()), opts)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestExt4MapRead(t *testing.T) {
	img := ext4ImageFile(t, "-b", "1024", "-O", "inline_data")
	m := newExt4OnImage(t, img, mapper.Ext4Options{ReplyExtents: 4})
	e := ext4Deviceless(t, m)
	if _, err := e.Open("sparse", engine.FileOptions{BlockSize: 4096}); !errors.Is(err, mapper.ErrConfig) || !strings.Contains(err.Error(), "BlockSize 1024") {
		t.Fatalf("open with a cache block over the fs block: %v, want ErrConfig naming 1024", err)
	}
	f, err := e.Open("/sparse", engine.FileOptions{BlockSize: 1024})
	if err != nil {
		t.Fatal(err)
	}
	if f.Size() != (3*39+1)*4096 {
		t.Fatalf("size %d", f.Size())
	}
	got := ext4MapRead(t, m, f, 4096, 1024)
	if len(got) != 4 || got[0].Offset != 4096 || got[0].Type != mapcache.Hole || got[1].Type != mapcache.Mapped {
		t.Fatalf("MapRead @4096 = %+v", got)
	}
	layout, _ := m.Layout(f)
	for i, s := range layout {
		if i > 0 && layout[i-1].Offset+layout[i-1].Length != s.Offset || s.Offset%1024 != 0 || s.Length%1024 != 0 {
			t.Fatalf("layout does not tile the file: %+v", layout)
		}
	}
	if end := layout[len(layout)-1]; end.Offset+end.Length != f.Size() {
		t.Fatalf("layout ends at %d, file at %d", end.Offset+end.Length, f.Size())
	}
	dst := make([]mapcache.Mapping, 0, 16)
	req := &engine.MapRequest{File: f, Offset: 8192, Length: 1024}
	if allocs := testing.AllocsPerRun(200, func() { dst, _ = m.MapRead(req, dst[:0]) }); allocs != 0 {
		t.Errorf("MapRead allocates %v times per call", allocs)
	}
	if _, err := m.MapRead(&engine.MapRequest{File: f, Offset: f.Size(), Length: 1024}, nil); !errors.Is(err, mapper.ErrOutsideFile) {
		t.Errorf("MapRead at EOF: %v", err)
	}
	if _, err := m.MapWrite(&engine.MapRequest{File: f, Offset: 0, Length: 1024}, nil); !errors.Is(err, engine.ErrReadOnly) {
		t.Errorf("MapWrite: %v", err)
	}
	tiny, err := e.Open("tiny", engine.FileOptions{BlockSize: 1024})
	if err != nil {
		t.Fatal(err)
	}
	if got := ext4MapRead(t, m, tiny, 0, 1024); len(got) != 1 || got[0].Type != mapcache.Inline {
		t.Fatalf("tiny: %+v, want one Inline mapping", got)
	}
	buf := make([]byte, 8)
	if err := m.ReadInline(tiny, 0, buf); err != nil || string(buf) != "tiny\x00\x00\x00\x00" {
		t.Fatalf("ReadInline = %q, %v", buf, err)
	}
	if err := m.Warm(f); err != nil {
		t.Fatal(err)
	}
	if n := f.Cache().Len(mapcache.ReadFork); n != len(layout) {
		t.Errorf("warm: %d records cached, layout has %d", n, len(layout))
	}
	for _, bad := range []string{"nope", "/", "sparse/x"} {
		if _, err := e.Open(bad, engine.FileOptions{BlockSize: 1024}); err == nil {
			t.Errorf("open %q: no error", bad)
		}
	}
}

// TestExt4MountState reports a mounted filesystem by its device and by
// the image under a loop device.
func TestExt4MountState(t *testing.T) {
	mnt, dev := looptest.MountExt4(t, "")
	backing := ""
	for d, b := range device.LoopBacking() {
		if d == dev {
			backing = b
		}
	}
	if backing == "" {
		t.Fatalf("no backing file for %s in %v", dev, device.LoopBacking())
	}
	for _, p := range []string{dev, backing} {
		if _, err := mapper.CheckExt4Mount(p, false); !errors.Is(err, mapper.ErrExt4Mounted) || !strings.Contains(err.Error(), "read-write at "+mnt) {
			t.Errorf("CheckExt4Mount(%s) on a read-write mount: %v", p, err)
		}
	}
	if out, err := exec.Command("mount", "-o", "remount,ro", mnt).CombinedOutput(); err != nil {
		t.Fatalf("remount: %v: %s", err, out)
	}
	if state, err := mapper.CheckExt4Mount(dev, false); err != nil || state != "mounted read-only at "+mnt {
		t.Errorf("CheckExt4Mount on a read-only mount = %q, %v", state, err)
	}
	if _, err := mapper.CheckExt4Mount(dev, true); !errors.Is(err, mapper.ErrExt4Mounted) {
		t.Errorf("CheckExt4Mount for overwrite on a read-only mount: %v", err)
	}
	if _, err := mapper.CheckExt4Mount(t.TempDir(), false); !errors.Is(err, mapper.ErrConfig) {
		t.Errorf("CheckExt4Mount of a directory: %v", err)
	}
}

// ext4Deviceless is an engine with no device: enough to open files and
// ask the mapper.
func ext4Deviceless(t *testing.T, m engine.Mapper) *engine.Engine {
	t.Helper()
	e, err := engine.New(engine.Config{Mapper: m, ArenaBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func ext4MapRead(t *testing.T, m engine.Mapper, f *engine.File, off, length uint64) []mapcache.Mapping {
	t.Helper()
	out, err := m.MapRead(&engine.MapRequest{File: f, Offset: off, Length: length, Seq: f.Cache().Seq()}, nil)
	if err != nil {
		t.Fatalf("MapRead(%d, %d): %v", off, length, err)
	}
	return out
}

// TestExt4LayoutPastDevice: a layout that reaches past the engine's
// device (here the metadata comes from a whole image and the engine's
// device is a truncated copy) is refused at open, before any I/O.
func TestExt4LayoutPastDevice(t *testing.T) {
	if _, err := exec.LookPath("mkfs.ext4"); err != nil {
		t.Skipf("needs mkfs.ext4: %v", err)
	}
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "big"), pattern(12<<20, 3), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	img := filepath.Join(dir, "fs.img")
	if err := os.WriteFile(img, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img, 32<<20); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mkfs.ext4", "-q", "-F", "-b", "4096", "-d", src, img).CombinedOutput(); err != nil {
		t.Fatalf("mkfs.ext4: %v: %s", err, out)
	}
	b, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	short := filepath.Join(dir, "short.img")
	if err := os.WriteFile(short, b[:8<<20], 0o644); err != nil {
		t.Fatal(err)
	}
	m := newExt4OnImage(t, img, mapper.Ext4Options{})
	e := readOnlyEngine(t, short, m, 1<<20)
	_, err = e.Open("big", engine.FileOptions{})
	if err == nil || !strings.Contains(err.Error(), "past the") {
		t.Fatalf("open of a file reaching past the engine's device: %v", err)
	}
	t.Log(err)
}

// TestExt4ErrorsSayExt4Once: a filesystem error reads "ext4: corrupt
// filesystem: ...", not "ext4: ext4: ...", and a device's read error gets
// the prefix it lacks.
func TestExt4ErrorsSayExt4Once(t *testing.T) {
	zero := bytes.NewReader(make([]byte, 1<<20))
	_, err := mapper.NewExt4(0, zero, 1<<20, mapper.Ext4Options{})
	if err == nil || !strings.HasPrefix(err.Error(), "ext4: corrupt filesystem") || strings.Contains(err.Error(), "ext4: ext4:") {
		t.Errorf("zeroed image: %v", err)
	}
	short := bytes.NewReader(make([]byte, 512))
	_, err = mapper.NewExt4(0, short, 1<<20, mapper.Ext4Options{})
	if err == nil || !strings.HasPrefix(err.Error(), "ext4: ") || strings.Contains(err.Error(), "ext4: ext4:") {
		t.Errorf("image shorter than its device: %v", err)
	}
}

// TestExt4InlineFileLargerThanItsData: mkfs.ext4 -d with inline_data makes
// a file that is all hole ("truncate -s") an inline-data inode whose size
// is far past its 60 bytes of inline data. e2fsck finds it clean and the
// kernel reads the bytes past the inline data as zeros; the mapper serves
// the same (it refused the file as corrupt), a short one still reads its
// bytes, and a read at any offset of the file, through the engine or the
// filesystem reader, is zeros past the inline data.
func TestExt4InlineFileLargerThanItsData(t *testing.T) {
	if _, err := exec.LookPath("mkfs.ext4"); err != nil {
		t.Skipf("needs mkfs.ext4: %v", err)
	}
	const holeSize = 7015583
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "hole"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(filepath.Join(src, "hole"), holeSize); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "small"), []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	img := mkfsFromDir(t, src, "-b", "4096", "-O", "inline_data")
	m := newExt4OnImage(t, img, mapper.Ext4Options{})
	in, err := m.FS().Lookup("/hole", true)
	if err != nil {
		t.Fatal(err)
	}
	if !in.HasInlineData() || in.Size != holeSize {
		t.Skipf("this mkfs.ext4 made /hole without inline data (flags %#x, %d bytes): nothing to check", in.Flags, in.Size)
	}
	e := readOnlyEngine(t, img, m, 4<<20)
	f, err := e.Open("/hole", engine.FileOptions{})
	if err != nil {
		t.Fatalf("open an inline file larger than its inline data: %v", err)
	}
	defer f.Close()
	if f.Size() != holeSize {
		t.Fatalf("size %d, want %d", f.Size(), holeSize)
	}
	buf := e.Buffer(1 << 20)
	defer e.PutBuffer(buf)
	for off := uint64(0); off < holeSize; off += uint64(len(buf)) {
		for i := range buf {
			buf[i] = 0xa5
		}
		n, err := f.ReadAt(buf, int64(off))
		if err != nil && !errors.Is(err, io.EOF) {
			t.Fatalf("read at %d: %v", off, err)
		}
		if want := min(uint64(len(buf)), holeSize-off); uint64(n) != want || !bytes.Equal(buf[:n], make([]byte, n)) {
			t.Fatalf("read at %d: %d bytes, zeros %v; want %d zeros", off, n, bytes.Equal(buf[:n], make([]byte, n)), want)
		}
	}
	p := make([]byte, 100)
	for _, off := range []uint64{0, 50, 4096, holeSize - 100} {
		p[0] = 1
		if n, err := m.FS().ReadFileAt(in, nil, p, off); n != len(p) || err != nil || !bytes.Equal(p, make([]byte, len(p))) {
			t.Fatalf("ReadFileAt(%d) = %d, %v, zeros %v", off, n, err, bytes.Equal(p, make([]byte, len(p))))
		}
	}
	small, err := e.Open("/small", engine.FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer small.Close()
	if n, err := small.ReadAt(buf[:4096], 0); n != 5 || string(buf[:5]) != "hello" || (err != nil && !errors.Is(err, io.EOF)) {
		t.Fatalf("small: %d bytes %q, %v", n, buf[:n], err)
	}
}

// readOnlyEngine is an engine over the image or device at path opened
// read-only, mapped by m, with arena bytes of buffers; the test skips
// where io_uring is unavailable. Both close with the test.
func readOnlyEngine(t *testing.T, path string, m engine.Mapper, arena int) *engine.Engine {
	t.Helper()
	d, err := device.Open(path, device.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	e, err := engine.New(engine.Config{Devices: []*device.Device{d}, Mapper: m, ArenaBytes: arena})
	if err != nil {
		t.Skipf("io_uring unavailable: %v", err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

package mapper_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/iobench/iobench/device"
	"github.com/iobench/iobench/device/looptest"
	"github.com/iobench/iobench/engine"
	"github.com/iobench/iobench/engine/mapper"
	"github.com/iobench/iobench/engine/mapper/internal/fiemap"
	"github.com/iobench/iobench/mapcache"
)

// ext4Image is a filesystem made with mkfs on a loop device and mounted.
type ext4Image struct {
	dev, mnt  string
	mounted   bool
	blockSize uint64
}

// newExt4Image makes a filesystem with mkfs (mkfs.ext4 args, or mkfs.ext3
// when ext3) on a fresh loop device of sizeBytes and mounts it. It skips,
// saying why, when the tools are missing or the kernel refuses the mount.
func newExt4Image(t *testing.T, sizeBytes int64, tool string, args ...string) *ext4Image {
	t.Helper()
	for _, tl := range []string{tool, "mount"} {
		if _, err := exec.LookPath(tl); err != nil {
			t.Skipf("needs %s: %v", tl, err)
		}
	}
	l := looptest.New(t, sizeBytes, looptest.Options{})
	a := append([]string{"-q", "-F"}, args...)
	if out, err := exec.Command(tool, append(a, l.Path)...).CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v: %s", tool, a, err, out)
	}
	img := &ext4Image{dev: l.Path, mnt: t.TempDir()}
	if out, err := exec.Command("mount", l.Path, img.mnt).CombinedOutput(); err != nil {
		t.Skipf("the kernel cannot mount %s %v: %v: %s", tool, args, err, out)
	}
	img.mounted = true
	t.Cleanup(func() { img.unmount(t) })
	var st unix.Statfs_t
	if err := unix.Statfs(img.mnt, &st); err != nil {
		t.Fatal(err)
	}
	img.blockSize = uint64(st.Bsize)
	return img
}

func (img *ext4Image) unmount(t *testing.T) {
	t.Helper()
	if !img.mounted {
		return
	}
	if err := device.Unmount(img.mnt); err != nil {
		t.Error(err)
		return
	}
	img.mounted = false
}

// oracleFile is what the kernel said about one file while mounted.
type oracleFile struct {
	size   uint64
	ranges [][2]uint64 // byte ranges compared ([off, end)); the whole file unless huge
	data   [][]byte    // the kernel's bytes for each range
	segs   []fiemap.Segment
	kinds  []mapcache.Type // kinds the layout must show
}

// fillExt4 writes the oracle files through the kernel mount and returns
// what the kernel reads back for each, with its FIEMAP layout.
func fillExt4(t *testing.T, img *ext4Image, inline bool, extents bool) map[string]*oracleFile {
	t.Helper()
	seed := uint64(7)
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	data := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32() | 1)
		}
		return b
	}
	var files []*os.File
	open := func(name string) *os.File {
		p := filepath.Join(img.mnt, name)
		must(os.MkdirAll(filepath.Dir(p), 0o755))
		f, err := os.OpenFile(p, os.O_CREATE|os.O_RDWR, 0o644)
		must(err)
		files = append(files, f)
		return f
	}
	bs := int64(img.blockSize)
	kinds := map[string][]mapcache.Type{}
	// Fragmented: interleaved appends, each synced.
	a, b := open("frag-a"), open("frag-b")
	for range 24 {
		for _, f := range []*os.File{a, b} {
			_, err := f.Write(data(int(bs) * (1 + rng.IntN(3))))
			must(err)
			must(f.Sync())
		}
	}
	_, err := a.Write(data(1000)) // EOF mid-block
	must(err)
	kinds["frag-a"] = []mapcache.Type{mapcache.Mapped}
	// Sparse.
	s := open("dir1/sparse")
	_, err = s.WriteAt(data(8192), 0)
	must(err)
	_, err = s.WriteAt(data(5000), 3<<20+100)
	must(err)
	kinds["dir1/sparse"] = []mapcache.Type{mapcache.Mapped, mapcache.Hole}
	// Huge and sparse: data past 4 GiB.
	h := open("huge")
	_, err = h.WriteAt(data(3*int(bs)), 5<<30+int64(bs))
	must(err)
	_, err = h.WriteAt(data(100), 0)
	must(err)
	kinds["huge"] = []mapcache.Type{mapcache.Mapped, mapcache.Hole}
	// Deep extent tree: every other block written, thousands of extents.
	deep := open("deep")
	for i := range int64(2000) {
		_, err = deep.WriteAt(data(int(bs)), 2*i*bs)
		must(err)
	}
	kinds["deep"] = []mapcache.Type{mapcache.Mapped, mapcache.Hole}
	if extents {
		// Fallocated: unwritten with a written piece, and preallocated
		// past EOF.
		fa := open("falloc")
		must(unix.Fallocate(int(fa.Fd()), 0, 0, 1<<20))
		_, err = fa.WriteAt(data(8192), 64<<10)
		must(err)
		must(fa.Sync())
		must(unix.Fallocate(int(fa.Fd()), unix.FALLOC_FL_KEEP_SIZE, 1<<20, 1<<20))
		kinds["falloc"] = []mapcache.Type{mapcache.Mapped, mapcache.Unwritten}
	}
	// Tiny files: inline (in i_block, and spilling into the inode's
	// extended attribute) when the filesystem has inline_data.
	_, err = open("tiny").Write(data(50))
	must(err)
	_, err = open("small").Write(data(100))
	must(err)
	if inline {
		kinds["tiny"] = []mapcache.Type{mapcache.Inline}
		kinds["small"] = []mapcache.Type{mapcache.Inline}
	}
	open("empty")
	// A directory of thousands of entries (an htree), with one file to find.
	big := filepath.Join(img.mnt, "big")
	must(os.Mkdir(big, 0o755))
	for i := range 3000 {
		f, err := os.Create(filepath.Join(big, fmt.Sprintf("entry-with-a-long-name-%06d", i)))
		must(err)
		must(f.Close())
	}
	_, err = open("big/entry-with-a-long-name-002999").Write(data(5000))
	must(err)
	// Deleting all but every 100th name empties whole leaf blocks of the
	// htree (names are spread over the leaves by hash).
	for i := range 2999 {
		if i%100 != 0 {
			must(os.Remove(filepath.Join(big, fmt.Sprintf("entry-with-a-long-name-%06d", i))))
		}
	}
	// Symlinks: relative, absolute (inside the filesystem), slow (long).
	must(os.Symlink("../frag-a", filepath.Join(img.mnt, "dir1/link-rel")))
	must(os.Symlink("/dir1", filepath.Join(img.mnt, "link-abs")))
	must(os.Symlink(strings.Repeat("./", 50)+"frag-b", filepath.Join(img.mnt, "link-long")))
	for _, f := range files {
		must(f.Sync())
		must(f.Close())
	}
	unix.Sync()

	out := map[string]*oracleFile{}
	names := []string{"frag-a", "frag-b", "dir1/sparse", "huge", "deep", "tiny", "small", "empty", "big/entry-with-a-long-name-002999"}
	if extents {
		names = append(names, "falloc")
	}
	for _, name := range names {
		p := filepath.Join(img.mnt, name)
		f, err := os.Open(p)
		must(err)
		st, err := f.Stat()
		must(err)
		of := &oracleFile{size: uint64(st.Size()), kinds: kinds[name]}
		if name == "huge" {
			of.ranges = [][2]uint64{{0, 1 << 20}, {5<<30 - 1<<20, of.size}}
		} else {
			of.ranges = [][2]uint64{{0, of.size}}
		}
		for _, r := range of.ranges {
			buf := make([]byte, r[1]-r[0])
			_, err := f.ReadAt(buf, int64(r[0]))
			if err != nil && !errors.Is(err, io.EOF) {
				t.Fatal(err)
			}
			of.data = append(of.data, buf)
		}
		ext, err := fiemap.Get(int(f.Fd()), true)
		must(err)
		of.segs, err = fiemap.Translate(ext, of.size, img.blockSize)
		must(err)
		f.Close()
		out[name] = of
	}
	return out
}

var ext4Oracles = []struct {
	name, tool string
	args       []string
	inline     bool
	extents    bool
}{
	{"4k", "mkfs.ext4", []string{"-b", "4096"}, false, true},
	{"1k", "mkfs.ext4", []string{"-b", "1024"}, false, true},
	{"4k-inline", "mkfs.ext4", []string{"-b", "4096", "-O", "inline_data"}, true, true},
	{"4k-nojournal-no64bit", "mkfs.ext4", []string{"-b", "4096", "-O", "^has_journal,^64bit"}, false, true},
	{"2k-nocsum-noflex", "mkfs.ext4", []string{"-b", "2048", "-O", "^metadata_csum,^flex_bg"}, false, true},
	{"1k-inline-meta_bg", "mkfs.ext4", []string{"-b", "1024", "-O", "inline_data,meta_bg,^resize_inode", "-I", "512"}, true, true},
	{"4k-ext3-indirect", "mkfs.ext3", []string{"-b", "4096"}, false, false},
	{"1k-ext4-noextents", "mkfs.ext4", []string{"-b", "1024", "-O", "^extents,^64bit"}, false, false},
	{"64k", "mkfs.ext4", []string{"-b", "65536"}, false, true},
}

// TestExt4Oracle fills filesystems through the kernel, unmounts them and
// reads every file back through mapper.Ext4 and the engine: the bytes equal
// what the kernel returned, the layouts equal FIEMAP's, and the block lists
// equal debugfs's.
func TestExt4Oracle(t *testing.T) {
	for _, v := range ext4Oracles {
		t.Run(v.name, func(t *testing.T) {
			img := newExt4Image(t, 256<<20, v.tool, v.args...)
			want := fillExt4(t, img, v.inline, v.extents)
			img.unmount(t)

			raw, err := os.Open(img.dev)
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			state, err := mapper.CheckExt4Mount(img.dev, false)
			if err != nil || state != "not mounted" {
				t.Fatalf("CheckExt4Mount = %q, %v; want not mounted", state, err)
			}
			m, err := mapper.NewExt4(0, raw, 256<<20, mapper.Ext4Options{})
			if err != nil {
				t.Fatal(err)
			}
			fsbs := uint64(m.BlockSize())
			if fsbs != img.blockSize {
				t.Fatalf("block size %d, kernel said %d", fsbs, img.blockSize)
			}
			t.Logf("features: %s", m.FS().Superblock().Features())
			e, _ := engineOn(t, img.dev, m, 1, true)
			fileBS := uint32(min(fsbs, 4096))
			// A missing file is ErrExt4NotFound whatever the block size
			// asked for (the default, 4096, is too large for 1 KiB
			// blocks: that check came first, and hid the missing file).
			if _, err := e.Open("/no/such/file", engine.FileOptions{}); !errors.Is(err, mapper.ErrExt4NotFound) {
				t.Errorf("open of a missing file: %v; want ErrExt4NotFound", err)
			}
			for name, of := range want {
				f, err := e.Open(name, engine.FileOptions{BlockSize: fileBS})
				if err != nil {
					t.Fatalf("open %s: %v", name, err)
				}
				if f.Size() != of.size {
					t.Errorf("%s: size %d, kernel %d", name, f.Size(), of.size)
				}
				for i, r := range of.ranges {
					got := readRange(t, e, f, r[0], r[1])
					if !bytes.Equal(got, of.data[i]) {
						j := 0
						for j < len(got) && j < len(of.data[i]) && got[j] == of.data[i][j] {
							j++
						}
						t.Errorf("%s: bytes differ from the kernel's at offset %d", name, r[0]+uint64(j))
					}
				}
				layout, err := m.Layout(f)
				if err != nil {
					t.Fatal(err)
				}
				checkAgainstFiemap(t, name, layout, of.segs)
				seen := map[mapcache.Type]bool{}
				for _, s := range layout {
					seen[s.Type] = true
				}
				for _, k := range of.kinds {
					if !seen[k] {
						t.Errorf("%s: layout has no %v mapping", name, k)
					}
				}
				if name == "deep" {
					checkDepth(t, m, f, v.extents)
				}
				checkDebugfs(t, img.dev, name, m, f)
				if _, err := f.WriteAt(e.Buffer(int(fileBS)), 0); !errors.Is(err, engine.ErrReadOnly) && of.size >= uint64(fileBS) {
					t.Errorf("%s: write through a read-only ext4 mapper: %v, want ErrReadOnly", name, err)
				}
				f.Close()
			}
			checkPaths(t, m, e, fileBS)
		})
	}
}

// readRange reads [off, end) of f through the engine in aligned chunks.
func readRange(t *testing.T, e *engine.Engine, f *engine.File, off, end uint64) []byte {
	t.Helper()
	const chunk = 1 << 20
	buf := e.Buffer(chunk)
	defer e.PutBuffer(buf)
	out := make([]byte, 0, end-off)
	for pos := off; pos < end; {
		n, err := f.ReadAt(buf, int64(pos))
		if err != nil && !errors.Is(err, io.EOF) {
			t.Fatalf("%s: read @%d: %v", f.Name(), pos, err)
		}
		n = int(min(uint64(n), end-pos))
		out = append(out, buf[:n]...)
		pos += uint64(n)
		if n == 0 {
			break
		}
	}
	return out
}

// merged returns segments with file-and-address-contiguous neighbours of
// the same kind merged, as (offset, length, address, kind) tuples.
func mergedLayout(ms []mapcache.Mapping) [][4]uint64 {
	var out [][4]uint64
	for _, m := range ms {
		addr := m.Addr
		if m.Type != mapcache.Mapped && m.Type != mapcache.Unwritten {
			addr = mapcache.NullAddr
		}
		if n := len(out); n > 0 {
			p := &out[n-1]
			if p[3] == uint64(m.Type) && p[0]+p[1] == m.Offset && (addr == mapcache.NullAddr && p[2] == addr || p[2]+p[1] == addr) {
				p[1] += m.Length
				continue
			}
		}
		out = append(out, [4]uint64{m.Offset, m.Length, addr, uint64(m.Type)})
	}
	return out
}

var fiemapKind = map[fiemap.Kind]mapcache.Type{fiemap.Hole: mapcache.Hole, fiemap.Delalloc: mapcache.Delalloc,
	fiemap.Mapped: mapcache.Mapped, fiemap.Unwritten: mapcache.Unwritten, fiemap.Inline: mapcache.Inline}

func checkAgainstFiemap(t *testing.T, name string, layout []mapcache.Mapping, segs []fiemap.Segment) {
	t.Helper()
	var fm []mapcache.Mapping
	for _, s := range segs {
		fm = append(fm, mapcache.Mapping{Offset: s.Off, Length: s.Len, Addr: s.Addr, Type: fiemapKind[s.Kind]})
	}
	a, b := mergedLayout(layout), mergedLayout(fm)
	if !slices.Equal(a, b) {
		t.Errorf("%s: layout differs from FIEMAP's:\n ext4   %v\n fiemap %v", name, head(a), head(b))
	}
}

func head(x [][4]uint64) string {
	if len(x) > 6 {
		return fmt.Sprintf("%v ... (%d)", x[:6], len(x))
	}
	return fmt.Sprint(x)
}

// checkDepth makes sure the deep file really has a tree of depth 2 or more.
func checkDepth(t *testing.T, m *mapper.Ext4, f *engine.File, extents bool) {
	t.Helper()
	ino, err := m.Inode(f)
	if err != nil {
		t.Fatal(err)
	}
	in, err := m.FS().Inode(ino)
	if err != nil {
		t.Fatal(err)
	}
	if !extents {
		if in.HasExtents() {
			t.Errorf("deep: has extents on a filesystem without them")
		}
		return
	}
	if depth := int(in.Blocks[6]) | int(in.Blocks[7])<<8; depth < 2 {
		t.Errorf("deep: extent tree depth %d, want at least 2", depth)
	}
}

// checkDebugfs compares the file's block list with debugfs's "blocks".
func checkDebugfs(t *testing.T, dev, name string, m *mapper.Ext4, f *engine.File) {
	t.Helper()
	if _, err := exec.LookPath("debugfs"); err != nil {
		return
	}
	out, err := exec.Command("debugfs", "-R", "blocks /"+name, dev).Output()
	if err != nil {
		t.Errorf("debugfs blocks %s: %v", name, err)
		return
	}
	var want []uint64
	for _, w := range strings.Fields(string(out)) {
		n, err := strconv.ParseUint(w, 10, 64)
		if err != nil {
			t.Errorf("debugfs blocks %s: %q", name, w)
			return
		}
		want = append(want, n)
	}
	ino, _ := m.Inode(f)
	in, err := m.FS().Inode(ino)
	if err != nil {
		t.Fatal(err)
	}
	ext, tree, err := m.FS().BlockMap(in)
	if err != nil {
		t.Fatal(err)
	}
	got := slices.Clone(tree) // debugfs lists the map's own blocks too
	for _, e := range ext {
		for i := range e.Len {
			got = append(got, e.Physical+i)
		}
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("%s: %d data blocks, debugfs lists %d (first %v vs %v)", name, len(got), len(want), got[:min(8, len(got))], want[:min(8, len(want))])
	}
}

// checkPaths resolves symlinks and the htree directory through the mapper.
func checkPaths(t *testing.T, m *mapper.Ext4, e *engine.Engine, bs uint32) {
	t.Helper()
	for link, target := range map[string]string{"dir1/link-rel": "frag-a", "link-abs/sparse": "dir1/sparse", "link-long": "frag-b"} {
		a, err := m.FS().Lookup(link, true)
		if err != nil {
			t.Errorf("lookup %s: %v", link, err)
			continue
		}
		b, err := m.FS().Lookup(target, true)
		if err != nil || a.Ino != b.Ino {
			t.Errorf("%s resolves to inode %d, want %s's (%v)", link, a.Ino, target, err)
		}
		f, err := e.Open(link, engine.FileOptions{BlockSize: bs})
		if err != nil {
			t.Errorf("open through symlink %s: %v", link, err)
			continue
		}
		f.Close()
	}
	dir, err := m.FS().Lookup("big", true)
	if err != nil {
		t.Fatal(err)
	}
	ents, err := m.FS().ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 33 {
		t.Errorf("big: %d entries, want 31 + . and ..", len(ents))
	}
	for _, bad := range []string{"nope", "frag-a/x", "big/entry-with-a-long-name-003000"} {
		if _, err := e.Open(bad, engine.FileOptions{BlockSize: bs}); err == nil {
			t.Errorf("open %s: no error", bad)
		}
	}
	if _, err := e.Open("big", engine.FileOptions{BlockSize: bs}); !errors.Is(err, mapper.ErrConfig) {
		t.Errorf("open a directory: %v, want ErrConfig", err)
	}
}

// TestExt4Overwrite writes in place through an Ext4 mapper with Overwrite:
// written blocks take the new data (the kernel reads it after a mount),
// holes and unwritten extents are refused, and e2fsck finds nothing
// changed in the metadata.
func TestExt4Overwrite(t *testing.T) {
	img := newExt4Image(t, 256<<20, "mkfs.ext4", "-b", "4096")
	fillExt4(t, img, false, true)
	img.unmount(t)
	if state, err := mapper.CheckExt4Mount(img.dev, true); err != nil || state != "not mounted" {
		t.Fatalf("CheckExt4Mount = %q, %v", state, err)
	}
	raw, err := os.Open(img.dev)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	m, err := mapper.NewExt4(0, raw, 256<<20, mapper.Ext4Options{Overwrite: true})
	if err != nil {
		t.Fatal(err)
	}
	// The device holds a filesystem: opening it for writing needs Force.
	d, err := device.Open(img.dev, device.Options{})
	if !errors.Is(err, device.ErrHasSignature) {
		t.Fatalf("device.Open for writing without Force: %v, want ErrHasSignature", err)
	}
	if d != nil {
		d.Close()
	}
	d, err = device.Open(img.dev, device.Options{Force: true})
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.New(engine.Config{Devices: []*device.Device{d}, Mapper: m, QueueDepth: 16})
	if err != nil {
		d.Close()
		t.Fatal(err)
	}
	buf := e.Buffer(8192)
	copy(buf, pattern(8192, 99))
	write := func(name string, off int64, ok bool) {
		t.Helper()
		f, err := e.Open(name, engine.FileOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		_, err = f.WriteAt(buf, off)
		if ok && err != nil || !ok && !errors.Is(err, engine.ErrReadOnly) {
			t.Errorf("write %s @%d: %v (want ok=%v)", name, off, err, ok)
		}
		if !ok {
			t.Logf("refused: %v", err)
		}
	}
	write("frag-a", 4096, true)
	write("falloc", 64<<10, true)      // written inside a preallocation
	write("falloc", 0, false)          // unwritten
	write("dir1/sparse", 1<<20, false) // hole
	write("deep", 0, false)            // 8 KiB over a written block and a hole
	write("deep", 2*4096*10, false)    // 8 KiB over block 20 (written) and 21 (hole): nothing written
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	d.Close() // drop the exclusive claim before e2fsck and mount
	if out, err := exec.Command("e2fsck", "-fn", img.dev).CombinedOutput(); err != nil {
		t.Errorf("e2fsck: %v\n%s", err, out)
	}
	if out, err := exec.Command("mount", "-o", "ro", img.dev, img.mnt).CombinedOutput(); err != nil {
		t.Fatalf("mount: %v: %s", err, out)
	}
	img.mounted = true
	for _, c := range []struct {
		name string
		off  int64
	}{{"frag-a", 4096}, {"falloc", 64 << 10}} {
		got := make([]byte, 8192)
		f, err := os.Open(filepath.Join(img.mnt, c.name))
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.ReadAt(got, c.off)
		f.Close()
		if err != nil || !bytes.Equal(got, pattern(8192, 99)) {
			t.Errorf("%s @%d: the kernel does not read what was overwritten (%v)", c.name, c.off, err)
		}
	}
	// The refused write over a written block and a hole wrote nothing.
	got, err := os.ReadFile(filepath.Join(img.mnt, "deep"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(got[2*4096*10:2*4096*10+4096], pattern(8192, 99)[:4096]) {
		t.Errorf("deep: a refused write changed block 20")
	}
}

// BenchmarkExt4Open100k measures opening a file of 100,000 extents (an
// extent tree of depth 2 on a filesystem of 1 KiB blocks): resolving its
// path, reading and checking its tree, and building its layout; then the
// cost of loading the whole layout into the file's cache (Warm).
func BenchmarkExt4Open100k(b *testing.B) {
	const extents = 100_000
	img := bigExtentImage(b, extents)
	raw, err := os.Open(img.dev)
	if err != nil {
		b.Fatal(err)
	}
	defer raw.Close()
	d, err := device.Open(img.dev, device.Options{ReadOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	m, err := mapper.NewExt4(0, raw, 256<<20, mapper.Ext4Options{})
	if err != nil {
		b.Fatal(err)
	}
	e, err := engine.New(engine.Config{Devices: []*device.Device{d}, Mapper: m, QueueDepth: 8})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	check := func(f *engine.File) {
		layout, err := m.Layout(f)
		if err != nil {
			b.Fatal(err)
		}
		mapped := 0
		for _, s := range layout {
			if s.Type == mapcache.Mapped {
				mapped++
			}
		}
		if mapped != extents {
			b.Fatalf("%d mapped extents, want %d", mapped, extents)
		}
	}
	b.Run("open", func(b *testing.B) {
		for b.Loop() {
			// A fresh mapper each time: the superblock and group
			// descriptors are read again, and no directory is cached.
			m, err := mapper.NewExt4(0, raw, 256<<20, mapper.Ext4Options{})
			if err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			e, err := engine.New(engine.Config{Devices: []*device.Device{d}, Mapper: m, QueueDepth: 8})
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			f, err := e.Open("many", engine.FileOptions{BlockSize: 1024})
			if err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			check(f)
			f.Close()
			e.Close()
			b.StartTimer()
		}
	})
	b.Run("open+warm", func(b *testing.B) {
		for b.Loop() {
			f, err := e.Open("many", engine.FileOptions{BlockSize: 1024})
			if err != nil {
				b.Fatal(err)
			}
			if err := m.Warm(f); err != nil {
				b.Fatal(err)
			}
			f.Close()
		}
	})
	b.Run("mapread", func(b *testing.B) {
		f, err := e.Open("many", engine.FileOptions{BlockSize: 1024})
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		dst := make([]mapcache.Mapping, 0, 16)
		req := &engine.MapRequest{File: f, Length: 1024}
		i := uint64(0)
		for b.Loop() {
			i = (i + 7919) % (2*extents - 1)
			req.Offset = i * 1024
			if _, err := m.MapRead(req, dst[:0]); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// bigExtentImage makes an ext4 filesystem of 1 KiB blocks on a loop
// device, writes "many" with n extents through the kernel (every other
// block) and unmounts it.
func bigExtentImage(b *testing.B, n int) *ext4Image {
	b.Helper()
	l := looptest.New(b, 256<<20, looptest.Options{})
	if out, err := exec.Command("mkfs.ext4", "-q", "-F", "-b", "1024", "-O", "^has_journal", l.Path).CombinedOutput(); err != nil {
		b.Fatalf("mkfs.ext4: %v: %s", err, out)
	}
	mnt := b.TempDir()
	if out, err := exec.Command("mount", l.Path, mnt).CombinedOutput(); err != nil {
		b.Skipf("mount: %v: %s", err, out)
	}
	f, err := os.Create(filepath.Join(mnt, "many"))
	if err == nil {
		blk := pattern(1024, 1)
		for i := range n {
			if _, err = f.WriteAt(blk, int64(2*i)*1024); err != nil {
				break
			}
		}
		f.Close()
	}
	if uerr := device.Unmount(mnt); uerr != nil {
		b.Fatal(uerr)
	}
	if err != nil {
		b.Fatal(err)
	}
	return &ext4Image{dev: l.Path, mnt: mnt, blockSize: 1024}
}

package ext4

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io"
	"maps"
	"math/bits"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// The seed images in testdata are small filesystems made with
// mkfs.ext4 -d (384 KiB, gzipped): metadata_csum with 1 KiB blocks,
// ext2 with 128-byte inodes, inline_data, 2 KiB blocks without checksums
// or 64bit, meta_bg. Each holds a file, a sparse file, a directory of 60
// entries, a fast and a slow symlink.
func seedImages(t testing.TB) map[string][]byte {
	t.Helper()
	paths, err := filepath.Glob("testdata/*.img.gz")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no seed images in testdata: %v", err)
	}
	out := map[string][]byte{}
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		z, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(z)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(p)] = b
	}
	return out
}

// guarded is a ReaderAt that fails the test on any read outside the
// device: the reader must never issue one, whatever the image says.
type guarded struct {
	t *testing.T
	b []byte
}

func (g guarded) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off > int64(len(g.b)) || int64(len(p)) > int64(len(g.b))-off {
		g.t.Fatalf("read [%d,+%d) outside the %d-byte device", off, len(p), len(g.b))
	}
	return copy(p, g.b[off:]), nil
}

// walk reads everything reachable from the root, within a budget, and
// returns how many entries it saw. Errors are fine; panics and reads
// outside the device are not.
func walk(t *testing.T, fsys *FS) int {
	seen := map[uint32]bool{}
	count := 0
	var visit func(path string, in *Inode, depth int)
	visit = func(path string, in *Inode, depth int) {
		if seen[in.Ino] || len(seen) > 300 || depth > 8 {
			return
		}
		seen[in.Ino] = true
		switch {
		case in.IsDir():
			ents, err := fsys.ReadDir(in)
			if err != nil {
				return
			}
			for _, e := range ents {
				count++
				if e.Name == "." || e.Name == ".." {
					continue
				}
				child, err := fsys.Lookup(path+"/"+e.Name, false)
				if err != nil {
					continue
				}
				visit(path+"/"+e.Name, child, depth+1)
			}
		case in.IsSymlink():
			fsys.ReadLink(in)
			fsys.Lookup(path, true)
		default:
			ext, tree, err := fsys.BlockMap(in)
			if err != nil {
				return
			}
			checkExtents(t, fsys, ext, tree)
			buf := make([]byte, 16<<10)
			n, err := fsys.ReadFileAt(in, ext, buf, 0)
			if err == nil && n != len(buf) || n > len(buf) {
				t.Fatalf("%s: ReadFileAt gave %d bytes, err %v", path, n, err)
			}
			if in.Size > 1<<20 {
				fsys.ReadFileAt(in, ext, buf, in.Size-1000)
			}
		}
	}
	root, err := fsys.Inode(RootIno)
	if err != nil {
		return 0
	}
	visit("", root, 0)
	return count
}

// checkExtents checks the invariants Extents promises.
func checkExtents(t *testing.T, fsys *FS, ext []Extent, tree []uint64) {
	sb := fsys.Superblock()
	for i, e := range ext {
		if e.Len == 0 || e.Physical+e.Len > sb.BlocksCount || e.Physical <= uint64(sb.FirstDataBlock) || e.Logical+e.Len > maxFileBlocks {
			t.Fatalf("extent %d %+v outside the filesystem (%d blocks)", i, e, sb.BlocksCount)
		}
		if i > 0 && ext[i-1].Logical+ext[i-1].Len > e.Logical {
			t.Fatalf("extents %d and %d overlap: %+v %+v", i-1, i, ext[i-1], e)
		}
	}
	for _, b := range tree {
		if b >= sb.BlocksCount {
			t.Fatalf("map block %d outside the filesystem", b)
		}
	}
	// No data or map block is metadata (a linear scan: the sets are small).
	for _, m := range fsys.meta {
		for _, e := range ext {
			if e.Physical < m.start+m.len && m.start < e.Physical+e.Len {
				t.Fatalf("extent %+v overlaps metadata blocks [%d,+%d)", e, m.start, m.len)
			}
		}
		for _, b := range tree {
			if m.start <= b && b < m.start+m.len {
				t.Fatalf("map block %d is metadata [%d,+%d)", b, m.start, m.len)
			}
		}
	}
}

// TestSeedImages makes sure the fuzz seeds are whole, valid filesystems.
func TestSeedImages(t *testing.T) {
	for name, b := range seedImages(t) {
		fsys, err := Open(guarded{t, b}, uint64(len(b)))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if n := walk(t, fsys); n < 70 {
			t.Errorf("%s: walked %d entries, want the whole tree (70+)", name, n)
		}
		for _, p := range []string{"/f", "/sparse", "/dir/t", "/dir/l", "/long"} {
			if err := readAll(fsys, p); err != nil && !errors.Is(err, ErrNotFound) {
				t.Errorf("%s: %s: %v", name, p, err)
			}
		}
	}
}

// FuzzImage corrupts a seed image and reads every file, directory and
// symlink it can reach: errors are expected; panics, reads outside the
// device and broken extent invariants are not.
//
// The fuzzer does not mutate the 384 KiB images themselves (Go's fuzzer
// slows to a crawl on inputs that large) but a patch applied to one:
// which seed, a new device length, then (offset, byte) pairs, 4+1 bytes
// each, with offsets biased towards the metadata at the front.
func FuzzImage(f *testing.F) {
	seeds := seedImages(f)
	var imgs [][]byte
	for _, name := range slices.Sorted(maps.Keys(seeds)) {
		imgs = append(imgs, seeds[name])
	}
	for i := range imgs {
		f.Add(uint8(i), uint32(0), []byte{})
		f.Add(uint8(i), uint32(0), []byte{0x38, 0x04, 0, 0, 0x52})    // superblock magic
		f.Add(uint8(i), uint32(0), []byte{0x0b, 0x08, 0, 0, 0x7f})    // group descriptor
		f.Add(uint8(i), uint32(200<<10), []byte{0x00, 0x30, 0, 0, 1}) // truncated
	}
	f.Fuzz(func(t *testing.T, seed uint8, length uint32, patch []byte) {
		img := bytes.Clone(imgs[int(seed)%len(imgs)])
		if length != 0 && int(length) < len(img) {
			img = img[:length]
		}
		for ; len(patch) >= 5 && len(img) > 0; patch = patch[5:] {
			off := int(binary.LittleEndian.Uint32(patch))
			if off&1 == 0 {
				off %= min(len(img), 64<<10) // metadata lives in the first blocks
			} else {
				off %= len(img)
			}
			img[off] = patch[4]
		}
		fsys, err := Open(guarded{t, img}, uint64(len(img)))
		if err != nil {
			var se *StructError
			if !errors.As(err, &se) {
				t.Fatalf("Open error %v is not a *StructError", err)
			}
			return
		}
		walk(t, fsys)
	})
}

// FuzzSuperblock feeds arbitrary superblocks to ParseSuperblock.
func FuzzSuperblock(f *testing.F) {
	for _, b := range seedImages(f) {
		f.Add(bytes.Clone(b[1024:2048]), uint64(len(b)))
	}
	f.Fuzz(func(t *testing.T, b []byte, size uint64) {
		s, err := ParseSuperblock(b, size)
		if err != nil {
			return
		}
		if s.BlockSize() < 1024 || s.BlockSize() > 65536 || s.BlocksCount*uint64(s.BlockSize()) > size || s.Groups() == 0 {
			t.Fatalf("accepted superblock with %d blocks of %d bytes, %d groups, device %d", s.BlocksCount, s.BlockSize(), s.Groups(), size)
		}
		if hi, lo := bits.Mul64(s.Groups(), uint64(s.InodesPerGroup)); hi != 0 || lo != uint64(s.InodesCount) {
			t.Fatalf("accepted %d inodes for %d groups of %d", s.InodesCount, s.Groups(), s.InodesPerGroup)
		}
	})
}

// TestSuperblockInodeCountWraps: groups x inodes per group is compared
// without wrapping. 2^45 groups of one 64 KiB block (a device of 2^61
// bytes) with 2^19 inodes each make 2^64, which wrapped to the 0 inodes
// this superblock claims, and it was accepted.
func TestSuperblockInodeCountWraps(t *testing.T) {
	b := make([]byte, 1024)
	le := binary.LittleEndian
	le.PutUint16(b[0x38:], 0xef53)   // magic
	le.PutUint32(b[0x18:], 6)        // 64 KiB blocks
	le.PutUint32(b[0x1c:], 6)        // and clusters
	le.PutUint32(b[0x20:], 1)        // blocks per group
	le.PutUint32(b[0x24:], 1)        // clusters per group
	le.PutUint32(b[0x28:], 1<<19)    // inodes per group
	le.PutUint32(b[0x150:], 1<<13)   // 2^45 blocks (the high half)
	le.PutUint32(b[0x4c:], 1)        // dynamic revision
	le.PutUint32(b[0x54:], 11)       // first inode
	le.PutUint16(b[0x58:], 256)      // inode size
	le.PutUint32(b[0x60:], 0x80|0x2) // 64bit, filetype
	le.PutUint16(b[0xfe:], 64)       // descriptor size
	if _, err := ParseSuperblock(b, 1<<63); err == nil || !strings.Contains(err.Error(), "0 inodes") {
		t.Fatalf("ParseSuperblock: %v, want the inode count refused", err)
	}
}

// zeroDevice is a device of zeros but for the bytes of b at its start.
type zeroDevice []byte

func (d zeroDevice) ReadAt(p []byte, off int64) (int, error) {
	clear(p)
	if off < int64(len(d)) {
		copy(p, d[off:])
	}
	return len(p), nil
}

// TestGroupCountNotTrusted: a superblock claiming 2^26 one-block groups
// on a 64 GiB device of zeros is refused at the first group descriptor
// without first allocating room for all of them (1 GiB, and 64 GiB for
// the 2^32 groups a 4 TiB device allows).
func TestGroupCountNotTrusted(t *testing.T) {
	const groups = 1 << 26
	b := make([]byte, 2048)
	sb := b[1024:]
	le := binary.LittleEndian
	le.PutUint16(sb[0x38:], 0xef53)   // magic
	le.PutUint32(sb[0x00:], groups)   // inodes: one per group
	le.PutUint32(sb[0x04:], groups+1) // blocks, 1 KiB each
	le.PutUint32(sb[0x14:], 1)        // first data block
	le.PutUint32(sb[0x20:], 1)        // blocks per group
	le.PutUint32(sb[0x24:], 1)        // clusters per group
	le.PutUint32(sb[0x28:], 1)        // inodes per group
	le.PutUint32(sb[0x4c:], 1)        // dynamic revision
	le.PutUint32(sb[0x54:], 11)       // first inode
	le.PutUint16(sb[0x58:], 128)      // inode size
	le.PutUint32(sb[0x60:], 0x2)      // filetype
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := Open(zeroDevice(b), (groups+1)*1024)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "group descriptor 0") {
		t.Fatalf("Open: %v, want group descriptor 0 refused", err)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
		t.Fatalf("Open allocated %d bytes to refuse the first descriptor", n)
	}
}

package ext4

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// corruptSource is a tree with a file whose extent tree has a leaf block
// (more than four extents: every other block written) and a directory
// spanning several blocks.
func corruptSource(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, "frag"))
	if err != nil {
		t.Fatal(err)
	}
	block := bytes.Repeat([]byte{0x5a}, 1024)
	for i := range int64(12) {
		if _, err := f.WriteAt(block, 2*i*1024); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()
	if err := os.Mkdir(filepath.Join(dir, "d"), 0o755); err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		if err := os.WriteFile(filepath.Join(dir, "d", "name-"+strings.Repeat("x", i%40)+string(rune('a'+i%26))+itoa(i)), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}

// image is an image held in memory, to corrupt.
type image struct {
	b  []byte
	bs uint64
}

func loadImage(t *testing.T, csum bool) *image {
	t.Helper()
	src := corruptSource(t)
	args := []string{"-b", "1024", "-O", "^has_journal"}
	if !csum {
		args = []string{"-b", "1024", "-O", "^has_journal,^metadata_csum,^uninit_bg"}
	}
	path := mkfs(t, 4<<20, src, args...)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return &image{b: b, bs: 1024}
}

func (im *image) open() (*FS, error) {
	return Open(bytes.NewReader(im.b), uint64(len(im.b)))
}

func (im *image) fs(t *testing.T) *FS {
	t.Helper()
	fsys, err := im.open()
	if err != nil {
		t.Fatalf("pristine image: %v", err)
	}
	return fsys
}

// inodeOff returns the byte offset of the inode at path.
func (im *image) inodeOff(t *testing.T, path string) (int, *Inode) {
	t.Helper()
	fsys := im.fs(t)
	in, err := fsys.Lookup(path, false)
	if err != nil {
		t.Fatal(err)
	}
	blk, off, err := fsys.inodeLoc(in.Ino)
	if err != nil {
		t.Fatal(err)
	}
	return int(blk*im.bs) + int(off), in
}

// readAll resolves path and reads its whole block map and data: what a
// mapper does at open.
func readAll(fsys *FS, path string) error {
	in, err := fsys.Lookup(path, true)
	if err != nil {
		return err
	}
	if in.IsDir() {
		_, err = fsys.ReadDir(in)
		return err
	}
	ext, err := fsys.Extents(in)
	if err != nil {
		return err
	}
	buf := make([]byte, in.Size)
	_, err = fsys.ReadFileAt(in, ext, buf, 0)
	return err
}

func wantErr(t *testing.T, err, sentinel error, mention ...string) {
	t.Helper()
	if !errors.Is(err, sentinel) {
		t.Fatalf("error %v, want %v", err, sentinel)
	}
	for _, m := range mention {
		if !strings.Contains(err.Error(), m) {
			t.Errorf("error %q does not mention %q", err, m)
		}
	}
	t.Logf("%v", err)
}

func TestCorruptSuperblock(t *testing.T) {
	im := loadImage(t, true)
	im.b[1024+0x10] ^= 0x40 // free inodes count: only the checksum can tell
	_, err := im.open()
	wantErr(t, err, ErrChecksum, "superblock", "block 1")

	im = loadImage(t, false)
	im.b[1024+0x38] ^= 0x01 // magic
	_, err = im.open()
	wantErr(t, err, ErrCorrupt, "superblock", "magic")

	im = loadImage(t, false)
	im.b[1024+0x07] = 0x7f // blocks count far past the device
	_, err = im.open()
	wantErr(t, err, ErrCorrupt, "superblock", "do not fit")

	im = loadImage(t, false)
	im.b[1024+0x60] |= 0x10 // incompat: encrypt (0x10000)>>8 is byte 0x62; 0x10 here is meta_bg, harmless
	im.b[1024+0x62] |= 0x01 // encrypt
	_, err = im.open()
	wantErr(t, err, ErrUnsupported, "encrypt")

	im = loadImage(t, false)
	im.b[1024+0x65] |= 0x02 // ro_compat bigalloc (0x200)
	_, err = im.open()
	wantErr(t, err, ErrUnsupported, "bigalloc")

	_, err = Open(bytes.NewReader(im.b[:1500]), 1500)
	wantErr(t, err, ErrCorrupt, "superblock")
}

func TestCorruptGroupDescriptor(t *testing.T) {
	// 1 KiB blocks: the descriptors are in block 2.
	for _, csum := range []bool{true, false} {
		im := loadImage(t, csum)
		if csum {
			im.b[2*1024+0x0c] ^= 0x01 // free blocks count
			_, err := im.open()
			wantErr(t, err, ErrChecksum, "group descriptor 0", "block 2")
		}
		im = loadImage(t, csum)
		im.b[2*1024+0x0b] = 0x7f // inode table far away
		_, err := im.open()
		if csum {
			wantErr(t, err, ErrChecksum, "group descriptor 0")
		} else {
			wantErr(t, err, ErrCorrupt, "group descriptor 0", "inode table")
		}
	}
	// gdt_csum (uninit_bg without metadata_csum): crc16.
	src := corruptSource(t)
	path := mkfs(t, 4<<20, src, "-b", "1024", "-O", "^has_journal,^metadata_csum,uninit_bg")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	im := &image{b: b, bs: 1024}
	im.fs(t)
	im.b[2*1024+0x0c] ^= 0x01
	_, err = im.open()
	wantErr(t, err, ErrChecksum, "group descriptor 0")
}

func TestCorruptInode(t *testing.T) {
	im := loadImage(t, true)
	off, in := im.inodeOff(t, "/frag")
	im.b[off+0x04] ^= 0x01 // size
	wantErr(t, readAll(im.fs(t), "/frag"), ErrChecksum, "inode "+itoa(int(in.Ino)))

	im = loadImage(t, false)
	off, _ = im.inodeOff(t, "/frag")
	im.b[off+0x80] = 0xff // extra inode size past the inode
	wantErr(t, readAll(im.fs(t), "/frag"), ErrCorrupt, "extra inode size")

	// A size past 2^32 blocks: no block map reaches it. Taken as it was,
	// 'iobench ext4 cat' copied zeros without end (2^63 bytes) or read
	// nothing (2^64-1 wrapped when rounded up to a block).
	for _, hi := range []uint32{1 << 10, 1 << 31, 0xffffffff} {
		im = loadImage(t, false)
		off, in = im.inodeOff(t, "/frag")
		le.PutUint32(im.b[off+0x6c:], hi) // i_size_high
		_, err := im.fs(t).Lookup("/frag", true)
		wantErr(t, err, ErrCorrupt, "inode "+itoa(int(in.Ino)), "past the largest file")
	}

	im = loadImage(t, false)
	off, _ = im.inodeOff(t, "/frag")
	im.b[off+0x21] |= 0x08 // encrypt flag (0x800)
	wantErr(t, readAll(im.fs(t), "/frag"), ErrUnsupported, "encrypted")
}

func TestCorruptExtents(t *testing.T) {
	im := loadImage(t, false)
	off, _ := im.inodeOff(t, "/frag")
	root := off + 0x28
	if le.Uint16(im.b[root+6:]) != 1 {
		t.Fatalf("frag: extent tree depth %d, want 1", le.Uint16(im.b[root+6:]))
	}
	leafBlock := int(le.Uint32(im.b[root+12+4:]))
	leaf := leafBlock * 1024
	pristine := bytes.Clone(im.b)

	t.Run("header magic in the inode", func(t *testing.T) {
		im.b = bytes.Clone(pristine)
		im.b[root] ^= 0xff
		wantErr(t, readAll(im.fs(t), "/frag"), ErrCorrupt, "extent tree root", "magic")
	})
	t.Run("header magic in a block", func(t *testing.T) {
		im.b = bytes.Clone(pristine)
		im.b[leaf] ^= 0xff
		wantErr(t, readAll(im.fs(t), "/frag"), ErrCorrupt, "extent block", "block "+itoa(leafBlock), "magic")
	})
	t.Run("entries over max", func(t *testing.T) {
		im.b = bytes.Clone(pristine)
		le.PutUint16(im.b[leaf+2:], 500)
		wantErr(t, readAll(im.fs(t), "/frag"), ErrCorrupt, "extent block", "entries")
	})
	t.Run("depth", func(t *testing.T) {
		im.b = bytes.Clone(pristine)
		le.PutUint16(im.b[leaf+6:], 3)
		wantErr(t, readAll(im.fs(t), "/frag"), ErrCorrupt, "depth 3")
	})
	t.Run("extent past the device", func(t *testing.T) {
		im.b = bytes.Clone(pristine)
		le.PutUint32(im.b[leaf+12+8:], 1<<30) // first extent's start
		wantErr(t, readAll(im.fs(t), "/frag"), ErrCorrupt, "outside the filesystem")
	})
	t.Run("extent over the superblock", func(t *testing.T) {
		// Block 1 holds the superblock with 1 KiB blocks: as file data it
		// was read back as the file, and an overwrite would have gone there.
		im.b = bytes.Clone(pristine)
		le.PutUint32(im.b[leaf+12+8:], 1)
		wantErr(t, readAll(im.fs(t), "/frag"), ErrCorrupt, "extent", "superblock")
	})
	t.Run("extent high bits past the device", func(t *testing.T) {
		im.b = bytes.Clone(pristine)
		le.PutUint16(im.b[leaf+12+6:], 0xffff)
		wantErr(t, readAll(im.fs(t), "/frag"), ErrCorrupt, "outside the filesystem")
	})
	t.Run("overlapping extents", func(t *testing.T) {
		im.b = bytes.Clone(pristine)
		le.PutUint32(im.b[leaf+24:], le.Uint32(im.b[leaf+12:])) // second starts where the first does
		wantErr(t, readAll(im.fs(t), "/frag"), ErrCorrupt)
	})
	t.Run("two extents on the same blocks", func(t *testing.T) {
		im.b = bytes.Clone(pristine)
		copy(im.b[leaf+24+6:leaf+24+12], im.b[leaf+12+6:leaf+12+12]) // second extent's start = first's
		wantErr(t, readAll(im.fs(t), "/frag"), ErrCorrupt, "block map", "mapped twice", "file blocks [0,+1)", "file blocks [2,+1)")
	})
	t.Run("extent over its own leaf", func(t *testing.T) {
		im.b = bytes.Clone(pristine)
		le.PutUint16(im.b[leaf+12+6:], 0)
		le.PutUint32(im.b[leaf+12+8:], uint32(leafBlock))
		wantErr(t, readAll(im.fs(t), "/frag"), ErrCorrupt, "block map", "block "+itoa(leafBlock)+" is mapped twice", "map block "+itoa(leafBlock))
	})
	t.Run("extent over an inode table", func(t *testing.T) {
		im.b = bytes.Clone(pristine)
		it := im.fs(t).groups[0].InodeTable
		le.PutUint32(im.b[leaf+12+8:], uint32(it)+1)
		wantErr(t, readAll(im.fs(t), "/frag"), ErrCorrupt, "block map", "file blocks [0,+1) at block "+itoa(int(it)+1), "the inode table of group 0 at blocks ["+itoa(int(it))+",")
	})
	t.Run("extent over the group descriptors", func(t *testing.T) {
		im.b = bytes.Clone(pristine)
		le.PutUint32(im.b[leaf+12+8:], 2) // 1 KiB blocks: the descriptors are in block 2
		wantErr(t, readAll(im.fs(t), "/frag"), ErrCorrupt, "file blocks [0,+1) at block 2", "group descriptors")
	})
	t.Run("index past the device", func(t *testing.T) {
		im.b = bytes.Clone(pristine)
		le.PutUint32(im.b[root+12+4:], 1<<31)
		wantErr(t, readAll(im.fs(t), "/frag"), ErrCorrupt, "outside the filesystem")
	})
	t.Run("loop in the tree", func(t *testing.T) {
		// A second index entry in the root naming the same leaf.
		im.b = bytes.Clone(pristine)
		le.PutUint16(im.b[root+2:], 2)
		copy(im.b[root+24:root+36], im.b[root+12:root+24])
		le.PutUint32(im.b[root+24:], 0xffff0000)
		wantErr(t, readAll(im.fs(t), "/frag"), ErrCorrupt, "a loop in the tree")
	})
	t.Run("index pointing to itself", func(t *testing.T) {
		im.b = bytes.Clone(pristine)
		le.PutUint16(im.b[leaf+6:], 1) // the leaf claims to be an index ...
		le.PutUint32(im.b[leaf+12+4:], uint32(leafBlock))
		le.PutUint16(im.b[leaf+12+8:], 0) // ... whose first entry is itself
		wantErr(t, readAll(im.fs(t), "/frag"), ErrCorrupt)
	})

	// With metadata_csum the leaf's checksum catches any flip.
	im2 := loadImage(t, true)
	off, _ = im2.inodeOff(t, "/frag")
	leafBlock = int(le.Uint32(im2.b[off+0x28+12+4:]))
	im2.b[leafBlock*1024+12+8] ^= 0x01
	wantErr(t, readAll(im2.fs(t), "/frag"), ErrChecksum, "extent block", "block "+itoa(leafBlock))
}

func TestCorruptDirectory(t *testing.T) {
	for _, csum := range []bool{true, false} {
		im := loadImage(t, csum)
		fsys := im.fs(t)
		d, err := fsys.Lookup("/d", false)
		if err != nil {
			t.Fatal(err)
		}
		ext, err := fsys.Extents(d)
		if err != nil || len(ext) == 0 {
			t.Fatalf("/d: %v %v", ext, err)
		}
		blk := int(ext[0].Physical)
		if csum {
			im.b[blk*1024+20] ^= 0x01 // a name byte
			wantErr(t, readAll(im.fs(t), "/d"), ErrChecksum, "directory block 0", "block "+itoa(blk))
			continue
		}
		le.PutUint16(im.b[blk*1024+4:], 2000) // "." record length past the block
		wantErr(t, readAll(im.fs(t), "/d"), ErrCorrupt, "directory block 0", "record length")
		// A record length of 0 (only 64 KiB blocks write the whole block
		// so) was taken as the whole block: the block's other names were
		// silently missing.
		le.PutUint16(im.b[blk*1024+4:], 0)
		wantErr(t, readAll(im.fs(t), "/d"), ErrCorrupt, "directory block 0", "record length 0")
		le.PutUint16(im.b[blk*1024+4:], 12)
		le.PutUint32(im.b[blk*1024:], 1<<30) // "." names an inode past the last
		wantErr(t, readAll(im.fs(t), "/d"), ErrCorrupt, "names inode")
		// A name for the journal (inode 8) or another reserved inode: the
		// kernel refuses it; opened, it read (and with --ext4_overwrite=1
		// wrote) the journal as a file.
		le.PutUint32(im.b[blk*1024:], 8)
		wantErr(t, readAll(im.fs(t), "/d"), ErrCorrupt, "directory block 0", "reserved inode 8")
	}
	// A lookup through a corrupt root directory fails the same way.
	im := loadImage(t, true)
	fsys := im.fs(t)
	root, _ := fsys.Inode(RootIno)
	ext, _ := fsys.Extents(root)
	im.b[int(ext[0].Physical)*1024+30] ^= 0x80
	_, err := im.fs(t).Lookup("/frag", true)
	wantErr(t, err, ErrChecksum, "inode 2 directory block 0")
}

func TestSymlinkLoop(t *testing.T) {
	dir := t.TempDir()
	os.Symlink("b", filepath.Join(dir, "a"))
	os.Symlink("a", filepath.Join(dir, "b"))
	os.Symlink("/self/x", filepath.Join(dir, "self"))
	im := mkfs(t, 2<<20, dir, "-b", "1024")
	fsys, _ := openImage(t, im)
	for _, p := range []string{"/a", "/self/x"} {
		_, err := fsys.Lookup(p, true)
		wantErr(t, err, ErrSymlinkLoop)
	}
	_, err := fsys.Lookup("/a/x", false)
	wantErr(t, err, ErrSymlinkLoop)
	_, err = fsys.Lookup("/nope", true)
	wantErr(t, err, ErrNotFound, "/nope")
}

// TestCorruptBlockMap corrupts an ext2 file's block pointers: a direct
// pointer to the superblock's block or past the filesystem, and double
// and triple indirect blocks that lead back into the map.
func TestCorruptBlockMap(t *testing.T) {
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "big"), bytes.Repeat([]byte("0123456789abcdef"), 300<<10/16), 0o644); err != nil {
		t.Fatal(err)
	}
	path := mkfs(t, 4<<20, src, "-b", "1024", "-t", "ext2", "-I", "128")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pristine := &image{b: b, bs: 1024}
	off, _ := pristine.inodeOff(t, "/big")
	iblock := off + 0x28
	single := int(le.Uint32(b[iblock+4*12:]))
	double := int(le.Uint32(b[iblock+4*13:]))
	if double == 0 || single == 0 {
		t.Fatalf("/big: no single and double indirect blocks")
	}
	for _, c := range []struct {
		name    string
		corrupt func(b []byte)
		mention []string
	}{
		{"direct pointer to the superblock", func(b []byte) { le.PutUint32(b[iblock:], 1) }, []string{"extent", "superblock"}},
		{"direct pointer past the end", func(b []byte) { le.PutUint32(b[iblock:], 1<<30) }, []string{"outside the filesystem"}},
		{"indirect block mapped as data", func(b []byte) { le.PutUint32(b[single*1024+8:], uint32(single)) }, []string{"block map", "mapped twice", "map block"}},
		{"two pointers to one block", func(b []byte) { le.PutUint32(b[iblock+4:], le.Uint32(b[iblock:])) }, []string{"block map", "mapped twice", "file blocks [0,+1)"}},
		{"double indirect pointing to itself", func(b []byte) { le.PutUint32(b[double*1024+4:], uint32(double)) }, []string{"indirect block", "a loop"}},
		{"triple indirect is the double", func(b []byte) { le.PutUint32(b[iblock+4*14:], uint32(double)) }, []string{"indirect block", "a loop"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			im := &image{b: bytes.Clone(pristine.b), bs: 1024}
			c.corrupt(im.b)
			wantErr(t, readAll(im.fs(t), "/big"), ErrCorrupt, c.mention...)
		})
	}
}

// TestCorruptSymlink: a NUL inside a link target (fast, slow or inline)
// is corrupt; it was looked up as part of a name, and the error was "no
// such file" with the raw bytes in the path.
func TestCorruptSymlink(t *testing.T) {
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "f"), []byte("data"), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, target := range map[string]string{"fast": "./f", "slow": strings.Repeat("./", 40) + "f"} {
		if err := os.Symlink(target, filepath.Join(src, name)); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{
		{"-b", "1024", "-O", "^has_journal,^metadata_csum"},
		{"-b", "1024", "-I", "256", "-O", "^has_journal,^metadata_csum,inline_data"},
	} {
		path := mkfs(t, 2<<20, src, args...)
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		pristine := &image{b: b, bs: 1024}
		for _, link := range []string{"/fast", "/slow"} {
			im := &image{b: bytes.Clone(pristine.b), bs: 1024}
			off, in := im.inodeOff(t, link)
			at := off + 0x28 + 1 // i_block: a fast or inline target
			if !in.HasInlineData() && in.Size >= 60 {
				ext, err := im.fs(t).Extents(in)
				if err != nil || len(ext) == 0 {
					t.Fatalf("%s: %v %v", link, ext, err)
				}
				at = int(ext[0].Physical)*1024 + 1
			}
			if im.b[at] != '/' {
				t.Fatalf("%s: byte %d is %q, want the target's '/'", link, at, im.b[at])
			}
			im.b[at] = 0
			_, err := im.fs(t).Lookup(link, true)
			wantErr(t, err, ErrCorrupt, "inode "+itoa(int(in.Ino)), "NUL at byte 1")
		}
	}
}

// TestCorruptDirParent: the inode numbers of "." and ".." in an htree
// root block and of the parent in an inline directory are checked as
// every other entry's are; they were returned as they stood, and only a
// later lookup of ".." failed, naming block 0 instead of the directory.
func TestCorruptDirParent(t *testing.T) {
	if _, err := exec.LookPath("e2fsck"); err != nil {
		t.Skipf("needs e2fsck (e2fsprogs): %v", err)
	}
	im := loadImage(t, false)
	path := filepath.Join(t.TempDir(), "htree.img")
	if err := os.WriteFile(path, im.b, 0o644); err != nil {
		t.Fatal(err)
	}
	// e2fsck -D rebuilds every directory of more than a block as an
	// htree, and exits 1 for "filesystem changed".
	out, err := exec.Command("e2fsck", "-fyD", path).CombinedOutput()
	if ee := (*exec.ExitError)(nil); err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 1) {
		t.Fatalf("e2fsck -fyD: %v: %s", err, out)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	im = &image{b: b, bs: 1024}
	_, d := im.inodeOff(t, "/d")
	if d.Flags&flagIndex == 0 {
		t.Fatalf("/d is not an htree after e2fsck -D (flags %#x)", d.Flags)
	}
	ext, err := im.fs(t).Extents(d)
	if err != nil {
		t.Fatal(err)
	}
	root := int(ext[0].Physical) * 1024
	for _, at := range []int{0, 12} {
		im := &image{b: bytes.Clone(b), bs: 1024}
		le.PutUint32(im.b[root+at:], 0xffffffff)
		wantErr(t, readAll(im.fs(t), "/d"), ErrCorrupt, "directory block 0", "byte "+itoa(at), "names inode 4294967295")
	}

	src := t.TempDir()
	if err := os.Mkdir(filepath.Join(src, "in"), 0o755); err != nil {
		t.Fatal(err)
	}
	path = mkfs(t, 2<<20, src, "-b", "1024", "-I", "256", "-O", "^has_journal,^metadata_csum,inline_data")
	if b, err = os.ReadFile(path); err != nil {
		t.Fatal(err)
	}
	im = &image{b: b, bs: 1024}
	off, in := im.inodeOff(t, "/in")
	if !in.HasInlineData() {
		t.Fatalf("/in is not inline (flags %#x)", in.Flags)
	}
	le.PutUint32(im.b[off+0x28:], 0xffffffff)
	wantErr(t, readAll(im.fs(t), "/in"), ErrCorrupt, "inline directory", "names inode 4294967295")
}

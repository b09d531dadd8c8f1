package ext4

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// e2Group is one group's metadata as dumpe2fs prints it; a zero len is
// absent.
type e2Group struct {
	super, desc, resGDT, blockBitmap, inodeBitmap, inodeTable blockRun
}

// e2Layout is a filesystem's metadata as e2fsprogs sees it: dumpe2fs's
// groups and MMP block, and debugfs's block lists (map blocks included)
// of the special inodes the superblock names.
type e2Layout struct {
	groups  []e2Group
	special map[uint32][]uint64 // inode -> its blocks
	mmp     uint64
}

var (
	reGroup  = regexp.MustCompile(`^Group (\d+):`)
	reSuper  = regexp.MustCompile(`(?:Primary|Backup) superblock at (\d+)`)
	reDesc   = regexp.MustCompile(`Group descriptors? at (\d+)(?:-(\d+))?`)
	reResGDT = regexp.MustCompile(`Reserved GDT blocks at (\d+)-(\d+)`)
	reBB     = regexp.MustCompile(`Block bitmap at (\d+)`)
	reIB     = regexp.MustCompile(`Inode bitmap at (\d+)`)
	reIT     = regexp.MustCompile(`Inode table at (\d+)-(\d+)`)
	reInode  = regexp.MustCompile(`^(?:Journal|User quota|Group quota|Project quota|Orphan file) inode:\s+(\d+)`)
	reMMP    = regexp.MustCompile(`^MMP block number:\s+(\d+)`)
)

func e2run(m []string) blockRun {
	a, _ := strconv.ParseUint(m[1], 10, 64)
	b := a
	if len(m) > 2 && m[2] != "" {
		b, _ = strconv.ParseUint(m[2], 10, 64)
	}
	return blockRun{a, b - a + 1}
}

// e2fsLayout runs dumpe2fs and debugfs on img.
func e2fsLayout(t *testing.T, img string) *e2Layout {
	t.Helper()
	for _, tool := range []string{"dumpe2fs", "debugfs"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s (e2fsprogs): %v", tool, err)
		}
	}
	out, err := exec.Command("dumpe2fs", img).Output()
	if err != nil {
		t.Fatalf("dumpe2fs %s: %v", img, err)
	}
	l := &e2Layout{special: map[uint32][]uint64{}}
	var inodes []uint32
	for line := range strings.Lines(string(out)) {
		line = strings.TrimSpace(line)
		if reGroup.MatchString(line) {
			l.groups = append(l.groups, e2Group{})
			continue
		}
		if m := reInode.FindStringSubmatch(line); m != nil {
			n, _ := strconv.ParseUint(m[1], 10, 32)
			inodes = append(inodes, uint32(n))
		}
		if m := reMMP.FindStringSubmatch(line); m != nil {
			l.mmp, _ = strconv.ParseUint(m[1], 10, 64)
		}
		if len(l.groups) == 0 {
			continue
		}
		g := &l.groups[len(l.groups)-1]
		for _, f := range []struct {
			re *regexp.Regexp
			to *blockRun
		}{{reSuper, &g.super}, {reDesc, &g.desc}, {reResGDT, &g.resGDT}, {reBB, &g.blockBitmap}, {reIB, &g.inodeBitmap}, {reIT, &g.inodeTable}} {
			if m := f.re.FindStringSubmatch(line); m != nil {
				*f.to = e2run(m)
			}
		}
	}
	if len(l.groups) == 0 {
		t.Fatalf("dumpe2fs %s: no groups in\n%s", img, out)
	}
	inodes = append(inodes, resizeIno) // no blocks without resize_inode
	for _, ino := range inodes {
		out, err := exec.Command("debugfs", "-R", "blocks <"+strconv.Itoa(int(ino))+">", img).Output()
		if err != nil {
			t.Fatalf("debugfs blocks <%d>: %v", ino, err)
		}
		for _, f := range strings.Fields(string(out)) {
			b, err := strconv.ParseUint(f, 10, 64)
			if err != nil {
				t.Fatalf("debugfs blocks <%d>: %q", ino, out)
			}
			l.special[ino] = append(l.special[ino], b)
		}
	}
	return l
}

// blocks returns every metadata block of the layout.
func (l *e2Layout) blocks() map[uint64]bool {
	set := map[uint64]bool{}
	add := func(r blockRun) {
		for b := r.start; b < r.start+r.len; b++ {
			set[b] = true
		}
	}
	for _, g := range l.groups {
		for _, r := range []blockRun{g.super, g.desc, g.resGDT, g.blockBitmap, g.inodeBitmap, g.inodeTable} {
			add(r)
		}
	}
	for _, bs := range l.special {
		for _, b := range bs {
			set[b] = true
		}
	}
	if l.mmp != 0 {
		set[l.mmp] = true
	}
	return set
}

// checkMeta compares the reader's metadata set with what e2fsprogs says
// the filesystem's metadata is, block by block, both ways.
func checkMeta(t *testing.T, fsys *FS, img string) {
	t.Helper()
	want := e2fsLayout(t, img).blocks()
	got := map[uint64]bool{}
	for i, r := range fsys.meta {
		if i > 0 && fsys.meta[i-1].start+fsys.meta[i-1].len >= r.start {
			t.Fatalf("metadata runs %d and %d not merged: %+v %+v", i-1, i, fsys.meta[i-1], r)
		}
		for b := r.start; b < r.start+r.len; b++ {
			got[b] = true
		}
	}
	var missing, extra []uint64
	for b := range want {
		if !got[b] {
			missing = append(missing, b)
		}
	}
	for b := range got {
		if !want[b] {
			extra = append(extra, b)
		}
	}
	sort.Slice(missing, func(i, j int) bool { return missing[i] < missing[j] })
	sort.Slice(extra, func(i, j int) bool { return extra[i] < extra[j] })
	if len(missing) > 0 {
		t.Errorf("%d metadata blocks (dumpe2fs, debugfs) not in the set, from %v", len(missing), missing[:min(20, len(missing))])
	}
	if len(extra) > 0 {
		t.Errorf("%d blocks in the metadata set that e2fsprogs does not count as metadata, from %v", len(extra), extra[:min(20, len(extra))])
	}
	t.Logf("%d metadata blocks in %d runs", len(got), len(fsys.meta))
}

// metaTargets are metadata blocks a corrupted map is pointed at, each
// with what the error must name.
func metaTargets(t *testing.T, l *e2Layout, journal bool) []struct {
	what string
	blk  uint64
} {
	t.Helper()
	if len(l.groups) < 2 || l.groups[1].super.len == 0 || l.groups[0].resGDT.len == 0 || l.groups[1].resGDT.len == 0 {
		t.Fatalf("want two groups with superblocks and reserved GDT blocks, have %+v", l.groups)
	}
	g0, g1 := l.groups[0], l.groups[1]
	targets := []struct {
		what string
		blk  uint64
	}{
		{"the block bitmap of group 1", g1.blockBitmap.start},
		{"the inode bitmap of group 0", g0.inodeBitmap.start},
		{"the reserved GDT blocks of group 0", g0.resGDT.start + g0.resGDT.len - 1},
		{"the reserved GDT blocks of group 1", g1.resGDT.start + 1},
		{"the backup superblock in group 1", g1.super.start},
		{"the backup group descriptors in group 1", g1.desc.start},
		{"the inode table of group 1", g1.inodeTable.start + 3},
		{"the resize inode's double indirect block", l.special[resizeIno][0]},
	}
	if journal {
		j := l.special[8]
		if len(j) < 100 {
			t.Fatalf("journal: %d blocks", len(j))
		}
		targets = append(targets, struct {
			what string
			blk  uint64
		}{"the journal (inode 8)", j[len(j)/2]})
	}
	return targets
}

// fixExtentBlock rewrites the metadata_csum checksum of the extent block
// at leaf for inode in.
func fixExtentBlock(b []byte, in *Inode) {
	tail := 12 + 12*int(le.Uint16(b[4:]))
	le.PutUint32(b[tail:], crc32c(in.csumSeed, b[:tail]))
}

// TestCorruptMetadataOverlap points an extent (ext4 with metadata_csum,
// the leaf's checksum rewritten) and a direct block pointer (ext3) at
// each kind of metadata block but the superblock, descriptors and inode
// tables' primaries (TestCorruptExtents): block and inode bitmaps,
// reserved GDT blocks, backups of the superblock and descriptors, the
// resize inode's block, the journal. Each was served as the file's data,
// and with --ext4_overwrite=1 written over. The clean images read.
func TestCorruptMetadataOverlap(t *testing.T) {
	t.Run("ext4 extent", func(t *testing.T) {
		src := corruptSource(t)
		// 1 KiB blocks, 16 MiB: two groups (the second with backups),
		// flex_bg packing group 1's bitmaps into group 0, a journal.
		path := mkfs(t, 16<<20, src, "-b", "1024")
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		pristine := &image{b: b, bs: 1024}
		if !pristine.fs(t).sb.hasMetadataCsum() {
			t.Fatal("no metadata_csum")
		}
		if err := readAll(pristine.fs(t), "/frag"); err != nil {
			t.Fatalf("pristine /frag: %v", err)
		}
		l := e2fsLayout(t, path)
		off, in := pristine.inodeOff(t, "/frag")
		leaf := int(le.Uint32(b[off+0x28+12+4:])) * 1024
		for _, c := range metaTargets(t, l, true) {
			t.Run(c.what, func(t *testing.T) {
				im := &image{b: bytes.Clone(pristine.b), bs: 1024}
				le.PutUint16(im.b[leaf+12+6:], uint16(c.blk>>32))
				le.PutUint32(im.b[leaf+12+8:], uint32(c.blk))
				fixExtentBlock(im.b[leaf:leaf+1024], in)
				wantErr(t, readAll(im.fs(t), "/frag"), ErrCorrupt, "block map",
					"file blocks [0,+1) at block "+itoa(int(c.blk))+" overlaps "+c.what+" at blocks [")
			})
		}
	})
	t.Run("ext3 block pointer", func(t *testing.T) {
		src := t.TempDir()
		if err := os.WriteFile(filepath.Join(src, "big"), bytes.Repeat([]byte("0123456789abcdef"), 300<<10/16), 0o644); err != nil {
			t.Fatal(err)
		}
		path := mkfs(t, 16<<20, src, "-b", "1024", "-t", "ext3")
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		pristine := &image{b: b, bs: 1024}
		if err := readAll(pristine.fs(t), "/big"); err != nil {
			t.Fatalf("pristine /big: %v", err)
		}
		l := e2fsLayout(t, path)
		off, _ := pristine.inodeOff(t, "/big")
		for _, c := range metaTargets(t, l, true) {
			t.Run(c.what, func(t *testing.T) {
				im := &image{b: bytes.Clone(pristine.b), bs: 1024}
				le.PutUint32(im.b[off+0x28:], uint32(c.blk)) // i_block[0]
				wantErr(t, readAll(im.fs(t), "/big"), ErrCorrupt, "block map",
					"file blocks [0,+1) at block "+itoa(int(c.blk))+" overlaps "+c.what+" at blocks [")
			})
		}
	})
}

// TestCorruptMetadataLocations: where the metadata set's members are is
// checked at Open, as the kernel checks it at mount: a bitmap outside
// the filesystem, more reserved GDT blocks than the resize inode can
// list, a first meta_bg past the descriptors, an MMP block or the resize
// inode's block outside the filesystem, a journal over an inode table.
func TestCorruptMetadataLocations(t *testing.T) {
	for _, c := range []struct {
		name    string
		corrupt func(t *testing.T, im *image)
		mention []string
	}{
		{"block bitmap past the end", func(t *testing.T, im *image) { le.PutUint32(im.b[2*1024+0x00:], 1<<30) },
			[]string{"group descriptor 0", "block 2", "block bitmap at block 1073741824 is outside"}},
		{"inode bitmap on the superblock", func(t *testing.T, im *image) { le.PutUint32(im.b[2*1024+0x04:], 1) },
			[]string{"group descriptor 0", "inode bitmap at block 1 is outside"}},
		{"reserved GDT blocks", func(t *testing.T, im *image) { le.PutUint16(im.b[1024+0xce:], 257) },
			[]string{"superblock", "257 reserved GDT blocks"}},
		{"first meta_bg", func(t *testing.T, im *image) {
			im.b[1024+0x60] |= 0x10 // meta_bg
			le.PutUint32(im.b[1024+0x104:], 2)
		}, []string{"superblock", "first meta_bg 2 is past the 1 group descriptor blocks"}},
		{"MMP block", func(t *testing.T, im *image) {
			im.b[1024+0x61] |= 0x01 // mmp (0x100)
			le.PutUint64(im.b[1024+0x168:], 1<<40)
		}, []string{"superblock", "MMP block 1099511627776 is outside"}},
		{"resize inode's block", func(t *testing.T, im *image) {
			fsys := im.fs(t)
			blk, off, err := fsys.inodeLoc(resizeIno)
			if err != nil {
				t.Fatal(err)
			}
			le.PutUint32(im.b[int(blk)*1024+int(off)+0x28+4*13:], 1<<30)
		}, []string{"inode 7", "double indirect block 1073741824 is outside"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			im := loadImage(t, false)
			c.corrupt(t, im)
			_, err := im.open()
			wantErr(t, err, ErrCorrupt, c.mention...)
		})
	}
	t.Run("journal over an inode table", func(t *testing.T) {
		path := mkfs(t, 4<<20, "", "-b", "1024", "-O", "^metadata_csum")
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		im := &image{b: b, bs: 1024}
		fsys := im.fs(t)
		blk, off, err := fsys.inodeLoc(8)
		if err != nil {
			t.Fatal(err)
		}
		root := int(blk)*1024 + int(off) + 0x28
		if le.Uint16(im.b[root:]) != extentMagic || le.Uint16(im.b[root+6:]) != 0 {
			t.Fatalf("journal inode: no extent leaf in i_block")
		}
		it := fsys.groups[0].InodeTable
		le.PutUint16(im.b[root+12+6:], 0)
		le.PutUint32(im.b[root+12+8:], uint32(it))
		_, err = im.open()
		wantErr(t, err, ErrCorrupt, "inode 8 block map", "overlaps the inode table of group 0 at blocks ["+itoa(int(it))+",")
	})
}

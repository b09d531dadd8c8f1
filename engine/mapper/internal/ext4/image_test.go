package ext4

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// mkfs makes an image of sizeBytes with mkfs.ext4 args, filled from src
// with -d when src is set, and returns its path.
func mkfs(t testing.TB, sizeBytes int64, src string, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath("mkfs.ext4"); err != nil {
		t.Skipf("needs mkfs.ext4 (e2fsprogs): %v", err)
	}
	img := filepath.Join(t.TempDir(), "fs.img")
	f, err := os.Create(img)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(sizeBytes); err != nil {
		t.Fatal(err)
	}
	f.Close()
	a := append([]string{"-q", "-F"}, args...)
	if src != "" {
		a = append(a, "-d", src)
	}
	if out, err := exec.Command("mkfs.ext4", append(a, img)...).CombinedOutput(); err != nil {
		t.Fatalf("mkfs.ext4 %v: %v: %s", a, err, out)
	}
	return img
}

func openImage(t testing.TB, img string) (*FS, *os.File) {
	t.Helper()
	f, err := os.Open(img)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	fsys, err := Open(f, uint64(st.Size()))
	if err != nil {
		t.Fatalf("Open %s: %v", img, err)
	}
	return fsys, f
}

// sourceTree writes a small tree: a file over several blocks, a tiny
// file (inline when the filesystem has inline_data), an empty file, a
// directory of n entries, relative and absolute symlinks, a long symlink
// (not fast) and a sparse file.
func sourceTree(t testing.TB, n int, seed uint64) string {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 7))
	dir := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	data := make([]byte, 100_000)
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	must(os.WriteFile(filepath.Join(dir, "a"), data, 0o644))
	must(os.WriteFile(filepath.Join(dir, "small"), []byte("hello, ext4\n"), 0o644))
	must(os.WriteFile(filepath.Join(dir, "empty"), nil, 0o644))
	must(os.MkdirAll(filepath.Join(dir, "d", "sub"), 0o755))
	for i := range n {
		must(os.WriteFile(filepath.Join(dir, "d", fmt.Sprintf("file-with-a-longer-name-%05d", i)), []byte(fmt.Sprint(i)), 0o644))
	}
	must(os.WriteFile(filepath.Join(dir, "d", "sub", "deep"), data[:5000], 0o644))
	must(os.Symlink("../a", filepath.Join(dir, "d", "rel")))
	must(os.Symlink("/d/sub", filepath.Join(dir, "abs")))
	long := strings.Repeat("./", 40) + "a"
	must(os.Symlink(long, filepath.Join(dir, "long")))
	sp, err := os.Create(filepath.Join(dir, "sparse"))
	must(err)
	_, err = sp.WriteAt(data[:4096], 1<<20)
	must(err)
	must(sp.Close())
	return dir
}

// checkTree compares every file, directory listing and symlink target of
// the image with the source directory.
func checkTree(t *testing.T, fsys *FS, src string) {
	t.Helper()
	count := 0
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		rel = "/" + filepath.ToSlash(rel)
		if rel == "/." {
			rel = "/"
		}
		in, err := fsys.Lookup(rel, false)
		if err != nil {
			t.Errorf("Lookup %s: %v", rel, err)
			return nil
		}
		count++
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			want, _ := os.Readlink(p)
			got, err := fsys.ReadLink(in)
			if err != nil || got != want {
				t.Errorf("ReadLink %s = %q, %v; want %q", rel, got, err, want)
			}
		case d.IsDir():
			ents, err := os.ReadDir(p)
			if err != nil {
				return err
			}
			got, err := fsys.ReadDir(in)
			if err != nil {
				t.Errorf("ReadDir %s: %v", rel, err)
				return nil
			}
			names := map[string]bool{}
			for _, e := range got {
				names[e.Name] = true
			}
			if rel == "/" && names["lost+found"] {
				got = got[:len(got)-1] // mkfs's own directory
			}
			if len(got) != len(ents)+2 || !names["."] || !names[".."] {
				t.Errorf("ReadDir %s: %d entries, want %d + . and ..", rel, len(got), len(ents))
			}
			for _, e := range ents {
				if !names[e.Name()] {
					t.Errorf("ReadDir %s: %s missing", rel, e.Name())
				}
			}
		default:
			want, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if in.Size != uint64(len(want)) {
				t.Errorf("%s: size %d, want %d", rel, in.Size, len(want))
				return nil
			}
			ext, err := fsys.Extents(in)
			if err != nil {
				t.Errorf("Extents %s: %v", rel, err)
				return nil
			}
			got := make([]byte, len(want))
			if n, err := fsys.ReadFileAt(in, ext, got, 0); n != len(want) || (err != nil && !errors.Is(err, io.EOF)) {
				t.Errorf("ReadFileAt %s: %d, %v", rel, n, err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s: contents differ (extents %+v)", rel, ext)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d paths checked", count)
	// Symlinks followed inside the image.
	for path, want := range map[string]string{"/d/rel": "/a", "/abs/deep": "/d/sub/deep", "/long": "/a"} {
		a, err := fsys.Lookup(path, true)
		if err != nil {
			t.Errorf("Lookup %s (follow): %v", path, err)
			continue
		}
		b, err := fsys.Lookup(want, true)
		if err != nil || a.Ino != b.Ino {
			t.Errorf("Lookup %s = inode %d, want %s's (%v)", path, a.Ino, want, err)
		}
	}
}

var mkfsVariants = []struct {
	name string
	args []string
}{
	{"4k", []string{"-b", "4096"}},
	{"1k", []string{"-b", "1024"}},
	{"2k-no-csum", []string{"-b", "2048", "-O", "^metadata_csum"}},
	{"4k-inline", []string{"-b", "4096", "-O", "inline_data"}},
	{"4k-no-64bit-no-flex", []string{"-b", "4096", "-O", "^64bit,^flex_bg"}},
	{"1k-meta_bg", []string{"-b", "1024", "-O", "meta_bg,^resize_inode"}},
	{"4k-ext3", []string{"-b", "4096", "-t", "ext3"}},
	{"1k-ext2-128", []string{"-b", "1024", "-t", "ext2", "-I", "128"}},
	{"4k-inode-1024", []string{"-b", "4096", "-I", "1024"}},
	{"64k", []string{"-b", "65536"}},
	{"4k-sparse_super2", []string{"-b", "4096", "-O", "sparse_super2"}},
	{"1k-csum_seed-large_dir", []string{"-b", "1024", "-O", "metadata_csum_seed,large_dir"}},
	{"4k-quota-project-mmp", []string{"-b", "4096", "-I", "256", "-O", "quota,project,mmp"}},
	{"4k-ea_inode-orphan_file", []string{"-b", "4096", "-O", "ea_inode,orphan_file"}},
	{"1k-no-sparse_super", []string{"-b", "1024", "-O", "^sparse_super,^resize_inode"}},
}

// TestImages builds images with mkfs.ext4 -d across block sizes and
// feature sets and reads every file back.
func TestImages(t *testing.T) {
	for _, v := range mkfsVariants {
		t.Run(v.name, func(t *testing.T) {
			src := sourceTree(t, 600, 1)
			img := mkfs(t, 160<<20, src, v.args...) // 1 KiB blocks: 20 groups, two meta_bg meta-groups
			fsys, _ := openImage(t, img)
			t.Logf("block size %d, features %s", fsys.BlockSize(), fsys.Superblock().Features())
			checkTree(t, fsys, src)
			checkMeta(t, fsys, img)
		})
	}
}

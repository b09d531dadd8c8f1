package mapper_test

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/iobench/iobench/device/looptest"
	"github.com/iobench/iobench/engine"
	"github.com/iobench/iobench/engine/mapper"
	"github.com/iobench/iobench/mapcache"
)

func mountExt4(t *testing.T, features string) (mnt, dev string) {
	t.Helper()
	return looptest.MountExt4(t, features)
}

// makeFiles writes fragmented, sparse, fallocated, tiny and empty files.
func makeFiles(t *testing.T, mnt string) []string {
	t.Helper()
	rng := rand.New(rand.NewPCG(3, 4))
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	open := func(name string) *os.File {
		f, err := os.OpenFile(filepath.Join(mnt, name), os.O_CREATE|os.O_RDWR, 0o600)
		must(err)
		t.Cleanup(func() { f.Close() })
		return f
	}
	data := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32() | 1)
		}
		return b
	}
	a, b := open("frag-a"), open("frag-b")
	for range 20 {
		for _, f := range []*os.File{a, b} {
			_, err := f.Write(data(4096 * (1 + rng.IntN(3))))
			must(err)
			must(f.Sync())
		}
	}
	_, err := a.Write(data(1000))
	must(err)
	s := open("sparse")
	_, err = s.WriteAt(data(8192), 0)
	must(err)
	_, err = s.WriteAt(data(5000), 2<<20+100)
	must(err)
	fa := open("falloc")
	must(unix.Fallocate(int(fa.Fd()), 0, 0, 1<<20))
	_, err = fa.WriteAt(data(8192), 64<<10)
	must(err)
	tiny := open("tiny")
	_, err = tiny.Write(data(60))
	must(err)
	open("empty")
	unix.Sync()
	return []string{"frag-a", "frag-b", "sparse", "falloc", "tiny", "empty"}
}

// TestFiemapOnExt4 reads files of a mounted ext4 filesystem through the
// engine with the fiemap mapper, straight from the loop device under it:
// every byte equals what the filesystem returns, and writes are refused.
func TestFiemapOnExt4(t *testing.T) {
	for _, variant := range []struct{ name, features string }{{"plain", ""}, {"inline_data", "inline_data"}} {
		t.Run(variant.name, func(t *testing.T) {
			mnt, devPath := mountExt4(t, variant.features)
			names := makeFiles(t, mnt)
			m := mapper.NewFiemap(0, mapper.FiemapOptions{Root: mnt, Device: devPath})
			e, _ := engineOn(t, devPath, m, 1, true)
			kinds := map[mapcache.Type]int{}
			for _, name := range names {
				want, err := os.ReadFile(filepath.Join(mnt, name))
				if err != nil {
					t.Fatal(err)
				}
				f, err := e.Open(name, engine.FileOptions{})
				if err != nil {
					t.Fatal(err)
				}
				defer m.Close(f)
				if f.Size() != uint64(len(want)) {
					t.Fatalf("%s: size %d, want %d", name, f.Size(), len(want))
				}
				layout, err := m.Layout(f)
				if err != nil {
					t.Fatal(err)
				}
				for _, x := range layout {
					kinds[x.Type]++
				}
				n := (len(want) + 4095) &^ 4095
				if n == 0 {
					continue
				}
				buf := e.Buffer(n)
				got, err := f.ReadAt(buf, 0)
				if got != len(want) || (err != nil && !errors.Is(err, io.EOF)) {
					t.Fatalf("%s: read %d bytes, %v; want %d", name, got, err, len(want))
				}
				if !bytes.Equal(buf[:got], want) {
					t.Fatalf("%s: bytes read through the engine differ from the file's (layout %+v)", name, layout)
				}
				if _, err := f.WriteAt(buf[:4096], 0); len(want) >= 4096 && !errors.Is(err, engine.ErrReadOnly) {
					t.Fatalf("%s: write through fiemap: %v, want ErrReadOnly", name, err)
				}
				e.PutBuffer(buf)
			}
			for _, k := range []mapcache.Type{mapcache.Mapped, mapcache.Hole, mapcache.Unwritten} {
				if kinds[k] == 0 {
					t.Errorf("no %v mapping in any layout (%v)", k, kinds)
				}
			}
			if variant.features == "inline_data" && kinds[mapcache.Inline] == 0 {
				t.Errorf("inline_data filesystem gave no inline mapping (%v)", kinds)
			}
			t.Logf("mapping kinds: %v; engine: %+v", kinds, e.Stats())
		})
	}
}

func TestFiemapErrors(t *testing.T) {
	m := mapper.NewFiemap(0, mapper.FiemapOptions{})
	e, err := engine.New(engine.Config{Mapper: m, ArenaBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if _, err := e.Open("/nonexistent/file", engine.FileOptions{}); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
	if _, err := e.Open(t.TempDir(), engine.FileOptions{}); !errors.Is(err, mapper.ErrConfig) {
		t.Fatalf("directory: %v, want ErrConfig", err)
	}
	// A file that is not on the named device is refused.
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	m2 := mapper.NewFiemap(0, mapper.FiemapOptions{Device: "/dev/null"})
	e2, err := engine.New(engine.Config{Mapper: m2, ArenaBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer e2.Close()
	if _, err := e2.Open(p, engine.FileOptions{}); !errors.Is(err, mapper.ErrConfig) {
		t.Fatalf("file on another device: %v, want ErrConfig", err)
	}
}

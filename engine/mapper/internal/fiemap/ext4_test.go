package fiemap

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/iobench/iobench/device/looptest"
)

// TestMain fails the run if a loop device survives the tests.
func TestMain(m *testing.M) { looptest.Main(m) }

func mountExt4(t *testing.T, features string) (mnt, dev string) {
	t.Helper()
	return looptest.MountExt4(t, features)
}

func randBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32() | 1) // never zero, so holes read wrong if mistaken for data
	}
	return b
}

// writeFiles makes the files the oracle test reads and returns, per name,
// the kinds its layout must contain.
func writeFiles(t *testing.T, mnt string, inline bool) map[string][]Kind {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
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
	// Fragmented: interleaved appends with fsync, so that the allocator
	// hands out alternating blocks.
	a, b := open("frag-a"), open("frag-b")
	for range 24 {
		for _, f := range []*os.File{a, b} {
			_, err := f.Write(randBytes(rng, 4096*(1+rng.IntN(3))))
			must(err)
			must(f.Sync())
		}
	}
	_, err := a.Write(randBytes(rng, 1000)) // EOF mid-block
	must(err)
	// Sparse.
	s := open("sparse")
	_, err = s.WriteAt(randBytes(rng, 8192), 0)
	must(err)
	_, err = s.WriteAt(randBytes(rng, 4096), 1<<20)
	must(err)
	_, err = s.WriteAt(randBytes(rng, 5000), 3<<20+100)
	must(err)
	// Fallocated: unwritten with written pieces, and preallocated past EOF.
	fa := open("falloc")
	must(unix.Fallocate(int(fa.Fd()), 0, 0, 1<<20))
	_, err = fa.WriteAt(randBytes(rng, 8192), 64<<10)
	must(err)
	must(fa.Sync())
	must(unix.Fallocate(int(fa.Fd()), unix.FALLOC_FL_KEEP_SIZE, 1<<20, 1<<20))
	// More extents than one ioctl batch: every other block written.
	many := open("many")
	for i := range batch + 44 {
		_, err = many.WriteAt(randBytes(rng, 4096), int64(i)*8192)
		must(err)
	}
	// Tiny (inline data when the filesystem has it) and empty.
	tiny := open("tiny")
	_, err = tiny.Write(randBytes(rng, 60))
	must(err)
	open("empty")
	unix.Sync()
	want := map[string][]Kind{
		"frag-a": {Mapped},
		"frag-b": {Mapped},
		"sparse": {Mapped, Hole},
		"falloc": {Mapped, Unwritten},
		"tiny":   {Mapped},
		"empty":  nil,
		"many":   {Mapped, Hole},
	}
	if inline {
		want["tiny"] = []Kind{Inline}
	}
	return want
}

// TestExt4Oracle reads files of a real ext4 filesystem through their
// translated layouts, straight from the block device, and compares with
// what the filesystem returns.
func TestExt4Oracle(t *testing.T) {
	for _, variant := range []struct {
		name, features string
		inline         bool
	}{{"plain", "", false}, {"inline_data", "inline_data", true}} {
		t.Run(variant.name, func(t *testing.T) {
			mnt, loopDev := mountExt4(t, variant.features)
			want := writeFiles(t, mnt, variant.inline)
			dev, err := os.Open(loopDev)
			if err != nil {
				t.Fatal(err)
			}
			defer dev.Close()
			for name, kinds := range want {
				path := filepath.Join(mnt, name)
				data, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				f, err := os.Open(path)
				if err != nil {
					t.Fatal(err)
				}
				ext, err := Get(int(f.Fd()), true)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				segs, err := Translate(ext, uint64(len(data)), 4096)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				checkTiling(t, segs, uint64(len(data)), 4096)
				got := make([]byte, 0, len(data)+4096)
				seen := map[Kind]int{}
				for _, s := range segs {
					seen[s.Kind]++
					buf := make([]byte, s.Len)
					switch s.Kind {
					case Mapped:
						if _, err := dev.ReadAt(buf, int64(s.Addr)); err != nil {
							t.Fatalf("%s: device read %+v: %v", name, s, err)
						}
					case Inline:
						if _, err := f.ReadAt(buf, int64(s.Off)); err != nil && len(data) > int(s.Off+s.Len) {
							t.Fatalf("%s: inline read %+v: %v", name, s, err)
						}
					}
					got = append(got, buf...)
				}
				f.Close()
				if !bytes.Equal(got[:len(data)], data) {
					i := 0
					for i < len(data) && got[i] == data[i] {
						i++
					}
					t.Fatalf("%s: bytes differ from offset %d (layout %+v, extents %+v)", name, i, segs, ext)
				}
				for _, k := range kinds {
					if seen[k] == 0 {
						t.Errorf("%s: layout %+v has no %v segment", name, segs, k)
					}
				}
				if name == "many" && len(ext) <= batch {
					t.Errorf("%s: %d extents, want more than one batch (%d)", name, len(ext), batch)
				}
				if name == "frag-a" && seen[Mapped] < 2 {
					t.Errorf("%s: interleaved appends gave only %d mapped extent(s)", name, seen[Mapped])
				}
				t.Logf("%s: %d bytes, %d extents, %d segments %v", name, len(data), len(ext), len(segs), seen)
			}
		})
	}
}

package layout

import (
	"errors"
	"strconv"
	"testing"
)

// check verifies every property a layout promises: extents tile the file in
// order, are non-empty and block-aligned, lie inside the device range,
// never overlap on the device, and file neighbours are never
// device-contiguous.
func check(t *testing.T, c Config, l *Layout) {
	t.Helper()
	bs := c.BlockSize
	if l.Len() != c.Extents {
		t.Fatalf("%d extents, want %d", l.Len(), c.Extents)
	}
	if want := (c.FileSize + bs - 1) / bs * bs; l.SizeBytes() != want {
		t.Fatalf("size %d, want %d", l.SizeBytes(), want)
	}
	type span struct{ lo, hi uint64 }
	used := make([]span, 0, l.Len())
	var next uint64
	for i := range l.Len() {
		off, n, addr := l.Extent(i)
		if off != next || n == 0 || n%bs != 0 || addr%bs != 0 {
			t.Fatalf("extent %d: off %d len %d addr %d (expected off %d)", i, off, n, addr, next)
		}
		if addr < c.DeviceStart || addr+n > c.DeviceStart+c.DeviceLength {
			t.Fatalf("extent %d [%d,+%d) outside device range", i, addr, n)
		}
		if i > 0 {
			_, pn, paddr := l.Extent(i - 1)
			if paddr+pn == addr {
				t.Fatalf("extents %d and %d are device-contiguous", i-1, i)
			}
		}
		used = append(used, span{addr, addr + n})
		next = off + n
	}
	seen := make(map[uint64]bool)
	for _, s := range used {
		for b := s.lo; b < s.hi; b += bs {
			if seen[b] {
				t.Fatalf("device block %d used twice", b)
			}
			seen[b] = true
		}
	}
}

func TestBuild(t *testing.T) {
	for _, c := range []Config{
		{BlockSize: 4096, DeviceLength: 1 << 24, FileSize: 1 << 22, Extents: 100, Seed: 1},
		{BlockSize: 4096, DeviceStart: 8192, DeviceLength: 1 << 22, FileSize: 1 << 22, Extents: 1024, Seed: 2}, // no spare: one block each, back to back
		{BlockSize: 4096, DeviceLength: 1 << 22, FileSize: 1 << 22, Extents: 7, Seed: 3},                       // no spare, few extents
		{BlockSize: 512, DeviceStart: 100, DeviceLength: 1 << 20, FileSize: 5000, Extents: 3, Seed: 4},         // unaligned start and size
		{BlockSize: 4096, DeviceLength: 1 << 20, FileSize: 8192, Extents: 2, Seed: 5},
		{BlockSize: 4096, DeviceLength: 8192, FileSize: 8192, Extents: 2, Seed: 6}, // only order (1,0) works
		{BlockSize: 4096, DeviceLength: 4096, FileSize: 4096, Extents: 1, Seed: 7},
	} {
		l, err := Build(c)
		if err != nil {
			t.Fatalf("%+v: %v", c, err)
		}
		check(t, c, l)
	}
}

func TestReproducibleAndVaried(t *testing.T) {
	c := Config{BlockSize: 4096, DeviceLength: 1 << 30, FileSize: 1 << 28, Extents: 1000, Seed: 42}
	a, _ := Build(c)
	b, _ := Build(c)
	sizes := make(map[uint64]bool)
	for i := range a.Len() {
		ao, an, aa := a.Extent(i)
		bo, bn, ba := b.Extent(i)
		if ao != bo || an != bn || aa != ba {
			t.Fatalf("extent %d differs between two builds of one config", i)
		}
		sizes[an] = true
	}
	if len(sizes) < 10 {
		t.Fatalf("only %d distinct extent sizes among %d extents", len(sizes), a.Len())
	}
	c.Seed++
	d, _ := Build(c)
	same := 0
	for i := range a.Len() {
		_, _, aa := a.Extent(i)
		_, _, da := d.Extent(i)
		if aa == da {
			same++
		}
	}
	if same == a.Len() {
		t.Fatal("another seed gave the same placement")
	}
}

func TestFind(t *testing.T) {
	c := Config{BlockSize: 4096, DeviceLength: 1 << 26, FileSize: 1 << 24, Extents: 333, Seed: 9}
	l, _ := Build(c)
	for i := range l.Len() {
		off, n, _ := l.Extent(i)
		for _, o := range []uint64{off, off + 1, off + n/2, off + n - 1} {
			if got := l.Find(o); got != i {
				t.Fatalf("Find(%d) = %d, want %d", o, got, i)
			}
		}
	}
	if got := l.Find(l.SizeBytes()); got != -1 {
		t.Fatalf("Find(end) = %d, want -1", got)
	}
}

func TestBadConfig(t *testing.T) {
	for _, c := range []Config{
		{BlockSize: 3000, DeviceLength: 1 << 20, FileSize: 1 << 16, Extents: 1},
		{BlockSize: 4096, DeviceLength: 1 << 20, FileSize: 1 << 16, Extents: 0},
		{BlockSize: 4096, DeviceLength: 1 << 20, FileSize: 0, Extents: 1},
		{BlockSize: 4096, DeviceLength: 1 << 20, FileSize: 1 << 16, Extents: 17}, // 16 blocks
		{BlockSize: 4096, DeviceLength: 1 << 15, FileSize: 1 << 16, Extents: 1},
	} {
		if _, err := Build(c); !errors.Is(err, ErrConfig) {
			t.Errorf("%+v: err %v, want ErrConfig", c, err)
		}
	}
}

func TestMillionExtents(t *testing.T) {
	c := Config{BlockSize: 4096, DeviceLength: 1 << 34, FileSize: 1 << 33, Extents: 1 << 20, Seed: 1}
	l, err := Build(c)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < l.Len(); i++ {
		_, pn, pa := l.Extent(i - 1)
		_, _, a := l.Extent(i)
		if pa+pn == a {
			t.Fatalf("extents %d and %d are device-contiguous", i-1, i)
		}
	}
	off, _, _ := l.Extent(l.Len() / 2)
	if allocs := testing.AllocsPerRun(100, func() { l.Find(off) }); allocs != 0 {
		t.Fatalf("Find allocates %v times", allocs)
	}
}

func BenchmarkFind(b *testing.B) {
	for _, n := range []int{1 << 10, 1 << 20} {
		c := Config{BlockSize: 4096, DeviceLength: 1 << 36, FileSize: 1 << 34, Extents: n, Seed: 1}
		l, err := Build(c)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			size := l.SizeBytes()
			x := uint64(0x9e3779b97f4a7c15)
			for b.Loop() {
				x ^= x << 13
				x ^= x >> 7
				x ^= x << 17
				l.Find(x % size)
			}
		})
	}
}

func BenchmarkBuild1M(b *testing.B) {
	c := Config{BlockSize: 4096, DeviceLength: 1 << 36, FileSize: 1 << 34, Extents: 1 << 20, Seed: 1}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Build(c); err != nil {
			b.Fatal(err)
		}
	}
}

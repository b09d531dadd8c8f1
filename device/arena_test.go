package device

import (
	"flag"
	"math/rand/v2"
	"testing"
	"time"
	"unsafe"
)

var arenaSeed = flag.Uint64("arena.seed", 0, "seed of TestArenaRandomized (0: from the clock)")

// TestArenaRandomized runs random Gets and Puts of random sizes and checks
// after every step that the outstanding buffers are aligned, inside one
// region, disjoint, and still hold what their owner wrote.
func TestArenaRandomized(t *testing.T) {
	seed := *arenaSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (rerun with -arena.seed=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	const align = 4096
	a, err := NewArena(8<<20, align)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	type owned struct {
		b    []byte
		fill byte
	}
	var out []owned
	check := func(step int) {
		for i, o := range out {
			p := uintptr(unsafe.Pointer(&o.b[0]))
			if p%align != 0 {
				t.Fatalf("step %d: buffer %d at %#x not aligned", step, i, p)
			}
			r := a.Index(o.b)
			if r < 0 || a.Index(o.b[len(o.b)-1:]) != r {
				t.Fatalf("step %d: buffer %d straddles regions", step, i)
			}
			for _, c := range []int{0, len(o.b) / 2, len(o.b) - 1} {
				if o.b[c] != o.fill {
					t.Fatalf("step %d: buffer %d byte %d = %#x, want %#x: another owner wrote it", step, i, c, o.b[c], o.fill)
				}
			}
		}
	}
	for step := range 3000 {
		if len(out) > 0 && (rng.IntN(2) == 0 || len(out) > 64) {
			i := rng.IntN(len(out))
			o := out[i]
			out[i] = out[len(out)-1]
			out = out[:len(out)-1]
			a.Put(o.b)
			if o.b[0] != Poison || o.b[len(o.b)-1] != Poison {
				t.Fatalf("step %d: returned buffer not poisoned", step)
			}
		} else {
			n := 1 + rng.IntN(256<<10)
			b := a.Get(n)
			if b == nil {
				continue // full: the Puts will make room
			}
			if len(b) != n {
				t.Fatalf("step %d: Get(%d) returned %d bytes", step, n, len(b))
			}
			fill := byte(step)
			if fill == Poison {
				fill++
			}
			for i := range b {
				b[i] = fill
			}
			out = append(out, owned{b, fill})
		}
		check(step)
	}
}

// A buffer never straddles regions, so each region can be registered as
// one fixed buffer: 1 GiB buffers after a small one skip to the next region. Only
// address space is used; nothing here touches the memory.
func TestArenaRegions(t *testing.T) {
	a, err := NewArena(2<<30+1, 4096)
	if err != nil {
		t.Skipf("cannot map 3 GiB of address space: %v", err)
	}
	defer a.Close()
	if got := len(a.Regions()); got != 3 {
		t.Fatalf("%d regions, want 3", got)
	}
	small := a.Get(4096) // region 0 has no room left for 1 GiB
	for want := 1; want <= 2; want++ {
		b := a.Get(1 << 30)
		if got := a.Index(b); got != want {
			t.Fatalf("1 GiB buffer in region %d, want %d", got, want)
		}
	}
	if b := a.Get(1 << 30); b != nil {
		t.Fatalf("fourth 1 GiB buffer handed out, in region %d", a.Index(b))
	}
	if a.Index(small) != 0 {
		t.Fatalf("small buffer in region %d", a.Index(small))
	}
	// The arena's first and last bytes are in it; a byte on either side,
	// a Go heap buffer and an empty slice are not.
	first := unsafe.Pointer(&a.mem[0])
	at := func(off int) []byte { return unsafe.Slice((*byte)(unsafe.Add(first, off)), 1) }
	if got := a.Index(at(len(a.mem) - 1)); got != len(a.Regions())-1 {
		t.Errorf("the arena's last byte in region %d", got)
	}
	for _, b := range [][]byte{at(-1), at(len(a.mem)), make([]byte, 4096), {}} {
		if got := a.Index(b); got != -1 {
			t.Errorf("a buffer outside the arena (at %p) in region %d", unsafe.SliceData(b), got)
		}
	}
	for i, r := range a.Regions() {
		if len(r) != 1<<30 || uintptr(unsafe.Pointer(&r[0]))%4096 != 0 {
			t.Fatalf("region %d: %d bytes at %p", i, len(r), &r[0])
		}
	}
}

func TestArenaPutPanics(t *testing.T) {
	a, err := NewArena(1<<20, 4096)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	for name, b := range map[string][]byte{
		"heap":     make([]byte, 4096),
		"resliced": a.Get(8192)[512:],
		"inside":   a.Get(8192)[4096:], // starts on a boundary, inside a buffer
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Put of a %s buffer did not panic", name)
				}
			}()
			a.Put(b)
		}()
	}
	// A shorter length puts back the whole buffer.
	x := a.Get(8192)
	a.Put(x[:4096])
	if y := a.Get(8192); &y[0] != &x[0] || cap(y) != 8192 {
		t.Errorf("after Put(b[:4096]), Get(8192) gave another buffer or capacity %d", cap(y))
	}
	if _, err := NewArena(1<<20, 1000); err == nil {
		t.Error("alignment 1000 accepted")
	}
	if _, err := NewArena(0, 4096); err == nil {
		t.Error("size 0 accepted")
	}
}

// A buffer put back twice must panic at the second Put, and the next Gets
// must not hand out the same memory twice.
func TestArenaDoublePut(t *testing.T) {
	a, err := NewArena(1<<20, 4096)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b := a.Get(4096)
	a.Put(b)
	func() {
		defer func() {
			if v := recover(); v == nil {
				t.Error("second Put of the same buffer did not panic")
			}
		}()
		a.Put(b)
	}()
	x, y := a.Get(4096), a.Get(4096)
	if &x[0] == &y[0] {
		t.Fatal("two Gets returned the same memory")
	}
}

// Buffers still out when the arena closes stay usable until they are put
// back; the memory goes when the last one returns.
func TestArenaCloseWithBuffersOut(t *testing.T) {
	a, err := NewArena(1<<20, 4096)
	if err != nil {
		t.Fatal(err)
	}
	b := a.Get(8192)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if a.Get(4096) != nil {
		t.Error("Get after Close returned a buffer")
	}
	for i := range b {
		b[i] = byte(i) // would fault if the memory were unmapped
	}
	if b[8191] != byte(8191%256) || a.Outstanding() != 1 {
		t.Fatalf("buffer after Close: last byte %d, %d outstanding", b[8191], a.Outstanding())
	}
	a.Put(b)
	if a.Outstanding() != 0 || !a.gone {
		t.Errorf("after the last Put: %d outstanding, unmapped %v", a.Outstanding(), a.gone)
	}
}

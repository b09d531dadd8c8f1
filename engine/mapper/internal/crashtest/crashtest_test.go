package crashtest

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

func TestCrash(t *testing.T) {
	base := make([]byte, 4096)
	w := func(off uint64, v byte) Event {
		return Event{Kind: Write, Off: off, Data: bytes.Repeat([]byte{v}, 1024)}
	}
	ev := []Event{w(0, 1), {Kind: Flush}, w(1024, 2), {Kind: Mark, Note: "x"}, w(0, 3)}
	rnd := rand.New(rand.NewPCG(1, 1))
	read := func(img *Image) []byte {
		b := make([]byte, len(base))
		if _, err := img.ReadAt(b, 0); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, img.Bytes()) {
			t.Fatal("ReadAt and Bytes disagree")
		}
		return b
	}
	keep := func(int) Fate { return Keep }
	drop := func(int) Fate { return Drop }
	// At the flush point: the first write, nothing else.
	img, err := Crash(base, ev, 2, 512, rnd, drop)
	if err != nil {
		t.Fatal(err)
	}
	if b := read(img); b[0] != 1 || b[1024] != 0 {
		t.Fatalf("at the flush: %v %v", b[0], b[1024])
	}
	// Everything kept: the later write over the first.
	img, _ = Crash(base, ev, len(ev), 512, rnd, keep)
	if b := read(img); b[0] != 3 || b[1024] != 2 {
		t.Fatalf("all kept: %v %v", b[0], b[1024])
	}
	// Unflushed writes dropped: only what the flush covers.
	img, _ = Crash(base, ev, len(ev), 512, rnd, drop)
	if b := read(img); b[0] != 1 || b[1024] != 0 {
		t.Fatalf("all dropped: %v %v", b[0], b[1024])
	}
	// Torn: each 512-byte sector is old or new, never a mix.
	for range 20 {
		img, _ = Crash(base, ev, len(ev), 512, rnd, func(int) Fate { return Torn })
		b := read(img)
		for s := 0; s < len(b); s += 512 {
			for _, v := range b[s : s+512] {
				if v != b[s] {
					t.Fatalf("sector %d is a mix", s/512)
				}
			}
		}
	}
	if n := Unflushed(ev, len(ev)); n != 2 {
		t.Fatalf("%d unflushed writes, want 2", n)
	}
	if fp := FlushPoints(ev); len(fp) != 1 || fp[0] != 2 {
		t.Fatalf("flush points %v", fp)
	}
	if _, err := Crash(base, []Event{w(4000, 1)}, 1, 512, rnd, keep); err == nil {
		t.Fatal("a write past the image was applied")
	}
}

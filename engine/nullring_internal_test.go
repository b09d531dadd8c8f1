package engine

import "testing"

// TestNullRingSemantics: the null ring takes at most its entries before a
// Submit, as a submission queue does; each operation completes at Submit
// with the length it names (0 for a sync), in the order queued; a Reap
// into a short slice keeps the rest for the next, which takes none queued
// since the Submit.
func TestNullRingSemantics(t *testing.T) {
	r, err := NewNullRing(RingOptions{Entries: 4})
	if err != nil {
		t.Fatal(err)
	}
	ops := []Op{
		{UserData: 1, Len: 4096},
		{UserData: 2, Len: 8192, Write: true},
		{UserData: 3, Sync: Fdatasync},
		{UserData: 4, Len: 512, Trim: TrimBlockCmd},
		{UserData: 5, Len: 4096},
	}
	for i := range 4 {
		if !r.Queue(&ops[i]) {
			t.Fatalf("op %d refused below the ring's entries", i)
		}
	}
	if r.Queue(&ops[4]) {
		t.Fatal("a fifth op queued on a ring of 4 entries")
	}
	var dst [3]Completion
	if n := r.Reap(dst[:]); n != 0 {
		t.Fatalf("%d completions before Submit", n)
	}
	if err := r.Submit(1, 0); err != nil {
		t.Fatal(err)
	}
	if !r.Queue(&ops[4]) { // the queue is free again
		t.Fatal("op refused after Submit emptied the queue")
	}
	want := []Completion{{1, 4096}, {2, 8192}, {3, 0}, {4, 512}, {5, 4096}}
	var got []Completion
	n := r.Reap(dst[:])
	got = append(got, dst[:n]...)
	// The rest of what was submitted, and not the op queued since.
	if n := r.Reap(dst[:]); n != 1 || dst[0] != (Completion{4, 512}) {
		t.Fatalf("second reap before Submit: %v, want the fourth op's completion alone", dst[:n])
	}
	got = append(got, dst[0])
	if err := r.Submit(0, 0); err != nil {
		t.Fatal(err)
	}
	for {
		n := r.Reap(dst[:])
		if n == 0 {
			break
		}
		got = append(got, dst[:n]...)
	}
	if len(got) != len(want) {
		t.Fatalf("completions %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("completion %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	if r.Enters() != 0 {
		t.Errorf("%d enters", r.Enters())
	}
	if p, ok := r.(PendingRing); !ok || p.Pending() {
		t.Errorf("PendingRing %v, pending with nothing left", ok)
	}
}

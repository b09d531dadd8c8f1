package engine

import (
	"runtime"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// TestFollowerMovesWhilePaying: on a device whose completions ran on the
// other CPU, each long wait moves the thread once and the short waits
// after it keep the follower ready to move again at once.
func TestFollowerMovesWhilePaying(t *testing.T) {
	moves := 0
	f := &follower{move: func() bool { moves++; return true }}
	for range 100 {
		f.waited(true) // the completion ran on the other CPU
		f.waited(false)
		f.waited(false)
	}
	if moves != 100 {
		t.Fatalf("moved %d times for 100 long waits each followed by short ones, want 100", moves)
	}
	if f.fails != 0 || f.skip != 0 {
		t.Fatalf("fails %d, skip %d after moves that paid, want 0 and 0", f.fails, f.skip)
	}
	for range 1000 {
		f.waited(false)
	}
	if moves != 100 {
		t.Fatalf("short waits moved the thread (%d moves)", moves)
	}
}

// TestFollowerBacksOff: on a device whose waits are long whatever the CPU
// (its own latency), moves that do not pay space out exponentially, and a
// move that cannot be made (one CPU allowed) counts as one that did not
// pay.
func TestFollowerBacksOff(t *testing.T) {
	for _, canMove := range []bool{true, false} {
		moves := 0
		var at []int
		f := &follower{move: func() bool { moves++; return canMove }}
		const waits = 100_000
		for i := range waits {
			before := moves
			f.waited(true)
			if moves != before {
				at = append(at, i)
			}
		}
		// A move that cannot be made fails at once: tries at waits 0, 2,
		// 6, 14, ... (gaps 2^k, up to the cap). A move that is made is
		// failed by the wait after it, which adds one to each gap.
		capped := 0
		for i := 1; i < len(at); i++ {
			gap := at[i] - at[i-1]
			want := 1 << min(i, followMaxFails)
			if canMove {
				want++
			}
			if gap != want {
				t.Fatalf("canMove=%v: move %d came %d waits after the one before, want %d (moves at %v)", canMove, i, gap, want, at[:min(len(at), 14)])
			}
			if i >= followMaxFails {
				capped++
			}
		}
		if max := followMaxFails + waits>>followMaxFails + 1; moves > max {
			t.Fatalf("canMove=%v: %d moves in %d long waits, want at most %d", canMove, moves, waits, max)
		}
		if capped == 0 {
			t.Fatalf("canMove=%v: the backoff never reached its cap in %d waits", canMove, waits)
		}
	}
}

// TestFollowerRecovers: a move that pays after failures lowers the backoff
// one step; the next long wait moves only after the shorter gap.
func TestFollowerRecovers(t *testing.T) {
	moves := 0
	f := &follower{move: func() bool { moves++; return true }}
	for range 5000 {
		f.waited(true)
	}
	if f.fails != followMaxFails {
		t.Fatalf("fails %d after 5000 long waits, want the cap %d", f.fails, followMaxFails)
	}
	// Let the backoff run out, then move, and pay.
	for f.skip > 0 {
		f.waited(true)
	}
	before := moves
	f.waited(true)
	if moves != before+1 || !f.judging {
		t.Fatalf("no move once the backoff ran out")
	}
	f.waited(false) // paid
	if f.fails != followMaxFails-1 || f.skip != 0 || f.judging {
		t.Fatalf("after a move that paid: fails %d skip %d judging %v, want %d, 0, false", f.fails, f.skip, f.judging, followMaxFails-1)
	}
	f.waited(true)
	if moves != before+2 {
		t.Fatalf("a long wait after a move that paid did not move the thread")
	}
}

func currentCPU(t *testing.T) int {
	t.Helper()
	var cpu uint32
	if _, _, errno := unix.RawSyscall(unix.SYS_GETCPU, uintptr(unsafe.Pointer(&cpu)), 0, 0); errno != 0 {
		t.Fatalf("getcpu: %v", errno)
	}
	return int(cpu)
}

// TestMoveToOtherCPU moves a thread allowed on two CPUs to the other one
// and leaves its affinity mask as it was; with one CPU it does nothing.
func TestMoveToOtherCPU(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var orig unix.CPUSet
	if err := unix.SchedGetaffinity(0, &orig); err != nil {
		t.Fatal(err)
	}
	defer unix.SchedSetaffinity(0, &orig)
	var two unix.CPUSet
	for c := 0; c < 1024 && two.Count() < 2; c++ {
		if orig.IsSet(c) {
			two.Set(c)
		}
	}
	if two.Count() < 2 {
		t.Skipf("the test process may run on %d CPU; moving needs two", two.Count())
	}
	if err := unix.SchedSetaffinity(0, &two); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		from := currentCPU(t)
		if !moveToOtherCPU() {
			t.Fatalf("move %d: moveToOtherCPU reported no move with two CPUs allowed", i)
		}
		if to := currentCPU(t); to == from || !two.IsSet(to) {
			t.Fatalf("move %d: on CPU %d before, %d after (allowed %v)", i, from, to, two)
		}
		var now unix.CPUSet
		if err := unix.SchedGetaffinity(0, &now); err != nil {
			t.Fatal(err)
		}
		if now != two {
			t.Fatalf("move %d: affinity mask %v after the move, want %v back", i, now, two)
		}
	}

	var one unix.CPUSet
	one.Set(currentCPU(t))
	if err := unix.SchedSetaffinity(0, &one); err != nil {
		t.Fatal(err)
	}
	if moveToOtherCPU() {
		t.Fatal("moveToOtherCPU reported a move with one CPU allowed")
	}
	var now unix.CPUSet
	if err := unix.SchedGetaffinity(0, &now); err != nil {
		t.Fatal(err)
	}
	if now != one {
		t.Fatalf("affinity mask %v after a refused move, want %v", now, one)
	}
}

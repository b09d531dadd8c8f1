package engine

import (
	"math/rand/v2"
	"os"
	"runtime"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/iobench/iobench/device"
	"github.com/iobench/iobench/mapcache"
)

// Cycle times of the models below, as on a VM whose cross-vCPU wake-ups
// are dear (follow.go): an I/O whose wait slept long, one whose wait did
// not, and what a move adds.
const (
	longCycle  = 50_000 // ns
	shortCycle = 8_000
	moveCost   = 20_000
)

// clock is the models' time.
type clock struct{ now int64 }

// cycle advances the clock by one I/O, long or not, and returns it.
func (c *clock) cycle(long bool) int64 {
	if long {
		c.now += longCycle
	} else {
		c.now += shortCycle
	}
	return c.now
}

// pumpWaited tells f of a wait as Queue.pump does: a wait f does not
// time (timing) is reported without its clock or length.
func pumpWaited(f *follower, long bool, now int64) bool {
	if !f.timing() {
		return f.waited(false, 0, true)
	}
	return f.waited(long, now, true)
}

// placement models a loop device's worker: while it runs on the other CPU
// every wait is long; a move brings the thread to it; each wait it leaves
// for the other CPU with probability drift.
type placement struct {
	rng   *rand.Rand
	drift float64
	away  bool
	moves int
	clock clock
}

func (p *placement) wait() bool {
	long := p.away
	if p.rng.Float64() < p.drift {
		p.away = true
	}
	return long
}

func (p *placement) move() bool { p.moves++; p.away = false; p.clock.now += moveCost; return true }

// TestFollowerFollowsWherePaying: where moving brings the thread to its
// completions, following stays on and keeps the long waits rare, but for
// the waits that measure the share without it every followEvery windows.
func TestFollowerFollowsWherePaying(t *testing.T) {
	for _, drift := range []float64{0.02, 0.1} {
		p := &placement{rng: rand.New(rand.NewPCG(1, 2)), drift: drift, away: true}
		f := &follower{move: p.move}
		const waits = 200_000
		longs := 0
		for range waits {
			long := p.wait()
			if long {
				longs++
			}
			pumpWaited(f, long, p.clock.cycle(long))
		}
		// Following on, a long wait is followed by a move: about drift of
		// the waits are long in the windows with it, all after the first
		// in the windows without.
		share := float64(longs) / waits
		want := drift + float64(followProbe)/(followEvery*followWindow)
		if share > want*1.2 {
			t.Errorf("drift %v: %.3f of the waits long, want at most about %.3f", drift, share, want)
		}
		if f.fails > 1 {
			t.Errorf("drift %v: %d failed windows in a row where following pays", drift, f.fails)
		}
		if p.moves < int(float64(waits)*drift/2) {
			t.Errorf("drift %v: %d moves in %d waits", drift, p.moves, waits)
		}
	}
}

// TestFollowerStopsWhereNotPaying: where waits are long whatever the CPU
// (a device's own latency), following stops, for longer after each window
// that did not pay, and moves stay a small share of the long waits.
func TestFollowerStopsWhereNotPaying(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	moves := 0
	var c clock
	f := &follower{move: func() bool { moves++; c.now += moveCost; return true }}
	const waits = 1_000_000
	longs := 0
	for range waits {
		long := rng.IntN(2) == 0
		if long {
			longs++
		}
		pumpWaited(f, long, c.cycle(long))
	}
	if f.fails != followMaxFails {
		t.Errorf("fails %d after %d waits that following did not shorten, want the cap %d", f.fails, waits, followMaxFails)
	}
	// At the cap one window follows per followWindow << followMaxFails
	// waits without: a fiftieth of the long waits, give or take.
	if max := longs / 32; moves > max {
		t.Errorf("%d moves for %d long waits, want at most %d", moves, longs, max)
	}
}

// TestFollowerOneCPU: a move that cannot be made (one CPU allowed) stops
// following as a window that did not pay does.
func TestFollowerOneCPU(t *testing.T) {
	tries := 0
	f := &follower{move: func() bool { tries++; return false }}
	const waits = 1_000_000
	var c clock
	for range waits {
		pumpWaited(f, true, c.cycle(true))
	}
	if max := waits/(followWindow<<followMaxFails) + followMaxFails + 1; tries > max {
		t.Errorf("%d tries to move in %d long waits with nowhere to go, want at most %d", tries, waits, max)
	}
	if tries == 0 {
		t.Error("never tried to move")
	}
}

// TestFollowerMeasuresFirst: the first window runs without following, to
// measure the share of long waits to beat.
func TestFollowerMeasuresFirst(t *testing.T) {
	moves := 0
	f := &follower{move: func() bool { moves++; return true }}
	var c clock
	for range followProbe {
		f.waited(true, c.cycle(true), true)
	}
	if moves != 0 {
		t.Fatalf("%d moves in the first %d waits, want none", moves, followProbe)
	}
	f.waited(true, c.cycle(true), true)
	if moves != 1 {
		t.Fatalf("no move on the first long wait after the first window")
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
	// Once the mask is back the scheduler may move the thread again
	// before it reads its CPU, so a few moves may look undone; a move that
	// does not happen would show in all of them.
	moved := 0
	for i := range 20 {
		from := currentCPU(t)
		if !moveToOtherCPU() {
			t.Fatalf("move %d: moveToOtherCPU reported no move with two CPUs allowed", i)
		}
		to := currentCPU(t)
		if !two.IsSet(to) {
			t.Fatalf("move %d: on CPU %d, outside the mask %v", i, to, two)
		}
		if to != from {
			moved++
		}
		var now unix.CPUSet
		if err := unix.SchedGetaffinity(0, &now); err != nil {
			t.Fatal(err)
		}
		if now != two {
			t.Fatalf("move %d: affinity mask %v after the move, want %v back", i, now, two)
		}
	}
	if moved < 15 {
		t.Fatalf("the thread changed CPU in %d of 20 moves", moved)
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

// TestThreadMovesCounted: the moves a queue's follower makes reach
// Stats.ThreadMoves when the queue flushes its tally.
func TestThreadMovesCounted(t *testing.T) {
	e := &Engine{}
	q := &Queue{eng: e}
	moves := 0
	q.follow = &follower{move: func() bool { moves++; return true }}
	// The first followProbe waits only measure; then every long wait
	// moves (with other I/Os in flight: no chase limit).
	var c clock
	for range followProbe + 10 {
		if q.follow.waited(true, c.cycle(true), false) {
			q.moves++
		}
	}
	q.flushTally()
	if got := e.counters.snapshot().ThreadMoves; got != uint64(moves) || moves != 10 {
		t.Fatalf("Stats.ThreadMoves %d after %d moves (want 10)", got, moves)
	}
	if q.moves != 0 {
		t.Fatalf("queue still holds %d moves after the flush", q.moves)
	}
}

// TestNoFollowConfig: Config.NoFollow leaves a queue without a follower;
// by default an io_uring queue has one.
func TestNoFollowConfig(t *testing.T) {
	for _, off := range []bool{false, true} {
		ring, err := NewIOURing(RingOptions{Entries: 8})
		if err != nil {
			t.Skipf("io_uring: %v", err)
		}
		_ = ring.Close()
		dir := t.TempDir()
		path := dir + "/dev"
		if err := os.WriteFile(path, make([]byte, 1<<20), 0o600); err != nil {
			t.Fatal(err)
		}
		dev, err := device.Open(path, device.Options{})
		if err != nil {
			t.Fatal(err)
		}
		e, err := New(Config{Devices: []*device.Device{dev}, Mapper: identity{}, NoFollow: off})
		if err != nil {
			dev.Close()
			t.Fatal(err)
		}
		q, err := e.NewQueue()
		if err != nil {
			t.Fatal(err)
		}
		if (q.follow == nil) != off {
			t.Errorf("NoFollow=%v: follower %v", off, q.follow)
		}
		q.Close()
		e.Close()
		dev.Close()
	}
}

// TestFollowersCrowded: caller-owned queues that follow are counted while
// open, and with more than followQueues of them none follows.
func TestFollowersCrowded(t *testing.T) {
	ring, err := NewIOURing(RingOptions{Entries: 8})
	if err != nil {
		t.Skipf("io_uring: %v", err)
	}
	_ = ring.Close()
	path := t.TempDir() + "/dev"
	if err := os.WriteFile(path, make([]byte, 1<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	dev, err := device.Open(path, device.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	base := followers.Load()
	// Background queues are not counted: they are idle while a program
	// runs its I/O on queues of its own.
	e, err := New(Config{Devices: []*device.Device{dev}, Mapper: identity{}, QueueDepth: 8, Queues: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if got := followers.Load(); got != base {
		t.Fatalf("an engine with 2 background queues: %d queues counted, want %d", got, base)
	}
	var qs []*Queue
	defer func() {
		for _, q := range qs {
			q.Close()
		}
	}()
	for i := range followQueues + 1 {
		q, err := e.NewQueue()
		if err != nil {
			t.Fatal(err)
		}
		qs = append(qs, q)
		if got := followers.Load() - base; got != int32(i+1) {
			t.Fatalf("%d queues open, %d counted", i+1, got)
		}
		if want := int(base)+i+1 <= followQueues; qs[0].following(1) != want {
			t.Fatalf("%d queues that follow open: following %v, want %v", int(base)+i+1, !want, want)
		}
	}
	if qs[0].following(0) {
		t.Error("a call that waits for nothing is a wait the follower is told of")
	}
	for i, q := range qs {
		q.Close()
		if got := followers.Load() - base; got != int32(len(qs)-i-1) {
			t.Fatalf("%d of %d queues closed, %d still counted", i+1, len(qs), got)
		}
	}
	qs = nil
	q, err := e.NewQueue()
	if err != nil {
		t.Fatal(err)
	}
	qs = append(qs, q)
	if base == 0 && !q.following(1) {
		t.Error("one queue open: it does not follow")
	}
}

// identity maps a file's offsets to the same device addresses.
type identity struct{}

func (identity) MapRead(req *MapRequest, dst []mapcache.Mapping) ([]mapcache.Mapping, error) {
	return append(dst, mapcache.Mapping{Offset: req.Offset, Length: req.Length, Addr: req.Offset, Type: mapcache.Mapped}), nil
}

func (identity) MapWrite(req *MapRequest, dst []mapcache.Mapping) ([]mapcache.Mapping, error) {
	return append(dst, mapcache.Mapping{Offset: req.Offset, Length: req.Length, Addr: mapcache.NullAddr, Type: mapcache.PureOverwrite}), nil
}

func (identity) EndWrite(_ *WriteEnd, freed []mapcache.Mapping) ([]mapcache.Mapping, error) {
	return freed, nil
}

func (identity) Free([]mapcache.Mapping) {}

// TestFollowerChase: where each move sends the worker to the CPU the
// thread left (the scheduler places a woken worker on the idle CPU), every
// wait after a move is long, against a fifth without following (fewer,
// and following would not start: TestFollowerRareLongWaits). At depth 1
// each window with following then ends after followChase moves in a row,
// not after a move on each of its waits (nor after its
// followWindow/followFloor long waits, which is what the share of long
// waits alone allows). With other I/Os in flight a long wait after a move
// waited for one submitted before it, and only the share judges.
func TestFollowerChase(t *testing.T) {
	for _, alone := range []bool{true, false} {
		rng := rand.New(rand.NewPCG(5, 6))
		moved := false
		moves, windows, run, longest := 0, 0, 0, 0
		var c clock
		f := &follower{move: func() bool { moves++; moved = true; c.now += moveCost; return true }}
		const waits = 1_000_000
		for range waits {
			long := moved || rng.Float64() < 0.2
			moved = false
			wasOff := f.off > 0
			now := c.cycle(long)
			if !f.timing() {
				long, now = false, 0 // as pump tells it
			}
			if f.waited(long, now, alone) {
				run++
				longest = max(longest, run)
			} else {
				run = 0
			}
			if wasOff && f.off == 0 {
				windows++ // following starts again
			}
		}
		if f.fails != followMaxFails {
			t.Errorf("alone %v: fails %d after %d waits of chasing, want the cap %d", alone, f.fails, waits, followMaxFails)
		}
		most, perWindow := followChase, followChase
		if !alone {
			most, perWindow = followWindow/followFloor, followWindow/followFloor+1
		}
		// Deeper, a chase can run on from one window into the next.
		if alone && longest != most || !alone && (longest <= followChase || longest > 2*most) {
			t.Errorf("alone %v: %d moves in a row, each after a long wait, want %d", alone, longest, most)
		}
		if max := (windows + 1) * perWindow; moves > max {
			t.Errorf("alone %v: %d moves in %d windows with following, want at most %d", alone, moves, windows, max)
		}
		t.Logf("alone %v: %d moves in %d waits, %d windows with following", alone, moves, waits, windows)
	}
}

// TestFollowerRareLongWaits: where long waits are rare without following
// (fewer than 1 in followFloor: the host's hiccups, not the worker on the
// other CPU), following never starts, and a move never disturbs the
// thread; once they are common (the worker has gone to the other CPU) it
// starts again.
func TestFollowerRareLongWaits(t *testing.T) {
	p := &placement{rng: rand.New(rand.NewPCG(9, 10))}
	f := &follower{move: p.move}
	noise := rand.New(rand.NewPCG(11, 12))
	const waits = 1_000_000
	for range waits {
		long := noise.Float64() < 0.05
		pumpWaited(f, long, p.clock.cycle(long))
	}
	if p.moves != 0 {
		t.Errorf("%d moves in %d waits, 5%% of them long whatever the CPU, want none", p.moves, waits)
	}
	p.away, p.drift = true, 0.02
	longs := 0
	for range waits / 5 {
		long := p.wait()
		if long {
			longs++
		}
		pumpWaited(f, long, p.clock.cycle(long))
	}
	if p.moves == 0 || longs*followFloor > waits/5 {
		t.Errorf("the worker gone to the other CPU: %d moves, %d of %d waits long, want moves and fewer than 1 in %d long", p.moves, longs, waits/5, followFloor)
	}
}

// TestFollowerNoShorterCycle: where following makes the waits short but
// not the I/O (a cheap wake-up across the vCPUs: the worker now on the
// thread's CPU takes the time the thread no longer sleeps), it stops as
// where it does not pay, though its windows have few long waits.
func TestFollowerNoShorterCycle(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	const cycle = 15_000 // ns, with following or without
	var now int64
	moves, longs := 0, 0
	f := &follower{move: func() bool { moves++; now += moveCost / 4; return true }}
	const waits = 1_000_000
	for range waits {
		// Without following 40% of the waits are long, with it 4%.
		share := 0.4
		if f.off == 0 && f.offWaits != 0 {
			share = 0.04
		}
		long := rng.Float64() < share
		if long {
			longs++
		}
		now += cycle
		pumpWaited(f, long, now)
	}
	if f.fails != followMaxFails {
		t.Errorf("fails %d after %d waits that following did not shorten, want the cap %d", f.fails, waits, followMaxFails)
	}
	// At the cap one window of followWindow waits follows in
	// followWindow << followMaxFails: its 4% of long waits move.
	if max := waits / 1000; moves > max {
		t.Errorf("%d moves in %d waits, want at most %d", moves, waits, max)
	}
}

// TestFollowerTimesOnlyWhatItMeasures: in a stretch without following
// longer than followWindow, only its last followWindow waits are timed
// (two clock reads each in the pump) and measured; the others cost none.
func TestFollowerTimesOnlyWhatItMeasures(t *testing.T) {
	var c clock
	f := &follower{move: func() bool { return true }}
	f.stop(followWindow << 3)
	untimed := 0
	for f.off > 0 {
		if !f.timing() {
			untimed++
		}
		pumpWaited(f, true, c.cycle(true))
	}
	if want := followWindow<<3 - followWindow; untimed != want {
		t.Errorf("%d waits untimed in a stretch of %d, want %d", untimed, followWindow<<3, want)
	}
	if f.offWaits != followWindow || f.offLongs != followWindow || f.offN != followWindow-1 {
		t.Errorf("measured %d waits (%d long, %d cycles), want the last %d", f.offWaits, f.offLongs, f.offN, followWindow)
	}
	if !f.timing() {
		t.Error("following on, the wait is not timed")
	}
}

package engine

import "golang.org/x/sys/unix"

// Polling before a sleep (Config.SpinWait).
//
// A queue about to sleep for a completion with spinAbove or more I/Os in
// flight may first poll the ring: the flag the kernel sets in the shared
// ring when it holds completions back as task work, and the completion
// queue's tail, memory reads without a system call. A completion that
// arrives within the poll is taken at once; the thread does not sleep and
// the completion does not have to wake it. On a VM a sleeping thread's
// vCPU halts, and waking it is an interrupt through the hypervisor, tens
// of µs; while the thread polls, its vCPU stays awake.
//
// Whether that pays depends on the device, the depth and the hour, so by
// default (SpinWait 0) the queue measures it: spinCtl compares, in probes
// of windows with polling and without, the job thread's CPU time per
// completion and the wall time per completion (the queue's rate), and
// polls only while that costs no more CPU time per I/O than sleeping and
// is no slower. What it measured is at spin() (ringloop.go).

// spinAuto is how long a queue polls when SpinWait is left to measure.
// 10 µs was too short on the loop device: at depths 2 and 4 the waits
// outlasted it and it only added to the sleep (0.64x and 0.95x fio at
// twice the CPU per read), where 20 µs ran 2.0x and 2.3x at less.
const spinAuto = 20_000 // ns

// spinAutoDepth is the deepest queue that polls when SpinWait is left to
// measure. Deeper, polling keeps the job thread running without a break
// at more CPU time per I/O than sleeping (1.4 times at depth 32 on the
// loop device), so the measurement would only ever turn it off, after
// probes that cost CPU time; and a queue that never polls sets its ring
// up without TASKRUN_FLAG (RingOptions.Polled), which saved the loop
// device's completing CPU 0.05 µs per I/O at depth 64 (alternating 3 s
// runs of 4 KiB random reads, eight rounds: 0.989x fio's IOPS instead of
// 0.968x at depth 64, 1.008x instead of 0.995x at 32).
const spinAutoDepth = 16

// Polling must cost at most spinMarginNum/spinMarginDen of the CPU time
// per completion of not polling to be chosen: where it pays it saved
// 20-30% on the loop device (depths 4 and 8), where it does not it cost
// 10-45% more, and windows of 2048 completions differ by a few percent
// between themselves on a busy VM. Without the margin, 4 KiB random reads
// at depth 16 took 5% more CPU per read than fio in one make bench run
// (2.49 µs against 2.36) where not polling took the same.
const (
	spinMarginNum = 19
	spinMarginDen = 20
)

// A probe measures spinWindow completions at a time, in the order of
// spinProbeSeq (false: without polling), each change of way first let
// run spinWarm completions unmeasured. The order, off on on off off on on
// off, gives both ways the same mean position in time, so that a rate
// drifting at a steady pace over the probe favours neither; single
// windows of 2048 completions each way, one after the other, differed between themselves by up to four times in wall time
// per completion at depth 4 on a busy VM (7 to 29 µs).
const (
	spinWarm      = 128 // completions after a change of way before measuring
	spinWindow    = 512 // completions measured per window
	spinRun       = 56  // windows of spinWindow run with the choice before probing again
	spinMaxStreak = 4   // a choice that keeps winning runs at most spinRun << 4 windows between probes
)

var spinProbeSeq = [...]bool{false, true, true, false, false, true, true, false}

// spinCost is what a probe measured of one way.
type spinCost struct{ cpu, wall int64 }

// probeCtl chooses between two ways of running a queue by measuring them:
// whether to poll before a sleep (newSpinCtl, SpinWait 0) and whether to
// hold new I/O for the next wait rather than submit it early
// (newBatchCtl). A probe measures both ways (spinProbeSeq); the queue then
// runs the one chosen for spinRun windows and probes again. A choice that
// keeps winning runs longer between probes (spinRun << n after n probes
// in a row chose it, at most spinMaxStreak).
//
// For polling: it is chosen only if it cost at most
// spinMarginNum/spinMarginDen of the CPU time of not polling and took no
// more wall time: the thread's CPU time alone does not see what polling
// takes from the device's own work where the two share the CPUs (a loop
// device's worker). In 21 probes at depth 4 on a busy machine the two
// measures agreed every time; the wall time is a guard. A probe without
// polling where polling pays is three times slower on the loop device,
// and one with it where it does not costs twice the CPU.
type probeCtl struct {
	cpu     func() int64                // the thread's CPU time, ns
	wall    func() int64                // a monotonic clock, ns
	pick    func(off, on spinCost) bool // the rule: whether on wins the probe
	on      bool                        // the second way now (poll; hold for the wait)
	step    int                         // the probe's window (spinProbeSeq), or len(spinProbeSeq): running the choice
	left    int                         // completions left in this stage
	warming bool                        // left counts the warm-up, not a window
	cpu0    int64                       // CPU time at the window's start
	wall0   int64                       // clock at the window's start
	cost    [2]spinCost                 // the probe's totals of the first way and the second
	fails   int                         // probes in a row that the second way lost
	wins    int                         // probes in a row that the second way won
	probes  uint64
	// clearCut, if set, ends a probe after its first window of each way
	// when one took at least clearCut times the other's wall time: a
	// slow way's windows then cost the queue only one.
	clearCut int64
}

// newSpinCtl measures whether polling pays (on: poll).
func newSpinCtl(cpu, wall func() int64) *probeCtl { return newProbeCtl(cpu, wall, pollPays) }

// pollPays is the polling rule (probeCtl).
func pollPays(off, on spinCost) bool {
	return on.cpu*spinMarginDen <= off.cpu*spinMarginNum && on.wall <= off.wall
}

// newBatchCtl measures whether a queue runs faster holding new I/O for
// its next wait than submitting it early (on: hold; see submitEarly in
// ringloop.go).
//
// It starts submitting early, as if a probe had chosen that, and probes
// after spinWarm completions: a queue's spinCtl starts with a probe, and
// the two never probe at once (Queue.probed).
func newBatchCtl(cpu, wall func() int64) *probeCtl {
	c := newProbeCtl(cpu, wall, holdPays)
	c.step, c.on, c.warming = len(spinProbeSeq), false, false
	return c
}

// holdPays is the batching rule: holding new I/O for the wait must be
// faster by a margin (spinMarginNum/spinMarginDen of the wall time per
// completion) and cost no more CPU time per completion. Where the two
// run alike, as on a loop device, the queue keeps submitting early, the
// way measured best there (defaultEagerMin).
func holdPays(early, hold spinCost) bool {
	return hold.wall*spinMarginDen <= early.wall*spinMarginNum && hold.cpu <= early.cpu
}

// newGapCtl measures whether a queue runs faster reading through the
// gaps between a split read's pieces (on: merge; Config.ReadGapAuto)
// than reading each piece alone. Its completions are requests, not
// device I/Os: one merged read completes several pieces at once.
//
// Like newBatchCtl it starts running one way, apart, and probes after
// spinWarm requests: it is made while the queue runs (at the first read
// it could merge), maybe while another controller probes.
//
// Where one way is far slower (a device whose bandwidth or whose I/O rate
// caps it: merged reads at half or at seven times the requests a second
// of reading apart, under a cgroup's byte and I/O limits on a loop
// device), each of the slow way's windows costs the queue long: a probe
// ends after one window each way when one took gapClearCut times the
// other's wall time.
func newGapCtl(cpu, wall func() int64) *probeCtl {
	c := newProbeCtl(cpu, wall, gapPays)
	c.step, c.on, c.warming, c.clearCut = len(spinProbeSeq), false, false, gapClearCut
	return c
}

// gapClearCut is the ratio of wall times per request, merged to apart or
// apart to merged, at which a read-gap probe ends after one window each
// way: far beyond the difference merging makes where it pays a little
// (1.1-1.2x on the loop device) or the scatter of single windows.
const gapClearCut = 3

// gapPays is the rule of reading through gaps: merged reads must finish
// requests faster by a margin (spinMarginNum/spinMarginDen of the wall
// time per request) at no more CPU time per request. On a loop device
// over tmpfs, 128 KiB reads of a file in 16 KiB extents 16 KiB apart
// took 9.8-10.4 µs of the job thread's CPU time per read merged against
// 15.5-17.1 apart, at 1.14-1.20 times the reads a second (three
// alternating 3 s runs); where the device's bandwidth runs out first,
// the gaps' bytes make merged reads slower and the queue reads apart.
func gapPays(apart, merged spinCost) bool {
	return merged.wall*spinMarginDen <= apart.wall*spinMarginNum && merged.cpu <= apart.cpu
}

func newProbeCtl(cpu, wall func() int64, pick func(off, on spinCost) bool) *probeCtl {
	return &probeCtl{cpu: cpu, wall: wall, pick: pick, on: spinProbeSeq[0], left: spinWarm, warming: true}
}

// probing reports whether a probe is under way (its windows measure the
// queue as it runs: another controller's probe must not change it then);
// false for a nil controller.
func (c *probeCtl) probing() bool { return c != nil && c.step < len(spinProbeSeq) }

// completed counts n completions and moves between the stages.
func (c *probeCtl) completed(n int) {
	c.left -= n
	for c.left <= 0 {
		over := -c.left
		switch {
		case c.step == len(spinProbeSeq): // the run ends: probe afresh
			c.step, c.cost = 0, [2]spinCost{}
			c.on, c.warming = spinProbeSeq[0], true
			c.left = spinWarm - over
		case c.warming:
			c.warming, c.cpu0, c.wall0 = false, c.cpu(), c.wall()
			c.left = spinWindow - over
		default: // a window ends
			cpu, wall := c.cpu(), c.wall()
			k := &c.cost[b2i(c.on)]
			k.cpu += cpu - c.cpu0
			k.wall += wall - c.wall0
			c.step++
			if c.step == 2 && c.clearCut > 0 && (c.cost[0].wall >= c.cost[1].wall*c.clearCut || c.cost[1].wall >= c.cost[0].wall*c.clearCut) {
				c.step = len(spinProbeSeq) // one window each said enough
			}
			switch {
			case c.step == len(spinProbeSeq):
				c.decide()
				c.left = spinWindow*(spinRun<<(c.fails+c.wins)) - over
			case spinProbeSeq[c.step] == c.on: // the same way: no warm-up
				c.cpu0, c.wall0 = cpu, wall
				c.left = spinWindow - over
			default:
				c.on, c.warming = spinProbeSeq[c.step], true
				c.left = spinWarm - over
			}
		}
	}
}

// decide ends a probe: it chooses the way to run until the next.
func (c *probeCtl) decide() {
	c.probes++
	c.on = c.pick(c.cost[0], c.cost[1])
	if c.on {
		c.fails, c.wins = 0, min(c.wins+1, spinMaxStreak)
	} else {
		c.fails, c.wins = min(c.fails+1, spinMaxStreak), 0
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// threadCPU returns the calling thread's CPU time in ns (user and
// system), or 0 where the clock cannot be read.
func threadCPU() int64 {
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts) != nil {
		return 0
	}
	return ts.Nano()
}

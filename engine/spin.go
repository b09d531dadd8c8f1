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
// Whether that pays depends on the device and the depth, so by default
// (SpinWait 0) the queue measures it: spinCtl compares the job thread's
// CPU time per completion with polling and without, in windows of
// spinWindow completions, and polls only while that costs no more CPU time
// per I/O than sleeping. What it measured is at spin() (ringloop.go).

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

const (
	spinWarm      = 256  // completions after a switch before measuring
	spinWindow    = 2048 // completions measured per probe
	spinRun       = 14   // windows run with the choice before probing again
	spinMaxStreak = 4    // a choice that keeps winning runs at most spinRun << 4 windows between probes
	spinProbeOff  = 0
	spinProbeOn   = 1
	spinExploit   = 2
)

// spinCtl decides whether a queue polls, by measuring (SpinWait 0). It
// first measures a window without polling, then one with, and runs what
// cost less CPU time per completion for spinRun windows, then measures
// again. A choice that keeps winning runs longer between probes (spinRun
// << n after n probes in a row chose it, at most spinMaxStreak): a probe
// without polling where polling pays is three times slower on the loop
// device, and one with it where it does not costs twice the CPU.
type spinCtl struct {
	cpu     func() int64 // the thread's CPU time, ns
	on      bool         // poll now
	state   int
	left    int   // completions left in this stage
	warming bool  // left counts the warm-up, not the window
	start   int64 // CPU time at the window's start
	offCost int64 // CPU time of the last window without polling
	fails   int   // probes in a row that polling lost
	wins    int   // probes in a row that polling won
	probes  uint64
}

func newSpinCtl(cpu func() int64) *spinCtl {
	return &spinCtl{cpu: cpu, state: spinProbeOff, left: spinWarm, warming: true}
}

// completed counts n completions and moves between the stages.
func (c *spinCtl) completed(n int) {
	c.left -= n
	for c.left <= 0 {
		over := -c.left
		switch {
		case c.state == spinExploit:
			c.state, c.on, c.warming = spinProbeOff, false, true
			c.left = spinWarm - over
		case c.warming:
			c.warming, c.start = false, c.cpu()
			c.left = spinWindow - over
		case c.state == spinProbeOff:
			c.offCost = c.cpu() - c.start
			c.state, c.on, c.warming = spinProbeOn, true, true
			c.left = spinWarm - over
		default: // spinProbeOn ends
			onCost := c.cpu() - c.start
			c.probes++
			c.on = onCost*spinMarginDen <= c.offCost*spinMarginNum
			if c.on {
				c.fails, c.wins = 0, min(c.wins+1, spinMaxStreak)
			} else {
				c.fails, c.wins = min(c.fails+1, spinMaxStreak), 0
			}
			c.state = spinExploit
			c.left = spinWindow*(spinRun<<(c.fails+c.wins)) - over
		}
	}
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

package engine

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// ClockSource is the clock the engine times I/O with, by fio's names for
// its clocksource option.
type ClockSource uint8

const (
	// ClockAuto is ClockCPU where the CPU's counter is invariant (it
	// ticks at one rate whatever the CPU's frequency or sleep state) and
	// calibrates steadily, else ClockMonotonic: fio's default.
	ClockAuto ClockSource = iota
	// ClockMonotonic reads CLOCK_MONOTONIC through the vDSO (fio's
	// clock_gettime).
	ClockMonotonic
	// ClockCPU reads the CPU's time-stamp counter, calibrated against
	// CLOCK_MONOTONIC once per process (fio's cpu), and paired with it
	// afresh when the two drift apart (checkTSC). amd64 only.
	ClockCPU
	// ClockGettimeofday reads the wall clock in microseconds through the
	// vDSO (fio's gettimeofday): latencies have 1 µs steps, and a change
	// of the system's time shows in them.
	ClockGettimeofday
)

var clockNames = [...]string{ClockAuto: "auto", ClockMonotonic: "clock_gettime", ClockCPU: "cpu", ClockGettimeofday: "gettimeofday"}

func (c ClockSource) String() string {
	if int(c) < len(clockNames) {
		return clockNames[c]
	}
	return fmt.Sprintf("ClockSource(%d)", c)
}

// ParseClockSource takes fio's names: cpu, clock_gettime, gettimeofday.
func ParseClockSource(s string) (ClockSource, error) {
	for i, n := range clockNames {
		if n == s && i != int(ClockAuto) {
			return ClockSource(i), nil
		}
	}
	return 0, fmt.Errorf("unknown clock source %q (want cpu, clock_gettime or gettimeofday)", s)
}

// tscClock converts time-stamp counter readings to CLOCK_MONOTONIC's
// nanoseconds: ns0 at tsc0, mult/2^32 ns a tick after it.
type tscClock struct {
	tsc0 uint64
	ns0  int64
	mult uint64
	mhz  float64
}

// now is the counter's time in CLOCK_MONOTONIC's nanoseconds. A reading
// behind the calibration's (a CPU whose counter lags the one that
// calibrated) counts as the calibration's, so no time runs backwards past
// it.
func (c *tscClock) now() int64 {
	d := max(int64(rdtsc()-c.tsc0), 0)
	hi, lo := bits.Mul64(uint64(d), c.mult)
	return c.ns0 + int64(hi<<32|lo>>32)
}

var (
	tscOnce  sync.Once
	tscClk   *tscClock
	tscError error
	// tscCur is the counter's pairing with CLOCK_MONOTONIC in force: the
	// calibration's (tscClk) until checkTSC pairs them afresh.
	tscCur atomic.Pointer[tscClock]

	// tscSteps are the pairings checkTSC made afresh, in order; each
	// engine on the counter reports those made in its lifetime
	// (Engine.clockSteps). A healthy counter makes none.
	tscStepsMu sync.Mutex
	tscSteps   []clockStep
)

// clockStep is a pairing of the counter with CLOCK_MONOTONIC made afresh:
// at is CLOCK_MONOTONIC's time of it, by how far the counter clock
// stepped there (positive: forward, the counter having been behind).
type clockStep struct {
	at int64
	by time.Duration
}

// maxClockSteps bounds tscSteps; past it steps are counted
// (tscStepsDropped) but not kept. A counter that drifts 10 ms from
// CLOCK_MONOTONIC every second fills it in 18 hours.
const maxClockSteps = 1 << 16

var tscStepsDropped uint64 // guarded by tscStepsMu

// tscSlack is how far the counter's time may stray from CLOCK_MONOTONIC
// before checkTSC pairs the two afresh, and tscCheckEvery how many pumps
// of a queue pass between its checks (a check that finds them agreeing
// is a CLOCK_MONOTONIC reading and a counter reading, about 25 and 10 ns
// on this kind of guest: README, clocksource).
const (
	tscSlack      = 10 * time.Millisecond
	tscCheckEvery = 4096
)

// checkTSC compares the counter's time with CLOCK_MONOTONIC and, when
// they are more than tscSlack apart, pairs them afresh at the calibrated
// rate, so that the engine's clock is CLOCK_MONOTONIC's again (a step,
// forward or back, of that much); it reports whether it did. The counter
// is not CLOCK_MONOTONIC's source: a virtual machine restored from a
// snapshot, or moved to another host, can find it set back, forward or
// at another rate. Set back, every reading counts as the calibration's
// and the clock stands still: on a guest whose kernel logged a "virtual
// machine fork" as a time_based job began, the job ran for twenty
// minutes without reaching its end.
func checkTSC() bool {
	c := tscCur.Load()
	if c == nil {
		return false
	}
	d := c.now() - nanotime()
	if d <= int64(tscSlack) && d >= -int64(tscSlack) {
		return false
	}
	t, n := sampleTSC()
	if tscCur.CompareAndSwap(c, &tscClock{tsc0: t, ns0: n, mult: c.mult, mhz: c.mhz}) {
		tscStepsMu.Lock()
		if len(tscSteps) < maxClockSteps {
			tscSteps = append(tscSteps, clockStep{at: n, by: time.Duration(-d)})
		} else {
			tscStepsDropped++
		}
		tscStepsMu.Unlock()
	}
	return true
}

// clockSteps reports how many times the counter clock was paired afresh
// with CLOCK_MONOTONIC since the engine chose it (checkTSC, by any
// engine's queue: the pairing is the process's), and the largest step
// (positive: forward). Zero for an engine on another clock.
func (e *Engine) clockSteps() (n uint64, largest time.Duration) {
	if !e.tsc {
		return 0, 0
	}
	tscStepsMu.Lock()
	defer tscStepsMu.Unlock()
	for _, s := range tscSteps {
		if s.at < e.clockSince {
			continue
		}
		n++
		if s.by.Abs() > largest.Abs() {
			largest = s.by
		}
	}
	if len(tscSteps) == maxClockSteps {
		n += tscStepsDropped
	}
	return n, largest
}

// cpuClock is the process's calibrated counter, or why there is none.
func cpuClock() (*tscClock, error) {
	tscOnce.Do(func() {
		if !haveTSC {
			tscError = errors.New("no time-stamp counter on this architecture")
			return
		}
		info, err := os.ReadFile("/proc/cpuinfo")
		if err != nil {
			tscError = fmt.Errorf("cannot tell whether the time-stamp counter is invariant: %w", err)
			return
		}
		if err := invariantTSC(info); err != nil {
			tscError = err
			return
		}
		tscClk, tscError = calibrateTSC(20 * time.Millisecond)
		if tscError == nil {
			tscCur.Store(tscClk)
		}
	})
	return tscClk, tscError
}

// invariantTSC says whether /proc/cpuinfo's flags show a counter that
// ticks at a constant rate (constant_tsc) and through the CPU's sleep
// states (nonstop_tsc), on every CPU listed.
func invariantTSC(cpuinfo []byte) error {
	cpus := 0
	for _, line := range bytes.Split(cpuinfo, []byte("\n")) {
		name, flags, ok := bytes.Cut(line, []byte(":"))
		if !ok || string(bytes.TrimSpace(name)) != "flags" {
			continue
		}
		cpus++
		have := map[string]bool{}
		for _, f := range bytes.Fields(flags) {
			have[string(f)] = true
		}
		for _, want := range []string{"tsc", "constant_tsc", "nonstop_tsc"} {
			if !have[want] {
				return fmt.Errorf("the time-stamp counter is not invariant (/proc/cpuinfo has no %s flag)", want)
			}
		}
	}
	if cpus == 0 {
		return errors.New("cannot tell whether the time-stamp counter is invariant (no flags in /proc/cpuinfo)")
	}
	return nil
}

// sampleTSC pairs a counter reading with a CLOCK_MONOTONIC one: of 32
// tries, the one whose clock reading the two counter readings bracket
// most tightly.
func sampleTSC() (tsc uint64, ns int64) {
	best := uint64(math.MaxUint64)
	for range 32 {
		t1 := rdtsc()
		n := nanotime()
		t2 := rdtsc()
		if t2 >= t1 && t2-t1 < best {
			best, tsc, ns = t2-t1, t1+(t2-t1)/2, n
		}
	}
	return tsc, ns
}

// calibrateTSC measures the counter's rate against CLOCK_MONOTONIC over
// window, in two halves that must agree within 0.1%.
func calibrateTSC(window time.Duration) (*tscClock, error) {
	t0, n0 := sampleTSC()
	time.Sleep(window / 2)
	t1, n1 := sampleTSC()
	time.Sleep(window / 2)
	t2, n2 := sampleTSC()
	if t1 <= t0 || t2 <= t1 || n1 <= n0 || n2 <= n1 {
		return nil, errors.New("the time-stamp counter did not advance with CLOCK_MONOTONIC")
	}
	r1 := float64(n1-n0) / float64(t1-t0) // ns a tick
	r2 := float64(n2-n1) / float64(t2-t1)
	if math.Abs(r1-r2) > 1e-3*r1 {
		return nil, fmt.Errorf("the time-stamp counter's rate is not steady (%.1f then %.1f MHz)", 1e3/r1, 1e3/r2)
	}
	r := float64(n2-n0) / float64(t2-t0)
	return &tscClock{tsc0: t0, ns0: n0, mult: uint64(math.Round(r * (1 << 32))), mhz: 1e3 / r}, nil
}

// gtodNs is the wall clock in µs steps (gettimeofday through the vDSO).
func gtodNs() int64 {
	var tv syscall.Timeval
	if syscall.Gettimeofday(&tv) != nil {
		return time.Now().UnixMicro() * 1000
	}
	return tv.Nano()
}

// setClock chooses the engine's clock as cfg.Clock asks.
func (e *Engine) setClock(src ClockSource) error {
	switch src {
	case ClockAuto, ClockCPU:
		c, err := cpuClock()
		if err == nil {
			e.tsc, e.clockSince = true, nanotime()
			e.clockInfo = fmt.Sprintf("cpu (time-stamp counter, %.1f MHz against CLOCK_MONOTONIC)", c.mhz)
			break
		}
		if src == ClockCPU {
			return fmt.Errorf("engine: clocksource=cpu: %w", err)
		}
		e.clockInfo = fmt.Sprintf("clock_gettime (CLOCK_MONOTONIC; not cpu: %v)", err)
	case ClockMonotonic:
		e.clockInfo = "clock_gettime (CLOCK_MONOTONIC)"
	case ClockGettimeofday:
		e.usec = true
		e.clockInfo = "gettimeofday (wall clock, µs)"
	default:
		return fmt.Errorf("engine: unknown clock source %d", src)
	}
	e.baseNs = 0
	e.baseNs = e.nowNs()
	return nil
}

// ClockInfo says which clock the engine times I/O with and, for the CPU's
// counter, whether it has been paired afresh with CLOCK_MONOTONIC since
// (Stats.ClockSteps).
func (e *Engine) ClockInfo() string {
	n, largest := e.clockSteps()
	if n == 0 {
		return e.clockInfo
	}
	dir := "forward"
	if largest < 0 {
		dir, largest = "back", -largest
	}
	times := "once"
	if n > 1 {
		times = fmt.Sprintf("%d times", n)
	}
	return fmt.Sprintf("%s; it strayed from CLOCK_MONOTONIC by more than %v and was paired with it afresh %s, "+
		"the largest step %v %s: latencies timed in the %d waits before a step may be off by up to it",
		e.clockInfo, tscSlack, times, largest.Round(time.Microsecond), dir, tscCheckEvery)
}

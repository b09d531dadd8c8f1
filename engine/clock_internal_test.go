package engine

import (
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestInvariantTSC: the CPU's counter is taken only where every CPU's
// flags show it invariant.
func TestInvariantTSC(t *testing.T) {
	good := "processor\t: 0\nflags\t\t: fpu tsc msr constant_tsc nonstop_tsc rdtscp\n\nprocessor\t: 1\nflags\t\t: fpu tsc constant_tsc nonstop_tsc\n"
	if err := invariantTSC([]byte(good)); err != nil {
		t.Errorf("invariant counter refused: %v", err)
	}
	for name, info := range map[string]string{
		"no nonstop_tsc":   "flags\t\t: fpu tsc constant_tsc\n",
		"one CPU lacks it": "flags\t\t: tsc constant_tsc nonstop_tsc\nflags\t\t: tsc constant_tsc\n",
		"no constant_tsc":  "flags\t\t: tsc nonstop_tsc\n",
		"no flags at all":  "processor\t: 0\nFeatures\t: fp asimd\n",
	} {
		if err := invariantTSC([]byte(info)); err == nil {
			t.Errorf("%s: counter taken as invariant", name)
		}
	}
}

// TestTSCClock: the calibrated counter keeps CLOCK_MONOTONIC's time, and a
// reading behind the calibration's counts as the calibration's.
func TestTSCClock(t *testing.T) {
	c, err := cpuClock()
	if err != nil {
		info, _ := os.ReadFile("/proc/cpuinfo")
		if runtime.GOARCH == "amd64" && invariantTSC(info) == nil {
			t.Fatalf("invariant counter, yet no cpu clock: %v", err)
		}
		t.Skipf("no cpu clock here: %v", err)
	}
	if c.mhz < 100 || c.mhz > 100e3 {
		t.Errorf("counter at %.1f MHz", c.mhz)
	}
	// Bracket each counter reading with the monotonic clock: the
	// counter's time lies between (within the counter's calibration,
	// a few ns, and its step).
	for range 20 {
		before := nanotime()
		got := c.now()
		after := nanotime()
		if got < before-1000 || got > after+1000 {
			t.Fatalf("counter reads %d ns, monotonic clock %d..%d", got, before, after)
		}
		time.Sleep(time.Millisecond)
	}
	behind := *c
	behind.tsc0 = rdtsc() + 1<<40
	if got := behind.now(); got != behind.ns0 {
		t.Errorf("a reading behind the calibration's gives %d, want %d", got, behind.ns0)
	}
}

// TestClockSources: each source runs an engine's clock at the monotonic
// clock's pace (gettimeofday's in µs steps), says which it is, and fio's
// names parse.
func TestClockSources(t *testing.T) {
	for _, src := range []ClockSource{ClockAuto, ClockMonotonic, ClockCPU, ClockGettimeofday} {
		if src != ClockAuto {
			got, err := ParseClockSource(src.String())
			if err != nil || got != src {
				t.Errorf("ParseClockSource(%q) = %v, %v", src.String(), got, err)
			}
		}
		e := &Engine{}
		if err := e.setClock(src); err != nil {
			if _, cpuErr := cpuClock(); src == ClockCPU && cpuErr != nil {
				continue // refused, as it must be (TestTSCClock)
			}
			t.Fatalf("%v: %v", src, err)
		}
		want := map[ClockSource]string{ClockMonotonic: "clock_gettime", ClockCPU: "cpu", ClockGettimeofday: "gettimeofday"}[src]
		if !strings.HasPrefix(e.ClockInfo(), want) {
			t.Errorf("%v: ClockInfo %q, want it to start %q", src, e.ClockInfo(), want)
		}
		// Each reading between two of the monotonic clock's; the
		// wall clock's µs steps and an NTP slew (at most 500 ppm)
		// allowed for.
		a0 := nanotime()
		t0 := e.Clock()
		b0 := nanotime()
		time.Sleep(20 * time.Millisecond)
		a1 := nanotime()
		t1 := e.Clock()
		b1 := nanotime()
		slack := 2*time.Microsecond + time.Duration(b1-a0)/1000
		if d := t1 - t0; d < time.Duration(a1-b0)-slack || d > time.Duration(b1-a0)+slack {
			t.Errorf("%v: clock advanced %v while CLOCK_MONOTONIC advanced %v..%v", src, d, time.Duration(a1-b0), time.Duration(b1-a0))
		}
	}
	for _, bad := range []string{"", "auto", "CPU", "tsc"} {
		if _, err := ParseClockSource(bad); err == nil {
			t.Errorf("ParseClockSource(%q) accepted", bad)
		}
	}
}

// TestCheckTSC: a counter that agrees with CLOCK_MONOTONIC is left as it
// is; one set back (every reading behind the calibration's, so that the
// clock stands still) or forward by an hour is paired with it afresh,
// after which its time is CLOCK_MONOTONIC's again.
func TestCheckTSC(t *testing.T) {
	c, err := cpuClock()
	if err != nil {
		t.Skipf("no counter to check: %v", err)
	}
	saved := tscCur.Load()
	t.Cleanup(func() { tscCur.Store(saved) })
	tscCur.Store(c)
	if checkTSC() {
		t.Fatal("checkTSC paired afresh a counter that agrees with CLOCK_MONOTONIC")
	}
	hour := uint64(3600 * c.mhz * 1e6) // ticks
	for _, tc := range []struct {
		name string
		tsc0 uint64
	}{
		{"set back", rdtsc() + 1<<40},
		{"set forward", rdtsc() - hour},
	} {
		stale := *c
		stale.tsc0 = tc.tsc0
		tscCur.Store(&stale)
		if !checkTSC() {
			t.Errorf("%s: checkTSC found nothing to mend", tc.name)
			continue
		}
		before := nanotime()
		got := tscCur.Load().now()
		after := nanotime()
		if got < before-int64(time.Millisecond) || got > after+int64(time.Millisecond) {
			t.Errorf("%s: the counter reads %d ns after checkTSC, CLOCK_MONOTONIC %d..%d", tc.name, got, before, after)
		}
		if checkTSC() {
			t.Errorf("%s: a second checkTSC paired the two again", tc.name)
		}
	}
}

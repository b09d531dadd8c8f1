package runner

import (
	"slices"
	"sync"
	"testing"
)

// TestThinkCyclesSpinsPerIO: thinkcycles spins its loop the given number
// of iterations after each read or write the job issues, and none after
// a flush: whether the job submits each I/O at once (iodepth_batch_submit
// given) or in rounds (its default), and for I/Os a thinktime pause held
// back, as fio spins after every read, write and trim it issues.
func TestThinkCyclesSpinsPerIO(t *testing.T) {
	var mu sync.Mutex
	var spins []int
	thinkSpinHook = func(n int) {
		mu.Lock()
		spins = append(spins, n)
		mu.Unlock()
	}
	t.Cleanup(func() { thinkSpinHook = nil })
	path := targetFile(t, 8<<20)
	for _, c := range []struct {
		name string
		args []string
		ios  int
	}{
		{"reads", []string{"--rw=read", "--thinkcycles=1000"}, 16},
		{"depth 4", []string{"--rw=randread", "--iodepth=4", "--thinkcycles=1000"}, 16},
		{"one at a time", []string{"--rw=randread", "--iodepth=4", "--iodepth_batch_submit=1", "--thinkcycles=1000"}, 16},
		{"writes and flushes", []string{"--rw=write", "--fsync=4", "--thinkcycles=1000"}, 16},
		{"thinktime", []string{"--rw=read", "--thinktime=100", "--thinktime_blocks=4", "--thinkcycles=1000"}, 16},
		{"none", []string{"--rw=read", "--thinkcycles=0"}, 0},
		// Clones spin at once (under the race detector, a shared sink
		// written without synchronization shows here).
		{"two clones", []string{"--rw=read", "--numjobs=2", "--thinkcycles=1000"}, 32},
	} {
		spins = nil
		args := append([]string{"--name=t", "--filename=" + path, "--bs=4k", "--size=64k"}, c.args...)
		if code, out, errs := run(t, args...); code != 0 {
			t.Fatalf("%s: exit %d\n%s%s", c.name, code, out, errs)
		}
		mu.Lock()
		got := slices.Clone(spins)
		mu.Unlock()
		if len(got) != c.ios || slices.ContainsFunc(got, func(n int) bool { return n != 1000 }) {
			t.Errorf("%s: spins %v, want %d of 1000 iterations", c.name, got, c.ios)
		}
	}
}

package runner

import (
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestClonesStartTogether: the clones of a job start their I/O once every
// clone has set up, as fio's threads do. Clone 1 takes 300 ms longer to
// set up; clone 0's first I/O (its completion-latency log, in Unix-epoch
// ms) comes after that. While they run, GOMAXPROCS is one more than the
// clones, and it is put back afterwards.
func TestClonesStartTogether(t *testing.T) {
	var setUp, procs atomic.Int64
	setUpHook = func(clone int) {
		procs.Store(int64(runtime.GOMAXPROCS(0)))
		if clone == 1 {
			time.Sleep(300 * time.Millisecond)
			setUp.Store(time.Now().UnixMilli())
		}
	}
	defer func() { setUpHook = nil }()
	base := runtime.GOMAXPROCS(0)
	dir := t.TempDir()
	prefix := filepath.Join(dir, "s")
	code, _, errs := run(t, "--name=s", "--ioengine=null", "--size=16m", "--rw=randread", "--bs=4k", "--numjobs=4",
		"--number_ios=1000", "--write_lat_log="+prefix, "--log_unix_epoch=1", "--log_avg_msec=0", "--output-format=json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	b, err := os.ReadFile(prefix + "_clat.1.log")
	if err != nil {
		t.Fatal(err)
	}
	first, err := strconv.ParseInt(strings.TrimSpace(strings.SplitN(string(b), ",", 2)[0]), 10, 64)
	if err != nil {
		t.Fatalf("clone 0's log: %v: %q", err, b[:min(len(b), 80)])
	}
	if first < setUp.Load() {
		t.Errorf("clone 0's first I/O at %d ms, before clone 1 had set up at %d ms", first, setUp.Load())
	}
	if p := procs.Load(); p < 5 {
		t.Errorf("GOMAXPROCS %d while 4 clones ran, want at least 5", p)
	}
	if p := runtime.GOMAXPROCS(0); p != base {
		t.Errorf("GOMAXPROCS %d after the run, %d before", p, base)
	}
}

package runner

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iobench/iobench/device/looptest"
	"golang.org/x/sys/unix"
)

// limitRun runs a 4 KiB random job with opts on a file target and returns
// its exit status, stderr and JSON error number and I/Os.
func limitRun(t *testing.T, opts ...string) (code int, errOut string, errno int, ios uint64) {
	t.Helper()
	target := zeroTarget(t, t.TempDir())
	args := append([]string{"--name=l", "--filename=" + target, "--bs=4k", "--size=8m", "--iodepth=4",
		"--output-format=json"}, opts...)
	code, out, errOut := run(t, args...)
	var doc struct {
		Jobs []struct {
			Error       int `json:"error"`
			Read, Write struct {
				TotalIOs uint64 `json:"total_ios"`
			}
		} `json:"jobs"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Jobs) != 1 {
		t.Fatalf("%v: JSON: %v\n%s\n%s", opts, err, out, errOut)
	}
	return code, errOut, doc.Jobs[0].Error, doc.Jobs[0].Read.TotalIOs + doc.Jobs[0].Write.TotalIOs
}

// TestMaxLatency: the first I/O slower than max_latency fails the job
// with ETIMEDOUT (110), naming the latency, the limit and the I/O, per
// direction; a limit nothing reaches changes nothing.
func TestMaxLatency(t *testing.T) {
	code, errOut, errno, ios := limitRun(t, "--rw=randread", "--runtime=10", "--time_based", "--max_latency=1ns")
	if code != 1 || errno != 110 || !strings.Contains(errOut, "exceeds specified max (1 nsec)") || !strings.Contains(errOut, " read ") {
		t.Errorf("max_latency=1ns: exit %d, error %d, %s", code, errno, errOut)
	}
	if ios == 0 || ios > 64 {
		t.Errorf("max_latency=1ns: %d I/Os, want the first few (the depth's) only", ios)
	}
	code, errOut, errno, _ = limitRun(t, "--rw=randrw", "--runtime=10", "--time_based", "--max_latency=10s,1ns")
	if code != 1 || errno != 110 || !strings.Contains(errOut, " write ") {
		t.Errorf("max_latency=10s,1ns on randrw: exit %d, error %d, %s; want a write to fail it", code, errno, errOut)
	}
	if code, errOut, errno, ios = limitRun(t, "--rw=randread", "--max_latency=10s"); code != 0 || errno != 0 || ios != 2048 {
		t.Errorf("max_latency=10s: exit %d, error %d, %d I/Os: %s", code, errno, ios, errOut)
	}
}

// TestRateIOPSMin: a job below rate_iops_min over a second fails, naming
// the direction and both rates; one above it runs to its end.
func TestRateIOPSMin(t *testing.T) {
	code, errOut, errno, _ := limitRun(t, "--rw=randread", "--runtime=10", "--time_based", "--rate=2000k", "--rate_iops_min=1000")
	if code != 1 || errno == 0 || !strings.Contains(errOut, "rate_iops_min: read IOPS") || !strings.Contains(errOut, "below 1000") {
		t.Errorf("rate=2000k (500 IOPS of 4 KiB) with rate_iops_min=1000: exit %d, error %d, %s", code, errno, errOut)
	}
	// rate_cycle sets the period, which starts 2 s into the job (fio's
	// settle period): a fifth of a second fails the job 0.8 s before a
	// second's cycle does, about 400 I/Os at 500 a second.
	_, _, _, full := limitRun(t, "--rw=randread", "--runtime=10", "--time_based", "--rate=2000k", "--rate_iops_min=1000")
	code, errOut, _, short := limitRun(t, "--rw=randread", "--runtime=10", "--time_based", "--rate=2000k", "--rate_iops_min=1000", "--rate_cycle=200")
	if code != 1 || !strings.Contains(errOut, "rate_iops_min") || short+250 > full || short < 1000 {
		t.Errorf("rate_cycle=200: exit %d after %d I/Os (%d with a second's cycle): %s", code, short, full, errOut)
	}
	if code, errOut, errno, _ = limitRun(t, "--rw=randwrite", "--runtime=2", "--time_based", "--rate_iops_min=1"); code != 0 || errno != 0 {
		t.Errorf("rate_iops_min=1: exit %d, error %d: %s", code, errno, errOut)
	}
}

// TestLogEpochs: log_unix_epoch stamps log entries with Unix time in ms,
// log_alternate_epoch with the time of the clock it names; both count on
// from the job's start.
func TestLogEpochs(t *testing.T) {
	for _, c := range []struct {
		opts []string
		now  func() int64 // the epoch's clock, ms
	}{
		{[]string{"--log_unix_epoch=1"}, func() int64 { return time.Now().UnixMilli() }},
		{[]string{"--log_alternate_epoch=1", "--log_alternate_epoch_clock_id=1"}, func() int64 {
			var ts unix.Timespec
			_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
			return ts.Nano() / 1e6
		}},
		{nil, func() int64 { return 0 }},
	} {
		dir := t.TempDir()
		target := zeroTarget(t, dir)
		before := c.now()
		args := append([]string{"--name=e", "--filename=" + target, "--rw=randread", "--bs=4k", "--size=8m", "--runtime=1",
			"--time_based", "--write_iops_log=" + filepath.Join(dir, "e"), "--log_avg_msec=200", "--output-format=terse"}, c.opts...)
		if code, _, errOut := run(t, args...); code != 0 {
			t.Fatalf("%v: exit %d: %s", c.opts, code, errOut)
		}
		after := c.now()
		log := readLog(t, filepath.Join(dir, "e_iops.1.log"))
		if len(log) < 3 {
			t.Fatalf("%v: %d log lines", c.opts, len(log))
		}
		first, _ := strconv.ParseInt(log[0][0], 10, 64)
		last, _ := strconv.ParseInt(log[len(log)-1][0], 10, 64)
		lo, hi := before, after
		if c.opts == nil {
			lo, hi = 0, 1500 // from the job's start
		}
		if first < lo || last > hi || last-first < 600 {
			t.Errorf("%v: log times %d..%d, want within %d..%d and about a second apart", c.opts, first, last, lo, hi)
		}
	}
}

// jobErrors is what a job's JSON says of its errors and reads.
type jobErrors struct {
	Error      int     `json:"error"`
	TotalErr   *uint64 `json:"total_err"`
	FirstError *int    `json:"first_error"`
	Read       struct {
		TotalIOs uint64 `json:"total_ios"`
		IOBytes  uint64 `json:"io_bytes"`
	} `json:"read"`
}

// errorCounts parses the JSON out and returns its first job's errors.
func errorCounts(t *testing.T, out string) jobErrors {
	t.Helper()
	var doc struct {
		Jobs []jobErrors `json:"jobs"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Jobs) == 0 {
		t.Fatalf("JSON: %v", err)
	}
	return doc.Jobs[0]
}

// TestContinueOnError: on a loop device whose backing file lost its last
// three quarters, reads there fail with EIO. continue_on_error=read goes on
// after them, counting them as fio does (total_err, first_error, the
// job's error 5, exit 0, the errors line); ignore_error that does not
// list EIO, or no continue_on_error, stops the job at the first (exit 1).
func TestContinueOnError(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for the loop device")
	}
	l := looptest.New(t, 16<<20, looptest.Options{})
	if err := os.Truncate(l.Backing, 4<<20); err != nil {
		t.Fatal(err)
	}
	runOn := func(opts ...string) (int, string, string) {
		args := append([]string{"--name=c", "--filename=" + l.Path, "--rw=randread", "--bs=4k", "--size=16m",
			"--number_ios=2000", "--force=1"}, opts...)
		return run(t, args...)
	}
	code, out, errOut := runOn("--continue_on_error=read", "--output-format=json")
	if code != 0 {
		t.Fatalf("continue_on_error=read: exit %d: %s", code, errOut)
	}
	j := errorCounts(t, out)
	if j.Error != 5 || j.TotalErr == nil || j.FirstError == nil || *j.FirstError != 5 {
		t.Fatalf("error %d, total_err %v, first_error %v: want 5, some, 5", j.Error, j.TotalErr, j.FirstError)
	}
	// About three quarters of random reads land past the backing file.
	if share := float64(*j.TotalErr) / float64(j.Read.TotalIOs); j.Read.TotalIOs != 2000 || share < 0.6 || share > 0.9 {
		t.Errorf("%d of %d reads failed, want about 3/4 of 2000", *j.TotalErr, j.Read.TotalIOs)
	}
	if j.Read.IOBytes != (j.Read.TotalIOs-*j.TotalErr)*4096 {
		t.Errorf("io_bytes %d, want the %d reads that succeeded", j.Read.IOBytes, j.Read.TotalIOs-*j.TotalErr)
	}
	code, out, _ = runOn("--continue_on_error=io")
	if code != 0 || !strings.Contains(out, "err= 5 ():") || !regexp.MustCompile(`(?m)^     errors    : total=[0-9]+, first_error=5/<Input/output error>$`).MatchString(out) {
		t.Errorf("normal output: exit %d\n%s", code, out)
	}
	for _, opts := range [][]string{{"--continue_on_error=read", "--ignore_error=ENOSPC"}, {"--continue_on_error=write"}, nil} {
		if code, _, errOut := runOn(opts...); code != 1 || !strings.Contains(errOut, "input/output error") {
			t.Errorf("%v: exit %d, %s; want the first EIO to stop the job", opts, code, errOut)
		}
	}
	if code, _, _ := runOn("--continue_on_error=read", "--ignore_error=5:ENOSPC"); code != 0 {
		t.Errorf("ignore_error=5:ENOSPC: exit %d, want EIO (5) gone on after", code)
	}
}

// TestContinueOnErrorVerifyReads: continue_on_error covers the reads of
// a verify pass as fio's verify phase does. A 16 MiB loop device written
// with verify=crc32c loses the last three quarters of its backing file;
// reading it back (verify_only, the pass the workload's verify runs
// too) with continue_on_error=read goes on after each EIO: the 3072
// failed reads count as reads of no bytes (total_ios 4096, io_bytes 4
// MiB), in total_err and first_error, exit 0, and the readable quarter is
// checked. continue_on_error=write, which does not cover reads, stops at
// the first (exit 1), as the pass did whatever the option.
func TestContinueOnErrorVerifyReads(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for the loop device")
	}
	l := looptest.New(t, 16<<20, looptest.Options{})
	job := []string{"--name=v", "--filename=" + l.Path, "--rw=write", "--bs=4k", "--size=16m", "--verify=crc32c", "--force=1"}
	if code, _, errOut := run(t, append(job, "--do_verify=0")...); code != 0 {
		t.Fatalf("writing: exit %d: %s", code, errOut)
	}
	if err := os.Truncate(l.Backing, 4<<20); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := run(t, append(job, "--verify_only=1", "--continue_on_error=read", "--output-format=json")...)
	if code != 0 {
		t.Fatalf("verify_only, continue_on_error=read: exit %d: %s", code, errOut)
	}
	j := errorCounts(t, out)
	if j.Error != 5 || j.TotalErr == nil || *j.TotalErr != 3072 || j.FirstError == nil || *j.FirstError != 5 {
		t.Errorf("error %d, total_err %v, first_error %v: want 5, 3072, 5", j.Error, j.TotalErr, j.FirstError)
	}
	if j.Read.TotalIOs != 4096 || j.Read.IOBytes != 4<<20 {
		t.Errorf("read total_ios %d, io_bytes %d: want 4096 reads, 4 MiB read", j.Read.TotalIOs, j.Read.IOBytes)
	}
	if code, _, errOut := run(t, append(job, "--verify_only=1", "--continue_on_error=write")...); code != 1 || !strings.Contains(errOut, "input/output error") {
		t.Errorf("continue_on_error=write: exit %d, %s; want the first EIO to stop the pass", code, errOut)
	}
}

// TestUnreadableDeviceCheck: a writing job on a device whose first
// blocks cannot be read (the pre-write check for a filesystem or
// partition table fails with EIO) is refused as a device error, exit 1
// (not 2, the user's input), naming the check, the block and --force;
// with --force it runs.
func TestUnreadableDeviceCheck(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for the loop device")
	}
	l := looptest.New(t, 16<<20, looptest.Options{})
	if err := os.Truncate(l.Backing, 0); err != nil {
		t.Fatal(err)
	}
	job := []string{"--name=s", "--filename=" + l.Path, "--rw=randwrite", "--bs=4k", "--size=4m", "--offset=8m"}
	code, _, errOut := run(t, job...)
	if code != 1 || !strings.Contains(errOut, "cannot read the device to check it") || !strings.Contains(errOut, "read @0+4096") ||
		!strings.Contains(errOut, "--force") {
		t.Errorf("exit %d: %s; want exit 1 naming the check, the block at 0 and --force", code, errOut)
	}
	if code, _, errOut := run(t, append(job, "--force=1")...); code != 0 {
		t.Errorf("--force: exit %d: %s", code, errOut)
	}
}

// TestFlow: two jobs running together in one flow issue I/O in the ratio
// of their weights (1:4 here, as fio's flow.fio has it 1:8), whatever
// their own speeds; in different flows they do not hold each other back.
//
// The ratio is checked over the time both jobs ran, counted by the flow
// itself (flowTook, flowAdded), not over the whole run: the jobs start on
// goroutines of their own and end at their own times, and once the first
// has left the flow (as fio's, its weight no longer counts) the other runs
// unheld. While both are in it, a clone counts an I/O only when its share
// of the flow's I/O is at most its share of the flow's weight, so after
// counting it is at most one I/O over that share: n <= w/W*all + 1 for a
// clone of weight w in a flow of weight W that has counted all I/Os. At
// the first leave the clone still running may have counted one I/O more
// than the hook has seen, so the test allows one more in all. The counts
// the flow kept are the I/O the jobs issued: each job's total in the
// report is within its iodepth of them (what it had counted but not yet
// issued or completed at the end).
func TestFlow(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "t.img")
	if err := os.WriteFile(target, make([]byte, 16<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	const iodepth = 8
	weights := [2]int64{1, 4} // slow, fast
	var (
		mu            sync.Mutex
		took, refused map[int64]int64 // by clone weight
		tookAtLeave   map[int64]int64 // took at the first leave (nil: none yet)
	)
	flowTook = func(m *flowMember, ok bool) {
		mu.Lock()
		defer mu.Unlock()
		if ok {
			took[m.weight]++
		} else {
			refused[m.weight]++
		}
	}
	flowAdded = func(_ *flow, w int64) {
		mu.Lock()
		defer mu.Unlock()
		if w < 0 && tookAtLeave == nil {
			tookAtLeave = maps.Clone(took)
		}
	}
	t.Cleanup(func() { flowTook, flowAdded = nil, nil })
	for _, ids := range [][2]string{{"0", "0"}, {"1", "2"}} {
		took, refused, tookAtLeave = map[int64]int64{}, map[int64]int64{}, nil
		job := fmt.Sprintf("[global]\nfilename=%s\nsize=16m\nbs=4k\niodepth=%d\ntime_based\nruntime=1\nflow_sleep=100\n"+
			"[slow]\nrw=write\nflow=%d\nflow_id=%s\n[fast]\nrw=randread\nflow=%d\nflow_id=%s\n",
			target, iodepth, weights[0], ids[0], weights[1], ids[1])
		p := filepath.Join(dir, "flow.fio")
		if err := os.WriteFile(p, []byte(job), 0o644); err != nil {
			t.Fatal(err)
		}
		code, out, errOut := run(t, "--output-format=json", p)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		var doc struct {
			Jobs []struct {
				Read, Write struct {
					TotalIOs int64 `json:"total_ios"`
				}
			} `json:"jobs"`
		}
		if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Jobs) != 2 {
			t.Fatalf("JSON: %v\n%s", err, out)
		}
		issued := [2]int64{doc.Jobs[0].Write.TotalIOs, doc.Jobs[1].Read.TotalIOs}
		t.Logf("flow_id %v: I/O counted %d and %d (%d and %d at the first leave), refused %d and %d times; reported %d writes, %d reads",
			ids, took[weights[0]], took[weights[1]], tookAtLeave[weights[0]], tookAtLeave[weights[1]],
			refused[weights[0]], refused[weights[1]], issued[0], issued[1])
		for k, w := range weights {
			if d := issued[k] - took[w]; d < -iodepth || d > iodepth {
				t.Errorf("flow_id %v: job %d reported %d I/Os, its flow counted %d: more than its iodepth (%d) apart",
					ids, k, issued[k], took[w], iodepth)
			}
		}
		if ids[0] != ids[1] {
			// Alone in its flow, a job's share of the I/O is never above
			// its share of the weight (all of it).
			if refused[weights[0]] != 0 || refused[weights[1]] != 0 || took[weights[0]] == 0 || took[weights[1]] == 0 {
				t.Errorf("flow_id %v: a job held back by a job of another flow (refused %d and %d times, counted %d and %d I/Os)",
					ids, refused[weights[0]], refused[weights[1]], took[weights[0]], took[weights[1]])
			}
			continue
		}
		if tookAtLeave == nil {
			t.Fatalf("flow_id %v: no job left the flow", ids)
		}
		a, b := tookAtLeave[weights[0]], tookAtLeave[weights[1]]
		if a == 0 || b == 0 {
			t.Fatalf("flow_id %v: %d and %d I/Os before the first job left: they did not run together", ids, a, b)
		}
		all, total := a+b+1, weights[0]+weights[1] // +1: the one the hook may not have seen
		for k, n := range [2]int64{a, b} {
			if n*total > weights[k]*all+total {
				t.Errorf("flow_id %v: at the first leave job %d (flow=%d) had %d of the flow's %d I/Os, over its share %d/%d by more than one I/O (reads/writes %.3f, want 4)",
					ids, k, weights[k], n, a+b, weights[k], total, float64(b)/float64(a))
			}
		}
	}
}

// TestFlowLeave: a clone that ends leaves its flow with the I/O it
// counted, as fio's thread takes its weight and its count out of the
// flow at exit: the jobs still running share the flow by their own
// counts. Job a (weight 4) runs 200 ms; b (weight 1, 4 KiB reads) and c
// (weight 2, 256 KiB reads, far fewer a second) run on. After a has left,
// b counts an I/O only while its own count is at most a third of b's and
// c's together (checked at every I/O b counts, from the counts the test
// keeps). With a's I/O left in the flow's total, b ran unheld until it
// had half of a's and c's together. Once c has left too, b is alone and
// held by nothing.
func TestFlowLeave(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "t.img")
	if err := os.WriteFile(target, make([]byte, 16<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	var (
		mu             sync.Mutex
		took           = map[int64]int64{} // by clone weight
		left, cLeft    bool                // a has left, c has
		after          map[int64]int64     // counted since a left
		over, bChecked int64
	)
	flowTook = func(m *flowMember, ok bool) {
		mu.Lock()
		defer mu.Unlock()
		if !ok {
			return
		}
		took[m.weight]++
		if !left {
			return
		}
		after[m.weight]++
		if m.weight == 1 && !cLeft { // alone, b is held by nothing
			// b's count before this I/O against its share (1/3) of b's
			// and c's; +2: an I/O of c counted but not yet seen here,
			// and b's own.
			bChecked++
			if (took[1]-1)*3 > took[1]+took[2]+2 {
				over++
			}
		}
	}
	flowAdded = func(_ *flow, w int64) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case w == -4 && !left:
			left, after = true, map[int64]int64{}
		case w == -2:
			cLeft = true
		}
	}
	t.Cleanup(func() { flowTook, flowAdded = nil, nil })
	job := fmt.Sprintf("[global]\nfilename=%s\nsize=16m\niodepth=4\ntime_based\nflow_sleep=100\nrw=randread\n"+
		"[a]\nbs=4k\nflow=4\nruntime=200ms\n[b]\nbs=4k\nflow=1\nruntime=1s\n[c]\nbs=256k\nflow=2\nruntime=1s\n", target)
	p := filepath.Join(dir, "leave.fio")
	if err := os.WriteFile(p, []byte(job), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := run(t, "--output-format=json", p); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	mu.Lock()
	defer mu.Unlock()
	t.Logf("counted a %d, b %d, c %d; after a left b %d, c %d; b over its share %d of %d times",
		took[4], took[1], took[2], after[1], after[2], over, bChecked)
	if !left || after[1] == 0 || after[2] == 0 {
		t.Fatalf("a left: %v; b and c counted %d and %d I/Os after (want both running on)", left, after[1], after[2])
	}
	if over > 0 {
		t.Errorf("after a left, b counted %d of its %d I/Os over its share of b's and c's (a's I/O still in the flow's total)", over, bChecked)
	}
}

// TestFlowNegativeWeight: fio's butterfly.fio gives its two jobs flow=2
// and flow=-2 (weights from fio's older flow counter); fio 3.33 accepts
// the negative weight and counts weights as unsigned 32-bit numbers, whose
// sum here wraps to 0, so that neither job is held back: both run to
// their size, as iobench runs them (it refused flow=-2). Weights above
// 1000 are refused, as fio refuses them.
func TestFlowNegativeWeight(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "t.img")
	if err := os.WriteFile(target, make([]byte, 4<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "butterfly.fio")
	job := fmt.Sprintf("[global]\nfilename=%s\nbs=4k\n[forward]\nrw=read\nflow=2\n[backward]\nrw=read:-8k\nflow=-2\n", target)
	if err := os.WriteFile(p, []byte(job), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := run(t, "--output-format=json", p)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var doc struct {
		Jobs []struct {
			Read struct {
				TotalIOs float64 `json:"total_ios"`
			}
		} `json:"jobs"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Jobs) != 2 {
		t.Fatalf("JSON: %v\n%s", err, out)
	}
	if doc.Jobs[0].Read.TotalIOs != 1024 || doc.Jobs[1].Read.TotalIOs != 1024 {
		t.Errorf("reads %v and %v, want 1024 each (fio's)", doc.Jobs[0].Read.TotalIOs, doc.Jobs[1].Read.TotalIOs)
	}
	if code, _, errOut := run(t, "--name=x", "--flow=1001", "--parse-only"); code != 2 || !strings.Contains(errOut, "flow") {
		t.Errorf("flow=1001: exit %d: %s", code, errOut)
	}
}

// threadNices returns the nice value of each thread of process pid.
func threadNices(pid int) map[string]int {
	out := map[string]int{}
	dir := fmt.Sprintf("/proc/%d/task", pid)
	tasks, _ := os.ReadDir(dir)
	for _, task := range tasks {
		b, err := os.ReadFile(dir + "/" + task.Name() + "/stat")
		if err != nil {
			continue
		}
		// The fields after the command's closing parenthesis: state is
		// the first, nice the 17th.
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		if len(f) > 16 {
			n, _ := strconv.Atoi(f[16])
			out[task.Name()] = n
		}
	}
	return out
}

// TestNice: nice runs the job's thread at that nice value while the job
// runs, and the thread gets its own back afterwards; below 0 without
// CAP_SYS_NICE it is refused before any I/O.
func TestNice(t *testing.T) {
	dir := t.TempDir()
	target := zeroTarget(t, dir)
	cmd := exec.Command(iobenchBinary(t), "--name=n", "--filename="+target, "--rw=randread", "--bs=4k", "--size=8m",
		"--time_based", "--runtime=2", "--nice=7", "--output-format=terse")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	seen := false
	for deadline := time.Now().Add(1500 * time.Millisecond); time.Now().Before(deadline) && !seen; time.Sleep(50 * time.Millisecond) {
		for _, n := range threadNices(cmd.Process.Pid) {
			seen = seen || n == 7
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	if !seen {
		t.Error("no thread of the run had nice 7")
	}
	// In this process: the worker's thread goes back to its own value.
	if code, _, errOut := run(t, "--name=n", "--filename="+target, "--rw=randread", "--bs=4k", "--size=8m", "--number_ios=500",
		"--nice=9", "--output-format=terse"); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for tid, n := range threadNices(os.Getpid()) {
		if n == 9 {
			t.Errorf("thread %s still at nice 9 after the job", tid)
		}
	}
	if os.Geteuid() == 0 {
		out, err := exec.Command("setpriv", "--bounding-set=-sys_nice", "--", iobenchBinary(t), "--name=n", "--filename="+target,
			"--rw=randread", "--size=1m", "--nice=-5", "--output-format=terse").CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(string(out), "needs CAP_SYS_NICE") {
			t.Errorf("nice=-5 without CAP_SYS_NICE: %v: %s", err, out)
		}
	}
}

// TestFillDevice: fill_device covers the whole block device from the
// job's offset when the job gives no size or a percentage, and size bytes
// when it gives them, as fio 3.33 does on a device node; on a regular
// file it runs with a size in bytes (surface-scan.fio's write phase, with
// --size) and is refused before any I/O without one, where fio would
// write until the filesystem is full.
func TestFillDevice(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for the loop device")
	}
	l := looptest.New(t, 16<<20, looptest.Options{})
	file := filepath.Join(t.TempDir(), "t.img")
	for _, c := range []struct {
		target string
		opts   []string
		want   uint64
	}{
		{l.Path, []string{"--fill_device=1"}, 16 << 20},
		{l.Path, []string{"--size=1m", "--fill_device=1"}, 1 << 20},
		{l.Path, []string{"--fill_fs=1", "--offset=4m", "--size=1m"}, 1 << 20},
		{l.Path, []string{"--fill_fs=1", "--offset=4m", "--size=25%"}, 12 << 20},
		{file, []string{"--fill_device=1", "--size=2m"}, 2 << 20},
	} {
		args := append([]string{"--name=f", "--filename=" + c.target, "--rw=write", "--bs=64k", "--output-format=json"}, c.opts...)
		code, out, errOut := run(t, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", c.opts, code, errOut)
		}
		var doc struct {
			Jobs []struct {
				Write struct {
					IOBytes uint64 `json:"io_bytes"`
				} `json:"write"`
			} `json:"jobs"`
		}
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatal(err)
		}
		if got := doc.Jobs[0].Write.IOBytes; got != c.want {
			t.Errorf("%s %v: wrote %d bytes, want %d", c.target, c.opts, got, c.want)
		}
	}
	for _, opts := range [][]string{{"--fill_device=1"}, {"--fill_device=1", "--size=50%"}} {
		args := append([]string{"--name=f", "--filename=" + file, "--rw=write"}, opts...)
		if code, _, errOut := run(t, args...); code != 2 || !strings.Contains(errOut, "fill_device on") {
			t.Errorf("%v on a regular file: exit %d, %s", opts, code, errOut)
		}
	}
}

// TestRateMinAboveRate: a minimum rate above the job's own rate is
// refused before any I/O, as fio 3.33 refuses it ("minimum rate exceeds
// rate"): the job could only fail.
func TestRateMinAboveRate(t *testing.T) {
	for _, args := range [][]string{{"--rate=1m", "--rate_min=2m"}, {"--rate_iops=10", "--rate_iops_min=20"}} {
		code, out, errs := run(t, append([]string{"--name=x", "--ioengine=null", "--size=1m"}, args...)...)
		if code != 2 || out != "" || !strings.Contains(errs, "minimum rate exceeds rate") {
			t.Errorf("%q: exit %d, %q; want 2 and fio's reason", args, code, errs)
		}
	}
}

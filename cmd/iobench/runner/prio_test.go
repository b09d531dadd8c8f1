package runner

import (
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/iobench/iobench/device/looptest"
)

// prioDir is the part of a direction's JSON that I/O priorities add.
type prioDir struct {
	TotalIOs uint64 `json:"total_ios"`
	ClatNs   struct {
		N int64 `json:"N"`
	} `json:"clat_ns"`
	Prios *[]struct {
		PrioClass int `json:"prioclass"`
		Prio      int `json:"prio"`
		ClatNs    *struct {
			N          int64            `json:"N"`
			Percentile map[string]int64 `json:"percentile"`
		} `json:"clat_ns"`
		LatNs *struct {
			N int64 `json:"N"`
		} `json:"lat_ns"`
	} `json:"prios"`
}

// prioRun runs a 4 KiB random read and write job with the given priority
// options on a file target and returns its read and write JSON and the
// lines of its clat log.
func prioRun(t *testing.T, opts ...string) (read, write prioDir, log [][]string) {
	t.Helper()
	dir := t.TempDir()
	target := zeroTarget(t, dir)
	args := append([]string{"--name=p", "--filename=" + target, "--rw=randrw", "--bs=4k", "--iodepth=4",
		"--number_ios=3000", "--size=8m", "--output-format=json", "--write_lat_log=" + filepath.Join(dir, "l")}, opts...)
	code, out, errOut := run(t, args...)
	if code != 0 {
		t.Fatalf("%v: exit %d: %s", opts, code, errOut)
	}
	var doc struct {
		Jobs []struct {
			Read  prioDir `json:"read"`
			Write prioDir `json:"write"`
		} `json:"jobs"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Jobs) != 1 {
		t.Fatalf("JSON: %v\n%s", err, out)
	}
	return doc.Jobs[0].Read, doc.Jobs[0].Write, readLog(t, filepath.Join(dir, "l_clat.1.log"))
}

// TestPrioPerPriorityLatency: with cmdprio_percentage, that share of a
// direction's I/Os goes out with cmdprio_class/cmdprio and the rest with
// the job's priority; each priority's completion latencies are reported
// (fio's prios), adding up to the direction's, and the logs' last column
// carries each I/O's priority (log_prio) or its real-time flag.
func TestPrioPerPriorityLatency(t *testing.T) {
	read, write, log := prioRun(t, "--prioclass=3", "--cmdprio_percentage=30,0", "--cmdprio_class=2", "--cmdprio=6", "--log_prio=1")
	if read.Prios == nil || len(*read.Prios) != 2 {
		t.Fatalf("read prios: %+v, want two", read.Prios)
	}
	ps := *read.Prios
	if ps[0].PrioClass != 3 || ps[0].Prio != 0 || ps[1].PrioClass != 2 || ps[1].Prio != 6 {
		t.Errorf("read prios %d/%d and %d/%d, want 3/0 (the job's) then 2/6 (cmdprio's)", ps[0].PrioClass, ps[0].Prio, ps[1].PrioClass, ps[1].Prio)
	}
	if ps[0].ClatNs == nil || ps[1].ClatNs == nil || ps[0].LatNs != nil {
		t.Fatalf("read prios hold clat_ns only: %+v", ps)
	}
	if n := ps[0].ClatNs.N + ps[1].ClatNs.N; n != read.ClatNs.N || uint64(n) != read.TotalIOs {
		t.Errorf("per-priority counts %d + %d, want the direction's %d", ps[0].ClatNs.N, ps[1].ClatNs.N, read.TotalIOs)
	}
	if share := float64(ps[1].ClatNs.N) / float64(read.TotalIOs); math.Abs(share-0.30) > 0.06 {
		t.Errorf("cmdprio's share of the reads %.3f, want 0.30", share)
	}
	if ps[1].ClatNs.Percentile["50.000000"] <= 0 {
		t.Errorf("cmdprio's percentiles: %v", ps[1].ClatNs.Percentile)
	}
	if write.Prios != nil {
		t.Errorf("writes (cmdprio_percentage 0) reported per priority: %+v", *write.Prios)
	}
	counts := map[string]map[string]int64{"0": {}, "1": {}}
	for _, f := range log {
		counts[f[2]][f[4]]++
	}
	if want := (map[string]int64{"0x6000": ps[0].ClatNs.N, "0x4006": ps[1].ClatNs.N}); !mapsEqual(counts["0"], want) {
		t.Errorf("read log priorities %v, want %v", counts["0"], want)
	}
	if want := (map[string]int64{"0x6000": int64(write.TotalIOs)}); !mapsEqual(counts["1"], want) {
		t.Errorf("write log priorities %v, want %v", counts["1"], want)
	}

	// Without log_prio the column flags the real-time class: cmdprio's
	// default.
	read, _, log = prioRun(t, "--cmdprio_percentage=25")
	if read.Prios == nil || len(*read.Prios) != 2 || (*read.Prios)[1].PrioClass != 1 {
		t.Fatalf("read prios: %+v, want the thread's and real time's", read.Prios)
	}
	var flagged int64
	for _, f := range log {
		if f[4] == "1" {
			flagged++
		} else if f[4] != "0" {
			t.Fatalf("log line %v: last column %q, want 0 or 1", f, f[4])
		}
	}
	if want := (*read.Prios)[1].ClatNs.N; flagged < want {
		t.Errorf("%d log lines flagged real time, want at least the %d real-time reads", flagged, want)
	}
}

// TestPrioOneValue: a job whose I/Os all go out with one priority (prio
// alone, or cmdprio's equal to the job's, or a share of 100%) has no
// per-priority report, as in fio; with lat_percentiles the per-priority
// figures are total latencies (lat_ns).
func TestPrioOneValue(t *testing.T) {
	for _, c := range []struct {
		opts []string
		log  string
	}{
		{[]string{"--prio=3"}, "0x4003"},
		{[]string{"--prioclass=0", "--prio=3"}, "0x4003"},
		{[]string{"--prioclass=1", "--cmdprio_percentage=10", "--cmdprio_class=1"}, "0x2000"},
		{[]string{"--cmdprio_percentage=100", "--cmdprio_class=3"}, "0x6000"},
	} {
		read, write, log := prioRun(t, append(c.opts, "--log_prio=1")...)
		if read.Prios != nil || write.Prios != nil {
			t.Errorf("%v: reported per priority", c.opts)
		}
		for _, f := range log {
			if f[4] != c.log {
				t.Errorf("%v: log priority %q, want %q", c.opts, f[4], c.log)
				break
			}
		}
	}
	read, _, _ := prioRun(t, "--cmdprio_percentage=40", "--lat_percentiles=1")
	if read.Prios == nil || len(*read.Prios) != 2 || (*read.Prios)[0].LatNs == nil || (*read.Prios)[0].ClatNs != nil {
		t.Fatalf("lat_percentiles: prios %+v, want lat_ns entries", read.Prios)
	}
}

// TestPrioNormalOutput: fio's per-priority lines in the normal report.
func TestPrioNormalOutput(t *testing.T) {
	dir := t.TempDir()
	target := zeroTarget(t, dir)
	code, out, errOut := run(t, "--name=p", "--filename="+target, "--rw=randread", "--bs=4k", "--iodepth=4",
		"--number_ios=2000", "--size=8m", "--prioclass=3", "--cmdprio_percentage=20")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"    clat prio 3/0 (", "    clat prio 1/0 (", "    clat prio 3/0 (", "% of IOs) percentiles ("} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
	if n := strings.Count(out, "% of IOs) percentiles"); n != 2 {
		t.Errorf("%d per-priority percentile blocks, want 2", n)
	}
}

// TestPrioRealTimeNeedsCapability: a job asking for the real-time class
// is refused before any I/O where the process lacks CAP_SYS_ADMIN and
// CAP_SYS_NICE (setpriv drops them from a built iobench); the idle class
// runs.
func TestPrioRealTimeNeedsCapability(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to drop capabilities with setpriv")
	}
	bin := iobenchBinary(t)
	dir := t.TempDir()
	target := filepath.Join(dir, "t.img")
	if err := os.WriteFile(target, make([]byte, 4<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		opt  string
		code int
	}{{"--prioclass=1", 2}, {"--cmdprio_percentage=10", 2}, {"--prioclass=3", 0}} {
		cmd := exec.Command("setpriv", "--bounding-set=-sys_admin,-sys_nice", "--", bin, "--name=p", "--filename="+target,
			"--rw=randread", "--bs=4k", "--size=1m", "--output-format=terse", c.opt)
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("setpriv: %v", err)
		}
		if code != c.code || c.code == 2 && !strings.Contains(string(out), "needs CAP_SYS_ADMIN or CAP_SYS_NICE") {
			t.Errorf("%s without the capabilities: exit %d, want %d: %s", c.opt, code, c.code, out)
		}
	}
}

// TestPrioBySize: cmdprio_bssplit gives the I/Os of each size their
// priority: here every 4 KiB read one of its own, the 8 KiB reads the
// job's; the per-priority counts match the log's.
func TestPrioBySize(t *testing.T) {
	read, _, log := prioRun(t, "--rw=randread", "--bssplit=4k/50:8k/50", "--cmdprio_bssplit=4k/100/3/1:8k/0", "--log_prio=1")
	if read.Prios == nil || len(*read.Prios) != 2 {
		t.Fatalf("read prios: %+v, want two", read.Prios)
	}
	ps := *read.Prios
	if ps[0].PrioClass != 0 || ps[1].PrioClass != 3 || ps[1].Prio != 1 {
		t.Errorf("priorities %d/%d and %d/%d, want 0/0 and 3/1", ps[0].PrioClass, ps[0].Prio, ps[1].PrioClass, ps[1].Prio)
	}
	bySize := map[string]map[string]int64{}
	for _, f := range log {
		if bySize[f[3]] == nil {
			bySize[f[3]] = map[string]int64{}
		}
		bySize[f[3]][f[4]]++
	}
	if len(bySize["4096"]) != 1 || bySize["4096"]["0x6001"] != ps[1].ClatNs.N ||
		len(bySize["8192"]) != 1 || bySize["8192"]["0x0000"] != ps[0].ClatNs.N {
		t.Errorf("log priorities by size %v, want 4096 all 0x6001 (%d), 8192 all 0x0000 (%d)", bySize, ps[1].ClatNs.N, ps[0].ClatNs.N)
	}
}

// TestForceAsync: with force_async=N every Nth read goes to the kernel's
// async workers: on a loop device, whose reads are otherwise issued inline,
// the io-wq workers run about once per such read.
func TestForceAsync(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for the loop device")
	}
	l := looptest.New(t, 16<<20, looptest.Options{})
	const reads = 2000
	for _, c := range []struct {
		n        string
		min, max int
	}{{"0", 0, reads / 10}, {"1", reads / 2, 3 * reads}, {"4", reads / 8, reads}} {
		before := looptest.IOWorkerRuns(0)
		code, _, errOut := run(t, "--name=a", "--filename="+l.Path, "--rw=randread", "--bs=4k", "--size=16m",
			"--number_ios="+strconv.Itoa(reads), "--force_async="+c.n, "--output-format=terse")
		if code != 0 {
			t.Fatalf("force_async=%s: exit %d: %s", c.n, code, errOut)
		}
		if runs := looptest.RunsSince(before, looptest.IOWorkerRuns(0)); runs < c.min || runs > c.max {
			t.Errorf("force_async=%s: the io-wq workers ran %d times for %d reads, want %d to %d", c.n, runs, reads, c.min, c.max)
		}
	}
}

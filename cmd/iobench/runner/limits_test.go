package runner

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// limitRun runs a 4 KiB random job with opts on a file target and returns
// its exit status, stderr and JSON error number and I/Os.
func limitRun(t *testing.T, opts ...string) (code int, errOut string, errno int, ios uint64) {
	t.Helper()
	target := filepath.Join(t.TempDir(), "t.img")
	if err := os.WriteFile(target, make([]byte, 8<<20), 0o644); err != nil {
		t.Fatal(err)
	}
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
	code, errOut, errno, _ := limitRun(t, "--rw=randread", "--runtime=10", "--time_based", "--rate_iops=500", "--rate_iops_min=1000")
	if code != 1 || errno == 0 || !strings.Contains(errOut, "rate_iops_min: read IOPS") || !strings.Contains(errOut, "below 1000") {
		t.Errorf("rate_iops=500 with rate_iops_min=1000: exit %d, error %d, %s", code, errno, errOut)
	}
	if code, errOut, errno, _ = limitRun(t, "--rw=randwrite", "--runtime=2", "--time_based", "--rate_iops_min=1"); code != 0 || errno != 0 {
		t.Errorf("rate_iops_min=1: exit %d, error %d: %s", code, errno, errOut)
	}
}

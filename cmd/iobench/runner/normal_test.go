package runner

import (
	"os"
	"path/filepath"
	"testing"
)

// nullJob is a short job for the null engine (no device needed), rate
// limited to spare the CPU, with a line of every kind: two clones
// reported one by one, reads and writes, fsync, lat percentiles; then a
// second group. Its file exists, so neither tool creates one.
func nullJob(t *testing.T) []string {
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, 64<<20); err != nil {
		t.Fatal(err)
	}
	common := []string{"--ioengine=null", "--filename=" + path, "--size=64m", "--bs=4k", "--runtime=1s", "--time_based",
		"--rate_iops=1000", "--bwavgtime=250", "--iopsavgtime=250"}
	return append(common, "--name=a", "--rw=randrw", "--iodepth=4", "--numjobs=2", "--fsync=8", "--lat_percentiles=1",
		"--name=b", "--stonewall", "--rw=read", "--iodepth=2", "--numjobs=1")
}

// TestIntervalSubmitComplete: each --status-interval period reports its
// own submit and complete distributions, not zeros.
func TestIntervalSubmitComplete(t *testing.T) {
	args := nullJob(t)[:9]
	args = append(args, "--name=s", "--rw=randread", "--iodepth=4", "--runtime=600ms", "--status-interval=250ms", "--output-format=json")
	code, out, errs := run(t, args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	docs := decodeAll(t, out)
	if len(docs) < 2 {
		t.Fatalf("%d documents", len(docs))
	}
	for i, d := range docs {
		jobs := d["jobs"].([]any)
		if len(jobs) != 1 {
			t.Fatalf("document %d: %d jobs", i, len(jobs))
		}
		j := jobs[0].(map[string]any)
		if num(t, j, "read", "total_ios") == 0 {
			continue // a period with nothing completed has no distributions
		}
		for _, k := range []string{"iodepth_level", "iodepth_submit", "iodepth_complete"} {
			sum := 0.0
			for _, v := range j[k].(map[string]any) {
				sum += v.(float64)
			}
			if sum < 99 {
				t.Errorf("document %d: %s adds up to %.1f%%", i, k, sum)
			}
		}
	}
}

package runner

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSyncEngineNoSlat: fio records no submission latency for a
// synchronous engine, the null engine at iodepth=1 included (fio runs it
// synchronously), and leaves the null engine's submit and complete
// distributions empty there; a psync job's are counted, as fio counts
// them. The same null job at depth 4 has its slat, as fio's has.
func TestSyncEngineNoSlat(t *testing.T) {
	dir := t.TempDir()
	slatN := func(j map[string]any) float64 {
		return j["read"].(map[string]any)["slat_ns"].(map[string]any)["N"].(float64)
	}
	dist := func(j map[string]any, k string) float64 {
		sum := 0.0
		for _, v := range j[k].(map[string]any) {
			sum += v.(float64)
		}
		return sum
	}
	prefix := filepath.Join(dir, "n1")
	j := batchRun(t, "--ioengine=null", "--iodepth=1", "--size=4m", "--write_lat_log="+prefix)
	if n := slatN(j); n != 0 {
		t.Errorf("null at iodepth=1: %v slat samples, want none (fio runs it synchronously)", n)
	}
	for _, k := range []string{"iodepth_submit", "iodepth_complete"} {
		if s := dist(j, k); s != 0 {
			t.Errorf("null at iodepth=1: %s sums to %.1f%%, want 0 as fio's: %v", k, s, j[k])
		}
	}
	slat, err := os.ReadFile(prefix + "_slat.1.log")
	if err != nil {
		t.Fatal(err)
	}
	clat, err := os.ReadFile(prefix + "_clat.1.log")
	if err != nil {
		t.Fatal(err)
	}
	if len(slat) != 0 || strings.Count(string(clat), "\n") != 1024 {
		t.Errorf("null at iodepth=1: slat log %d bytes (want empty), clat log %d entries (want 1024)", len(slat), strings.Count(string(clat), "\n"))
	}

	j = batchRun(t, "--ioengine=null", "--iodepth=4", "--size=4m")
	if n := slatN(j); n != 1024 {
		t.Errorf("null at iodepth=4: %v slat samples, want 1024", n)
	}

	file := filepath.Join(dir, "f")
	if err := os.WriteFile(file, make([]byte, 4<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	j = batchRun(t, "--ioengine=psync", "--filename="+file, "--size=4m")
	if n := slatN(j); n != 0 {
		t.Errorf("psync: %v slat samples, want none (fio's synchronous engines have none)", n)
	}
	if s := dist(j, "iodepth_submit"); s < 99.9 {
		t.Errorf("psync: iodepth_submit sums to %.1f%%, want 100 as fio's: %v", s, j["iodepth_submit"])
	}
}

// TestRatioCellNA: a ratio no round could give (fio measured no CPU time,
// say) is printed n/a, never as 0.00, which would read as free.
func TestRatioCellNA(t *testing.T) {
	if got := ratioCell(ratios(nil)); got != "n/a" {
		t.Errorf("no rounds: %q, want n/a", got)
	}
	if got := ratioCell(ratios([]float64{0.5, 2, 1})); got != "0.50 / 1.00 / 2.00" {
		t.Errorf("three rounds: %q", got)
	}
	if got := ratioCell(invert(ratios(nil))); got != "n/a" {
		t.Errorf("inverted, no rounds: %q, want n/a", got)
	}
}

package runner

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadGapJob: read_gap reaches the engine (auto, the default, as
// well), its merged reads are reported, and data written through a fragmented file's mapper verifies
// when read back through them (the verify pass reads 64 KiB at a time,
// each read split over the file's scattered 8 KiB extents).
func TestReadGapJob(t *testing.T) {
	img := filepath.Join(t.TempDir(), "dev.img")
	if err := os.WriteFile(img, make([]byte, 64<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, gap := range []string{"0", "1m", "auto"} {
		code, out, errs := run(t, "--name=g", "--filename="+img, "--rw=write", "--bs=64k", "--size=32m",
			"--mapper=scattered", "--extents=4096", "--verify=crc32c", "--read_gap="+gap, "--output-format=json")
		if code != 0 {
			t.Fatalf("read_gap=%s: exit %d: %s", gap, code, errs)
		}
		var doc struct {
			Jobs []struct {
				Error   int `json:"error"`
				IOBench struct {
					GapReads      uint64 `json:"gap_reads"`
					GapBytes      uint64 `json:"gap_bytes"`
					VerifiedBytes uint64 `json:"verified_bytes"`
				} `json:"iobench"`
			} `json:"jobs"`
		}
		if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Jobs) != 1 {
			t.Fatalf("JSON: %v", err)
		}
		j := doc.Jobs[0]
		if j.Error != 0 || j.IOBench.VerifiedBytes != 32<<20 {
			t.Fatalf("read_gap=%s: error %d, %d bytes verified", gap, j.Error, j.IOBench.VerifiedBytes)
		}
		// auto merges while it measures that faster: either way here.
		merged := j.IOBench.GapReads > 0 && j.IOBench.GapBytes > 0
		if gap != "auto" && merged != (gap != "0") {
			t.Fatalf("read_gap=%s: %d merged reads over %d gap bytes", gap, j.IOBench.GapReads, j.IOBench.GapBytes)
		}
	}
	for _, bad := range []string{"-4k", "2m", "x", "autox"} {
		code, _, errs := run(t, "--name=g", "--filename="+img, "--rw=read", "--size=1m", "--read_gap="+bad)
		if code != 2 {
			t.Fatalf("read_gap=%s: exit %d (%s), want 2", bad, code, errs)
		}
		if want := map[bool]string{true: "above 1m", false: "nor auto"}[bad == "2m"]; !strings.Contains(errs, want) {
			t.Errorf("read_gap=%s: %q, want it to say %q", bad, errs, want)
		}
	}
}

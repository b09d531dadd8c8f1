package runner

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// TestSerializeOverlap: with serialize_overlap no I/O is issued while one
// it overlaps is in flight: random writes over one block go out one at a
// time whatever the depth (every submission at depth 1), over two blocks
// at depth 1 or 2, as in fio, where without it the queue fills; every
// drawn I/O is still done, a verify of such writes passes, and a timed
// run ends on time.
func TestSerializeOverlap(t *testing.T) {
	target := filepath.Join(t.TempDir(), "t.img")
	if err := os.WriteFile(target, make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	// levels runs a job and returns its writes and the share of its
	// submissions at each depth (fio's iodepth_level).
	levels := func(args ...string) (uint64, map[string]float64) {
		t.Helper()
		code, out, errOut := run(t, append([]string{"--name=s", "--filename=" + target, "--rw=randwrite", "--bs=4k", "--norandommap",
			"--iodepth=8", "--output-format=json"}, args...)...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errOut)
		}
		var doc struct {
			Jobs []struct {
				Write struct {
					TotalIOs uint64 `json:"total_ios"`
				}
				Levels map[string]float64 `json:"iodepth_level"`
			}
		}
		if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Jobs) != 1 {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
		return doc.Jobs[0].Write.TotalIOs, doc.Jobs[0].Levels
	}
	if n, l := levels("--size=4k", "--io_size=1m", "--serialize_overlap=1"); n != 256 || l["1"] != 100 {
		t.Errorf("one block, serialize_overlap=1: %d writes (want 256), depths %v (want all at 1)", n, l)
	}
	if n, l := levels("--size=8k", "--io_size=4m", "--serialize_overlap=1"); n != 1024 || l["1"]+l["2"] < 99.9 {
		t.Errorf("two blocks, serialize_overlap=1: %d writes (want 1024), depths %v (want 1 or 2)", n, l)
	}
	if _, l := levels("--size=8k", "--io_size=4m"); l["4"]+l["8"] == 0 {
		t.Errorf("two blocks without serialize_overlap: depths %v, want some above 2", l)
	}
	if n, _ := levels("--size=32k", "--io_size=2m", "--serialize_overlap=1", "--verify=crc32c", "--iodepth=16"); n != 512 {
		t.Errorf("verify with serialize_overlap: %d writes, want 512", n)
	}
	if n, _ := levels("--size=4k", "--runtime=300ms", "--time_based", "--serialize_overlap=1"); n == 0 {
		t.Error("a timed run with serialize_overlap wrote nothing")
	}
}

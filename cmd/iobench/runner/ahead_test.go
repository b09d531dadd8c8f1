package runner

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/iobench/iobench/workloads"
)

// TestDrawnAheadInOrder: the job draws its I/Os aheadIOs early for the
// prefetcher; what it issues is still the generator's sequence, in order,
// every I/O once. At depth 1 the latency log (with offsets) lists the
// I/Os in issue order.
func TestDrawnAheadInOrder(t *testing.T) {
	dir := t.TempDir()
	opts := [][2]string{{"rw", "randrw"}, {"bs", "4k"}, {"size", "1m"}, {"iodepth", "1"}, {"mapper", "scattered"}}
	args := []string{"--name=a", "--write_lat_log=a", "--log_offset=1"}
	j := workloads.NewJob("a")
	for _, kv := range opts {
		args = append(args, "--"+kv[0]+"="+kv[1])
		if err := j.Set(kv[0], kv[1]); err != nil {
			t.Fatal(err)
		}
	}
	runInDir(t, dir, args...)
	b, err := os.ReadFile(filepath.Join(dir, "a_lat.1.log"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 256 {
		t.Fatalf("%d I/Os logged, want 256", len(lines))
	}
	gen := workloads.NewGenerator(&j, 0, 128<<20)
	for i, l := range lines {
		f := strings.Split(l, ", ")
		dir, _ := strconv.Atoi(f[2])
		off, _ := strconv.ParseUint(f[4], 10, 64)
		want := gen.Next()
		if off != want.Offset || (dir == 1) != want.Write {
			t.Fatalf("I/O %d: offset %d write %v, the generator's %d write %v", i, off, dir == 1, want.Offset, want.Write)
		}
	}
}

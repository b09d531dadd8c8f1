package runner

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// cloneCounts returns each clone's bytes and I/Os of a JSON report (fio's
// or iobench's), reads and writes together ("bytes/ios"), in the
// report's order.
func cloneCounts(t *testing.T, out []byte) []string {
	t.Helper()
	var doc struct {
		Jobs []struct {
			Read  fioDirCount `json:"read"`
			Write fioDirCount `json:"write"`
		} `json:"jobs"`
	}
	i := strings.Index(string(out), "{")
	if i < 0 {
		t.Fatalf("no JSON in %q", out)
	}
	if err := json.Unmarshal(out[i:], &doc); err != nil {
		t.Fatalf("JSON: %v\n%s", err, out)
	}
	var got []string
	for _, j := range doc.Jobs {
		got = append(got, fmt.Sprintf("%.0f/%.0f", j.Read.IOBytes+j.Write.IOBytes, j.Read.TotalIOs+j.Write.TotalIOs))
	}
	return got
}

// TestOffsetIncrementOwnFiles: clones with files of their own (no
// filename=) are each checked against their own start: with size, clone
// n's file is laid out to its start plus the size (fio: j.0.0 of 1 MiB,
// j.1.0 of 2 MiB, each clone writing 1 MiB), and without size each clone
// covers its existing files from its start to their ends (fio 3.33 on
// three clones' two 4 MiB files each, bs=256k offset_increment=1m: 8, 6
// and 4 MiB; 32, 24 and 16 reads).
func TestOffsetIncrementOwnFiles(t *testing.T) {
	dir := t.TempDir()
	code, out, errs := run(t, "--name=j", "--directory="+dir, "--nrfiles=1", "--rw=write", "--bs=64k", "--numjobs=2",
		"--offset_increment=1m", "--size=1m", "--output-format=json")
	if code != 0 {
		t.Fatalf("with size: exit %d: %s", code, errs)
	}
	if got, want := cloneCounts(t, []byte(out)), []string{"1048576/16", "1048576/16"}; !slices.Equal(got, want) {
		t.Errorf("with size: clones moved %v, want %v", got, want)
	}
	if got := sizes(t, dir); got["j.0.0"] != 1<<20 || got["j.1.0"] != 2<<20 {
		t.Errorf("with size: files %v, want j.0.0 of 1 MiB and j.1.0 of 2 MiB", got)
	}

	dir = t.TempDir()
	for c := range 3 {
		for f := range 2 {
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("j.%d.%d", c, f)), make([]byte, 4<<20), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	code, out, errs = run(t, "--name=j", "--directory="+dir, "--nrfiles=2", "--rw=read", "--bs=256k", "--numjobs=3",
		"--offset_increment=1m", "--output-format=json")
	if code != 0 {
		t.Fatalf("without size: exit %d: %s", code, errs)
	}
	if got, want := cloneCounts(t, []byte(out)), []string{"8388608/32", "6291456/24", "4194304/16"}; !slices.Equal(got, want) {
		t.Errorf("without size: clones moved %v, want fio's %v", got, want)
	}
}

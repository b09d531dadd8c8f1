package runner

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// ioLogReads returns the offsets of the reads of a write_iolog log.
func ioLogReads(t *testing.T, path string) []uint64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var offs []uint64
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) == 5 && f[2] == "read" {
			off, err := strconv.ParseUint(f[3], 10, 64)
			if err != nil || f[4] != "4096" {
				t.Fatalf("log line %q", l)
			}
			offs = append(offs, off)
		}
	}
	return offs
}

// TestSequenceDistributionIOLog: fio's examples/sequence-distribution.fio
// (ioengine=null, 4k reads over 48k, io_size=24k, sequence:2,0,1 without
// and with random_sequence_stride) runs, and its write_iolog logs hold
// the offsets fio's HOWTO and io_u.c give: read n goes to block
// list[n mod 3] (plus (n div 3)*3 with the stride), 4k per block. With
// the stride and an io_size past the region, the reads stop at the
// region's end, as fio's do, time_based or not; an index past the region
// and a sequence over two files are refused before any I/O.
func TestSequenceDistributionIOLog(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "t.img")
	if err := os.WriteFile(target, make([]byte, 48<<10), 0o644); err != nil {
		t.Fatal(err)
	}
	logs := [2]string{filepath.Join(dir, "rep.log"), filepath.Join(dir, "str.log")}
	job := filepath.Join(dir, "sequence-distribution.fio")
	src := "[global]\nioengine=null\nfilename=" + target + "\nrw=randread\nbs=4k\nsize=48k\nio_size=24k\n\n" +
		"[repeating_sequence]\nrandom_distribution=sequence:2,0,1\nrandom_sequence_stride=0\nwrite_iolog=" + logs[0] + "\n\n" +
		"[strided_sequence]\nstonewall\nrandom_distribution=sequence:2,0,1\nrandom_sequence_stride=1\nwrite_iolog=" + logs[1] + "\n"
	if err := os.WriteFile(job, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := run(t, job); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	const k = 4096
	for i, want := range [][]uint64{{2 * k, 0, 1 * k, 2 * k, 0, 1 * k}, {2 * k, 0, 1 * k, 5 * k, 3 * k, 4 * k}} {
		if got := ioLogReads(t, logs[i]); !slices.Equal(got, want) {
			t.Errorf("%s: reads at %v, want %v", filepath.Base(logs[i]), got, want)
		}
	}

	// The stride runs out after 12 reads (blocks 0 to 11, the last at
	// block 10): io_size=96k and time_based both stop there.
	want := []uint64{2 * k, 0, 1 * k, 5 * k, 3 * k, 4 * k, 8 * k, 6 * k, 7 * k, 11 * k, 9 * k, 10 * k}
	for _, extra := range [][]string{{"--io_size=96k"}, {"--time_based", "--runtime=2s"}} {
		log := filepath.Join(dir, "end.log")
		os.Remove(log) // write_iolog appends
		args := append([]string{"--name=s", "--ioengine=null", "--filename=" + target, "--rw=randread", "--bs=4k", "--size=48k",
			"--random_distribution=sequence:2,0,1", "--random_sequence_stride=1", "--write_iolog=" + log}, extra...)
		if code, _, errOut := run(t, args...); code != 0 {
			t.Fatalf("%v: exit %d: %s", extra, code, errOut)
		}
		if got := ioLogReads(t, log); !slices.Equal(got, want) {
			t.Errorf("%v: reads at %v, want %v", extra, got, want)
		}
	}

	base := []string{"--name=s", "--ioengine=null", "--rw=randread", "--bs=4k", "--size=48k"}
	code, _, errOut := run(t, append(base, "--filename="+target, "--random_distribution=sequence:2,12,1")...)
	if code == 0 || !strings.Contains(errOut, "block 12 lies past the region's end") {
		t.Errorf("index 12 of 12 blocks: exit %d: %s", code, errOut)
	}
	second := filepath.Join(dir, "u.img")
	if err := os.WriteFile(second, make([]byte, 48<<10), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = run(t, append(base, "--filename="+target+":"+second, "--random_distribution=sequence:1,0")...)
	if code == 0 || !strings.Contains(errOut, "over 2 files") {
		t.Errorf("a sequence over two files: exit %d: %s", code, errOut)
	}
}

package runner

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/iobench/iobench/device/looptest"
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

// sorted returns a sorted copy of s.
func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// TestOffsetIncrementWithoutSize: a job with no size whose clones are
// spread by offset_increment gives each clone the target from its own
// start (offset + n*offset_increment) to the end, as fio 3.33 does, on a
// regular file and on a block device, with io_size, number_ios, loops,
// random maps and verify sized by that region. The numbers are fio
// 3.33's, from
//
//	fio --name=j --filename=F --ioengine=io_uring --output-format=json ARGS
//
// on a 64 MiB F (fio -> 64m, 48m, 32m and 16m for the first case); where
// fio is installed it runs each case on the file and its per-clone bytes
// and I/Os are compared too.
func TestOffsetIncrementWithoutSize(t *testing.T) {
	const mib = 1 << 20
	file := targetFile(t, 64*mib)
	fio, fioErr := exec.LookPath("fio")
	cases := []struct {
		args []string
		want [][2]uint64 // bytes and I/Os of clone 0, 1, ...
	}{
		{[]string{"--rw=read", "--bs=1m", "--numjobs=4", "--offset_increment=16m"},
			[][2]uint64{{64 * mib, 64}, {48 * mib, 48}, {32 * mib, 32}, {16 * mib, 16}}},
		{[]string{"--rw=read", "--bs=1m", "--numjobs=4", "--offset_increment=25%"},
			[][2]uint64{{64 * mib, 64}, {48 * mib, 48}, {32 * mib, 32}, {16 * mib, 16}}},
		{[]string{"--rw=read", "--bs=1m", "--numjobs=3", "--offset=4m", "--offset_increment=16m"},
			[][2]uint64{{60 * mib, 60}, {44 * mib, 44}, {28 * mib, 28}}},
		// Regions not in whole blocks: the blocks that fit.
		{[]string{"--rw=read", "--bs=2m", "--numjobs=4", "--offset_increment=15m"},
			[][2]uint64{{64 * mib, 32}, {48 * mib, 24}, {34 * mib, 17}, {18 * mib, 9}}},
		{[]string{"--rw=randread", "--bs=64k", "--numjobs=4", "--offset_increment=16m"},
			[][2]uint64{{64 * mib, 1024}, {48 * mib, 768}, {32 * mib, 512}, {16 * mib, 256}}},
		{[]string{"--rw=read", "--bs=1m", "--numjobs=4", "--offset_increment=16m", "--io_size=20m"},
			[][2]uint64{{20 * mib, 20}, {20 * mib, 20}, {20 * mib, 20}, {20 * mib, 20}}},
		{[]string{"--rw=read", "--bs=1m", "--numjobs=4", "--offset_increment=16m", "--number_ios=20"},
			[][2]uint64{{20 * mib, 20}, {20 * mib, 20}, {20 * mib, 20}, {16 * mib, 16}}},
		{[]string{"--rw=read", "--bs=1m", "--numjobs=4", "--offset_increment=16m", "--loops=2"},
			[][2]uint64{{128 * mib, 128}, {96 * mib, 96}, {64 * mib, 64}, {32 * mib, 32}}},
		// filesize: the file's end, which each clone's region runs to
		// (size bounds only the bytes moved).
		{[]string{"--rw=read", "--bs=1m", "--numjobs=2", "--offset_increment=16m", "--filesize=32m"},
			[][2]uint64{{32 * mib, 32}, {16 * mib, 16}}},
		{[]string{"--rw=randread", "--bs=1m", "--numjobs=2", "--offset=8m", "--offset_increment=16m", "--filesize=32m", "--size=20m"},
			[][2]uint64{{20 * mib, 20}, {8 * mib, 8}}},
		// fio's cross-stripe-verify.fio, scaled down: each clone skips
		// over the rest of the file from its start, wrapping there.
		{[]string{"--rw=write:112k", "--bs=16k", "--offset=120k", "--numjobs=4", "--offset_increment=1m", "--io_size=16m", "--loops=2"},
			[][2]uint64{{25116672, 1533}, {24723456, 1509}, {24330240, 1485}, {23937024, 1461}}},
	}
	// check runs every case on target and compares each clone's bytes
	// and I/Os with fio's; iobench lists its clones in order (clone n's
	// region the n-th largest), fio in another (its second thread is the
	// last clone), so fio's are compared sorted.
	check := func(t *testing.T, target string) {
		for _, c := range cases {
			name := strings.Join(c.args, " ")
			var want []string
			for _, w := range c.want {
				want = append(want, fmt.Sprintf("%d/%d", w[0], w[1]))
			}
			code, out, errs := run(t, append([]string{"--name=j", "--filename=" + target, "--output-format=json"}, c.args...)...)
			if code != 0 {
				t.Fatalf("%s on %s: exit %d: %s", name, target, code, errs)
			}
			if got := cloneCounts(t, []byte(out)); !slices.Equal(got, want) {
				t.Errorf("%s on %s: clones moved (bytes/I/Os) %v, want fio's %v", name, target, got, want)
			}
			if fioErr != nil {
				continue
			}
			out2, err := exec.Command(fio, append([]string{"--name=j", "--filename=" + target, "--ioengine=io_uring", "--output-format=json"}, c.args...)...).Output()
			if err != nil {
				t.Fatalf("%s on %s: fio: %v\n%s", name, target, err, out2)
			}
			if got := cloneCounts(t, out2); !slices.Equal(sorted(got), sorted(want)) {
				t.Errorf("%s on %s: fio's clones moved %v, the test wants %v", name, target, got, want)
			}
		}
	}
	check(t, file)

	// verify: each clone writes and reads back its own region. (fio's
	// clones here overwrite each other's blocks, and its verify fails
	// where one finds another's header, at offsets that vary from run
	// to run: iobench's blocks are checked by offset and pass.)
	code, out, errs := run(t, "--name=j", "--filename="+file, "--rw=write", "--bs=1m", "--numjobs=4", "--offset_increment=16m",
		"--verify=crc32c", "--output-format=json")
	if code != 0 {
		t.Fatalf("verify: exit %d: %s", code, errs)
	}
	if got, want := cloneCounts(t, []byte(out)), []string{"134217728/128", "100663296/96", "67108864/64", "33554432/32"}; !slices.Equal(got, want) {
		t.Errorf("verify: clones moved %v (writes and verify reads), want %v", got, want)
	}

	t.Run("blockdevice", func(t *testing.T) {
		check(t, looptest.New(t, 64*mib, looptest.Options{}).Path)
	})
}

// TestOffsetIncrementWithoutSizeOffsets: a random job with no size and
// clones spread by offset_increment reads, in each clone, every block
// from the clone's start to the end of the file once (its random map),
// as fio 3.33's clones do: compared with fio's per-clone latency logs
// with offsets (fio's write_iolog takes one clone per log).
func TestOffsetIncrementWithoutSizeOffsets(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "t.img")
	if err := os.WriteFile(file, make([]byte, 4<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"--name=x", "--filename=" + file, "--rw=randread", "--bs=64k", "--numjobs=4", "--offset_increment=1m", "--log_offset=1"}
	// offsets returns the offsets each clone's log lists, each clone's
	// sorted, keyed by the clone's lowest.
	offsets := func(prefix string) map[uint64][]uint64 {
		out := map[uint64][]uint64{}
		for n := 1; n <= 4; n++ {
			b, err := os.ReadFile(fmt.Sprintf("%s_clat.%d.log", prefix, n))
			if err != nil {
				t.Fatal(err)
			}
			var offs []uint64
			for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
				f := strings.Split(l, ", ")
				off, err := strconv.ParseUint(f[4], 10, 64)
				if err != nil {
					t.Fatalf("%s: %q: %v", prefix, l, err)
				}
				offs = append(offs, off)
			}
			slices.Sort(offs)
			out[offs[0]] = offs
		}
		return out
	}
	if code, _, errs := run(t, append(args, "--direct=0", "--write_lat_log="+filepath.Join(dir, "i"), "--output-format=terse")...); code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	got := offsets(filepath.Join(dir, "i"))
	for c := uint64(0); c < 4; c++ {
		var want []uint64
		for off := c << 20; off < 4<<20; off += 64 << 10 {
			want = append(want, off)
		}
		if !slices.Equal(got[c<<20], want) {
			t.Errorf("clone %d read %v, want every block from %d to the end once", c, got[c<<20], c<<20)
		}
	}
	fio, err := exec.LookPath("fio")
	if err != nil {
		t.Skip("fio not installed (make deps installs it)")
	}
	// fio's null engine wants a size: io_uring, on the same file.
	if out, err := exec.Command(fio, append(args, "--ioengine=io_uring", "--write_lat_log="+filepath.Join(dir, "f"), "--output-format=terse")...).CombinedOutput(); err != nil {
		t.Fatalf("fio: %v\n%s", err, out)
	}
	for start, offs := range offsets(filepath.Join(dir, "f")) {
		if !slices.Equal(got[start], offs) {
			t.Errorf("fio's clone from %d read %d blocks, iobench's %d, or others", start, len(offs), len(got[start]))
		}
	}
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

// TestVerifySliceClonesDrawTheirOwn: a verifying job whose clones share a
// file gives each clone its own 1/numjobs of the region (sliceForVerify),
// and each clone draws its own offsets and directions there, as the same
// regions set apart by offset_increment do (fio 3.33's clones, each
// seeded by its thread number, move what those do clone for clone). All
// eight clones drew clone 0's sequence before: 64 reads and 35 writes
// each.
func TestVerifySliceClonesDrawTheirOwn(t *testing.T) {
	file := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(file, make([]byte, 32<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	counts := func(args ...string) []string {
		t.Helper()
		code, out, errs := run(t, append([]string{"--name=j", "--filename=" + file, "--rw=randrw", "--bs=64k", "--verify=md5",
			"--numjobs=8", "--output-format=json"}, args...)...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errs)
		}
		return cloneCounts(t, []byte(out))
	}
	sliced := counts("--size=32m")
	apart := counts("--size=4m", "--offset_increment=4m")
	if !slices.Equal(sliced, apart) {
		t.Errorf("clones of one 32 MiB region moved %v, the same slices set apart by offset_increment %v", sliced, apart)
	}
	if len(slices.Compact(sorted(sliced))) == 1 {
		t.Errorf("all %d clones moved %s: they drew one sequence", len(sliced), sliced[0])
	}
}

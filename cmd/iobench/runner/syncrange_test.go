package runner

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/iobench/iobench/device/looptest"
)

// TestSyncFileRangeReachesDevice: with sync_file_range=...:5 over two
// passes of 16 buffered 4 KiB writes to a block device, what the 30
// writes before the last call wrote has reached the device when the job
// ends, and only the blocks of the last two, written after it, are still
// only in the device's page cache: of the device's blocks, read through
// its page cache, exactly two differ from the loop device's backing file
// (the device as the loop driver got it). With mapper=cow the second pass
// goes out of place, to device blocks that are not the file's offsets,
// and the same holds: the calls were translated to the device ranges
// under the file's. The test keeps the
// device open, so that iobench's close is not the last one (whose
// write-back would write everything). Something else on the machine that
// syncs everything (sync(2)) writes the 16th back too: then the run is
// tried again.
func TestSyncFileRangeReachesDevice(t *testing.T) {
	for _, mapper := range []string{"linear", "cow"} {
		for attempt := 1; ; attempt++ {
			if syncFileRangeRun(t, mapper) {
				break
			}
			if attempt == 4 {
				t.Skipf("mapper=%s: the block written after the last sync_file_range reached the device each time: something else synced it", mapper)
			}
			t.Logf("mapper=%s, attempt %d: the block after the last sync_file_range was written back by something else; again", mapper, attempt)
		}
	}
}

// syncFileRangeRun runs the job of TestSyncFileRangeReachesDevice with
// the mapper on a fresh loop device, checks that the synced writes
// reached the device, and reports whether the last one was still only in
// the page cache.
func syncFileRangeRun(t *testing.T, mapper string) bool {
	const bs, devSize = 4096, 8 << 20
	l := looptest.New(t, devSize, looptest.Options{})
	hold, err := os.Open(l.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Close()
	code, out, errs := run(t, "--name=s", "--filename="+l.Path, "--mapper="+mapper, "--rw=write", "--bs=4k", "--size=64k", "--direct=0",
		"--loops=2", "--sync_file_range=wait_before,write,wait_after:5", "--output-format=json")
	if code != 0 {
		t.Fatalf("mapper=%s: exit %d: %s", mapper, code, errs)
	}
	c := syncCounts(t, []byte(out))
	if c != [3]uint64{32, 6, 0} {
		t.Fatalf("mapper=%s: %d writes, %d sync_file_range calls timed, total_ios %d; want 32, 6 (after writes 5, 10, ... 30) and 0, as fio counts them",
			mapper, c[0], c[1], c[2])
	}
	cached := make([]byte, devSize) // through the device's page cache: what the job wrote
	if _, err := hold.ReadAt(cached, 0); err != nil {
		t.Fatal(err)
	}
	backing, err := os.ReadFile(l.Backing)
	if err != nil {
		t.Fatal(err)
	}
	var differ []int
	for b := range devSize / bs {
		if !bytes.Equal(cached[b*bs:(b+1)*bs], backing[b*bs:(b+1)*bs]) {
			differ = append(differ, b)
		}
	}
	t.Logf("mapper=%s: device blocks %v have not reached the device", mapper, differ)
	switch {
	case len(differ) == 2 && mapper == "linear" && (differ[0] != 14 || differ[1] != 15):
		t.Errorf("mapper=linear: device blocks %v differ from what reached the device, want blocks 14 and 15", differ)
	case len(differ) == 2 && mapper == "cow" && differ[0] < 16:
		t.Errorf("mapper=cow: device blocks %v differ from what reached the device; the second pass should have gone out of place", differ)
	case len(differ) == 2:
	case len(differ) < 2:
		return false
	default:
		t.Fatalf("mapper=%s: %d device blocks (%v) hold writes that have not reached the device; want 2, the last two writes'", mapper, len(differ), differ)
	}
	return true
}

// TestSyncFileRangeRanges: each sync_file_range covers, for each file
// written since the last one, the span of that file's writes since then
// (fsync= and fdatasync= flushes start the spans afresh), one call per
// file in file order; the write_iolog lines give each call's file and
// range, and the JSON times each call (sync lat_ns N) without counting it
// in total_ios, as fio does.
func TestSyncFileRangeRanges(t *testing.T) {
	dir := t.TempDir()
	for _, opts := range []string{
		"--nrfiles=1 --rw=randwrite --sync_file_range=write:5",
		"--nrfiles=3 --rw=randwrite --sync_file_range=wait_before,write:4",
		"--nrfiles=2 --rw=write --fsync=3 --sync_file_range=write:2",
		"--nrfiles=2 --rw=randrw --fdatasync=5 --sync_file_range=write,wait_after:3",
	} {
		files := filepath.Join(dir, "f")
		os.RemoveAll(files)
		if err := os.Mkdir(files, 0o755); err != nil {
			t.Fatal(err)
		}
		logPath := filepath.Join(dir, "io.log")
		os.Remove(logPath) // write_iolog appends
		args := append([]string{"--name=r", "--directory=" + files, "--bs=4k", "--size=192k", "--write_iolog=" + logPath,
			"--output-format=json"}, strings.Fields(opts)...)
		code, out, errs := run(t, args...)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", opts, code, errs)
		}
		var doc struct {
			Jobs []struct {
				Sync struct {
					TotalIOs uint64 `json:"total_ios"`
					Lat      struct {
						N uint64 `json:"N"`
					} `json:"lat_ns"`
				} `json:"sync"`
			} `json:"jobs"`
		}
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(logPath)
		if err != nil {
			t.Fatal(err)
		}
		type span struct{ lo, hi uint64 }
		spans := map[string]span{} // by file: the writes since its last sync
		var order []string         // the files, in the order the log adds them
		var ranges, flushes uint64
		var point []string // the files synced at the point under way
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) == 3 && f[2] == "add" {
				order = append(order, f[1])
			}
			if len(f) != 5 {
				continue
			}
			off, _ := strconv.ParseUint(f[3], 10, 64)
			n, _ := strconv.ParseUint(f[4], 10, 64)
			if f[2] != "sync_file_range" && len(point) > 0 {
				// A point ends: every file written since the last one
				// had its call, in file order.
				var want []string
				for _, name := range order {
					if slices.Contains(point, name) {
						want = append(want, name)
					}
				}
				if strings.Join(point, " ") != strings.Join(want, " ") {
					t.Errorf("%s: a sync point synced %v, want file order %v", opts, point, want)
				}
				for name, s := range spans {
					if s.hi != 0 {
						t.Errorf("%s: %s was written over [%d, %d) and not synced at the point", opts, name, s.lo, s.hi)
					}
				}
				point = nil
			}
			switch f[2] {
			case "write":
				s := spans[f[1]]
				if s.hi == 0 {
					s = span{off, off + n}
				}
				spans[f[1]] = span{min(s.lo, off), max(s.hi, off+n)}
			case "sync", "datasync":
				flushes++
				clear(spans)
			case "sync_file_range":
				ranges++
				point = append(point, f[1])
				if s := spans[f[1]]; s.hi == 0 || off != s.lo || n != s.hi-s.lo {
					t.Errorf("%s: %q: the file's writes since its last sync span [%d, %d)", opts, line, s.lo, s.hi)
				}
				delete(spans, f[1])
			}
		}
		j := doc.Jobs[0]
		if ranges == 0 || j.Sync.Lat.N != ranges+flushes || j.Sync.TotalIOs != map[bool]uint64{true: flushes}[strings.Contains(opts, "--fsync")] {
			t.Errorf("%s: the log has %d sync_file_range and %d flushes; the JSON times %d syncs and counts %d", opts, ranges, flushes,
				j.Sync.Lat.N, j.Sync.TotalIOs)
		}
	}
}

// TestSyncFileRangeCountsLikeFio: on one file at depth 1, iobench times
// as many syncs as fio 3.33 (io_uring) and counts as many in total_ios,
// for sync_file_range alone and with fsync= and fdatasync= (the flush
// taking a count of writes both are due at, as in fio; with randwrite
// both write every block once).
func TestSyncFileRangeCountsLikeFio(t *testing.T) {
	fio, err := exec.LookPath("fio")
	if err != nil {
		t.Skip("fio not installed (make deps installs it)")
	}
	dir := t.TempDir()
	target := filepath.Join(dir, "t.img")
	for _, opts := range []string{
		"--rw=write --sync_file_range=wait_before,write:3",
		"--rw=randwrite --sync_file_range=write,wait_after:4",
		"--rw=write --fsync=3 --sync_file_range=write:2",
		"--rw=write --fsync=4 --sync_file_range=write:4",
		"--rw=write --fdatasync=3 --sync_file_range=write:2",
	} {
		args := append([]string{"--name=c", "--filename=" + target, "--bs=4k", "--size=256k", "--output-format=json"}, strings.Fields(opts)...)
		os.Remove(target)
		fout, err := exec.Command(fio, append(args, "--ioengine=io_uring", "--direct=1")...).Output()
		if err != nil {
			t.Fatalf("fio %s: %v", opts, err)
		}
		os.Remove(target)
		code, out, errs := run(t, args...)
		if code != 0 {
			t.Fatalf("iobench %s: exit %d: %s", opts, code, errs)
		}
		if f, i := syncCounts(t, fout), syncCounts(t, []byte(out)); f != i {
			t.Errorf("%s: fio %d writes, %d syncs timed, total_ios %d; iobench %d, %d, %d", opts, f[0], f[1], f[2], i[0], i[1], i[2])
		}
	}
}

// TestReadIOLogSkipsSyncFileRange: a log with sync_file_range lines (as
// write_iolog writes them) replays with its writes and flushes, the
// sync_file_range lines left out as fio 3.33 leaves them out.
func TestReadIOLogSkipsSyncFileRange(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "t.img")
	orig, again := filepath.Join(dir, "orig.log"), filepath.Join(dir, "again.log")
	if code, _, errs := run(t, "--name=w", "--filename="+target, "--rw=write", "--bs=4k", "--size=64k", "--fsync=5",
		"--sync_file_range=write:3", "--write_iolog="+orig, "--output-format=terse"); code != 0 {
		t.Fatalf("recording: exit %d: %s", code, errs)
	}
	if code, _, errs := run(t, "--name=r", "--read_iolog="+orig, "--write_iolog="+again, "--output-format=terse"); code != 0 {
		t.Fatalf("replay: exit %d: %s", code, errs)
	}
	actions := func(path string, skipRange bool) []string {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, l := range strings.Split(string(b), "\n") {
			f := strings.Fields(l)
			if len(f) != 5 || skipRange && f[2] == "sync_file_range" {
				continue
			}
			out = append(out, strings.Join(f[1:3], " "))
		}
		return out
	}
	rec, rep := actions(orig, false), actions(again, false)
	if n := len(rec) - len(actions(orig, true)); n != 4 {
		t.Fatalf("the recording has %d sync_file_range lines, want 4 (after writes 3, 6, 9 and 12; 15 is fsync's)", n)
	}
	if want := actions(orig, true); strings.Join(rep, "\n") != strings.Join(want, "\n") {
		t.Errorf("the replay issued %v, want the log's writes and flushes %v", rep, want)
	}
}

// syncCounts reads the first job of a JSON report (fio's or iobench's,
// after any text before it): its writes, the syncs timed and the sync
// total_ios.
func syncCounts(t *testing.T, out []byte) [3]uint64 {
	t.Helper()
	var doc struct {
		Jobs []struct {
			Write struct {
				TotalIOs uint64 `json:"total_ios"`
			} `json:"write"`
			Sync struct {
				TotalIOs uint64 `json:"total_ios"`
				Lat      struct {
					N uint64 `json:"N"`
				} `json:"lat_ns"`
			} `json:"sync"`
		} `json:"jobs"`
	}
	if i := bytes.IndexByte(out, '{'); i < 0 || json.Unmarshal(out[i:], &doc) != nil || len(doc.Jobs) == 0 {
		t.Fatalf("no JSON report in:\n%s", out)
	}
	j := doc.Jobs[0]
	return [3]uint64{j.Write.TotalIOs, j.Sync.Lat.N, j.Sync.TotalIOs}
}

package runner

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/iobench/iobench/device/looptest"
	"golang.org/x/sys/unix"
)

// fillDevice writes non-zero bytes over the first n bytes of the loop
// device's backing file, so that a discarded block shows as zeros.
func fillDevice(t *testing.T, l *looptest.Dev, n int) {
	t.Helper()
	run := func(args ...string) {
		if code, out, errs := run(t, args...); code != 0 {
			t.Fatalf("%v: exit %d\n%s%s", args, code, out, errs)
		}
	}
	run("--name=fill", "--filename="+l.Path, "--rw=write", "--bs=128k", "--size="+strconv.Itoa(n), "--force", "--iodepth=4")
}

// zeroBlocks counts the 4 KiB blocks of [0, n) of path that are all zero.
func zeroBlocks(t *testing.T, path string, n int) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	zero := make([]byte, 4096)
	c := 0
	for off := 0; off < n; off += 4096 {
		if bytes.Equal(b[off:off+4096], zero) {
			c++
		}
	}
	return c
}

// TestTrimJobs runs each trim pattern on a loop device holding data and
// checks its effect on the device and its report: trim and randtrim
// leave every block of the region discarded (zeros, a hole in the
// backing file) and the rest intact; trimwrite and randtrimwrite leave
// every block written (each write issued after its block's trim
// completed, so no discard lands on written data). The JSON's trim
// object, the normal report's trim and TRIM lines and json+'s trim bins
// say what ran.
func TestTrimJobs(t *testing.T) {
	const region, total = 1 << 20, 2 << 20
	for _, rw := range []string{"trim", "randtrim", "trimwrite", "randtrimwrite"} {
		t.Run(rw, func(t *testing.T) {
			l := looptest.New(t, 16<<20, looptest.Options{})
			fillDevice(t, l, total)
			code, out, errs := run(t, "--name=t", "--filename="+l.Path, "--rw="+rw, "--bs=16k", "--size=1m",
				"--iodepth=8", "--force", "--output-format=json+")
			if code != 0 {
				t.Fatalf("exit %d\n%s%s", code, out, errs)
			}
			var doc struct {
				Jobs []struct {
					Trim  fioJSONDir     `json:"trim"`
					Write fioJSONDir     `json:"write"`
					IOB   map[string]any `json:"iobench"`
				} `json:"jobs"`
			}
			var plus struct {
				Jobs []struct {
					Trim struct {
						Clat struct {
							Bins map[string]int64 `json:"bins"`
						} `json:"clat_ns"`
					} `json:"trim"`
				} `json:"jobs"`
			}
			if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Jobs) != 1 || json.Unmarshal([]byte(out), &plus) != nil {
				t.Fatalf("JSON: %v\n%s", err, out)
			}
			j := doc.Jobs[0]
			writes := strings.Contains(rw, "write")
			wantWrites := uint64(0)
			if writes {
				wantWrites = region / (16 << 10)
			}
			if j.Trim.TotalIOs != region/(16<<10) || j.Trim.IOBytes != region || j.Trim.ClatNs.N != int64(j.Trim.TotalIOs) ||
				j.Write.TotalIOs != wantWrites || j.IOB["trim_bytes"] != float64(region) || j.IOB["trim_method"] == "" {
				t.Fatalf("trim %d I/Os %d B (clat N %d), write %d I/Os, iobench %v", j.Trim.TotalIOs, j.Trim.IOBytes,
					j.Trim.ClatNs.N, j.Write.TotalIOs, j.IOB)
			}
			var binned int64
			for _, n := range plus.Jobs[0].Trim.Clat.Bins {
				binned += n
			}
			if binned != int64(j.Trim.TotalIOs) {
				t.Fatalf("json+ trim clat bins count %d I/Os, want %d", binned, j.Trim.TotalIOs)
			}
			zeros := zeroBlocks(t, l.Backing, total)
			switch {
			case writes && zeros != 0:
				t.Fatalf("%d blocks read as zeros after %s: a discard landed after its write", zeros, rw)
			case !writes && zeros != region/4096:
				t.Fatalf("%d blocks read as zeros after %s, want the %d of the region and no other", zeros, rw, region/4096)
			}
			if !writes {
				fd, err := unix.Open(l.Backing, unix.O_RDONLY, 0)
				if err != nil {
					t.Fatal(err)
				}
				data, err := unix.Seek(fd, 0, unix.SEEK_DATA)
				unix.Close(fd)
				if err != nil || data != region {
					t.Fatalf("backing file's first data at %d (%v), want the hole to cover the region", data, err)
				}
			}
			// The normal report, on the same device (no --force needed
			// twice: the device holds no signature).
			code, out, errs = run(t, "--name=t", "--filename="+l.Path, "--rw="+rw, "--bs=16k", "--size=1m", "--force")
			if code != 0 || !strings.Contains(out, "  trim: IOPS=") || !strings.Contains(out, "   TRIM: bw=") ||
				!strings.Contains(out, "issued rwts: total=0,") || !strings.Contains(out, "discarded by ") {
				t.Fatalf("normal report: exit %d\n%s%s", code, out, errs)
			}
		})
	}
}

// TestTrimRefusals: a trim destroys data as a write does, and is refused
// before any I/O (exit 2, one line, the device untouched) where a write
// would be, and where the device cannot discard or the job's sizes are
// not in its discard units; mappers that cannot trim are refused too.
func TestTrimRefusals(t *testing.T) {
	l, before := ext4Loop(t)
	blank := looptest.New(t, 16<<20, looptest.Options{})
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--filename=" + l.Path, "--rw=trim", "--size=1m"}, "--force"},
		{[]string{"--filename=" + l.Path, "--rw=randtrim", "--size=1m"}, "--force"},
		{[]string{"--filename=" + blank.Path, "--rw=trim", "--bs=512", "--size=1m", "--force"}, "discard units"},
		{[]string{"--filename=" + blank.Path, "--rw=randtrim", "--blockalign=512", "--size=1m", "--force"}, "discard units"},
		{[]string{"--filename=" + blank.Path, "--rw=trim", "--mapper=cow", "--size=1m", "--force"}, "out-of-place"},
		{[]string{"--filename=" + blank.Path, "--rw=trim", "--verify=crc32c", "--size=1m", "--force"}, "verify"},
		{[]string{"--filename=" + blank.Path, "--rw=trim", "--trim_percentage=10", "--size=1m", "--force"}, "trim_percentage"},
	}
	out := filepath.Join(t.TempDir(), "report")
	for _, c := range cases {
		code, stdout, stderr := run(t, append(c.args, "--output="+out)...)
		if code != 2 || !strings.Contains(stderr, c.want) || stdout != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 and %q", c.args, code, stdout, stderr, c.want)
		}
	}
	if after, _ := os.ReadFile(l.Backing); !bytes.Equal(before, after) {
		t.Fatal("a refused trim changed the device")
	}
	// A device that cannot discard: a loop device over a ramfs file.
	nd := looptest.New(t, 4<<20, looptest.Options{NoDiscard: true})
	code, stdout, stderr := run(t, "--filename="+nd.Path, "--rw=trim", "--size=1m", "--force", "--output="+out)
	if code != 2 || !strings.Contains(stderr, "cannot discard") || stdout != "" {
		t.Errorf("device without discard: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

// TestTrimFileTarget: on a regular file, trims
// punch holes through io_uring's fallocate, with a notice on stderr that
// fio 3.33 fails them there (err=25, its trims being BLKDISCARD).
func TestTrimFileTarget(t *testing.T) {
	path := targetFile(t, 4<<20)
	if err := os.WriteFile(path, bytes.Repeat([]byte{0xa5}, 4<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs := run(t, "--name=t", "--filename="+path, "--rw=trim", "--bs=64k", "--size=1m", "--output-format=json")
	if code != 0 || !strings.Contains(out, "fallocate") {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	if !strings.Contains(errs, "notice: job \"t\": trims of the regular file "+path+" punch holes") || !strings.Contains(errs, "err=25") {
		t.Errorf("stderr %q: want the notice that fio 3.33 fails these trims", errs)
	}
	if z := zeroBlocks(t, path, 4<<20); z != 256 {
		t.Fatalf("%d zero blocks, want the 256 of the trimmed megabyte", z)
	}
}

// TestParseFioJSONTrims: compare reads a trim job's rates and latencies
// from fio's trim object.
func TestParseFioJSONTrims(t *testing.T) {
	src := `{"jobs": [{"jobname": "t", "error": 0,
	  "read": {"iops": 0, "bw_bytes": 0, "clat_ns": {"mean": 0}},
	  "write": {"iops": 0, "bw_bytes": 0, "clat_ns": {"mean": 0}},
	  "trim": {"iops": 3000, "bw_bytes": 12288000, "total_ios": 9000, "runtime": 3000,
	           "clat_ns": {"mean": 30000, "percentile": {"99.000000": 90000}}}}]}`
	ms, _, err := ParseFioJSON([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if m := ms["t"]; m.IOPS != 3000 || m.BW != 12288000 || m.MeanLat != 30000 || m.P99 != 90000 {
		t.Fatalf("%+v", m)
	}
}

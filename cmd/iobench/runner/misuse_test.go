package runner

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iobench/iobench/device"
	"github.com/iobench/iobench/device/looptest"
	"github.com/iobench/iobench/engine"
	"github.com/iobench/iobench/workloads"
	"golang.org/x/sys/unix"
)

// targetFile makes a sparse regular file of size bytes in a test directory.
func targetFile(t *testing.T, size int64) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "target.img")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, size); err != nil {
		t.Fatal(err)
	}
	return path
}

// corrupt flips a byte at off.
func corrupt(t *testing.T, path string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	f.ReadAt(b, off)
	b[0] ^= 0xff
	f.WriteAt(b, off)
}

// TestVerifyOnlyEveryWritePattern: as fio users do, the write job is run
// again with verify_only added. It writes nothing (not even tries on its
// read-only open), passes on intact data, and on corrupt data fails naming
// the first bad block, once, without claiming "no mismatch".
func TestVerifyOnlyEveryWritePattern(t *testing.T) {
	for _, rw := range [][]string{{"--rw=write"}, {"--rw=randwrite"}, {"--rw=rw", "--rwmixread=30"}, {"--rw=randrw", "--rwmixread=70"}} {
		t.Run(strings.TrimPrefix(rw[0], "--rw="), func(t *testing.T) {
			path := targetFile(t, 32<<20)
			job := append([]string{"--filename=" + path, "--bs=4k", "--size=4m", "--verify=crc32c", "--iodepth=4"}, rw...)
			if code, out, errs := run(t, job...); code != 0 {
				t.Fatalf("write job: exit %d\n%s%s", code, out, errs)
			}
			before, _ := os.ReadFile(path)
			// The blocks the job wrote: all of the 4 MiB for the write
			// patterns, those its writes reached for the mixed ones.
			var written []int
			for k := range 1024 {
				if string(before[k*4096:k*4096+4]) == "IOBv" {
					written = append(written, k)
				}
			}
			if len(written) < 10 || strings.HasSuffix(rw[0], "write") && len(written) != 1024 {
				t.Fatalf("the write job wrote %d blocks of 1024", len(written))
			}
			want := fmt.Sprintf("%s checked, no mismatch", humanBytes(uint64(len(written))*4096))
			code, out, errs := run(t, append(job, "--verify_only")...)
			if code != 0 || !strings.Contains(out, want) || strings.Contains(out, "error") {
				t.Fatalf("verify_only on intact data: exit %d, want %q\n%s%s", code, want, out, errs)
			}
			unchecked := fmt.Sprintf("%s of the region not checked: no verify header", humanBytes(uint64(1024-len(written))*4096))
			if strings.Contains(out, unchecked) != (len(written) < 1024) {
				t.Fatalf("verify_only on intact data: %q said %v, want %v\n%s", unchecked, !(len(written) < 1024), len(written) < 1024, out)
			}
			if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
				t.Fatal("verify_only wrote to the target")
			}
			first, second := int64(written[3])*4096, int64(written[6])*4096
			corrupt(t, path, first+100)
			corrupt(t, path, second+100)
			code, out, errs = run(t, append(job, "--verify_only")...)
			at := fmt.Sprintf("block at offset %d", first)
			if code != 1 || !strings.Contains(out, at) || strings.Contains(out, fmt.Sprintf("offset %d", second)) {
				t.Fatalf("verify_only on corrupt data: exit %d, want 1 naming offset %d (the first bad block)\n%s%s", code, first, out, errs)
			}
			if strings.Contains(out, "no mismatch") || strings.Count(out, at) != 1 || strings.Contains(out, "read-only") {
				t.Fatalf("verify_only report:\n%s", out)
			}
		})
	}
}

// TestReadJobVerifiesEarlierWrite: a read job with verify checks what an
// earlier write job wrote, writing nothing itself, and finds corruption.
func TestReadJobVerifiesEarlierWrite(t *testing.T) {
	path := targetFile(t, 32<<20)
	common := []string{"--filename=" + path, "--size=4m", "--verify=crc32c"}
	if code, out, errs := run(t, append(common, "--rw=randwrite", "--bs=4k", "--iodepth=8")...); code != 0 {
		t.Fatalf("write job: exit %d\n%s%s", code, out, errs)
	}
	before, _ := os.ReadFile(path)
	code, out, errs := run(t, append(common, "--rw=read", "--bs=64k")...)
	if code != 0 || !strings.Contains(out, "no mismatch") {
		t.Fatalf("read job with verify: exit %d\n%s%s", code, out, errs)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Fatal("a read job wrote to the target")
	}
	corrupt(t, path, 3*4096+8)
	code, out, _ = run(t, append(common, "--rw=read", "--bs=64k")...)
	if code != 1 || !strings.Contains(out, "offset 12288") {
		t.Fatalf("read job over corrupt data: exit %d\n%s", code, out)
	}
	// On a block device opened read-only too (iobench's own target kind).
	l := looptest.New(t, 16<<20, looptest.Options{})
	if code, out, errs := run(t, "--filename="+l.Path, "--size=4m", "--verify=crc32c", "--rw=write", "--bs=4k"); code != 0 {
		t.Fatalf("write job on %s: exit %d\n%s%s", l.Path, code, out, errs)
	}
	if code, out, errs := run(t, "--filename="+l.Path, "--size=4m", "--verify=crc32c", "--rw=randread", "--bs=4k", "--runtime=200ms", "--time_based"); code != 0 {
		t.Fatalf("read job with verify on %s: exit %d\n%s%s", l.Path, code, out, errs)
	}
	// The issue's own command: the write job again with verify_only.
	if code, out, errs := run(t, "--filename="+l.Path, "--size=4m", "--verify=crc32c", "--rw=write", "--bs=4k", "--verify_only"); code != 0 || !strings.Contains(out, "no mismatch") {
		t.Fatalf("verify_only on %s: exit %d\n%s%s", l.Path, code, out, errs)
	}
}

// TestWriteBuffersAreRandom: writes carry fio's default contents, random
// data, not zeros, and no two written 4 KiB blocks are the same (the job
// writes each request buffer many times).
func TestWriteBuffersAreRandom(t *testing.T) {
	path := targetFile(t, 8<<20)
	if code, out, errs := run(t, "--filename="+path, "--rw=write", "--bs=64k", "--size=2m", "--iodepth=4"); code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	data, _ := os.ReadFile(path)
	data = data[:2<<20]
	seen := map[string]int64{}
	for off := 0; off < len(data); off += 4096 {
		s := string(data[off : off+4096])
		if s == string(make([]byte, 4096)) {
			t.Fatalf("block at %d is zeros", off)
		}
		if prev, ok := seen[s]; ok {
			t.Fatalf("blocks at %d and %d are identical", prev, off)
		}
		seen[s] = int64(off)
	}
	var ones int
	for _, b := range data {
		ones += bitsSet(b)
	}
	if frac := float64(ones) / float64(8*len(data)); frac < 0.49 || frac > 0.51 {
		t.Fatalf("%.3f of the bits are set: not random", frac)
	}
}

func bitsSet(b byte) int {
	n := 0
	for ; b != 0; b &= b - 1 {
		n++
	}
	return n
}

// TestScrambleAllocatesNothing: the per-write cost is a store per sector.
func TestScrambleAllocatesNothing(t *testing.T) {
	buf := make([]byte, 128<<10)
	fillRandom(buf, 1)
	if n := testing.AllocsPerRun(100, func() { scramble(buf, 4096, 7) }); n != 0 {
		t.Fatalf("%v allocations per write", n)
	}
}

func BenchmarkScramble(b *testing.B) {
	for _, size := range []int{4 << 10, 128 << 10} {
		b.Run(fmt.Sprint(size>>10, "k"), func(b *testing.B) {
			buf := make([]byte, size)
			fillRandom(buf, 1)
			b.SetBytes(int64(size))
			for i := 0; b.Loop(); i++ {
				scramble(buf, uint64(i)*uint64(size), uint64(i))
			}
		})
	}
}

// TestPreflightRefusals: problems found before any I/O exit 2 with the
// reason on stderr and nothing on stdout, and leave --output untouched.
func TestPreflightRefusals(t *testing.T) {
	l4k := looptest.New(t, 16<<20, looptest.Options{LogicalBlockSize: 4096})
	ro := looptest.New(t, 16<<20, looptest.Options{ReadOnly: true})
	empty := looptest.New(t, 0, looptest.Options{BufferedIO: true})
	small := targetFile(t, 1<<20)
	foreign := targetFile(t, 16<<20) // a file that holds data at its start
	if f, err := os.OpenFile(foreign, os.O_WRONLY, 0); err == nil {
		f.WriteAt([]byte("some data"), 0)
		f.Close()
	}
	out := filepath.Join(t.TempDir(), "report.json")
	os.WriteFile(out, []byte("earlier report"), 0o644)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--filename=" + l4k.Path, "--rw=randread", "--bs=6k"}, "not a multiple"},
		{[]string{"--filename=" + l4k.Path, "--rw=randread", "--bssplit=4k/50:2k/50"}, "bs=2k is not a multiple"},
		{[]string{"--filename=" + ro.Path, "--rw=randwrite", "--force"}, "the kernel marks it read-only"},
		{[]string{"--filename=" + l4k.Path, "--rw=read", "--size=32m"}, "exceed"},
		// A loop device over an empty file, as a detached one: 0 bytes.
		{[]string{"--filename=" + empty.Path, "--rw=read", "--size=1m"}, "is empty (0 bytes: a loop device with no file attached"},
		// No size with clones spread by offset_increment: each clone
		// covers the target from its own start to the end; fio 3.33
		// fails a clone that starts at or past the end, or whose part
		// is less than a block, and runs the others (exit 2): fio
		// --name=j --filename=F --rw=read --bs=1m --numjobs=4
		// --offset_increment=32m on 64 MiB says "blocksize is larger
		// than data set range" for clone 2 and "you need to specify
		// valid offset=" for clone 3.
		{[]string{"--filename=" + l4k.Path, "--rw=read", "--numjobs=4", "--offset_increment=8m"}, `clone 2 starts at 16777216 (offset 0 + 2 x offset_increment 8388608), at the end of ` + l4k.Path + ` (16777216 bytes): without size= each clone covers ` + l4k.Path + ` from its own start to the end, and fio 3.33 fails this clone ("blocksize is larger than data set range") while the others run; give numjobs=2 or less`},
		{[]string{"--filename=" + l4k.Path, "--rw=read", "--numjobs=2", "--offset_increment=20m"}, `clone 1 starts at 20971520 (offset 0 + 1 x offset_increment 20971520), past the end of ` + l4k.Path + ` (16777216 bytes): without size= each clone covers ` + l4k.Path + ` from its own start to the end, and fio 3.33 fails this clone ("you need to specify valid offset=")`},
		{[]string{"--filename=" + l4k.Path, "--rw=read", "--bs=4m", "--numjobs=2", "--offset_increment=14m"}, `bs=4m is larger than the 2097152 bytes the last clone's offset 14680064 (offset 0 + 1 x offset_increment 14680064) leaves of ` + l4k.Path + `'s 16777216: without size= each clone covers the target from its own start to the end, and fio 3.33 fails such a clone ("blocksize is larger than data set range") while the others run; give numjobs=1 or less`},
		{[]string{"--filename=" + small, "--rw=read", "--numjobs=3", "--offset_increment=512k"}, `clone 2 starts at 1048576 (offset 0 + 2 x offset_increment 524288), at the end of ` + small},
		// No size: the region is the device, smaller than a block (it
		// ran with iodepth blocks of buffers and reported a ramp_time).
		{[]string{"--filename=" + l4k.Path, "--rw=read", "--bs=32m", "--iodepth=4"}, "bs=32m is larger than the 16777216 bytes"},
		{[]string{"--filename=" + small, "--rw=read", "--size=4m", "--allow_file_create=0"}, "forbids laying it out"},
		{[]string{"--filename=" + small + ".new", "--rw=read", "--size=4m", "--allow_file_create=0"}, "allow_file_create=0 forbids creating it"},
		{[]string{"--readonly", "--filename=" + small + ".new", "--rw=read", "--size=4m"}, "--readonly forbids creating it"},
		{[]string{"--readonly", "--filename=" + small, "--rw=read", "--size=4m"}, "--readonly forbids laying it out"},
		{[]string{"--directory=" + small + ".dir", "--nrfiles=2", "--rw=read", "--size=4m"}, "not a directory"},
		{[]string{"--filename=" + small + `\:x`, "--rw=read"}, `target.img:x does not exist`},
		{[]string{"--filename=" + small + ":" + small + ".new", "--rw=read"}, "target.img.new does not exist or is empty and the job gives no size"},
		{[]string{"--filename=" + small, "--rw=randwrite", "--mapper=cow", "--size=1m"}, "half the target"},
		// cowlog's refusals, before any I/O as cow's (they came when
		// the job opened its mapper: exit 1, err=5).
		{[]string{"--filename=" + l4k.Path, "--rw=randwrite", "--mapper=cowlog", "--size=12m"}, "half the data area"},
		{[]string{"--filename=" + foreign, "--rw=randwrite", "--mapper=cowlog"}, "holds data that is not a cowlog format; --force formats it"},
		{[]string{"--filename=" + l4k.Path, "--rw=randwrite", "--mapper=cowlog", "--verify=crc32c", "--verify_only"}, "holds no cowlog format, nothing to verify"},
		// Kernel interfaces look like short regular files, which layout
		// would write to, even for a reading job (these two take no
		// write: procfs's version file, a read-only sysfs attribute).
		{[]string{"--filename=/proc/version", "--rw=read", "--size=8k"}, "a file of procfs, a kernel interface"},
		{[]string{"--filename=/sys/kernel/mm/transparent_hugepage/hpage_pmd_size", "--rw=read", "--size=8k"}, "a file of sysfs, a kernel interface"},
	}
	for _, c := range cases {
		code, stdout, stderr := run(t, append(c.args, "--output="+out)...)
		if code != 2 || !strings.Contains(stderr, c.want) || stdout != "" || strings.Count(stderr, c.want) != 1 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 and %q on stderr once", c.args, code, stdout, stderr, c.want)
		}
	}
	if b, _ := os.ReadFile(out); string(b) != "earlier report" {
		t.Errorf("--output was touched by refused runs: %q", b)
	}
}

// TestRefusalErrno: refusals carry the errno fio would show, not EIO.
func TestRefusalErrno(t *testing.T) {
	for _, c := range []struct {
		err  error
		want unix.Errno
	}{
		{fmt.Errorf("x: %w", device.ErrReadOnly), unix.EROFS},
		{fmt.Errorf("x: %w", device.ErrMounted), unix.EBUSY},
		{fmt.Errorf("x: %w", device.ErrInUse), unix.EBUSY},
		{&workloads.Mismatch{}, unix.EILSEQ},
		{fmt.Errorf("x: %w", unix.ENOSPC), unix.ENOSPC},
		{fmt.Errorf("mapper error: %w", engine.ErrNoSpace), unix.ENOSPC}, // cow's space used up
		{errors.New("other"), unix.EIO},
	} {
		if got := errnoOf(c.err); got != int(c.want) {
			t.Errorf("%v: errno %d, want %d", c.err, got, c.want)
		}
	}
}

// TestRampTimeUsesUpRegion: a job whose ramp time swallows its whole run
// measured nothing and says so, rather than report 0 B as a success.
func TestRampTimeUsesUpRegion(t *testing.T) {
	path := targetFile(t, 8<<20)
	code, out, errs := run(t, "--filename="+path, "--rw=read", "--bs=64k", "--size=1m", "--ramp_time=2", "--output-format=json")
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s%s", code, out, errs)
	}
	var doc fioJSON
	if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Jobs) != 1 || doc.Jobs[0].Error == 0 {
		t.Fatalf("JSON: %v\n%s", err, out)
	}
	if !strings.Contains(out, "nothing measured") {
		t.Fatalf("no reason given:\n%s", out)
	}
}

// TestSizePercentOfTarget: --size=50% (advertised in --help) covers half
// the target; conflicting rwmix options are taken with a notice.
func TestSizePercentOfTarget(t *testing.T) {
	path := targetFile(t, 8<<20)
	code, out, errs := run(t, "--filename="+path, "--rw=read", "--bs=64k", "--size=50%", "--output-format=json")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	var doc fioJSON
	if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Jobs) != 1 || doc.Jobs[0].Read.IOBytes != 4<<20 {
		t.Fatalf("JSON %v: %s", err, out)
	}
	code, _, errs = run(t, "--filename="+path, "--rw=randrw", "--rwmixread=70", "--rwmixwrite=70", "--size=1m", "--bs=64k")
	if code != 0 || !strings.Contains(errs, "notice: --rwmixwrite: overrides rwmixread") {
		t.Fatalf("rwmix conflict: exit %d, stderr %q", code, errs)
	}
}

// TestStopsAtFirstIOError: a job stops issuing at its first failed I/O, as
// fio's does: the failures counted are at most what was in flight (the
// job went on to 100 and more before), the report names the first one,
// and the exit status is 1. The device fails reads past its backing
// file's end, cut short after the device was attached.
func TestStopsAtFirstIOError(t *testing.T) {
	l := looptest.New(t, 64<<20, looptest.Options{})
	if err := os.Truncate(l.Backing, 1<<20); err != nil {
		t.Fatal(err)
	}
	code, out, errs := run(t, "--name=e", "--filename="+l.Path, "--rw=read", "--bs=64k", "--iodepth=8", "--size=64m", "--output-format=json")
	if code != 1 {
		t.Fatalf("exit %d, want 1: %s", code, errs)
	}
	var doc struct {
		Jobs []struct {
			Error     int    `json:"error"`
			ErrorText string `json:"error_text"`
			Read      struct {
				TotalIOs uint64 `json:"total_ios"`
				Errors   uint64 `json:"errors"`
			} `json:"read"`
		} `json:"jobs"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Jobs) != 1 {
		t.Fatalf("JSON: %v\n%s", err, out)
	}
	j := doc.Jobs[0]
	if j.Read.TotalIOs != 16 || j.Read.Errors < 1 || j.Read.Errors > 8 || j.Error != int(unix.EIO) ||
		!strings.Contains(j.ErrorText, "@1048576") || !strings.Contains(j.ErrorText, l.Path) {
		t.Errorf("%d reads, %d failed (want 16, and 1 to 8), error %d %q", j.Read.TotalIOs, j.Read.Errors, j.Error, j.ErrorText)
	}
	// The error is said on stderr too: the report may be JSON, or in a file.
	if !strings.Contains(errs, `iobench: job "e": read raw @1048576`) {
		t.Errorf("stderr: %q", errs)
	}
}

// TestVerifyMismatchNamesTarget: a verify mismatch names the file or
// device it was found on, with the offset (a job may have several).
func TestVerifyMismatchNamesTarget(t *testing.T) {
	l := looptest.New(t, 16<<20, looptest.Options{})
	code, _, errs := run(t, "--name=v", "--filename="+l.Path, "--rw=randread", "--verify=crc32c", "--size=8m", "--output-format=json")
	if code != 1 || !strings.Contains(errs, `iobench: job "v": `+l.Path+": verify: block at offset ") {
		t.Errorf("exit %d, stderr %q", code, errs)
	}
}

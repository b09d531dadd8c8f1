package runner

import (
	"bytes"
	"encoding/json"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/iobench/iobench/device/looptest"
	"github.com/iobench/iobench/engine"
	"golang.org/x/sys/unix"
)

func TestMain(m *testing.M) { looptest.Main(removesBinary{m}) }

// removesBinary runs the tests, then removes the iobench binary that
// iobenchBinary built for them (16 MiB in /tmp for every run).
type removesBinary struct{ m *testing.M }

func (r removesBinary) Run() int {
	code := r.m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	return code
}

// fioJSON is the part of fio's JSON schema that fio tooling reads.
type fioJSON struct {
	Version   string `json:"iobench version"`
	Timestamp int64  `json:"timestamp"`
	Jobs      []struct {
		JobName    string            `json:"jobname"`
		GroupID    int               `json:"groupid"`
		Error      int               `json:"error"`
		JobOptions map[string]string `json:"job options"`
		Read       fioJSONDir        `json:"read"`
		Write      fioJSONDir        `json:"write"`
		UsrCPU     float64           `json:"usr_cpu"`
		SysCPU     float64           `json:"sys_cpu"`
		IOBench    map[string]any    `json:"iobench"`
	} `json:"jobs"`
}

type fioJSONDir struct {
	IOBytes  uint64  `json:"io_bytes"`
	BW       uint64  `json:"bw"`
	BWBytes  uint64  `json:"bw_bytes"`
	IOPS     float64 `json:"iops"`
	Runtime  int64   `json:"runtime"`
	TotalIOs uint64  `json:"total_ios"`
	ClatNs   struct {
		Min, Max   int64
		Mean       float64
		Stddev     float64
		N          int64            `json:"N"`
		Percentile map[string]int64 `json:"percentile"`
	} `json:"clat_ns"`
	LatNs struct {
		Mean float64
		N    int64 `json:"N"`
	} `json:"lat_ns"`
}

// zeroTarget writes dir/t.img, 8 MiB of zeros, the target of the jobs
// that need a small regular file, and returns its path.
func zeroTarget(t *testing.T, dir string) string {
	t.Helper()
	target := filepath.Join(dir, "t.img")
	if err := os.WriteFile(target, make([]byte, 8<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	return target
}

func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(args, &out, &errb)
	return code, out.String(), errb.String()
}

// TestJSONSchema runs a short job on an automatic target and decodes the
// JSON with fio's field names.
func TestJSONSchema(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for the loop device target")
	}
	code, out, errs := run(t, "--name=j1", "--rw=randrw", "--rwmixread=60", "--bs=4k", "--iodepth=8",
		"--runtime=500ms", "--time_based", "--size=32m", "--output-format=json", "--target-size=128m", "--verify=crc32c")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var doc fioJSON
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("JSON: %v\n%s", err, out)
	}
	if doc.Version == "" || doc.Timestamp == 0 || len(doc.Jobs) != 1 {
		t.Fatalf("top level: %+v", doc)
	}
	j := doc.Jobs[0]
	if j.JobName != "j1" || j.Error != 0 || j.JobOptions["rw"] != "randrw" {
		t.Fatalf("job: %+v", j)
	}
	for name, d := range map[string]fioJSONDir{"read": j.Read, "write": j.Write} {
		if d.TotalIOs == 0 || d.IOPS <= 0 || d.IOBytes != d.TotalIOs*4096 || d.BW != d.BWBytes/1024 || d.Runtime <= 0 {
			t.Errorf("%s: %+v", name, d)
		}
		if d.ClatNs.N != int64(d.TotalIOs) || d.ClatNs.Min <= 0 || d.ClatNs.Max < d.ClatNs.Min || d.ClatNs.Mean <= 0 {
			t.Errorf("%s clat: %+v", name, d.ClatNs)
		}
		for _, k := range []string{"1.000000", "50.000000", "99.000000", "99.990000"} {
			if d.ClatNs.Percentile[k] <= 0 {
				t.Errorf("%s: percentile %q missing: %v", name, k, d.ClatNs.Percentile)
			}
		}
		if d.ClatNs.Percentile["99.000000"] < d.ClatNs.Percentile["1.000000"] {
			t.Errorf("%s: percentiles not ordered", name)
		}
	}
	if j.Read.TotalIOs < j.Write.TotalIOs {
		t.Errorf("rwmixread=60 but %d reads < %d writes", j.Read.TotalIOs, j.Write.TotalIOs)
	}
	if j.IOBench["verified_bytes"].(float64) == 0 || j.IOBench["io_uring"] == "" {
		t.Errorf("engine object: %v", j.IOBench)
	}
	if strings.Contains(errs, "Jobs:") {
		t.Errorf("progress printed with JSON to stdout")
	}
	// Our JSON reads back with the fio JSON reader used by compare.
	ms, order, err := ParseFioJSON([]byte(out))
	if err != nil || len(order) != 1 || ms["j1"].IOPS <= 0 || ms["j1"].P99 <= 0 {
		t.Fatalf("ParseFioJSON: %v %v %v", ms, order, err)
	}
}

func TestParseFioJSONWithPreamble(t *testing.T) {
	src := `note: both iodepth >= 1 and synchronous I/O engine are selected
{
  "fio version" : "fio-3.36",
  "jobs" : [
    {"jobname" : "a", "error" : 0,
     "read" : {"iops" : 1000.5, "bw_bytes" : 4098048, "clat_ns" : {"mean" : 2500.0, "percentile" : {"99.000000" : 9000}}},
     "write" : {"iops" : 0, "bw_bytes" : 0, "clat_ns" : {"mean" : 0}}},
    {"jobname" : "a", "error" : 0,
     "read" : {"iops" : 500, "bw_bytes" : 2048000, "clat_ns" : {"mean" : 2000.0, "percentile" : {"99.000000" : 8000}}},
     "write" : {"iops" : 0, "bw_bytes" : 0, "clat_ns" : {"mean" : 0}}}
  ]
}`
	ms, order, err := ParseFioJSON([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if len(order) != 1 || ms["a"].IOPS != 1500.5 || ms["a"].P99 != 8000 {
		t.Fatalf("%v %v", order, ms)
	}
	if _, _, err := ParseFioJSON([]byte("fio: no such file")); err == nil {
		t.Fatal("garbage accepted")
	}
	// A merged report's usr_cpu and sys_cpu are percentages of job_runtime,
	// its clones' run times added up (two clones of 1000 ms here): 2000 ms
	// at 50% is 1 s of CPU for 1000 I/Os, 1000 µs each.
	merged := `{"jobs" : [{"jobname" : "g", "usr_cpu" : 25.0, "sys_cpu" : 25.0, "job_runtime" : 2000,
	 "read" : {"iops" : 1000, "total_ios" : 1000, "runtime" : 1000, "clat_ns" : {"mean" : 1}}}]}`
	if ms, _, err := ParseFioJSON([]byte(merged)); err != nil || ms["g"].CPUPerIO != 1000 {
		t.Errorf("merged report: CPU per I/O %v µs, want 1000 (%v)", ms["g"].CPUPerIO, err)
	}
}

// TestParseFioJSONMixed: compare reads a job reported with
// unified_rw_reporting: with mixed, the mixed object stands for the
// directions; with both, the directions are read and the mixed object,
// their sum, is not added to them again.
func TestParseFioJSONMixed(t *testing.T) {
	mixed := `{"jobs" : [{"jobname" : "m", "job_runtime" : 1000, "usr_cpu" : 10, "sys_cpu" : 0,
	 "mixed" : {"iops" : 3000, "bw_bytes" : 12288000, "total_ios" : 3000, "runtime" : 1000,
	  "clat_ns" : {"mean" : 2000, "percentile" : {"50.000000" : 1500, "99.000000" : 9000}}}}]}`
	ms, order, err := ParseFioJSON([]byte(mixed))
	if err != nil || len(order) != 1 {
		t.Fatal(order, err)
	}
	if m := ms["m"]; m.IOPS != 3000 || m.BW != 12288000 || m.MeanLat != 2000 || m.P99 != 9000 || m.CPUPerIO != 100000.0/3000 {
		t.Errorf("mixed: %+v", m)
	}
	both := `{"jobs" : [{"jobname" : "b",
	 "read" : {"iops" : 2000, "bw_bytes" : 8192000, "total_ios" : 2000, "clat_ns" : {"mean" : 1000}},
	 "write" : {"iops" : 1000, "bw_bytes" : 4096000, "total_ios" : 1000, "clat_ns" : {"mean" : 3000}},
	 "trim" : {"iops" : 0},
	 "mixed" : {"iops" : 3000, "bw_bytes" : 12288000, "total_ios" : 3000, "clat_ns" : {"mean" : 1666}}}]}`
	ms, _, err = ParseFioJSON([]byte(both))
	if err != nil {
		t.Fatal(err)
	}
	if m := ms["b"]; m.IOPS != 3000 || m.BW != 12288000 || m.MeanLat != 1000 {
		t.Errorf("both: %+v (want the directions': 3000 IOPS, the reads' latency)", m)
	}
}

func TestNormalOutputAndJobFile(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for the loop device target")
	}
	dir := t.TempDir()
	job := filepath.Join(dir, "two.fio")
	os.WriteFile(job, []byte(`[global]
runtime=700ms
time_based
size=16m
ioengine=io_uring
thread

[w]
rw=write
bs=64k
iodepth=4
#iobench: mapper=cow

[r]
stonewall
rw=randread
bs=4k
iodepth=16
#iobench: mapper=scattered extents=512 map_latency=2us
`), 0o644)
	code, out, errs := run(t, "--target-size=128m", job)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"\nw: (groupid=0, jobs=1): err= 0: pid=", "\nr: (groupid=1, jobs=1): err= 0: pid=",
		"  job          : rw=write", "  job          : rw=randread", "mapper=cow", "mapper=scattered", "  write: IOPS=", "  read: IOPS=",
		"    clat percentiles (", "99.99th=[", "    slat (", "   bw (", "  cpu          : usr=", "ctx=", "cache hit rate",
		"\n  io_uring     : ", "\n\nRun status group 1 (all jobs):\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("normal output lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(errs, "thread: cannot change what is measured") {
		t.Errorf("no notice for thread: %s", errs)
	}
}

func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.fio")
	os.WriteFile(bad, []byte("[a]\nrw=randread\nzonemode=zbd\n"), 0o644)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--bs=4q"}, "bs"},
		{[]string{"--rw=sideways"}, "rw"},
		{[]string{"--iodepth"}, "needs a value"},
		{[]string{"--random_distribution=zipf:abc"}, "random_distribution"},
		{[]string{"--no_such_option=1"}, "unknown option"},
		{[]string{"--output-format=xml"}, "output-format"},
		{[]string{bad}, "bad.fio:3"},
		{[]string{filepath.Join(dir, "missing.fio")}, "no such file"},
		{[]string{"--rw=read", "--filename=" + dir}, "neither a block device nor a regular file"},
		{[]string{"--rw=read", "--ioengine=mmap"}, "ioengine=mmap"},
		{[]string{"--rw=read", "--zonemode=zbd"}, "zonemode"},
		{[]string{"--rw=read", "--loops=0"}, "loops"},
		{[]string{"--rw=read", "--cpus_allowed=4000"}, "CPU 4000 is not available"},
		{[]string{"--rw=write", "--mapper=fiemap", "--filename=/etc/hostname"}, "read-only"},
		{[]string{"--rw=read", "--hipri", "--filename=/etc/hostname"}, "poll queues"},
		{[]string{"--rw=randrw", "--bssplit=4k/60:8k/60:16k/:32k/", "--size=1m"}, "add up to 120, over 100"},
	}
	for _, c := range cases {
		code, _, errs := run(t, c.args...)
		if code != 2 || !strings.Contains(errs, c.want) || strings.Count(strings.TrimSpace(errs), "\n") > 1 {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and %q", c.args, code, errs, c.want)
		}
	}
}

// ext4Loop returns a 64 MiB loop device holding an empty ext4 filesystem
// (a signature that writes must not destroy) and its backing file's bytes.
func ext4Loop(t *testing.T) (*looptest.Dev, []byte) {
	t.Helper()
	l := looptest.New(t, 64<<20, looptest.Options{})
	if _, err := exec.LookPath("mkfs.ext4"); err != nil {
		t.Skip("mkfs.ext4 not installed")
	}
	if out, err := exec.Command("mkfs.ext4", "-q", "-F", l.Path).CombinedOutput(); err != nil {
		t.Fatalf("mkfs.ext4: %v %s", err, out)
	}
	before, err := os.ReadFile(l.Backing)
	if err != nil {
		t.Fatal(err)
	}
	return l, before
}

// TestRefusesDeviceInUse: writing to a device with a filesystem is refused
// (exit 2, before any I/O) unless --force, also through a symlink.
func TestRefusesDeviceInUse(t *testing.T) {
	l, before := ext4Loop(t)
	link := filepath.Join(t.TempDir(), "disk")
	os.Symlink(l.Path, link)
	for _, p := range []string{l.Path, link} {
		// Nothing on stdout: fio's header lines go out once the checks
		// made before any I/O have passed.
		code, out, errs := run(t, "--rw=randwrite", "--runtime=200ms", "--time_based", "--filename="+p)
		if code != 2 || out != "" || !strings.Contains(errs, "--force") {
			t.Fatalf("%s: exit %d, stdout %q, %q", p, code, out, errs)
		}
	}
	after, _ := os.ReadFile(l.Backing)
	if !bytes.Equal(before, after) {
		t.Fatal("a refused run wrote to the device")
	}
	// Mounted: refused even with the signature check forced past? No:
	// mounted devices are refused by the kernel's exclusive open too.
	mnt := t.TempDir()
	if err := unix.Mount(l.Path, mnt, "ext4", 0, ""); err != nil {
		t.Fatalf("mount: %v", err)
	}
	defer unix.Unmount(mnt, 0)
	code, _, errs := run(t, "--rw=randwrite", "--runtime=200ms", "--time_based", "--filename="+link)
	if code != 2 || !strings.Contains(errs, "mounted") {
		t.Fatalf("mounted via symlink: exit %d, %q", code, errs)
	}
	// --force does not take it either: refused before any I/O (exit 2,
	// --output left as it was), not failed in the run (exit 1).
	outFile := filepath.Join(t.TempDir(), "out.json")
	os.WriteFile(outFile, []byte("earlier"), 0o644)
	code, out, errs := run(t, "--rw=randwrite", "--runtime=200ms", "--time_based", "--filename="+l.Path, "--force", "--output="+outFile)
	if kept, _ := os.ReadFile(outFile); code != 2 || out != "" || string(kept) != "earlier" || !strings.Contains(errs, "cannot take a device that is held") {
		t.Fatalf("mounted, with --force: exit %d, stdout %q, --output %q, %q", code, out, kept, errs)
	}
	// Reading a mounted device is fine.
	code, _, errs = run(t, "--rw=randread", "--runtime=200ms", "--time_based", "--size=16m", "--filename="+link)
	if code != 0 {
		t.Fatalf("read of a mounted device: exit %d %s", code, errs)
	}
}

func TestHelp(t *testing.T) {
	code, out, _ := run(t, "--help")
	if code != 0 {
		t.Fatal(code)
	}
	for _, want := range []string{"--rw=", "--bssplit", "--mapper", "--map_latency", "--output-format", "iobench compare", "--force"} {
		if !strings.Contains(out, want) {
			t.Errorf("help lacks %q", want)
		}
	}
}

func TestFioJobFileIsValidForFio(t *testing.T) {
	fio, err := exec.LookPath("fio")
	if err != nil {
		t.Skip("fio not installed (make deps installs it)")
	}
	_, cl, err := parseArgs([]string{"--name=x", "--rw=randrw", "--bssplit=4k/50:64k/50", "--runtime=2", "--time_based",
		"--random_distribution=zipf:1.2", "--mapper=scattered", "--size=64m", "--percentile_list=50:99",
		"--cpus_allowed=0", "--loops=2", "--lat_percentiles=1", "--bwavgtime=250", "--fixedbufs", "--kb_base=1000"})
	if err != nil {
		t.Fatal(err)
	}
	j := cl.jobs[0]
	path := filepath.Join(t.TempDir(), "x.fio")
	if err := os.WriteFile(path, []byte(fioJobFile(j, "/dev/null")), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(fio, "--parse-only", path).CombinedOutput(); err != nil {
		t.Fatalf("fio rejects the job file: %v\n%s", err, out)
	}
	paths, _ := filepath.Glob("../../../workloads/*.fio")
	for _, p := range paths {
		if out, err := exec.Command(fio, "--parse-only", p).CombinedOutput(); err != nil {
			t.Errorf("fio rejects %s: %v\n%s", p, err, out)
		}
	}
}

// TestBundledWorkloadsRun runs every bundled script for a second on a loop
// device iobench makes itself.
func TestBundledWorkloadsRun(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for the loop device target")
	}
	paths, _ := filepath.Glob("../../../workloads/*.fio")
	if len(paths) < 8 {
		t.Fatalf("%d bundled scripts", len(paths))
	}
	for _, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) {
			// Job sections override the command line (fio's rules), so a
			// copy with a shorter runtime is run.
			src, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			short := filepath.Join(t.TempDir(), filepath.Base(p))
			os.WriteFile(short, regexp.MustCompile(`(?m)^runtime=.*$`).ReplaceAll(src, []byte("runtime=1")), 0o644)
			code, out, errs := run(t, "--target-size=512m", "--output-format=json", short)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			var doc fioJSON
			if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Jobs) == 0 {
				t.Fatalf("JSON: %v", err)
			}
			j := doc.Jobs[0]
			if j.Error != 0 || j.Read.TotalIOs+j.Write.TotalIOs == 0 {
				t.Fatalf("%s did no I/O: %+v", p, j)
			}
		})
	}
}

// TestVerifyOnlyRereadsEarlierRun writes verified data with one run, checks
// it with a verify_only run, then corrupts a byte and expects the re-read
// to fail naming the offset.
func TestVerifyOnlyRereadsEarlierRun(t *testing.T) {
	path := filepath.Join(t.TempDir(), "target.img")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	os.Truncate(path, 32<<20)
	common := []string{"--filename=" + path, "--size=8m", "--verify=crc32c", "--randseed=77"}
	// The whole region, so that the block corrupted below was written
	// (a 300 ms time_based run on a loaded machine left it unwritten,
	// and verify_only rightly counted it as such, not as a mismatch).
	code, _, errs := run(t, append(common, "--rw=randwrite", "--bs=4k", "--iodepth=8")...)
	if code != 0 {
		t.Fatalf("write run: exit %d %s", code, errs)
	}
	code, out, errs := run(t, append(common, "--rw=read", "--bs=64k", "--verify_only")...)
	if code != 0 || !strings.Contains(out, "no mismatch") {
		t.Fatalf("verify_only run: exit %d %s %s", code, errs, out)
	}
	f, _ := os.OpenFile(path, os.O_RDWR, 0)
	f.WriteAt([]byte{0xff}, 5*4096+100)
	f.Close()
	code, out, _ = run(t, append(common, "--rw=read", "--bs=64k", "--verify_only")...)
	if code != 1 || !strings.Contains(out, "offset 20480") {
		t.Fatalf("corrupted data: exit %d, output:\n%s", code, out)
	}
}

// TestVerifyReadsCounted: the verify pass's reads are reads in the job's
// statistics, as fio counts them: what the workload wrote, at the job's
// block size, with a runtime of their own; verify_only's (the whole
// region) too. Without the pass
// a writing job has no reads and no read runtime. With reads in
// flight together, a corrupted region is reported at its first bad block
// whatever order the reads complete in.
func TestVerifyReadsCounted(t *testing.T) {
	path := filepath.Join(t.TempDir(), "target.img")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	os.Truncate(path, 16<<20)
	common := []string{"--filename=" + path, "--size=8m", "--verify=crc32c", "--bs=4k", "--iodepth=16", "--output-format=json"}
	type dir struct {
		IOBytes   uint64  `json:"io_bytes"`
		TotalIOs  uint64  `json:"total_ios"`
		RuntimeMs int64   `json:"runtime"`
		IOPS      float64 `json:"iops"`
	}
	type job struct{ Read, Write dir }
	decode := func(out string) job {
		t.Helper()
		var got struct{ Jobs []job }
		if err := json.Unmarshal([]byte(out), &got); err != nil || len(got.Jobs) != 1 {
			t.Fatalf("decode: %v\n%s", err, out)
		}
		return got.Jobs[0]
	}
	code, out, errs := run(t, append(common, "--rw=write", "--do_verify=0")...)
	if j := decode(out); code != 0 || j.Read.TotalIOs != 0 || j.Read.RuntimeMs != 0 || j.Write.RuntimeMs < 0 {
		t.Errorf("write without the verify pass: exit %d (%s), %d reads, read runtime %d ms (want none, as fio)", code, errs, j.Read.TotalIOs, j.Read.RuntimeMs)
	}
	code, out, errs = run(t, append(common, "--rw=write")...)
	if code != 0 {
		t.Fatalf("write+verify: exit %d %s", code, errs)
	}
	j := decode(out)
	if j.Write.IOBytes != 8<<20 || j.Read.IOBytes != 8<<20 || j.Read.TotalIOs != 2048 || j.Read.RuntimeMs < 0 || j.Read.IOPS <= 0 {
		t.Errorf("write+verify: write %d bytes, read %d bytes in %d I/Os, %d ms, %.0f IOPS; want 8 MiB each, 2048 reads",
			j.Write.IOBytes, j.Read.IOBytes, j.Read.TotalIOs, j.Read.RuntimeMs, j.Read.IOPS)
	}
	// A workload that writes part of the region: the pass reads back
	// what it wrote (fio reads back its log of writes), not the region.
	for _, args := range [][]string{{"--rw=randwrite", "--number_ios=300"}, {"--rw=write", "--io_size=2m"}} {
		code, out, errs := run(t, append(common, args...)...)
		if j := decode(out); code != 0 || j.Read.TotalIOs != j.Write.TotalIOs || j.Read.IOBytes != j.Write.IOBytes || j.Write.IOBytes == 8<<20 {
			t.Errorf("%v: exit %d (%s), wrote %d bytes in %d I/Os, read back %d in %d", args, code, errs,
				j.Write.IOBytes, j.Write.TotalIOs, j.Read.IOBytes, j.Read.TotalIOs)
		}
	}
	// Clones with files of their own each report the reads of theirs.
	code, out, errs = run(t, "--directory="+t.TempDir(), "--name=c", "--numjobs=2", "--rw=randwrite", "--size=4m",
		"--verify=crc32c", "--bs=4k", "--iodepth=4", "--output-format=json")
	var clones struct{ Jobs []job }
	if err := json.Unmarshal([]byte(out), &clones); code != 0 || err != nil || len(clones.Jobs) != 2 {
		t.Fatalf("numjobs=2: exit %d (%s), %v:\n%s", code, errs, err, out)
	}
	for i, j := range clones.Jobs {
		if j.Read.TotalIOs != 1024 || j.Write.TotalIOs != 1024 {
			t.Errorf("clone %d: %d writes, %d reads read back; want 1024 each", i, j.Write.TotalIOs, j.Read.TotalIOs)
		}
	}
	// Clones on one file: each reads back its own writes, whether they
	// write slices of the region (with a notice) or regions of their own
	// set apart by offset_increment (as fio's: 64 writes and 64 reads
	// each below; clone 1 writes at 2-3 MiB, past the first clone's
	// region).
	for _, c := range []struct {
		args   []string
		writes uint64
		notice string
	}{
		{[]string{"--rw=write", "--size=1m", "--bs=16k"}, 32, "each clone writes and reads back its own 1/2"},
		{[]string{"--rw=write", "--size=1m", "--bs=16k", "--offset_increment=2m"}, 64, ""},
		{[]string{"--rw=randwrite", "--size=1m", "--bs=16k", "--offset_increment=2m", "--iodepth=8"}, 64, ""},
		// A quarter of the 8 MiB file: 2 MiB, as above.
		{[]string{"--rw=write", "--size=1m", "--bs=16k", "--offset_increment=25%"}, 64, ""},
	} {
		code, out, errs := run(t, append([]string{"--filename=" + path, "--name=s", "--numjobs=2", "--verify=crc32c", "--output-format=json"}, c.args...)...)
		var got struct{ Jobs []job }
		if err := json.Unmarshal([]byte(out), &got); code != 0 || err != nil || len(got.Jobs) != 2 {
			t.Fatalf("%v: exit %d (%s), %v:\n%s", c.args, code, errs, err, out)
		}
		for i, j := range got.Jobs {
			if j.Write.TotalIOs != c.writes || j.Read.TotalIOs != c.writes {
				t.Errorf("%v: clone %d wrote %d blocks and read back %d; want %d each", c.args, i, j.Write.TotalIOs, j.Read.TotalIOs, c.writes)
			}
		}
		if c.notice != "" && !strings.Contains(errs, c.notice) || c.notice == "" && strings.Contains(errs, "notice") {
			t.Errorf("%v: stderr %q, want notice %q", c.args, errs, c.notice)
		}
	}
	code, out, errs = run(t, append(common, "--rw=read", "--verify_only")...)
	if j := decode(out); code != 0 || j.Read.IOBytes != 8<<20 || j.Read.TotalIOs != 2048 {
		t.Errorf("verify_only: exit %d (%s), read %d bytes in %d I/Os", code, errs, j.Read.IOBytes, j.Read.TotalIOs)
	}
	f, _ := os.OpenFile(path, os.O_RDWR, 0)
	f.WriteAt([]byte{0xff}, 9*4096+7)
	f.WriteAt([]byte{0xff}, 3*4096+100)
	f.WriteAt([]byte{0xff}, 12*4096+1)
	f.Close()
	for range 5 {
		code, out, _ = run(t, "--filename="+path, "--size=8m", "--verify=crc32c", "--bs=4k", "--iodepth=16", "--rw=read", "--verify_only")
		if code != 1 || !strings.Contains(out, "offset 12288") {
			t.Fatalf("corrupted at blocks 3, 9 and 12: exit %d, want block 3 (offset 12288) named:\n%s", code, out)
		}
	}
}

// TestFileTarget checks the memory-speed target of the bench's mapper-cost
// sweep: a sparse file of the asked size, readable by a job with O_DIRECT,
// removed by Close.
func TestFileTarget(t *testing.T) {
	tgt, err := FileTarget(64 << 20)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(tgt.Path)
	if err != nil || st.Size() != 64<<20 || tgt.loop != nil || !tgt.Created {
		t.Fatalf("target %+v: stat %v, %v", tgt, st, err)
	}
	var out, errOut bytes.Buffer
	code := Main([]string{"--filename=" + tgt.Path, "--rw=randread", "--bs=4k", "--size=16m", "--runtime=200ms",
		"--time_based", "--mapper=scattered", "--extents=1024", "--warm", "--output-format=json"}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	var got fioJSON
	if err := json.Unmarshal(out.Bytes(), &got); err != nil || len(got.Jobs) != 1 || got.Jobs[0].Read.TotalIOs == 0 {
		t.Fatalf("no reads in %s (%v)", out.String(), err)
	}
	if err := tgt.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Dir(tgt.Path)); !os.IsNotExist(err) {
		t.Fatalf("Close left %s behind: %v", filepath.Dir(tgt.Path), err)
	}
}

// ioengine=null runs the engine's whole path with no device I/O and no
// system calls, as fio's null engine: it reports I/O, enters no ring, says
// so in the ring line, leaves the target untouched, and refuses verify
// (nothing reaches the device).
func TestNullEngine(t *testing.T) {
	dir := t.TempDir()
	target := zeroTarget(t, dir)
	code, out, errOut := run(t, "--filename="+target, "--ioengine=null", "--rw=randwrite", "--bs=4k", "--iodepth=8",
		"--size=4m", "--output-format=json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	ms, order, err := ParseFioJSON([]byte(out))
	if err != nil || len(order) != 1 || ms[order[0]].IOPS <= 0 || ms[order[0]].EntersPerIO != 0 {
		t.Fatalf("null run: %v %v %+v", err, order, ms)
	}
	if !strings.Contains(out, "null (no device I/O and no system calls") {
		t.Error("the JSON's io_uring line does not say the ring is null")
	}
	if b, _ := os.ReadFile(target); !bytes.Equal(b, make([]byte, 8<<20)) {
		t.Error("a null write job changed the target")
	}
	if code, _, errOut := run(t, "--filename="+target, "--ioengine=null", "--rw=write", "--size=4m", "--verify=crc32c"); code != 2 || !strings.Contains(errOut, "nothing to verify") {
		t.Errorf("null with verify: exit %d, %s", code, errOut)
	}
}

// TestGroupReportingJobs: group_reporting merges the jobs of a reporting
// group (the jobs that run together, split by new_group) into one result
// named after the first, as fio 3.33 reports this file: a (16384 reads)
// with b (2 clones, 2048 writes of 64 KiB) as "a" in group 0; c and d
// (16384 reads each) as "c" in group 1, new_group's.
func TestGroupReportingJobs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "g.fio")
	src := "[global]\nioengine=null\nsize=64m\ngroup_reporting\n[a]\nrw=read\n[b]\nrw=write\nbs=64k\nnumjobs=2\n[c]\nnew_group\nrw=randread\n[d]\nrw=read\n"
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs := run(t, path, "--output-format=json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	type dir struct {
		TotalIOs uint64 `json:"total_ios"`
	}
	var doc struct {
		Jobs []struct {
			JobName string `json:"jobname"`
			GroupID int    `json:"groupid"`
			Read    dir
			Write   dir
			IOBench struct {
				Clones int `json:"clones"`
			} `json:"iobench"`
		}
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	type got struct {
		name          string
		group         int
		reads, writes uint64
		clones        int
	}
	var jobs []got
	for _, j := range doc.Jobs {
		jobs = append(jobs, got{j.JobName, j.GroupID, j.Read.TotalIOs, j.Write.TotalIOs, j.IOBench.Clones})
	}
	want := []got{{"a", 0, 16384, 2048, 3}, {"c", 1, 32768, 0, 2}}
	if !slices.Equal(jobs, want) {
		t.Errorf("jobs %+v, want %+v (fio 3.33's)", jobs, want)
	}
	code, out, _ = run(t, path)
	if code != 0 || !strings.Contains(out, "\na: (groupid=0, jobs=3): err= 0: ") ||
		!strings.Contains(out, "  job          : rw=read ") || !strings.Contains(out, ", group_reporting over jobs a, b\n") || !strings.Contains(out, "Run status group 1") {
		t.Errorf("normal report:\n%s", out)
	}
}

// TestAddStatsEveryField: addStats adds every field of engine.Stats, so a
// field added to it later is not left out of a merged group's report;
// the most in flight and the clock's steps (every engine sees the same
// steps) take the larger.
func TestAddStatsEveryField(t *testing.T) {
	var one engine.Stats
	v := reflect.ValueOf(&one).Elem()
	for i := range v.NumField() {
		if f := v.Field(i); f.CanUint() {
			f.SetUint(1)
		} else {
			f.SetInt(1)
		}
	}
	sum := reflect.ValueOf(addStats(one, one))
	for i := range sum.NumField() {
		name := sum.Type().Field(i).Name
		want := uint64(2)
		if name == "MaxInFlight" || name == "ClockSteps" || name == "ClockStepMax" {
			want = 1
		}
		got := uint64(0)
		if f := sum.Field(i); f.CanUint() {
			got = f.Uint()
		} else {
			got = uint64(f.Int())
		}
		if got != want {
			t.Errorf("%s: %d, want %d", name, got, want)
		}
	}
}

// TestSayAutoTarget: a job of the user's that names no file is told on
// stderr that it runs on the automatic target (where fio would lay out
// JOB.N.0 in the working directory), naming the target; a null job, a job
// with directory= and the default suite are not.
func TestSayAutoTarget(t *testing.T) {
	const said = "no filename= or directory=, so"
	code, _, errOut := run(t, "--name=a", "--rw=read", "--size=1m", "--bs=64k", "--name=b", "--rw=write", "--size=1m", "--bs=64k")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(errOut, `iobench: jobs "a", "b" name `+said+" they run on iobench's automatic target, ") ||
		!strings.Contains(errOut, "fio would lay out files named JOB.N.0 in the working directory") {
		t.Errorf("two jobs on the automatic target: stderr %q", errOut)
	}
	if os.Geteuid() == 0 && !strings.Contains(errOut, "target, loop device /dev/loop") {
		t.Errorf("the target is not named: %q", errOut)
	}
	dir := t.TempDir()
	for _, args := range [][]string{
		{"--name=n", "--ioengine=null", "--size=1m"},
		{"--name=d", "--rw=read", "--size=1m", "--bs=64k", "--directory=" + dir},
	} {
		code, _, errOut := run(t, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errOut)
		}
		if strings.Contains(errOut, said) {
			t.Errorf("%v: told of an automatic target: %q", args, errOut)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "d.0.0")); err != nil {
		t.Errorf("directory= did not lay out d.0.0 as fio does: %v", err)
	}
}

// TestVerifyEndsAtRuntime: a verifying job that its runtime stops before
// its size reads nothing back after it, as fio 3.33's job ends at its
// runtime (its io_uring job of --rw=randwrite --size=2g --runtime=1
// --verify=md5 wrote 163 MiB and read none in 1000 ms). iobench read
// back all it had written after the runtime, taking up to twice the
// runtime.
func TestVerifyEndsAtRuntime(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir) // where a stopped verify job saves its state (verify_state_save)
	path := filepath.Join(dir, "target.img")
	for _, extra := range [][]string{
		{"--size=256m", "--runtime=100ms"}, // more than 100 ms of 4 KiB writes
	} {
		args := append([]string{"--name=v", "--filename=" + path, "--rw=randwrite", "--bs=4k", "--iodepth=8", "--direct=0",
			"--verify=crc32c", "--output-format=json"}, extra...)
		code, out, errOut := run(t, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", extra, code, errOut)
		}
		var doc struct {
			Jobs []struct {
				Read, Write struct {
					TotalIOs uint64 `json:"total_ios"`
				}
			}
		}
		if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Jobs) != 1 {
			t.Fatalf("%v: %v\n%s", extra, err, out)
		}
		j := doc.Jobs[0]
		if j.Write.TotalIOs == 0 || j.Write.TotalIOs*4096 >= 256<<20 {
			t.Fatalf("%v: %d writes: the runtime did not stop the job", extra, j.Write.TotalIOs)
		}
		if j.Read.TotalIOs != 0 {
			t.Errorf("%v: %d reads after the runtime stopped %d writes; fio reads none", extra, j.Read.TotalIOs, j.Write.TotalIOs)
		}
	}
}

// TestTimeBasedVerifyPasses: a time_based verifying job reads back each
// pass of its region before the next, within its runtime, as fio 3.33's
// io_uring engine does: with a random map over 16 blocks, 16 writes, the
// same 16 blocks read back in the order written, 16 writes, and so on,
// the last pass cut short by the runtime. iobench wrote for the whole
// runtime and read back every write after it. fio's log, where fio is
// installed, has the same shape.
func TestTimeBasedVerifyPasses(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir) // where a stopped verify job saves its state (verify_state_save)
	args := []string{"--name=v", "--rw=randwrite", "--bs=4k", "--size=64k", "--time_based", "--runtime=300ms", "--iodepth=4",
		"--verify=crc32c", "--output-format=terse"}
	check := func(tool string, ios []string) {
		t.Helper()
		type run struct {
			op   string
			offs []string
		}
		var runs []run
		for _, l := range ios {
			f := strings.Fields(l) // path op offset length
			if len(runs) == 0 || runs[len(runs)-1].op != f[1] {
				runs = append(runs, run{op: f[1]})
			}
			runs[len(runs)-1].offs = append(runs[len(runs)-1].offs, f[2])
		}
		if len(runs) < 5 || runs[0].op != "write" {
			t.Fatalf("%s: %d runs of reads and writes, want passes of 16 writes and 16 reads in turn", tool, len(runs))
		}
		for k, r := range runs[:len(runs)-1] { // the last one the runtime cut
			if len(r.offs) != 16 || r.op == "read" && !slices.Equal(r.offs, runs[k-1].offs) {
				t.Fatalf("%s: run %d: %d %ss (want 16; reads as the pass's writes): %v", tool, k, len(r.offs), r.op, r.offs)
			}
		}
	}
	ilog := filepath.Join(dir, "i.log")
	if code, _, errOut := run(t, append(args, "--filename="+filepath.Join(dir, "i"), "--direct=0", "--write_iolog="+ilog)...); code != 0 {
		t.Fatalf("iobench: exit %d: %s", code, errOut)
	}
	check("iobench", iologIOs(t, ilog))
	fio, err := exec.LookPath("fio")
	if err != nil {
		return
	}
	flog := filepath.Join(dir, "f.log")
	if out, err := exec.Command(fio, append(args, "--filename="+filepath.Join(dir, "f"), "--ioengine=io_uring", "--write_iolog="+flog)...).CombinedOutput(); err != nil {
		t.Fatalf("fio: %v\n%s", err, out)
	}
	check("fio", iologIOs(t, flog))
}

// TestClatMeasuredWithinSubmission: an I/O that completes within the
// call that submits it (every I/O of the null engine) has its clat
// measured from a clock reading of its own after the submission, as
// fio's is: some tens of ns, not the 0 that reusing the slat's reading
// gave (printed as min=1 by the histogram).
func TestClatMeasuredWithinSubmission(t *testing.T) {
	code, out, errs := run(t, "--name=n", "--ioengine=null", "--rw=randread", "--bs=4k", "--size=16m", "--output-format=json")
	var doc struct {
		Jobs []struct {
			Read fioJSONDir `json:"read"`
		} `json:"jobs"`
	}
	if err := json.Unmarshal([]byte(out), &doc); code != 0 || err != nil || len(doc.Jobs) != 1 {
		t.Fatalf("exit %d, %v: %s", code, err, errs)
	}
	c := doc.Jobs[0].Read.ClatNs
	if c.N != 4096 || c.Min < 5 || c.Percentile["50.000000"] < 5 {
		t.Errorf("clat of %d null I/Os: min %d ns, p50 %d ns; want each measured (fio's null engine: 10-20 ns)", c.N, c.Min, c.Percentile["50.000000"])
	}
}

// TestVerifyWritesOnlyTheJobsIO: a writing job with verify writes its own
// I/O and nothing else first, as fio's (iobench once laid verify blocks
// over the whole region before the run: 6.8 s for 2 GiB). A mixed job's
// reads are not checked, as fio's are not, so it runs on a region that
// holds what no verifying job wrote; its writes are read back and
// checked. A reading job still checks all it reads.
func TestVerifyWritesOnlyTheJobsIO(t *testing.T) {
	dir, err := os.MkdirTemp("/dev/shm", "iobench-verify-") // tmpfs: memory, not the disk
	if err != nil {
		dir = t.TempDir()
	} else {
		t.Cleanup(func() { os.RemoveAll(dir) })
	}
	headers := func(path string) int {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for k := 0; k+4 <= len(b); k += 4096 {
			if string(b[k:k+4]) == "IOBv" {
				n++
			}
		}
		return n
	}
	big := filepath.Join(dir, "big")
	code, out, errs := run(t, "--name=p", "--filename="+big, "--direct=0", "--rw=randwrite", "--bs=4k",
		"--size=256m", "--verify=crc32c", "--number_ios=3")
	if code != 0 || !strings.Contains(out, "12 KiB checked, no mismatch") {
		t.Fatalf("write job: exit %d\n%s%s", code, out, errs)
	}
	if n := headers(big); n != 3 {
		t.Errorf("a job of 3 writes left %d verify blocks in its 256 MiB region, want 3", n)
	}
	noise := filepath.Join(dir, "noise")
	b := make([]byte, 4<<20)
	rand.New(rand.NewSource(1)).Read(b)
	if err := os.WriteFile(noise, b, 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs = run(t, "--name=m", "--filename="+noise, "--rw=randrw", "--bs=4k", "--size=4m", "--verify=crc32c", "--iodepth=8")
	if code != 0 || !strings.Contains(out, "checked, no mismatch") {
		t.Errorf("mixed job on a region of noise: exit %d\n%s%s", code, out, errs)
	}
	if n := headers(noise); n == 0 || n == 1024 {
		t.Errorf("the mixed job left %d verify blocks of 1024, want its writes' share", n)
	}
	code, out, errs = run(t, "--name=r", "--filename="+noise, "--rw=read", "--bs=4k", "--size=4m", "--verify=crc32c")
	if code != 1 || !strings.Contains(out, "bad magic") {
		t.Errorf("reading job on a region partly noise: exit %d, want 1 and a bad magic\n%s%s", code, out, errs)
	}
}

// TestVerifyOnlyLostBlock: verify_only of a job that writes every block
// of its region (one pass of sequential writes, or of random writes with
// a random map) fails on a block with no verify header, as fio's would:
// that block was lost (here: zeroed). A job that writes part of its region
// (a mixed one, number_ios) has its blocks with no header counted, not
// checked; a region with none at all fails.
func TestVerifyOnlyLostBlock(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		job  []string
		code int
		want string
	}{
		{[]string{"--rw=randwrite"}, 1, "block at offset 409600: bad magic"},
		{[]string{"--rw=write", "--bs=8k"}, 1, "block at offset 409600: bad magic"},
		{[]string{"--rw=randwrite", "--number_ios=1000"}, 0, "of the region not checked: no verify header"},
		{[]string{"--rw=randwrite", "--norandommap"}, 0, "of the region not checked: no verify header"},
		{[]string{"--rw=randwrite", "--blockalign=8k"}, 0, "of the region not checked: no verify header"}, // every other block
		{[]string{"--rw=randwrite", "--bs=4k,8k"}, 0, "of the region not checked: no verify header"},      // its pass ends short
		{[]string{"--rw=write", "--runtime=10"}, 0, "of the region not checked: no verify header"},        // a runtime may cut it
	} {
		path := filepath.Join(dir, "t")
		os.Remove(path)
		job := append([]string{"--name=v", "--filename=" + path, "--bs=4k", "--size=4m", "--verify=crc32c"}, c.job...)
		if code, out, errs := run(t, job...); code != 0 {
			t.Fatalf("%q: exit %d\n%s%s", c.job, code, out, errs)
		}
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.WriteAt(make([]byte, 4096), 409600) // a lost write: zeros
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		code, out, errs := run(t, append(job, "--verify_only")...)
		if code != c.code || !strings.Contains(out, c.want) {
			t.Errorf("%q, a block zeroed: verify_only exit %d, want %d and %q\n%s%s", c.job, code, c.code, c.want, out, errs)
		}
	}
	zeros := filepath.Join(dir, "zeros")
	if err := os.WriteFile(zeros, make([]byte, 1<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errs := run(t, "--name=v", "--filename="+zeros, "--rw=randrw", "--size=1m", "--verify=crc32c", "--verify_only")
	if code != 1 || !strings.Contains(errs, "no block of the job's region (1.0 MiB) carries a verify header") {
		t.Errorf("verify_only of a mixed job over zeros: exit %d, %q", code, errs)
	}
	code, _, errs = run(t, "--name=v", "--filename="+zeros, "--rw=write", "--size=1m", "--verify=crc32c", "--verify_only")
	if code != 1 || !strings.Contains(errs, "block at offset 0: bad magic") || !strings.Contains(errs, "has the job run without verify_only on this target?") {
		t.Errorf("verify_only of a writing job over zeros: exit %d, %q", code, errs)
	}
}

// TestClonePids: each clone's block gives the id of the thread it ran on,
// as fio's gives each job thread's, so that clones running at once show
// pids of their own (iobench gave every clone the process's).
func TestClonePids(t *testing.T) {
	code, out, errs := run(t, "--name=p", "--numjobs=3", "--ioengine=null", "--size=1m", "--time_based", "--runtime=100ms")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	pids := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^p: \(groupid=0, jobs=1\): err= 0: pid=(\d+): `).FindAllStringSubmatch(out, -1) {
		pids[m[1]] = true
	}
	if len(pids) != 3 || pids["0"] {
		t.Errorf("3 clones running at once showed pids %v, want 3 different threads'\n%s", pids, out)
	}
}

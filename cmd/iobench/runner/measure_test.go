package runner

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"unsafe"

	"github.com/iobench/iobench/device/looptest"
	"golang.org/x/sys/unix"
)

// jsonRunOf runs iobench with args plus --output-format=json and returns
// the decoded jobs and the raw JSON.
func jsonRunOf(t *testing.T, args ...string) ([]map[string]any, string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root for the loop device target")
	}
	args = append(args, "--output-format=json", "--target-size=128m")
	code, out, errs := run(t, args...)
	if code != 0 {
		t.Fatalf("%v: exit %d: %s", args, code, errs)
	}
	var doc struct {
		Jobs []map[string]any `json:"jobs"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("JSON: %v\n%s", err, out)
	}
	return doc.Jobs, out
}

// num reads a number at a path of keys in a decoded JSON object.
func num(t *testing.T, m map[string]any, path ...string) float64 {
	t.Helper()
	var v any = m
	for _, k := range path {
		o, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("%v: %q is not an object", path, k)
		}
		v = o[k]
	}
	f, ok := v.(float64)
	if !ok {
		t.Fatalf("%v: not a number: %v", path, v)
	}
	return f
}

// TestLatencySplitAndSamples: slat, clat and lat are measured separately
// (lat = slat + clat per I/O, so their means add up), bandwidth and IOPS
// are sampled every bwavgtime/iopsavgtime, and percentiles come out in
// numeric order.
func TestLatencySplitAndSamples(t *testing.T) {
	jobs, raw := jsonRunOf(t, "--name=s", "--rw=randread", "--bs=4k", "--iodepth=16", "--runtime=1200ms",
		"--time_based", "--size=32m", "--bwavgtime=200", "--iopsavgtime=300")
	j := jobs[0]
	n := num(t, j, "read", "total_ios")
	for _, l := range []string{"slat_ns", "clat_ns", "lat_ns"} {
		if got := num(t, j, "read", l, "N"); got != n {
			t.Errorf("%s N = %v, want %v I/Os", l, got, n)
		}
		if num(t, j, "read", l, "mean") <= 0 {
			t.Errorf("%s mean is 0", l)
		}
	}
	slat, clat, lat := num(t, j, "read", "slat_ns", "mean"), num(t, j, "read", "clat_ns", "mean"), num(t, j, "read", "lat_ns", "mean")
	if math.Abs(slat+clat-lat) > 0.01*lat {
		t.Errorf("slat %.0f + clat %.0f != lat %.0f", slat, clat, lat)
	}
	if clat >= lat {
		t.Errorf("clat %.0f is not below lat %.0f", clat, lat)
	}
	// 1.2 s sampled every 200 ms and 300 ms.
	bws, iopss := num(t, j, "read", "bw_samples"), num(t, j, "read", "iops_samples")
	if bws < 5 || bws > 7 || iopss < 3 || iopss > 5 {
		t.Errorf("bw_samples %v (want about 6), iops_samples %v (want about 4)", bws, iopss)
	}
	lo, mean, hi := num(t, j, "read", "iops_min"), num(t, j, "read", "iops_mean"), num(t, j, "read", "iops_max")
	if !(lo <= mean && mean <= hi) || lo == hi {
		t.Errorf("iops min %v mean %v max %v: not real samples", lo, mean, hi)
	}
	if iops := num(t, j, "read", "iops"); math.Abs(mean-iops) > 0.25*iops {
		t.Errorf("iops_mean %v far from the run's %v IOPS", mean, iops)
	}
	blo, bmean, bhi := num(t, j, "read", "bw_min"), num(t, j, "read", "bw_mean"), num(t, j, "read", "bw_max")
	if !(blo <= bmean && bmean <= bhi) || num(t, j, "read", "bw_dev") <= 0 || num(t, j, "read", "iops_stddev") <= 0 {
		t.Errorf("bw min %v mean %v max %v dev %v", blo, bmean, bhi, num(t, j, "read", "bw_dev"))
	}
	if math.Abs(num(t, j, "read", "bw_agg")-100) > 25 {
		t.Errorf("bw_agg %v: the only job should have about 100%% of its group", num(t, j, "read", "bw_agg"))
	}
	// Numeric order of the percentile keys.
	i5, i10 := strings.Index(raw, `"5.000000"`), strings.Index(raw, `"10.000000"`)
	if i5 < 0 || i10 < 0 || i5 > i10 {
		t.Errorf("percentiles not in numeric order (5 at %d, 10 at %d)", i5, i10)
	}
	if num(t, j, "iobench", "cpu_us_per_io") <= 0 || num(t, j, "ctx") <= 0 {
		t.Errorf("cpu_us_per_io %v, ctx %v", num(t, j, "iobench", "cpu_us_per_io"), num(t, j, "ctx"))
	}
	_ = num(t, j, "iobench", "vol_ctx_per_io")
}

// TestPercentileSwitches: percentile_list picks the percentiles, and
// clat/lat/slat_percentiles pick the histograms that report them.
func TestPercentileSwitches(t *testing.T) {
	jobs, _ := jsonRunOf(t, "--name=p", "--rw=randread", "--runtime=300ms", "--time_based", "--size=16m",
		"--percentile_list=99.5:50", "--lat_percentiles=1", "--clat_percentiles=0", "--slat_percentiles=1")
	rd := jobs[0]["read"].(map[string]any)
	if _, ok := rd["clat_ns"].(map[string]any)["percentile"]; ok {
		t.Errorf("clat_percentiles=0 but clat_ns has percentiles")
	}
	for _, l := range []string{"lat_ns", "slat_ns"} {
		p, _ := rd[l].(map[string]any)["percentile"].(map[string]any)
		if len(p) != 2 || p["50.000000"] == nil || p["99.500000"] == nil {
			t.Errorf("%s percentiles %v, want 50 and 99.5", l, p)
		}
	}
	jobs, _ = jsonRunOf(t, "--name=g", "--rw=randread", "--runtime=1200ms", "--time_based", "--size=16m", "--gtod_reduce=1")
	rd = jobs[0]["read"].(map[string]any)
	for _, k := range []string{"slat_ns", "clat_ns", "lat_ns"} {
		if n := rd[k].(map[string]any)["N"].(float64); n != 0 {
			t.Errorf("gtod_reduce: %s has %v samples", k, n)
		}
	}
	// fio 3.33 still samples bandwidth and IOPS under gtod_reduce (and
	// disable_bw_measurement): at 500 and 1000 ms of a 1.2 s run.
	if rd["bw_samples"].(float64) != 2 || rd["iops_samples"].(float64) != 2 || rd["total_ios"].(float64) == 0 || rd["bw_mean"].(float64) <= 0 {
		t.Errorf("gtod_reduce: bw_samples %v, iops_samples %v, bw_mean %v, total_ios %v; want 2, 2 and measured", rd["bw_samples"], rd["iops_samples"], rd["bw_mean"], rd["total_ios"])
	}
}

// TestPerJobCPU: two concurrent jobs each get their own threads' CPU
// time, not the process's: the one that does a hundredth of the I/O
// uses far less CPU.
func TestPerJobCPU(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for the loop device target")
	}
	path := filepath.Join(t.TempDir(), "two.fio")
	os.WriteFile(path, []byte("[busy]\nrw=randread\niodepth=16\nruntime=800ms\ntime_based\nsize=32m\n\n[idle]\nrw=read\nbs=64k\nsize=1m\n"), 0o644)
	jobs, _ := jsonRunOf(t, path)
	if len(jobs) != 2 {
		t.Fatalf("%d jobs", len(jobs))
	}
	cpu := func(j map[string]any) float64 {
		return num(t, j, "iobench", "cpu_us_per_io") * (num(t, j, "read", "total_ios") + num(t, j, "write", "total_ios"))
	}
	busy, idle := cpu(jobs[0]), cpu(jobs[1])
	if busy <= 0 || idle <= 0 || idle*5 > busy {
		t.Errorf("CPU µs: busy job %.0f, idle job %.0f: not per job", busy, idle)
	}
	if num(t, jobs[1], "read", "total_ios") != 16 {
		t.Errorf("idle job: %v I/Os, want 16", num(t, jobs[1], "read", "total_ios"))
	}
}

// TestClonesAndGroupReporting: numjobs clones report one by one, or as
// one with group_reporting; loops repeats the pass.
func TestClonesAndGroupReporting(t *testing.T) {
	args := []string{"--name=c", "--rw=read", "--bs=64k", "--size=2m", "--numjobs=2", "--loops=3"}
	jobs, _ := jsonRunOf(t, args...)
	if len(jobs) != 2 {
		t.Fatalf("numjobs=2: %d job entries, want 2", len(jobs))
	}
	for i, j := range jobs {
		if j["jobname"] != "c" || num(t, j, "iobench", "clone") != float64(i) || num(t, j, "read", "total_ios") != 96 {
			t.Errorf("clone %d: name %v clone %v ios %v (want 3 loops x 32)", i, j["jobname"], num(t, j, "iobench", "clone"), num(t, j, "read", "total_ios"))
		}
	}
	jobs, _ = jsonRunOf(t, append(args, "--group_reporting")...)
	if len(jobs) != 1 || num(t, jobs[0], "read", "total_ios") != 192 || num(t, jobs[0], "read", "clat_ns", "N") != 192 {
		t.Fatalf("group_reporting: %d entries, %v I/Os", len(jobs), num(t, jobs[0], "read", "total_ios"))
	}
}

// TestKBBaseAndPinning: kb_base=1000 changes the bytes a job moves;
// cpus_allowed pins the job's thread (as the kernel reports it).
func TestKBBaseAndPinning(t *testing.T) {
	jobs, _ := jsonRunOf(t, "--name=k", "--kb_base=1000", "--rw=read", "--bs=64kib", "--size=8m", "--cpus_allowed=0")
	// 8m is 8,000,000 bytes: 122 whole 64 KiB blocks.
	if got := num(t, jobs[0], "read", "io_bytes"); got != 122*65536 {
		t.Errorf("kb_base=1000: %v bytes, want %d", got, 122*65536)
	}
	cpus, _ := jobs[0]["iobench"].(map[string]any)["cpus_allowed"].([]any)
	if len(cpus) != 1 || cpus[0].(float64) != 0 {
		t.Errorf("cpus_allowed=0: the thread ran on %v", cpus)
	}
}

// TestCPUsSplit: cpus_allowed_policy=split gives each thread of the run
// one CPU of the set, in turn across jobs, as fio numbers its threads.
func TestCPUsSplit(t *testing.T) {
	if runtime.NumCPU() < 2 {
		t.Skip("needs two CPUs")
	}
	jobFile := filepath.Join(t.TempDir(), "split.fio")
	text := "[global]\nrw=read\nbs=64k\nsize=4m\ncpus_allowed=0-1\ncpus_allowed_policy=split\n[a]\nnumjobs=3\n[b]\nnumjobs=2\n"
	if err := os.WriteFile(jobFile, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	jobs, _ := jsonRunOf(t, jobFile)
	want := []float64{0, 1, 0, 1, 0}
	if len(jobs) != len(want) {
		t.Fatalf("%d job reports, want %d", len(jobs), len(want))
	}
	for i, j := range jobs {
		cpus, _ := j["iobench"].(map[string]any)["cpus_allowed"].([]any)
		if len(cpus) != 1 || cpus[0].(float64) != want[i] {
			t.Errorf("thread %d (%v): ran on CPUs %v, want [%v]", i+1, j["jobname"], cpus, want[i])
		}
	}
}

// TestBufferedGoesThroughPageCache: direct=0 reads fill the page cache
// of a regular file; direct=1 reads do not.
func TestBufferedGoesThroughPageCache(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	dir, err := os.MkdirTemp("/var/tmp", "iobench-buffered-")
	if err != nil {
		t.Skip(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "f")
	// 64 MiB: more than the 8 MiB read-ahead machines here use, so that
	// reading the start of the file leaves its end uncached.
	const fileBytes = 64 << 20
	if err := os.WriteFile(path, make([]byte, fileBytes), 0o600); err != nil {
		t.Fatal(err)
	}
	resident := func() int {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		m, err := unix.Mmap(int(f.Fd()), 0, fileBytes, unix.PROT_READ, unix.MAP_SHARED)
		if err != nil {
			t.Fatal(err)
		}
		defer unix.Munmap(m)
		vec := make([]byte, fileBytes/os.Getpagesize())
		if _, _, e := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)), uintptr(unsafe.Pointer(&vec[0]))); e != 0 {
			t.Fatal(e)
		}
		n := 0
		for _, v := range vec {
			n += int(v & 1)
		}
		return n
	}
	drop := func() {
		f, _ := os.Open(path)
		_ = unix.Fdatasync(int(f.Fd()))
		_ = unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
		f.Close()
	}
	drop()
	if n := resident(); n > 16 {
		t.Skipf("cannot drop the file's pages here (%d resident)", n)
	}
	if code, _, errs := run(t, "--name=d", "--rw=read", "--bs=64k", "--size=8m", "--filename="+path); code != 0 {
		t.Fatalf("direct: exit %d: %s", code, errs)
	}
	if n := resident(); n > 16 {
		t.Errorf("direct=1 left %d pages in the page cache", n)
	}
	if code, _, errs := run(t, "--name=b", "--rw=read", "--bs=64k", "--size=8m", "--direct=0", "--filename="+path); code != 0 {
		t.Fatalf("buffered: exit %d: %s", code, errs)
	}
	if n := resident(); n < 2048-16 {
		t.Errorf("direct=0 read 8 MiB but only %d of 2048 pages are cached", n)
	}
	// invalidate (the default) drops the cache before the job: reading
	// the first 4 MiB leaves most of the rest uncached; invalidate=0
	// keeps it, but for what the kernel reclaims meanwhile (other
	// packages' tests fill tmpfs with GiBs: 32 of the 16384 pages went
	// in one CI run), so it is held to seven eighths.
	for _, inv := range []string{"1", "0"} {
		if _, err := os.ReadFile(path); err != nil {
			t.Fatal(err)
		}
		if code, _, errs := run(t, "--name=h", "--rw=read", "--bs=64k", "--size=4m", "--direct=0", "--invalidate="+inv, "--filename="+path); code != 0 {
			t.Fatalf("invalidate=%s: exit %d: %s", inv, code, errs)
		}
		n, all := resident(), fileBytes/os.Getpagesize()
		if inv == "1" && (n < 1024-16 || n > all/2) || inv == "0" && n < all*7/8 {
			t.Errorf("invalidate=%s: %d of %d pages cached after reading 4 MiB", inv, n, all)
		}
	}
}

// TestFlushes: fdatasync=1 flushes after every write but the last (as
// fio counts them), end_fsync once more, and each flush reaches the
// device (the loop device counts every flush as a write request). As in
// fio's JSON, the sync object's latencies count every flush and its
// total_ios only fsyncs. sync=dsync opens the target O_DSYNC.
func TestFlushes(t *testing.T) {
	jobs, raw := jsonRunOf(t, "--name=f", "--rw=write", "--bs=4k", "--size=1m", "--fdatasync=1", "--end_fsync=1")
	j := jobs[0]
	writes, syncs := num(t, j, "write", "total_ios"), num(t, j, "sync", "lat_ns", "N")
	if writes != 256 || syncs != 255 || num(t, j, "sync", "total_ios") != 0 || num(t, j, "sync", "lat_ns", "mean") <= 0 {
		t.Fatalf("%v writes, %v flushes, sync total_ios %v (fio's: 0 for fdatasync)", writes, syncs, num(t, j, "sync", "total_ios"))
	}
	fs, _ := jsonRunOf(t, "--name=s", "--rw=write", "--bs=4k", "--size=1m", "--fsync=4")
	if n, total := num(t, fs[0], "sync", "lat_ns", "N"), num(t, fs[0], "sync", "total_ios"); n != 63 || total != 63 {
		t.Errorf("fsync=4 over 256 writes: %v flushes timed, total_ios %v; want 63 each", n, total)
	}
	var doc struct {
		DiskUtil []struct {
			WriteIOs float64 `json:"write_ios"`
		} `json:"disk_util"`
	}
	json.Unmarshal([]byte(raw), &doc)
	if len(doc.DiskUtil) != 1 || doc.DiskUtil[0].WriteIOs != writes+syncs+1 {
		t.Errorf("the device saw %v write requests for %v writes, %v flushes and the end_fsync", doc.DiskUtil, writes, syncs)
	}
	code, _, errs := run(t, "--name=d", "--rw=write", "--size=1m", "--sync=dsync", "--target-size=128m")
	if code != 0 {
		t.Errorf("sync=dsync: exit %d: %s", code, errs)
	}
}

// TestSizesRun: size=N%, io_size, number_ios and bs ranges decide what
// a job moves, to the byte.
func TestSizesRun(t *testing.T) {
	jobs, _ := jsonRunOf(t, "--name=p", "--rw=read", "--bs=64k", "--size=25%",
		"--name=io", "--rw=read", "--bs=4k", "--size=1m", "--io_size=3m",
		"--name=n", "--rw=randwrite", "--bs=4k", "--number_ios=100",
		"--name=r", "--rw=randread", "--bsrange=4k-16k", "--size=8m", "--number_ios=400",
		"--name=exact", "--rw=randwrite", "--bsrange=4k-12k", "--size=8m", "--randseed=3")
	// 25% of the 128 MiB target.
	if got := num(t, jobs[0], "read", "io_bytes"); got != 32<<20 {
		t.Errorf("size=25%%: %v bytes", got)
	}
	if got := num(t, jobs[1], "read", "total_ios"); got != 768 {
		t.Errorf("io_size=3m over size=1m: %v I/Os, want 768", got)
	}
	if got := num(t, jobs[2], "write", "total_ios"); got != 100 {
		t.Errorf("number_ios=100: %v I/Os", got)
	}
	ios, bytes := num(t, jobs[3], "read", "total_ios"), num(t, jobs[3], "read", "io_bytes")
	if avg := bytes / ios; ios != 400 || avg < 8<<10 || avg > 12<<10 {
		t.Errorf("bsrange=4k-16k: %v I/Os averaging %v bytes (want about 10k)", ios, avg)
	}
	// Mixed sizes over a random map: each I/O is cut at the first block
	// done, so the job moves its size exactly, as fio's does.
	if got := num(t, jobs[4], "write", "io_bytes"); got != 8<<20 {
		t.Errorf("bsrange=4k-12k over size=8m: %v bytes, want 8 MiB exactly", got)
	}
}

// TestVerifyVariants: every verify hash round-trips through a writing
// job; verify=pattern writes the pattern itself (read back from the
// device); verify_backlog checks each write during the run and do_verify=0
// skips the pass at the end.
func TestVerifyVariants(t *testing.T) {
	for _, h := range []string{"crc32c", "crc32", "md5", "sha256", "xxhash", "meta"} {
		jobs, _ := jsonRunOf(t, "--name=v", "--rw=randwrite", "--size=2m", "--verify="+h, "--verify_interval=512", "--bs=4k")
		if num(t, jobs[0], "error") != 0 || num(t, jobs[0], "iobench", "verified_bytes") != 2<<20 {
			t.Errorf("verify=%s: error %v, verified %v", h, jobs[0]["error_text"], num(t, jobs[0], "iobench", "verified_bytes"))
		}
	}
	l := looptest.New(t, 64<<20, looptest.Options{})
	jobs, _ := jsonRunOf(t, "--name=p", "--rw=write", "--size=1m", "--verify=pattern", "--verify_pattern=0xdeadbeef", "--filename="+l.Path, "--force")
	if num(t, jobs[0], "iobench", "verified_bytes") != 1<<20 {
		t.Errorf("verify=pattern verified %v bytes", num(t, jobs[0], "iobench", "verified_bytes"))
	}
	data, err := os.ReadFile(l.Backing)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data[:1<<20], bytes.Repeat([]byte{0xde, 0xad, 0xbe, 0xef}, 1<<18)) {
		t.Errorf("the device does not hold the pattern")
	}
	// verify_offset: the headers sit that far into each 4 KiB block on
	// the device, and the run's own verify finds every block good.
	jobs, _ = jsonRunOf(t, "--name=o", "--rw=randwrite", "--size=1m", "--verify=md5", "--verify_offset=1000", "--filename="+l.Path, "--force")
	if num(t, jobs[0], "error") != 0 || num(t, jobs[0], "iobench", "verified_bytes") != 1<<20 {
		t.Errorf("verify_offset=1000: error %v, verified %v bytes", jobs[0]["error_text"], num(t, jobs[0], "iobench", "verified_bytes"))
	}
	if data, err = os.ReadFile(l.Backing); err != nil {
		t.Fatal(err)
	}
	for b := 0; b < 1<<20; b += 4096 {
		if string(data[b+1000:b+1004]) != "IOBv" || string(data[b:b+4]) == "IOBv" {
			t.Fatalf("verify_offset=1000: block at %d has %q at 0 and %q at 1000", b, data[b:b+4], data[b+1000:b+1004])
		}
	}
	jobs, _ = jsonRunOf(t, "--name=b", "--rw=randwrite", "--size=1m", "--verify=crc32c", "--verify_backlog=16", "--do_verify=0", "--iodepth=8")
	if v := num(t, jobs[0], "iobench", "verified_bytes"); v != num(t, jobs[0], "write", "io_bytes") {
		t.Errorf("verify_backlog with do_verify=0: verified %v of %v written bytes", v, num(t, jobs[0], "write", "io_bytes"))
	}
	// The backlog's reads are the job's reads, as fio's are, and a block
	// read back there is not read again at the end unless written again:
	// each write is checked once, but for those of the pass the runtime
	// cut, which fio's job does not read back (fio 3.33 with
	// verify_backlog=1024 over 1638 blocks for 1 s, time_based: 38423
	// writes, 37668 reads).
	for _, args := range [][]string{
		{"--rw=write", "--size=1m", "--verify_backlog=100"},
		{"--rw=write", "--size=1m", "--verify_backlog=64", "--time_based", "--runtime=300ms"},
	} {
		jobs, _ = jsonRunOf(t, append([]string{"--name=bl", "--verify=md5", "--iodepth=16"}, args...)...)
		reads, writes := num(t, jobs[0], "read", "total_ios"), num(t, jobs[0], "write", "total_ios")
		most := 0.0 // writes left unread: those of the pass the runtime cut (256 blocks)
		if slices.Contains(args, "--time_based") {
			most = 256
		}
		if reads > writes || writes-reads > most || writes < 256 || num(t, jobs[0], "iobench", "verified_bytes") != num(t, jobs[0], "read", "io_bytes") {
			t.Errorf("%v: %v writes, %v reads, verified %v bytes of %v written; want every write read back once",
				args, writes, reads, num(t, jobs[0], "iobench", "verified_bytes"), num(t, jobs[0], "write", "io_bytes"))
		}
	}
	// Without a random map a write drops the writes kept that it
	// overlaps, as fio's tree does: fewer reads than writes (fio 3.33,
	// iodepth=1: 256 writes, 222 reads, alike I/O for I/O in
	// TestRandomOffsetsAsFio's cases), each read checked.
	jobs, _ = jsonRunOf(t, "--name=bl", "--verify=md5", "--iodepth=16", "--rw=randwrite", "--size=1m", "--verify_backlog=64", "--norandommap", "--number_ios=1000")
	if reads, writes := num(t, jobs[0], "read", "total_ios"), num(t, jobs[0], "write", "total_ios"); reads >= writes || reads < 128 ||
		num(t, jobs[0], "iobench", "verified_bytes") != num(t, jobs[0], "read", "io_bytes") {
		t.Errorf("norandommap: %v writes, %v reads, verified %v bytes of %v read; want fewer reads than writes, each checked",
			writes, reads, num(t, jobs[0], "iobench", "verified_bytes"), num(t, jobs[0], "read", "io_bytes"))
	}
	jobs, _ = jsonRunOf(t, "--name=n", "--rw=randwrite", "--size=1m", "--verify=crc32c", "--do_verify=0")
	if v := num(t, jobs[0], "iobench", "verified_bytes"); v != 0 {
		t.Errorf("do_verify=0: verified %v bytes", v)
	}
}

// TestSkipPassAndLoops: a sequential job that skips (rw=read:N) ends its
// pass at the region's end, as fio's does, so it moves only the blocks
// between the skips, once per loop; number_ios counts per loop; io_size
// caps each loop's pass and is the job's least. The counts are fio 3.33's
// for the same jobs.
func TestSkipPassAndLoops(t *testing.T) {
	jobs, _ := jsonRunOf(t,
		"--name=skip", "--rw=read:8k", "--bs=4k", "--size=8m",
		"--name=skipw", "--rw=write:4k", "--bs=8k", "--size=8m",
		"--name=loops", "--rw=read:8k", "--bs=4k", "--size=8m", "--loops=2",
		"--name=nios", "--rw=read", "--bs=4k", "--size=8m", "--number_ios=10", "--loops=3",
		// io_size with loops: each loop moves at most io_size (and the
		// region at most), the job io_size at least.
		"--name=iosmall", "--rw=read", "--bs=4k", "--size=8m", "--io_size=4m", "--loops=2",
		"--name=iobig", "--rw=read", "--bs=4k", "--size=8m", "--io_size=16m", "--loops=3",
		"--name=iobig2", "--rw=randread", "--bs=4k", "--size=8m", "--io_size=16m", "--loops=2")
	for i, want := range []struct {
		dir string
		ios float64
	}{{"read", 683}, {"write", 683}, {"read", 1366}, {"read", 30}, {"read", 2048}, {"read", 6144}, {"read", 4096}} {
		if got := num(t, jobs[i], want.dir, "total_ios"); got != want.ios {
			t.Errorf("%v: %v %ss, want %v", jobs[i]["jobname"], got, want.dir, want.ios)
		}
	}
}

// TestSkipWrapsOverWholeTarget: a sequential job that skips over the
// whole of its target from offset 0 wraps to the start at the end, as
// fio's skip does, and moves its size each loop (rw=write:112k bs=16k
// over a fresh 32 MiB file, reduced from fio's cross-stripe-verify.fio:
// fio wrote 32 MiB where iobench wrote 4); its pass ends at the end where its last block
// ends there, and at the region's end where the region is shorter. The
// counts are fio 3.33's on the same 8 MiB file.
func TestSkipWrapsOverWholeTarget(t *testing.T) {
	target := zeroTarget(t, t.TempDir())
	for _, c := range []struct {
		args []string
		dir  string
		ios  float64
	}{
		{[]string{"--rw=read:8k"}, "read", 2048},
		{[]string{"--rw=read:8k", "--loops=2"}, "read", 4096},
		{[]string{"--rw=read:8k", "--io_size=2m", "--loops=2"}, "read", 1024},
		{[]string{"--rw=write:4k", "--bs=8k"}, "write", 683},
		{[]string{"--rw=read:8k", "--offset=4k"}, "read", 683},
		{[]string{"--rw=read:8k", "--size=4m"}, "read", 342},
	} {
		args := append([]string{"--name=s", "--filename=" + target, "--bs=4k", "--output-format=json"}, c.args...)
		code, out, errOut := run(t, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", c.args, code, errOut)
		}
		var doc struct {
			Jobs []map[string]any `json:"jobs"`
		}
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatal(err)
		}
		if got := num(t, doc.Jobs[0], c.dir, "total_ios"); got != c.ios {
			t.Errorf("%v: %v %ss, want %v (fio's)", c.args, got, c.dir, c.ios)
		}
	}
}

// TestTwoWritersOneDevice: two writing jobs of one group on one device
// run at once, as fio runs them (the second shares the first's hold on
// the device rather than being refused as in use).
func TestTwoWritersOneDevice(t *testing.T) {
	jobs, _ := jsonRunOf(t, "--name=a", "--rw=randwrite", "--bs=4k", "--size=4m",
		"--name=b", "--rw=write", "--bs=64k", "--size=4m", "--offset=8m")
	for i, want := range []float64{1024, 64} {
		if got, e := num(t, jobs[i], "write", "total_ios"), num(t, jobs[i], "error"); got != want || e != 0 {
			t.Errorf("%v: %v writes, error %v; want %v, 0", jobs[i]["jobname"], got, e, want)
		}
	}
}

// TestExperimentalVerify: fio's t0025.fio and t0026.fio (its first job,
// with two loops for time) run with experimental_verify=1, and their
// verify passes check every block written (the region after each loop); a value that is no boolean is
// refused, as fio refuses it.
func TestExperimentalVerify(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name, job string
		want      float64
	}{
		{"t0025.fio", "[job]\nfilename=" + filepath.Join(dir, "t0025file") + "\nsize=128k\nreadwrite=write\ndo_verify=1\nverify=md5\nexperimental_verify=1\n", 128 << 10},
		{"t0026.fio", "[job1]\nfilename=" + filepath.Join(dir, "t0026file") + "\nsize=1M\nreadwrite=randwrite\nloops=2\ndo_verify=1\nverify=md5\nexperimental_verify=1\n", 2 << 20}, // a pass checked after each loop, as fio's
	} {
		jf := writeJob(t, dir, c.name, c.job)
		code, out, errs := run(t, jf, "--output-format=json")
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", c.name, code, errs)
		}
		var doc struct {
			Jobs []map[string]any `json:"jobs"`
		}
		if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Jobs) != 1 {
			t.Fatalf("%s: JSON: %v", c.name, err)
		}
		if got := num(t, doc.Jobs[0], "iobench", "verified_bytes"); got != c.want {
			t.Errorf("%s: verified %v bytes, want %v", c.name, got, c.want)
		}
	}
	if code, _, errs := run(t, "--name=j", "--filename="+filepath.Join(dir, "x"), "--size=64k", "--rw=write", "--verify=md5", "--experimental_verify=maybe"); code != 2 || !strings.Contains(errs, "experimental_verify") {
		t.Errorf("experimental_verify=maybe: exit %d, %s", code, errs)
	}
}

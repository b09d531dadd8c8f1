package workloads

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseInheritanceAndUnits(t *testing.T) {
	src := `
; a comment
# another
[global]
bs=4k
iodepth = 8
runtime=1m
time_based
size=1g

[a]
rw=randread

[b]
rw=write
bs=128k,64k
stonewall
#iobench: mapper=cow cache=off

[global]
iodepth=2

[c]
rw=randrw
rwmixwrite=30
bssplit=4k/50:64k/40:1m/10
random_distribution=zoned:60/10:30/20:10/70
map_latency=5us
ioengine=io_uring
thread
`
	f, err := Parse(strings.NewReader(src), "test.fio")
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Jobs) != 3 {
		t.Fatalf("%d jobs", len(f.Jobs))
	}
	a, b, c := f.Jobs[0], f.Jobs[1], f.Jobs[2]
	if a.BS != [2]uint64{4096, 4096} || a.IODepth != 8 || a.Runtime != time.Minute || !a.TimeBased || a.Size != 1<<30 || a.RW != RandRead {
		t.Errorf("a did not inherit [global]: %s", a.String())
	}
	if b.BS != [2]uint64{128 << 10, 64 << 10} || !b.Stonewall || b.Mapper != "cow" || b.Cache {
		t.Errorf("b: %s", b.String())
	}
	if c.IODepth != 2 || a.IODepth != 8 {
		t.Errorf("later [global] leaked backwards or was lost: a %d c %d", a.IODepth, c.IODepth)
	}
	if c.RWMixRead != 70 || len(c.BSSplit[0]) != 3 || c.BSSplit[0][2].Size != 1<<20 || c.MapLatency != 5*time.Microsecond {
		t.Errorf("c: %s", c.String())
	}
	if c.Dist.Kind != "zoned" || len(c.Dist.Zones) != 3 {
		t.Errorf("c dist %v", c.Dist)
	}
	if len(f.Groups) != 2 || len(f.Groups[0]) != 1 || len(f.Groups[1]) != 2 {
		t.Errorf("groups %v", f.Groups)
	}
	var sawThread, sawPragmaHint bool
	var noEngine []string
	noDirect := 0
	for _, n := range f.Notices {
		sawThread = sawThread || strings.Contains(n, "thread: cannot change what is measured")
		sawPragmaHint = sawPragmaHint || strings.Contains(n, "map_latency is an iobench option")
		if strings.Contains(n, "no ioengine: fio runs such a job with its default engine, psync") {
			noEngine = append(noEngine, n)
		}
		if strings.HasPrefix(n, "test.fio:11: job \"a\" and 2 more: no direct: fio runs such a job buffered") {
			noDirect++
		}
	}
	// a and b give no ioengine (c does) and run at iodepth 8 (line 6);
	// no job gives direct (one notice, at the first job's line).
	if !sawThread || !sawPragmaHint || len(f.Notices) != 5 || len(noEngine) != 2 || noDirect != 1 ||
		!strings.HasPrefix(noEngine[0], "test.fio:6: job \"a\"") || !strings.HasPrefix(noEngine[1], "test.fio:6: job \"b\"") {
		t.Errorf("notices: %q", f.Notices)
	}
}

// TestGlobalStonewall checks that stonewall and wait_for in [global]
// apply to every job after them, as fio's do: each job of the file below
// is a group of its own (fio 3.33 runs them one after another).
func TestGlobalStonewall(t *testing.T) {
	f, err := Parse(strings.NewReader("[global]\nioengine=null\nsize=1m\nstonewall\n[a]\nrw=read\n[b]\nrw=read\n[c]\nwait_for_previous=0\nrw=read\n"), "g.fio")
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Groups) != 2 || len(f.Groups[0]) != 1 || len(f.Groups[1]) != 2 || !f.Jobs[1].Stonewall || f.Jobs[2].Stonewall {
		t.Errorf("groups %v, stonewall %v %v %v", f.Groups, f.Jobs[0].Stonewall, f.Jobs[1].Stonewall, f.Jobs[2].Stonewall)
	}
	// A wait_for in [global] names a job that would wait for itself.
	_, err = Parse(strings.NewReader("[global]\nioengine=null\nsize=1m\nwait_for=a\n[a]\nrw=read\n[b]\nrw=read\n"), "w.fio")
	if err == nil || !strings.Contains(err.Error(), `job "a" cannot wait for itself`) {
		t.Errorf("wait_for=a in [global]: %v", err)
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		src    string
		line   int
		option string
		want   error
	}{
		{"[a]\nrw=randread\nfoo=1\n", 3, "foo", ErrUnknownOption},
		{"[a]\nbs=4q\n", 2, "bs", ErrBadValue},
		{"[a]\niodepth=0\n", 2, "iodepth", ErrBadValue},
		{"[a]\ntrim_percentage=10\n", 2, "trim_percentage", ErrRefused},
		{"[a]\nfile_service_type=zipf:1\n", 2, "file_service_type", ErrBadValue},
		{"[a]\nfile_service_type=roundrobin:0\n", 2, "file_service_type", ErrBadValue},
		{"[a]\nfilesize=4m-1m\n", 2, "filesize", ErrBadValue},
		{"[a]\nfallocate=keep\n", 2, "fallocate", ErrRefused},
		{"[a]\nbs_unaligned=1\n", 2, "bs_unaligned", ErrRefused},
		{"[a]\ncreate_fsync=0\n", 2, "create_fsync", ErrRefused},
		{"rw=read\n[a]\n", 1, "", ErrSyntax},
		{"[a\nrw=read\n", 1, "", ErrSyntax},
		{"[global]\nbs=4k\n", 2, "", ErrSyntax},
		{"[a]\nwait_for=b\n", 2, "wait_for", ErrBadValue},
		{"[global]\nrate=1m\nrate_iops=9\n[a]\nrw=read\n", 2, "", nil},
		{"[global]\nverify=md5\n[a]\nbs=4k\n[b]\nbs=512\nverify_interval=768\n", 7, "", nil},
		{"[a]\nrandom_distribution=zipf:1\n", 2, "random_distribution", ErrBadValue},
		{"[a]\nrandom_distribution=zoned:50/50:40/50\n", 2, "random_distribution", ErrBadValue},
		{"[a]\nbssplit=4k/60:8k/60:16k/:32k/\n", 2, "bssplit", ErrBadValue}, // fio: "add to more than 100%"
		{"[a]\nruntime=abc\n", 2, "runtime", ErrBadValue},
		{"[a]\n#iobench: mapper=zfs\n", 2, "", nil},
		{"[a]\nioengine=mmap\n", 2, "ioengine", ErrRefused},
		{"[a]\nioengine=net\n", 2, "ioengine", ErrRefused},
		{"[a]\nzonemode=zbd\n", 2, "zonemode", ErrRefused},
		{"[a]\ncpus_allowed_policy=spread\n", 2, "cpus_allowed_policy", ErrBadValue},
		{"[a]\nkb_base=999\n", 2, "kb_base", ErrBadValue},
		{"[a]\npercentile_list=50:101\n", 2, "percentile_list", ErrBadValue},
		{"[a]\ncpus_allowed=3-1\n", 2, "cpus_allowed", ErrBadValue},
		{"[a]\nloops=0\n", 2, "loops", ErrBadValue},
	}
	for _, c := range cases {
		_, err := Parse(strings.NewReader(c.src), "bad.fio")
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("%q: %v, want a ParseError", c.src, err)
			continue
		}
		if pe.File != "bad.fio" || pe.Line != c.line || pe.Option != c.option || (c.want != nil && !errors.Is(err, c.want)) {
			t.Errorf("%q: got %v (line %d option %q), want line %d option %q %v", c.src, err, pe.Line, pe.Option, c.line, c.option, c.want)
		}
	}
}

// What fio's own example job files rely on: comments after a value,
// ${VAR} from the environment but $VAR left alone, fio's $keywords with
// arithmetic, a section name used twice, zones with no size, the timeout
// alias and filename_format.
func TestFioJobFileSyntax(t *testing.T) {
	t.Setenv("IOB_TEST_BS", "8k")
	src := `[a]
size=102404k ; 100Mb+4k
numjobs=2	# two clones
filename=datafile.tmp	; or use a full disk
bs=${IOB_TEST_BS}
iodepth=2*$ncpus
timeout=7
[a]
bs=$pagesize
random_distribution=zoned:50/5:30/15:20/
[c]
filename_format=f.$jobname.$filenum.$jobnum
nrfiles=2
numjobs=2
`
	f, err := Parse(strings.NewReader(src), "ex.fio")
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Jobs) != 3 || f.Jobs[0].Name != "a" || f.Jobs[1].Name != "a" {
		t.Fatalf("%d jobs", len(f.Jobs))
	}
	a := f.Jobs[0]
	if a.Size != 102404<<10 || a.NumJobs != 2 || a.Filename != "datafile.tmp" || a.BS[0] != 8<<10 ||
		a.IODepth != 2*int(onlineCPUs()) || a.Runtime != 7*time.Second {
		t.Errorf("job a: size %d numjobs %d filename %q bs %d iodepth %d runtime %v", a.Size, a.NumJobs, a.Filename, a.BS[0], a.IODepth, a.Runtime)
	}
	b := f.Jobs[1]
	if b.BS[0] != uint64(os.Getpagesize()) || len(b.Dist.Zones) != 3 || b.Dist.Zones[2].SizePct != 80 {
		t.Errorf("job a (second): bs %d zones %+v", b.BS[0], b.Dist.Zones)
	}
	if got := f.Jobs[2].FilePaths(1); !slices.Equal(got, []string{"f.c.0.1", "f.c.1.1"}) {
		t.Errorf("filename_format: %q", got)
	}
	// $clientuid is empty outside fio's client/server mode, as fio 3.33
	// makes nfs.fio's myfiles.$clientuid.$jobnum.$filenum: myfiles..0.0.
	if g, err := Parse(strings.NewReader("[n]\nfilename_format=myfiles.$clientuid.$jobnum.$filenum\n"), "n.fio"); err != nil {
		t.Errorf("$clientuid: %v", err)
	} else if got := g.Jobs[0].FilePaths(0); !slices.Equal(got, []string{"myfiles..0.0"}) {
		t.Errorf("$clientuid: %q", got)
	}
	if g, err := Parse(strings.NewReader("[s]\nrw=randread\nbssplit=4k/50:8k/:16k\n"), "s.fio"); err != nil ||
		len(g.Jobs[0].BSSplit[0]) != 3 || g.Jobs[0].BSSplit[0][1].Pct != 25 || g.Jobs[0].BSSplit[0][2].Pct != 25 {
		t.Errorf("bssplit=4k/50:8k/:16k: %v", err)
	}
	for _, bad := range []string{"[a]\nzonesize=1m\nzoneskip=1m\n", "[a]\nbs=$IOB_TEST_BS\n", "[a]\nbs=${IOB_UNSET_VAR}\n",
		"[a]\nfilename_format=x.$jobid\n", "[a]\nrandom_distribution=zoned:50/50:50/50:0/\n"} {
		if _, err := Parse(strings.NewReader(bad), "bad.fio"); err == nil {
			t.Errorf("%q: accepted", bad)
		}
	}
	for expr, want := range map[string]int64{"2*3+1": 7, "(1+2)*3": 9, "7/2": 3, "-4+10%4": -2} {
		if n, ok := evalInt(expr); !ok || n != want {
			t.Errorf("evalInt(%q) = %d, %v; want %d", expr, n, ok, want)
		}
	}
	for _, expr := range []string{"4k", "1/0", "(1", "2**3", "", strings.Repeat("(", 100) + "1" + strings.Repeat(")", 100), strings.Repeat("-", 100) + "1"} {
		if _, ok := evalInt(expr); ok {
			t.Errorf("evalInt(%q) accepted", expr)
		}
	}
}

// TestBatchCompleteMaxAsFio: given iodepth_batch_complete_min or _max,
// the maximum is fio's: its 0 (fio's default) raised to the minimum, so
// that each wait takes exactly the minimum, also from [global]; given
// neither, 0 stays iobench's default (all that are ready), and a minimum
// of 0 keeps it 0 (fio's polling).
func TestBatchCompleteMaxAsFio(t *testing.T) {
	src := "[global]\nioengine=io_uring\n[min4]\niodepth_batch_complete_min=4\n[alias]\niodepth_batch_complete=2\n[max0]\niodepth_batch_complete_max=0\n" +
		"[none]\n[poll]\niodepth_batch_complete_min=0\n[both]\niodepth_batch_complete_min=2\niodepth_batch_complete_max=8\n"
	f, err := Parse(strings.NewReader(src), "batch.fio")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"min4": 4, "alias": 2, "max0": 1, "none": 0, "poll": 0, "both": 8}
	for _, j := range f.Jobs {
		if j.BatchCompleteMax != want[j.Name] {
			t.Errorf("job %s: iodepth_batch_complete_max %d, want %d", j.Name, j.BatchCompleteMax, want[j.Name])
		}
	}
	g, err := Parse(strings.NewReader("[global]\niodepth_batch_complete_min=3\n[a]\n"), "g.fio")
	if err != nil || g.Jobs[0].BatchCompleteMax != 3 {
		t.Errorf("from [global]: %v, max %d, want 3", err, g.Jobs[0].BatchCompleteMax)
	}
}

// Values fio accepts and corrects are corrected as fio does, with a
// notice naming the line.
func TestFioCorrections(t *testing.T) {
	src := "[global]\nioengine=io_uring\ndirect=1\n[a]\niodepth=4\niodepth_low=8\n[b]\niodepth_batch_complete_min=4\niodepth_batch_complete_max=2\n[c]\niodepth=8\niodepth_low=2\niodepth_batch_complete_max=3\n"
	f, err := Parse(strings.NewReader(src), "fix.fio")
	if err != nil {
		t.Fatal(err)
	}
	a, b, c := f.Jobs[0], f.Jobs[1], f.Jobs[2]
	if a.IODepthLow != 4 || b.BatchCompleteMax != 4 {
		t.Errorf("iodepth_low %d (want 4), iodepth_batch_complete_max %d (want 4)", a.IODepthLow, b.BatchCompleteMax)
	}
	if c.IODepthLow != 2 || c.BatchCompleteMax != 3 || len(c.Adjustments()) != 0 {
		t.Errorf("values in range changed: iodepth_low %d, iodepth_batch_complete_max %d, %q", c.IODepthLow, c.BatchCompleteMax, c.Adjustments())
	}
	if g, err := Parse(strings.NewReader("[s]\nsize=24105\ndirect=1\n"), "s.fio"); err != nil || g.Jobs[0].Size != 24064 || len(g.Notices) != 1 {
		t.Errorf("size=24105: %v", err)
	}
	if _, err := Parse(strings.NewReader("[s]\nsize=1000\nbs=4k\n"), "s.fio"); err == nil || !strings.Contains(err.Error(), "size=1000 is less than the smallest block size 4096") {
		t.Errorf("size=1000 bs=4k: %v", err)
	}
	if g, err := Parse(strings.NewReader("[p]\ndirect=1\nbs=4k #iobench: mapper=cow\n"), "p.fio"); err != nil || g.Jobs[0].Mapper != "linear" ||
		len(g.Notices) != 1 || !strings.Contains(g.Notices[0], "on a line of its own") {
		t.Errorf("pragma after a value: %v %v", err, g)
	}
	if len(f.Notices) != 2 || !strings.HasPrefix(f.Notices[0], "fix.fio:6: job \"a\": iodepth_low=8 is above iodepth=4") ||
		!strings.HasPrefix(f.Notices[1], "fix.fio:9: job \"b\": iodepth_batch_complete_max=2 is below") {
		t.Errorf("notices %q", f.Notices)
	}
}

// TestFioExampleForms: forms found in fio's own example and test job files
// that fio 3.33 takes: a range written lo:hi, counts with units, a
// verify_interval above the block size (lowered, as fio writes one header
// per shorter I/O); and a single-quoted pattern, which it refuses.
func TestFioExampleForms(t *testing.T) {
	j := jobWith(t, "bsrange", "512:1M", "filesize", "1m:2m", "number_ios", "1k", "verify_backlog", "1m")
	if j.BS[0] != 512 || j.BSRange[1] != [2]uint64{512, 1 << 20} || j.FileSize != [2]uint64{1 << 20, 2 << 20} ||
		j.NumberIOs != 1024 || j.VerifyBacklog != 1<<20 {
		t.Errorf("bs %v range %v filesize %v number_ios %d verify_backlog %d", j.BS, j.BSRange, j.FileSize, j.NumberIOs, j.VerifyBacklog)
	}
	if k := jobWith(t, "kb_base", "1000", "number_ios", "2k"); k.NumberIOs != 2000 {
		t.Errorf("number_ios=2k with kb_base=1000: %d", k.NumberIOs)
	}
	// verify with io_size beyond the region or loops: read back after
	// each pass, as fio does, with no notice, number_ios or not.
	if w := jobWith(t, "rw", "write", "size", "8m", "io_size", "16m", "verify", "crc32c"); len(w.Adjustments()) != 0 {
		t.Errorf("io_size=16m size=8m verify: notices %q", w.Adjustments())
	}
	if w := jobWith(t, "rw", "write", "size", "8m", "loops", "2", "number_ios", "100", "verify", "crc32c"); len(w.Adjustments()) != 0 {
		t.Errorf("loops=2 number_ios=100 verify: notices %q", w.Adjustments())
	}
	if w := jobWith(t, "rw", "write", "size", "8m", "io_size", "4m", "verify", "crc32c"); len(w.Adjustments()) != 0 {
		t.Errorf("io_size=4m size=8m verify: notices %q", w.Adjustments())
	}
	v := jobWith(t, "bs", "512", "verify", "md5", "verify_interval", "1m")
	if v.VerifyInterval != 512 || v.VerifyBlock() != 512 || len(v.Adjustments()) != 1 || !strings.Contains(v.Adjustments()[0], "lowered to 512") {
		t.Errorf("verify_interval=1m bs=512: %d, %q", v.VerifyInterval, v.Adjustments())
	}
	for _, c := range []struct{ k, v, want string }{
		{"bs", "4k,8x", "write size 8x"},
		{"bsrange", "1k:4q", "unknown size unit"},
		{"size", "4z", "sizes in zones"},
		{"offset", "2z", "sizes in zones"},
		{"verify_interval", "768", ""},
		{"buffer_pattern", "'t0027.pattern'", "single-quoted pattern names a file"},
		{"number_ios", "-1", ""},
	} {
		j := NewJob("j")
		err := j.Set(c.k, c.v)
		if err == nil {
			err = j.Validate()
		}
		if err == nil || c.want != "" && !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s=%s: %v, want an error saying %q", c.k, c.v, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "trim size") {
			t.Errorf("%s=%s: %v names a trim size", c.k, c.v, err)
		}
	}
	// percentage_random per direction (fio: reads,writes,trims).
	if p := jobWith(t, "percentage_random", "50,30").PercentageRandom; p != [2]float64{50, 30} {
		t.Errorf("percentage_random=50,30: %v", p)
	}
	if p := jobWith(t, "percentage_random", "20").PercentageRandom; p != [2]float64{20, 20} {
		t.Errorf("percentage_random=20: %v", p)
	}
	if pj := NewJob("j"); pj.Set("percentage_random", "50,30,40") == nil {
		t.Errorf("percentage_random=50,30,40: accepted")
	}
	g := NewGenerator(job(t, "rw", "randrw", "percentage_random", "0,100", "size", "64m"), 0, 64<<20)
	var next uint64
	seqReads, randWrites, writes := true, 0, 0
	for range 2000 {
		io := g.Next()
		if !io.Write {
			seqReads = seqReads && io.Offset == next
			next = io.Offset + io.Length
		} else if writes++; io.Offset != 0 {
			randWrites++
		}
	}
	if !seqReads || randWrites < writes*9/10 {
		t.Errorf("percentage_random=0,100: reads sequential %v, %d of %d writes away from 0", seqReads, randWrites, writes)
	}
	if j := jobWith(t, "buffer_pattern", `"ab"`); string(j.Buffers.Pattern) != "ab" {
		t.Errorf(`buffer_pattern="ab": %q`, j.Buffers.Pattern)
	}
}

// TestPerDirectionValues: rate, rate_iops, rate_min, bssplit and
// blockalign take fio's reads,writes,trims form (fio's exitwhat.fio has
// rate=300,300,300); a trim value matters only to a job that trims, which
// refuses what it cannot do, and a bad part is named by its direction.
func TestPerDirectionValues(t *testing.T) {
	j := jobWith(t, "rw", "randrw", "rate", "1m,2m,3m", "rate_min", "1k,,1k", "blockalign", "8k,8k,8k")
	if j.Rate != [2]uint64{1 << 20, 2 << 20} || j.RateMin != [2]uint64{1024, 0} || j.BlockAlign != 8192 {
		t.Errorf("rate %v rate_min %v blockalign %d", j.Rate, j.RateMin, j.BlockAlign)
	}
	if r := jobWith(t, "rw", "randrw", "rate_iops", "10,20,30").RateIOPS; r != [2]int{10, 20} {
		t.Errorf("rate_iops=10,20,30: %v", r)
	}
	if r := jobWith(t, "rw", "randrw", "rate", "5m").Rate; r != [2]uint64{5 << 20, 5 << 20} {
		t.Errorf("rate=5m: %v", r)
	}
	if r := jobWith(t, "rw", "randrw", "rate", ",,1m").Rate; r != [2]uint64{} {
		t.Errorf("rate=,,1m: %v, want no read or write cap", r)
	}
	s := jobWith(t, "rw", "randrw", "bssplit", "4k/50:8k/50,16k/100,4k/100").BSSplit
	if len(s[0]) != 2 || len(s[1]) != 1 || s[1][0].Size != 16384 {
		t.Errorf("bssplit with three splits: %v", s)
	}
	// An empty split leaves its direction to bs, as fio 3.33 does
	// (bssplit=8k/100,,16k/100 with rw=randwrite writes 4k, bs's
	// default; bssplit=,8k/100 with rw=randread reads 4k); only a split
	// left off the end repeats the one before it.
	if s := jobWith(t, "rw", "randrw", "bssplit", "4k/50:8k/50,,16k").BSSplit; len(s[0]) != 2 || len(s[1]) != 0 {
		t.Errorf("bssplit with the write split left empty: %v, want no write split", s)
	}
	for _, c := range []struct {
		split    string
		read, wr uint64 // every I/O's size in each direction
	}{
		{"8k/100,", 8 << 10, 64 << 10},
		{",8k/100", 64 << 10, 8 << 10},
		{"8k/100,,16k/100", 8 << 10, 64 << 10},
		{"8k/100", 8 << 10, 8 << 10},
		{"8k/100,16k/100", 8 << 10, 16 << 10},
	} {
		j := jobWith(t, "rw", "randrw", "bs", "64k", "size", "16m", "bssplit", c.split)
		g := NewGenerator(&j, 0, 16<<20)
		for range 64 {
			io := g.Next()
			if want := map[bool]uint64{true: c.wr, false: c.read}[io.Write]; io.Length != want {
				t.Errorf("bs=64k bssplit=%s: an I/O (write %v) of %d bytes, want %d", c.split, io.Write, io.Length, want)
				break
			}
		}
	}
	jobWith(t, "rw", "randtrim", "bssplit", "4k,8k,8k")
	for _, c := range []struct{ rw, k, v, want string }{
		{"randrw", "rate", "1m,2m,3m,4m", "at most three values"},
		{"randrw", "rate", "1m,x", "write value x"},
		{"randrw", "rate_iops", "1,2,z", "trim value z"},
		{"randrw", "rate_min", "1m,2q", "write value 2q"},
		{"randrw", "blockalign", "4k,8k", "alignments per direction"},
		{"randrw", "bssplit", "4k,8k,16k,32k", "at most three splits"},
		{"randrw", "bssplit", "4k,8k/x", "write split 8k/x"},
		{"randtrim", "rate", ",,1m", "rates for trims"},
		{"randtrim", "rate_iops", "5", "rates for trims"},
		{"randtrim", "bssplit", "4k,4k,8k", "trim split (third value 8k)"},
		{"randtrim", "bssplit", "4k,8k,", "trim split (third value left empty"},
		{"trimwrite", "bssplit", "4k,,8k", "trim split (third value 8k)"},
	} {
		j := NewJob("j")
		err := j.Set("rw", c.rw)
		if err == nil {
			err = j.Set(c.k, c.v)
		}
		if err == nil {
			err = j.Validate()
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("rw=%s %s=%s: %v, want an error saying %q", c.rw, c.k, c.v, err, c.want)
		}
	}
}

// TestTimesRoundTrip: what a time option writes (--showcmd) reads back
// as the same time: 90 s is "90s", not Go's "1m30s", which no time
// option takes (fio's tiobench-example.fio has runtime=60).
func TestTimesRoundTrip(t *testing.T) {
	for _, o := range Options() {
		if o.kind != kindTime && o.Name != "spin_wait" {
			continue
		}
		for _, v := range []string{"60", "90s", "1h", "3600", "1.5", "250ms", "7us", "2d", "1500ns"} {
			j := NewJob("j")
			if j.Set(o.Name, v) != nil {
				continue // outside what the option takes
			}
			got := o.get(&j)
			k := NewJob("j")
			if err := k.Set(o.Name, got); err != nil {
				t.Errorf("%s=%s is written %q, which reads back as %v", o.Name, v, got, err)
			} else if again := o.get(&k); again != got {
				t.Errorf("%s=%s is written %q, read back and written %q", o.Name, v, got, again)
			}
		}
	}
	for d, want := range map[time.Duration]string{0: "0", 90 * time.Second: "90s", time.Hour: "1h",
		1500 * time.Millisecond: "1500ms", 48 * time.Hour: "2d", 7 * time.Microsecond: "7us", 1500: "1500ns"} {
		if got := timeString(d); got != want {
			t.Errorf("timeString(%v) = %q, want %q", d, got, want)
		}
	}
}

// TestRefusedBooleansOffAccepted: a boolean iobench refuses, turned off
// (fio 3.33's default for each), is accepted in a job file, as off is
// what iobench does; turned on it is refused naming the line.
func TestRefusedBooleansOffAccepted(t *testing.T) {
	for _, k := range []string{"bs_unaligned", "blocksize_unaligned", "log_store_compressed", "verify_state_load"} {
		if _, err := Parse(strings.NewReader("[j]\nsize=1m\n"+k+"=0\n"), "off.fio"); err != nil {
			t.Errorf("%s=0: %v", k, err)
		}
		_, err := Parse(strings.NewReader("[j]\nsize=1m\n"+k+"=1\n"), "on.fio")
		if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "on.fio:3:") {
			t.Errorf("%s=1: %v, want refused at on.fio:3", k, err)
		}
	}
}

// TestFioDefaultsAccepted: an option iobench does not implement, set to
// fio's default or off (what iobench does anyway), is accepted; other
// values of it are still refused. Also from third-party job files:
// offset=0%, a section named with a bracket in it, cpumask written back
// as a mask, and --section leaving the other sections unread.
func TestFioDefaultsAccepted(t *testing.T) {
	for k, vs := range noEffectValues {
		if !IsRefused(k) {
			t.Errorf("%s has no-effect values but is not refused", k)
		}
		for _, v := range vs {
			if j := NewJob("j"); j.Set(k, v) != nil {
				t.Errorf("%s=%s: refused", k, v)
			}
		}
	}
	for _, kv := range [][2]string{{"verify_state_load", "1"}, {"bs_unaligned", "1"}, {"lockfile", "exclusive"}} {
		j := NewJob("j")
		if err := j.Set(kv[0], kv[1]); !errors.Is(err, ErrRefused) {
			t.Errorf("%s=%s: %v, want refused", kv[0], kv[1], err)
		}
	}
	if nj := NewJob("j"); nj.Set("lockfile", "none") != nil {
		t.Errorf("lockfile=none: refused")
	}
	j := jobWith(t, "offset", "0%", "cpumask", "0x5")
	vals := map[string]string{}
	for _, kv := range j.Values() {
		vals[kv[0]] = kv[1]
	}
	if j.Offset != 0 || j.OffsetPct != 0 || vals["cpumask"] != "0x5" {
		t.Errorf("offset=0%%: %d %g; cpumask=0x5 written back as %s", j.Offset, j.OffsetPct, vals["cpumask"])
	}
	f, err := Parse(strings.NewReader("[job1]]\nioengine=null\nsize=1m\n"), "b.fio")
	if err != nil || f.Jobs[0].Name != "job1]" {
		t.Errorf("[job1]]: %v", err)
	}
	src := "[global]\nioengine=null\nsize=1m\n[a]\nrw=read\n[b]\nioengine=splice\nrw=${UNSET_VAR_OF_THE_TEST}\n"
	if f, err := ParseWith(strings.NewReader(src), "s.fio", ParseOptions{Sections: []string{"a"}}); err != nil || len(f.Jobs) != 1 {
		t.Errorf("--section=a: %v", err)
	}
	if _, err := ParseWith(strings.NewReader(src), "s.fio", ParseOptions{Sections: []string{"b"}}); err == nil {
		t.Errorf("--section=b parsed a refused engine")
	}
}

func TestSizesAndTimes(t *testing.T) {
	for in, want := range map[string]uint64{"4096": 4096, "4k": 4096, "4K": 4096, "4KiB": 4000, "4kb": 4096, "4KB": 4096,
		"1m": 1 << 20, "1536m": 3 << 29, "2t": 2 << 40, "0x1000": 4096} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "k", "4x", "-1", "1e400", "1.5g"} {
		if _, err := ParseSize(bad); err == nil {
			t.Errorf("ParseSize(%q) accepted", bad)
		}
	}
	for in, want := range map[string]time.Duration{"30": 30 * time.Second, "500ms": 500 * time.Millisecond,
		"2m": 2 * time.Minute, "1h": time.Hour, "10us": 10 * time.Microsecond, "20µs": 20 * time.Microsecond} {
		if got, err := ParseTime(in); err != nil || got != want {
			t.Errorf("ParseTime(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
}

func TestBundledScripts(t *testing.T) {
	paths, _ := filepath.Glob("*.fio")
	if len(paths) < 8 {
		t.Fatalf("only %d bundled scripts", len(paths))
	}
	for _, p := range paths {
		f, err := ParseFile(p)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		for _, j := range f.Jobs {
			if j.Filename != "" {
				t.Errorf("%s: sets filename; the runner supplies the target", p)
			}
			if j.Runtime == 0 || j.Runtime > 30*time.Second {
				t.Errorf("%s: runtime %v; bundled scripts should be short", p, j.Runtime)
			}
		}
		for _, n := range f.Notices {
			t.Errorf("%s: notice %s (bundled scripts should be clean)", p, n)
		}
	}
}

func job(t testing.TB, kv ...string) *Job {
	t.Helper()
	j := NewJob("t")
	for i := 0; i < len(kv); i += 2 {
		if err := j.Set(kv[i], kv[i+1]); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.Validate(); err != nil {
		t.Fatal(err)
	}
	return &j
}

func TestGeneratorBoundsAndAlignment(t *testing.T) {
	for _, rw := range []string{"read", "write", "randread", "randwrite", "rw", "randrw"} {
		for _, dist := range []string{"random", "zipf:0.9", "zipf:1.2", "pareto:0.2", "normal:10", "zoned:60/10:40/90"} {
			j := job(t, "rw", rw, "bssplit", "4k/50:16k/30:64k/20", "offset", "1m", "size", "8m", "random_distribution", dist)
			g := NewGenerator(j, 0, 64<<20)
			for range 5000 {
				io := g.Next()
				if io.Offset < 1<<20 || io.Offset+io.Length > 9<<20 || io.Offset%4096 != 0 {
					t.Fatalf("%s %s: I/O %+v outside [1m, 9m) or unaligned", rw, dist, io)
				}
				if io.Write != (rw == "write" || rw == "randwrite") && rw != "rw" && rw != "randrw" {
					t.Fatalf("%s: direction %v", rw, io.Write)
				}
			}
		}
	}
}

func TestRandomMapCoversEveryBlockOnce(t *testing.T) {
	j := job(t, "rw", "randread", "bs", "4k", "size", "4000k")
	g := NewGenerator(j, 0, 1<<30)
	seen := make(map[uint64]bool)
	for range 1000 {
		io := g.Next()
		if seen[io.Offset] {
			t.Fatalf("block %d repeated within a pass", io.Offset)
		}
		seen[io.Offset] = true
	}
	if len(seen) != 1000 {
		t.Fatalf("covered %d blocks, want 1000", len(seen))
	}
}

func TestReproducible(t *testing.T) {
	j := job(t, "rw", "randrw", "randseed", "42")
	a, b := NewGenerator(j, 0, 1<<30), NewGenerator(j, 0, 1<<30)
	// The runner gives each clone its thread number, as fio numbers its
	// threads, and fio's draws are seeded by it.
	j2 := *j
	j2.Thread = 2
	c := NewGenerator(&j2, 1, 1<<30)
	same := true
	for range 100 {
		x, y, z := a.Next(), b.Next(), c.Next()
		if x != y {
			t.Fatal("same seed, different sequence")
		}
		same = same && x == z
	}
	if same {
		t.Fatal("job clones got the same sequence")
	}
}

func TestDistributionsSkew(t *testing.T) {
	const n = 20000
	// hotShare is the share of I/O that goes to the hottest 10% of the
	// blocks, and the share that lands in the first 10% of the region.
	hotShare := func(dist string) (hot, first float64) {
		j := job(t, "rw", "randread", "size", "400m", "random_distribution", dist)
		g := NewGenerator(j, 0, 400<<20)
		count := map[uint64]int{}
		for range n {
			off := g.Next().Offset
			count[off]++
			if off < 40<<20 {
				first++
			}
		}
		counts := slices.Sorted(maps.Values(count))
		slices.Reverse(counts)
		for _, c := range counts[:min(len(counts), 102400/10)] {
			hot += float64(c)
		}
		return hot / n, first / n
	}
	if _, s := hotShare("random"); math.Abs(s-0.1) > 0.02 {
		t.Errorf("uniform: %.3f of I/O in the first 10%%", s)
	}
	// Skewed, and spread over the region as fio spreads them (fio 3.33's
	// zipf:1.2 put 3% of its I/O in the first 5% of a file).
	for _, d := range []string{"zipf:1.2", "zipf:0.9", "pareto:0.2", "normal:0", "normal:10"} {
		hot, first := hotShare(d)
		if hot < 0.3 || first > 0.3 {
			t.Errorf("%s: %.3f of I/O on the hottest 10%% of blocks, %.3f in the first 10%% of the region", d, hot, first)
		}
	}
	if _, s := hotShare("zoned:80/10:20/90"); math.Abs(s-0.8) > 0.03 {
		t.Errorf("zoned 80/10: %.3f of I/O in the first 10%%", s)
	}
	// fio 3.33, random_distribution=zipf:1.2:0.25 over 64 MiB of 4 KiB
	// blocks: the hottest block at 16 MiB, the next goldenRatio64 mod
	// 16384 = 1003 blocks after it.
	j := job(t, "rw", "randread", "size", "64m", "random_distribution", "zipf:1.2:0.25")
	g := NewGenerator(j, 0, 64<<20)
	count := map[uint64]int{}
	for range n {
		count[g.Next().Offset]++
	}
	byHeat := slices.SortedFunc(maps.Keys(count), func(a, b uint64) int { return count[b] - count[a] })
	if byHeat[0] != 16<<20 || byHeat[1] != 16<<20+1003*4096 {
		t.Errorf("zipf:1.2:0.25 hottest blocks at %d, %d; want 16 MiB and 1003 blocks on", byHeat[0], byHeat[1])
	}
	j = job(t, "rw", "randrw", "rwmixread", "70")
	g = NewGenerator(j, 0, 1<<30)
	reads := 0
	for range n {
		if !g.Next().Write {
			reads++
		}
	}
	if r := float64(reads) / n; math.Abs(r-0.7) > 0.02 {
		t.Errorf("rwmixread=70: %.3f reads", r)
	}
}

func TestVerifyRoundTripAndCorruption(t *testing.T) {
	for _, h := range append(Hashes(), "pattern", "meta") {
		v := &Verifier{Interval: 4096, Hash: h, Seed: 7}
		if h == "pattern" || h == "meta" {
			v.Pattern = []byte{0xde, 0xad, 0xbe, 0xef}
			buf := make([]byte, 8192)
			v.Fill(buf, 0, 1)
			if _, err := v.Check(buf, 0); err != nil {
				t.Fatalf("%s: round trip: %v", h, err)
			}
			buf[5000] ^= 1
			// pattern sees every byte; meta (with verify_pattern) the data
			// through the pattern check.
			if _, err := v.Check(buf, 0); !errors.Is(err, ErrVerify) {
				t.Errorf("%s: flipped bit not seen: %v", h, err)
			}
			continue
		}
		buf := make([]byte, 16384)
		v.Fill(buf, 1<<20, 3)
		if gen, err := v.Check(buf, 1<<20); err != nil || gen != 3 {
			t.Fatalf("%s: round trip: gen %d, %v", h, gen, err)
		}
		for _, c := range []struct {
			name   string
			mutate func([]byte)
			off    uint64
			what   string
		}{
			{"flipped bit", func(b []byte) { b[5000] ^= 1 }, 1 << 20, h},
			{"other offset", func([]byte) {}, 2 << 20, "offset"},
			{"zeroed", func(b []byte) { clear(b[8192:12288]) }, 1 << 20, "magic"},
		} {
			b := append([]byte(nil), buf...)
			c.mutate(b)
			_, err := v.Check(b, c.off)
			var m *Mismatch
			if !errors.As(err, &m) || !errors.Is(err, ErrVerify) || !strings.Contains(m.What, c.what) {
				t.Errorf("%s %s: %v", h, c.name, err)
			}
		}
	}
}

func BenchmarkNext(b *testing.B) {
	j := job(b, "rw", "randrw", "bssplit", "4k/50:64k/50")
	g := NewGenerator(j, 0, 1<<40)
	b.ReportAllocs()
	for b.Loop() {
		g.Next()
	}
}

// BenchmarkNextRandom: 4 KiB random reads over 64 GiB with each of the
// offset generators.
func BenchmarkNextRandom(b *testing.B) {
	for _, c := range [][]string{
		{"rw", "randread"},
		{"rw", "randread", "norandommap", "1"},
		{"rw", "randread", "random_generator", "lfsr"},
		{"rw", "randread", "random_generator", "tausworthe64", "norandommap", "1"},
	} {
		b.Run(strings.Join(c[2:], "="), func(b *testing.B) {
			g := NewGenerator(job(b, c...), 0, 64<<30)
			b.ReportAllocs()
			for b.Loop() {
				g.Next()
			}
		})
	}
}

// BenchmarkNextRandomSmall: 4 KiB random reads over 256 MiB, fio's
// defaults otherwise: the random map fills and starts over every 65536
// I/Os, so collisions with blocks done are taken as they come in a pass.
func BenchmarkNextRandomSmall(b *testing.B) {
	g := NewFileGen(job(b, "rw", "randread", "size", "256m"), 0, []*Generator{NewGenerator(job(b, "rw", "randread", "size", "256m"), 0, 1<<30)})
	b.ReportAllocs()
	for b.Loop() {
		g.Next()
	}
}

func FuzzParse(f *testing.F) {
	paths, _ := filepath.Glob("*.fio")
	for _, p := range paths {
		b, _ := os.ReadFile(p)
		f.Add(string(b))
	}
	f.Add("[a]\nrw=randrw\nbssplit=4k/50:8k/50,16k\n#iobench: mapper=cow\n")
	f.Add("[global]\nbs=4k\n[a]\nstonewall\n[b]\nwait_for=a\n")
	f.Add("[a]\nrw=randrw\nsize=48k\nrandom_distribution=sequence:2,0,1\nrandom_sequence_stride=1\n[b]\nrw=randread\nrandom_distribution=sequence: 9 ,3\n")
	f.Add("[a]\nsize=1m ; c\niodepth=(2*$ncpus)-1\nbs=$pagesize # c\nrw=read:-8k\n[a]\nrandom_distribution=zoned:50/5:50/\nfilename_format=x.$jobnum.$filenum\nwrite_bw_log\n")
	f.Fuzz(func(t *testing.T, src string) {
		file, err := Parse(strings.NewReader(src), "fuzz.fio")
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Line < 0 {
				t.Fatalf("error without a position: %v", err)
			}
			return
		}
		for i, j := range file.Jobs {
			if err := j.Validate(); err != nil {
				t.Fatalf("job %d parsed but does not validate: %v", i, err)
			}
			g := NewGenerator(&j, 0, 1<<30)
			for range 10 {
				io := g.Next()
				if io.Offset+io.Length > 1<<30 {
					t.Fatalf("I/O %+v beyond the target", io)
				}
			}
		}
	})
}

// TestVerifyHashes: every fio 3.33 verify name is taken (crc32c-intel as
// crc32c), the small CRCs give the catalogue's check values for
// "123456789", and verify=null reads back without checking.
func TestVerifyHashes(t *testing.T) {
	for _, name := range []string{"md5", "crc64", "crc32", "crc32c-intel", "crc32c", "crc16", "crc7", "sha1", "sha256", "sha512",
		"sha3-224", "sha3-256", "sha3-384", "sha3-512", "xxhash", "meta", "pattern", "null", "SHA1"} {
		j := &Job{}
		if err := setVerify(j, name); err != nil {
			t.Errorf("verify=%s: %v", name, err)
		}
	}
	if err := setVerify(&Job{}, "crc8"); err == nil || !strings.Contains(err.Error(), "sha3-512") {
		t.Errorf("verify=crc8: %v, want the list of hashes", err)
	}
	check := []byte("123456789")
	if c := crc16(check); c != 0xBB3D {
		t.Errorf("crc16 check value %#x, want 0xbb3d (CRC-16/ARC)", c)
	}
	if c := crc7(check) >> 1; c != 0x75 {
		t.Errorf("crc7 check value %#x, want 0x75 (CRC-7/MMC)", c)
	}
	v := &Verifier{Interval: 4096, Hash: "null", Seed: 7}
	buf := make([]byte, 8192)
	v.Fill(buf, 0, 1)
	clear(buf)
	if _, err := v.Check(buf, 4096); err != nil {
		t.Errorf("verify=null checked something: %v", err)
	}
}

// TestVerifyOffset: verify_offset moves each header into its block and
// the check moves it back, whether or not the two ranges overlap; the
// header is no longer at the block's start, and a flipped byte in the
// moved header or in the data swapped to the start is found.
func TestVerifyOffset(t *testing.T) {
	for _, at := range []int{8, 71, 72, 100, 4096 - HeaderBytes} {
		v := &Verifier{Interval: 4096, Hash: "crc32c", Seed: 3, HeaderAt: at}
		buf := make([]byte, 16<<10)
		v.Fill(buf, 1<<20, 2)
		plain := &Verifier{Interval: 4096, Hash: "crc32c", Seed: 3}
		want := make([]byte, 16<<10)
		plain.Fill(want, 1<<20, 2)
		if bytes.Equal(buf, want) || string(buf[at:at+4]) != "IOBv" {
			t.Fatalf("verify_offset=%d: the header is not at %d: %q", at, at, buf[at:at+4])
		}
		got := slices.Clone(buf)
		if gen, err := v.Check(got, 1<<20); err != nil || gen != 2 {
			t.Fatalf("verify_offset=%d: %d %v", at, gen, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("verify_offset=%d: the check did not put the blocks back as written without it", at)
		}
		for _, flip := range []int{at + 9, 0, 4096 + at + 20} {
			bad := slices.Clone(buf)
			bad[flip] ^= 1
			if _, err := v.Check(bad, 1<<20); !errors.Is(err, ErrVerify) {
				t.Errorf("verify_offset=%d: byte %d flipped, check says %v", at, flip, err)
			}
		}
		if _, err := plain.Check(slices.Clone(buf), 1<<20); err == nil {
			t.Errorf("verify_offset=%d: a check without it passed", at)
		}
	}
	if _, err := Parse(strings.NewReader("[a]\nverify=md5\nbs=4k\nverify_offset=4030\n"), "vo.fio"); err == nil || !strings.Contains(err.Error(), "verify_offset=4030") {
		t.Errorf("verify_offset past the block: %v", err)
	}
	if _, err := Parse(strings.NewReader("[a]\nverify=md5\nbs=4k\nverify_offset=4024\n"), "vo.fio"); err != nil {
		t.Errorf("verify_offset=4024 in 4k blocks: %v", err)
	}
}

// TestCheckWritten: verify_only's check of a whole region skips the
// blocks with no verify header (zeros, other data), counting them, and
// checks the others as Check does, with verify_offset too; blocks of
// verify=pattern, which carry no header, are all checked.
func TestCheckWritten(t *testing.T) {
	noise := make([]byte, 4096)
	for i := range noise {
		noise[i] = byte(i*7 + i>>8)
	}
	for _, at := range []int{0, 100} {
		v := &Verifier{Interval: 4096, Hash: "md5", Seed: 3, HeaderAt: at}
		// Blocks 0 and 2 written, 1 zeros, 3 noise, and 4 written 1 KiB
		// short of the interval (the region's last 3 KiB).
		buf := make([]byte, 5*4096-1024)
		v.Fill(buf[:4096], 1<<20, 1)
		v.Fill(buf[2*4096:3*4096], 1<<20+2*4096, 1)
		copy(buf[3*4096:], noise)
		v.Fill(buf[4*4096:], 1<<20+4*4096, 1)
		skipped, err := v.CheckWritten(slices.Clone(buf), 1<<20)
		if err != nil || skipped != 2*4096 {
			t.Fatalf("verify_offset=%d: skipped %d, %v; want 8192 (the zeros and the noise), nil", at, skipped, err)
		}
		for _, c := range []struct {
			flip int
			off  uint64
		}{{2*4096 + at + 9, 2 * 4096}, {2*4096 + 3000, 2 * 4096}, {4*4096 + 2000, 4 * 4096}} {
			bad := slices.Clone(buf)
			bad[c.flip] ^= 1
			var m *Mismatch
			if _, err := v.CheckWritten(bad, 1<<20); !errors.As(err, &m) || m.Offset != 1<<20+c.off {
				t.Errorf("verify_offset=%d: byte %d flipped: %v, want a mismatch at %d", at, c.flip, err, 1<<20+c.off)
			}
		}
		// A written block moved elsewhere is still another block's.
		moved := slices.Clone(buf)
		copy(moved[4096:2*4096], buf[:4096])
		if _, err := v.CheckWritten(moved, 1<<20); !errors.Is(err, ErrVerify) {
			t.Errorf("verify_offset=%d: a block from elsewhere: %v", at, err)
		}
	}
	p := &Verifier{Interval: 4096, Hash: "pattern", Pattern: []byte{0xab}}
	buf := make([]byte, 2*4096)
	p.Fill(buf[:4096], 0, 1)
	if skipped, err := p.CheckWritten(buf, 0); skipped != 0 || !errors.Is(err, ErrVerify) {
		t.Errorf("verify=pattern over a block of zeros: skipped %d, %v; want 0 and a mismatch", skipped, err)
	}
}

func TestVerifyAcrossIntervals(t *testing.T) {
	w := &Verifier{Interval: 4096, Hash: "crc32c", Seed: 1}
	r := &Verifier{Interval: 512, Hash: "crc32c", Seed: 1}
	buf := make([]byte, 64<<10)
	w.Fill(buf, 0, 1)
	if _, err := r.Check(buf, 0); err != nil {
		t.Fatalf("4 KiB blocks read back in one 64 KiB read: %v", err)
	}
	if VerifyInterval(65536) != 4096 || VerifyInterval(512) != 512 {
		t.Fatal("VerifyInterval")
	}
}

// TestKBBase checks fio's unit rules: with kb_base=1024 k is 1024 and kib
// 1000; with kb_base=1000 the other way round, also for sizes given
// before kb_base in the section (fio 3.33 gives the same byte counts).
func TestKBBase(t *testing.T) {
	f, err := Parse(strings.NewReader("[global]\nsize=8m\n[a]\nbs=512k\nbssplit=512k/50:2kib/50\nkb_base=1000\noffset=1kib\n[b]\nbs=512kib\n"), "kb.fio")
	if err != nil {
		t.Fatal(err)
	}
	a, b := f.Jobs[0], f.Jobs[1]
	if a.Size != 8e6 || a.BS[0] != 512e3 || a.Offset != 1024 || a.BSSplit[0][0].Size != 512e3 || a.BSSplit[0][1].Size != 2048 {
		t.Errorf("kb_base=1000: size %d bs %d offset %d split %v", a.Size, a.BS[0], a.Offset, a.BSSplit[0])
	}
	if b.Size != 8<<20 || b.BS[0] != 512e3 {
		t.Errorf("kb_base=1024: size %d bs %d", b.Size, b.BS[0])
	}
}

func TestLatencyAndReportingOptions(t *testing.T) {
	f, err := Parse(strings.NewReader(`[a]
percentile_list=99.9:50:99
cpus_allowed=0-2,5
lat_percentiles=1
clat_percentiles=0
loops=3
blocksize=8k
group_reporting
bwavgtime=250
[b]
cpumask=0x5
gtod_reduce=1
buffered=1
`), "lat.fio")
	if err != nil {
		t.Fatal(err)
	}
	a, b := f.Jobs[0], f.Jobs[1]
	if fmt.Sprint(a.PercentileList) != "[50 99 99.9]" || fmt.Sprint(a.CPUs) != "[0 1 2 5]" || !a.LatPercentiles ||
		a.ClatPercentiles || a.Loops != 3 || a.BS[0] != 8192 || !a.GroupReporting || a.BWAvgTime != 250*time.Millisecond {
		t.Errorf("a: %s", a.String())
	}
	if fmt.Sprint(b.CPUs) != "[0 2]" || !b.DisableLat || !b.DisableClat || !b.DisableSlat || !b.DisableBW || b.Direct {
		t.Errorf("b: %s", b.String())
	}
	if fmt.Sprint(b.PercentileList) != fmt.Sprint(DefaultPercentiles) || b.Loops != 1 {
		t.Errorf("b defaults: %v %d", b.PercentileList, b.Loops)
	}
}

// TestIncludeSectionsAndGlobal: include pulls in a file relative to the
// including one; a Global (the command line) is overridden by the file's
// [global] and job sections; Sections keeps only the named jobs.
func TestIncludeSectionsAndGlobal(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "common.inc"), []byte("iodepth=4\nbs=8k\n"), 0o644)
	main := filepath.Join(dir, "main.fio")
	// fio 3.33 refuses an include before any section: it goes in one.
	os.WriteFile(main, []byte("[global]\ninclude common.inc\n[a]\nrw=read\n[b]\nrw=write\nbs=16k\n[c]\nrw=randread\nwait_for=a\n"), 0o644)
	cli := NewJob("cli")
	for k, v := range map[string]string{"bs": "64k", "size": "1m", "iodepth": "2"} {
		if err := cli.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	f, err := ParseFileWith(main, ParseOptions{Global: &cli})
	if err != nil {
		t.Fatal(err)
	}
	a, b := f.Jobs[0], f.Jobs[1]
	if a.IODepth != 4 || a.BS[0] != 8<<10 || a.Size != 1<<20 || b.BS[0] != 16<<10 || b.Size != 1<<20 {
		t.Errorf("a %s; b %s", a.String(), b.String())
	}
	f, err = ParseFileWith(main, ParseOptions{Sections: []string{"b", "c"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Jobs) != 2 || f.Jobs[0].Name != "b" || f.Jobs[1].Name != "c" || f.Jobs[1].WaitFor != "" || f.Jobs[0].IODepth != 4 {
		t.Errorf("sections b,c: %v", f.Jobs)
	}
	if _, err := ParseFileWith(main, ParseOptions{Sections: []string{"zz"}}); !errors.Is(err, ErrSyntax) {
		t.Errorf("unknown section: %v", err)
	}
	loop := filepath.Join(dir, "loop.fio")
	os.WriteFile(loop, []byte("[global]\ninclude loop.fio\n"), 0o644)
	if _, err := ParseFile(loop); !errors.Is(err, ErrSyntax) {
		t.Errorf("self-include: %v", err)
	}
	if _, err := Parse(strings.NewReader("[a]\ninclude nosuch.inc\n"), filepath.Join(dir, "x.fio")); err == nil {
		t.Errorf("missing include accepted")
	}
}

// TestCommentsOnHeaderAndIncludeLines: fio cuts a comment (from ; or #)
// from every line before it reads it, so a section header or an include
// line may end in one, and include takes a tab before its path as it
// takes a space.
func TestCommentsOnHeaderAndIncludeLines(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "depth.inc"), []byte("iodepth=4\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "bs.inc"), []byte("bs=8k\n"), 0o644)
	src := "[global] ; shared\ninclude depth.inc ; queue depth\n[a] # the first job\nrw=read\n[b]\t; the second\ninclude\tbs.inc\n"
	f, err := Parse(strings.NewReader(src), filepath.Join(dir, "c.fio"))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Jobs) != 2 || f.Jobs[0].Name != "a" || f.Jobs[1].Name != "b" {
		t.Fatalf("jobs %v", f.Jobs)
	}
	if a, b := f.Jobs[0], f.Jobs[1]; a.IODepth != 4 || b.IODepth != 4 || b.BS[0] != 8<<10 || a.BS[0] != 4<<10 {
		t.Errorf("a: iodepth %d bs %d; b: iodepth %d bs %d", a.IODepth, a.BS[0], b.IODepth, b.BS[0])
	}
	if _, err := Parse(strings.NewReader("[a]\ninclude ; nothing\n"), filepath.Join(dir, "e.fio")); !errors.Is(err, ErrSyntax) {
		t.Errorf("include with no file: %v", err)
	}
}

// TestGlobalSectionNames: fio takes a section whose name starts with
// "global" for [global], and [GLOBAL] for a job (fio 3.33 runs it).
func TestGlobalSectionNames(t *testing.T) {
	f, err := Parse(strings.NewReader("[global-opts]\nbs=8k\ndirect=1\n[GLOBAL]\nsize=1m\n[a]\n"), "g.fio")
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Jobs) != 2 || f.Jobs[0].Name != "GLOBAL" || f.Jobs[1].Name != "a" || f.Jobs[0].BS[0] != 8<<10 || f.Jobs[1].BS[0] != 8<<10 {
		var got []string
		for _, j := range f.Jobs {
			got = append(got, fmt.Sprintf("%s bs=%d", j.Name, j.BS[0]))
		}
		t.Errorf("jobs %q, want GLOBAL and a, each with bs=8k", got)
	}
	if len(f.Notices) != 2 {
		t.Errorf("notices %q, want one for each section name", f.Notices)
	}
}

// TestIncludeFromWorkingDirectory: fio opens an include's relative path
// from the working directory when the file is there, and only else from
// the including file's directory.
func TestIncludeFromWorkingDirectory(t *testing.T) {
	jobs, wd := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(jobs, "bs.inc"), []byte("bs=8k\n"), 0o644)
	os.WriteFile(filepath.Join(jobs, "depth.inc"), []byte("iodepth=4\n"), 0o644)
	os.WriteFile(filepath.Join(wd, "bs.inc"), []byte("bs=16k\n"), 0o644)
	t.Chdir(wd)
	f, err := Parse(strings.NewReader("[a]\ninclude bs.inc\ninclude depth.inc\n"), filepath.Join(jobs, "a.fio"))
	if err != nil {
		t.Fatal(err)
	}
	if a := f.Jobs[0]; a.BS[0] != 16<<10 || a.IODepth != 4 {
		t.Errorf("bs %d (want the working directory's 16k), iodepth %d (want the job file's directory's 4)", a.BS[0], a.IODepth)
	}
}

// genJob parses one job section for generator tests.
func genJob(t *testing.T, opts string) Job {
	t.Helper()
	f, err := Parse(strings.NewReader("[g]\n"+opts), "gen.fio")
	if err != nil {
		t.Fatal(err)
	}
	return f.Jobs[0]
}

// TestGeneratorShapes checks the effect of bs ranges, blockalign,
// rw=...:N, offset_increment and percentage_random on the I/Os made.
func TestGeneratorShapes(t *testing.T) {
	const target = 64 << 20
	j := genJob(t, "rw=randread\nbsrange=4k-64k\nblockalign=64k\n")
	g := NewGenerator(&j, 0, target)
	sizes := map[uint64]bool{}
	for range 2000 {
		io := g.Next()
		if io.Length%4096 != 0 || io.Length < 4096 || io.Length > 65536 || io.Offset%65536 != 0 {
			t.Fatalf("bsrange=4k-64k blockalign=64k: %+v", io)
		}
		sizes[io.Length] = true
	}
	if len(sizes) != 16 {
		t.Errorf("bsrange=4k-64k drew %d of the 16 sizes", len(sizes))
	}

	j = genJob(t, "rw=write:4k\nbs=4k\n")
	g = NewGenerator(&j, 0, target)
	for i := range 5 {
		if io := g.Next(); io.Offset != uint64(i)*8192 || !io.Write {
			t.Fatalf("rw=write:4k I/O %d: %+v", i, io)
		}
	}

	j = genJob(t, "rw=randread:4\nbs=4k\n")
	g = NewGenerator(&j, 0, target)
	var prev IO
	jumps := 0
	for i := range 400 {
		io := g.Next()
		if i%4 != 0 && io.Offset != prev.Offset+4096 && io.Offset != 0 {
			t.Fatalf("rw=randread:4 I/O %d at %d after %d: not sequential", i, io.Offset, prev.Offset)
		}
		if i > 0 && io.Offset != prev.Offset+4096 {
			jumps++
		}
		prev = io
	}
	if jumps < 90 {
		t.Errorf("rw=randread:4: %d random jumps in 400 I/Os, want about 100", jumps)
	}

	// rw_sequencer=identical: every fourth I/O goes to a random offset,
	// counted over both directions, and the others repeat the offset of
	// the last I/O in their own direction (0 before the first), as fio's
	// write_iolog shows; percentage_random keeps some of the N-th I/Os
	// sequential (after the repeated block), as in fio. Sequential
	// patterns take no effect.
	j = genJob(t, "rw=randrw:4\nbs=4k\nrw_sequencer=identical\n")
	g = NewGenerator(&j, 0, target)
	var last [2]uint64
	distinct := map[uint64]bool{}
	for i := range 800 {
		io := g.Next()
		d := map[bool]int{false: 0, true: 1}[io.Write]
		if i%4 != 0 && io.Offset != last[d] {
			t.Fatalf("rw_sequencer=identical: I/O %d (write %v) at %d, the last of its direction at %d", i, io.Write, io.Offset, last[d])
		}
		last[d] = io.Offset
		distinct[io.Offset] = true
	}
	if len(distinct) < 150 || len(distinct) > 202 {
		t.Errorf("rw_sequencer=identical: %d distinct offsets in 800 I/Os, want about 200", len(distinct))
	}
	j = genJob(t, "rw=randread:2\nbs=4k\nrw_sequencer=identical\npercentage_random=50\n")
	g = NewGenerator(&j, 0, target)
	seq := 0
	prev = g.Next()
	for i := 1; i < 400; i++ {
		io := g.Next()
		switch {
		case i%2 == 1 && io.Offset != prev.Offset:
			t.Fatalf("rw_sequencer=identical percentage_random=50: I/O %d at %d, the last at %d", i, io.Offset, prev.Offset)
		case i%2 == 0 && io.Offset == prev.Offset+4096:
			seq++
		}
		prev = io
	}
	if seq < 70 || seq > 130 {
		t.Errorf("rw_sequencer=identical percentage_random=50: %d of 200 new offsets sequential, want about 100", seq)
	}
	j = genJob(t, "rw=write:4k\nbs=4k\nrw_sequencer=identical\n")
	g = NewGenerator(&j, 0, target)
	for i := range 5 {
		if io := g.Next(); io.Offset != uint64(i)*8192 {
			t.Fatalf("rw=write:4k rw_sequencer=identical I/O %d: %+v", i, io)
		}
	}

	// bs_is_seq_rand: random I/O takes the write sizes, sequential the
	// read sizes, whatever the direction (checked against fio 3.33's
	// write_iolog: randwrite with percentage_random=50 and bs=4k,64k
	// wrote 64k at its jumps and 4k after them). Without norandommap a
	// random I/O is cut at the first block done already, as fio's is
	// (TestFioSizes).
	for _, c := range []struct {
		opts       string
		seq, rand_ uint64
	}{
		{"rw=randwrite:2\nbs=4k,64k", 4 << 10, 64 << 10},
		{"rw=randread:2\nbs=4k,64k", 4 << 10, 64 << 10},
		{"rw=randrw:2\nbssplit=8k/50:16k/50,64k", 0, 64 << 10},
		{"rw=write\nbs=4k,64k", 4 << 10, 0},
	} {
		j = genJob(t, c.opts+"\nbs_is_seq_rand=1\nnorandommap=1\n")
		g = NewGenerator(&j, 0, target)
		for i := range 200 {
			io := g.Next()
			want := c.seq
			if i%2 == 0 && j.RW.Random() {
				want = c.rand_
			}
			if want == 0 && io.Length != 8<<10 && io.Length != 16<<10 || want != 0 && io.Length != want {
				t.Fatalf("%q bs_is_seq_rand: I/O %d %+v, want %d bytes", c.opts, i, io, want)
			}
		}
		if c.opts == "rw=write\nbs=4k,64k" && g.PassBytes() != target {
			t.Errorf("%q: PassBytes %d", c.opts, g.PassBytes())
		}
	}
	if j := genJob(t, "rw=randrw\nbssplit=8k/50:16k/50,64k\nbs_is_seq_rand=1\n"); !slices.Equal(j.DirSizes(0), []uint64{8 << 10, 16 << 10, 64 << 10}) {
		t.Errorf("bs_is_seq_rand: DirSizes(0) = %v, want both directions' sizes", j.DirSizes(0))
	}

	j = genJob(t, "rw=read\nbs=4k\noffset=1m\noffset_increment=8m\nsize=4m\nnumjobs=3\n")
	for clone := range 3 {
		g = NewGenerator(&j, clone, target)
		if io := g.Next(); io.Offset != 1<<20+uint64(clone)*8<<20 {
			t.Errorf("clone %d starts at %d", clone, io.Offset)
		}
	}

	for _, c := range []struct {
		pct      string
		min, max int
	}{{"0", 1000, 1000}, {"50", 400, 600}, {"100", 0, 5}} {
		j = genJob(t, "rw=randread\nbs=4k\npercentage_random="+c.pct+"\n")
		g = NewGenerator(&j, 0, target)
		prev, seq := g.Next(), 0
		for range 1000 {
			io := g.Next()
			if io.Offset == prev.Offset+4096 {
				seq++
			}
			prev = io
		}
		if seq < c.min || seq > c.max {
			t.Errorf("percentage_random=%s: %d of 1000 I/Os sequential, want %d..%d", c.pct, seq, c.min, c.max)
		}
	}
	j = genJob(t, "rw=read\nsize=50%\noffset=25%\nbs=4k\n")
	j.ResolvePct(1 << 30)
	if j.Size != 512<<20 || j.Offset != 256<<20 {
		t.Errorf("size=50%% offset=25%% of 1 GiB: %d, %d", j.Size, j.Offset)
	}
}

// TestLFSRCoversEveryBlock: random_generator=lfsr visits every block once
// per pass even with norandommap; the default with norandommap repeats.
func TestLFSRCoversEveryBlock(t *testing.T) {
	for _, c := range []struct {
		opts    string
		repeats bool
	}{{"random_generator=lfsr\nnorandommap\n", false}, {"norandommap\n", true}} {
		j := genJob(t, "rw=randread\nbs=4k\n"+c.opts)
		g := NewGenerator(&j, 0, 4<<20)
		seen := map[uint64]bool{}
		for range 1024 {
			seen[g.Next().Offset] = true
		}
		if (len(seen) < 1024) != c.repeats {
			t.Errorf("%q: %d distinct blocks of 1024 in one pass", c.opts, len(seen))
		}
	}
}

// TestStridedZones: I/O stays in a zone until zonesize bytes are done,
// then moves zonerange+zoneskip on, wrapping at the region's end.
func TestStridedZones(t *testing.T) {
	j := genJob(t, "rw=read\nbs=4k\nsize=16m\nzonemode=strided\nzonesize=8k\nzonerange=1m\nzoneskip=1m\n")
	g := NewGenerator(&j, 0, 64<<20)
	want := []uint64{0, 4096, 2 << 20, 2<<20 + 4096, 4 << 20}
	for i, w := range want {
		if io := g.Next(); io.Offset != w {
			t.Fatalf("I/O %d at %d, want %d", i, io.Offset, w)
		}
	}
	// Zones go on past size (16m) to the target's end (64m), size bounding
	// only the bytes moved, as fio's do (its write_iolog of such jobs).
	past := false
	for range 100 {
		io := g.Next()
		if io.Offset >= 64<<20 || (io.Offset/(1<<20))%2 != 0 || io.Offset%(1<<20) >= 8192 {
			t.Fatalf("sequential zoned I/O at %d", io.Offset)
		}
		past = past || io.Offset >= 16<<20
	}
	if !past {
		t.Error("no zone past size")
	}
	j = genJob(t, "rw=randread\nbs=4k\nsize=16m\nzonemode=strided\nzonesize=64k\nzonerange=2m\n")
	g = NewGenerator(&j, 0, 64<<20)
	for i := range 160 {
		io := g.Next()
		zone := uint64(i/16) % 32 // 16 I/Os of 4k per 64k zonesize, 32 zones of 2m in 64m
		if io.Offset < zone*2<<20 || io.Offset >= (zone+1)*2<<20 {
			t.Fatalf("random I/O %d at %d, outside zone %d", i, io.Offset, zone)
		}
	}
}

// TestTrimPatterns: the trim patterns give trims sized and placed as
// writes (sequential in order, random every block once per pass), and
// a trimming job refuses what it cannot do, with one line each.
func TestTrimPatterns(t *testing.T) {
	const region = 64 << 10
	for _, rw := range []RW{Trim, RandTrim, TrimWrite, RandTrimWrite} {
		j := job(t, "rw", string(rw), "bs", "8k", "size", "64k")
		if !j.RW.Trims() || j.RW.Reads() || j.RW.Writes() != (rw == TrimWrite || rw == RandTrimWrite) || j.RW.Random() != (rw == RandTrim || rw == RandTrimWrite) {
			t.Fatalf("%s: trims %v reads %v writes %v random %v", rw, j.RW.Trims(), j.RW.Reads(), j.RW.Writes(), j.RW.Random())
		}
		g := NewGenerator(j, 0, 1<<20)
		seen := map[uint64]bool{}
		for i := range region / (8 << 10) {
			io := g.Next()
			if !io.Trim || io.Write || io.Dir() != DirTrim || io.Length != 8<<10 || io.Offset%(8<<10) != 0 || io.Offset >= region {
				t.Fatalf("%s: I/O %d is %+v", rw, i, io)
			}
			if !rw.Random() && io.Offset != uint64(i)*(8<<10) {
				t.Fatalf("%s: I/O %d at %d, want sequential", rw, i, io.Offset)
			}
			seen[io.Offset] = true
		}
		if len(seen) != region/(8<<10) {
			t.Fatalf("%s: %d distinct blocks in one pass, want every one of %d", rw, len(seen), region/(8<<10))
		}
	}
	if io := (IO{IOFlags: IOFlags{Write: true}}); io.Dir() != DirWrite || (IO{}).Dir() != DirRead {
		t.Fatal("Dir of a write or a read")
	}
	for _, c := range [][]string{
		{"rw", "trim", "mapper", "cow"},
		{"rw", "randtrim", "mapper", "cowlog"},
		{"rw", "trimwrite", "verify", "crc32c"},
		{"rw", "trim", "rate", "1m"},
	} {
		j := NewJob("t")
		for i := 0; i < len(c); i += 2 {
			if err := j.Set(c[i], c[i+1]); err != nil {
				t.Fatal(err)
			}
		}
		if err := j.Validate(); err == nil || !strings.Contains(err.Error(), "rw=") {
			t.Errorf("%v: %v, want a refusal naming rw", c, err)
		}
	}
	j := NewJob("t")
	for _, bs := range []string{"4k,8k,8k", "4k,,4k", "16k,16k,16k"} {
		if err := j.Set("bs", bs); err != nil {
			t.Errorf("bs=%s: %v (the trim size is the write size)", bs, err)
		}
	}
	// A trim size other than the write size is refused for a job that
	// trims, and means nothing to one that does not.
	if err := j.Set("bs", "4k,8k,16k"); err != nil {
		t.Errorf("bs=4k,8k,16k: %v", err)
	}
	if err := j.Validate(); err != nil {
		t.Errorf("bs=4k,8k,16k, rw=%s: %v", j.RW, err)
	}
	if z := NewJob("z"); z.Set("bs", "4k,4k,zz") == nil {
		t.Errorf("bs=4k,4k,zz: accepted")
	}
	// rw=trim and randtrim take the third value (fio's randtrim
	// bs=4k,8k,16k trims 16k blocks, its map counting in 4k);
	// trimwrite's trims and writes of different sizes are refused.
	tj := j.Clone()
	if err := tj.Set("rw", "randtrim"); err != nil {
		t.Fatal(err)
	}
	if err := tj.Validate(); err != nil || tj.TrimBS != 16<<10 || tj.MaxBS() != 16<<10 || tj.MinBS() != 4<<10 {
		t.Errorf("bs=4k,8k,16k rw=randtrim: %v, trims of %d, sizes %d to %d; want trims of 16k, sizes 4k to 16k", err, tj.TrimBS, tj.MinBS(), tj.MaxBS())
	}
	ww := j.Clone()
	if err := ww.Set("rw", "trimwrite"); err != nil {
		t.Fatal(err)
	}
	if err := ww.Validate(); err == nil || !strings.Contains(err.Error(), "trim block size") {
		t.Errorf("bs=4k,8k,16k rw=trimwrite: %v, want a refusal naming the trim size", err)
	}
	for bs, want := range map[string][3]uint64{",8k": {4096, 8192}, "8k,": {8192, 4096}, "8k": {8192, 8192}, "8k,16k,": {8192, 16384}} {
		k := NewJob("b")
		if err := k.Set("bs", bs); err != nil || k.BS[0] != want[0] || k.BS[1] != want[1] {
			t.Errorf("bs=%s: %v %v, want %v", bs, k.BS, err, want[:2])
		}
	}
	if err := j.Set("trim_percentage", "0"); err != nil {
		t.Errorf("trim_percentage=0: %v", err)
	}
}

// rw=read:-N starts each I/O N bytes before the end of the last: with N
// twice the block size the job reads backwards, wrapping from the start
// of its region to the last block; rw=read:N skips forwards.
func TestBackwardsSkip(t *testing.T) {
	f, err := Parse(strings.NewReader("[b]\nrw=read:-8k\nbs=4k\nsize=32k\n[f]\nrw=read:4k\nbs=4k\nsize=32k\n"), "x.fio")
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range [][]uint64{
		// fio 3.33's offsets with loops=3 (its lat log with log_offset):
		// each pass of 8 I/Os starts at 0, and 28k is never read.
		{0, 24, 20, 16, 12, 8, 4, 0, 0, 24, 20, 16, 12, 8, 4, 0, 0, 24},
		{0, 8, 16, 24, 0, 8},
	} {
		j := &f.Jobs[i]
		if i == 0 && (!j.RWBack || j.RWMod != 8<<10 || rwString(j) != "read:-8k") {
			t.Errorf("rw=read:-8k parsed as %s (back %v)", rwString(j), j.RWBack)
		}
		g := NewGenerator(j, 0, 1<<20)
		for k, w := range want {
			if io := g.Next(); io.Offset != w<<10 || io.Length != 4<<10 {
				t.Errorf("%s: I/O %d at %d+%d, want %dk", rwString(j), k, io.Offset, io.Length, w)
			}
		}
	}
}

// TestPassBytes: a sequential read, write or trim that skips with a fixed
// block size transfers only the blocks between the skips in a pass (the
// last one whole) when its region ends short of the target or the skip
// after its last block stops short of the target's end; one that covers
// its whole target from offset 0 and whose skip reaches the end wraps to
// the start, so its pass transfers the region's span, as fio 3.33's does
// (rw=write:112k bs=16k over a 32 MiB file, reduced from fio's
// cross-stripe-verify.fio, moved 32 MiB; on an 8 MiB file read:8k bs=4k reads 2048 blocks,
// write:4k bs=8k writes 683, the last ending at the end). Other patterns
// transfer the region's span.
func TestPassBytes(t *testing.T) {
	for _, tc := range []struct {
		job    string
		target uint64
		want   uint64
	}{
		{"rw=read:8k\nbs=4k", 16 << 20, 683 * 4096}, // (8 MiB - 4k) / 12k + 1 blocks
		{"rw=write:4k\nbs=8k", 16 << 20, 683 * 8192},
		{"rw=read:4k\nbs=4k", 16 << 20, 1024 * 4096},
		{"rw=read:8k\nbs=4k", 8 << 20, 8 << 20},
		{"rw=write:4k\nbs=8k", 8 << 20, 683 * 8192}, // the last block ends at the end
		{"rw=write:4k\nbs=8k", 64 << 10, 5 * 8192},  // the skip ends 4k short of it
		{"rw=read:8k\nbs=4k\noffset=4k", 8<<20 + 4096, 683 * 4096},
		{"rw=read", 8 << 20, 8 << 20},
		{"rw=randread:8\nbs=4k", 8 << 20, 8 << 20},
		{"rw=read:-8k\nbs=4k", 8 << 20, 8 << 20},
		{"rw=read:8k\nbsrange=4k-16k", 8 << 20, 8 << 20},
		{"rw=rw:8k\nbs=4k", 8 << 20, 8 << 20},
	} {
		f, err := Parse(strings.NewReader("[p]\nsize=8m\n"+tc.job+"\n"), "x.fio")
		if err != nil {
			t.Fatal(err)
		}
		if got := NewGenerator(&f.Jobs[0], 0, tc.target).PassBytes(); got != tc.want {
			t.Errorf("%q on %d bytes: %d bytes a pass, want %d", tc.job, tc.target, got, tc.want)
		}
	}
}

// A write_*_log given with no value names the logs after the job, as fio
// does, also from [global].
func TestBareLogOptions(t *testing.T) {
	f, err := Parse(strings.NewReader("[global]\nwrite_iops_log\n[a]\nwrite_bw_log\n[b]\nwrite_lat_log=x\n"), "l.fio")
	if err != nil {
		t.Fatal(err)
	}
	a, b := f.Jobs[0].Logs, f.Jobs[1].Logs
	if a.BW != "a" || a.IOPS != "a" || b.IOPS != "b" || b.Lat != "x" || b.BW != "" {
		t.Errorf("logs %+v, %+v", a, b)
	}
}

// TestEngineOptionBeforeIOEngine: an I/O engine's own option before its
// ioengine= line (fio's nfs.fio: nfs_url, then ioengine=nfs) is reported
// after the engine iobench does not run, refused with it rather than
// called unknown; every bad option of a file is reported, as fio lists
// them, unknown ones last, each with its line.
func TestEngineOptionBeforeIOEngine(t *testing.T) {
	_, err := Parse(strings.NewReader("[global]\nnfs_url=nfs://127.0.0.1/nfs\nioengine=nfs\n[j]\nrw=read\nsize=1m\n"), "nfs.fio")
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Option != "ioengine" || pe.Line != 3 || errors.Is(err, ErrUnknownOption) ||
		!strings.HasSuffix(err.Error(), `nfs.fio:2: option "nfs_url": not supported by iobench: neither fio's job option nor an io_uring one; taken for an option of ioengine=nfs, refused above`) {
		t.Errorf("nfs_url before ioengine=nfs: %v, want the ioengine refused at line 3, then nfs_url refused with it", err)
	}
	_, err = Parse(strings.NewReader("[cpu]\nioengine=cpuio\ncpuload=50\ncpumode=qsort\n"), "cpuio.fio")
	if errors.Is(err, ErrUnknownOption) || strings.Count(fmt.Sprint(err), "taken for an option of ioengine=cpuio") != 2 {
		t.Errorf("cpuio's options: %v, want both refused with ioengine=cpuio", err)
	}
	_, err = Parse(strings.NewReader("[j]\nbs=4q\nrw=read\nbogus=1\nsize=1m\niodepth=0\n"), "m.fio")
	if got := strings.Split(fmt.Sprint(err), "\n"); len(got) != 3 || !strings.HasPrefix(got[0], "m.fio:2: option \"bs\"") ||
		!strings.HasPrefix(got[1], "m.fio:6: option \"iodepth\"") || !strings.HasPrefix(got[2], "m.fio:4: option \"bogus\"") {
		t.Errorf("three bad options: %q, want lines 2, 6, then the unknown 4", got)
	}
	_, err = Parse(strings.NewReader("[j]\n"+strings.Repeat("bs=4q\n", 12)), "many.fio")
	if got := strings.Split(fmt.Sprint(err), "\n"); len(got) != 11 || got[10] != "many.fio: 2 more bad options not shown" {
		t.Errorf("twelve bad options: %q", got)
	}
	_, err = Parse(strings.NewReader("[j]\nrw=read\nbogus=1\nsize=1m\nalso_bogus=2\n"), "b.fio")
	if !errors.As(err, &pe) || pe.Option != "bogus" || pe.Line != 3 || !errors.Is(err, ErrUnknownOption) {
		t.Errorf("unknown options: %v, want the first (line 3) reported as unknown", err)
	}
}

// TestNextPlain: a plain generator's I/Os (nextPlain) are those Next's
// general steps give, over random jobs of random I/O (about a fifth of
// them plain), up to three passes of each, through Generator and FileGen,
// with time_based (passes that go on) and without.
func TestNextPlain(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	pick := func(s ...string) string { return s[rng.IntN(len(s))] }
	plain := 0
	for i := range 300 {
		kv := []string{"rw", pick("randread", "randwrite", "randread", "randwrite", "randrw", "randtrim", "randread:1", "randread:4")}
		if rng.IntN(3) > 0 {
			kv = append(kv, "bs", pick("4k", "8k", "512", "3k", "4k,16k", "1m"))
		}
		opts := [][]string{
			{"norandommap", "1"},
			{"random_generator", pick("tausworthe", "tausworthe64", "lfsr")},
			{"blockalign", pick("4k", "8k", "2k")},
			{"random_distribution", pick("zipf:1.2", "pareto:0.3", "normal:10", "zoned:50/10:50/90")},
			{"size", pick("1m", "256k", "100k", "1000000", "24k")},
			{"offset", pick("4k", "1m", "6000")},
			{"randseed", pick("1", "12345")},
			{"time_based", "1", "runtime", "1"},
			{"percentage_random", pick("100", "50", "100,20")},
			{"bsrange", "4k-16k"},
			{"bssplit", "4k/50:16k/50"},
			{"bs_is_seq_rand", "1"},
			{"zonemode", "strided", "zonesize", "64k", "zonerange", "256k"},
		}
		for _, o := range opts {
			if rng.IntN(5) == 0 {
				kv = append(kv, o...)
			}
		}
		j := NewJob("t")
		bad := false
		for k := 0; k < len(kv); k += 2 {
			bad = bad || j.Set(kv[k], kv[k+1]) != nil
		}
		if bad || j.Validate() != nil {
			continue
		}
		j.Thread = 1 + rng.IntN(3)
		target := []uint64{1 << 20, 5<<20 + 512, 64 << 20, 16 << 30}[rng.IntN(4)]
		clone := rng.IntN(2)
		a, b := NewGenerator(&j, clone, target), NewGenerator(&j, clone, target)
		if a.plain {
			plain++
		}
		b.plain = false
		var fa, fb *FileGen
		if i%2 == 1 {
			fa, fb = NewFileGen(&j, clone, []*Generator{a}), NewFileGen(&j, clone, []*Generator{b})
		}
		for n := range 3 * int(min(a.nBlk, 300)) {
			var x, y IO
			if fa != nil {
				_, x = fa.Next()
				_, y = fb.Next()
			} else {
				x, y = a.Next(), b.Next()
			}
			if x != y {
				t.Fatalf("%v over %d bytes (plain %v), I/O %d: %+v, Next's general steps %+v", kv, target, a.plain, n, x, y)
			}
		}
	}
	if plain < 40 {
		t.Errorf("%d plain jobs of 300", plain)
	}
}

// TestOptionOutsideSection: an option before any section is refused with
// its line and the option itself, as fio names it ("option <x=1> outside
// of [] job section").
func TestOptionOutsideSection(t *testing.T) {
	_, err := Parse(strings.NewReader("; a job file\ntest_size=200GB ; why\n[a]\nrw=read\n"), "o.fio")
	if err == nil || !strings.Contains(err.Error(), `o.fio:2:`) || !strings.Contains(err.Error(), `option "test_size=200GB" outside of any section`) {
		t.Errorf("got %v; want the line and the option named", err)
	}
}

// TestEmptyJobFile: an empty job file is said to be empty, with no line
// 0 in the message; one with lines but no section names its last line.
func TestEmptyJobFile(t *testing.T) {
	if _, err := Parse(strings.NewReader(""), "e.fio"); err == nil || err.Error() != "e.fio: syntax error: no job sections: the file is empty" {
		t.Errorf("empty: %v", err)
	}
	if _, err := Parse(strings.NewReader("\n; a comment\n"), "c.fio"); err == nil || err.Error() != "c.fio:2: syntax error: no job sections" {
		t.Errorf("comments only: %v", err)
	}
}

// TestSubstitutedEngines: fio's engines that read and write at file
// offsets another way run on io_uring with a notice; the synchronous ones
// at iodepth=1, as fio caps their depth, and the value given stays what
// the job's options echo. Engines that do something else stay refused.
func TestSubstitutedEngines(t *testing.T) {
	cases := []struct {
		engine      string
		depth, want int
		notice      string
	}{
		{"libaio", 32, 32, "io_uring, at iodepth=32, where fio runs libaio"},
		{"libaio", 1, 1, "io_uring, at iodepth=1, where fio runs libaio"},
		{"posixaio", 8, 8, "where fio runs posixaio"},
		{"psync", 16, 1, "iodepth=16 lowered to 1"},
		{"sync", 2, 1, "iodepth=2 lowered to 1"},
		{"vsync", 4, 1, "lowered to 1"},
		{"pvsync", 4, 1, "lowered to 1"},
		{"pvsync2", 1, 1, "one I/O at a time, as fio's synchronous engine does them"},
	}
	for _, c := range cases {
		src := fmt.Sprintf("[a]\nioengine=%s\niodepth=%d\nrw=randread\ndirect=1\n", c.engine, c.depth)
		f, err := Parse(strings.NewReader(src), "e.fio")
		if err != nil {
			t.Errorf("%s: %v", c.engine, err)
			continue
		}
		j := &f.Jobs[0]
		if j.IOEngine != "io_uring" || j.IODepth != c.want || j.EngineAsked() != strings.ToLower(c.engine) {
			t.Errorf("%s iodepth=%d: engine %q depth %d asked %q; want io_uring at %d", c.engine, c.depth, j.IOEngine, j.IODepth, j.EngineAsked(), c.want)
		}
		if len(f.Notices) != 1 || !strings.Contains(f.Notices[0], c.notice) || !strings.Contains(f.Notices[0], "e.fio:2:") {
			t.Errorf("%s iodepth=%d: notices %q; want one at e.fio:2 saying %q", c.engine, c.depth, f.Notices, c.notice)
		}
		// A second Validate (the runner's, after the command line) keeps
		// the cap and says so again.
		if err := j.Validate(); err != nil || j.IODepth != c.want || len(j.Adjustments()) != 1 || !strings.Contains(j.Adjustments()[0], c.notice) {
			t.Errorf("%s: Validate again: %v, depth %d, %q", c.engine, err, j.IODepth, j.Adjustments())
		}
		if v := j.Values(); !slices.Contains(v, [2]string{"ioengine", strings.ToLower(c.engine)}) {
			t.Errorf("%s: Values %v; want ioengine as given", c.engine, v)
		}
	}
	// Setting io_uring after a substituted engine runs io_uring as given.
	nj := NewJob("b")
	j := &nj
	for _, kv := range [][2]string{{"ioengine", "psync"}, {"iodepth", "8"}, {"ioengine", "io_uring"}} {
		if err := j.Set(kv[0], kv[1]); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.Validate(); err != nil || j.IODepth != 8 || j.EngineAsked() != "" || len(j.Adjustments()) != 0 {
		t.Errorf("psync then io_uring: %v, depth %d, asked %q, %q", err, j.IODepth, j.EngineAsked(), j.Adjustments())
	}
	for _, e := range []string{"mmap", "splice", "net", "rbd", "io_uring_cmd", "sg"} {
		if _, err := Parse(strings.NewReader("[a]\nioengine="+e+"\n"), "e.fio"); !errors.Is(err, ErrRefused) {
			t.Errorf("ioengine=%s: %v; want refused", e, err)
		}
	}
}

// TestTextAfterNumber: fio 3.33 reads a numeric option's number and
// ignores text after it past a blank (a gcsfuse job file writes
// "fsync=10  // For write tests only"): the job runs with the number and
// a notice names what was ignored. A boolean's word, a string and text
// glued to the number stay errors.
func TestTextAfterNumber(t *testing.T) {
	src := "[j]\nfsync=10  // For write tests only\niodepth=4 x\nnumjobs=2\tfoo\nsize=1m bar\nruntime=3s later\ndirect=1 x\nrw=randread\n"
	f, err := Parse(strings.NewReader(src), "t.fio")
	if err != nil {
		t.Fatal(err)
	}
	j := f.Jobs[0]
	if j.FsyncEvery != 10 || j.IODepth != 4 || j.NumJobs != 2 || j.Size != 1<<20 || j.Runtime != 3*time.Second || !j.Direct {
		t.Errorf("fsync %d iodepth %d numjobs %d size %d runtime %v direct %v; want 10 4 2 1m 3s true",
			j.FsyncEvery, j.IODepth, j.NumJobs, j.Size, j.Runtime, j.Direct)
	}
	var ignored int
	for _, n := range f.Notices {
		if strings.Contains(n, "after the value ignored") {
			ignored++
		}
	}
	if ignored != 6 || !strings.Contains(strings.Join(f.Notices, "\n"), `t.fio:2: fsync=10  // For write tests only: "// For write tests only" after the value ignored`) {
		t.Errorf("notices %q; want one per option with text after its number", f.Notices)
	}
	for _, bad := range []string{"direct=yes x", "rw=randread x", "iodepth=x 4", "iodepth=4x"} {
		if _, err := Parse(strings.NewReader("[j]\n"+bad+"\n"), "t.fio"); !errors.Is(err, ErrBadValue) {
			t.Errorf("%s: %v; want a bad value", bad, err)
		}
	}
}

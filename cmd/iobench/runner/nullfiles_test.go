package runner

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iobench/iobench/workloads"
)

// fio's null engine opens no file, so jobs fio runs with it run here too:
// fio's own example asks for 100g with no file (the automatic target grows
// to it, sparse), and named files that do not exist, or one smaller than
// the job, are stood in for by the automatic target, with nothing created
// or extended where they were named.
func TestNullEngineNeedsNoFiles(t *testing.T) {
	dir := t.TempDir()
	job := filepath.Join(dir, "null.fio")
	src := "[global]\nbs=4k\ngtod_reduce=1\n\n[null]\nioengine=null\nsize=100g\nrw=randread\nnorandommap\nruntime=1\ntime_based\n"
	if err := os.WriteFile(job, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := run(t, job)
	if code != 0 || !strings.Contains(out, "(100 GiB") || !strings.Contains(out, "ioengine=null") {
		t.Errorf("fio's null example: exit %d\n%s\n%s", code, out, errOut)
	}
	// fio's t0030.fio: filesize alone sizes the job, past --target-size's
	// default; the file it names (test.0.0) is not created.
	t0030 := filepath.Join(t.TempDir(), "t0030.fio")
	if err := os.WriteFile(t0030, []byte("[test]\nioengine=null\nfilesize=1T\nrw=read\ntime_based\nruntime=1s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := run(t, t0030); code != 0 || !strings.Contains(out, "  read: IOPS=") {
		t.Errorf("fio's t0030.fio (filesize=1T): exit %d\n%s\n%s", code, out, errOut)
	}
	// fio's t0024.fio: a null job trims in 512-byte blocks, though the
	// automatic target's loop device discards in 4 KiB units: its trims
	// reach no device, as fio's null engine's.
	code, out, errOut = run(t, "--name=bsrange", "--ioengine=null", "--rw=trimwrite", "--filesize=1m", "--bsrange=512-4k", "--output-format=json")
	var doc struct {
		Jobs []struct {
			Trim fioJSONDir `json:"trim"`
		} `json:"jobs"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &doc) != nil || len(doc.Jobs) != 1 || doc.Jobs[0].Trim.TotalIOs == 0 {
		t.Errorf("fio's t0024.fio [bsrange] (null trimwrite, bsrange=512-4k): exit %d\n%s\n%s", code, out, errOut)
	}
	// A pass of trims drawn from a range ends at the region's end, as
	// fio's (t0024.fio [bsrange]: 1 MiB trimmed and written whatever the
	// seed): a size that does not fit is drawn again.
	for _, seed := range []string{"1", "2", "3"} {
		for _, rw := range []string{"trimwrite", "trim"} {
			code, out, errOut := run(t, "--name=t", "--ioengine=null", "--rw="+rw, "--filesize=1m", "--bsrange=512-4k",
				"--randseed="+seed, "--output-format=json")
			var doc struct {
				Jobs []struct {
					Write fioJSONDir `json:"write"`
					Trim  fioJSONDir `json:"trim"`
				} `json:"jobs"`
			}
			if code != 0 || json.Unmarshal([]byte(out), &doc) != nil || len(doc.Jobs) != 1 {
				t.Fatalf("%s randseed=%s: exit %d: %s", rw, seed, code, errOut)
			}
			j := doc.Jobs[0]
			if wantW := map[bool]uint64{true: 1 << 20}[rw == "trimwrite"]; j.Trim.IOBytes != 1<<20 || j.Write.IOBytes != wantW {
				t.Errorf("%s bsrange=512-4k randseed=%s: trimmed %d, wrote %d; want 1 MiB, %d", rw, seed, j.Trim.IOBytes, j.Write.IOBytes, wantW)
			}
		}
	}
	if _, err := os.Stat("test.0.0"); err == nil {
		os.Remove("test.0.0")
		t.Errorf("t0030.fio's null job created its file test.0.0")
	}
	for _, args := range [][]string{
		{"--nrfiles=2", "--directory=" + dir},
		{"--filename=" + filepath.Join(dir, "a") + ":" + filepath.Join(dir, "b")},
		{"--nrfiles=3", "--numjobs=2", "--directory=" + dir},
	} {
		code, out, errOut := run(t, append([]string{"--name=j", "--ioengine=null", "--rw=randread", "--size=2m"}, args...)...)
		if code != 0 || !strings.Contains(out, "  read: IOPS=") {
			t.Errorf("%q: exit %d\n%s\n%s", args, code, out, errOut)
		}
	}
	// Each file a null job names is stood in for over its own size, as
	// fio's null engine runs each (fio 3.33 moved these bytes).
	for _, c := range []struct {
		args []string
		want uint64
	}{
		{[]string{"--nrfiles=4", "--filesize=1m"}, 4 << 20},
		{[]string{"--nrfiles=2", "--filesize=1m", "--numjobs=2"}, 4 << 20},
		{[]string{"--nrfiles=4", "--filesize=1m", "--file_service_type=sequential"}, 4 << 20},
		{[]string{"--filename=" + filepath.Join(dir, "a") + ":" + filepath.Join(dir, "b"), "--filesize=1m"}, 2 << 20},
	} {
		code, out, errOut := run(t, append([]string{"--name=j", "--ioengine=null", "--rw=randread", "--directory=" + dir, "--output-format=json"}, c.args...)...)
		var doc struct {
			Jobs []struct {
				Read fioJSONDir `json:"read"`
			} `json:"jobs"`
		}
		if code != 0 || json.Unmarshal([]byte(out), &doc) != nil {
			t.Fatalf("%q: exit %d: %s", c.args, code, errOut)
		}
		var moved uint64
		for _, j := range doc.Jobs {
			moved += j.Read.IOBytes
		}
		if moved != c.want {
			t.Errorf("%q: read %d bytes, want %d (each file's)", c.args, moved, c.want)
		}
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 {
		t.Errorf("the null engine created files: %v", ents)
	}
	// With a file that exists, that file is the target (and no I/O
	// reaches it).
	named := filepath.Join(dir, "exists")
	if err := os.WriteFile(named, make([]byte, 4<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = run(t, "--name=j", "--ioengine=null", "--rw=randread", "--size=2m", "--filename="+named)
	if code != 0 || !strings.Contains(out, named) {
		t.Errorf("existing file: exit %d\n%s\n%s", code, out, errOut)
	}
	// One too small for the job is stood in for too (fio runs null.fio's
	// 100g on any --filename), and left as it was: no bigger.
	code, out, errOut = run(t, "--name=j", "--ioengine=null", "--rw=randread", "--size=64m", "--filename="+named)
	if code != 0 || strings.Contains(out, named) || !strings.Contains(out, "  read: IOPS=") {
		t.Errorf("existing file smaller than size: exit %d\n%s\n%s", code, out, errOut)
	}
	if st, err := os.Stat(named); err != nil || st.Size() != 4<<20 {
		t.Errorf("the null job changed %s: %v, %v", named, st.Size(), err)
	}
}

// A directory= that does not exist is refused on the null engine too, as
// fio 3.33 refuses it ("is not a directory"), though the null engine's
// files are stood in for (fio's 1mbs_clients example has directory=tmp).
func TestNullEngineMissingDirectory(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "none")
	code, _, errOut := run(t, "--name=j", "--ioengine=null", "--rw=read", "--size=2m", "--directory="+missing)
	if code == 0 || !strings.Contains(errOut, "directory="+missing+": not a directory") {
		t.Errorf("missing directory: exit %d\n%s", code, errOut)
	}
	if _, err := os.Stat(missing); err == nil {
		t.Errorf("%s was created", missing)
	}
}

// The header line fio prints before a job names its engine and its block
// size range; a reversed range is taken in either order, as fio takes it.
func TestHeaderEngineAndRange(t *testing.T) {
	code, out, errOut := run(t, "--name=j", "--ioengine=null", "--rw=randrw", "--size=2m", "--bsrange=8k-4k,16k-2k")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	// fio 3.33's line for the same options.
	want := "j: (g=0): rw=randrw, bs=(R) 4096B-8192B, (W) 2048B-16.0KiB, (T) 2048B-16.0KiB, ioengine=null, iodepth=1\n"
	if !strings.HasPrefix(out, want) {
		t.Errorf("header:\n%s\nwant %s", strings.SplitN(out, "\n", 2)[0], want)
	}
	// rw=randtrim's trims take bs's third value, which the line shows.
	code, out, errOut = run(t, "--name=j", "--ioengine=null", "--rw=randtrim", "--size=2m", "--bs=4k,8k,16k")
	want = "j: (g=0): rw=randtrim, bs=(R) 4096B-4096B, (W) 8192B-8192B, (T) 16.0KiB-16.0KiB, ioengine=null, iodepth=1\n"
	if code != 0 || !strings.HasPrefix(out, want) {
		t.Errorf("randtrim bs=4k,8k,16k: exit %d, header:\n%s\nwant %s%s", code, strings.SplitN(out, "\n", 2)[0], want, errOut)
	}
	// Block sizes as fio 3.33 writes them on that line (bs=N).
	for n, want := range map[uint64]string{512: "512B", 4096: "4096B", 9728: "9728B", 12288: "12.0KiB", 15872: "15.5KiB",
		65536: "64.0KiB", 131072: "128KiB", 1 << 20: "1024KiB", 4 << 20: "4096KiB", 10 << 20: "10.0MiB",
		1000448: "977KiB", 1043968: "1020KiB", 1047552: "1023KiB"} {
		if got := fioBytes(n); got != want {
			t.Errorf("fioBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

// rate and rate_iops together are refused, as fio refuses them, even when
// they cap different directions.
func TestRateAndRateIOPSExclusive(t *testing.T) {
	for _, args := range [][]string{{"--rate=1m", "--rate_iops=100"}, {"--rate=1m,0", "--rate_iops=0,100"}} {
		code, _, errOut := run(t, append([]string{"--name=j", "--ioengine=null", "--rw=randread", "--size=1m"}, args...)...)
		if code != 2 || !strings.Contains(errOut, "mutually exclusive") {
			t.Errorf("%q: exit %d, %s", args, code, errOut)
		}
	}
}

// Unset, fixedbufs and registerfiles are on (where the kernel will pin the
// buffers), and the report says what is registered; set, they are fio's.
// (ioengine=null over NOPs: the ring in the process registers nothing.)
func TestRegisteredByDefault(t *testing.T) {
	useNopRing(t)
	base := []string{"--name=j", "--ioengine=null", "--rw=randread", "--size=1m"}
	_, out, _ := run(t, base...)
	want := "registered=files,buffers"
	j := workloads.NewJob("j")
	if fixed, _ := registered(&j, 8<<20); !fixed {
		want = "registered=files"
	}
	if !strings.Contains(out, want) {
		t.Errorf("defaults: want %q in\n%s", want, out)
	}
	_, out, _ = run(t, append(base, "--fixedbufs=0", "--registerfiles=0")...)
	if strings.Contains(out, "registered=") {
		t.Errorf("fixedbufs=0 registerfiles=0 registered something:\n%s", out)
	}
	_, out, _ = run(t, append(base, "--fixedbufs=1", "--registerfiles=0")...)
	if !strings.Contains(out, "registered=buffers") || strings.Contains(out, "registered=files") {
		t.Errorf("fixedbufs=1 registerfiles=0:\n%s", out)
	}
}

// An arena above maxDefaultFixed is not registered unless fixedbufs=1
// asks: registering pins every page of it.
func TestLargeArenaNotRegisteredByDefault(t *testing.T) {
	j := workloads.NewJob("j")
	if fixed, files := registered(&j, maxDefaultFixed+1); fixed || !files {
		t.Errorf("arena over the cap: fixed %v files %v", fixed, files)
	}
	if err := j.Set("fixedbufs", "1"); err != nil {
		t.Fatal(err)
	}
	if fixed, _ := registered(&j, maxDefaultFixed+1); !fixed {
		t.Errorf("fixedbufs=1 over the cap: not registered")
	}
}

// TestNullJobsTakeNoLoopDevice: jobs that all run ioengine=null stand on
// a file, with no loop device over it (their I/O reaches no device); a
// run with a job that does device I/O on the automatic target still
// gets one where loop devices can be made.
func TestNullJobsTakeNoLoopDevice(t *testing.T) {
	target := func(args ...string) string {
		t.Helper()
		code, out, errOut := run(t, append(args, "--output-format=json")...)
		var doc struct {
			Target string `json:"target"`
		}
		if code != 0 || json.Unmarshal([]byte(out), &doc) != nil {
			t.Fatalf("%v: exit %d\n%s", args, code, errOut)
		}
		return doc.Target
	}
	if got := target("--name=n", "--ioengine=null", "--rw=randread", "--size=16m"); !strings.HasPrefix(got, "file ") {
		t.Errorf("a null job's automatic target is %q, want a file", got)
	}
	_, loopErr := os.Stat("/dev/loop-control")
	if os.Geteuid() != 0 || loopErr != nil {
		return // no loop devices here: every automatic target is a file
	}
	got := target("--name=n", "--ioengine=null", "--rw=randread", "--size=16m",
		"--name=p", "--rw=randread", "--size=16m", "--direct=1")
	if !strings.HasPrefix(got, "loop device ") {
		t.Errorf("a run with a job doing device I/O has automatic target %q, want a loop device", got)
	}
}

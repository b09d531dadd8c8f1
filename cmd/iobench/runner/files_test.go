package runner

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/iobench/iobench/device/looptest"
	"github.com/iobench/iobench/workloads"
)

// filesReport is the part of iobench's JSON a multi-file test reads.
type filesReport struct {
	Jobs []struct {
		Name    string      `json:"jobname"`
		Read    fioDirCount `json:"read"`
		Write   fioDirCount `json:"write"`
		IOBench struct {
			Files []jsonFile `json:"files"`
		} `json:"iobench"`
	} `json:"jobs"`
}

// runFiles runs iobench with args (JSON output) and decodes the report.
func runFiles(t *testing.T, args ...string) filesReport {
	t.Helper()
	code, out, errs := run(t, append(args, "--output-format=json")...)
	if code != 0 {
		t.Fatalf("%v: exit %d: %s", args, code, errs)
	}
	var doc filesReport
	if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Jobs) == 0 {
		t.Fatalf("JSON: %v\n%s", err, out)
	}
	return doc
}

// perFile returns the reads and writes the engine did on each file, by
// base name.
func perFile(doc filesReport, job int) map[string][2]uint64 {
	out := map[string][2]uint64{}
	for _, f := range doc.Jobs[job].IOBench.Files {
		out[filepath.Base(f.Name)] = [2]uint64{f.Reads, f.Writes}
	}
	return out
}

// sizes lists the regular files in dir: name and size.
func sizes(t *testing.T, dir string) map[string]int64 {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, e := range ents {
		st, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = st.Size()
	}
	return out
}

// TestNrFilesLayout: a reading job with nrfiles=4 in a directory lays out
// exactly the files fio would (jobname.clone.file, size/4 bytes each,
// with data), and its I/O is spread as file_service_type says: every
// file takes its share of each pass, and a job that covers less than its
// files (size below filesize times nrfiles) fills them in the order the
// service type gives (fio 3.33 ran these jobs with the same counts).
func TestNrFilesLayout(t *testing.T) {
	dir := shmDir(t)
	doc := runFiles(t, "--name=job", "--directory="+dir, "--nrfiles=4", "--size=16m", "--rw=randread", "--bs=4k", "--iodepth=8")
	want := map[string]int64{"job.0.0": 4 << 20, "job.0.1": 4 << 20, "job.0.2": 4 << 20, "job.0.3": 4 << 20}
	if got := sizes(t, dir); !mapsEqual(got, want) {
		t.Fatalf("files %v, want %v", got, want)
	}
	for name := range want {
		var st unix.Stat_t
		if err := unix.Stat(filepath.Join(dir, name), &st); err != nil || st.Blocks*512 < 4<<20 {
			t.Errorf("%s: %d bytes allocated, want it laid out with data", name, st.Blocks*512)
		}
	}
	if r := doc.Jobs[0].Read; r.TotalIOs != 4096 || r.IOBytes != 16<<20 {
		t.Fatalf("read %+v, want 4096 I/Os, 16 MiB", r)
	}
	for name, rw := range perFile(doc, 0) {
		if rw != [2]uint64{1024, 0} {
			t.Errorf("%s: %v, want 1024 reads", name, rw)
		}
	}
	// size=4m over four 2m files: roundrobin and random share it,
	// sequential fills the first two.
	for _, c := range []struct {
		fst  string
		want []uint64 // writes per file; nil: any split adding up to 1024, none over 512
	}{
		{"roundrobin", []uint64{256, 256, 256, 256}},
		{"sequential", []uint64{512, 512, 0, 0}},
		{"random", nil},
	} {
		dir := shmDir(t)
		doc := runFiles(t, "--name=w", "--directory="+dir, "--nrfiles=4", "--filesize=2m", "--size=4m", "--rw=randwrite",
			"--bs=4k", "--iodepth=4", "--file_service_type="+c.fst)
		pf := perFile(doc, 0)
		var got []uint64
		var sum uint64
		for i := range 4 {
			got = append(got, pf["w.0."+string(rune('0'+i))][1])
			sum += got[i]
		}
		switch {
		case c.want != nil && !slices.Equal(got, c.want):
			t.Errorf("%s: writes per file %v, want %v", c.fst, got, c.want)
		case c.want == nil && (sum != 1024 || slices.Max(got) > 512 || slices.Min(got) == 0):
			t.Errorf("%s: writes per file %v", c.fst, got)
		}
		if s := sizes(t, dir); len(s) != 4 || s["w.0.3"] != 2<<20 {
			t.Errorf("%s: files %v, want four of 2 MiB", c.fst, s)
		}
	}
}

func mapsEqual[K comparable, V comparable](a, b map[K]V) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestSequentialWalksEachFile: a sequential writing job writes every block
// of each of its files (laid out sparse with fallocate=none, so the
// blocks allocated afterwards are the blocks written).
func TestSequentialWalksEachFile(t *testing.T) {
	dir := shmDir(t)
	doc := runFiles(t, "--name=s", "--directory="+dir, "--nrfiles=3", "--size=3m", "--rw=write", "--bs=64k",
		"--fallocate=none", "--file_service_type=roundrobin:2")
	if w := doc.Jobs[0].Write; w.TotalIOs != 48 {
		t.Fatalf("write %+v, want 48 I/Os", w)
	}
	for name, size := range sizes(t, dir) {
		var st unix.Stat_t
		if err := unix.Stat(filepath.Join(dir, name), &st); err != nil {
			t.Fatal(err)
		}
		if size != 1<<20 || st.Blocks*512 != 1<<20 {
			t.Errorf("%s: %d bytes, %d written; want 1 MiB each", name, size, st.Blocks*512)
		}
	}
	// fallocate=native (the default) allocates what a writing job lays
	// out before it writes: one I/O leaves the whole file allocated.
	dir = shmDir(t)
	runFiles(t, "--name=n", "--directory="+dir, "--nrfiles=2", "--size=2m", "--rw=write", "--number_ios=1")
	var st unix.Stat_t
	if err := unix.Stat(filepath.Join(dir, "n.0.1"), &st); err != nil || st.Blocks*512 != 1<<20 {
		t.Errorf("fallocate=native: %d bytes allocated, want 1 MiB (%v)", st.Blocks*512, err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "n.0.1")); slices.ContainsFunc(b, func(c byte) bool { return c != 0 }) {
		t.Error("a writing job's layout wrote data")
	}
	// overwrite=1: a writing job's files are laid out with data.
	dir = shmDir(t)
	runFiles(t, "--name=o", "--directory="+dir, "--nrfiles=2", "--size=2m", "--rw=write", "--number_ios=1", "--overwrite=1")
	if b, _ := os.ReadFile(filepath.Join(dir, "o.0.1")); len(b) != 1<<20 || !slices.ContainsFunc(b[len(b)-4096:], func(c byte) bool { return c != 0 }) {
		t.Error("overwrite=1: the file's end holds no data")
	}
}

// TestFilenameList: filename=a:b with two regular files of different
// sizes and no size: each is covered whole; clones share the files;
// unlink removes them afterwards; a short file is extended, keeping what
// it held.
func TestFilenameList(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	if err := os.WriteFile(a, []byte("kept"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(a, 1<<20); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(b, nil, 0o644); err != nil || os.Truncate(b, 3<<20) != nil {
		t.Fatal(err)
	}
	doc := runFiles(t, "--name=ab", "--filename="+a+":"+b, "--rw=read", "--bs=64k", "--direct=0")
	if pf := perFile(doc, 0); pf["a"] != [2]uint64{16, 0} || pf["b"] != [2]uint64{48, 0} {
		t.Fatalf("per file %v, want a 16 reads, b 48", pf)
	}
	doc = runFiles(t, "--name=ab", "--filename="+a+":"+b, "--rw=randwrite", "--bs=64k", "--direct=0", "--numjobs=2",
		"--size=4m", "--group_reporting")
	if pf := perFile(doc, 0); pf["a"] != [2]uint64{0, 64} || pf["b"] != [2]uint64{0, 64} || doc.Jobs[0].Write.TotalIOs != 128 {
		t.Fatalf("two clones over shared files: %v, %+v", pf, doc.Jobs[0].Write)
	}
	// A reading job needing 4 MiB of a: laid out past its end only.
	runFiles(t, "--name=grow", "--filename="+a+":"+b, "--rw=read", "--size=8m", "--direct=0", "--unlink=1")
	for _, p := range []string{a, b} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s after unlink=1: %v", p, err)
		}
	}
	// The same with the data checked before unlink.
	os.WriteFile(a, []byte("kept"), 0o644)
	runFiles(t, "--name=grow", "--filename="+a, "--rw=read", "--size=1m", "--direct=0")
	got, _ := os.ReadFile(a)
	if len(got) != 1<<20 || string(got[:4]) != "kept" || !slices.ContainsFunc(got[4096:], func(c byte) bool { return c != 0 }) {
		t.Errorf("a short file laid out: %d bytes, starting %q", len(got), got[:4])
	}
}

// TestBlockDevicesInList: two loop devices as one job's files: each takes
// half of size, each passes the write-safety checks on its own (one that
// holds a filesystem is refused by name), and a regular file can join.
func TestBlockDevicesInList(t *testing.T) {
	l1 := looptest.New(t, 16<<20, looptest.Options{})
	l2 := looptest.New(t, 16<<20, looptest.Options{})
	doc := runFiles(t, "--name=bd", "--filename="+l1.Path+":"+l2.Path, "--rw=randwrite", "--bs=4k", "--size=8m", "--iodepth=8")
	if pf := perFile(doc, 0); len(pf) != 2 || pf[filepath.Base(l1.Path)][1] != 1024 || pf[filepath.Base(l2.Path)][1] != 1024 {
		t.Fatalf("per device %v, want 1024 writes each", pf)
	}
	// An ext4 signature on the second: refused, naming it.
	f, err := os.OpenFile(l2.Path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte{0x53, 0xef}, 1080); err != nil {
		t.Fatal(err)
	}
	f.Close()
	code, _, errs := run(t, "--name=bd", "--filename="+l1.Path+":"+l2.Path, "--rw=randwrite", "--size=8m")
	if code != 2 || !strings.Contains(errs, l2.Path) || strings.Contains(errs, l1.Path+":") {
		t.Fatalf("exit %d, stderr %q: want exit 2 naming %s", code, errs, l2.Path)
	}
	// Reading is not refused; a regular file in the list is laid out.
	file := filepath.Join(shmDir(t), "f")
	doc = runFiles(t, "--name=mix", "--filename="+l1.Path+":"+file, "--rw=read", "--bs=64k", "--size=4m")
	if pf := perFile(doc, 0); pf["f"] != [2]uint64{32, 0} || pf[filepath.Base(l1.Path)] != [2]uint64{32, 0} {
		t.Fatalf("device and file: %v", pf)
	}
}

// TestOpenFiles: openfiles below the job's files is refused before any
// I/O; at least as many runs.
func TestOpenFiles(t *testing.T) {
	dir := shmDir(t)
	code, _, errs := run(t, "--name=o", "--directory="+dir, "--nrfiles=4", "--openfiles=2", "--size=1m")
	if code != 2 || !strings.Contains(errs, "openfiles=2 is below the job's 4 files") {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if s := sizes(t, dir); len(s) != 0 {
		t.Fatalf("files made by a refused job: %v", s)
	}
	runFiles(t, "--name=o", "--directory="+dir, "--nrfiles=4", "--openfiles=4", "--size=1m")
}

// TestFilesizeRange: files drawn from filesize=lo-hi lie in the range,
// and the job covers each whole.
func TestFilesizeRange(t *testing.T) {
	dir := shmDir(t)
	doc := runFiles(t, "--name=r", "--directory="+dir, "--nrfiles=8", "--filesize=256k-1m", "--rw=write", "--bs=16k")
	var total int64
	for name, s := range sizes(t, dir) {
		if s < 256<<10 || s > 1<<20 || s%(16<<10) != 0 {
			t.Errorf("%s: %d bytes, want 256k-1m in 16k steps", name, s)
		}
		total += s
	}
	if w := doc.Jobs[0].Write; int64(w.IOBytes) != total {
		t.Errorf("wrote %v bytes, the files hold %d", w.IOBytes, total)
	}
}

// TestFilesVerify: verify over several files writes verify blocks in each
// and checks them all; a later verify_only run finds a corrupted block,
// naming its file.
func TestFilesVerify(t *testing.T) {
	dir := shmDir(t)
	args := []string{"--name=v", "--directory=" + dir, "--nrfiles=3", "--size=3m", "--rw=randwrite", "--bs=4k", "--iodepth=4", "--verify=crc32c"}
	runFiles(t, args...)
	corrupt(t, filepath.Join(dir, "v.0.2"), 8192+100)
	code, out, errs := run(t, append(args, "--verify_only")...)
	if code != 1 || !strings.Contains(out, "v.0.2: verify: block at offset 8192") {
		t.Fatalf("verify_only over a corrupted file: exit %d: %s%s", code, out, errs)
	}
}

// TestCompareRefusesFiles: compare runs both tools on one target; a job
// on files of its own is refused before either runs.
func TestCompareRefusesFiles(t *testing.T) {
	code, _, errs := run(t, "compare", "--name=c", "--directory="+t.TempDir(), "--nrfiles=2", "--size=1m")
	if code != 2 || !strings.Contains(errs, "runs on files of its own") {
		t.Fatalf("exit %d: %s", code, errs)
	}
}

// TestJobNamedAfterDevice: a job that names no file but whose name is a
// block device runs on that device, as fio runs a section [/dev/sdb]
// (fio's disk-zone-profile.fio), and says so; a name that is a directory
// keeps the automatic target, and filename= still wins over the name.
func TestJobNamedAfterDevice(t *testing.T) {
	l := looptest.New(t, 16<<20, looptest.Options{})
	other := looptest.New(t, 16<<20, looptest.Options{})
	dir := t.TempDir()
	path := filepath.Join(dir, "dev.fio")
	// ranOn runs the job file and returns the job's name, the bytes it
	// read and the disks the report's disk_util names.
	ranOn := func(src string) (string, float64, []string, string) {
		t.Helper()
		os.WriteFile(path, []byte(src), 0o644)
		code, out, errs := run(t, "--output-format=json", path)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errs)
		}
		var doc struct {
			Jobs []struct {
				Name string      `json:"jobname"`
				Read fioDirCount `json:"read"`
			} `json:"jobs"`
			Disks []struct {
				Name string `json:"name"`
			} `json:"disk_util"`
		}
		if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Jobs) != 1 {
			t.Fatalf("JSON: %v\n%s", err, out)
		}
		var disks []string
		for _, d := range doc.Disks {
			disks = append(disks, d.Name)
		}
		return doc.Jobs[0].Name, doc.Jobs[0].Read.IOBytes, disks, errs
	}
	name, read, disks, errs := ranOn("[global]\nrw=read\nbs=64k\nsize=4m\n[" + l.Path + "]\n")
	if name != l.Path || read != 4<<20 || !slices.Equal(disks, []string{filepath.Base(l.Path)}) || !strings.Contains(errs, "runs on "+l.Path) {
		t.Errorf("job %q read %v bytes, disks %v, stderr %q: want 4 MiB from %s, said", name, read, disks, errs, l.Path)
	}
	// filename= names the file, whatever the job is called.
	name, _, disks, errs = ranOn("[global]\nrw=read\nbs=64k\nsize=1m\n[" + l.Path + "]\nfilename=" + other.Path + "\n")
	if name != l.Path || !slices.Equal(disks, []string{filepath.Base(other.Path)}) || strings.Contains(errs, "runs on") {
		t.Errorf("with filename=%s: disks %v, stderr %q", other.Path, disks, errs)
	}
	// A directory's name is not taken for a file.
	os.WriteFile(path, []byte("[global]\nrw=read\nsize=1m\n["+dir+"]\n"), 0o644)
	if code, _, errs := run(t, "--parse-only", path); code != 0 || strings.Contains(errs, "runs on") {
		t.Errorf("section named after a directory: exit %d, stderr %q", code, errs)
	}
}

// TestLayoutStopsOnSignal: SIGINT while a file is being laid out stops
// the layout at once (it went on to the end before) and leaves the file as
// it was: a file iobench was making is removed, a short one it was
// extending is cut back to what it held, its data untouched.
func TestLayoutStopsOnSignal(t *testing.T) {
	t.Cleanup(func() { interrupted.Store(false) })
	dir := t.TempDir()
	big := filepath.Join(dir, "big.dat")
	codec := make(chan int, 1)
	var errb strings.Builder
	go func() {
		codec <- Main([]string{"--name=j", "--filename=" + big, "--size=2g", "--rw=read", "--runtime=1"}, io.Discard, &errb)
	}()
	for {
		if st, err := os.Stat(big); err == nil && st.Size() >= 4<<20 {
			break
		}
		select {
		case code := <-codec:
			t.Fatalf("the run ended (exit %d) before its layout was seen: %s", code, errb.String())
		case <-time.After(time.Millisecond):
		}
	}
	interruptRun(t, codec, 20*time.Second, "the layout went on after SIGINT")
	if _, err := os.Stat(big); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the half-laid-out file is still there: %v", err)
	}
	// A short file being extended keeps what it held.
	interrupted.Store(true)
	short := filepath.Join(dir, "short.dat")
	held := bytes.Repeat([]byte("A"), 1<<20)
	os.WriteFile(short, held, 0o644)
	j := workloads.NewJob("j")
	if err := layOut(&j, short, 1<<20, 64<<20); !errors.Is(err, errInterrupted) {
		t.Errorf("layOut when interrupted: %v", err)
	}
	if got, err := os.ReadFile(short); err != nil || !bytes.Equal(got, held) {
		t.Errorf("the short file after an interrupted layout: %d bytes, %v", len(got), err)
	}
}

// TestSizePctOfFileLaidOutBefore: size=N% of a file that an earlier job
// of the run lays out is N% of the size that job gives it, as fio
// resolves the percentage when the job starts (iobench refused the run:
// "50% of a.dat's 0 bytes is less than a block"); fio 3.33 reads 512 KiB.
func TestSizePctOfFileLaidOutBefore(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "j.fio")
	os.WriteFile(path, []byte("[global]\ndirect=1\ndirectory="+dir+"\nbs=4k\n[listed]\nfilename=a.dat:b.dat:c.dat\nsize=3m\nrw=write\n"+
		"[pct]\nstonewall\nfilename=a.dat\nsize=50%\nrw=randread\n"), 0o644)
	jobs, _ := jsonRunOf(t, path)
	if len(jobs) != 2 || num(t, jobs[1], "read", "io_bytes") != 512<<10 {
		t.Fatalf("pct read %v bytes, want 512 KiB (half of a.dat's 1 MiB)", num(t, jobs[1], "read", "io_bytes"))
	}
}

// TestSharedFileLaidOutOnce: jobs that share a file lay it out once, as
// fio does: one "Laying out IO file" line, for the first job (each job
// printed it, and wrote the file again).
func TestSharedFileLaidOutOnce(t *testing.T) {
	dir := shmDir(t)
	job := filepath.Join(dir, "sh.fio")
	os.WriteFile(job, []byte("[global]\nfilename="+filepath.Join(dir, "shared")+"\nsize=8m\nbs=4k\ndirect=1\n[a]\nrw=randread\n[b]\nrw=randread\n[c]\nsize=12m\nrw=read\n"), 0o644)
	code, _, errs := run(t, job)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	// c asks for more than a and b: it extends the file, saying so.
	if n := strings.Count(errs, "Laying out IO file"); n != 2 || !strings.Contains(errs, "a: Laying out IO file (1 file / 8MiB)") || !strings.Contains(errs, "c: Laying out IO file (1 file / 12MiB)") {
		t.Errorf("stderr %q: want the file laid out by a, extended by c", errs)
	}
	if st, err := os.Stat(filepath.Join(dir, "shared")); err != nil || st.Size() != 12<<20 {
		t.Errorf("shared file: %v, %v", st, err)
	}
}

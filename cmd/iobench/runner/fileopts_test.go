package runner

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/iobench/iobench/device/looptest"
)

// iologIOs returns the reads, writes and trims of a write_iolog log, each
// as "path op offset length", in the log's order.
func iologIOs(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) == 5 && (f[2] == "read" || f[2] == "write" || f[2] == "trim") {
			out = append(out, strings.Join(f[1:], " "))
		}
	}
	return out
}

// fioIOLog runs fio on the job file at job (which writes its iolog to
// logPath) and returns the log's I/Os; it skips the test without fio.
func fioIOLog(t *testing.T, job, logPath string) []string {
	t.Helper()
	fio, err := exec.LookPath("fio")
	if err != nil {
		t.Skip("fio not installed (make deps installs it)")
	}
	os.Remove(logPath)
	if out, err := exec.Command(fio, "--output-format=terse", job).CombinedOutput(); err != nil {
		t.Fatalf("fio %s: %v\n%s", job, err, out)
	}
	return iologIOs(t, logPath)
}

// writeJob writes a job file into dir and returns its path.
func writeJob(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// markedFile makes a file of n bytes at path that starts with a marker,
// and returns the marker.
func markedFile(t *testing.T, path string, n int64) []byte {
	t.Helper()
	mark := []byte("iobench-marker-" + filepath.Base(path))
	if err := os.WriteFile(path, mark, 0o644); err != nil || os.Truncate(path, n) != nil {
		t.Fatal(err)
	}
	return mark
}

// TestFileAppend: file_append puts a job's I/O after the end of each
// regular file: [size, size + io), whatever offset says; the file is laid
// out that far first and keeps what it held; clones sharing the file
// append one after the other; loops and time_based make one pass (fio's
// later passes do nothing); a block device keeps the job's offsets (fio
// ignores file_append there); without size there is nothing to append.
// The offsets are fio's own (its write_iolog of the same job files).
func TestFileAppend(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "f")
	logPath := filepath.Join(dir, "io.log")
	job := func(rw, extra string) string {
		return writeJob(t, dir, "a.fio", "[a]\nfilename="+f+"\nrw="+rw+"\nbs=64k\nsize=128k\noffset=64k\nioengine=io_uring\ndirect=1\nfile_append=1\nwrite_iolog="+logPath+"\n"+extra)
	}
	for _, rw := range []string{"write", "randread"} {
		mark := markedFile(t, f, 1<<20)
		os.Remove(logPath) // write_iolog appends
		jf := job(rw, "loops=3\n")
		code, _, errs := run(t, jf, "--output-format=terse")
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", rw, code, errs)
		}
		got := iologIOs(t, logPath)
		op := strings.TrimPrefix(rw, "rand")
		want := []string{f + " " + op + " 1048576 65536", f + " " + op + " 1114112 65536"}
		if sorted := slices.Sorted(slices.Values(got)); !slices.Equal(sorted, want) {
			t.Errorf("%s: I/O %q, want %q (one pass after the 1 MiB end)", rw, got, want)
		}
		if !strings.Contains(errs, "file_append: one pass") {
			t.Errorf("%s: loops=3: no notice of the one pass: %q", rw, errs)
		}
		b, _ := os.ReadFile(f)
		if len(b) != 1<<20+128<<10 || !bytes.HasPrefix(b, mark) {
			t.Errorf("%s: file of %d bytes after the job (want %d), marker kept: %v", rw, len(b), 1<<20+128<<10, bytes.HasPrefix(b, mark))
		}
		markedFile(t, f, 1<<20)
		if fio := fioIOLog(t, jf, logPath); !slices.Equal(slices.Sorted(slices.Values(fio)), want) {
			t.Errorf("%s: fio's I/O %q, iobench's %q", rw, fio, got)
		}
	}

	// Two clones on one file: each appends its 128 KiB after the other's.
	markedFile(t, f, 1<<20)
	code, _, errs := run(t, "--name=two", "--filename="+f, "--rw=write", "--bs=64k", "--size=128k", "--numjobs=2",
		"--file_append=1", "--buffer_pattern=0xab", "--output-format=terse")
	if code != 0 {
		t.Fatalf("numjobs=2: exit %d: %s", code, errs)
	}
	b, _ := os.ReadFile(f)
	if len(b) != 1<<20+256<<10 || bytes.Count(b[1<<20:], []byte{0xab}) != 256<<10 {
		t.Errorf("numjobs=2: %d bytes, %d of the appended ones written (want %d and 256 KiB)", len(b), bytes.Count(b[min(len(b), 1<<20):], []byte{0xab}), 1<<20+256<<10)
	}

	// Nothing to append without a size.
	if code, _, errs := run(t, "--name=nosize", "--filename="+f, "--rw=write", "--file_append=1"); code != 2 || !strings.Contains(errs, "file_append") {
		t.Errorf("no size: exit %d, %q; want 2 naming file_append", code, errs)
	}

	// A block device: offsets as the job gives them.
	l := looptest.New(t, 4<<20, looptest.Options{})
	os.Remove(logPath)
	code, _, errs = run(t, "--name=dev", "--filename="+l.Path, "--rw=write", "--bs=64k", "--size=128k", "--offset=64k",
		"--file_append=1", "--write_iolog="+logPath, "--output-format=terse")
	want := []string{l.Path + " write 65536 65536", l.Path + " write 131072 65536"}
	if got := iologIOs(t, logPath); code != 0 || !slices.Equal(got, want) {
		t.Errorf("block device: exit %d (%s), I/O %q, want %q", code, errs, got, want)
	}
}

// TestOpenDir: opendir makes the regular files under a directory, found
// recursively, the job's files, in the order fio finds them (its
// write_iolog of the same job file lists the same I/O in the same
// order), each read whole when the job gives no size; clones share them.
// Symbolic links, FIFOs and device nodes are passed over (a block device
// node for a loop device of the test is never written), an empty file is
// left out with a notice, and a directory on a kernel interface
// filesystem, a directory with no file, and opendir with filename are
// refused before any I/O.
func TestOpenDir(t *testing.T) {
	dir := t.TempDir()
	tree := filepath.Join(dir, "tree")
	sizes := map[string]int{"b": 256 << 10, "a": 128 << 10, ".hidden": 64 << 10, "sub/c": 64 << 10, "sub/deeper/e": 192 << 10, "zero": 0}
	for name, n := range sizes {
		p := filepath.Join(tree, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, bytes.Repeat([]byte{7}, n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(tree, "emptydir"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("b", filepath.Join(tree, "link")); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mkfifo(filepath.Join(tree, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	l := looptest.New(t, 4<<20, looptest.Options{})
	var st unix.Stat_t
	if err := unix.Stat(l.Path, &st); err != nil {
		t.Fatal(err)
	}
	node := filepath.Join(tree, "sub", "blk")
	if err := unix.Mknod(node, unix.S_IFBLK|0o600, int(st.Rdev)); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "io.log")
	jf := writeJob(t, dir, "o.fio", "[o]\nopendir="+tree+"\nrw=read\nbs=64k\nioengine=io_uring\ndirect=1\nwrite_iolog="+logPath+"\n")
	code, _, errs := run(t, jf, "--output-format=terse")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	got := iologIOs(t, logPath)
	reads := map[string]int{}
	for _, l := range got {
		rel, _ := filepath.Rel(tree, strings.Fields(l)[0])
		reads[rel]++
	}
	want := map[string]int{"b": 4, "a": 2, ".hidden": 1, "sub/c": 1, "sub/deeper/e": 3}
	if !mapsEqual(reads, want) {
		t.Errorf("reads per file %v, want %v", reads, want)
	}
	if !strings.Contains(errs, "zero is empty") {
		t.Errorf("no notice of the empty file: %q", errs)
	}
	if fio := fioIOLog(t, jf, logPath); !slices.Equal(fio, got) {
		t.Errorf("fio's I/O\n%q\niobench's\n%q", fio, got)
	}

	// A writing job with two clones: both write every file, never the
	// device node.
	doc := runFiles(t, "--name=w", "--opendir="+tree, "--rw=write", "--bs=64k", "--size=384k", "--numjobs=2", "--group_reporting")
	pf := perFile(doc, 0)
	if len(pf) != 6 || doc.Jobs[0].Write.TotalIOs != 12 {
		t.Errorf("numjobs=2: per file %v, %v writes; want 6 files, 12 writes", pf, doc.Jobs[0].Write.TotalIOs)
	}
	if _, ok := pf["blk"]; ok {
		t.Errorf("the device node was a file of the job: %v", pf)
	}

	empty := filepath.Join(dir, "none")
	os.MkdirAll(filepath.Join(empty, "sub"), 0o755)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--opendir=/sys/kernel"}, "kernel interface"},
		{[]string{"--opendir=" + empty}, "no regular file"},
		{[]string{"--opendir=" + tree, "--filename=" + filepath.Join(tree, "a")}, "opendir with filename"},
		{[]string{"--opendir=" + filepath.Join(dir, "missing")}, "no such file"},
	} {
		if code, _, errs := run(t, append([]string{"--name=bad", "--rw=read"}, c.args...)...); code != 2 || !strings.Contains(errs, c.want) {
			t.Errorf("%q: exit %d, %q; want 2 and %q", c.args, code, errs, c.want)
		}
	}
}

// iologOps returns a write_iolog log's lines without their times.
func iologOps(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n")[1:] {
		out = append(out, strings.Join(strings.Fields(l)[1:], " "))
	}
	return out
}

// hasMarker reports whether the file at path holds mark at off.
func hasMarker(path string, off int64, mark []byte) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	b := make([]byte, len(mark))
	n, _ := f.ReadAt(b, off)
	return n == len(mark) && bytes.Equal(b, mark)
}

// TestUnlinkEachLoop: with loops, unlink_each_loop removes a writing
// job's regular files after each loop but the last and the next loop
// creates them afresh, empty: a file of 1 MiB with a marker past the
// job's 256 KiB ends the job holding 256 KiB and no marker (without the
// option, or with one loop, or time_based, it keeps both), and the
// write_iolog (closes and opens between loops) is fio's own. Files the
// job did not create go too, as in fio; each clone's own files go; a
// block device stays. A job that reads, clones sharing a file, and
// registerfiles=1 are refused before any I/O.
func TestUnlinkEachLoop(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "f")
	logPath := filepath.Join(dir, "io.log")
	mark := []byte("marker past the job's region")
	prepare := func(p string) {
		markedFile(t, p, 1<<20)
		g, err := os.OpenFile(p, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		g.WriteAt(mark, 512<<10)
		g.Close()
	}
	jf := writeJob(t, dir, "u.fio", "[u]\nfilename="+f+"\nrw=write\nbs=64k\nsize=256k\nloops=3\nunlink_each_loop=1\nioengine=io_uring\ndirect=1\nwrite_iolog="+logPath+"\n")
	prepare(f)
	code, _, errs := run(t, jf, "--output-format=terse")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	st, err := os.Stat(f)
	if err != nil || st.Size() != 256<<10 || hasMarker(f, 512<<10, mark) {
		t.Errorf("after three loops: %v, size %d, marker kept %v; want a new file of 256 KiB", err, st.Size(), hasMarker(f, 512<<10, mark))
	}
	got := iologOps(t, logPath)
	if n := strings.Count(strings.Join(got, "\n"), f+" close"); n != 3 || len(got) != 2+12+2*2+1 {
		t.Errorf("log: %d closes, %d lines:\n%q", n, len(got), got)
	}
	prepare(f)
	fioIOLog(t, jf, logPath)
	if fio := iologOps(t, logPath); !slices.Equal(fio, got) {
		t.Errorf("fio's log\n%q\niobench's\n%q", fio, got)
	}
	st, _ = os.Stat(f)
	if st.Size() != 256<<10 || hasMarker(f, 512<<10, mark) {
		t.Errorf("fio: the file holds %d bytes, marker kept %v", st.Size(), hasMarker(f, 512<<10, mark))
	}

	// One loop, time_based, or no unlink_each_loop: the file stays.
	for _, extra := range [][]string{{"--loops=1", "--unlink_each_loop=1"}, {"--loops=3", "--time_based", "--runtime=200ms", "--unlink_each_loop=1"}, {"--loops=3"}} {
		prepare(f)
		args := append([]string{"--name=k", "--filename=" + f, "--rw=write", "--bs=64k", "--size=256k", "--output-format=terse"}, extra...)
		if code, _, errs := run(t, args...); code != 0 || !hasMarker(f, 512<<10, mark) {
			t.Errorf("%q: exit %d (%s), marker kept %v; want it kept", extra, code, errs, hasMarker(f, 512<<10, mark))
		}
	}

	// Two clones, each on a file of its own: both files laid afresh.
	sub := filepath.Join(dir, "clones")
	os.Mkdir(sub, 0o755)
	for c := range 2 {
		prepare(filepath.Join(sub, "c."+string(rune('0'+c))+".0"))
	}
	doc := runFiles(t, "--name=c", "--directory="+sub, "--rw=randwrite", "--bs=64k", "--size=256k", "--numjobs=2",
		"--loops=2", "--unlink_each_loop=1", "--group_reporting")
	if w := doc.Jobs[0].Write.TotalIOs; w != 16 {
		t.Errorf("two clones: %v writes, want 16", w)
	}
	for c := range 2 {
		p := filepath.Join(sub, "c."+string(rune('0'+c))+".0")
		if hasMarker(p, 512<<10, mark) {
			t.Errorf("%s: marker kept", p)
		}
	}

	// A block device: written in every loop, and still there.
	l := looptest.New(t, 4<<20, looptest.Options{})
	doc = runFiles(t, "--name=dev", "--filename="+l.Path, "--rw=write", "--bs=64k", "--size=256k", "--loops=2", "--unlink_each_loop=1")
	if st, err := os.Stat(l.Path); err != nil || st.Mode()&os.ModeDevice == 0 || doc.Jobs[0].Write.TotalIOs != 8 {
		t.Errorf("block device: %v, %v writes; want the device kept and 8 writes", err, doc.Jobs[0].Write.TotalIOs)
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--filename=" + f, "--rw=read"}, "removed after the first"},
		{[]string{"--filename=" + f, "--rw=randrw"}, "removed after the first"},
		{[]string{"--filename=" + f, "--rw=write", "--numjobs=2"}, "each would remove the file"},
		{[]string{"--filename=" + f, "--rw=write", "--registerfiles=1"}, "registerfiles"},
	} {
		prepare(f)
		args := append([]string{"--name=bad", "--size=256k", "--loops=2", "--unlink_each_loop=1"}, c.args...)
		if code, _, errs := run(t, args...); code != 2 || !strings.Contains(errs, c.want) || !hasMarker(f, 512<<10, mark) {
			t.Errorf("%q: exit %d, %q, marker kept %v; want 2, %q, the file untouched", c.args, code, errs, hasMarker(f, 512<<10, mark), c.want)
		}
	}
}

// TestCreateOnOpen: with create_on_open a job's missing file is not laid
// out before the jobs: the job's open creates it, empty, after its
// exec_prerun (which finds no file), and its writes extend it (one 64
// KiB write leaves a file of 64 KiB, where the layout would make it the
// job's 256 KiB); a job of a later stonewall'd group has no file while an
// earlier group runs (without the option, every file is laid out first).
// fio leaves the same files. A job that would read past a file's end, a
// file of a kernel interface filesystem, and files needing more space
// than the filesystem has are refused before any file is made.
func TestCreateOnOpen(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir) // where the hooks' JOBNAME.prerun.txt go
	fa, fb := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	probe := writeJob(t, dir, "probe.sh", "#!/bin/sh\ntag=$1; shift\nfor f in \"$@\"; do if [ -e \"$f\" ]; then stat -c '%n %s' \"$f\"; else echo \"$f missing\"; fi; done > \"$0.$tag.out\"\n")
	os.Chmod(probe, 0o755)
	job := func(coo string) string {
		return writeJob(t, dir, "c.fio", "[global]\nioengine=io_uring\ndirect=1\nbs=64k\nsize=256k\nrw=write\ncreate_on_open="+coo+"\n"+
			"[a]\nfilename="+fa+"\nnumber_ios=1\nexec_prerun="+probe+" 1 "+fa+" "+fb+"\nexec_postrun="+probe+" 2 "+fb+"\n"+
			"[b]\nstonewall\nfilename="+fb+"\nexec_prerun="+probe+" 3 "+fb+"\n")
	}
	outputs := func() string {
		var b strings.Builder
		for _, n := range []string{"1", "2", "3"} {
			out, _ := os.ReadFile(probe + "." + n + ".out")
			os.Remove(probe + "." + n + ".out")
			b.Write(out)
		}
		st, _ := os.Stat(fa)
		sb, _ := os.Stat(fb)
		if st != nil && sb != nil {
			b.WriteString(strings.Join([]string{"sizes", filepath.Base(fa), fmtInt(st.Size()), filepath.Base(fb), fmtInt(sb.Size())}, " "))
		}
		return strings.ReplaceAll(b.String(), dir+"/", "")
	}
	runBoth := func(coo string) (string, string) {
		os.Remove(fa)
		os.Remove(fb)
		jf := job(coo)
		if code, _, errs := run(t, jf, "--output-format=terse"); code != 0 {
			t.Fatalf("create_on_open=%s: exit %d: %s", coo, code, errs)
		}
		ours := outputs()
		fio, err := exec.LookPath("fio")
		if err != nil {
			return ours, ""
		}
		os.Remove(fa)
		os.Remove(fb)
		if out, err := exec.Command(fio, "--output-format=terse", jf).CombinedOutput(); err != nil {
			t.Fatalf("fio: %v\n%s", err, out)
		}
		return ours, outputs()
	}
	ours, fio := runBoth("1")
	// a's prerun: neither file; its postrun: b (a later group's) still
	// missing; b's prerun: b missing; a holds its one write.
	want := "a missing\nb missing\nb missing\nb missing\nsizes a 65536 b 262144"
	if ours != want {
		t.Errorf("create_on_open=1:\n%s\nwant\n%s", ours, want)
	}
	if fio != "" && fio != ours {
		t.Errorf("create_on_open=1: fio\n%s\niobench\n%s", fio, ours)
	}
	ours, fio = runBoth("0")
	if want := "a 262144\nb 262144\nb 262144\nb 262144\nsizes a 262144 b 262144"; ours != want {
		t.Errorf("create_on_open=0:\n%s\nwant\n%s", ours, want)
	}
	if fio != "" && fio != ours {
		t.Errorf("create_on_open=0: fio\n%s\niobench\n%s", fio, ours)
	}

	os.Remove(fa)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--filename=" + fa, "--rw=randrw", "--size=256k", "--ioengine=psync"}, "reads past the end fail (EIO)"},
		{[]string{"--filename=" + fa, "--rw=randread", "--size=256k", "--ioengine=io_uring"}, "reads past the end complete with no data"},
		{[]string{"--filename=" + fa, "--rw=read", "--size=256k"}, "lay the file out first"},
		{[]string{"--filename=/proc/version", "--rw=write", "--size=256k"}, "kernel interface"},
		{[]string{"--filename=" + fa, "--rw=write", "--size=1p"}, "free"},
	} {
		args := append([]string{"--name=bad", "--create_on_open=1"}, c.args...)
		if code, _, errs := run(t, args...); code != 2 || !strings.Contains(errs, c.want) {
			t.Errorf("%q: exit %d, %q; want 2 and %q", c.args, code, errs, c.want)
		}
		if _, err := os.Stat(fa); err == nil {
			t.Errorf("%q: %s was made", c.args, fa)
		}
	}
}

func fmtInt(n int64) string { return strconv.FormatInt(n, 10) }

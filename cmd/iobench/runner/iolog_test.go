package runner

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestWriteIOLogReplaysInFio: write_iolog records every issued read,
// write and flush in fio's iolog version 3, times rising from the job's
// start, with each file's add, open and close; fio replays the log
// (read_iolog) with as many reads, writes and syncs as iobench issued.
func TestWriteIOLogReplaysInFio(t *testing.T) {
	dir := t.TempDir()
	target := zeroTarget(t, dir)
	logPath := filepath.Join(dir, "io.log")
	code, out, errOut := run(t, "--name=w", "--filename="+target, "--rw=randrw", "--bsrange=4k-16k", "--size=8m",
		"--number_ios=300", "--iodepth=4", "--fsync=10", "--write_iolog="+logPath, "--output-format=json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var doc struct {
		Jobs []struct {
			Read, Write struct {
				TotalIOs uint64 `json:"total_ios"`
			}
			Sync struct {
				TotalIOs uint64 `json:"total_ios"`
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
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if lines[0] != "fio version 3 iolog" {
		t.Fatalf("header %q", lines[0])
	}
	counts := map[string]uint64{}
	last := int64(-1)
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		ts, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || ts < last || f[1] != target || len(f) != 3 && len(f) != 5 {
			t.Fatalf("line %q (after time %d)", l, last)
		}
		last = ts
		counts[f[2]]++
		if len(f) == 5 && (f[2] == "read" || f[2] == "write") {
			off, _ := strconv.ParseUint(f[3], 10, 64)
			n, _ := strconv.ParseUint(f[4], 10, 64)
			if off%4096 != 0 || n < 4096 || n > 16384 || off+n > 8<<20 {
				t.Errorf("line %q: not a 4k-16k I/O within the file", l)
			}
		}
	}
	j := doc.Jobs[0]
	if counts["add"] != 1 || counts["open"] != 1 || counts["close"] != 1 || counts["read"] != j.Read.TotalIOs ||
		counts["write"] != j.Write.TotalIOs || counts["sync"] != j.Sync.TotalIOs || counts["read"]+counts["write"] != 300 {
		t.Fatalf("log counts %v, want the job's %d reads, %d writes, %d syncs", counts, j.Read.TotalIOs, j.Write.TotalIOs, j.Sync.TotalIOs)
	}

	fio, err := exec.LookPath("fio")
	if err != nil {
		t.Skip("fio not installed (make deps installs it)")
	}
	cmd := exec.Command(fio, "--name=r", "--filename="+target, "--ioengine=io_uring", "--direct=1", "--read_iolog="+logPath,
		"--replay_no_stall=1", "--output-format=json")
	fout, err := cmd.Output()
	if err != nil {
		t.Fatalf("fio read_iolog: %v\n%s", err, fout)
	}
	var fdoc struct {
		Jobs []struct {
			Error       int `json:"error"`
			Read, Write struct {
				TotalIOs uint64 `json:"total_ios"`
			}
		} `json:"jobs"`
	}
	if err := json.Unmarshal(fout[strings.Index(string(fout), "{"):], &fdoc); err != nil {
		t.Fatal(err)
	}
	if f := fdoc.Jobs[0]; f.Error != 0 || f.Read.TotalIOs != j.Read.TotalIOs || f.Write.TotalIOs != j.Write.TotalIOs {
		t.Errorf("fio replayed %d reads and %d writes (error %d), iobench issued %d and %d", f.Read.TotalIOs, f.Write.TotalIOs, f.Error,
			j.Read.TotalIOs, j.Write.TotalIOs)
	}
}

// TestWriteIOLogAppends: write_iolog appends a run to a log already
// there, header and all, as fio's does; read_iolog replays such a log
// whole, each run's lines after the last run's, at their times counted
// from its last line's time; fio replays iobench's appended log too.
func TestWriteIOLogAppends(t *testing.T) {
	dir := t.TempDir()
	target := zeroTarget(t, dir)
	logPath := filepath.Join(dir, "io.log")
	for range 2 {
		if code, _, errOut := run(t, "--name=w", "--filename="+target, "--rw=randread", "--size=1m", "--number_ios=50",
			"--write_iolog="+logPath, "--output-format=terse"); code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
	}
	b, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	if h, r := strings.Count(string(b), "fio version 3 iolog\n"), strings.Count(string(b), " read "); h != 2 || r != 100 {
		t.Fatalf("log of two runs has %d headers and %d reads, want 2 and 100", h, r)
	}
	reads := func(out string) uint64 {
		var doc struct {
			Jobs []struct {
				Read struct {
					TotalIOs uint64 `json:"total_ios"`
				}
			} `json:"jobs"`
		}
		if err := json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &doc); err != nil {
			t.Fatal(err)
		}
		return doc.Jobs[0].Read.TotalIOs
	}
	code, out, errOut := run(t, "--name=r", "--read_iolog="+logPath, "--replay_no_stall=1", "--output-format=json")
	if code != 0 || reads(out) != 100 {
		t.Fatalf("replay of the appended log: exit %d, %s", code, errOut)
	}

	// Each run's times count from 0: the second run's read at 200 ms
	// waits until 200 ms after the first's.
	timed := filepath.Join(dir, "timed.log")
	log := "fio version 3 iolog\n0 " + target + " add\n200000 " + target + " read 0 4096\n" +
		"fio version 3 iolog\n0 " + target + " add\n200000 " + target + " read 4096 4096\n"
	if err := os.WriteFile(timed, []byte(log), 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if code, out, errOut := run(t, "--name=r", "--read_iolog="+timed, "--output-format=json"); code != 0 || reads(out) != 2 {
		t.Fatalf("timed replay: exit %d, %s", code, errOut)
	}
	if d := time.Since(start); d < 400*time.Millisecond {
		t.Errorf("the second run's read came %v after the start, want 400 ms at least", d)
	}

	fio, err := exec.LookPath("fio")
	if err != nil {
		t.Skip("fio not installed (make deps installs it)")
	}
	fout, err := exec.Command(fio, "--name=r", "--filename="+target, "--ioengine=io_uring", "--direct=1", "--read_iolog="+logPath,
		"--replay_no_stall=1", "--output-format=json").Output()
	if err != nil {
		t.Fatalf("fio read_iolog: %v\n%s", err, fout)
	}
	if n := reads(string(fout)); n != 100 {
		t.Errorf("fio replayed %d reads of iobench's appended log, want 100", n)
	}
}

// TestReadIOLogReplays: read_iolog replays a log's reads, writes and
// flushes in its order (a replay recorded with write_iolog lists the same
// I/O as the log it replays), on the log's file or replay_redirect's, at
// the log's times unless replay_no_stall, in version 2 (waits) and 3
// (times); a log fio wrote replays with fio's counts.
func TestReadIOLogReplays(t *testing.T) {
	dir := t.TempDir()
	target := zeroTarget(t, dir)
	orig, again := filepath.Join(dir, "orig.log"), filepath.Join(dir, "again.log")
	if code, _, errOut := run(t, "--name=w", "--filename="+target, "--rw=randrw", "--bsrange=4k-16k", "--size=8m",
		"--number_ios=200", "--iodepth=4", "--fsync=7", "--write_iolog="+orig, "--output-format=terse"); code != 0 {
		t.Fatalf("recording: exit %d: %s", code, errOut)
	}
	if code, _, errOut := run(t, "--name=r", "--read_iolog="+orig, "--iodepth=4", "--write_iolog="+again, "--output-format=terse"); code != 0 {
		t.Fatalf("replay: exit %d: %s", code, errOut)
	}
	ios := func(path string) []string {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, l := range strings.Split(string(b), "\n")[1:] {
			if f := strings.Fields(l); len(f) == 5 {
				out = append(out, strings.Join(f[1:], " "))
			}
		}
		return out
	}
	if a, b := ios(orig), ios(again); len(a) < 200 || strings.Join(a, "\n") != strings.Join(b, "\n") {
		t.Errorf("the replay issued %d I/Os, the log %d, or in another order", len(b), len(a))
	}

	// Times: version 3's, version 2's waits; replay_no_stall ignores them.
	v3 := "fio version 3 iolog\n0 " + target + " add\n0 " + target + " open\n100 " + target + " read 0 4096\n600000 " + target +
		" write 4096 4096\n900000 " + target + " sync 0 0\n900100 " + target + " read 8192 8192\n900200 " + target + " close\n"
	v2 := "fio version 2 iolog\n" + target + " add\n" + target + " read 0 4096\n" + target + " wait 500000 0\n" + target +
		" read 4096 4096\n" + target + " wait 400000 0\n" + target + " write 0 4096\n" + target + " close\n"
	for _, c := range []struct {
		name, log string
		stall     bool
	}{{"v3", v3, true}, {"v3-nostall", v3, false}, {"v2", v2, true}, {"v2-nostall", v2, false}} {
		p := filepath.Join(dir, c.name+".log")
		if err := os.WriteFile(p, []byte(c.log), 0o644); err != nil {
			t.Fatal(err)
		}
		rec := filepath.Join(dir, c.name+".rec")
		args := []string{"--name=r", "--read_iolog=" + p, "--write_iolog=" + rec, "--output-format=json"}
		if !c.stall {
			args = append(args, "--replay_no_stall=1")
		}
		start := time.Now()
		code, out, errOut := run(t, args...)
		took := time.Since(start)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", c.name, code, errOut)
		}
		if r, w := ioCounts(t, out); r+w != 3 || w != 1 {
			t.Errorf("%s: %d reads and %d writes, want 2 and 1", c.name, r, w)
		}
		// A replay that honours the log's times takes its 0.9 s at
		// least. One that does not issues its I/O at once: by its own
		// log (times from its start, not Main's, which sets up the
		// target first), before a replay that waited would issue its
		// second (at the log's 0.6 s, v3, or after its wait of 0.5 s,
		// v2, from the replay's epoch, which its start follows by its
		// set-up's ms): halfway there, with that much to spare either way.
		ios := iologTimes(t, rec, "")
		n, second := 4, 600*time.Millisecond // v3: read, write, sync, read
		if c.name[:2] == "v2" {
			n, second = 3, 500*time.Millisecond // v2: read, read, write
		}
		if len(ios) != n {
			t.Fatalf("%s: the replay recorded %d I/Os (at %v), want %d", c.name, len(ios), ios, n)
		}
		if c.stall && took < 850*time.Millisecond || !c.stall && ios[len(ios)-1] >= second/2 {
			t.Errorf("%s: the replay took %v, its last I/O at %v from its start (the log spans 0.9 s, its second I/O at %v)", c.name, took, ios[len(ios)-1], second)
		}
		t.Logf("%s: the replay took %v, its I/O at %v from its start", c.name, took, ios)
	}

	// replay_redirect sends the log's I/O to another file.
	other := filepath.Join(dir, "other.img")
	if err := os.WriteFile(other, make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	redir := filepath.Join(dir, "redir.log")
	if code, _, errOut := run(t, "--name=r", "--read_iolog="+filepath.Join(dir, "v3.log"), "--replay_redirect="+other,
		"--replay_no_stall=1", "--write_iolog="+redir, "--output-format=terse"); code != 0 {
		t.Fatalf("replay_redirect: exit %d: %s", code, errOut)
	}
	if b, _ := os.ReadFile(redir); strings.Contains(string(b), target) || !strings.Contains(string(b), other+" write 4096 4096") {
		t.Errorf("replay_redirect: the replay's own log:\n%s", b)
	}

	fio, err := exec.LookPath("fio")
	if err != nil {
		t.Skip("fio not installed (make deps installs it)")
	}
	fioLog := filepath.Join(dir, "fio.log")
	if out, err := exec.Command(fio, "--name=w", "--filename="+target, "--ioengine=io_uring", "--direct=1", "--rw=randrw",
		"--bs=4k", "--size=1m", "--write_iolog="+fioLog, "--output-format=terse").CombinedOutput(); err != nil {
		t.Fatalf("fio write_iolog: %v: %s", err, out)
	}
	code, out, errOut := run(t, "--name=r", "--read_iolog="+fioLog, "--replay_no_stall=1", "--output-format=json")
	if code != 0 {
		t.Fatalf("replaying fio's log: exit %d: %s", code, errOut)
	}
	if r, w := ioCounts(t, out); r+w != 256 {
		t.Errorf("replaying fio's log of 256 I/Os: %d", r+w)
	}
}

// TestReadIOLogRefusals: what iobench does not replay, and logs that do
// not fit their files, are refused before any I/O (exit 2), naming the
// line or the I/O.
func TestReadIOLogRefusals(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "t.img")
	if err := os.WriteFile(target, make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	blk := string([]byte{0x07, 0x74, 0x61, 0x65, 0, 0, 0, 0})
	for _, c := range []struct{ log, want string }{
		{"not a log\n", "want fio's iolog header"},
		{blk, "blktrace binary"},
		{"fio version 2 iolog\n" + target + " trim 0 4096\n", ":2: " + `"` + target + ` trim 0 4096": trims are not replayed`},
		{"fio version 2 iolog\n" + target + " frob 0 4096\n", `unknown action "frob"`},
		{"fio version 3 iolog\nx " + target + " read 0 4096\n", "not a time"},
		{"fio version 3 iolog\n5 " + target + " read 0\n", "want time file action"},
		{"fio version 3 iolog\n5 " + target + " read 1048576 4096\n", "past the end"},
		{"fio version 3 iolog\n5 " + target + " read 100 4096\n", "not aligned"},
		{"fio version 3 iolog\n5 " + target + " add\n", "no read or write"},
		{"fio version 3 iolog\n5 " + target + " read 0 4096\nfio version 2 iolog\n", ":3: " + `"fio version 2 iolog": a header of another version`},
	} {
		p := filepath.Join(dir, "bad.log")
		if err := os.WriteFile(p, []byte(c.log), 0o644); err != nil {
			t.Fatal(err)
		}
		if code, _, errOut := run(t, "--name=r", "--read_iolog="+p, "--output-format=terse"); code != 2 || !strings.Contains(errOut, c.want) {
			t.Errorf("%q: exit %d, %s; want 2 and %q", c.log, code, errOut, c.want)
		}
	}
}

// TestReadIOLogReplayOptions: replay_scale divides each logged offset and
// replay_align rounds it down, as fio 3.33 does (its debug output lists
// the I/O it takes from the log); replay_skip leaves out the kinds it
// names, as newer fio does (3.33 applies it to blktrace replays only);
// replay_time_scale paces a version 3 log's times.
func TestReadIOLogReplayOptions(t *testing.T) {
	dir := t.TempDir()
	target := zeroTarget(t, dir)
	in := filepath.Join(dir, "in.log")
	lines := []string{"fio version 2 iolog", target + " add", target + " open"}
	for i, a := range []string{"read 1052672 4096", "write 16384 8192", "trim 65536 4096", "sync 0 0", "datasync 0 0",
		"read 3145728 4096", "write 700416 4096", "read 7340032 16384", "write 24576 4096"} {
		lines = append(lines, target+" "+a)
		if i == 4 {
			lines = append(lines, target+" wait 200 0")
		}
	}
	lines = append(lines, target+" close")
	if err := os.WriteFile(in, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// replayed runs the log with opts and returns what the replay issued,
	// from its own write_iolog: "action offset length" per I/O.
	replayed := func(opts ...string) []string {
		t.Helper()
		rec := filepath.Join(dir, "rec.log")
		os.Remove(rec)
		args := append([]string{"--name=r", "--read_iolog=" + in, "--replay_no_stall=1", "--write_iolog=" + rec, "--output-format=terse"}, opts...)
		if code, _, errOut := run(t, args...); code != 0 {
			t.Fatalf("%v: exit %d: %s", opts, code, errOut)
		}
		b, err := os.ReadFile(rec)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, l := range strings.Split(string(b), "\n")[1:] {
			if f := strings.Fields(l); len(f) == 5 {
				out = append(out, strings.Join(f[2:], " "))
			}
		}
		return out
	}

	want := []string{"read 344064 4096", "write 0 8192", "sync 0 0", "datasync 0 0", "read 1048576 4096",
		"write 229376 4096", "read 2441216 16384", "write 8192 4096"}
	scaled := replayed("--replay_skip=trim", "--replay_scale=3", "--replay_align=8k")
	if strings.Join(scaled, ",") != strings.Join(want, ",") {
		t.Errorf("replay_scale=3, replay_align=8k:\n got %q\nwant %q", scaled, want)
	}
	if got, want := replayed("--replay_skip=read,sync,trim"), []string{"write 16384 8192", "datasync 0 0", "write 700416 4096", "write 24576 4096"}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("replay_skip=read,sync,trim (datasync stays, as in fio):\n got %q\nwant %q", got, want)
	}

	// fio 3.33 as the oracle for scale and align: its debug output names
	// each I/O it takes from the log (it cannot record a replay with
	// write_iolog). It drops the trim line itself ("bad ddir").
	if fio, err := exec.LookPath("fio"); err == nil {
		out, err := exec.Command(fio, "--name=r", "--read_iolog="+in, "--replay_no_stall=1", "--replay_scale=3", "--replay_align=8192",
			"--ioengine=io_uring", "--direct=1", "--output-format=terse", "--debug=io").CombinedOutput()
		if err != nil {
			t.Fatalf("fio: %v: %s", err, out)
		}
		var fioIOs, ours []string
		for _, l := range strings.Split(string(out), "\n") {
			if _, rest, ok := strings.Cut(l, "iolog: get "); ok {
				f := strings.SplitN(rest, "/", 3)
				fioIOs = append(fioIOs, f[0]+" "+f[1])
			}
		}
		for _, a := range scaled {
			ours = append(ours, a[strings.IndexByte(a, ' ')+1:])
		}
		if strings.Join(fioIOs, ",") != strings.Join(ours, ",") {
			t.Errorf("offset and length of each I/O:\n fio %q\n iobench %q", fioIOs, ours)
		}
	} else {
		t.Log("fio not installed (make deps installs it): scale and align checked against the expected offsets only")
	}

	// replay_time_scale=300 replays a log of 0.9 s in 0.3 s.
	v3 := filepath.Join(dir, "v3.log")
	if err := os.WriteFile(v3, []byte("fio version 3 iolog\n0 "+target+" add\n100 "+target+" read 0 4096\n450000 "+target+
		" read 4096 4096\n900000 "+target+" read 8192 4096\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rec := filepath.Join(dir, "scaled.rec")
	start := time.Now()
	if code, out, errOut := run(t, "--name=r", "--read_iolog="+v3, "--replay_time_scale=300", "--write_iolog="+rec, "--output-format=json"); code != 0 {
		t.Fatalf("replay_time_scale: exit %d: %s", code, errOut)
	} else if r, _ := ioCounts(t, out); r != 3 {
		t.Errorf("replay_time_scale: %d reads, want 3", r)
	}
	// 0.3 s at least; and by the replay's own log (times from its start,
	// not Main's, which sets up the target first) its last read went
	// before 0.6 s, halfway between its scaled time and the log's, with
	// 0.3 s to spare either way.
	took := time.Since(start)
	ios := iologTimes(t, rec, "")
	if len(ios) != 3 || took < 250*time.Millisecond || ios[2] >= 600*time.Millisecond {
		t.Errorf("replay_time_scale=300: a log of 0.9 s replayed in %v, its reads at %v from its start, want the last at about 0.3 s", took, ios)
	}
	t.Logf("replay_time_scale=300: the replay took %v, its reads at %v from its start", took, ios)

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--read_iolog=" + in, "--replay_align=3000"}, "want a power of two"},
		{[]string{"--read_iolog=" + in, "--replay_skip=reads"}, "want a comma-separated list"},
		{[]string{"--read_iolog=" + in, "--replay_time_scale=0"}, "replay_time_scale"},
		{[]string{"--filename=" + target, "--replay_scale=2"}, "need read_iolog"},
		{[]string{"--read_iolog=" + in, "--replay_skip=read,write"}, "trims are not replayed"},
	} {
		if code, _, errOut := run(t, append([]string{"--name=r", "--output-format=terse"}, c.args...)...); code != 2 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, %s; want 2 and %q", c.args, code, errOut, c.want)
		}
	}
}

// iologTimes returns the times, from the clone's start, of the I/O
// lines of a log iobench wrote with write_iolog, in its order: those of
// action (read, write, ...), or with action "" every I/O line (reads,
// writes, trims, flushes).
func iologTimes(t *testing.T, path, action string) []time.Duration {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []time.Duration
	for _, l := range strings.Split(string(b), "\n")[1:] {
		if f := strings.Fields(l); len(f) == 5 && (action == "" || f[2] == action) {
			us, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				t.Fatalf("%s: %q: %v", path, l, err)
			}
			out = append(out, time.Duration(us)*time.Microsecond)
		}
	}
	return out
}

// ioCounts returns the reads and writes of the first job of a JSON report.
func ioCounts(t *testing.T, out string) (reads, writes uint64) {
	t.Helper()
	var doc struct {
		Jobs []struct {
			Read, Write struct {
				TotalIOs uint64 `json:"total_ios"`
			}
		} `json:"jobs"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Jobs) == 0 {
		t.Fatalf("JSON: %v\n%s", err, out)
	}
	return doc.Jobs[0].Read.TotalIOs, doc.Jobs[0].Write.TotalIOs
}

// TestIOSequenceMatchesFio: for patterns with nothing random in them, the
// I/O iobench issues is fio's, offset for offset: both record it with
// write_iolog and the read, write, trim and flush lines must be the same
// (the flushes' offsets aside: fio writes the last write's there; and
// sync_file_range's ranges, which fio does not log).
func TestIOSequenceMatchesFio(t *testing.T) {
	fio, err := exec.LookPath("fio")
	if err != nil {
		t.Skip("fio not installed (make deps installs it)")
	}
	dir := t.TempDir()
	target := filepath.Join(dir, "t.img")
	if err := os.WriteFile(target, make([]byte, 64<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	ios := func(path string) []string {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, l := range strings.Split(string(b), "\n") {
			if f := strings.Fields(l); len(f) == 5 {
				if f[2] == "sync" || f[2] == "datasync" {
					f[3] = "-"
				}
				if f[2] == "sync_file_range" {
					// fio logs its I/O unit's last offset and 0; iobench
					// the range (TestSyncFileRangeRanges checks it).
					f[3], f[4] = "-", "-"
				}
				out = append(out, strings.Join(f[1:], " "))
			}
		}
		return out
	}
	files := filepath.Join(dir, "files")
	if err := os.Mkdir(files, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, opts := range []string{
		// Several files, laid out by each tool in the directory.
		"@--directory=" + files + " --nrfiles=2 --rw=write --bs=4k --size=64k",
		"@--directory=" + files + " --nrfiles=3 --rw=write --bs=4k --size=96k --file_service_type=sequential",
		"@--directory=" + files + " --nrfiles=2 --rw=write --bs=4k --size=64k --file_service_type=roundrobin:2",
		"@--filename=" + filepath.Join(files, "a") + ":" + filepath.Join(files, "b") + " --rw=write --bs=4k --size=64k",
		// Each file is flushed, once for each option.
		"@--filename=" + filepath.Join(files, "a") + ":" + filepath.Join(files, "b") + " --rw=write --bs=4k --size=64k --end_fsync=1 --fsync_on_close=1",
		"--rw=read --bs=4k --size=64k",
		"--rw=write --bs=4k --size=64k --offset=1m",
		"--rw=read:8k --bs=4k --size=64k",
		"--rw=write:12k --bs=4k --size=128k",
		// Skips over a whole file wrap to its start.
		"@--filename=" + filepath.Join(files, "w") + " --rw=read:8k --bs=4k --size=64k",
		"@--filename=" + filepath.Join(files, "w") + " --rw=write:12k --bs=4k --size=128k --loops=2",
		"@--filename=" + filepath.Join(files, "w") + " --rw=write:4k --bs=8k --size=64k",
		"--rw=read --bs=4k --size=64k --loops=2",
		"--rw=read --bs=4k --size=32k --io_size=96k",
		"--rw=read --bs=4k --size=64k --number_ios=5",
		"--rw=read --bs=4k --size=10% --offset=33%",
		"--rw=read --bs=16k --size=64k --offset=33% --offset_align=1m",
		"--rw=read --bs=4k --size=64k --zonemode=strided --zonesize=16k --zoneskip=16k",
		"--rw=read --bs=4k --size=64k --zonemode=strided --zonerange=32k --zonesize=8k",
		"--rw=read --bs=4k --size=128k --zonemode=strided --zonesize=16k --zoneskip=16m",
		"--rw=write --bs=4k --size=64k --fsync=4",
		"--rw=write --bs=4k --size=64k --fdatasync=3",
		"--rw=write --bs=4k --size=32k --end_fsync=1",
		"--rw=write --bs=4k --size=32k --fsync_on_close=1",
		// sync_file_range after every n writes, and with a flush due at
		// the same count the flush alone.
		"--rw=write --bs=4k --size=64k --sync_file_range=wait_before,write:3",
		"--rw=write --bs=4k --size=48k --fsync=3 --sync_file_range=write:2",
		"--rw=write --bs=4k --size=64k --fdatasync=4 --sync_file_range=write,wait_after:2 --end_fsync=1",
		"--rw=randread --percentage_random=0 --bs=4k --size=64k",
		"--rw=read --bs=4k --size=64k --number_ios=20 --loops=3",
	} {
		fl, il := filepath.Join(dir, "fio.log"), filepath.Join(dir, "iobench.log")
		os.Remove(fl) // both tools append to a log that exists
		os.Remove(il)
		args := append([]string{"--name=p", "--filename=" + target}, strings.Fields(opts)...)
		own, hasOwn := strings.CutPrefix(opts, "@")
		if hasOwn { // the job names its own files, made afresh for each tool
			args = append([]string{"--name=p"}, strings.Fields(own)...)
		}
		clean := func() {
			if hasOwn {
				ents, _ := os.ReadDir(files)
				for _, e := range ents {
					os.Remove(filepath.Join(files, e.Name()))
				}
			}
		}
		clean()
		if out, err := exec.Command(fio, append(args, "--ioengine=io_uring", "--direct=1", "--write_iolog="+fl, "--output-format=terse")...).CombinedOutput(); err != nil {
			t.Fatalf("fio %s: %v: %s", opts, err, out)
		}
		clean()
		if code, _, errOut := run(t, append(args, "--write_iolog="+il, "--output-format=terse")...); code != 0 {
			t.Fatalf("iobench %s: exit %d: %s", opts, code, errOut)
		}
		if f, i := ios(fl), ios(il); strings.Join(f, "\n") != strings.Join(i, "\n") {
			t.Errorf("%s: fio issued %d I/Os, iobench %d, not the same:\nfio     %v\niobench %v", opts, len(f), len(i), firstOf(f, 8), firstOf(i, 8))
		}
	}
}

func firstOf(s []string, n int) []string { return s[:min(n, len(s))] }

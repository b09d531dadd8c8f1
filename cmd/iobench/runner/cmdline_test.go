package runner

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/iobench/iobench/workloads"
	"golang.org/x/sys/unix"
)

// TestCommandLineIsGlobal: command-line options act as [global]; a job
// section's own option wins, and --name starts a command-line job.
func TestCommandLineIsGlobal(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.fio")
	os.WriteFile(path, []byte("[own]\nrw=read\nbs=8k\n\n[inherits]\nrw=read\n"), 0o644)
	jobs, raw := jsonRunOf(t, "--bs=64k", "--size=1m", path, "--name=cli", "--rw=write")
	if len(jobs) != 3 {
		t.Fatalf("%d jobs, want 3", len(jobs))
	}
	want := map[string][2]float64{"own": {128, 0}, "inherits": {16, 0}, "cli": {0, 16}}
	for _, j := range jobs {
		w := want[j["jobname"].(string)]
		if num(t, j, "read", "total_ios") != w[0] || num(t, j, "write", "total_ios") != w[1] {
			t.Errorf("%s: %v reads, %v writes; want %v", j["jobname"], num(t, j, "read", "total_ios"), num(t, j, "write", "total_ios"), w)
		}
	}
	if !strings.Contains(raw, `"global options": {`) || !strings.Contains(raw, `"bs": "64k"`) {
		t.Errorf("global options missing from the JSON")
	}
}

// TestJobFileOnStdin: a job file named "-" is read from standard input,
// as fio reads one (fio's examples piped in: iobench took "-" for an
// option and said `--: unknown option ""`); errors in it name <stdin>.
func TestJobFileOnStdin(t *testing.T) {
	defer func(r io.Reader) { stdin = r }(stdin)
	target := filepath.Join(t.TempDir(), "t.img")
	stdin = strings.NewReader("[a]\nrw=read\nbs=64k\n[b]\nstonewall\nrw=write\n")
	code, out, errs := run(t, "--filename="+target, "--size=1m", "--output-format=terse", "-")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var names []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if f := strings.Split(l, ";"); len(f) > 3 {
			names = append(names, f[2]+"/"+f[3])
		}
	}
	if !slices.Equal(names, []string{"a/0", "b/1"}) {
		t.Errorf("jobs (name/group) %v, want [a/0 b/1]:\n%s", names, out)
	}
	stdin = strings.NewReader("[a]\nrw=bogus\n")
	if code, _, errs := run(t, "--parse-only", "-"); code != 2 || !strings.Contains(errs, "<stdin>:2: option \"rw\"") {
		t.Errorf("a bad option on stdin: exit %d %q", code, errs)
	}
	stdin = strings.NewReader("[a]\nrw=read\n")
	if code, _, errs := run(t, "--parse-only", "-", "-"); code != 2 || !strings.Contains(errs, "standard input") {
		t.Errorf("- twice: exit %d %q", code, errs)
	}
}

// TestSectionParseOnlyShowcmdCmdhelp covers the options that describe
// rather than run.
func TestSectionParseOnlyShowcmdCmdhelp(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.fio")
	os.WriteFile(path, []byte("[global]\nsize=1m\ndirect=1\n[a]\nrw=read\n[b]\nrw=write\nbs=8k\n"), 0o644)
	code, out, errs := run(t, "--showcmd", "--section=b", path)
	if code != 0 || strings.TrimSpace(out) != "iobench --name=b --rw=write --bs=8k,8k --size=1m --direct=1" {
		t.Errorf("showcmd: exit %d %q %s", code, out, errs)
	}
	if code, out, errs := run(t, "--parse-only", path); code != 0 || out != "" || errs != "" {
		t.Errorf("parse-only: exit %d %q %q", code, out, errs)
	}
	if code, _, errs := run(t, "--parse-only", "--section=zz", path); code != 2 || !strings.Contains(errs, "--section=zz: no job section [zz] in "+path) || strings.Contains(errs, "syntax") {
		t.Errorf("unknown section: exit %d %q", code, errs)
	}
	// With several job files, --section picks among all of them, as
	// fio's does (a section of the second file was refused as missing
	// from the first).
	other := filepath.Join(t.TempDir(), "k.fio")
	os.WriteFile(other, []byte("[c]\nrw=randread\nsize=1m\n"), 0o644)
	if code, out, errs := run(t, "--showcmd", "--section=c", path, other); code != 0 || strings.TrimSpace(out) != "iobench --name=c --rw=randread --size=1m" {
		t.Errorf("--section=c of the second file: exit %d %q %s", code, out, errs)
	}
	if code, out, errs := run(t, "--showcmd", "--section=a", "--section=c", path, other); code != 0 || strings.Count(out, "--name=") != 2 {
		t.Errorf("--section=a --section=c: exit %d %q %s", code, out, errs)
	}
	if code, _, errs := run(t, "--parse-only", "--section=zz", path, other); code != 2 || !strings.Contains(errs, "no job section [zz] in "+path+", "+other) {
		t.Errorf("unknown section, two files: exit %d %q", code, errs)
	}
	code, out, _ = run(t, "--cmdhelp=blocksize")
	if code != 0 || !strings.Contains(out, "bs: block size") || !strings.Contains(out, "alias: blocksize") || !strings.Contains(out, "default: 4k") {
		t.Errorf("cmdhelp=blocksize: %d %q", code, out)
	}
	// fio's options that iobench accepts without effect, or refuses, are
	// described as such.
	if code, out, _ := run(t, "--cmdhelp=thread"); code != 0 || !strings.Contains(out, "accepted with no effect") {
		t.Errorf("cmdhelp=thread: %d %q", code, out)
	}
	if code, out, _ := run(t, "--cmdhelp=bs_unaligned"); code != 0 || !strings.Contains(out, "refused: not implemented") {
		t.Errorf("cmdhelp=bs_unaligned: %d %q", code, out)
	}
	if code, _, errs := run(t, "--cmdhelp=nosuch"); code != 2 || !strings.Contains(errs, "nosuch") {
		t.Errorf("cmdhelp=nosuch: %d %q", code, errs)
	}
	if code, out, _ := run(t, "--cmdhelp"); code != 0 || strings.Count(out, "\n") < 50 {
		t.Errorf("cmdhelp: %d, %d lines", code, strings.Count(out, "\n"))
	}
}

// decodeAll decodes the JSON documents of s one after another.
func decodeAll(t *testing.T, s string) []map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	var docs []map[string]any
	for {
		var d map[string]any
		err := dec.Decode(&d)
		if errors.Is(err, io.EOF) {
			return docs
		}
		if err != nil {
			t.Fatalf("document %d is not valid JSON: %v", len(docs), err)
		}
		docs = append(docs, d)
	}
}

// TestStatusInterval: each status report is a JSON document that covers
// the run from its start to the end of its period, as fio's reports are
// cumulative, the periods one after the other from the run's start (those
// before the job started, while its target was laid out, with the job
// and nothing done, as fio's) to the last that ended before the jobs did
// (as fio's, the period the jobs end in has no report): the I/Os grow
// from report to report, and
// the run's total, which comes last, holds at least the last report's,
// and more if the jobs still ran after its period.
func TestStatusInterval(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for the loop device target")
	}
	code, out, errs := run(t, "--name=s", "--rw=randrw", "--iodepth=8", "--runtime=1100ms", "--time_based", "--size=32m",
		"--numjobs=2", "--group_reporting", "--status-interval=300ms", "--output-format=json", "--target-size=128m")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	const period = 300.0
	docs := decodeAll(t, out)
	if len(docs) < 3 {
		t.Fatalf("%d documents for 1.1 s at 300 ms (want the periods, at least the two that 1.1 s holds whole, and the total)", len(docs))
	}
	total := docs[len(docs)-1]
	if total["interval"] != nil {
		t.Fatalf("the last document is not the run's total")
	}
	reports := docs[:len(docs)-1]
	var last [2]float64
	var ios []float64 // each report's, reads and writes
	first := -1.0
	for i, d := range reports {
		iv, ok := d["interval"].(map[string]any)
		if ok && first < 0 {
			first = iv["index"].(float64)
		}
		if !ok || iv["index"].(float64) != first+float64(i) || iv["start_ms"].(float64) != 0 || iv["end_ms"].(float64) != (first+float64(i)+1)*period {
			t.Fatalf("document %d: interval %v (the periods follow each other from the job's start, each report from the run's to its period's end)", i, d["interval"])
		}
		jobs := d["jobs"].([]any)
		if len(jobs) != 1 {
			t.Fatalf("document %d: %d jobs (group_reporting)", i, len(jobs))
		}
		j := jobs[0].(map[string]any)
		for k, dir := range []string{"read", "write"} {
			n := num(t, j, dir, "total_ios")
			if n < last[k] {
				t.Errorf("document %d: %v %s I/Os after %v in the report before", i, n, dir, last[k])
			}
			last[k] = n
			if k == 0 {
				ios = append(ios, 0)
			}
			ios[i] += n
			if rt, end := num(t, j, dir, "runtime"), iv["end_ms"].(float64); rt > end+10 {
				t.Errorf("document %d: %s runtime %v ms in a report that ends at %v ms", i, dir, rt, end)
			}
		}
	}
	// When the jobs started and ended, in ms from the run's start, where
	// the periods count from: they started in the first report's period
	// (jobStartMs: the reports' runtimes say when, to the ms), and ran
	// for the total's runtime (their longest clone's, rounded up to the
	// ms), so ended after start+runtime-1; the total report's time comes
	// after they ended, and the reports' times are the run's start plus
	// their ends, so they ended by the total's time less the run's start
	// (+1 for the ms the times are rounded down to).
	start := jobStartMs(t, reports)
	if first != 0 {
		t.Errorf("the first report is of period %v, want 0 (the run's first)", first)
	}
	// Nothing done before the jobs' start; I/O in every report of a
	// period after the one they started in (they may have started too
	// late in it to complete anything).
	for i, n := range ios {
		if p := float64(i); p < math.Floor(start/period) && n != 0 || p > math.Floor(start/period) && n == 0 {
			t.Errorf("report of period %d: %v I/Os; the jobs started at %v ms, in period %v", i, n, start, math.Floor(start/period))
		}
	}
	tj := total["jobs"].([]any)[0].(map[string]any)
	endLo := start + max(num(t, tj, "read", "runtime"), num(t, tj, "write", "runtime")) - 1
	lastIv := reports[len(reports)-1]
	t0 := num(t, lastIv, "timestamp_ms") - num(t, lastIv, "interval", "end_ms")
	endHi := num(t, total, "timestamp_ms") + 1 - t0
	// The last report is of the last period that ended before the jobs
	// did: it ended before them, and the next did not.
	if end := num(t, lastIv, "interval", "end_ms"); end > endHi || end+period <= endLo {
		t.Errorf("the last report ends at %v ms; the jobs ended between %v and %v ms: want the end of the last whole period before theirs (no report for the period the jobs ended in)",
			end, endLo, endHi)
	} else {
		t.Logf("the jobs started at %v ms and ended between %v and %v ms; the last report ends at %v", start, endLo, endHi, end)
	}
	// The total covers that period too: what the jobs did in it, if they
	// still ran after the last report's period (their runtime's end came
	// later: I/O in flight then completed after it).
	after := start+1100 > num(t, lastIv, "interval", "end_ms")
	for k, dir := range []string{"read", "write"} {
		if got := num(t, tj, dir, "total_ios"); got < last[k] || after && got == last[k] {
			t.Errorf("%s: the last report has %v I/Os, the total %v", dir, last[k], got)
		}
	}
}

// TestSIGINTReports: an interrupted run stops, reports what it measured
// and exits with fio's status.
func TestSIGINTReports(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for the loop device target")
	}
	t.Cleanup(func() { interrupted.Store(false) })
	code, last, errb := signalDuringRun(t, syscall.SIGINT, "--name=i", "--rw=randread", "--runtime=60", "--time_based", "--size=32m",
		"--status-interval=200ms", "--output-format=json", "--target-size=128m")
	if code != exitInterrupted {
		t.Fatalf("exit %d, want %d: %s", code, exitInterrupted, errb)
	}
	if last == nil || last["interval"] != nil {
		t.Fatalf("no total report after the interrupt")
	}
	j := last["jobs"].([]any)[0].(map[string]any)
	if num(t, j, "read", "total_ios") == 0 || num(t, j, "read", "runtime") >= 60000 {
		t.Errorf("total: %v I/Os in %v ms", num(t, j, "read", "total_ios"), num(t, j, "read", "runtime"))
	}
	if !strings.Contains(errb, "interrupt") {
		t.Errorf("stderr: %q", errb)
	}
}

// TestExitAll: a job with exitall stops the others of its group when it
// finishes.
func TestExitAll(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.fio")
	os.WriteFile(path, []byte("[long]\nrw=randread\nruntime=60\ntime_based\nsize=16m\n\n[short]\nrw=read\nsize=4m\nbs=64k\nexitall\n"), 0o644)
	jobs, _ := jsonRunOf(t, path)
	if rt := num(t, jobs[0], "read", "runtime"); rt >= 60000 {
		t.Errorf("long job ran %v ms: exitall did not stop it", rt)
	}
	if n := num(t, jobs[1], "read", "total_ios"); n != 64 {
		t.Errorf("short job: %v I/Os, want 64", n)
	}
}

// fio's command-line options that scripts pass: --eta, --minimal,
// --terse-version, --warnings-fatal and --max-jobs.
func TestFioRunnerFlags(t *testing.T) {
	base := []string{"--name=j", "--ioengine=null", "--rw=randread", "--size=4m"}
	code, out, _ := run(t, append(base, "--minimal")...)
	if code != 0 || !strings.HasPrefix(out, "3;"+Version+";j;") {
		t.Errorf("--minimal: %d %q", code, out)
	}
	if code, out, _ := run(t, append(base, "--terse-version=3", "--output-format=terse")...); code != 0 || !strings.HasPrefix(out, "3;") {
		t.Errorf("--terse-version=3: %d %q", code, out)
	}
	for _, bad := range [][]string{{"--terse-version=2"}, {"--eta=sometimes"}, {"--max-jobs=0"}, {"--max-jobs=1", "--numjobs=2"},
		{"--warnings-fatal", "--thread"}, {"--warnings-fatal", "--iodepth=2", "--iodepth_low=4"}} {
		if code, _, errOut := run(t, append(base, bad...)...); code != 2 || errOut == "" {
			t.Errorf("%q: exit %d, %q", bad, code, errOut)
		}
	}
	if code, _, errOut := run(t, append(base, "--thread")...); code != 0 || !strings.Contains(errOut, "notice") {
		t.Errorf("--thread without --warnings-fatal: exit %d, %q", code, errOut)
	}
	for _, eta := range []string{"never", "always", "auto"} {
		if code, _, errOut := run(t, append(base, "--eta="+eta, "--max-jobs=4")...); code != 0 {
			t.Errorf("--eta=%s: exit %d, %q", eta, code, errOut)
		}
	}
}

// --readonly refuses, before any I/O, a job that writes or trims or would
// create or extend a file; fio's other command-line options are refused
// by name, and an unknown one is named as unknown, not as missing a value.
func TestReadonlyAndUnknownFlags(t *testing.T) {
	dir := t.TempDir()
	short := filepath.Join(dir, "short")
	if err := os.WriteFile(short, make([]byte, 100000), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"--name=j", "--rw=randwrite", "--size=1m", "--filename=" + filepath.Join(dir, "w")},
		{"--name=j", "--rw=trim", "--size=1m", "--filename=" + filepath.Join(dir, "t")},
		{"--name=j", "--rw=read", "--size=1m", "--filename=" + filepath.Join(dir, "missing")},
		{"--name=j", "--rw=read", "--size=1m", "--filename=" + short},
	} {
		if code, _, errOut := run(t, append([]string{"--readonly"}, args...)...); code == 0 {
			t.Errorf("--readonly %q: exit 0, %q", args, errOut)
		}
	}
	if st, err := os.Stat(short); err != nil || st.Size() != 100000 {
		t.Errorf("--readonly changed %s: %v", short, err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("--readonly created files: %v", ents)
	}
	if code, _, errOut := run(t, "--readonly", "--name=j", "--ioengine=null", "--rw=randread", "--size=1m"); code != 0 {
		t.Errorf("--readonly read job: exit %d, %q", code, errOut)
	}
	// verify_only only reads back: allowed (the zeros fail to verify: a
	// job that writes its whole region finds no verify header there).
	zeros := filepath.Join(dir, "zeros")
	if err := os.WriteFile(zeros, make([]byte, 1<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := run(t, "--readonly", "--name=j", "--rw=write", "--verify=crc32c", "--verify_only=1", "--size=1m", "--filename="+zeros)
	if code != 1 || strings.Contains(errOut, "--readonly") || !strings.Contains(out, "mismatch") {
		t.Errorf("--readonly verify_only: exit %d, %q, %q", code, out, errOut)
	}
	if b, err := os.ReadFile(zeros); err != nil || len(b) != 1<<20 || slices.ContainsFunc(b, func(c byte) bool { return c != 0 }) {
		t.Errorf("--readonly verify_only changed %s: %v", zeros, err)
	}
	for flag, want := range map[string]string{"--debug=io": "fio's option, not supported", "--bandwidth-log": "fio's option, not supported",
		"--nosuchthing": "unknown option", "--nosuchthing=1": "unknown option"} {
		if code, _, errOut := run(t, "--name=j", "--ioengine=null", "--rw=randread", "--size=1m", flag); code != 2 || !strings.Contains(errOut, want) {
			t.Errorf("%s: exit %d, %q, want %q", flag, code, errOut, want)
		}
	}
}

// SIGUSR1 prints the totals so far on stderr and the run goes on, as fio
// dumps its status on that signal.
func TestSIGUSR1Status(t *testing.T) {
	code, last, e := signalDuringRun(t, syscall.SIGUSR1, "--name=u", "--ioengine=null", "--rw=randrw", "--runtime=2", "--time_based",
		"--size=32m", "--status-interval=200ms", "--output-format=json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, e)
	}
	if last == nil || last["interval"] != nil {
		t.Fatalf("no total report")
	}
	if j := last["jobs"].([]any)[0].(map[string]any); num(t, j, "read", "runtime") < 1900 {
		t.Errorf("the run stopped early: %v ms", num(t, j, "read", "runtime"))
	}
	if !strings.Contains(e, "iobench: status: jobs running 1") || !strings.Contains(e, "  read: ") || !strings.Contains(e, "  write: ") {
		t.Errorf("stderr: %q", e)
	}
}

// signalDuringRun runs iobench with args (JSON status reports at an
// interval), sends this process sig once the first report shows the run
// under way with its handlers installed, and returns the exit status, the
// last JSON document written and stderr.
func signalDuringRun(t *testing.T, sig syscall.Signal, args ...string) (int, map[string]any, string) {
	t.Helper()
	pr, pw := io.Pipe()
	var errb bytes.Buffer
	codec := make(chan int, 1)
	go func() {
		codec <- Main(args, pw, &errb)
		pw.Close()
	}()
	dec := json.NewDecoder(pr)
	var first map[string]any
	if err := dec.Decode(&first); err != nil || first["interval"] == nil {
		t.Fatalf("first status report: %v %v", err, first)
	}
	if err := syscall.Kill(os.Getpid(), sig); err != nil {
		t.Fatal(err)
	}
	var last map[string]any
	for {
		var d map[string]any
		if err := dec.Decode(&d); err != nil {
			break
		}
		last = d
	}
	return <-codec, last, errb.String()
}

// TestExitWhat: exitall stops the other jobs of its reporting group by
// default (exit_what=group), every job running with exit_what=stonewall,
// and every job and the groups after it with exit_what=all.
func TestExitWhat(t *testing.T) {
	for _, c := range []struct {
		what         string
		otherStopped bool // the job of the other reporting group
		laterRan     bool // the job after the stonewall
	}{{"group", false, true}, {"stonewall", true, true}, {"all", true, false}} {
		path := filepath.Join(t.TempDir(), "x.fio")
		job := "[short]\nrw=read\nsize=4m\nbs=64k\nexitall\nexit_what=" + c.what + "\n\n[long]\nrw=randread\nsize=16m\ntime_based\nruntime=2\n\n" +
			"[other]\nnew_group\nrw=randread\nsize=16m\ntime_based\nruntime=2\n\n[later]\nstonewall\nrw=read\nsize=1m\n"
		os.WriteFile(path, []byte(job), 0o644)
		jobs, _ := jsonRunOf(t, path)
		names := map[string]map[string]any{}
		for _, j := range jobs {
			names[j["jobname"].(string)] = j
		}
		if rt := num(t, names["long"], "read", "runtime"); rt >= 1800 {
			t.Errorf("exit_what=%s: the job of short's reporting group ran %v ms", c.what, rt)
		}
		if rt := num(t, names["other"], "read", "runtime"); (rt < 1800) != c.otherStopped {
			t.Errorf("exit_what=%s: the job of the other reporting group ran %v ms (stopped: want %v)", c.what, rt, c.otherStopped)
		}
		// A job that never started is listed with nothing done, as fio
		// lists it.
		later, listed := names["later"]
		if ran := listed && num(t, later, "read", "total_ios") > 0; !listed || ran != c.laterRan {
			t.Errorf("exit_what=%s: the job after the stonewall listed %v, ran %v; want listed, ran %v", c.what, listed, ran, c.laterRan)
		}
	}
}

// interruptRun sends this process SIGINT and waits, at most within, for
// the run started with its exit code on codec to end as interrupted;
// stuck says what it means when it does not.
func interruptRun(t *testing.T, codec <-chan int, within time.Duration, stuck string) {
	t.Helper()
	if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-codec:
		if code != exitInterrupted {
			t.Errorf("exit %d, want %d", code, exitInterrupted)
		}
	case <-time.After(within):
		t.Fatal(stuck)
	}
}

// TestExpectedTime: the progress line's ETA counts the groups one after
// the other and the jobs of a group together: the group as long as its
// longest job, start delay and ramp included (a group of 200 one-second
// jobs was given 3m20s).
func TestExpectedTime(t *testing.T) {
	job := func(delay, ramp, runtime time.Duration) workloads.Job {
		j := workloads.NewJob("j")
		j.StartDelay, j.RampTime, j.Runtime = delay, ramp, runtime
		return j
	}
	jobs := []workloads.Job{job(0, 0, time.Second), job(0, 0, 3*time.Second), job(500*time.Millisecond, time.Second, 2*time.Second)}
	if got, want := expectedTime(jobs, [][]int{{0, 1}, {2}}), 6500*time.Millisecond; got != want {
		t.Errorf("two groups: %v, want %v", got, want)
	}
	many := make([]workloads.Job, 200)
	group := make([]int, 200)
	for i := range many {
		many[i], group[i] = job(0, 0, time.Second), i
	}
	if got := expectedTime(many, [][]int{group}); got != time.Second {
		t.Errorf("200 one-second jobs together: %v, want 1s", got)
	}
}

// TestProgressOnTerminal: with stderr on a terminal the progress line is
// rewritten in place (carriage return, erase), every half second.
func TestProgressOnTerminal(t *testing.T) {
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	defer master.Close()
	if err := unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(master.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	tty, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer tty.Close()
	got := make(chan string)
	go func() {
		var all []byte
		buf := make([]byte, 4096)
		for {
			k, err := master.Read(buf)
			all = append(all, buf[:k]...)
			if err != nil || bytes.Contains(all, []byte("done")) {
				got <- string(all)
				return
			}
		}
	}()
	var out bytes.Buffer
	code := Main([]string{"--name=p", "--ioengine=null", "--rw=randread", "--size=1m", "--runtime=1200ms", "--time_based", "--output-format=terse"}, &out, tty)
	fmt.Fprint(tty, "done")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	if s := <-got; strings.Count(s, "\r\033[KJobs: ") < 2 {
		t.Errorf("the terminal got %q: want the progress line rewritten in place", s)
	}
}

// TestCommandLineCaseAndBare: on fio 3.33's command line an option name
// is lower case (--RW=read and --Output are unrecognized there), and an
// option that cannot stand alone takes the next argument as its value
// (--direct 1 is direct=1; --direct --parse-only fails parsing
// direct=--parse-only), while those fio types "empty or boolean value"
// stand alone (--time_based). iobench lowered every name and took any
// boolean alone.
func TestCommandLineCaseAndBare(t *testing.T) {
	for _, args := range [][]string{
		{"--name=x", "--RW=read"}, {"--name=x", "--Output=o.json"}, {"--name=x", "--BS", "4k"},
	} {
		_, _, err := parseArgs(args)
		if err == nil || !errors.Is(err, workloads.ErrUnknownOption) || !strings.Contains(err.Error(), "lower case") {
			t.Errorf("%v: %v, want an unknown option in lower case", args, err)
		}
	}
	_, cl, err := parseArgs([]string{"--name=x", "--direct", "0", "--time_based", "--runtime=1"})
	if err != nil || cl.jobs[0].Direct || !cl.jobs[0].TimeBased || len(cl.files) != 0 {
		t.Fatalf("--direct 0 --time_based: %v, files %v", err, cl.files)
	}
	for _, args := range [][]string{
		{"--name=x", "--direct", "--parse-only"}, {"--name=x", "--direct"}, {"--name=x", "--direct="}, {"--name=x", "--time_based="},
		// fio 3.33: "option bssplit requires an argument", though a job
		// file may say bssplit= (no split) and write_bw_log= (the job's
		// name).
		{"--name=x", "--bssplit="}, {"--name=x", "--write_bw_log="},
	} {
		if _, _, err := parseArgs(args); err == nil {
			t.Errorf("%v: accepted, as fio does not", args)
		}
	}
}

// TestFilenameGivenTwiceOnCommandLine: a second --filename for a job, its
// own or after a global one, is refused as a job file's second filename=
// is (fio adds the files, and would run the job on both), where it used
// to replace the first silently.
func TestFilenameGivenTwiceOnCommandLine(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	for _, args := range [][]string{
		{"--name=j", "--rw=read", "--size=1m", "--filename=" + a, "--filename=" + b},
		{"--filename=" + a, "--name=j", "--rw=read", "--size=1m", "--filename=" + b},
	} {
		code, out, errs := run(t, append(args, "--parse-only")...)
		if code != 2 || out != "" || !strings.Contains(errs, "--filename="+b+": not supported by iobench: a second --filename") ||
			!strings.Contains(errs, "--filename="+a) {
			t.Errorf("%q: exit %d, stdout %q, stderr %q", args, code, out, errs)
		}
	}
	// Each job its own file stays fine.
	if code, _, errs := run(t, "--rw=read", "--size=1m", "--name=j", "--filename="+a, "--name=k", "--filename="+b, "--parse-only"); code != 0 {
		t.Errorf("a file for each job: exit %d: %s", code, errs)
	}
}

// TestPlainErrors: errors a new user meets say what is wrong in their
// terms: a mistyped command names the commands, a directory that does
// not exist says so, and a file the job cannot write is not called a
// read-only device.
func TestPlainErrors(t *testing.T) {
	if code, _, errs := run(t, "benhc"); code != 2 || !strings.Contains(errs, "open benhc: no such file or directory (neither a job file nor a command: the commands are bench, compare, ext4 and help)") {
		t.Errorf("mistyped command: exit %d, %q", code, errs)
	}
	if code, _, errs := run(t, "./benhc.fio"); code != 2 || strings.Contains(errs, "commands") {
		t.Errorf("missing job file: exit %d, %q", code, errs)
	}
	dir := t.TempDir()
	missing := filepath.Join(dir, "nodir")
	if code, _, errs := run(t, "--name=j", "--rw=read", "--size=1m", "--directory="+missing); code == 0 || !strings.Contains(errs, "directory="+missing+": not a directory: it does not exist") {
		t.Errorf("missing directory: exit %d, %q", code, errs)
	}
	if os.Geteuid() == 0 {
		// root writes any file whatever its mode: make one it cannot.
		ro := filepath.Join(dir, "ro")
		os.WriteFile(ro, make([]byte, 1<<20), 0o644)
		if out, err := exec.Command("chattr", "+i", ro).CombinedOutput(); err != nil {
			t.Logf("chattr +i: %v: %s (left out)", err, out)
		} else {
			defer exec.Command("chattr", "-i", ro).Run()
			code, _, errs := run(t, "--name=j", "--rw=write", "--size=1m", "--filename="+ro)
			if code == 0 || !strings.Contains(errs, ro+": the job writes and the file is not writable") || strings.Contains(errs, "device") {
				t.Errorf("immutable file: exit %d, %q", code, errs)
			}
		}
	}
}

// TestKBBaseInOrderOnCommandLine: fio 3.33 reads its command line in
// order, so --kb_base=1000 applies to the sizes after it, its job's and
// the jobs' that follow, and not to those before it (--size=1m
// --kb_base=1000 read 1048576 bytes in fio, 1953 reads of 512 with it
// first), where a job file's kb_base applies to its whole section.
func TestKBBaseInOrderOnCommandLine(t *testing.T) {
	for _, c := range []struct {
		args []string
		want []uint64
	}{
		{[]string{"--size=1m", "--name=x", "--kb_base=1000"}, []uint64{1 << 20}},
		{[]string{"--name=x", "--size=1m", "--kb_base=1000", "--name=y", "--size=1m"}, []uint64{1 << 20, 1 << 20}},
		{[]string{"--kb_base=1000", "--name=x", "--size=1m"}, []uint64{999936}},
		{[]string{"--name=x", "--kb_base=1000", "--size=1m", "--name=y", "--size=1m"}, []uint64{999936, 1 << 20}},
	} {
		st, cl, err := parseArgs(c.args)
		if err != nil {
			t.Fatalf("%q: %v", c.args, err)
		}
		jobs, _, err := buildJobs(cl, st, io.Discard)
		if err != nil {
			t.Fatalf("%q: %v", c.args, err)
		}
		var got []uint64
		for _, j := range jobs {
			got = append(got, j.Size/512*512) // 1e6 is rounded to the sector size, with a notice
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%q: sizes %v, want %v (fio 3.33's)", c.args, got, c.want)
		}
	}
	f, err := workloads.Parse(strings.NewReader("[x]\nsize=1m\nkb_base=1000\n"), "kb.fio")
	if err != nil || f.Jobs[0].Size/512*512 != 999936 {
		t.Errorf("a job file's kb_base after size: %v", err)
	}
}

// TestEveryErrorLineHeaded: a job file with two refused options gets
// both said, each on a line of its own headed "iobench: " (the second
// came bare).
func TestEveryErrorLineHeaded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tp.fio")
	os.WriteFile(path, []byte("[x]\nioengine=null\nsize=1m\ntrim_percentage=10\ntrim_backlog=4\n"), 0o644)
	code, out, errs := run(t, path)
	lines := strings.Split(strings.TrimSuffix(errs, "\n"), "\n")
	if code != 2 || out != "" || len(lines) != 2 {
		t.Fatalf("exit %d, stdout %q, stderr %q; want exit 2 and two lines", code, out, errs)
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "iobench: ") || !strings.Contains(l, "trim_") {
			t.Errorf("line %q", l)
		}
	}
}

// TestCommandLineJobsFirst: jobs given with --name run before those of
// the job files, as fio 3.33 adds them: the first file's first job joins
// the command line's group, unless it has stonewall, and each later file
// starts a group (fio: extra 0, a 0, b 1, c 2; iobench had extra last).
func TestCommandLineJobsFirst(t *testing.T) {
	dir := t.TempDir()
	j1, j2 := filepath.Join(dir, "J.fio"), filepath.Join(dir, "K.fio")
	os.WriteFile(j1, []byte("[global]\nioengine=null\nsize=1m\n[a]\nrw=write\n[b]\nstonewall\nrw=read\n"), 0o644)
	os.WriteFile(j2, []byte("[global]\nioengine=null\nsize=1m\n[c]\nrw=read\n"), 0o644)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{j1, "--name=extra", "--ioengine=null", "--size=1m", "--rw=randread"}, "extra/0 a/0 b/1"},
		{[]string{"--name=extra", "--ioengine=null", "--size=1m", "--rw=randread", "--stonewall", j1, j2}, "extra/0 a/0 b/1 c/2"},
		{[]string{j1, j2}, "a/0 b/1 c/2"},
	} {
		st, cl, err := parseArgs(c.args)
		if err != nil {
			t.Fatal(err)
		}
		jobs, groups, err := buildJobs(cl, st, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for g, list := range groups {
			for _, ji := range list {
				got = append(got, fmt.Sprintf("%s/%d", jobs[ji].Name, g))
			}
		}
		if s := strings.Join(got, " "); s != c.want {
			t.Errorf("%q: %s, want %s (fio 3.33's)", c.args, s, c.want)
		}
	}
}

// TestDoubleDashEndsOptions: "--" ends the options, as getopt's (fio's):
// the arguments after it are job files, even one named "-x.fio" (iobench
// said: unknown option "").
func TestDoubleDashEndsOptions(t *testing.T) {
	_, cl, err := parseArgs([]string{"--name=x", "--", "J.fio", "-x.fio"})
	if err != nil || !slices.Equal(cl.files, []string{"J.fio", "-x.fio"}) {
		t.Errorf("files %q, %v; want J.fio and -x.fio", cl.files, err)
	}
}

// TestStatusIntervalGroupReporting: with group_reporting the reports of
// each period add up the reporting group's jobs, as the run's total does
// (and fio's reports), one of which ends first; they listed each job.
func TestStatusIntervalGroupReporting(t *testing.T) {
	code, out, errs := run(t, "--ioengine=null", "--rw=read", "--size=16m", "--time_based", "--rate_iops=1000", "--status-interval=300ms",
		"--group_reporting", "--output-format=json", "--name=a", "--runtime=500ms", "--name=b", "--runtime=1100ms")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	docs := decodeAll(t, out)
	if len(docs) < 3 {
		t.Fatalf("%d documents", len(docs))
	}
	prev := 0.0
	for i, d := range docs {
		jobs := d["jobs"].([]any)
		if len(jobs) != 1 {
			t.Fatalf("document %d: %d jobs, want the group's one", i, len(jobs))
		}
		n := num(t, jobs[0].(map[string]any), "read", "total_ios")
		if n < prev {
			t.Errorf("document %d: %v I/Os after %v", i, n, prev)
		}
		prev = n
	}
}

// TestJSONTimestampIsReportTime: the JSON's timestamp and time are when
// the report is made, at the run's end, as fio's (they were the run's
// start, earlier than the --status-interval reports before it).
func TestJSONTimestampIsReportTime(t *testing.T) {
	start := time.Now()
	code, out, errs := run(t, "--name=x", "--ioengine=null", "--size=16m", "--runtime=400ms", "--time_based", "--output-format=json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var doc struct {
		TimestampMs int64 `json:"timestamp_ms"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if got := time.UnixMilli(doc.TimestampMs); got.Before(start.Add(400*time.Millisecond)) || got.After(time.Now()) {
		t.Errorf("timestamp_ms %v: want the report's time, after the 400 ms run that began at %v", got, start)
	}
}

// TestCommandLineLogNeedsValue: on the command line a write_*_log option
// takes the next argument as its prefix, as fio's command line reads it,
// and one given last is refused for want of a value (in a job file, a
// bare write_bw_log line names the logs after the job).
func TestCommandLineLogNeedsValue(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	base := []string{"--name=a", "--ioengine=null", "--size=1m", "--rw=read"}
	if code, _, errs := run(t, append(base, "--write_bw_log")...); code != 2 || !strings.Contains(errs, "--write_bw_log needs a value") {
		t.Errorf("a last --write_bw_log: exit %d, %q; want it refused", code, errs)
	}
	if code, _, errs := run(t, append(base, "--write_bw_log", "--write_lat_log")...); code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if _, err := os.Stat(filepath.Join(dir, "--write_lat_log_bw.1.log")); err != nil {
		t.Errorf("the bandwidth log, prefixed with the next argument as fio names it: %v", err)
	}
}

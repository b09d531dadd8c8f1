package workloads

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// fioParseOnly runs the installed fio's --parse-only on a job file of
// text and reports whether fio accepted it, with what fio printed; it
// skips the test where fio is not installed.
func fioParseOnly(t *testing.T, text string) (bool, string) {
	t.Helper()
	fio, err := exec.LookPath("fio")
	if err != nil {
		t.Skip("fio not installed (make deps installs it): nothing to compare with")
	}
	p := filepath.Join(t.TempDir(), "job.fio")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(fio, "--parse-only", p).CombinedOutput()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatal(err)
	}
	return err == nil, string(out)
}

// parseCase is a job file with one option line under test, at line 3.
func parseCase(line string) string {
	return "[job]\nioengine=io_uring\n" + line + "\n"
}

// TestOptionNamesLowerCase: fio 3.33 reads option names as they are
// spelled: RW=randread, BS=4k, Direct=1, Time_Based are each a "Bad
// option" there, and the job is dropped (exit 1). iobench took any case;
// it now refuses them as options it does not know, naming the file, the
// line and the option as written, and the lower-case name to write.
func TestOptionNamesLowerCase(t *testing.T) {
	for _, c := range []struct{ line, lower string }{
		{"RW=randread", "rw"}, {"BS=4k", "bs"}, {"Direct=1", "direct"}, {"Time_Based", "time_based"},
		{"BlockSize=4k", "blocksize"}, {"Thread", "thread"}, {"Nowait=1", "nowait"},
	} {
		_, err := Parse(strings.NewReader(parseCase(c.line)), "up.fio")
		var pe *ParseError
		if !errors.As(err, &pe) || !errors.Is(err, ErrUnknownOption) {
			t.Errorf("%s: got %v, want an unknown option", c.line, err)
			continue
		}
		name, _, _ := strings.Cut(c.line, "=")
		if pe.File != "up.fio" || pe.Line != 3 || pe.Option != name || !strings.Contains(err.Error(), "write "+c.lower) {
			t.Errorf("%s: got %q (file %q line %d option %q), want up.fio:3, option %q, naming %s", c.line, err, pe.File, pe.Line, pe.Option, name, c.lower)
		}
	}
	// A job's own name, and values of free text, keep their case.
	f, err := Parse(strings.NewReader("[Job1]\nname=MyJob\nioengine=io_uring\nbs=4K\n"), "ok.fio")
	if err != nil || f.Jobs[0].Name != "MyJob" || f.Jobs[0].BS[0] != 4096 {
		t.Fatalf("got %v, %+v", err, f)
	}
	ok, out := fioParseOnly(t, parseCase("RW=randread")+"BS=4k\n")
	if ok || !strings.Contains(out, "Bad option <RW=randread>") || !strings.Contains(out, "Bad option <BS=4k>") {
		t.Errorf("fio accepted RW= and BS=, or said otherwise than expected:\n%s", out)
	}
}

// bareCases: options given alone (or with an empty value), and whether
// fio 3.33 takes them (fio --parse-only). fio takes alone the options it
// types "empty or boolean value" and the write_*_log options; its other
// booleans fail ("Option direct requires an argument"), and so does an
// empty value after "=", but for the logs'.
var bareCases = []struct {
	line string
	ok   bool
}{
	{"time_based", true}, {"group_reporting", true}, {"norandommap", true}, {"stonewall", true},
	{"new_group", true}, {"exitall", true}, {"refill_buffers", true}, {"zero_buffers", true},
	{"fixedbufs", true}, {"registerfiles", true}, {"sqthread_poll", true}, {"thread", true},
	{"write_bw_log", true}, {"write_lat_log", true}, {"write_iops_log=", true},
	{"direct", false}, {"randrepeat", false}, {"end_fsync", false}, {"invalidate", false},
	{"do_verify", false}, {"per_job_logs", false}, {"clat_percentiles", false}, {"buffered", false},
	{"overwrite", false}, {"fsync_on_close", false}, {"create_on_open", false}, {"nowait", false},
	{"bs", false}, {"iodepth", false}, {"description", false}, {"stats", false},
	{"direct=", false}, {"time_based=", false}, {"group_reporting=", false}, {"thread=", false},
}

// TestBareOptions: iobench took every boolean alone (direct, randrepeat,
// end_fsync, ...) and an empty value (direct=, time_based=) as true,
// where fio 3.33 refuses them; it now takes alone what fio takes alone,
// and refuses the rest naming the file, line and option.
func TestBareOptions(t *testing.T) {
	for _, c := range bareCases {
		_, err := Parse(strings.NewReader(parseCase(c.line)), "bare.fio")
		if c.ok && err != nil {
			t.Errorf("%s: %v, want it taken, as fio takes it", c.line, err)
		}
		if !c.ok {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Line != 3 || !strings.Contains(err.Error(), "needs a value") {
				t.Errorf("%s: got %v, want bare.fio:3 refusing it for want of a value", c.line, err)
			}
		}
	}
	j := NewJob("x")
	if err := j.SetBare("time_based"); err != nil || !j.TimeBased {
		t.Errorf("SetBare(time_based): %v, TimeBased %v", err, j.TimeBased)
	}
	if err := j.SetBare("force"); err != nil { // iobench's own: fio never reads it
		t.Errorf("SetBare(force): %v", err)
	}
	if !TakesBare("group_reporting") || TakesBare("direct") || !TakesBare("thread") || TakesBare("cpus_allowed") {
		t.Error("TakesBare disagrees with fio")
	}
}

// TestBareOptionsAsFio checks bareCases against the installed fio.
func TestBareOptionsAsFio(t *testing.T) {
	if _, err := exec.LookPath("fio"); err != nil {
		t.Skip("fio not installed (make deps installs it): nothing to compare with")
	}
	for _, c := range bareCases {
		t.Run(c.line, func(t *testing.T) {
			t.Parallel()
			ok, out := fioParseOnly(t, parseCase(c.line))
			if ok != c.ok {
				t.Errorf("%s: fio --parse-only accepted=%v, the test says %v:\n%s", c.line, ok, c.ok, out)
			}
		})
	}
}

// TestIncludeBeforeAnySection: fio 3.33 reads an include line of the job
// file it is given within the section it is in, and fails one before any
// section ("option <include common.inc> outside of [] job section", exit
// 1), even where the included file begins with [global]; an included
// file may begin with an include, read within the including file's
// section. A section header in an included file, [global] too, fio
// refuses ("No new sections in included files": it leaves the include
// out and runs the jobs, exit 0, the included options lost): iobench
// refuses the job file (it read the header as a section of its own).
func TestIncludeBeforeAnySection(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	common := write("common.inc", "[global]\nbs=8k\n")
	write("opts.inc", "bs=8k\n")
	write("nested.inc", "include opts.inc\n")
	for _, c := range []struct {
		text    string
		line    int    // of the refused line (in main.fio, or in common.inc with inc); 0: accepted
		inc     bool   // the refused line is common.inc's
		fioSays string // what fio --parse-only says of it
	}{
		{"include common.inc\n[a]\nioengine=io_uring\n", 1, false, "outside of [] job section"},
		{"# shared\n\ninclude common.inc\n[a]\nioengine=io_uring\n", 3, false, "outside of [] job section"},
		{"[global]\ninclude opts.inc\n[a]\nioengine=io_uring\n", 0, false, ""},
		{"[global]\ninclude nested.inc\n[a]\nioengine=io_uring\n", 0, false, ""},
		{"[a]\nioengine=io_uring\ninclude common.inc\n[b]\nioengine=io_uring\n", 1, true, "No new sections in included files"},
	} {
		main := write("main.fio", c.text)
		f, err := ParseFile(main)
		var pe *ParseError
		wantFile := main
		if c.inc {
			wantFile = common
		}
		switch {
		case c.line == 0 && err != nil:
			t.Errorf("%q: %v", c.text, err)
		case c.line == 0 && f.Jobs[len(f.Jobs)-1].BS[0] != 8<<10:
			t.Errorf("%q: bs %d, want the included 8k", c.text, f.Jobs[0].BS[0])
		case c.line != 0 && (!errors.As(err, &pe) || pe.File != wantFile || pe.Line != c.line || !errors.Is(err, ErrSyntax)):
			t.Errorf("%q: got %v, want %s:%d refused", c.text, err, wantFile, c.line)
		}
		if _, err := exec.LookPath("fio"); err != nil {
			continue
		}
		cmd := exec.Command("fio", "--parse-only", main)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if c.fioSays == "" && (err != nil || len(out) > 0) || c.fioSays != "" && !strings.Contains(string(out), c.fioSays) {
			t.Errorf("%q: fio --parse-only: %v\n%s", c.text, err, out)
		}
	}
}

// TestOwnValuesAndFileGlobal: a parsed file's Global holds what its
// [global] sections set (fio's "global options"), and each job's
// OwnValues what its own section set, as written, options given alone
// left out (fio's "job options"; TestJSONGlobalOptionsAsFio in the
// runner compares the JSON with fio's).
func TestOwnValuesAndFileGlobal(t *testing.T) {
	cli := NewJob("cli")
	if err := cli.Set("iodepth", "2"); err != nil {
		t.Fatal(err)
	}
	f, err := ParseWith(strings.NewReader("[global]\nbs=8k\nnorandommap\n[a]\nrw=read\n[global]\nbs=16k\n[b]\nbs=4k\ntime_based\n[c]\n"), "g.fio", ParseOptions{Global: &cli})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(f.Global); got != "[[bs 16k]]" {
		t.Errorf("Global %s, want [[bs 16k]]", got)
	}
	for i, want := range []string{"[[rw read]]", "[[bs 4k]]", "[]"} {
		if got := fmt.Sprint(f.Jobs[i].OwnValues()); got != want {
			t.Errorf("%s: OwnValues %s, want %s", f.Jobs[i].Name, got, want)
		}
	}
	if f.Jobs[2].OwnValues() != nil || f.Jobs[1].IODepth != 2 || f.Jobs[1].BS[0] != 4<<10 {
		t.Errorf("c: OwnValues %v, want nil; b: iodepth %d bs %d", f.Jobs[2].OwnValues(), f.Jobs[1].IODepth, f.Jobs[1].BS[0])
	}
}

// TestValueKeywordsLowerCase: fio 3.33 matches the keywords of rw,
// verify, random_distribution, ... as spelled: rw=READ, verify=MD5 and
// random_distribution=Zipf:1.2 fail parsing there, and ioengine=NULL
// parses but fails to load when the job runs; sizes take any case
// (bs=4K, rw=randread:4K). iobench lowered them all.
func TestValueKeywordsLowerCase(t *testing.T) {
	bad := []string{"rw=READ", "readwrite=RandRead:8", "verify=MD5", "fallocate=NONE", "file_service_type=RANDOM",
		"random_distribution=ZIPF:1.2", "random_generator=LFSR", "unified_rw_reporting=MIXED", "continue_on_error=ALL",
		"exit_what=ALL", "sync=Sync", "io_submit_mode=OFFLOAD", "cpus_allowed_policy=SPLIT", "rate_process=POISSON",
		"thinktime_blocks_type=ISSUE", "dedupe_mode=REPEAT", "write_hint=SHORT", "steadystate=IOPS:10%"}
	good := []string{"rw=read", "rw=randread:4K", "bs=4K", "verify=md5", "random_distribution=zipf:1.2", "size=1M"}
	j := NewJob("x")
	if err := j.Set("ioengine", "NULL"); !errors.Is(err, ErrBadValue) || !strings.Contains(err.Error(), "not loadable") {
		t.Errorf("ioengine=NULL: %v", err)
	}
	parseCasesAsFio(t, bad, good, "lower case")
}

// parseCasesAsFio checks that each option line of bad makes a job file
// (parseCase) fail at its line 3 with ErrBadValue, its message holding
// says, and that each of good parses; then, where fio is installed, that
// fio --parse-only refuses and takes the same.
func parseCasesAsFio(t *testing.T, bad, good []string, says string) {
	t.Helper()
	for _, c := range bad {
		_, err := Parse(strings.NewReader(parseCase(c)), "v.fio")
		var pe *ParseError
		if !errors.As(err, &pe) || pe.Line != 3 || !errors.Is(err, ErrBadValue) || !strings.Contains(err.Error(), says) {
			t.Errorf("%s: got %v, want v.fio:3 refusing the value, saying %q", c, err, says)
		}
	}
	for _, c := range good {
		if _, err := Parse(strings.NewReader(parseCase(c)), "v.fio"); err != nil {
			t.Errorf("%s: %v", c, err)
		}
	}
	if _, err := exec.LookPath("fio"); err != nil {
		t.Skip("fio not installed (make deps installs it): nothing to compare with")
	}
	for _, c := range bad {
		if ok, out := fioParseOnly(t, parseCase(c)); ok {
			t.Errorf("%s: fio --parse-only accepted it:\n%s", c, out)
		}
	}
	for _, c := range good {
		if ok, out := fioParseOnly(t, parseCase(c)); !ok {
			t.Errorf("%s: fio --parse-only refused it:\n%s", c, out)
		}
	}
}

// TestBooleanWords: fio 3.33 reads a boolean as a number: direct=true,
// time_based=yes, norandommap=on, fixedbufs=true, create_fsync=true,
// sync=on, nowait=off fail parsing there, and verify=off and verify=none
// are no verify method of its. iobench took the words; its own options
// keep them (cache=on).
func TestBooleanWords(t *testing.T) {
	bad := []string{"direct=true", "direct=off", "time_based=yes", "norandommap=on", "group_reporting=no",
		"fixedbufs=true", "hipri=on", "create_fsync=true", "sync=on", "sync=false", "log_max_value=true",
		"buffered=yes", "gtod_reduce=true", "nowait=off", "verify=off", "verify=none"}
	good := []string{"direct=1", "direct=0x0", "time_based=1", "group_reporting=2", "sync=0", "verify=0", "nowait=0"}
	j := NewJob("x")
	if err := j.Set("cache", "on"); err != nil {
		t.Errorf("cache=on (iobench's own): %v", err)
	}
	parseCasesAsFio(t, bad, good, "")
}

// TestEmptyBSSplit: fio 3.33 reads bssplit= in a job file as no split,
// leaving the job's as it was (a [global] split stays; its write_iolog
// for the file below drew 4k and 16k), where iobench refused it for want
// of a value.
func TestEmptyBSSplit(t *testing.T) {
	f, err := Parse(strings.NewReader("[global]\nbssplit=4k/50:16k/50\n[x]\nioengine=io_uring\nbs=8k\nbssplit=\n[y]\nioengine=io_uring\nbssplit=\n"), "e.fio")
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(f.Jobs[0].BSSplit[0]); got != "[{4096 50} {16384 50}]" {
		t.Errorf("x: split %s, want [global]'s", got)
	}
}

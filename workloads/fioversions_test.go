package workloads

import (
	"errors"
	"strings"
	"testing"
)

// fioVersionOptions are the job options of fio versions other than 3.33
// (which TestEveryFioOptionKnown checks against the installed fio): those
// newer fio added or renamed, in its job option table and in its io_uring
// engine's (read from fio's development sources after 3.41, which hold
// what 3.34 to 3.41 added), and those older fio had that 3.33 dropped or
// deprecated. Each has the status iobench
// gives it and a value that is not fio's default, so that Set shows the
// status: "honoured" takes the value, "refused" refuses it with its
// reason, "notice" accepts it saying why it makes no difference, and
// "alias:name" is another spelling of a table entry.
var fioVersionOptions = []struct{ name, status, value string }{
	// Renamed in newer fio: the old name stays an alias there.
	{"allrandrepeat", "alias:randrepeat", "0"},
	{"log_window_value", "alias:log_max_value", "max"},
	{"fdp_pli", "alias:plids", "0,1"},
	{"fdp_pli_select", "alias:plid_select", "random"},
	{"data_placement", "alias:dataplacement", "streams"},
	{"steadystate_check_interval", "alias:ss_interval", "5s"},
	// Engine options of newer fio's io_uring (shared with io_uring_cmd).
	{"uncached", "honoured", "1"},
	{"readfua", "notice", "1"},
	{"writefua", "notice", "1"},
	{"write_mode", "notice", "zeroes"},
	{"verify_mode", "notice", "compare"},
	{"deac", "notice", "1"},
	{"cmd_type", "notice", "bsg"},
	{"md_per_io_size", "refused", "64"},
	{"pi_act", "notice", "0"},
	{"pi_chk", "notice", "GUARD,REFTAG"},
	{"apptag", "notice", "0x0888"},
	{"apptag_mask", "notice", "0x00ff"},
	{"cmdprio_hint", "refused", "1"},
	// Job options newer fio added.
	{"atomic", "honoured", "1"},
	{"num_range", "refused", "8"},
	{"fdp", "refused", "1"},
	{"dataplacement", "refused", "fdp"},
	{"plids", "notice", "0,1"},
	{"plid_select", "notice", "scheme"},
	{"dp_scheme", "notice", "ruh.scheme"},
	{"priohint", "refused", "1"},
	{"thinkcycles", "honoured", "1000"},
	{"ramp_size", "honoured", "1g"},
	{"sprandom", "honoured", "1"},
	{"spr_op", "honoured", "0.2"},
	{"spr_num_regions", "honoured", "50"},
	{"spr_cs", "honoured", "0"},
	{"random_sequence_stride", "honoured", "1"},
	{"log_issue_time", "honoured", "1"},
	{"end_syncfs", "honoured", "1"},
	{"recover_zbd_write_error", "refused", "1"},
	{"write_zone_remainder", "refused", "1"},
	{"ss_interval", "refused", "5s"},
	{"verify_write_sequence", "notice", "0"},
	{"verify_header_seed", "notice", "0"},
	{"verify_pattern_interval", "refused", "512"},
	{"iodepth_mode", "refused", "stepped:10-130/5,5/30"},
	{"filetype", "notice", "block"},
	{"comm", "notice", "bench-job"},
	{"job_start_clock_id", "notice", "1"},
	{"gpu_dev_id", "notice", "1"},
	// Older fio's, dropped or deprecated by 3.33.
	{"use_os_rand", "notice", "1"},
	{"verifysort", "notice", "1"},
	{"verifysort_nr", "notice", "4"},
	{"flow_watermark", "notice", "10"},
	{"percentage_sequential", "refused", "10"},
	{"rate_poisson", "refused", "1"},
	{"fadvise_stream", "refused", "1"},
}

// TestFioVersionOptionsKnown: every option of another fio version is
// known with its status, and setting it does what the status says; none
// is an unknown option.
func TestFioVersionOptionsKnown(t *testing.T) {
	for _, c := range fioVersionOptions {
		status := c.status
		if target, ok := strings.CutPrefix(status, "alias:"); ok {
			if got := Canonical(c.name); got != target {
				t.Errorf("%s: Canonical %q, want %q", c.name, got, target)
			}
			switch {
			case IsRefused(target):
				status = "refused"
			case IsNotice(target):
				status = "notice"
			default:
				status = "honoured"
			}
		}
		_, inTable := Lookup(c.name)
		known := map[string]bool{"honoured": inTable, "refused": IsRefused(c.name), "notice": IsNotice(c.name)}
		for s, ok := range known {
			if ok != (s == status) {
				t.Errorf("%s: %s is %v, want status %s", c.name, s, ok, status)
			}
		}
		j := NewJob("x")
		err := j.Set(c.name, c.value)
		if errors.Is(err, ErrUnknownOption) {
			t.Errorf("%s=%s: %v", c.name, c.value, err)
			continue
		}
		var n *Notice
		switch status {
		case "honoured":
			if err != nil {
				t.Errorf("%s=%s: %v, want it taken", c.name, c.value, err)
			}
		case "refused":
			if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), c.name) ||
				!strings.Contains(err.Error(), "not implemented") && !strings.Contains(err.Error(), "deprecated") && !strings.Contains(err.Error(), "refuses it too") {
				t.Errorf("%s=%s: %v, want a refusal naming it with its reason", c.name, c.value, err)
			}
		case "notice":
			if !errors.As(err, &n) || !strings.Contains(n.Msg, "no effect") && !strings.Contains(n.Msg, "cannot change what is measured") {
				t.Errorf("%s=%s: %v, want a notice saying it makes no difference", c.name, c.value, err)
			}
		}
	}
}

// TestFioVersionDefaultsTaken: newer fio's refused options given at fio's
// default (a job file spelling out what it does anyway) run, with nothing
// said.
func TestFioVersionDefaultsTaken(t *testing.T) {
	for _, kv := range [][2]string{{"num_range", "1"}, {"fdp", "0"}, {"dataplacement", "none"}, {"data_placement", "none"},
		{"sprandom", "0"}, {"thinkcycles", "0"}, {"ramp_size", "0"}, {"md_per_io_size", "0"}, {"log_issue_time", "0"},
		{"end_syncfs", "0"}, {"priohint", "0"}, {"verify_pattern_interval", "0"}, {"recover_zbd_write_error", "0"},
		{"write_zone_remainder", "0"}, {"uncached", "0"}, {"atomic", "0"}, {"random_sequence_stride", "0"}} {
		j := NewJob("x")
		if err := j.Set(kv[0], kv[1]); err != nil {
			t.Errorf("%s=%s: %v, want it taken", kv[0], kv[1], err)
		}
	}
}

// A job file in the style of newer fio's io_uring examples: options that
// only matter to passthrough, protection information and data placement
// are spelled out at their io_uring values, the pattern is checked after a
// header, and the renamed options take their new names.
const newerIOUringJob = `; random writes checked against a pattern, newer fio's option names
[global]
ioengine=io_uring
direct=1
size=4m
iodepth=8
uncached=1
readfua=1
writefua=0
pi_chk=GUARD
apptag_mask=0xffff
fdp=0
plid_select=roundrobin
num_range=1
allrandrepeat=0
log_window_value=max

[pattern-writer]
rw=randwrite
bs=8k
verify=pattern_hdr
verify_pattern=0xa55a
verify_write_sequence=0
write_lat_log=pw

[reader]
stonewall
rw=randread
log_window_value=avg
`

// TestNewerIOUringJobFile: the job parses as newer fio reads it: the
// options that cannot matter each give a notice, pattern_hdr is iobench's
// meta with the pattern, and the renamed options set what their old
// names do.
func TestNewerIOUringJobFile(t *testing.T) {
	f, err := Parse(strings.NewReader(newerIOUringJob), "newer.fio")
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Jobs) != 2 || len(f.Groups) != 2 {
		t.Fatalf("%d jobs in %d groups, want 2 in 2", len(f.Jobs), len(f.Groups))
	}
	notices := strings.Join(f.Notices, "\n")
	for _, name := range []string{"readfua", "writefua", "pi_chk", "apptag_mask", "plid_select", "verify_write_sequence"} {
		if !strings.Contains(notices, name+": ") {
			t.Errorf("no notice for %s in:\n%s", name, notices)
		}
	}
	for _, name := range []string{"fdp", "num_range", "uncached", "allrandrepeat", "log_window_value"} {
		if strings.Contains(notices, " "+name+": ") {
			t.Errorf("a notice for %s, which is taken as it is:\n%s", name, notices)
		}
	}
	w, r := f.Jobs[0], f.Jobs[1]
	if w.Verify != "meta" || string(w.VerifyPattern) != "\xa5\x5a" || optionIndex["verify"].get(&w) != "pattern_hdr" {
		t.Errorf("verify=pattern_hdr: Verify %q, pattern %x, shown as %q", w.Verify, w.VerifyPattern, optionIndex["verify"].get(&w))
	}
	if w.RandRepeat || r.RandRepeat {
		t.Error("allrandrepeat=0 left randrepeat on")
	}
	if !w.Logs.MaxValue || r.Logs.MaxValue {
		t.Errorf("log_window_value: max gave %v, avg gave %v", w.Logs.MaxValue, r.Logs.MaxValue)
	}
	if !w.Direct || w.uncached != 1 {
		t.Errorf("direct %v, uncached %d", w.Direct, w.uncached)
	}
}

// TestNewerFioRefusals: job files using what newer fio added that iobench
// does not implement are refused naming the option and why, each line's
// option reported, and no option as unknown.
func TestNewerFioRefusals(t *testing.T) {
	cases := []struct {
		name, job string
		want      []string // in the error, in this order
	}{
		{"FDP over passthrough",
			"[global]\nioengine=io_uring_cmd\ncmd_type=nvme\nfdp=1\n[hot]\nrw=randwrite\nfdp_pli=2,3\n",
			[]string{`:2: option "ioengine"`, "passthrough", `:4: option "fdp"`, "data placement"}},
		{"multi-range trims",
			"[trims]\nioengine=io_uring\nrw=randtrim\nnum_range=4\n",
			[]string{`:4: option "num_range"`, "several ranges"}},
		{"protection information buffers",
			"[pi]\nioengine=io_uring\nmd_per_io_size=8\npi_act=0\n",
			[]string{`:3: option "md_per_io_size"`, "protection information"}},
		{"both log values",
			"[logs]\nwrite_lat_log=l\nlog_avg_msec=100\nlog_window_value=both\n",
			[]string{`:4: option "log_window_value"`, "mean and maximum"}},
		{"file operations",
			"[files]\nioengine=filecreate\nrw=filecreate\n",
			[]string{`:2: option "ioengine"`, `:3: option "rw"`, "file operations"}},
		{"older fio's inverse of percentage_random",
			"[mixed]\nrw=randread\npercentage_sequential=30\n",
			[]string{`:3: option "percentage_sequential"`, "percentage_random=100-N"}},
		{"older fio sources' Poisson arrivals, after a refused engine",
			"[poisson]\nioengine=rbd\nrate_iops=50\nrate_poisson=1\n",
			[]string{`:2: option "ioengine"`, `:4: option "rate_poisson"`, "write rate_process=poisson"}},
	}
	for _, c := range cases {
		_, err := Parse(strings.NewReader(c.job), "job.fio")
		if err == nil {
			t.Errorf("%s: parsed", c.name)
			continue
		}
		if errors.Is(err, ErrUnknownOption) {
			t.Errorf("%s: an option is unknown: %v", c.name, err)
		}
		if !errors.Is(err, ErrRefused) {
			t.Errorf("%s: %v, want a refusal", c.name, err)
		}
		msg := err.Error()
		at := 0
		for _, w := range c.want {
			i := strings.Index(msg[at:], w)
			if i < 0 {
				t.Errorf("%s: %q not in (or out of order in) %v", c.name, w, msg)
				break
			}
			at += i + len(w)
		}
	}
}

// TestUncachedNeedsDirect: uncached, newer fio's RWF_DONTCACHE, is taken
// with direct=1, where fio ignores it too, and refused on buffered I/O,
// whichever of the options comes first.
func TestUncachedNeedsDirect(t *testing.T) {
	if _, err := Parse(strings.NewReader("[j]\nuncached=1\ndirect=1\n"), "u.fio"); err != nil {
		t.Errorf("uncached=1 with direct=1: %v", err)
	}
	for _, job := range []string{"[j]\nuncached=1\nbuffered=1\n", "[j]\ndirect=0\nuncached=2\n"} {
		_, err := Parse(strings.NewReader(job), "u.fio")
		if err == nil || !strings.Contains(err.Error(), "RWF_DONTCACHE") || !strings.Contains(err.Error(), "u.fio:") {
			t.Errorf("%q: %v, want uncached on buffered I/O refused", job, err)
		}
	}
	if _, err := Parse(strings.NewReader("[j]\ndirect=0\nuncached=0\n"), "u.fio"); err != nil {
		t.Errorf("uncached=0 with direct=0: %v", err)
	}
}

// TestPatternHdrNeedsPattern: verify=pattern_hdr without verify_pattern
// is refused, as verify=pattern is, and a later verify= undoes it.
func TestPatternHdrNeedsPattern(t *testing.T) {
	_, err := Parse(strings.NewReader("[j]\nrw=write\nverify=pattern_hdr\n"), "v.fio")
	if err == nil || !strings.Contains(err.Error(), "pattern_hdr needs verify_pattern") {
		t.Errorf("pattern_hdr without a pattern: %v", err)
	}
	f, err := Parse(strings.NewReader("[j]\nrw=write\nverify=pattern_hdr\nverify=crc32c\n"), "v.fio")
	if err != nil {
		t.Fatalf("pattern_hdr then crc32c: %v", err)
	}
	if j := f.Jobs[0]; j.Verify != "crc32c" || j.patternHdr {
		t.Errorf("pattern_hdr then crc32c: Verify %q, patternHdr %v", j.Verify, j.patternHdr)
	}
}

// TestOlderFioJobFile: a job file written for fio 2.x, with options fio
// since dropped or deprecated, runs with a notice for each.
func TestOlderFioJobFile(t *testing.T) {
	const job = "[global]\nrw=randrw\nuse_os_rand=1\nverifysort=1\nverifysort_nr=1024\n\n[flow]\nflow_id=0\nflow_watermark=0\n"
	f, err := Parse(strings.NewReader(job), "old.fio")
	if err != nil {
		t.Fatal(err)
	}
	notices := strings.Join(f.Notices, "\n")
	for _, name := range []string{"use_os_rand", "verifysort", "verifysort_nr", "flow_watermark"} {
		if !strings.Contains(notices, "old.fio:") || !strings.Contains(notices, " "+name+": ") {
			t.Errorf("no notice for %s in:\n%s", name, notices)
		}
	}
	if len(f.Jobs) != 1 || f.Jobs[0].RW != RandRW {
		t.Errorf("jobs %d, rw %v", len(f.Jobs), f.Jobs[0].RW)
	}
}

// TestErrorsNameTheSpellingGiven: an option given under an alias is named
// in its refusal or bad-value error as the job file spells it.
func TestErrorsNameTheSpellingGiven(t *testing.T) {
	for _, c := range []struct{ key, value, want, not string }{
		{"log_window_value", "both", "log_window_value=both", "log_max_value"},
		{"readwrite", "bogus", "readwrite=bogus", "rw="},
	} {
		j := NewJob("x")
		err := j.Set(c.key, c.value)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), c.not) {
			t.Errorf("%s=%s: %v, want it named %q", c.key, c.value, err, c.want)
		}
	}
}

// TestNewerFioRampSizeThinkCyclesIssueTime: ramp_size, thinkcycles and
// log_issue_time take fio's values, and a job combining them as fio
// refuses is refused: ramp_size with ramp_time, log_issue_time without
// write_lat_log or log_offset.
func TestNewerFioRampSizeThinkCyclesIssueTime(t *testing.T) {
	f, err := Parse(strings.NewReader("[a]\nioengine=null\nsize=4m\nramp_size=1m\nthinkcycles=2k\n"+
		"write_lat_log=a\nlog_offset=1\nlog_issue_time=1\n"), "job.fio")
	if err != nil {
		t.Fatal(err)
	}
	j := f.Jobs[0]
	if j.RampSize != 1<<20 || j.ThinkCycles != 2048 || !j.Logs.IssueTime {
		t.Errorf("ramp_size %d, thinkcycles %d, log_issue_time %v", j.RampSize, j.ThinkCycles, j.Logs.IssueTime)
	}
	for _, c := range []struct{ job, want string }{
		{"ramp_time=2\nramp_size=1m\n", "ramp_time and ramp_size"},
		{"write_lat_log=a\nlog_issue_time=1\n", "log_issue_time needs write_lat_log and log_offset"},
		{"write_bw_log=a\nlog_offset=1\nlog_issue_time=1\n", "log_issue_time needs write_lat_log and log_offset"},
		{"thinkcycles=-1\n", "thinkcycles"},
	} {
		_, err := Parse(strings.NewReader("[a]\nioengine=null\nsize=4m\n"+c.job), "job.fio")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want an error saying %q", c.job, err, c.want)
		}
	}
}

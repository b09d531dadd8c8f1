package runner

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

// rampJobs runs args on a file of 8 MiB and returns the report's jobs.
func rampJobs(t *testing.T, args ...string) []struct{ Read, Write, Trim fioJSONDir } {
	t.Helper()
	path := targetFile(t, 8<<20)
	code, out, errs := run(t, append([]string{"--filename=" + path, "--bs=4k", "--iodepth=1", "--output-format=json"}, args...)...)
	if code != 0 {
		t.Fatalf("%q: exit %d\n%s%s", args, code, out, errs)
	}
	var doc struct {
		Jobs []struct{ Read, Write, Trim fioJSONDir } `json:"jobs"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Jobs) == 0 {
		t.Fatalf("%q: JSON %v\n%s", args, err, out)
	}
	return doc.Jobs
}

// TestRampSizeExcludesRampedBytes: ramp_size runs the job for that many
// bytes before it measures; the ramp's bytes count toward size (as
// fio's), so a 1 MiB job with a 256 KiB ramp reports 768 KiB, reads and
// writes together for a mixed job. Each clone ramps on its own; with
// group_reporting the clones' bytes count together and their ramps end
// together.
func TestRampSizeExcludesRampedBytes(t *testing.T) {
	j := rampJobs(t, "--name=r", "--rw=read", "--size=1m", "--ramp_size=256k")
	if got := j[0].Read.IOBytes; got != 768<<10 || j[0].Read.TotalIOs != 192 {
		t.Errorf("read: %d bytes in %d I/Os measured, want 768 KiB in 192", got, j[0].Read.TotalIOs)
	}
	j = rampJobs(t, "--name=r", "--rw=randrw", "--size=1m", "--ramp_size=256k")
	if got := j[0].Read.IOBytes + j[0].Write.IOBytes; got != 768<<10 || j[0].Read.IOBytes == 0 || j[0].Write.IOBytes == 0 {
		t.Errorf("randrw: read %d + written %d bytes measured, want 768 KiB of both", j[0].Read.IOBytes, j[0].Write.IOBytes)
	}
	j = rampJobs(t, "--name=r", "--rw=read", "--size=1m", "--ramp_size=256k", "--numjobs=2")
	if len(j) != 2 || j[0].Read.IOBytes != 768<<10 || j[1].Read.IOBytes != 768<<10 {
		t.Errorf("two clones: %+v, want 768 KiB each", j)
	}
	// Together: the ramp ends when the clones have done 256 KiB between
	// them; an I/O of the other clone completing as it ends may still be
	// the ramp's.
	j = rampJobs(t, "--name=r", "--rw=read", "--size=1m", "--ramp_size=256k", "--numjobs=2", "--group_reporting")
	if got := j[0].Read.IOBytes; len(j) != 1 || got > 2048<<10-256<<10 || got < 2048<<10-260<<10 {
		t.Errorf("group_reporting: %d bytes measured, want 2 MiB less the group's 256 KiB ramp (and at most one more 4 KiB I/O)", got)
	}
}

// TestRampSizeRefusals: a ramp_size that differs within a reporting
// group is refused, as fio refuses it, and one that takes the whole job
// measured nothing and says so.
func TestRampSizeRefusals(t *testing.T) {
	path := targetFile(t, 8<<20)
	code, out, errs := run(t, "--filename="+path, "--bs=4k", "--size=1m",
		"--name=a", "--rw=read", "--ramp_size=256k", "--name=b", "--rw=read", "--ramp_size=512k")
	if code == 0 || !strings.Contains(errs+out, "ramp_size that differs within a reporting group") {
		t.Errorf("ramp_size 256k and 512k in one group: exit %d\n%s%s", code, out, errs)
	}
	code, out, errs = run(t, "--filename="+path, "--bs=4k", "--size=1m",
		"--name=a", "--rw=read", "--ramp_size=256k", "--name=b", "--rw=read", "--ramp_size=512k", "--stonewall")
	if code != 0 {
		t.Errorf("ramp_size 256k and 512k in two groups: exit %d\n%s%s", code, out, errs)
	}
	code, out, errs = run(t, "--filename="+path, "--name=a", "--rw=read", "--bs=64k", "--size=1m", "--ramp_size=1m", "--output-format=json")
	if code != 1 || !strings.Contains(out, "nothing measured") {
		t.Errorf("ramp_size=size: exit %d, want 1 saying nothing was measured\n%s%s", code, out, errs)
	}
}

// TestNoIOWithoutRamp: a job whose offsets run out before its first I/O
// (an LFSR whose first write offset, in fio's counting for block sizes
// that differ by direction, lies past the region) ends without an error,
// as fio 3.33's does (exit 0, the job's error 0), and says on stderr why
// it issued no I/O, naming no ramp. A job that issued I/O but measured
// none (its ramp used it up) still fails: TestRampSizeRefusals.
func TestNoIOWithoutRamp(t *testing.T) {
	args := []string{"--name=a", "--rw=randwrite", "--bs=4k,8k", "--size=64k", "--random_generator=lfsr", "--output-format=json"}
	path := targetFile(t, 1<<20)
	code, out, errs := run(t, append([]string{"--filename=" + path}, args...)...)
	if code != 0 || !strings.Contains(errs, "issued no I/O") || strings.Contains(errs+out, "ramp_time") {
		t.Errorf("exit %d, want 0 saying on stderr the job issued no I/O, naming no ramp\n%s%s", code, out, errs)
	}
	var doc struct {
		Jobs []struct {
			Error       int
			Read, Write fioJSONDir
		} `json:"jobs"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Jobs) != 1 || doc.Jobs[0].Error != 0 ||
		doc.Jobs[0].Write.TotalIOs != 0 || doc.Jobs[0].Read.TotalIOs != 0 {
		t.Errorf("JSON: %v: %+v", err, doc.Jobs)
	}
	fio, err := exec.LookPath("fio")
	if err != nil {
		return
	}
	// fio 3.33 on a file of its own: no I/O, exit 0, error 0.
	fpath := targetFile(t, 1<<20)
	fout, err := exec.Command(fio, append([]string{"--filename=" + fpath, "--ioengine=psync"}, args...)...).Output()
	doc.Jobs = nil
	if jerr := json.Unmarshal(fout, &doc); err != nil || jerr != nil || len(doc.Jobs) != 1 || doc.Jobs[0].Error != 0 ||
		doc.Jobs[0].Write.TotalIOs != 0 {
		t.Errorf("fio: %v, %v: %+v", err, jerr, doc.Jobs)
	}
}

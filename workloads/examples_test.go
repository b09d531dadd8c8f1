package workloads

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// Syntax found by a sweep over fio's example job files, each case a
// small job file of our own that uses the same syntax, checked against
// what fio 3.33 makes of it (fio --output-format=json on ioengine=null).

// TestBSDirectionSeparators: fio 3.33 splits bs at ':' or '-' as it
// does at ',': bs=4k-8k and bs=4k:8k are reads of 4k and writes (and
// trims) of 8k there, not a range of sizes (a randread job reads 4k
// blocks only, a randwrite job writes 8k blocks only). iobench took them
// for a range, as bsrange, and drew sizes fio never issues. They are
// read as fio reads them now, with a notice pointing to bsrange; mixes
// fio would read by dropping part of the value are refused.
func TestBSDirectionSeparators(t *testing.T) {
	for _, c := range []struct {
		src    string
		bs     [2]uint64
		notice string // in the file's notices
		err    string // refused: in the error
	}{
		{src: "bs=4k-8k", bs: [2]uint64{4 << 10, 8 << 10}, notice: "bsrange=4k-8k"},
		{src: "bs=4k:8k", bs: [2]uint64{4 << 10, 8 << 10}, notice: "bsrange=4k:8k"},
		{src: "blocksize=8k-4k", bs: [2]uint64{8 << 10, 4 << 10}, notice: "reads 8k"},
		{src: "bs=4k-8k-16k\nrw=randtrimwrite", bs: [2]uint64{4 << 10, 8 << 10}, err: "trim block size"},
		{src: "bs=8k-", bs: [2]uint64{8 << 10, 4 << 10}, notice: "writes and trims 4k"},
		{src: "bs=4k,8k", bs: [2]uint64{4 << 10, 8 << 10}},
		{src: "bs=4k-8k,16k", err: "bsrange"},
		{src: "bs=4k:8k-16k", err: "bsrange"},
		{src: "bsrange=4k-8k", bs: [2]uint64{4 << 10, 4 << 10}},
	} {
		src := "[j]\nioengine=null\nrw=randrw\nsize=1m\n" + c.src + "\n"
		f, err := Parse(strings.NewReader(src), "bs.fio")
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: %v, want an error saying %q", c.src, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.src, err)
			continue
		}
		j := f.Jobs[0]
		if j.BS != c.bs {
			t.Errorf("%s: bs %v, want %v (fio's reads,writes)", c.src, j.BS, c.bs)
		}
		if c.src != "bsrange=4k-8k" && j.BSRange != [2][2]uint64{} {
			t.Errorf("%s: a range of sizes %v, which fio does not draw", c.src, j.BSRange)
		}
		notices := strings.Join(f.Notices, "\n")
		if c.notice != "" && !strings.Contains(notices, c.notice) {
			t.Errorf("%s: notices %q, want one saying %q", c.src, notices, c.notice)
		}
		if c.notice == "" && strings.Contains(notices, "bs") {
			t.Errorf("%s: notice %q", c.src, notices)
		}
		// What --showcmd writes reads back as the same sizes.
		k := NewJob("k")
		for _, kv := range j.Values() {
			if err := k.Set(kv[0], kv[1]); err != nil && !errors.As(err, new(*Notice)) {
				t.Errorf("%s: %s=%s does not read back: %v", c.src, kv[0], kv[1], err)
			}
		}
		if k.BS != j.BS || k.BSRange != j.BSRange {
			t.Errorf("%s: written as %v, read back as %v %v", c.src, j.Values(), k.BS, k.BSRange)
		}
	}
}

// TestFractionalSizesAndTimes: fio 3.33 reads a size or time with a
// decimal point as its whole part, the unit dropped (size=1.5m is one
// byte there, bs=1.5k one byte, runtime=1.5s and runtime=1.5 one second,
// thinktime=1.5ms one microsecond, size=50.5% 50 bytes: the '.' ends the
// number and the unit or '%' is not looked for; percentage_random=50.5 is
// 50). iobench read them as
// meant (1.5 MiB, 1.5 s, 50.5% of the target), so one file ran
// differently under the two tools. They are
// refused, naming fio's reading and a whole equivalent, as fractional
// integers (iodepth=1.5) already were.
func TestFractionalSizesAndTimes(t *testing.T) {
	for _, c := range []struct{ kv, want string }{
		{"size=1.5m", "1536k"},
		{"bs=1.5k", "1536"},
		{"io_size=0.5g", "512m"},
		{"rate=1.5m", "1536k"},
		{"runtime=1.5", "1500ms"},
		{"runtime=1.5s", "1500ms"},
		{"ramp_time=0.5m", "30s"},
		{"thinktime=1.5ms", "1500us"},
		{"size=50.5%", "whole percentage"},
		{"offset=12.5%", "whole percentage"},
		{"offset_increment=0.5%", "whole percentage"},
		{"rw=randread\npercentage_random=50.5", "give 50"},
		{"rw=randrw\npercentage_random=50,70.5", "give 70"},
	} {
		src := "[j]\nioengine=null\nrw=read\nsize=1m\n" + c.kv + "\n"
		_, err := Parse(strings.NewReader(src), "frac.fio")
		if err == nil || !strings.Contains(err.Error(), "fio 3.33 reads") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want it refused with fio's reading and e.g. %s", c.kv, err, c.want)
		}
	}
	// Whole numbers, and the options that take fractions in fio too, are
	// still read.
	for _, kv := range []string{"size=1536k", "runtime=1500ms", "random_distribution=zipf:1.2", "rwmixread=70", "spr_op=0.15", "size=50%", "offset=0.0%"} {
		src := "[j]\nioengine=null\nrw=randrw\nsize=1m\n" + kv + "\n"
		if _, err := Parse(strings.NewReader(src), "whole.fio"); err != nil {
			t.Errorf("%s: %v", kv, err)
		}
	}
	if _, err := ParseSize("1.5g"); err == nil {
		t.Errorf("ParseSize(1.5g) accepted: fio reads it as 1 byte")
	}
}

// TestFilenameGivenTwice: fio 3.33 adds the files of every filename= a
// job sees, [global]'s and the command line's included, rather than
// replacing them (fio's pmemblk.fio has two filename= lines in [global]):
// [global] filename=a then [j] filename=b runs j on a and b there, where
// iobench ran it on b alone. In a job file that is refused, naming both
// lines; over the command line's filename, which a job file overrides in
// iobench, it is a notice saying what fio does.
func TestFilenameGivenTwice(t *testing.T) {
	for _, c := range []struct{ src, err string }{
		{"[global]\nfilename=/tmp/fa\n[j]\nfilename=/tmp/fb\n", "t.fio:2"},
		{"[j]\nfilename=/tmp/fa\nfilename=/tmp/fb\n", "t.fio:2"},
		{"[global]\nfilename=/tmp/fa\n[global]\nfilename=/tmp/fb\n[j]\n", "t.fio:2"},
		{"[global]\nfilename=/tmp/fa\n[j]\nfilename=/tmp/fa\n", "t.fio:2"},
		{"[global]\nfilename=/tmp/fa:/tmp/fb\n[j]\n", ""},
		{"[i]\nfilename=/tmp/fa\n[j]\nfilename=/tmp/fb\n", ""},
	} {
		_, err := Parse(strings.NewReader(c.src+"ioengine=null\nrw=read\nsize=1m\n"), "t.fio")
		switch {
		case c.err == "" && err != nil:
			t.Errorf("%q: %v", c.src, err)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), "fio 3.33 adds") || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%q: %v, want it refused naming %s and what fio does", c.src, err, c.err)
		}
	}
	g := NewJob("global")
	if err := g.Set("filename", "/tmp/fa"); err != nil {
		t.Fatal(err)
	}
	f, err := ParseWith(strings.NewReader("[j]\nfilename=/tmp/fb\nioengine=null\nrw=read\nsize=1m\n"), "t.fio", ParseOptions{Global: &g})
	if err != nil || f.Jobs[0].Filename != "/tmp/fb" || !strings.Contains(strings.Join(f.Notices, "\n"), "fio 3.33 adds") {
		t.Errorf("--filename=/tmp/fa over filename=/tmp/fb: %v, notices %q", err, f.Notices)
	}
}

// TestTrailingComma: fio 3.33 drops a comma at the end of a value
// (iodepth=4, is 4, size=64k, is 64k, runtime=10, is 10 s), and for a
// per-direction value leaves the directions after it at their default
// (percentage_random=50, is 50 for reads, 100 for writes). iobench called
// the first three "not an integer" or a bad unit, and the last "not a
// percentage".
func TestTrailingComma(t *testing.T) {
	for body, ok := range map[string]func(*Job) bool{
		"iodepth=4,":                       func(j *Job) bool { return j.IODepth == 4 },
		"size=64k,":                        func(j *Job) bool { return j.Size == 64<<10 },
		"runtime=10,\ntime_based":          func(j *Job) bool { return j.Runtime == 10*time.Second },
		"rw=randrw\npercentage_random=50,": func(j *Job) bool { return j.PercentageRandom == [2]float64{50, 100} },
		"rate=1m,":                         func(j *Job) bool { return j.Rate == [2]uint64{1 << 20, 0} },
	} {
		f, err := Parse(strings.NewReader("[j]\nioengine=null\nrw=read\nsize=1m\n"+body+"\n"), "c.fio")
		if err != nil || !ok(&f.Jobs[0]) {
			t.Errorf("%q: %v, not read as fio reads it", body, err)
		}
	}
	for _, body := range []string{"iodepth=4,8", "iodepth=,", "size=,"} {
		if _, err := Parse(strings.NewReader("[j]\nioengine=null\nrw=read\nsize=1m\n"+body+"\n"), "c.fio"); err == nil {
			t.Errorf("%q: accepted", body)
		}
	}
}

// TestSeparatorInOneValue: fio 3.33 splits any option's value at ':' or
// '-' as at ',' and keeps one part (size=32k-64k is 64k there,
// iodepth=2-4 is 2, runtime=1-2 1 s), so such a value is no range.
// iobench refused them as "not an integer" or with a unit "k-64k"; the
// refusal now says why.
func TestSeparatorInOneValue(t *testing.T) {
	for _, body := range []string{"size=32k-64k", "io_size=32k:64k", "iodepth=2-4", "numjobs=1:2", "runtime=1-2", "thinktime=10:20", "rwmixread=30-40", "rw=randread\npercentage_random=50-60", "offset=4k-8k"} {
		_, err := Parse(strings.NewReader("[j]\nioengine=null\nrw=read\nsize=1m\n"+body+"\n"), "s.fio")
		if err == nil || !strings.Contains(err.Error(), "splits a value at ':' or '-'") {
			t.Errorf("%q: %v, want it refused saying how fio splits it", body, err)
		}
	}
	// Ranges where fio takes them, and a sign, are not affected.
	for _, body := range []string{"bsrange=4k-8k", "filesize=1m-2m", "startdelay=1-2", "rw=read:4k", "flow=-2"} {
		if _, err := Parse(strings.NewReader("[j]\nioengine=null\nrw=read\nsize=1m\n"+body+"\n"), "s.fio"); err != nil {
			t.Errorf("%q: %v", body, err)
		}
	}
}

// TestIECUnitRefusalExplained: a block size written with KiB under
// kb_base=1024 is read in powers of 1000, as fio 3.33 reads it (fio's
// librpma_apm-client.fio has blocksize=4KiB, 4000 bytes there); its
// refusal names the value as the job file gives it and why it is 4000.
// Under kb_base=1000 4KiB is 4096 and runs.
func TestIECUnitRefusalExplained(t *testing.T) {
	for _, c := range []struct{ job, want string }{
		{"[j]\nsize=1m\nblocksize=4KiB\n", "bs=4KiB: with kb_base=1024"},
		{"[j]\nsize=1m\nbssplit=4KiB/50:8k/50\n", "bssplit=4KiB/50:8k/50: with kb_base=1024"},
		{"[j]\nsize=1m\noffset=10KiB\n", "offset=10KiB: with kb_base=1024"},
	} {
		_, err := Parse(strings.NewReader(c.job), "kib.fio")
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "4KiB as 4000 bytes") {
			t.Errorf("%q: %v, want it to say %q", c.job, err, c.want)
		}
	}
	f, err := Parse(strings.NewReader("[j]\nkb_base=1000\nsize=1m\nblocksize=4KiB\n"), "kib.fio")
	if err != nil || f.Jobs[0].BS[0] != 4096 {
		t.Errorf("kb_base=1000 with blocksize=4KiB: %v", err)
	}
	if _, err := Parse(strings.NewReader("[j]\nsize=1m\nbs=3000\n"), "kib.fio"); err == nil || strings.Contains(err.Error(), "kb_base") {
		t.Errorf("bs=3000: %v, want a refusal without the unit's explanation", err)
	}
}

// TestDescriptionOption: description= is the job's own, a job's section
// overriding [global]'s, with no notice, its spaces and commas kept and a
// trailing comment dropped, as fio reads it.
func TestDescriptionOption(t *testing.T) {
	src := "[global]\ndescription=shared phase\nrw=write\ndirect=1\n\n[fill]\ndescription=Sequential fill, 1 MiB ; the first pass\nbs=1m\n\n[steady]\nstonewall\nrw=randwrite\n"
	f, err := Parse(strings.NewReader(src), "desc.fio")
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Notices) != 0 {
		t.Errorf("notices: %q", f.Notices)
	}
	if got := f.Jobs[0].Description; got != "Sequential fill, 1 MiB" {
		t.Errorf("fill: description %q", got)
	}
	if got := f.Jobs[1].Description; got != "shared phase" {
		t.Errorf("steady: description %q, want [global]'s", got)
	}
}

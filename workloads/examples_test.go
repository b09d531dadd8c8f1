package workloads

import (
	"errors"
	"strings"
	"testing"
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

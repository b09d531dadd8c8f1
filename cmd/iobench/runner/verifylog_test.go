package runner

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/iobench/iobench/workloads"
)

// TestWriteHistory: the order, offsets and lengths a verify pass reads
// back, from the writes issued, as fio 3.33's write_iolog lists them
// (the runs below were fio's, ioengine=null, 4k units): with a random map
// every write in the order issued, across files, one written twice read
// twice; without one each file's writes by offset, a write dropping every
// one before it that it overlaps, whole.
func TestWriteHistory(t *testing.T) {
	type w struct {
		k         int
		off, n    uint64
		drop, bad bool // verify_backlog read it back; it failed
	}
	list := func(h *writeHistory) []string {
		var out []string
		for e := range h.writes() {
			out = append(out, fmt.Sprintf("%d:%d/%d", e.file, e.off/4096, e.n/4096))
		}
		return out
	}
	for _, c := range []struct {
		name    string
		ordered bool
		files   int
		writes  []w
		want    []string
	}{
		// fio: rw=randwrite percentage_random=50 size=32k.
		{"random map, a block written twice", true, 1,
			[]w{{0, 0, 1, false, false}, {0, 1, 1, false, false}, {0, 2, 1, false, false}, {0, 5, 1, false, false}, {0, 6, 1, false, false}, {0, 6, 1, false, false}, {0, 7, 1, false, false}, {0, 3, 1, false, false}},
			[]string{"0:0/1", "0:1/1", "0:2/1", "0:5/1", "0:6/1", "0:6/1", "0:7/1", "0:3/1"}},
		// fio: rw=randwrite nrfiles=2 size=64k: the files' writes interleaved.
		{"random map, two files", true, 2,
			[]w{{0, 0, 1, false, false}, {1, 5, 1, false, false}, {0, 6, 1, false, false}, {1, 3, 1, false, false}},
			[]string{"0:0/1", "1:5/1", "0:6/1", "1:3/1"}},
		{"random map, backlog and a failed write", true, 1,
			[]w{{0, 4, 1, false, false}, {0, 4, 1, true, false}, {0, 2, 2, false, false}, {0, 4, 1, false, false}, {0, 9, 1, false, true}, {0, 1, 1, false, false}},
			[]string{"0:2/2", "0:4/1", "0:1/1"}},
		// fio: rw=randwrite norandommap bssplit=4k/50:16k/50 size=64k.
		{"no random map, mixed sizes", false, 1,
			[]w{{0, 0, 1, false, false}, {0, 11, 4, false, false}, {0, 13, 1, false, false}, {0, 7, 4, false, false}, {0, 6, 1, false, false}, {0, 13, 1, false, false}, {0, 6, 1, false, false}, {0, 5, 1, false, false}, {0, 14, 1, false, false}, {0, 1, 1, false, false}},
			[]string{"0:0/1", "0:1/1", "0:5/1", "0:6/1", "0:7/4", "0:13/1", "0:14/1"}},
		// fio: the same, size=32k: a 16k write over two kept, then a 4k one over it.
		{"no random map, overwritten", false, 1,
			[]w{{0, 0, 1, false, false}, {0, 5, 1, false, false}, {0, 6, 1, false, false}, {0, 3, 4, false, false}, {0, 3, 1, false, false}},
			[]string{"0:0/1", "0:3/1"}},
		// fio: rw=randwrite norandommap nrfiles=2: file by file.
		{"no random map, two files", false, 2,
			[]w{{0, 0, 1, false, false}, {1, 5, 1, false, false}, {0, 6, 1, false, false}, {1, 3, 1, false, false}, {0, 3, 1, false, false}, {1, 6, 1, false, false}, {0, 3, 1, false, false}},
			[]string{"0:0/1", "0:3/1", "0:6/1", "1:3/1", "1:5/1", "1:6/1"}},
		{"no random map, backlog and a failed write", false, 1,
			[]w{{0, 4, 2, false, false}, {0, 4, 2, true, false}, {0, 2, 1, false, false}, {0, 8, 1, false, true}, {0, 9, 1, false, false}},
			[]string{"0:2/1", "0:9/1"}},
	} {
		j := workloads.NewJob("x")
		j.RW, j.BS = workloads.RandWrite, [2]uint64{4096, 4096}
		j.NoRandomMap = !c.ordered
		bases, reaches := make([]uint64, c.files), make([]uint64, c.files)
		for k := range reaches {
			reaches[k] = 1 << 20
		}
		h := newWriteHistory(&j, bases, reaches)
		if h.ordered != c.ordered {
			t.Fatalf("%s: ordered %v", c.name, h.ordered)
		}
		for _, e := range c.writes {
			switch {
			case e.drop:
				h.drop(e.k, e.off*4096, e.n*4096, false)
			default:
				h.add(e.k, e.off*4096, e.n*4096)
				if e.bad {
					h.drop(e.k, e.off*4096, e.n*4096, true)
				}
			}
		}
		if got := list(h); !slices.Equal(got, c.want) {
			t.Errorf("%s: read back %v, want %v", c.name, got, c.want)
		}
	}
	for _, c := range []struct {
		rw      workloads.RW
		opt     string
		ordered bool
	}{
		{workloads.RandWrite, "", true},
		{workloads.RandRW, "", true},
		{workloads.RandWrite, "norandommap", false},
		{workloads.RandWrite, "lfsr", false},
		{workloads.Write, "", false},
		{workloads.ReadWrite, "", false},
	} {
		j := workloads.NewJob("x")
		j.RW = c.rw
		j.NoRandomMap = c.opt == "norandommap"
		if c.opt == "lfsr" {
			j.RandomGenerator = "lfsr"
		}
		if got := historyOrdered(&j); got != c.ordered {
			t.Errorf("rw=%s %s: read back in the order written %v, want %v", c.rw, c.opt, got, c.ordered)
		}
	}
}

// TestVerifiesEachPass: the jobs that read back after each pass, as fio
// 3.33 does (loops, io_size above the region, time_based, as its io_uring
// engine does, with or without a random map), and those that read back
// once at the end (one pass, a random writer with norandommap, which fio
// writes in one pass, do_verify=0).
func TestVerifiesEachPass(t *testing.T) {
	const span = 1 << 20
	for _, c := range []struct {
		opts []string
		want bool
	}{
		{[]string{"rw", "randwrite"}, false},
		{[]string{"rw", "randwrite", "loops", "2"}, true},
		{[]string{"rw", "write", "io_size", "3m"}, true},
		{[]string{"rw", "write", "io_size", "512k", "loops", "2"}, true},
		{[]string{"rw", "randrw", "io_size", "2m"}, true},
		{[]string{"rw", "randwrite", "loops", "2", "norandommap", "1"}, false},
		{[]string{"rw", "randwrite", "loops", "2", "random_generator", "lfsr"}, true},
		{[]string{"rw", "randwrite", "loops", "2", "number_ios", "10"}, true},
		{[]string{"rw", "randwrite", "loops", "2", "time_based", "1", "runtime", "1"}, true},
		{[]string{"rw", "randwrite", "time_based", "1", "runtime", "1", "norandommap", "1"}, true},
		{[]string{"rw", "randwrite", "loops", "2", "do_verify", "0"}, false},
		{[]string{"rw", "randread", "loops", "2"}, false},
	} {
		j := workloads.NewJob("x")
		opts := append([]string{"verify", "crc32c", "size", "1m"}, c.opts...)
		for i := 0; i < len(opts); i += 2 {
			if err := j.Set(opts[i], opts[i+1]); err != nil {
				t.Fatal(err)
			}
		}
		if got := verifiesEachPass(&j, span); got != c.want {
			t.Errorf("%v: reads back after each pass %v, want %v", c.opts, got, c.want)
		}
	}
}

// TestVerifyMixDrawsIndependentOfDepth: a verifying rw=rw job issues the
// reads and writes fio's draws give, whatever its depth: 62 reads and 66
// writes of 64 KiB over 8 MiB, as fio 3.33 (io_uring) issues them at
// depth 1 and 512, its 66 writes then read back. A read drawn over a
// write in flight used to be drawn again, which at depth 512 turned the
// job into 33 reads and 95 writes.
func TestVerifyMixDrawsIndependentOfDepth(t *testing.T) {
	file := filepath.Join(shmDir(t), "mix")
	for _, depth := range []string{"1", "512"} {
		code, out, errs := run(t, "--name=mix", "--filename="+file, "--size=8m", "--bs=64k", "--rw=rw", "--verify=md5",
			"--iodepth="+depth, "--output-format=json")
		if code != 0 {
			t.Fatalf("iodepth=%s: exit %d: %s", depth, code, errs)
		}
		var doc struct {
			Jobs []struct {
				Read  fioJSONDir `json:"read"`
				Write fioJSONDir `json:"write"`
			} `json:"jobs"`
		}
		if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Jobs) != 1 {
			t.Fatalf("iodepth=%s: %v", depth, err)
		}
		if r, w := doc.Jobs[0].Read.TotalIOs, doc.Jobs[0].Write.TotalIOs; r != 62+66 || w != 66 {
			t.Errorf("iodepth=%s: %d reads, %d writes; want 128 (62 and 66 read back) and 66, as fio", depth, r, w)
		}
	}
}

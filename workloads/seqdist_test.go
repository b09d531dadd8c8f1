package workloads

import (
	"errors"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// seqExample is fio's examples/sequence-distribution.fio in substance:
// 4k random reads over a 48k region, 24k of I/O (six reads), the list
// 2,0,1 without and with random_sequence_stride.
const seqExample = `[global]
ioengine=null
rw=randread
bs=4k
size=48k
io_size=24k

[repeating_sequence]
random_distribution=sequence:2,0,1
random_sequence_stride=0

[strided_sequence]
stonewall
random_distribution=sequence:2,0,1
random_sequence_stride=1
`

// offsets returns the offsets of the first n I/Os of j over a target of
// size bytes, stopping at an I/O with End set (ended reports it).
func offsets(j *Job, size uint64, n int) (offs []uint64, ended bool) {
	g := NewGenerator(j, 0, size)
	for range n {
		io := g.Next()
		if io.End {
			return offs, true
		}
		offs = append(offs, io.Offset)
	}
	return offs, false
}

// TestSequenceDistributionExample: the offsets of fio's example jobs, as
// fio's HOWTO (random_distribution=sequence, random_sequence_stride) and
// its io_u.c define them: I/O number n (counted per direction from 0)
// goes to block list[n mod len(list)], plus, with the stride,
// (n div len(list)) * len(list); a block is bs (here the block alignment)
// bytes from the region's start. So 2,0,1 without the stride reads blocks
// 2,0,1,2,0,1 (offsets 8k,0,4k,8k,0,4k), and with it 2,0,1,5,3,4
// (8k,0,4k,20k,12k,16k); fio's t/sequence.py expects the same.
func TestSequenceDistributionExample(t *testing.T) {
	f, err := Parse(strings.NewReader(seqExample), "sequence-distribution.fio")
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Jobs) != 2 {
		t.Fatalf("%d jobs", len(f.Jobs))
	}
	const k = 4096
	want := [][]uint64{{2 * k, 0, 1 * k, 2 * k, 0, 1 * k}, {2 * k, 0, 1 * k, 5 * k, 3 * k, 4 * k}}
	for i := range f.Jobs {
		j := &f.Jobs[i]
		if j.Dist.String() != "sequence:2,0,1" || j.SeqStride != (i == 1) {
			t.Fatalf("job %s: dist %s, stride %v", j.Name, j.Dist, j.SeqStride)
		}
		got, ended := offsets(j, 48*k, int(j.IOSize/k))
		if ended || len(got) != 6 {
			t.Fatalf("job %s: %v (ended %v), want six reads", j.Name, got, ended)
		}
		for n := range got {
			if got[n] != want[i][n] {
				t.Errorf("job %s: offsets %v, want %v", j.Name, got, want[i])
				break
			}
		}
	}
	// With the stride, the sequence runs out at the region's end: blocks
	// 2,0,1 ... 11,9,10, then 14 lies past the 12 blocks, and fio's job
	// ends there, whatever io_size asks for.
	j := f.Jobs[1]
	got, ended := offsets(&j, 48*k, 100)
	if !ended || len(got) != 12 || got[11] != 10*k {
		t.Errorf("stride over 12 blocks: %v (ended %v), want 12 reads, the last at block 10, then the end", got, ended)
	}
	// Without it, the list repeats for as long as the job runs.
	j = f.Jobs[0]
	if got, ended := offsets(&j, 48*k, 100); ended || len(got) != 100 || got[99] != 2*k {
		t.Errorf("no stride: %d reads (ended %v), last %d, want 100, the last at block 2", len(got), ended, got[len(got)-1])
	}
}

// TestSequenceDistributionPerDirection: randrw counts each direction's
// I/Os apart, as fio's io_issues does: the reads follow the list among
// themselves, and so do the writes.
func TestSequenceDistributionPerDirection(t *testing.T) {
	j, err := parseOne(t, "rw=randrw\nbs=4k\nsize=64k\nrandom_distribution=sequence:3,1,2\nrandom_sequence_stride=1")
	if err != nil {
		t.Fatal(err)
	}
	g := NewGenerator(j, 0, 64<<10)
	var n [2]uint64
	list := []uint64{3, 1, 2}
	for range 12 {
		io := g.Next()
		d := io.Dir()
		want := (list[n[d]%3] + n[d]/3*3) * 4096
		if io.End || io.Offset != want {
			t.Fatalf("%s I/O %d: %+v, want offset %d", map[int]string{DirRead: "read", DirWrite: "write"}[d], n[d], io, want)
		}
		n[d]++
	}
	if n[0] == 0 || n[1] == 0 {
		t.Errorf("reads %d, writes %d: want both", n[0], n[1])
	}
}

// TestSequenceDistributionRandomized: for random lists, strides, block
// sizes and regions, every offset is the one fio's rule gives, and the
// strided sequence ends exactly at the first block past the region.
func TestSequenceDistributionRandomized(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for c := range 300 {
		bs := uint64(512) << rng.IntN(4)
		nBlk := 1 + rng.Uint64N(40)
		list := make([]uint64, 1+rng.IntN(6))
		parts := make([]string, len(list))
		for i := range list {
			list[i] = rng.Uint64N(nBlk)
			parts[i] = strings.Repeat(" ", rng.IntN(2)) + strconv.FormatUint(list[i], 10) // fio takes spaces around an index
		}
		stride := rng.IntN(2) == 1
		d, err := ParseDist("sequence:" + strings.Join(parts, ","))
		if err != nil {
			t.Fatalf("case %d: %v", c, err)
		}
		j := NewJob("r")
		j.RW, j.BS, j.Dist, j.SeqStride = RandRead, [2]uint64{bs, bs}, d, stride
		g := NewGenerator(&j, 0, nBlk*bs)
		if err := g.CheckSequence(); err != nil {
			t.Fatalf("case %d: %v", c, err)
		}
		for n := uint64(0); n < 200; n++ {
			b := list[n%uint64(len(list))]
			if stride {
				b += n / uint64(len(list)) * uint64(len(list))
			}
			io := g.Next()
			if b >= nBlk {
				if !io.End {
					t.Fatalf("case %d (list %v, stride, %d blocks): I/O %d %+v, want the end", c, list, nBlk, n, io)
				}
				break
			}
			if io.End || io.Offset != b*bs || io.Length != bs {
				t.Fatalf("case %d (list %v, stride %v, %d blocks): I/O %d %+v, want block %d", c, list, stride, nBlk, n, io, b)
			}
		}
	}
}

// TestSequenceDistributionBadLists: the lists fio refuses are refused,
// naming the element (an empty list or element, a sign, a non-number),
// and an index past the region is an error before any I/O (fio fails
// the job with EINVAL when its I/O reaches it).
func TestSequenceDistributionBadLists(t *testing.T) {
	for v, want := range map[string]string{
		"sequence":             "needs a list",
		"sequence:":            `element ""`,
		"sequence:1,,2":        `element ""`,
		"sequence:-1":          `element "-1"`,
		"sequence:+1":          `element "+1"`,
		"sequence:1x":          `element "1x"`,
		"sequence:a":           `element "a"`,
		"sequence:1 2":         `element "1 2"`,
		"sequence:1.5":         `element "1.5"`,
		"sequence:99999999999": "below 2^32",
	} {
		j := NewJob("x")
		err := j.Set("random_distribution", v)
		if !errors.Is(err, ErrBadValue) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want a bad value naming %s", v, err, want)
		}
	}
	for _, v := range []string{"sequence:0", "sequence: 3 , 1 ,2 ", "SEQUENCE:7"} {
		if d, err := ParseDist(v); err != nil || len(d.Seq) == 0 {
			t.Errorf("%s: %v, %v", v, d, err)
		}
	}
	j := NewJob("x")
	j.RW, j.Dist = RandRead, Dist{Kind: "sequence", Seq: []uint64{2, 12, 1}}
	err := NewGenerator(&j, 0, 48<<10).CheckSequence()
	if err == nil || !strings.Contains(err.Error(), "block 12 lies past the region's end") || !strings.Contains(err.Error(), "blocks 0 to 11") {
		t.Errorf("index 12 of 12 blocks: %v", err)
	}
	// The index alone matters: with the stride, later repetitions run
	// past the end and the job ends there, without an error.
	j.Dist.Seq, j.SeqStride = []uint64{11, 0}, true
	if err := NewGenerator(&j, 0, 48<<10).CheckSequence(); err != nil {
		t.Errorf("index 11 of 12 blocks with the stride: %v", err)
	}
}

package workloads

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestFioRandomOffsets: random offsets are fio 3.33's, block for block.
// Each case's blocks are those fio 3.33 wrote to its write_iolog (offsets
// divided by 4096) for the command in its comment; loops and time_based
// take more than one pass.
func TestFioRandomOffsets(t *testing.T) {
	cases := []struct {
		kv     []string
		target uint64 // bytes of the file (the region lies in it)
		ios    int    // I/Os to take (0: one per block given)
		blocks []uint64
	}{
		// fio --name=x --ioengine=null --bs=4k --rw=randread --size=64k --norandommap --write_iolog=LOG
		{[]string{"rw", "randread", "size", "64k", "norandommap", "1"}, 64 << 10, 0,
			[]uint64{0, 11, 13, 7, 6, 13, 6, 5, 14, 1, 13, 10, 14, 3, 6, 8}},
		// fio --name=x --ioengine=null --bs=4k --rw=randread --size=64k --write_iolog=LOG
		{[]string{"rw", "randread", "size", "64k"}, 64 << 10, 0,
			[]uint64{0, 11, 13, 7, 6, 14, 8, 5, 15, 1, 2, 10, 3, 4, 9, 12}},
		// fio --name=x --ioengine=null --bs=4k --rw=randread --size=64k --loops=2 --write_iolog=LOG
		{[]string{"rw", "randread", "size", "64k", "loops", "2"}, 64 << 10, 0,
			[]uint64{0, 11, 13, 7, 6, 14, 8, 5, 15, 1, 2, 10, 3, 4, 9, 12, 0, 11, 13, 7, 6, 14, 8, 5, 15, 1, 2, 10, 3, 4, 9, 12}},
		// fio --name=x --ioengine=null --bs=4k --rw=randread --size=64k --time_based --runtime=1 --write_iolog=LOG
		// (its first 48 I/Os: after a pass the map starts over, the state goes on)
		{[]string{"rw", "randread", "size", "64k", "time_based", "1", "runtime", "1"}, 64 << 10, 0,
			[]uint64{0, 11, 13, 7, 6, 14, 8, 5, 15, 1, 2, 10, 3, 4, 9, 12, 12, 5, 9, 0, 6, 7, 11, 13, 15, 14, 4, 8, 1, 2, 3, 10,
				0, 1, 2, 3, 5, 8, 14, 11, 4, 6, 7, 15, 9, 10, 12, 13}},
		// fio --name=x --ioengine=null --bs=4k --rw=randread --size=128k --random_generator=lfsr --loops=2 --write_iolog=LOG
		{[]string{"rw", "randread", "size", "128k", "random_generator", "lfsr", "loops", "2"}, 128 << 10, 0,
			[]uint64{11, 9, 2, 17, 4, 18, 25, 6, 19, 10, 21, 5, 1, 0, 16, 24, 28, 30, 31, 15, 14, 23, 13, 3, 8, 20, 26, 29, 7, 12, 22, 27,
				11, 9, 2, 17, 4, 18, 25, 6, 19, 10, 21, 5, 1, 0, 16, 24, 28, 30, 31, 15, 14, 23, 13, 3, 8, 20, 26, 29, 7, 12, 22, 27}},
		// fio --name=x --ioengine=null --bs=4k --rw=randwrite --size=64k --random_generator=lfsr --write_iolog=LOG
		{[]string{"rw", "randwrite", "size", "64k", "random_generator", "lfsr"}, 64 << 10, 0,
			[]uint64{15, 11, 9, 14, 3, 8, 0, 4, 6, 7, 10, 1, 12, 2, 5, 13}},
		// fio --name=x --ioengine=null --bs=4k --rw=randread --size=64k --random_generator=tausworthe64 --write_iolog=LOG
		{[]string{"rw", "randread", "size", "64k", "random_generator", "tausworthe64"}, 64 << 10, 0,
			[]uint64{15, 0, 1, 2, 8, 3, 7, 5, 13, 12, 9, 4, 14, 6, 10, 11}},
		// fio --name=x --ioengine=null --bs=4k --rw=randread --size=64k --random_generator=tausworthe64 --norandommap --write_iolog=LOG
		{[]string{"rw", "randread", "size", "64k", "random_generator", "tausworthe64", "norandommap", "1"}, 64 << 10, 0,
			[]uint64{15, 0, 1, 1, 8, 0, 7, 5, 13, 12, 9, 1, 14, 12, 15, 1}},
		// fio --name=x --ioengine=null --bs=4k --rw=randread --size=64k --randseed=1234 --randrepeat=0 --norandommap --write_iolog=LOG
		{[]string{"rw", "randread", "size", "64k", "randseed", "1234", "randrepeat", "0", "norandommap", "1"}, 64 << 10, 0,
			[]uint64{1, 6, 1, 4, 4, 3, 7, 0, 15, 11, 14, 9, 14, 2, 7, 0}},
		// fio --name=x --ioengine=null --bs=4k --rw=randread --size=64k --randseed=1234 --norandommap --write_iolog=LOG
		// (with randrepeat, randseed does not move fio's offsets)
		{[]string{"rw", "randread", "size", "64k", "randseed", "1234", "norandommap", "1"}, 64 << 10, 0,
			[]uint64{0, 11, 13, 7, 6, 13, 6, 5, 14, 1, 13, 10, 14, 3, 6, 8}},
		// fio --name=x --ioengine=null --bs=4k --rw=randread --size=64k --randseed=99 --randrepeat=0 --random_generator=tausworthe64 --norandommap --write_iolog=LOG
		{[]string{"rw", "randread", "size", "64k", "randseed", "99", "randrepeat", "0", "random_generator", "tausworthe64", "norandommap", "1"}, 64 << 10, 0,
			[]uint64{8, 15, 6, 13, 12, 6, 8, 4, 5, 3, 6, 3, 4, 7, 10, 10}},
		// fio --name=x --ioengine=null --rw=randread --size=128k --bs=8k --blockalign=4k --norandommap --write_iolog=LOG
		{[]string{"rw", "randread", "size", "128k", "bs", "8k", "blockalign", "4k", "norandommap", "1"}, 128 << 10, 0,
			[]uint64{1, 22, 26, 14, 12, 26, 11, 10, 28, 2, 26, 20, 28, 7, 12, 17}},
		// fio --name=x --ioengine=null --bs=4k --rw=randread --size=64k --offset=32k --write_iolog=LOG
		{[]string{"rw", "randread", "size", "64k", "offset", "32k"}, 96 << 10, 0,
			[]uint64{8, 19, 21, 15, 14, 22, 16, 13, 23, 9, 10, 18, 11, 12, 17, 20}},
		// fio --name=x --ioengine=null --bs=4k --rw=randread --size=1m --norandommap --write_iolog=LOG (its first 64 I/Os)
		{[]string{"rw", "randread", "size", "1m", "norandommap", "1"}, 1 << 20, 0,
			[]uint64{15, 189, 215, 120, 102, 215, 97, 90, 233, 17, 218, 166, 237, 63, 100, 143, 112, 205, 92, 158, 1, 108, 80, 176,
				202, 252, 205, 66, 64, 254, 18, 215, 245, 3, 11, 18, 47, 9, 90, 136, 230, 190, 64, 25, 13, 241, 122, 87, 6, 173, 31,
				254, 83, 248, 113, 190, 9, 232, 199, 171, 61, 173, 224, 101}},
	}
	for _, c := range cases {
		name := strings.Join(c.kv, " ")
		g := NewGenerator(job(t, c.kv...), 0, c.target)
		var got []uint64
		for range len(c.blocks) {
			io := g.Next()
			got = append(got, io.Offset/4096)
		}
		if fmt.Sprint(got) != fmt.Sprint(c.blocks) {
			t.Errorf("%s:\n got %v\nfio %v", name, got, c.blocks)
		}
	}
}

// TestFioRandomOffsetsFiles: a thread's files draw from one state, each
// through its own map, as fio's do.
func TestFioRandomOffsetsFiles(t *testing.T) {
	// fio --name=x --ioengine=null --bs=4k --rw=randread --size=128k --nrfiles=2 --write_iolog=LOG
	// (file:block)
	want := "0:0 1:11 0:13 1:7 0:6 1:13 0:7 1:5 0:14 1:1 0:15 1:10 0:1 1:3 0:8 1:8 0:9 1:12 0:5 1:9 0:2 1:6 0:10 1:14 0:12 1:15 0:3 1:4 0:4 1:0 0:11 1:2"
	j := job(t, "rw", "randread", "size", "128k", "nrfiles", "2")
	c := *j
	c.Size = 64 << 10
	g := NewFileGen(j, 0, []*Generator{NewGenerator(&c, 0, 64<<10), NewGenerator(&c, 0, 64<<10)})
	var got []string
	for range 32 {
		f, io := g.Next()
		got = append(got, fmt.Sprintf("%d:%d", f, io.Offset/4096))
	}
	if s := strings.Join(got, " "); s != want {
		t.Errorf("got %s\nfio %s", s, want)
	}
}

// TestFioThreadSeeds: the offsets of fio's thread n (the run's n-th job)
// are seeded by n.
func TestFioThreadSeeds(t *testing.T) {
	j := job(t, "rw", "randread", "size", "64k", "norandommap", "1")
	a := NewGenerator(j, 0, 64<<10)
	j.Thread = 1
	b := NewGenerator(j, 0, 64<<10)
	j.Thread = 2
	c := NewGenerator(j, 0, 64<<10)
	var sa, sb, sc []uint64
	for range 16 {
		sa, sb, sc = append(sa, a.Next().Offset/4096), append(sb, b.Next().Offset/4096), append(sc, c.Next().Offset/4096)
	}
	// fio --ioengine=null --bs=4k --rw=randread --size=64k --norandommap --name=a --write_iolog=LOG1 --name=b --write_iolog=LOG2
	// (LOG2: thread 2's blocks)
	want2 := []uint64{4, 2, 9, 0, 7, 9, 11, 4, 4, 1, 6, 1, 1, 5, 15, 3}
	if fmt.Sprint(sa) != fmt.Sprint(sb) || fmt.Sprint(sc) != fmt.Sprint(want2) {
		t.Errorf("thread 0 %v, 1 %v, 2 %v: want 0 as 1, and 2 as fio's %v", sa, sb, sc, want2)
	}
}

// fioIO writes an I/O as fio's write_iolog line reads in 4 KiB blocks:
// r or w, the offset, a dot, the length ("w7.1": a 4 KiB write at 28 KiB).
func fioIO(io IO) string {
	d := 'r'
	if io.Write {
		d = 'w'
	}
	return fmt.Sprintf("%c%d.%d", d, io.Offset/4096, io.Length/4096)
}

// TestFioDraws: the directions of rw and randrw (rwmixread), the sizes of
// bssplit and bsrange and the sequential-or-random choice of
// percentage_random and rw=...:N are fio 3.33's, I/O for I/O, with its
// offsets. Each case's I/Os are those fio 3.33 wrote to its write_iolog
// (fioIO's form) for the command in its comment, all of them: a random
// I/O is cut at the first block its map has done already, as fio's is.
func TestFioDraws(t *testing.T) {
	cases := []struct {
		kv  []string
		ios string
	}{
		// fio --name=x --ioengine=null --bs=4k --rw=randrw --rwmixread=70 --size=64k --write_iolog=LOG
		{[]string{"rw", "randrw", "rwmixread", "70", "size", "64k"},
			"r0.1 r11.1 r13.1 w7.1 r6.1 r14.1 w8.1 r5.1 r15.1 r1.1 w2.1 r10.1 w3.1 r4.1 r9.1 r12.1"},
		// fio --name=x --ioengine=null --bs=4k --rw=rw --rwmixread=30 --size=64k --write_iolog=LOG
		{[]string{"rw", "rw", "rwmixread", "30", "size", "64k"},
			"w0.1 r0.1 w1.1 w2.1 r1.1 r2.1 w3.1 w4.1 w5.1 r3.1 w6.1 w7.1 w8.1 r4.1 r5.1 w9.1"},
		// fio --name=x --ioengine=null --bs=4k --rw=randrw --size=64k --loops=2 --write_iolog=LOG
		// (each loop draws its directions afresh from the seed)
		{[]string{"rw", "randrw", "size", "64k", "loops", "2"},
			"r0.1 r11.1 r13.1 w7.1 r6.1 r14.1 w8.1 w5.1 w15.1 r1.1 w2.1 r10.1 w3.1 r4.1 r9.1 r12.1 " +
				"r0.1 r11.1 r13.1 w7.1 r6.1 r14.1 w8.1 w5.1 w15.1 r1.1 w2.1 r10.1 w3.1 r4.1 r9.1 r12.1"},
		// fio --name=x --ioengine=null --bs=4k --rw=randrw --rwmixread=60 --randseed=99 --randrepeat=0 --random_generator=tausworthe64 --size=64k --write_iolog=LOG
		{[]string{"rw", "randrw", "rwmixread", "60", "randseed", "99", "randrepeat", "0", "random_generator", "tausworthe64", "size", "64k"},
			"w8.1 r15.1 w6.1 r13.1 w12.1 w7.1 w9.1 r4.1 w5.1 r3.1 r10.1 r11.1 r14.1 r0.1 w1.1 w2.1"},
		// fio --name=x --ioengine=null --bs=4k --rw=randread --bssplit=4k/50:16k/30:8k/20 --size=128k --write_iolog=LOG
		{[]string{"rw", "randread", "bssplit", "4k/50:16k/30:8k/20", "size", "128k"},
			"r1.2 r23.1 r26.1 r15.4 r12.1 r27.2 r13.1 r11.1 r29.1 r3.2 r30.1 r20.3 r31.1 r7.2 r14.1 r19.1 r24.1 r25.1 r0.1 r5.1 r6.1 r9.1 r10.1"},
		// fio --name=x --ioengine=null --bs=4k --rw=randwrite --bsrange=4k-16k --size=128k --write_iolog=LOG
		{[]string{"rw", "randwrite", "bsrange", "4k-16k", "size", "128k"},
			"w1.1 w23.1 w26.2 w15.3 w12.3 w28.2 w18.4 w11.1 w30.2 w2.4 w0.1 w22.1 w6.2 w8.1 w24.1 w25.1 w9.2"},
		// fio --name=x --ioengine=null --bs=4k --rw=randrw --bssplit=4k/50:16k/50 --random_generator=tausworthe64 --size=128k --write_iolog=LOG
		{[]string{"rw", "randrw", "bssplit", "4k/50:16k/50", "random_generator", "tausworthe64", "size", "128k"},
			"r30.1 r0.1 r2.4 w6.1 r16.1 r1.1 w14.2 w10.1 w27.1 r24.3 w19.4 r7.3 w28.1 r29.1 r31.1 r11.1 w12.2 w17.2 r23.1"},
		// fio --name=x --ioengine=null --bs=4k --rw=randwrite --bssplit=4k/50:16k/30:8k/20 --size=128k --verify=crc32c --write_iolog=LOG
		// (its writes: with verify, fio's writes draw their sizes from the
		// reads' seed; the verify reads that follow are the writes again)
		{[]string{"rw", "randwrite", "bssplit", "4k/50:16k/30:8k/20", "size", "128k", "verify", "crc32c"},
			"w1.2 w23.1 w26.1 w15.4 w12.1 w27.2 w13.1 w11.1 w29.1 w3.2 w30.1 w20.3 w31.1 w7.2 w14.1 w19.1 w24.1 w25.1 w0.1 w5.1 w6.1 w9.1 w10.1"},
		// fio --name=x --ioengine=null --bs=4k --rw=randrw --bssplit=4k/50:16k/50 --size=128k --verify=crc32c --write_iolog=LOG
		// (its I/Os before the verify reads)
		{[]string{"rw", "randrw", "bssplit", "4k/50:16k/50", "size", "128k", "verify", "crc32c"},
			"r1.1 r23.4 r27.4 w15.1 r12.1 r31.1 w13.2 w11.1 w0.1 r2.4 w6.4 r20.1 w10.1 r16.1 r17.1 r18.1 w19.1 w21.1 r22.1"},
		// fio --name=x --ioengine=null --bs=4k --rw=randwrite --bsrange=4k-16k --size=128k --verify=md5 --write_iolog=LOG
		// (its writes)
		{[]string{"rw", "randwrite", "bsrange", "4k-16k", "size", "128k", "verify", "md5"},
			"w1.1 w23.3 w26.4 w15.2 w12.3 w30.1 w17.4 w11.1 w31.1 w2.1 w0.1 w21.2 w3.1 w7.1 w4.1 w5.2 w8.3"},
		// fio --name=x --ioengine=null --bs=4k --rw=randread --percentage_random=40 --size=64k --write_iolog=LOG
		{[]string{"rw", "randread", "percentage_random", "40", "size", "64k"},
			"r0.1 r1.1 r2.1 r11.1 r12.1 r13.1 r14.1 r7.1 r6.1 r14.1 r8.1 r9.1 r10.1 r11.1 r12.1 r13.1"},
		// fio --name=x --ioengine=null --bs=4k --rw=randrw:3 --percentage_random=50,70 --size=64k --write_iolog=LOG
		{[]string{"rw", "randrw:3", "percentage_random", "50,70", "size", "64k"},
			"r0.1 r1.1 r2.1 w11.1 r3.1 r4.1 w13.1 w14.1 w15.1 r5.1 w7.1 r6.1 w6.1 r7.1 r8.1 r9.1"},
		// fio --name=x --ioengine=null --bs=4k --rw=read --bsrange=4k-16k --size=64k --write_iolog=LOG
		{[]string{"rw", "read", "bsrange", "4k-16k", "size", "64k"},
			"r0.1 r1.3 r4.4 r8.2 r10.4 r14.1 r15.1"},
		// The non-uniform distributions (fiodist.go): fio seeds zipf,
		// pareto and normal from its hash of the file's name, x.0.0,
		// and keeps no random map with them.
		// fio --name=x --ioengine=null --bs=4k --rw=randread --size=64k --random_distribution=zipf:1.2 --write_iolog=LOG
		{[]string{"rw", "randread", "size", "64k", "random_distribution", "zipf:1.2"},
			"r8.1 r9.1 r5.1 r13.1 r13.1 r13.1 r8.1 r14.1 r8.1 r13.1 r13.1 r14.1 r13.1 r13.1 r10.1 r9.1"},
		// fio --name=x --ioengine=null --bs=4k --rw=randread --size=64k --random_distribution=zipf:0.8:0.25 --randrepeat=0 --randseed=42 --write_iolog=LOG
		{[]string{"rw", "randread", "size", "64k", "random_distribution", "zipf:0.8:0.25", "randrepeat", "0", "randseed", "42"},
			"r3.1 r4.1 r4.1 r15.1 r15.1 r1.1 r4.1 r7.1 r14.1 r4.1 r6.1 r15.1 r5.1 r7.1 r11.1 r11.1"},
		// fio --name=x --ioengine=null --bs=4k --rw=randrw --size=128k --random_distribution=zipf:1.5 --bssplit=4k/50:16k/50 --write_iolog=LOG
		{[]string{"rw", "randrw", "size", "128k", "random_distribution", "zipf:1.5", "bssplit", "4k/50:16k/50"},
			"r13.1 r14.4 r5.4 w13.1 r13.1 r13.4 w13.1 w3.1 w24.4 r13.1 w13.4 r3.4 w13.1 r13.1"},
		// fio --name=x --ioengine=null --bs=4k --rw=randread --size=64k --random_distribution=zipf:1.1 --loops=2 --write_iolog=LOG
		// (the state goes on into the second loop)
		{[]string{"rw", "randread", "size", "64k", "random_distribution", "zipf:1.1", "loops", "2"},
			"r8.1 r4.1 r0.1 r13.1 r13.1 r13.1 r8.1 r9.1 r3.1 r13.1 r13.1 r14.1 r13.1 r13.1 r5.1 r9.1 " +
				"r13.1 r14.1 r8.1 r6.1 r3.1 r15.1 r13.1 r8.1 r13.1 r11.1 r13.1 r13.1 r3.1 r4.1 r9.1 r9.1"},
		// fio --name=x --ioengine=null --bs=4k --rw=randread --size=64k --random_distribution=pareto:0.3 --write_iolog=LOG
		{[]string{"rw", "randread", "size", "64k", "random_distribution", "pareto:0.3"},
			"r13.1 r4.1 r0.1 r13.1 r13.1 r13.1 r13.1 r9.1 r8.1 r13.1 r13.1 r14.1 r13.1 r13.1 r5.1 r4.1"},
		// fio --name=x --ioengine=null --bs=4k --rw=randwrite --size=64k --random_distribution=pareto:0.2:0.7 --random_generator=tausworthe64 --write_iolog=LOG
		{[]string{"rw", "randwrite", "size", "64k", "random_distribution", "pareto:0.2:0.7", "random_generator", "tausworthe64"},
			"w11.1 w6.1 w2.1 w11.1 w11.1 w11.1 w11.1 w11.1 w11.1 w11.1 w11.1 w11.1 w11.1 w11.1 w7.1 w6.1"},
		// fio --name=x --ioengine=null --bs=4k --rw=randread --size=64k --random_distribution=normal:10 --write_iolog=LOG
		{[]string{"rw", "randread", "size", "64k", "random_distribution", "normal:10"},
			"r3.1 r8.1 r13.1 r8.1 r13.1 r12.1 r13.1 r8.1 r3.1 r8.1 r14.1 r8.1 r8.1 r8.1 r14.1 r13.1"},
		// fio --name=x --ioengine=null --bs=4k --rw=randread --size=64k --random_distribution=normal:25:0.3 --randrepeat=0 --randseed=7 --write_iolog=LOG
		// (a center below the middle: fio adds its offset in 32 bits)
		{[]string{"rw", "randread", "size", "64k", "random_distribution", "normal:25:0.3", "randrepeat", "0", "randseed", "7"},
			"r11.1 r0.1 r11.1 r5.1 r0.1 r11.1 r15.1 r5.1 r0.1 r15.1 r0.1 r15.1 r5.1 r5.1 r11.1 r10.1"},
		// fio --name=x --ioengine=null --bs=4k --rw=randread --size=64k --random_distribution=zoned:60/10:30/20:10/70 --write_iolog=LOG
		{[]string{"rw", "randread", "size", "64k", "random_distribution", "zoned:60/10:30/20:10/70"},
			"r0.1 r0.1 r0.1 r9.1 r2.1 r0.1 r2.1 r0.1 r3.1 r4.1 r13.1 r0.1 r0.1 r0.1 r2.1 r0.1"},
		// fio --name=x --ioengine=null --bs=4k --rw=randrw --size=64k --random_distribution=zoned:30/20:60/10:10/70 --random_generator=tausworthe64 --write_iolog=LOG
		{[]string{"rw", "randrw", "size", "64k", "random_distribution", "zoned:30/20:60/10:10/70", "random_generator", "tausworthe64"},
			"r2.1 r0.1 r3.1 w5.1 r3.1 r3.1 w3.1 w3.1 w3.1 r12.1 w10.1 r0.1 w2.1 r3.1 r3.1 r0.1"},
		// fio --name=x --ioengine=null --bs=4k --rw=randread --size=64k --random_distribution=zoned_abs:60/8k:30/16k:10/40k --write_iolog=LOG
		{[]string{"rw", "randread", "size", "64k", "random_distribution", "zoned_abs:60/8k:30/16k:10/40k"},
			"r0.1 r1.1 r1.1 r10.1 r3.1 r1.1 r3.1 r0.1 r5.1 r6.1 r14.1 r1.1 r1.1 r0.1 r3.1 r1.1"},
		// fio --name=x --ioengine=null --bs=4k --rw=randrw --size=64k --random_distribution=zoned_abs:70/32k:30/32k --random_generator=tausworthe64 --write_iolog=LOG
		{[]string{"rw", "randrw", "size", "64k", "random_distribution", "zoned_abs:70/32k:30/32k", "random_generator", "tausworthe64"},
			"r7.1 r0.1 r0.1 w8.1 r12.1 r0.1 w11.1 w2.1 w6.1 r14.1 w12.1 r0.1 w7.1 r6.1 r15.1 r0.1"},
	}
	for _, c := range cases {
		name := strings.Join(c.kv, " ")
		j := job(t, c.kv...)
		j.FilePath = "x.0.0" // fio's name of the file: zipf, pareto and normal are seeded from it
		g := NewGenerator(j, 0, j.Size)
		want := strings.Fields(c.ios)
		var got []string
		for range want {
			got = append(got, fioIO(g.Next()))
		}
		if strings.Join(got, " ") != c.ios {
			t.Errorf("%s:\n got %s\nfio %s", name, strings.Join(got, " "), c.ios)
		}
	}
}

// TestFioDrawsFiles: a thread's files share its directions and sizes, as
// fio's do.
func TestFioDrawsFiles(t *testing.T) {
	// fio --name=x --ioengine=null --bs=4k --rw=randrw --bssplit=4k/50:16k/50 --size=128k --nrfiles=2 --write_iolog=LOG
	// (file:I/O)
	want := "0:r0.1 1:r11.4 0:r13.1 1:w7.1 0:r6.4 1:r15.1 0:w10.1 1:w5.1 0:w14.1 1:r1.4 0:w15.1 1:r10.1 0:w1.4 1:r6.1 0:r11.1 1:r8.1 0:w12.1 1:w0.1 0:r5.1 1:r9.1"
	j := job(t, "rw", "randrw", "bssplit", "4k/50:16k/50", "size", "128k", "nrfiles", "2")
	c := *j
	c.Size = 64 << 10
	g := NewFileGen(j, 0, []*Generator{NewGenerator(&c, 0, 64<<10), NewGenerator(&c, 0, 64<<10)})
	var got []string
	for range strings.Fields(want) {
		f, io := g.Next()
		got = append(got, fmt.Sprintf("%d:%s", f, fioIO(io)))
	}
	if s := strings.Join(got, " "); s != want {
		t.Errorf("got %s\nfio %s", s, want)
	}
}

// TestZonedAbs: zoned_abs parses its sizes in bytes and prints them back;
// zones that end past the region are refused before any I/O (fio ends
// such a job without I/O: "zoned_abs sizes exceed file size"); and with
// random_generator=lfsr, whose draws fio's zones do not follow, iobench's
// own draws keep to the zones.
func TestZonedAbs(t *testing.T) {
	j := job(t, "rw", "randread", "size", "1m", "random_distribution", "zoned_abs:60/256k:40/512k")
	if s := j.Dist.String(); s != "zoned_abs:60/262144:40/524288" {
		t.Errorf("String: %s", s)
	}
	if err := NewGenerator(j, 0, 1<<20).CheckSequence(); err != nil {
		t.Errorf("zones within the region: %v", err)
	}
	if err := NewGenerator(j, 0, 512<<10).CheckSequence(); err == nil || !strings.Contains(err.Error(), "past the region") {
		t.Errorf("zones past a 512 KiB region: %v", err)
	}
	for _, bad := range []string{"zoned_abs", "zoned_abs:50/1m:40/1m", "zoned_abs:100/0", "zoned_abs:100/"} {
		if _, err := ParseDist(bad); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
	j = job(t, "rw", "randread", "size", "1m", "random_distribution", "zoned_abs:60/256k:40/512k", "random_generator", "lfsr")
	g := NewGenerator(j, 0, 1<<20)
	for range 1000 {
		if off := g.Next().Offset; off >= 768<<10 {
			t.Fatalf("offset %d past the zones' 768 KiB", off)
		}
	}
}

// TestFioFileService: file_service_type=zipf, pareto, normal (gauss)
// choose each I/O's file as fio 3.33 does, and a file whose pass is over
// starts its next without a new seed; file_service_type=random and
// random:N draw theirs as fio does, a file found done drawn past. Each
// case's I/Os (file:block) are the first 40 (random: all 64) fio 3.33
// wrote to its write_iolog for
// fio --name=x --ioengine=null --bs=4k --size=256k --nrfiles=4 ARGS --write_iolog=LOG
// with the ARGS of the case.
func TestFioFileService(t *testing.T) {
	cases := []struct {
		kv  []string
		ios string
	}{
		// --rw=randread --file_service_type=zipf:1.2
		{[]string{"rw", "randread", "file_service_type", "zipf:1.2"},
			"3:0 3:11 3:13 3:7 3:6 3:14 0:6 3:5 0:14 3:1 3:15 3:10 3:2 0:3 3:8 3:9 3:12 3:3 2:5 3:4 3:6 3:5 3:11 3:12 3:15 3:13 3:4 2:4 3:0 0:1 3:14 3:1 3:2 3:3 3:7 3:8 3:9 3:10 3:14 3:11"},
		// --rw=randread --file_service_type=zipf:1.2:0.5
		{[]string{"rw", "randread", "file_service_type", "zipf:1.2:0.5"},
			"2:0 2:11 2:13 2:7 2:6 2:14 3:6 2:5 3:14 2:1 2:15 2:10 2:2 2:3 2:8 2:9 2:12 2:4 1:5 2:0 2:6 2:5 2:11 2:12 2:15 2:13 2:4 1:4 2:1 3:1 2:14 2:2 2:3 2:7 2:8 2:9 2:10 2:8 2:14 2:11"},
		// --rw=read --file_service_type=pareto:0.3 (a file read to its
		// end starts over, and the file is drawn again)
		{[]string{"rw", "read", "file_service_type", "pareto:0.3"},
			"1:0 3:0 3:1 0:0 3:2 0:1 2:0 3:3 2:1 1:1 3:4 3:5 0:2 2:2 3:6 3:7 0:3 3:8 3:9 0:4 3:10 0:5 0:6 3:11 1:2 0:7 3:12 3:13 0:8 2:3 3:14 1:3 3:15 3:0 3:1 3:2 3:3 3:4 1:4 3:5"},
		// --rw=randread --file_service_type=gauss:20
		{[]string{"rw", "randread", "file_service_type", "gauss:20"},
			"1:0 2:11 1:13 1:7 2:6 1:14 1:6 2:5 1:15 2:1 2:13 1:10 1:1 2:3 2:7 1:8 1:9 2:12 2:8 1:11 2:0 1:12 2:9 2:14 1:2 2:15 1:3 1:4 1:5 2:2 1:13 2:4 2:10 1:0 1:1 1:2 1:3 1:5 2:14 2:11"},
		// --rw=randwrite --file_service_type=normal:10:0.8 --randrepeat=0 --randseed=21
		{[]string{"rw", "randwrite", "file_service_type", "normal:10:0.8", "randrepeat", "0", "randseed", "21"},
			"2:14 3:15 2:15 2:9 3:0 3:5 3:12 3:1 3:10 3:2 2:5 3:9 3:11 3:6 3:13 3:3 3:14 3:8 3:4 3:7 3:0 2:12 3:2 3:12 3:7 3:13 3:14 3:15 3:10 3:3 3:1 3:4 3:5 2:4 3:8 3:9 3:6 3:11 3:10 3:0"},
		// --rw=randread --file_service_type=random
		{[]string{"rw", "randread", "file_service_type", "random"},
			"3:0 3:11 0:13 0:7 2:6 0:14 2:7 3:5 2:14 3:1 3:13 1:10 1:14 2:3 3:6 0:8 2:8 2:12 1:5 3:9 2:0 0:6 3:7 2:11 1:12 3:15 3:12 2:4 3:4 2:15 3:2 0:15 " +
				"3:3 0:0 1:0 1:1 0:2 0:1 1:6 2:9 3:14 2:13 0:4 0:3 2:1 3:8 0:9 0:5 2:2 2:10 1:2 1:15 1:7 3:10 0:10 0:11 2:5 0:12 1:11 1:3 1:8 1:9 1:13 1:4"},
		// --rw=read --file_service_type=random:3
		{[]string{"rw", "read", "file_service_type", "random:3"},
			"3:0 3:1 3:2 3:3 3:4 3:5 0:0 0:1 0:2 0:3 0:4 0:5 2:0 2:1 2:2 0:6 0:7 0:8 2:3 2:4 2:5 3:6 3:7 3:8 2:6 2:7 2:8 3:9 3:10 3:11 3:12 3:13 " +
				"3:14 1:0 1:1 1:2 1:3 1:4 1:5 2:9 2:10 2:11 3:15 0:9 0:10 0:11 2:12 2:13 2:14 2:15 1:6 1:7 1:8 0:12 0:13 0:14 1:9 1:10 1:11 0:15 1:12 1:13 1:14 1:15"},
		// --rw=randwrite --file_service_type=random --randrepeat=0 --randseed=21
		{[]string{"rw", "randwrite", "file_service_type", "random", "randrepeat", "0", "randseed", "21"},
			"2:14 0:15 3:14 0:9 2:0 1:5 2:12 2:1 0:10 2:2 0:5 1:9 0:11 0:6 1:10 1:3 2:15 3:8 2:13 3:15 3:9 0:0 2:3 1:2 1:12 2:7 0:12 0:13 1:13 0:14 2:4 1:14 " +
				"1:1 3:5 0:4 1:7 1:11 0:2 3:3 1:15 2:10 1:0 0:1 3:6 1:4 3:10 3:2 0:3 0:8 0:7 3:7 1:6 1:8 2:5 3:11 3:12 3:13 2:6 2:8 2:9 2:11 3:1 3:0 3:4"},
		// --rw=randread --file_service_type=random:3 --random_generator=tausworthe64
		{[]string{"rw", "randread", "file_service_type", "random:3", "random_generator", "tausworthe64"},
			"0:15 0:0 0:1 2:1 2:8 2:0 0:7 0:5 0:13 2:12 2:9 2:2 0:14 0:12 0:2 0:3 0:4 0:6 1:8 1:6 1:15 3:4 3:10 3:12 1:9 1:4 1:13 0:8 0:9 0:10 1:14 1:1 " +
				"1:0 2:5 2:13 2:3 2:4 2:7 2:15 2:10 2:11 2:14 1:3 1:10 1:2 0:11 1:11 1:5 1:7 2:6 3:6 3:11 3:9 1:12 3:0 3:1 3:5 3:15 3:14 3:3 3:7 3:2 3:8 3:13"},
	}
	for _, c := range cases {
		name := strings.Join(c.kv, " ")
		j := job(t, append(c.kv, "size", "256k", "nrfiles", "4")...)
		f := *j
		f.Size = 64 << 10
		var gens []*Generator
		for range 4 {
			gens = append(gens, NewGenerator(&f, 0, 64<<10))
		}
		g := NewFileGen(j, 0, gens)
		var got []string
		for range strings.Fields(c.ios) {
			fi, io := g.Next()
			got = append(got, fmt.Sprintf("%d:%d", fi, io.Offset/4096))
		}
		if s := strings.Join(got, " "); s != c.ios {
			t.Errorf("%s:\n got %s\nfio %s", name, s, c.ios)
		}
	}
	// rw=rw and the trim patterns: fio draws the direction again where a
	// file's sequential pass ends; not followed, refused.
	for _, rw := range []string{"rw", "trim", "randtrim"} {
		j := NewJob("t")
		if err := j.Set("rw", rw); err != nil {
			t.Fatal(err)
		}
		if err := j.Set("file_service_type", "zipf:1.2"); err != nil {
			t.Fatal(err)
		}
		if err := j.Validate(); err == nil || !strings.Contains(err.Error(), "not implemented") {
			t.Errorf("rw=%s with file_service_type=zipf:1.2: %v, want refused", rw, err)
		}
	}
}

// TestFioScaleExact: the integer quotient scale takes for a 32-bit draw
// and n up to 2^21 is fio's double product, truncated (the edges and
// random pairs tried); so is between100's.
func TestFioScaleExact(t *testing.T) {
	r := &fioRand{}
	rng := rand.New(rand.NewPCG(3, 4))
	ns := []uint64{0, 1, 2, 3, 100, 1<<21 - 1, 1 << 21}
	vs := []uint64{0, 1, 1<<31 - 1, 1 << 31, 1<<32 - 2, 1<<32 - 1}
	for range 1 << 18 {
		ns = append(ns, rng.Uint64N(1<<21+1))
		vs = append(vs, rng.Uint64N(1<<32))
	}
	fio := func(n, v uint64) uint64 { return uint64(float64(n) * (float64(v) * (1.0 / 4294967296.0))) }
	for i, n := range ns {
		for _, v := range []uint64{vs[i%len(vs)], vs[(i*7+3)%len(vs)], 1<<32 - 1} {
			if got, want := r.scale(n, v), fio(n, v); got != want {
				t.Fatalf("scale(%d, %d) = %d, fio's %d", n, v, got, want)
			}
		}
	}
	for _, v := range vs {
		r.s1, r.s2, r.s3 = uint32(v)|2, uint32(v>>7)|8, uint32(v>>3)|16
		c := *r
		want := 1 + uint64(100*(float64(c.next())*(1.0/4294967296.0)))
		if got := r.between100(); got != want {
			t.Fatalf("between100 after state %d = %d, fio's %d", v, got, want)
		}
	}
}

// TestAxmapFree: free gives the block a lookup of b and, when it is done,
// nextFree give, over maps of several sizes at fills from empty to full.
func TestAxmapFree(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range []uint64{1, 63, 64, 65, 100, 4095, 4096, 4097, 70000} {
		m := newAxmap(n)
		m.reset()
		for fill := 0; fill < 8; fill++ {
			for range n/4 + 1 {
				m.setFree(rng.Uint64N(n))
			}
			if fill == 7 {
				for b := range n {
					m.setFree(b)
				}
			}
			for range 2000 {
				b := rng.Uint64N(n + 2)
				want := b
				if b < n && m.levels[0][b>>6]&(1<<(b&63)) != 0 {
					want = m.nextFree(b)
				}
				if got := m.free(b); got != want {
					t.Fatalf("%d blocks, fill %d: free(%d) = %d, want %d", n, fill, b, got, want)
				}
			}
		}
	}
}

// TestFioMixedSizesMap: with block sizes that differ by direction, fio
// 3.33's random map (and LFSR) counts in the job's smallest block size,
// while each direction draws and marks in its own: a draw that finds its
// block done and no free one after it below the direction's last block
// takes a free block of the map past the region's end, and fio finds the
// file done there (no I/O; the next loop, if one follows, starts over).
// An LFSR whose value lies past the region ends it so too, at once if its
// first does. Each case's I/Os (fioIO's form) are all those fio 3.33
// wrote to its write_iolog for the command in its comment (the file the
// region's size, and fio's ioengine=null makes it so): the generator
// gives them, then IO.End.
func TestFioMixedSizesMap(t *testing.T) {
	cases := []struct {
		kv  []string
		ios string
	}{
		// fio --name=x --ioengine=null --rw=randwrite --bs=4k,8k --size=64k --write_iolog=LOG
		{[]string{"rw", "randwrite", "bs", "4k,8k", "size", "64k"}, "w0.2 w10.2 w12.2 w6.2 w8.2 w14.2"},
		// fio --name=x --ioengine=null --rw=randwrite --bs=4k,8k --size=64k --loops=2 --write_iolog=LOG
		{[]string{"rw", "randwrite", "bs", "4k,8k", "size", "64k", "loops", "2"},
			"w0.2 w10.2 w12.2 w6.2 w8.2 w14.2 w0.2 w10.2 w12.2 w6.2 w8.2 w14.2"},
		// fio --name=x --ioengine=null --rw=randwrite --bs=4k,8k --size=64k --random_generator=lfsr --write_iolog=LOG
		// (no I/O: the LFSR's first block, in 8k, lies past the region)
		{[]string{"rw", "randwrite", "bs", "4k,8k", "size", "64k", "random_generator", "lfsr"}, ""},
		// fio --name=x --ioengine=null --rw=randwrite --bs=4k,8k --size=64k --random_generator=lfsr --loops=3 --write_iolog=LOG
		// (each loop alike: no I/O; time_based, fio issues none for its
		// runtime, where iobench's file is done)
		{[]string{"rw", "randwrite", "bs", "4k,8k", "size", "64k", "random_generator", "lfsr", "loops", "3"}, ""},
		{[]string{"rw", "randwrite", "bs", "4k,8k", "size", "64k", "random_generator", "lfsr", "time_based", "1", "runtime", "1"}, ""},
		// fio --name=x --ioengine=null --rw=randread --bs=8k,4k --size=64k --write_iolog=LOG
		{[]string{"rw", "randread", "bs", "8k,4k", "size", "64k"}, "r0.2 r10.2 r12.2 r6.2 r8.2 r14.2"},
		// fio --name=x --ioengine=null --rw=randrw --bs=4k,16k --size=256k --write_iolog=LOG
		{[]string{"rw", "randrw", "bs", "4k,16k", "size", "256k"},
			"r3.1 r47.1 r53.1 w28.4 r25.1 r54.1 w24.4 w20.4 w56.4 r4.1 w52.4 r41.1 w60.4 r16.1 r26.1 r35.1 " +
				"w32.4 w48.4 r23.1 r39.1 w0.4 w36.4 w40.4 w44.4 r50.1"},
		// fio --name=x --ioengine=null --rw=randrw --bs=4k,16k --size=256k --random_generator=lfsr --write_iolog=LOG
		{[]string{"rw", "randrw", "bs", "4k,16k", "size", "256k", "random_generator", "lfsr"}, "r27.1 r19.1 r18.1"},
		// fio --name=x --ioengine=null --rw=randrw --bs=4k,16k --size=256k --random_generator=tausworthe64 --write_iolog=LOG
		{[]string{"rw", "randrw", "bs", "4k,16k", "size", "256k", "random_generator", "tausworthe64"},
			"r60.1 r1.1 r5.1 w8.4 r33.1 r3.1 w28.4 w24.4 w52.4 r48.1 w36.4 r8.1 w56.4 r51.1 r61.1 r10.1 " +
				"w60.4 w0.4 r34.1 r25.1"},
		// fio --name=x --ioengine=null --rw=randwrite --bssplit=4k/50:8k/50,8k/50:16k/50 --size=256k --write_iolog=LOG
		{[]string{"rw", "randwrite", "bssplit", "4k/50:8k/50,8k/50:16k/50", "size", "256k"},
			"w2.2 w46.2 w52.2 w30.4 w24.4 w54.2 w28.2 w22.2 w58.4 w4.4 w56.2 w40.2 w62.2 w14.2 w34.2 w36.2 " +
				"w38.2 w50.2 w42.4 w48.2 w0.2"},
		// fio --name=x --ioengine=null --rw=randwrite --bs=4k,12k --size=64k --write_iolog=LOG
		// (the fifth write's free block, at 60k, leaves no room in the file)
		{[]string{"rw", "randwrite", "bs", "4k,12k", "size", "64k"}, "w0.3 w9.3 w12.3 w6.3"},
	}
	for _, c := range cases {
		name := strings.Join(c.kv, " ")
		j := job(t, c.kv...)
		g := NewGenerator(j, 0, j.Size)
		var got []string
		for range len(strings.Fields(c.ios)) + 8 {
			io := g.Next()
			if io.End {
				break
			}
			got = append(got, fioIO(io))
		}
		if s := strings.Join(got, " "); s != c.ios {
			t.Errorf("%s:\n got %s\nfio %s", name, s, c.ios)
		}
	}

	// Unchanged where the map's block is each direction's: norandommap
	// keeps no map (its offsets repeat), and bs=8k,4k writes 4k blocks.
	for _, c := range []struct {
		kv  []string
		ios string
	}{
		// fio --name=x --ioengine=null --rw=randwrite --bs=4k,8k --size=64k --norandommap --write_iolog=LOG
		{[]string{"rw", "randwrite", "bs", "4k,8k", "size", "64k", "norandommap", "1"}, "w0.2 w10.2 w12.2 w6.2 w6.2 w12.2 w6.2 w4.2"},
		// fio --name=x --ioengine=null --rw=randwrite --bs=8k,4k --size=64k --write_iolog=LOG
		{[]string{"rw", "randwrite", "bs", "8k,4k", "size", "64k"},
			"w0.1 w11.1 w13.1 w7.1 w6.1 w14.1 w8.1 w5.1 w15.1 w1.1 w2.1 w10.1 w3.1 w4.1 w9.1 w12.1"},
	} {
		g := NewGenerator(job(t, c.kv...), 0, 64<<10)
		want := strings.Fields(c.ios)
		var got []string
		for range want {
			got = append(got, fioIO(g.Next()))
		}
		if s := strings.Join(got, " "); s != c.ios {
			t.Errorf("%s:\n got %s\nfio %s", strings.Join(c.kv, " "), s, c.ios)
		}
	}

	// A region smaller than its file (size below the file's, or offset
	// inside it): a free block of the map that puts the I/O past the
	// region's end, but in the file, is issued there, whole, as fio
	// issues it; the next one past the region's end ends the pass. fio
	// 3.33's write_iolog of --ioengine=psync (and of the null engine,
	// which takes the file to end with the region) on a 1 MiB file made
	// beforehand.
	for _, c := range []struct {
		kv  []string
		ios string
	}{
		// fio --name=x --filename=F --ioengine=psync --rw=randwrite --bs=4k,12k --size=64k --write_iolog=LOG
		{[]string{"rw", "randwrite", "bs", "4k,12k", "size", "64k"}, "w0.3 w9.3 w12.3 w6.3 w15.3"},
		// fio --name=x --filename=F --ioengine=psync --rw=randwrite --bs=4k,12k --size=64k --offset=256k --loops=2 --write_iolog=LOG
		{[]string{"rw", "randwrite", "bs", "4k,12k", "size", "64k", "offset", "256k", "loops", "2"},
			"w64.3 w73.3 w76.3 w70.3 w79.3 w64.3 w73.3 w76.3 w70.3 w79.3"},
		// fio --name=x --filename=F --ioengine=psync --rw=randwrite --bs=4k,8k --size=60k --write_iolog=LOG
		{[]string{"rw", "randwrite", "bs", "4k,8k", "size", "60k"}, "w0.2 w10.2 w12.2 w6.2 w4.2 w14.2 w8.2"},
		// fio --name=x --filename=F --ioengine=psync --rw=randrw --bs=4k,16k --size=200k --offset=800k --write_iolog=LOG
		{[]string{"rw", "randrw", "bs", "4k,16k", "size", "200k", "offset", "800k"},
			"r203.1 r237.1 r242.1 w220.4 r220.1 r243.1 w216.4 w224.4 w240.4 r207.1 w244.4 r232.1 w248.4 r213.1 " +
				"r219.1 r227.1 w232.4 w236.4 r218.1 r230.1 w200.4"},
		// fio's null engine takes the file to end with the region: the
		// I/O past it ends the pass there.
		// fio --name=x --filename=F --ioengine=null --rw=randwrite --bs=4k,12k --size=64k --offset=256k --write_iolog=LOG
		{[]string{"rw", "randwrite", "bs", "4k,12k", "size", "64k", "offset", "256k", "ioengine", "null"}, "w64.3 w73.3 w76.3 w70.3"},
		// fio --name=x --filename=F --ioengine=null --rw=randrw --bs=4k,16k --size=200k --offset=800k --write_iolog=LOG
		{[]string{"rw", "randrw", "bs", "4k,16k", "size", "200k", "offset", "800k", "ioengine", "null"},
			"r203.1 r237.1 r242.1 w220.4 r220.1 r243.1 w216.4 w224.4 w240.4 r207.1 w244.4 r232.1"},
	} {
		j := job(t, c.kv...)
		g := NewGenerator(j, 0, 1<<20)
		var got []string
		var end uint64
		for range len(strings.Fields(c.ios)) + 8 {
			io := g.Next()
			if io.End {
				break
			}
			got = append(got, fioIO(io))
			end = max(end, io.Offset+io.Length-g.Base())
		}
		if s := strings.Join(got, " "); s != c.ios {
			t.Errorf("%s, in a 1 MiB file:\n got %s\nfio %s", strings.Join(c.kv, " "), s, c.ios)
		}
		if r := g.Reach(); r < end {
			t.Errorf("%s: Reach %d, short of the I/O's end at %d", strings.Join(c.kv, " "), r, end)
		}
	}

	// Two files: the one found done is left, the other goes on, and the
	// job ends when both are done.
	// fio --name=x --ioengine=null --rw=randwrite --bs=4k,8k --size=128k --nrfiles=2 --directory=DIR --write_iolog=LOG
	want := "0:w0.2 1:w10.2 0:w12.2 1:w6.2 0:w6.2 1:w12.2 0:w8.2 1:w4.2 0:w14.2 1:w0.2 1:w14.2"
	j := job(t, "rw", "randwrite", "bs", "4k,8k", "size", "128k", "nrfiles", "2")
	c := *j
	c.Size = 64 << 10
	fg := NewFileGen(j, 0, []*Generator{NewGenerator(&c, 0, 64<<10), NewGenerator(&c, 0, 64<<10)})
	var got []string
	for range 20 {
		f, io := fg.Next()
		if io.End {
			break
		}
		got = append(got, fmt.Sprintf("%d:%s", f, fioIO(io)))
	}
	if s := strings.Join(got, " "); s != want {
		t.Errorf("nrfiles=2:\n got %s\nfio %s", s, want)
	}
}

// TestBSSplitAsFio: a bssplit whose percentages do not add up to 100 runs
// in fio 3.33, which iobench refused: fio takes the entries in order of
// percentage (stably), and a draw past their sum takes the last; a
// fraction is dropped (30.5 is 30), a percentage over 100 is 100, 0 is
// an entry left blank, blanks share what the others leave in whole
// percents, and a blank where the others add up to over 100 gets fio's
// unsigned difference, sorted first, so its size is drawn for nearly
// every I/O. Each case's I/Os are all of those fio 3.33 wrote to its
// write_iolog (fioIO's form) for the command in its comment. By counts,
// fio's io_size=64m of bssplit=4k/30:8k/20 was 10857 I/Os of 4k and 2764
// of 8k (80% and 20%), and of 4k/10:8k/20:16k/10, 812, 6187 and 800.
func TestBSSplitAsFio(t *testing.T) {
	for _, c := range []struct{ split, rw, ios string }{
		// fio --name=x --ioengine=null --bs=4k --rw=randread --bssplit=4k/30:16k/20 --size=128k --write_iolog=LOG
		{"4k/30:16k/20", "randread",
			"r1.4 r23.1 r26.1 r15.1 r12.1 r27.4 r13.1 r11.1 r31.1 r5.4 r0.1 r20.1 r9.2 r14.1 r16.4 r21.1 r22.1 r25.1 r24.1"},
		// fio --name=x --ioengine=null --bs=4k --rw=randread --bssplit=4k/10:8k/20:16k/10 --size=128k --write_iolog=LOG
		{"4k/10:8k/20:16k/10", "randread",
			"r1.4 r23.2 r26.2 r15.2 r12.2 r28.4 r14.1 r11.1 r0.1 r5.4 r9.2 r20.2 r17.3 r22.1 r25.1"},
		// fio --name=x --ioengine=null --bs=4k --rw=randread --bssplit=4k/60:16k/60 --size=128k --write_iolog=LOG
		{"4k/60:16k/60", "randread",
			"r1.1 r23.4 r27.4 r15.1 r12.3 r31.1 r16.4 r11.1 r0.1 r2.1 r3.1 r20.1 r4.1 r7.1 r21.1 r22.1 r5.1 r6.1 r8.3"},
		// fio --name=x --ioengine=null --bs=4k --rw=randread --bssplit=4k/30.5:16k/20 --size=128k --write_iolog=LOG
		{"4k/30.5:16k/20", "randread",
			"r1.4 r23.1 r26.1 r15.1 r12.1 r27.4 r13.1 r11.1 r31.1 r5.4 r0.1 r20.1 r9.2 r14.1 r16.4 r21.1 r22.1 r25.1 r24.1"},
		// fio --name=x --ioengine=null --bs=4k --rw=randread --bssplit=4k/:8k/:16k/ --size=128k --write_iolog=LOG
		{"4k/:8k/:16k/", "randread",
			"r1.1 r23.2 r26.4 r15.1 r12.3 r30.1 r16.4 r11.1 r31.1 r2.1 r0.1 r20.1 r3.1 r7.1 r21.1 r22.1 r25.1 r4.3 r8.3"},
		// fio --name=x --ioengine=null --bs=4k --rw=randread --bssplit=4k/60:8k/60:16k/ --size=128k --write_iolog=LOG
		{"4k/60:8k/60:16k/", "randread",
			"r1.4 r23.4 r27.4 r15.4 r12.3 r31.1 r19.4 r11.1 r0.1 r5.4 r9.2"},
		// fio --name=x --ioengine=null --bs=4k --rw=randread --bssplit=4k/150:16k/120 --size=128k --write_iolog=LOG
		{"4k/150:16k/120", "randread",
			"r1.1 r23.1 r26.1 r15.1 r12.1 r27.1 r13.1 r11.1 r29.1 r2.1 r28.1 r20.1 r30.1 r7.1 r14.1 r17.1 r16.1 r25.1 r18.1 r19.1 r0.1 r21.1 r10.1 r22.1 r31.1 r3.1 r4.1 r8.1 r9.1 r5.1 r6.1 r24.1"},
		// fio --name=x --ioengine=null --bs=4k --rw=randread --bssplit=4k/0:16k/50 --size=128k --write_iolog=LOG
		{"4k/0:16k/50", "randread",
			"r1.1 r23.4 r27.4 r15.1 r12.3 r31.1 r16.4 r11.1 r0.1 r2.1 r3.1 r20.1 r4.1 r7.1 r21.1 r22.1 r5.2 r8.3"},
		// fio --name=x --ioengine=null --bs=4k --rw=randrw --bssplit=4k/30:16k/20,8k/10:16k/30 --size=128k --write_iolog=LOG
		{"4k/30:16k/20,8k/10:16k/30", "randrw",
			"r1.4 r23.1 r26.1 w14.4 r12.1 r27.1 w12.2 w10.2 w28.4 r9.3 w26.2 r20.1"},
	} {
		j := job(t, "rw", c.rw, "bssplit", c.split, "size", "128k")
		g := NewGenerator(j, 0, j.Size)
		want := strings.Fields(c.ios)
		var got []string
		for range want {
			got = append(got, fioIO(g.Next()))
		}
		if s := strings.Join(got, " "); s != c.ios {
			t.Errorf("bssplit=%s:\n got %s\nfio %s", c.split, s, c.ios)
		}
	}
	// More than one blank where the others add up to over 100: fio fails
	// ("bssplit percentages add to more than 100%").
	j := NewJob("x")
	if err := j.Set("bssplit", "4k/60:8k/60:16k/:32k/"); !errors.Is(err, ErrBadValue) {
		t.Errorf("two blanks over 100: %v", err)
	}
	// Printed back, a split reads again as the same split.
	for _, v := range []string{"4k/60:8k/60:16k/", "4k/:8k/:16k/", "4k/30.5:16k/20"} {
		a, b := NewJob("a"), NewJob("b")
		if err := a.Set("bssplit", v); err != nil {
			t.Fatal(err)
		}
		printed := optionIndex["bssplit"].get(&a)
		if err := b.Set("bssplit", printed); err != nil || fmt.Sprint(a.BSSplit) != fmt.Sprint(b.BSSplit) {
			t.Errorf("%s: printed %s, read again %v, want %v (%v)", v, printed, b.BSSplit, a.BSSplit, err)
		}
	}
}

// TestFioBlockAlignNoMap: a random pattern whose blockalign differs from
// a direction's smallest block size (bs's third value, the trims', too)
// keeps no random map, as fio 3.33 turns its map off then (its offsets
// repeat); Validate says so. Each case's I/Os are those fio 3.33 wrote to
// its write_iolog for the command in its comment, all of them.
func TestFioBlockAlignNoMap(t *testing.T) {
	for _, c := range []struct {
		kv  []string
		ios string
	}{
		// fio --name=x --ioengine=null --rw=randwrite --bs=8k --blockalign=4k --size=256k --write_iolog=LOG
		{[]string{"rw", "randwrite", "bs", "8k", "blockalign", "4k", "size", "256k"},
			"w3.2 w46.2 w53.2 w29.2 w25.2 w52.2 w23.2 w22.2 w57.2 w4.2 w53.2 w41.2 w58.2 w15.2 w24.2 w35.2 " +
				"w27.2 w50.2 w22.2 w39.2 w0.2 w26.2 w19.2 w43.2 w49.2 w62.2 w50.2 w16.2 w15.2 w62.2 w4.2 w53.2"},
		// fio --name=x --ioengine=null --rw=randrw --bs=4k,8k --blockalign=4k --size=128k --write_iolog=LOG
		{[]string{"rw", "randrw", "bs", "4k,8k", "blockalign", "4k", "size", "128k"},
			"r1.1 r23.1 r26.1 w14.2 r12.1 r26.1 w11.2 w10.2 w28.2 r2.1 w26.2 r20.1 w28.2 r7.1 r12.1 r17.1 " +
				"w13.2 w24.2 r11.1 r19.1 w0.2 w13.2"},
		// fio --name=x --ioengine=null --rw=randread --bs=4k,4k,8k --blockalign=4k --size=64k --write_iolog=LOG
		{[]string{"rw", "randread", "bs", "4k,4k,8k", "blockalign", "4k", "size", "64k"},
			"r0.1 r11.1 r13.1 r7.1 r6.1 r13.1 r6.1 r5.1 r14.1 r1.1 r13.1 r10.1 r14.1 r3.1 r6.1 r8.1"},
	} {
		name := strings.Join(c.kv, " ")
		j := job(t, c.kv...)
		if !j.NoRandomMap || len(j.Adjustments()) != 1 || !strings.Contains(j.Adjustments()[0], "no random map") {
			t.Errorf("%s: norandommap %v, notices %q", name, j.NoRandomMap, j.Adjustments())
		}
		if err := j.Validate(); err != nil || !j.NoRandomMap || len(j.Adjustments()) != 1 {
			t.Errorf("%s: validated again: %v, norandommap %v, notices %q", name, err, j.NoRandomMap, j.Adjustments())
		}
		g := NewGenerator(j, 0, j.Size)
		var got []string
		for range strings.Fields(c.ios) {
			got = append(got, fioIO(g.Next()))
		}
		if s := strings.Join(got, " "); s != c.ios {
			t.Errorf("%s:\n got %s\nfio %s", name, s, c.ios)
		}
	}
	// The map stays where blockalign is every direction's smallest size,
	// for a sequential pattern, and without a notice where norandommap
	// was given.
	for _, kv := range [][]string{
		{"rw", "randwrite", "bs", "8k", "blockalign", "8k"},
		{"rw", "randrw", "bsrange", "4k-16k", "blockalign", "4k"},
		{"rw", "randwrite", "bssplit", "4k/50:8k/50", "blockalign", "4k"},
		{"rw", "write", "bs", "8k", "blockalign", "4k"},
	} {
		if j := job(t, kv...); j.NoRandomMap || len(j.Adjustments()) != 0 {
			t.Errorf("%s: norandommap %v, notices %q", strings.Join(kv, " "), j.NoRandomMap, j.Adjustments())
		}
	}
	if j := job(t, "rw", "randwrite", "bs", "8k", "blockalign", "4k", "norandommap", "1"); !j.NoRandomMap || len(j.Adjustments()) != 0 {
		t.Errorf("norandommap given: norandommap %v, notices %q", j.NoRandomMap, j.Adjustments())
	}
}

// TestFioLoops: loops over one file or several, as fio 3.33 runs them.
// rw=rw, read or write over several files: a file is done where one of
// its directions finds its end (no I/O issued), the others go on, and
// once every file is done the next loop starts them over, the draws from
// their seeds.
// With randrepeat=0 a loop does not seed the states afresh: they go on,
// past the draws of the I/O that found the pass over. Each case's I/Os
// are those fio 3.33 wrote to its write_iolog (ioengine=null) for the
// command in its comment, as many as fio issued (the runner stops the
// job at its bytes), each with its file's number.
func TestFioLoops(t *testing.T) {
	for _, c := range []struct {
		kv    []string
		files int
		ios   string
	}{
		// fio --name=x --ioengine=null --rw=rw --bs=4k,16k --rwmixread=10 --size=256k --nrfiles=2 --loops=2 --write_iolog=LOG
		{[]string{"rw", "rw", "bs", "4k,16k", "rwmixread", "10", "size", "256k", "nrfiles", "2", "loops", "2"}, 2,
			"0:w0.4 1:r0.1 0:w4.4 1:w0.4 0:w8.4 1:r1.1 0:w12.4 1:w4.4 0:w16.4 1:r2.1 0:w20.4 1:w8.4 0:w24.4 1:r3.1 " +
				"0:w28.4 1:w12.4 1:w16.4 1:w20.4 1:w24.4 1:w28.4 0:w0.4 1:r0.1 0:w4.4 1:w0.4 0:w8.4 1:r1.1 0:w12.4 " +
				"1:w4.4 0:w16.4 1:r2.1 0:w20.4 1:w8.4 0:w24.4 1:r3.1 0:w28.4 1:w12.4 1:w16.4 1:w20.4"},
		// A sequential read or write over several files: each file is
		// done at its end, and the next loop draws the sizes from their
		// seeds again.
		// fio --name=x --ioengine=null --rw=read --bsrange=4k-16k --size=128k --nrfiles=2 --loops=2 --write_iolog=LOG
		{[]string{"rw", "read", "bsrange", "4k-16k", "size", "128k", "nrfiles", "2", "loops", "2"}, 2,
			"0:r0.1 1:r0.3 0:r1.4 1:r3.2 0:r5.4 1:r5.1 0:r9.4 1:r6.1 0:r13.1 1:r7.1 0:r14.1 1:r8.2 0:r15.1 1:r10.1 " +
				"1:r11.1 1:r12.3 1:r15.1 0:r0.1 1:r0.3 0:r1.4 1:r3.2 0:r5.4 1:r5.1 0:r9.4 1:r6.1 0:r13.1 1:r7.1 " +
				"0:r14.1 1:r8.2 0:r15.1 1:r10.1 1:r11.1 1:r12.3 1:r15.1"},
		// fio --name=x --ioengine=null --rw=write --bssplit=4k/50:16k/50 --size=96k --nrfiles=3 --loops=2 --write_iolog=LOG
		{[]string{"rw", "write", "bssplit", "4k/50:16k/50", "size", "96k", "nrfiles", "3", "loops", "2"}, 3,
			"0:w0.1 1:w0.1 2:w0.1 0:w1.4 1:w1.4 2:w1.1 0:w5.1 1:w5.1 2:w2.4 0:w6.1 1:w6.1 2:w6.1 0:w7.1 1:w7.1 " +
				"2:w7.1 0:w0.1 1:w0.1 2:w0.1 0:w1.4 1:w1.4 2:w1.1 0:w5.1 1:w5.1 2:w2.4 0:w6.1 1:w6.1 2:w6.1 0:w7.1 " +
				"1:w7.1 2:w7.1"},
		// fio --name=x --ioengine=null --rw=randread --size=64k --loops=2 --randrepeat=0 --randseed=9 --write_iolog=LOG
		{[]string{"rw", "randread", "size", "64k", "loops", "2", "randrepeat", "0", "randseed", "9"}, 1,
			"0:r1.1 0:r9.1 0:r15.1 0:r5.1 0:r0.1 0:r11.1 0:r13.1 0:r2.1 0:r10.1 0:r4.1 0:r3.1 0:r6.1 0:r7.1 0:r8.1 " +
				"0:r12.1 0:r14.1 0:r0.1 0:r1.1 0:r8.1 0:r15.1 0:r5.1 0:r9.1 0:r10.1 0:r2.1 0:r4.1 0:r11.1 0:r12.1 " +
				"0:r13.1 0:r3.1 0:r6.1 0:r7.1 0:r14.1"},
		// fio --name=x --ioengine=null --rw=randrw --size=64k --loops=2 --randrepeat=0 --randseed=9 --write_iolog=LOG
		{[]string{"rw", "randrw", "size", "64k", "loops", "2", "randrepeat", "0", "randseed", "9"}, 1,
			"0:w1.1 0:r9.1 0:w15.1 0:w5.1 0:w0.1 0:w11.1 0:r13.1 0:r2.1 0:r10.1 0:w4.1 0:w3.1 0:r6.1 0:w7.1 0:r8.1 " +
				"0:w12.1 0:w14.1 0:w0.1 0:w1.1 0:w8.1 0:r15.1 0:r5.1 0:w9.1 0:r10.1 0:r2.1 0:r4.1 0:w11.1 0:w12.1 " +
				"0:w13.1 0:w3.1 0:r6.1 0:r7.1 0:w14.1"},
		// fio --name=x --ioengine=null --rw=read --bsrange=4k-16k --size=64k --loops=2 --randrepeat=0 --randseed=9 --write_iolog=LOG
		{[]string{"rw", "read", "bsrange", "4k-16k", "size", "64k", "loops", "2", "randrepeat", "0", "randseed", "9"}, 1,
			"0:r0.4 0:r4.4 0:r8.3 0:r11.3 0:r14.1 0:r15.1 0:r0.1 0:r1.1 0:r2.3 0:r5.3 0:r8.1 0:r9.2 0:r11.2 0:r13.2 0:r15.1"},
		// fio --name=x --ioengine=null --rw=randread --size=64k --nrfiles=2 --loops=2 --randrepeat=0 --randseed=9 --file_service_type=random --write_iolog=LOG
		// (at the loop's end fio draws files until it has tried each)
		{[]string{"rw", "randread", "size", "64k", "nrfiles", "2", "loops", "2", "randrepeat", "0", "randseed", "9", "file_service_type", "random"}, 2,
			"1:r0.1 1:r4.1 0:r7.1 0:r2.1 0:r0.1 1:r5.1 0:r6.1 1:r1.1 1:r6.1 0:r3.1 0:r1.1 1:r2.1 1:r3.1 0:r4.1 " +
				"1:r7.1 0:r5.1 1:r0.1 0:r4.1 0:r7.1 1:r2.1 1:r4.1 1:r5.1 0:r0.1 1:r3.1 1:r6.1 1:r7.1 0:r5.1 1:r1.1 " +
				"0:r3.1 0:r1.1 0:r6.1 0:r2.1"},
		// fio --name=x --ioengine=null --rw=randread --size=64k --nrfiles=2 --loops=2 --randrepeat=0 --randseed=9 --write_iolog=LOG
		{[]string{"rw", "randread", "size", "64k", "nrfiles", "2", "loops", "2", "randrepeat", "0", "randseed", "9"}, 2,
			"0:r0.1 1:r4.1 0:r7.1 1:r2.1 0:r1.1 1:r5.1 0:r6.1 1:r1.1 0:r5.1 1:r3.1 0:r2.1 1:r6.1 0:r3.1 1:r7.1 " +
				"0:r4.1 1:r0.1 0:r0.1 1:r4.1 0:r7.1 1:r2.1 0:r4.1 1:r5.1 0:r1.1 1:r3.1 0:r5.1 1:r6.1 0:r6.1 1:r0.1 " +
				"0:r3.1 1:r7.1 0:r2.1 1:r1.1"},
	} {
		name := strings.Join(c.kv, " ")
		j := job(t, c.kv...)
		f := *j
		f.Size = j.Size / uint64(c.files)
		gens := make([]*Generator, c.files)
		for i := range gens {
			gens[i] = NewGenerator(&f, 0, f.Size)
		}
		fg := NewFileGen(j, 0, gens)
		want := strings.Fields(c.ios)
		var got []string
		for range want {
			k, io := fg.Next()
			if io.End {
				break
			}
			got = append(got, fmt.Sprintf("%d:%s", k, fioIO(io)))
		}
		if s := strings.Join(got, " "); s != c.ios {
			t.Errorf("%s:\n got %s\nfio %s", name, s, c.ios)
		}
	}

	// With PassEnds (the runner's, to read back each loop's writes with
	// verify), the loop's end comes first, as its own IO.
	j := job(t, "rw", "rw", "bs", "4k,16k", "rwmixread", "10", "size", "256k", "nrfiles", "2", "loops", "2")
	f := *j
	f.Size = j.Size / 2
	fg := NewFileGen(j, 0, []*Generator{NewGenerator(&f, 0, f.Size), NewGenerator(&f, 0, f.Size)})
	if !fg.SeqLoops() {
		t.Fatal("rw=rw over 2 files: SeqLoops false")
	}
	fg.PassEnds = true
	var got []string
	for range 22 {
		k, io := fg.Next()
		switch {
		case io.PassEnd:
			got = append(got, "end")
		case io.End:
			t.Fatalf("IO %d: the job's end", len(got))
		default:
			got = append(got, fmt.Sprintf("%d:%s", k, fioIO(io)))
		}
	}
	if s := strings.Join(got[18:], " "); s != "1:w24.4 1:w28.4 end 0:w0.4" {
		t.Errorf("PassEnds: %s, want 1:w24.4 1:w28.4 end 0:w0.4", s)
	}
}

// TestFioSequentialInRandom: the sequential I/O of a random pattern
// (rw=randrw:N, percentage_random) with block sizes that differ by
// direction, where it does not fit before the region's end: fio 3.33
// takes the sequential offset all the same, finding the file done (the
// loop's end) where the I/O would not fit in the file, and issuing it
// there, past the region, where the file is larger than the region. The
// I/Os are those fio 3.33 wrote to its write_iolog, with ioengine=null
// (the file ends with the region) and with ioengine=psync on a 1 MiB
// file made beforehand, for the command in the comment.
func TestFioSequentialInRandom(t *testing.T) {
	for _, c := range []struct {
		kv     []string
		target uint64
		ios    string
	}{
		// fio --name=x --ioengine=null --rw=randrw:2 --bs=4k,12k --size=128k --write_iolog=LOG
		{[]string{"rw", "randrw:2", "bs", "4k,12k", "size", "128k"}, 128 << 10,
			"r1.1 r2.1 r23.1 w0.3 r26.1 r27.1 w12.3 w15.3 w15.3 r28.1 w24.3 r29.1 w9.3 r30.1 r11.1 r12.1 w27.3"},
		// fio --name=x --filename=F --ioengine=psync --rw=randrw:2 --bs=4k,12k --size=128k --write_iolog=LOG
		{[]string{"rw", "randrw:2", "bs", "4k,12k", "size", "128k"}, 1 << 20,
			"r1.1 r2.1 r23.1 w0.3 r26.1 r27.1 w12.3 w15.3 w15.3 r28.1 w24.3 r29.1 w9.3 r30.1 r11.1 r12.1 w27.3 w30.3"},
		// fio --name=x --ioengine=null --rw=randwrite --bs=4k,12k --size=64k --percentage_random=50 --loops=3 --write_iolog=LOG
		{[]string{"rw", "randwrite", "bs", "4k,12k", "size", "64k", "percentage_random", "50", "loops", "3"}, 64 << 10,
			"w0.3 w3.3 w6.3 w9.3 w12.3 w12.3 w0.3 w3.3 w6.3 w9.3 w12.3 w12.3 w0.3 w3.3 w6.3 w9.3"},
		// fio --name=x --filename=F --ioengine=psync --rw=randwrite --bs=4k,12k --size=64k --percentage_random=50 --loops=3 --write_iolog=LOG
		{[]string{"rw", "randwrite", "bs", "4k,12k", "size", "64k", "percentage_random", "50", "loops", "3"}, 1 << 20,
			"w0.3 w3.3 w6.3 w9.3 w12.3 w12.3 w15.3 w6.3 w15.3 w0.3 w3.3 w6.3 w9.3 w12.3 w12.3 w15.3"},
	} {
		name := fmt.Sprintf("%s over %d bytes", strings.Join(c.kv, " "), c.target)
		g := NewGenerator(job(t, c.kv...), 0, c.target)
		var got []string
		for range strings.Fields(c.ios) {
			io := g.Next()
			if io.End {
				break
			}
			got = append(got, fioIO(io))
		}
		if io := g.Next(); !io.End && c.target == 128<<10 {
			got = append(got, fioIO(io)) // fio found the file done there
		}
		if s := strings.Join(got, " "); s != c.ios {
			t.Errorf("%s:\n got %s\nfio %s", name, s, c.ios)
		}
	}
}

package workloads

import (
	"slices"
	"strings"
	"testing"
)

// TestAtomicValidate: atomic=1 on a writing job is refused where the job
// alone rules atomic writes out (buffered I/O, a write size that is no
// power of two, offsets that are not multiples of the write size, a
// mapper other than linear, a replayed log), and taken where every write
// is a power of two at a multiple of its length; a job that only reads
// takes it with no effect, as fio does.
func TestAtomicValidate(t *testing.T) {
	for _, c := range []struct {
		opts [][2]string
		want string // "" for taken, else part of the refusal
	}{
		{[][2]string{{"rw", "randwrite"}, {"bs", "4k"}}, ""},
		{[][2]string{{"rw", "write"}, {"bs", "16k"}, {"offset", "64k"}}, ""},
		{[][2]string{{"rw", "randrw"}, {"bs", "4k,16k"}, {"blockalign", "16k"}}, ""},
		{[][2]string{{"rw", "randwrite"}, {"bssplit", "4k/50:8k/50"}, {"blockalign", "8k"}}, ""},
		{[][2]string{{"rw", "randwrite"}, {"bsrange", "4k-8k"}, {"blockalign", "8k"}}, ""},
		{[][2]string{{"rw", "randread"}, {"bs", "12k"}, {"direct", "0"}}, ""},
		{[][2]string{{"rw", "randwrite"}, {"direct", "0"}}, "with direct=0"},
		{[][2]string{{"rw", "randwrite"}, {"bs", "12k"}}, "12k is not a power of two"},
		{[][2]string{{"rw", "randwrite"}, {"bsrange", "4k-16k"}, {"blockalign", "16k"}}, "12k is not a power of two"},
		{[][2]string{{"rw", "randrw"}, {"bs", "4k,16k"}}, "set blockalign=16k"},
		{[][2]string{{"rw", "write"}, {"bssplit", "4k/50:8k/50"}}, "sequential writes of several sizes"},
		{[][2]string{{"rw", "randwrite"}, {"bssplit", "4k/50:8k/50"}, {"blockalign", "8k"}, {"percentage_random", "50"}}, "sequential writes of several sizes"},
		{[][2]string{{"rw", "write"}, {"bs", "8k"}, {"offset", "4k"}}, "offset=4096"},
		{[][2]string{{"rw", "write:4k"}, {"bs", "8k"}}, "the skip of 4096 bytes"},
		{[][2]string{{"rw", "randwrite"}, {"mapper", "cow"}}, "mapper=cow"},
		{[][2]string{{"rw", "randwrite"}, {"bs", "8k"}, {"offset_increment", "4k"}}, "offset_increment=4096"},
		{[][2]string{{"rw", "randwrite"}, {"read_iolog", "x.log"}}, "with read_iolog"},
	} {
		j := NewJob("x")
		if err := j.Set("atomic", "1"); err != nil {
			t.Fatal(err)
		}
		for _, kv := range c.opts {
			if err := j.Set(kv[0], kv[1]); err != nil {
				t.Fatalf("%v: %s=%s: %v", c.opts, kv[0], kv[1], err)
			}
		}
		err := j.Validate()
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%v: %v, want it taken", c.opts, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "atomic=1")):
			t.Errorf("%v: %v, want a refusal saying %q", c.opts, err, c.want)
		}
	}
}

// TestAtomicWriteSizes: the write sizes atomic=1 checks: bs's, bssplit's,
// a range's multiples (up to the first that is no power of two), and with
// bs_is_seq_rand the read sizes too.
func TestAtomicWriteSizes(t *testing.T) {
	for _, c := range []struct {
		opts [][2]string
		want []uint64
	}{
		{[][2]string{{"bs", "4k,16k"}}, []uint64{16 << 10}},
		{[][2]string{{"bssplit", "4k/50:32k/50"}}, []uint64{4 << 10, 32 << 10}},
		{[][2]string{{"bsrange", "4k-64k"}}, []uint64{4 << 10, 8 << 10, 12 << 10}},
		{[][2]string{{"bs", "4k,16k"}, {"bs_is_seq_rand", "1"}}, []uint64{4 << 10, 16 << 10}},
	} {
		j := NewJob("x")
		for _, kv := range c.opts {
			if err := j.Set(kv[0], kv[1]); err != nil {
				t.Fatal(err)
			}
		}
		if got := j.AtomicWriteSizes(); !slices.Equal(got, c.want) {
			t.Errorf("%v: %v, want %v", c.opts, got, c.want)
		}
	}
}

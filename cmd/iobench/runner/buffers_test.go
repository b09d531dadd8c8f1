package runner

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/iobench/iobench/device/looptest"
)

// writtenBlocks runs a 4 MiB sequential 4k write with args on a fresh
// loop device and returns what the device holds there, in 4 KiB blocks.
func writtenBlocks(t *testing.T, args ...string) [][]byte {
	t.Helper()
	l := looptest.New(t, 64<<20, looptest.Options{})
	jsonRunOf(t, append([]string{"--name=w", "--rw=write", "--bs=4k", "--size=4m", "--filename=" + l.Path, "--force"}, args...)...)
	data, err := os.ReadFile(l.Backing)
	if err != nil {
		t.Fatal(err)
	}
	var blocks [][]byte
	for i := 0; i < 4<<20; i += 4096 {
		blocks = append(blocks, data[i:i+4096])
	}
	return blocks
}

func distinct(blocks [][]byte) int {
	seen := map[string]bool{}
	for _, b := range blocks {
		seen[string(b)] = true
	}
	return len(seen)
}

// TestBufferContents: what the write buffer options put on the device.
func TestBufferContents(t *testing.T) {
	zero := make([]byte, 4096)
	for _, c := range []struct {
		args  []string
		check func([][]byte) string
	}{
		{nil, func(b [][]byte) string { // random, scrambled per write
			if distinct(b) != len(b) || bytes.Equal(b[0], zero) {
				return "blocks repeat or are zero"
			}
			return ""
		}},
		{[]string{"--scramble_buffers=0"}, func(b [][]byte) string { // the same few buffers again and again
			if distinct(b) > 1 {
				return "more distinct blocks than the queue holds buffers"
			}
			return ""
		}},
		{[]string{"--refill_buffers"}, func(b [][]byte) string {
			if distinct(b) != len(b) {
				return "blocks repeat"
			}
			return ""
		}},
		{[]string{"--zero_buffers"}, func(b [][]byte) string {
			for _, x := range b {
				if !bytes.Equal(x, zero) {
					return "a block is not zero"
				}
			}
			return ""
		}},
		{[]string{"--buffer_pattern=0xabcd"}, func(b [][]byte) string {
			if !bytes.Equal(b[7], bytes.Repeat([]byte{0xab, 0xcd}, 2048)) {
				return "not the pattern"
			}
			return ""
		}},
		{[]string{"--dedupe_percentage=50"}, func(b [][]byte) string {
			if d := distinct(b); d < 1024*35/100 || d > 1024*65/100 {
				return "distinct blocks not about half"
			}
			return ""
		}},
		{[]string{"--dedupe_percentage=50", "--dedupe_mode=repeat"}, func(b [][]byte) string {
			// As fio's repeat mode: a duplicate is the last fresh write's data.
			seen := map[string]bool{}
			var last []byte
			for i, x := range b {
				switch {
				case !seen[string(x)]:
					seen[string(x)], last = true, x
				case !bytes.Equal(x, last):
					return fmt.Sprintf("block %d repeats an older write than the last fresh one", i)
				}
			}
			return ""
		}},
		{[]string{"--dedupe_percentage=50", "--dedupe_mode=working_set", "--dedupe_working_set_percentage=5"}, func(b [][]byte) string {
			// Duplicates come from the first fresh writes, 5% of the
			// job's 1024 blocks (51), several of them.
			var fresh []string
			seen, from := map[string]bool{}, map[string]bool{}
			for i, x := range b {
				if !seen[string(x)] {
					seen[string(x)] = true
					fresh = append(fresh, string(x))
					continue
				}
				if k := slices.Index(fresh, string(x)); k < 0 || k >= 51 {
					return fmt.Sprintf("block %d repeats fresh write %d, outside the working set of 51", i, k)
				}
				from[string(x)] = true
			}
			if d := distinct(b); d < 1024*35/100 || d > 1024*65/100 || len(from) < 10 {
				return fmt.Sprintf("%d distinct blocks, duplicates of %d working-set blocks", d, len(from))
			}
			return ""
		}},
		{[]string{"--buffer_compress_percentage=50", "--refill_buffers"}, func(b [][]byte) string {
			var z bytes.Buffer
			w := gzip.NewWriter(&z)
			w.Write(bytes.Join(b, nil))
			w.Close()
			if r := float64(z.Len()) / (4 << 20); r < 0.45 || r > 0.6 {
				return "gzip ratio not about 0.5"
			}
			return ""
		}},
	} {
		if msg := c.check(writtenBlocks(t, c.args...)); msg != "" {
			t.Errorf("%v: %s", c.args, msg)
		}
	}
}

// TestDedupeGlobal: with dedupe_global the jobs that set it share where
// duplicates come from, so one job's duplicates repeat blocks the other
// wrote; without it no block of one job's file is in the other's.
func TestDedupeGlobal(t *testing.T) {
	for _, global := range []bool{false, true} {
		dir := t.TempDir()
		a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
		args := []string{"--rw=write", "--bs=4k", "--size=4m", "--dedupe_percentage=50", "--dedupe_mode=working_set",
			"--dedupe_working_set_percentage=5", "--dedupe_global=" + map[bool]string{false: "0", true: "1"}[global]}
		jsonRunOf(t, append(append(append([]string{}, args...), "--name=a", "--filename="+a), append([]string{"--name=b", "--filename=" + b}, args...)...)...)
		blocks := func(path string) map[string]bool {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			out := map[string]bool{}
			for i := 0; i+4096 <= len(data); i += 4096 {
				out[string(data[i:i+4096])] = true
			}
			return out
		}
		inA, shared := blocks(a), 0
		for x := range blocks(b) {
			if inA[x] {
				shared++
			}
		}
		if global && shared == 0 || !global && shared != 0 {
			t.Errorf("dedupe_global=%v: %d distinct blocks of b's file are in a's", global, shared)
		}
	}
}

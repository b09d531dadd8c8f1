package runner

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/iobench/iobench/engine"
)

// issuedIOs runs args on files in directory dir and returns what
// each clone submitted, in order ("file offset length r|w"), the JSON's
// I/O counts and bytes per direction, and how many batches went out from
// loopPlain.
func issuedIOs(t *testing.T, dir string, args []string) (map[int][]string, string, int) {
	t.Helper()
	var mu sync.Mutex
	ios := map[int][]string{}
	plain := 0
	submitHook = func(clone int, p bool, batch []*engine.Request) {
		mu.Lock()
		defer mu.Unlock()
		if p {
			plain++
		}
		for _, r := range batch {
			d := "r"
			if r.Write {
				d = "w"
			}
			ios[clone] = append(ios[clone], fmt.Sprintf("%s %d %d %s", r.File.Name(), r.Offset, len(r.Buf), d))
		}
	}
	defer func() { submitHook = nil }()
	code, out, errOut := run(t, append(args, "--directory="+dir, "--direct=0", "--output-format=json")...)
	if code != 0 {
		t.Fatalf("%v: exit %d: %s", args, code, errOut)
	}
	var doc fioJSON
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("%v: JSON: %v", args, err)
	}
	var sum string
	for _, j := range doc.Jobs {
		sum += fmt.Sprintf("%s: read %d/%d write %d/%d error %d; ", j.JobName,
			j.Read.TotalIOs, j.Read.IOBytes, j.Write.TotalIOs, j.Write.IOBytes, j.Error)
	}
	return ios, sum, plain
}

// TestPlainLoopMatchesGeneral runs randomized jobs that loopPlain serves
// through it and through loop's general path, and compares the I/O each
// clone submitted, in order, and the counts the JSON reports. Jobs with an
// option loopPlain does not serve must never take it.
func TestPlainLoopMatchesGeneral(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, uint64(len(t.Name()))))
	pick := func(s ...string) string { return s[rng.IntN(len(s))] }
	var jobs [][]string
	for range 24 {
		a := []string{"--name=p", "--rw=" + pick("read", "write", "randread", "randwrite", "randrw", "rw"),
			"--size=" + pick("256k", "512k", "1m"),
			"--bs=" + pick("4k", "8k", "16k"),
			fmt.Sprintf("--iodepth=%d", 1+rng.IntN(16))}
		for _, opt := range [][]string{
			{"--nrfiles=2", "--nrfiles=3"},
			{"--numjobs=2"},
			{"--loops=2"},
			{"--norandommap"},
			{"--rwmixread=30", "--rwmixread=80"},
			{"--bssplit=4k/50:16k/50", "--bsrange=4k-32k"},
			{"--iodepth_batch_complete_min=2", "--iodepth_batch_complete_max=3"},
			{"--number_ios=37", "--io_size=384k"},
			{"--random_generator=lfsr", "--random_generator=tausworthe64"},
			{"--percentage_random=50"},
			{"--random_distribution=zipf:1.2", "--random_distribution=pareto:0.3", "--random_distribution=normal:20"},
		} {
			if rng.IntN(3) == 0 {
				a = append(a, pick(opt...))
			}
		}
		jobs = append(jobs, a)
	}
	for _, a := range jobs {
		// The same directory for both: zipf, pareto and normal are
		// seeded from the file names, as fio's are.
		dir := t.TempDir()
		ios, sum, plain := issuedIOs(t, dir, a)
		if plain == 0 {
			t.Errorf("%v: loopPlain did not serve the job", a)
		}
		plainLoopOff = true
		gios, gsum, gplain := issuedIOs(t, dir, a)
		plainLoopOff = false
		if gplain != 0 {
			t.Errorf("%v: loopPlain ran with plainLoopOff", a)
		}
		if sum != gsum {
			t.Errorf("%v: counts: plain %s, general %s", a, sum, gsum)
		}
		for c := range max(len(ios), len(gios)) {
			if !slices.Equal(ios[c], gios[c]) {
				t.Errorf("%v: clone %d: plain submitted %d I/Os, general %d, first difference at %d",
					a, c, len(ios[c]), len(gios[c]), firstDiff(ios[c], gios[c]))
			}
		}
	}
	for _, a := range [][]string{
		{"--rate_iops=20000"},
		{"--thinktime=10us"},
		{"--verify=crc32c"},
		{"--serialize_overlap=1", "--iodepth=4"},
		{"--fsync=3"},
		{"--iodepth_batch_submit=2"},
		{"--iodepth=8", "--iodepth_low=2"},
		{"--cmdprio_percentage=50", "--prioclass=1", "--cmdprio_class=1"},
		{"--write_iolog=" + t.TempDir() + "/log"},
		{"--rw=trim"},
		{"--thinkcycles=10"},
		{"--force_async=2"},
		{"--max_latency=10s"},
	} {
		args := append([]string{"--name=n", "--rw=randwrite", "--size=256k", "--bs=4k"}, a...)
		if _, _, plain := issuedIOs(t, t.TempDir(), args); plain != 0 {
			t.Errorf("%v: loopPlain served a job it does not serve", a)
		}
	}
}

func firstDiff(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

package runner

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestSubstitutedEngineRuns: a job naming fio's libaio or psync runs on
// io_uring, libaio's at the job's depth and psync's one I/O at a time
// (fio caps a synchronous engine's depth), with a notice; the header
// names the engine that ran, the JSON's job options the one given.
func TestSubstitutedEngineRuns(t *testing.T) {
	dir := shmDir(t)
	for _, c := range []struct {
		engine    string
		header    string
		notice    string
		wantDepth int
	}{
		{"libaio", "ioengine=io_uring, iodepth=8", "where fio runs libaio", 8},
		{"psync", "ioengine=io_uring, iodepth=1", "iodepth=8 lowered to 1", 1},
	} {
		args := []string{"--name=e", "--filename=" + filepath.Join(dir, c.engine), "--size=8m", "--rw=randread",
			"--bs=4k", "--direct=1", "--iodepth=8", "--ioengine=" + c.engine}
		code, out, errs := run(t, args...)
		if code != 0 || !strings.Contains(out, c.header) || !strings.Contains(errs, c.notice) {
			t.Fatalf("%s: exit %d, stderr %q, header want %q in:\n%s", c.engine, code, errs, c.header, out)
		}
		code, out, errs = run(t, append(args, "--output-format=json")...)
		if code != 0 {
			t.Fatalf("%s json: exit %d: %s", c.engine, code, errs)
		}
		var doc struct {
			Jobs []struct {
				Options map[string]string  `json:"job options"`
				Levels  map[string]float64 `json:"iodepth_level"`
				Read    struct {
					TotalIOs int64 `json:"total_ios"`
				} `json:"read"`
			} `json:"jobs"`
		}
		if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Jobs) != 1 {
			t.Fatalf("%s: %v: %s", c.engine, err, out)
		}
		j := doc.Jobs[0]
		if j.Options["ioengine"] != c.engine || j.Read.TotalIOs != 2048 {
			t.Errorf("%s: job options %v, %d reads; want ioengine=%s, 2048 reads", c.engine, j.Options, j.Read.TotalIOs, c.engine)
		}
		// At the job's depth some I/O goes out with 8 in flight, and less
		// than half alone: a tmpfs file's reads often complete within
		// their submission, so the depth at submission dips (10% of the
		// I/O at depth 1 and 50% at 4-7 in one run under -race), where
		// a depth capped at 1 puts all of it there.
		if alone := j.Levels["1"]; c.wantDepth == 1 && alone != 100 || c.wantDepth > 1 && (alone >= 50 || j.Levels["8"] == 0) {
			t.Errorf("%s: iodepth_level %v; want the I/O at depth %d", c.engine, j.Levels, c.wantDepth)
		}
	}
}

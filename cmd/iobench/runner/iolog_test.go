package runner

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestWriteIOLogReplaysInFio: write_iolog records every issued read,
// write and flush in fio's iolog version 3, times rising from the job's
// start, with each file's add, open and close; fio replays the log
// (read_iolog) with as many reads, writes and syncs as iobench issued.
func TestWriteIOLogReplaysInFio(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "t.img")
	if err := os.WriteFile(target, make([]byte, 8<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "io.log")
	code, out, errOut := run(t, "--name=w", "--filename="+target, "--rw=randrw", "--bsrange=4k-16k", "--size=8m",
		"--number_ios=300", "--iodepth=4", "--fsync=10", "--write_iolog="+logPath, "--output-format=json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var doc struct {
		Jobs []struct {
			Read, Write struct {
				TotalIOs uint64 `json:"total_ios"`
			}
			Sync struct {
				TotalIOs uint64 `json:"total_ios"`
			} `json:"sync"`
		} `json:"jobs"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if lines[0] != "fio version 3 iolog" {
		t.Fatalf("header %q", lines[0])
	}
	counts := map[string]uint64{}
	last := int64(-1)
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		ts, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || ts < last || f[1] != target || len(f) != 3 && len(f) != 5 {
			t.Fatalf("line %q (after time %d)", l, last)
		}
		last = ts
		counts[f[2]]++
		if len(f) == 5 && (f[2] == "read" || f[2] == "write") {
			off, _ := strconv.ParseUint(f[3], 10, 64)
			n, _ := strconv.ParseUint(f[4], 10, 64)
			if off%4096 != 0 || n < 4096 || n > 16384 || off+n > 8<<20 {
				t.Errorf("line %q: not a 4k-16k I/O within the file", l)
			}
		}
	}
	j := doc.Jobs[0]
	if counts["add"] != 1 || counts["open"] != 1 || counts["close"] != 1 || counts["read"] != j.Read.TotalIOs ||
		counts["write"] != j.Write.TotalIOs || counts["sync"] != j.Sync.TotalIOs || counts["read"]+counts["write"] != 300 {
		t.Fatalf("log counts %v, want the job's %d reads, %d writes, %d syncs", counts, j.Read.TotalIOs, j.Write.TotalIOs, j.Sync.TotalIOs)
	}

	fio, err := exec.LookPath("fio")
	if err != nil {
		t.Skip("fio not installed (make deps installs it)")
	}
	cmd := exec.Command(fio, "--name=r", "--filename="+target, "--ioengine=io_uring", "--direct=1", "--read_iolog="+logPath,
		"--replay_no_stall=1", "--output-format=json")
	fout, err := cmd.Output()
	if err != nil {
		t.Fatalf("fio read_iolog: %v\n%s", err, fout)
	}
	var fdoc struct {
		Jobs []struct {
			Error       int `json:"error"`
			Read, Write struct {
				TotalIOs uint64 `json:"total_ios"`
			}
		} `json:"jobs"`
	}
	if err := json.Unmarshal(fout[strings.Index(string(fout), "{"):], &fdoc); err != nil {
		t.Fatal(err)
	}
	if f := fdoc.Jobs[0]; f.Error != 0 || f.Read.TotalIOs != j.Read.TotalIOs || f.Write.TotalIOs != j.Write.TotalIOs {
		t.Errorf("fio replayed %d reads and %d writes (error %d), iobench issued %d and %d", f.Read.TotalIOs, f.Write.TotalIOs, f.Error,
			j.Read.TotalIOs, j.Write.TotalIOs)
	}
}

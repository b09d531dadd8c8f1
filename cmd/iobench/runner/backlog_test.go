package runner

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestVerifyBacklogBatch: verify_backlog_batch reads back that many of
// the backlogged writes at each check, oldest first, and a batch larger
// than the backlog reads back the writes that follow, one by one; the
// sequences are fio 3.33's write_iolog of the same job (14 sequential 4
// KiB writes, verify_backlog=4, ioengine=sync), and with fio installed
// its log of the job is compared too.
func TestVerifyBacklogBatch(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "f")
	if err := os.WriteFile(f, make([]byte, 64<<10), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ batch, want string }{
		{"1", "w0 w1 w2 w3 r0 w4 r1 w5 r2 w6 r3 w7 r4 w8 r5 w9 r6 w10 r7 w11 r8 w12 r9 w13 r10 r11 r12 r13"},
		{"2", "w0 w1 w2 w3 r0 r1 w4 w5 r2 r3 w6 w7 r4 r5 w8 w9 r6 r7 w10 w11 r8 r9 w12 w13 r10 r11 r12 r13"},
		{"4", "w0 w1 w2 w3 r0 r1 r2 r3 w4 w5 w6 w7 r4 r5 r6 r7 w8 w9 w10 w11 r8 r9 r10 r11 w12 w13 r12 r13"},
		{"6", "w0 w1 w2 w3 r0 r1 r2 r3 w4 r4 w5 r5 w6 w7 w8 w9 r6 r7 r8 r9 w10 r10 w11 r11 w12 w13 r12 r13"},
		{"12", "w0 w1 w2 w3 r0 r1 r2 r3 w4 r4 w5 r5 w6 r6 w7 r7 w8 r8 w9 r9 w10 r10 w11 r11 w12 w13 r12 r13"},
	} {
		logPath := filepath.Join(dir, "b"+c.batch+".log")
		opts := []string{"filename=" + f, "rw=write", "bs=4k", "size=56k", "verify=crc32c", "verify_backlog=4",
			"verify_backlog_batch=" + c.batch, "write_iolog=" + logPath}
		args := []string{"--name=b", "--output-format=terse"}
		for _, o := range opts {
			args = append(args, "--"+o)
		}
		code, _, errs := run(t, args...)
		got := backlogSeq(t, logPath)
		if code != 0 || got != c.want {
			t.Errorf("verify_backlog_batch=%s: exit %d (%s)\n got %s\nwant %s", c.batch, code, errs, got, c.want)
		}
		job := writeJob(t, dir, "b"+c.batch+".fio", "[b]\nioengine=sync\nverify_state_save=0\n"+strings.Join(opts, "\n")+"\n")
		fioIOLog(t, job, logPath)
		if fio := backlogSeq(t, logPath); fio != c.want {
			t.Errorf("verify_backlog_batch=%s: fio's log\n got %s\nwant %s", c.batch, fio, c.want)
		}
	}
}

// backlogSeq is a write_iolog log's reads and writes as "r0 w1 ...",
// offsets in 4 KiB blocks.
func backlogSeq(t *testing.T, logPath string) string {
	t.Helper()
	var seq []string
	for _, l := range iologIOs(t, logPath) {
		f := strings.Fields(l)
		off, _ := strconv.ParseUint(f[2], 10, 64)
		seq = append(seq, fmt.Sprintf("%c%d", f[1][0], off/4096))
	}
	return strings.Join(seq, " ")
}

// TestVerifyReadsLogged: the reads of a verify, verify_backlog's
// read-back and the pass after the writes, are logged as fio 3.33 logs
// the reads of its verify list: each has its entry in every log without
// log_avg_msec, at the time it completed; with it, their latencies have
// windows of their own across the reads, and the bandwidth and IOPS logs
// and samples leave them out (fio's rates count the workload's I/O).
// Each I/O takes 20 ms (a delaying ring), so 16 writes at depth 1 take
// about 320 ms and so do the 16 reads back. With fio installed, its logs
// of the same jobs (without the delay) have the same shape. A
// verify_only job's reads are logged as the pass's are (fio also logs
// the writes it replays without writing them, which iobench does not).
func TestVerifyReadsLogged(t *testing.T) {
	useDelayURing(t, 20*time.Millisecond)
	dir := t.TempDir()
	target := filepath.Join(dir, "t.img")
	if err := os.WriteFile(target, make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	_, fioErr := exec.LookPath("fio")
	// args is the job of opts as a command line.
	args := func(opts []string) []string {
		a := []string{"--name=b", "--output-format=json"}
		for _, o := range opts {
			a = append(a, "--"+o)
		}
		return a
	}
	base := []string{"filename=" + target, "rw=write", "bs=4k", "iodepth=1", "size=64k", "verify=crc32c"}
	for _, c := range []struct{ name, backlog, only string }{{"read-back", "16", "0"}, {"pass", "0", "0"}, {"verify_only", "0", "1"}} {
		for _, avg := range []string{"50", "0"} {
			if c.only == "1" {
				// The writes verify_only reads back, without logs.
				if code, _, errs := run(t, args(append(base, "do_verify=0"))...); code != 0 {
					t.Fatalf("writing for verify_only: exit %d: %s", code, errs)
				}
			}
			opts := append(slices.Clone(base), "verify_backlog="+c.backlog, "verify_only="+c.only,
				"write_iops_log="+filepath.Join(dir, "b"), "write_lat_log="+filepath.Join(dir, "b"), "log_avg_msec="+avg, "iopsavgtime=50")
			code, out, errs := run(t, args(opts)...)
			if code != 0 {
				t.Fatalf("%s, log_avg_msec=%s: exit %d: %s", c.name, avg, code, errs)
			}
			job := decodeAll(t, out)[0]["jobs"].([]any)[0].(map[string]any)
			if n := num(t, job, "read", "total_ios"); n != 16 {
				t.Fatalf("%s: %v reads, want the 16 writes read back", c.name, n)
			}
			what := fmt.Sprintf("%s, log_avg_msec=%s", c.name, avg)
			iops, lat := logReads(t, dir, "b_iops.1.log"), logReads(t, dir, "b_lat.1.log")
			if avg == "0" {
				if len(iops) != 16 || len(lat) != 16 {
					t.Errorf("%s: %d read entries in the IOPS log and %d in the latency log, want one per read (16)", what, len(iops), len(lat))
				}
				if len(lat) > 1 && lat[len(lat)-1]-lat[0] < 200 {
					t.Errorf("%s: read entries at %v ms, want them at their completions, over about 300 ms", what, lat)
				}
			} else {
				if len(iops) != 0 {
					t.Errorf("%s: read windows in the IOPS log at %v ms, want none: the rates count the workload's I/O", what, iops)
				}
				if len(lat) < 3 {
					t.Errorf("%s: read windows in the latency log at %v ms, want at least 3 over the 320 ms of reads", what, lat)
				}
				if n := num(t, job, "read", "iops_samples"); n != 0 {
					t.Errorf("%s: %v read IOPS samples, want none", what, n)
				}
			}
			if fioErr != nil {
				continue
			}
			fio := func(opts []string) {
				jobFile := writeJob(t, dir, "b.fio", "[b]\nverify_state_save=0\n"+strings.Join(opts, "\n")+"\n")
				if out, err := exec.Command("fio", "--output-format=terse", jobFile).CombinedOutput(); err != nil {
					t.Fatalf("fio %s: %v\n%s", jobFile, err, out)
				}
			}
			if c.only == "1" {
				fio(append(base, "do_verify=0")) // fio's own verify headers
			}
			fio(opts)
			fiops, flat := logReads(t, dir, "b_iops.1.log"), logReads(t, dir, "b_lat.1.log")
			if avg == "0" && (len(fiops) != 16 || len(flat) != 16) || avg != "0" && (len(fiops) != 0 || len(flat) == 0) {
				t.Errorf("%s: fio's logs have read entries at %v (IOPS) and %v (latency)", what, fiops, flat)
			}
		}
	}
}

// logReads returns the times (ms) of the read entries of the log name in
// dir, and removes the log.
func logReads(t *testing.T, dir, name string) []int {
	t.Helper()
	p := filepath.Join(dir, name)
	var times []int
	for _, f := range readLog(t, p) {
		if f[2] == "0" {
			ms, err := strconv.Atoi(f[0])
			if err != nil {
				t.Fatalf("%s: %q", name, f)
			}
			times = append(times, ms)
		}
	}
	os.Remove(p)
	return times
}

// TestReadBackRuntime: in a job that only writes, the reads' runtime is
// the time of the reads fio makes in its verify phase: what
// verify_backlog held when the writes ended, read back then; the
// read-backs among the writes count in the writes' runtime, as in fio's
// (fio 3.33, rw=write, 256 MiB at depth 4, verify_backlog=4096 on a
// loop device: reads 25 ms, writes 1016 ms). Each I/O takes 20 ms (a
// delaying ring): 16 writes (320 ms) with 8 read back among them (160
// ms) and the last 8 after them (160 ms).
func TestReadBackRuntime(t *testing.T) {
	useDelayURing(t, 20*time.Millisecond)
	target := filepath.Join(t.TempDir(), "t.img")
	if err := os.WriteFile(target, make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := run(t, "--name=b", "--filename="+target, "--rw=write", "--bs=4k", "--iodepth=1", "--size=64k",
		"--verify=crc32c", "--verify_backlog=8", "--output-format=json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	job := decodeAll(t, out)[0]["jobs"].([]any)[0].(map[string]any)
	reads, writes := num(t, job, "read", "runtime"), num(t, job, "write", "runtime")
	if n := num(t, job, "read", "total_ios"); n != 16 {
		t.Fatalf("%v reads, want the 16 writes read back", n)
	}
	if reads < 150 || reads > writes/2 || writes < 450 {
		t.Errorf("runtime: reads %v ms, writes %v ms; want about 160 (the last 8 read back) and 480 (the writes and the 8 read back among them)", reads, writes)
	}
}

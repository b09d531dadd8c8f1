package runner

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
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

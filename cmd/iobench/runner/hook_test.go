package runner

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestExecPrerunPostrun: exec_prerun runs before the job's I/O and
// exec_postrun after it, each with its whole output in JOBNAME.WHICH.txt;
// a failing prerun calls the job off before any I/O (err=125, exit 1)
// and skips its postrun; a failing postrun is reported on stderr.
func TestExecPrerunPostrun(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	target := filepath.Join(dir, "t.img")
	if err := os.WriteFile(target, make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	// Each command records the target's first bytes: zeros before the
	// job's writes, the job's pattern after them.
	peek := "od -An -tx1 -N4 " + target + " | tr -d ' \\n'"
	code, _, errOut := run(t, "--name=hk", "--filename="+target, "--rw=write", "--bs=4k", "--size=64k", "--buffer_pattern=0xab",
		"--exec_prerun=echo out; echo err >&2; "+peek+" > pre.txt", "--exec_postrun="+peek+" > post.txt", "--output-format=terse")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for file, want := range map[string]string{"pre.txt": "00000000", "post.txt": "abababab", "hk.prerun.txt": "out\nerr\n", "hk.postrun.txt": ""} {
		if b, err := os.ReadFile(file); err != nil || string(b) != want {
			t.Errorf("%s holds %q (%v), want %q", file, b, err, want)
		}
	}
	if !strings.Contains(errOut, "exec_prerun: saving its output in hk.prerun.txt") {
		t.Errorf("stderr does not say where the prerun's output is: %s", errOut)
	}

	os.Remove("post.txt")
	code, out, errOut := run(t, "--name=hk", "--filename="+target, "--rw=write", "--bs=4k", "--size=64k", "--buffer_pattern=0xcd",
		"--exec_prerun=echo no; exit 3", "--exec_postrun=touch post.txt", "--output-format=normal")
	if code != 1 || !strings.Contains(out, `err=125 (exec_prerun "echo no; exit 3": the command failed: exit status 3`) {
		t.Errorf("a failing prerun: exit %d, report:\n%s\nstderr: %s", code, out, errOut)
	}
	if b, _ := os.ReadFile(target); b[0] != 0xab {
		t.Errorf("a failing prerun: the job wrote (first byte %#x)", b[0])
	}
	if _, err := os.Stat("post.txt"); err == nil {
		t.Error("a failing prerun: the postrun ran")
	}
	if b, _ := os.ReadFile("hk.prerun.txt"); string(b) != "no\n" {
		t.Errorf("hk.prerun.txt holds %q", b)
	}

	code, _, errOut = run(t, "--name=hk", "--filename="+target, "--size=64k", "--exec_postrun=exit 4", "--output-format=terse")
	if code != 0 || !strings.Contains(errOut, `exec_postrun "exit 4": the command failed: exit status 4`) {
		t.Errorf("a failing postrun: exit %d (want 0), stderr: %s", code, errOut)
	}
}

// TestLockMem: lockmem pins its memory (mlock) while the job runs, as
// the process's VmLck shows to the job's prerun, and releases it after;
// more than the machine can spare is refused.
func TestLockMem(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	target := filepath.Join(dir, "t.img")
	if err := os.WriteFile(target, make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	locked := func(status string) int {
		for _, l := range strings.Split(status, "\n") {
			if f := strings.Fields(l); len(f) == 3 && f[0] == "VmLck:" {
				kb, _ := strconv.Atoi(f[1])
				return kb
			}
		}
		t.Fatalf("no VmLck in %q", status)
		return 0
	}
	code, _, errOut := run(t, "--name=lm", "--filename="+target, "--size=1m", "--lockmem=32m", "--numjobs=2",
		"--exec_prerun=cat /proc/$PPID/status > during.txt", "--output-format=terse")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	during, err := os.ReadFile("during.txt")
	if err != nil {
		t.Fatal(err)
	}
	after, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	if d, a := locked(string(during)), locked(string(after)); d < 64<<10 || a >= 32<<10 {
		t.Errorf("VmLck %d KiB during the job (want 64 MiB: 32 MiB for each of 2 clones), %d KiB after it (want it released)", d, a)
	}
	// More than the machine can spare is refused before the run: pinning
	// it would bring the out-of-memory killer.
	code, _, errOut = run(t, "--name=lm", "--filename="+target, "--size=1m", "--lockmem=1t")
	if code != 2 || !strings.Contains(errOut, "lockmem: the jobs of a group would pin 1.0 TiB") {
		t.Errorf("lockmem=1t: exit %d: %s", code, errOut)
	}
}

// TestCreateOnly: create_only lays the job's file out and runs none of
// its I/O: the file has the job's size, the job reports no I/O and no
// error, and the next job of the run goes on.
func TestCreateOnly(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "co.img")
	code, out, errOut := run(t, "--name=co", "--filename="+path, "--size=2m", "--rw=randwrite", "--create_only=1", "--output-format=json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if st, err := os.Stat(path); err != nil || st.Size() != 2<<20 {
		t.Fatalf("the laid-out file: %v, %v", st, err)
	}
	if r, w := ioCounts(t, out); r+w != 0 || !strings.Contains(out, `"error": 0,`) {
		t.Errorf("create_only: %d reads, %d writes:\n%s", r, w, out)
	}
}

// signalHookTarget makes a 1 MiB target of zeros in a directory of its
// own, which the test works in, for a run a test interrupts (and resets
// after it).
func signalHookTarget(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Chdir(dir)
	t.Cleanup(func() { interrupted.Store(false) })
	target := filepath.Join(dir, "t.img")
	if err := os.WriteFile(target, make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	return target
}

// TestSignalStopsPrerun: an interrupt during a job's exec_prerun stops
// the command (and what it started) and the run, which exits as
// interrupted without running the job.
func TestSignalStopsPrerun(t *testing.T) {
	target := signalHookTarget(t)
	codec := make(chan int, 1)
	start := time.Now()
	go func() {
		code, _, _ := run(t, "--name=p", "--filename="+target, "--size=1m", "--rw=write", "--buffer_pattern=0x5a",
			"--exec_prerun=sleep 30; echo done > after.txt", "--output-format=terse")
		codec <- code
	}()
	time.Sleep(300 * time.Millisecond)
	interruptRun(t, codec, 10*time.Second, "the run went on 10 s after the interrupt")
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("the run ended %v after it started: the prerun's sleep was not stopped", took)
	}
	if b, _ := os.ReadFile(target); b[0] != 0 {
		t.Error("the job ran after its prerun was interrupted")
	}
	if _, err := os.Stat("after.txt"); err == nil {
		t.Error("the prerun's command went on after the interrupt")
	}
}

// TestSignalStopsPostrun: an interrupt during a job's exec_postrun stops
// the command, and the job, which ran, is marked interrupted in the
// report, as one whose prerun the signal stopped.
func TestSignalStopsPostrun(t *testing.T) {
	target := signalHookTarget(t)
	codec := make(chan int, 1)
	var out string
	go func() {
		code, o, _ := run(t, "--name=p", "--filename="+target, "--size=1m", "--rw=write",
			"--exec_postrun=sleep 30; echo done > after.txt", "--output-format=json")
		out = o
		codec <- code
	}()
	time.Sleep(500 * time.Millisecond)
	interruptRun(t, codec, 10*time.Second, "the run went on 10 s after the interrupt")
	var doc struct {
		Interrupted bool `json:"interrupted"`
		Jobs        []struct {
			Interrupted bool `json:"interrupted"`
			Write       struct {
				IOs int `json:"total_ios"`
			} `json:"write"`
		} `json:"jobs"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Jobs) != 1 {
		t.Fatalf("report: %v\n%s", err, out)
	}
	if j := doc.Jobs[0]; !doc.Interrupted || !j.Interrupted || j.Write.IOs != 256 {
		t.Errorf("run interrupted %v, job interrupted %v with %d writes; want both, and the job's 256 writes", doc.Interrupted, j.Interrupted, j.Write.IOs)
	}
	if _, err := os.Stat("after.txt"); err == nil {
		t.Error("the postrun's command went on after the interrupt")
	}
}

// TestVerifyAsync: with verify_async the verify pass's reads are checked
// in goroutines of their own, with the same results: a job's writes read
// back whole, and in a file with two blocks corrupted afterwards the
// first bad block named, whichever check finishes first; a read job's
// own verify reads stay in its thread, which a notice says.
func TestVerifyAsync(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v.img")
	job := []string{"--name=v", "--filename=" + path, "--rw=randwrite", "--bs=4k", "--size=8m", "--iodepth=16", "--verify=crc32c"}
	code, out, errOut := run(t, append(job, "--verify_async=3", "--output-format=json")...)
	if code != 0 {
		t.Fatalf("verify_async=3: exit %d: %s", code, errOut)
	}
	if r, w := ioCounts(t, out); w != 2048 || r != 2048 {
		t.Errorf("verify_async=3: %d writes, %d verify reads, want 2048 of each", w, r)
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, off := range []int64{6 << 20, 3<<20 + 4096} {
		if _, err := f.WriteAt([]byte("corrupt"), off+100); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()
	for _, async := range []string{"0", "3"} {
		code, out, _ := run(t, append(job, "--verify_only=1", "--verify_async="+async)...)
		if code != 1 || !strings.Contains(out, "verify: block at offset 3149824") {
			t.Errorf("verify_only, verify_async=%s: exit %d, want the block at 3149824 named:\n%s", async, code, out)
		}
	}
	if _, _, errOut := run(t, "--name=r", "--filename="+path, "--rw=read", "--size=8m", "--verify=crc32c", "--verify_async=2", "--output-format=terse"); !strings.Contains(errOut, "verify_async=2: the job's own verify reads") {
		t.Errorf("a read job with verify_async: no notice: %s", errOut)
	}
}

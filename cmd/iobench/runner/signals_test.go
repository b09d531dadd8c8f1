package runner

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/iobench/iobench/device"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// iobenchBinary builds cmd/iobench once for the signal tests.
func iobenchBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "iobench-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "iobench")
		out, err := exec.Command("go", "build", "-o", binPath, "github.com/iobench/iobench/cmd/iobench").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v: %s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// needLoopRoot skips tests that need the automatic loop-device target.
func needLoopRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root for the loop device target")
	}
	if _, err := os.Stat("/dev/loop-control"); err != nil {
		t.Skip("no loop devices")
	}
}

// started is a running iobench process.
type started struct {
	cmd            *exec.Cmd
	stdout, stderr bytes.Buffer
	done           chan struct{}
	code           int
}

func startIobench(t *testing.T, args ...string) *started {
	t.Helper()
	s := &started{cmd: exec.Command(iobenchBinary(t), args...), done: make(chan struct{})}
	s.cmd.Stdout, s.cmd.Stderr = &s.stdout, &s.stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		s.cmd.Wait()
		s.code = s.cmd.ProcessState.ExitCode()
		close(s.done)
	}()
	t.Cleanup(func() {
		select {
		case <-s.done:
		default:
			s.cmd.Process.Kill()
			<-s.done
		}
	})
	return s
}

// interruptedRun is what the signal tests read of a run's JSON.
type interruptedRun struct {
	Interrupted bool `json:"interrupted"`
	Jobs        []struct {
		Name        string     `json:"jobname"`
		Interrupted bool       `json:"interrupted"`
		Read        fioJSONDir `json:"read"`
		Write       fioJSONDir `json:"write"`
	} `json:"jobs"`
}

// interruptedReport waits up to d for a run stopped by a signal to exit
// with fio's 128, and decodes its JSON.
func (s *started) interruptedReport(t *testing.T, d time.Duration) interruptedRun {
	t.Helper()
	if code := s.wait(t, d); code != exitInterrupted {
		t.Fatalf("exit %d, want %d; stderr %s", code, exitInterrupted, s.stderr.String())
	}
	var doc interruptedRun
	if err := json.Unmarshal(s.stdout.Bytes(), &doc); err != nil {
		t.Fatalf("JSON: %v\n%q", err, s.stdout.String())
	}
	return doc
}

// wait waits up to d for the process to exit and returns its exit code.
func (s *started) wait(t *testing.T, d time.Duration) int {
	t.Helper()
	select {
	case <-s.done:
		return s.code
	case <-time.After(d):
		t.Fatalf("iobench still running %v after the signal\nstderr: %s", d, s.stderr.String())
		return -1
	}
}

// ownLoop returns the loop device pid's automatic target is on, or "".
func ownLoop(pid int) string {
	for dev, backing := range device.LoopBacking() {
		if targetPid(backing) == pid {
			return dev
		}
	}
	return ""
}

// waitFor polls cond for up to d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(d); ; time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// children returns the pids of pid's child processes named comm.
func children(pid int, comm string) []int {
	var out []int
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range stats {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		s := string(b)
		open, close := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || close < open {
			continue
		}
		f := strings.Fields(s[close+1:])
		if len(f) < 2 || s[open+1:close] != comm {
			continue
		}
		if ppid, _ := strconv.Atoi(f[1]); ppid == pid {
			c, _ := strconv.Atoi(strings.TrimSpace(s[:open]))
			out = append(out, c)
		}
	}
	return out
}

// leftBehind lists what run pid left: its loop device, its target
// directories, its fio children.
func leftBehind(pid int) []string {
	var out []string
	if dev := ownLoop(pid); dev != "" {
		out = append(out, "loop device "+dev)
	}
	for _, dir := range []string{"/dev/shm", os.TempDir()} {
		paths, _ := filepath.Glob(filepath.Join(dir, fmt.Sprintf("%s%d-*", targetPrefix, pid)))
		out = append(out, paths...)
	}
	for _, c := range children(pid, "fio") {
		out = append(out, fmt.Sprintf("fio process %d", c))
	}
	return out
}

// checkNothingLeft fails if run pid left anything behind, after a grace
// period for the kernel to tear the loop device down.
func checkNothingLeft(t *testing.T, pid int) {
	t.Helper()
	var left []string
	for range 100 {
		if left = leftBehind(pid); len(left) == 0 {
			return
		}
		time.Sleep(30 * time.Millisecond)
	}
	t.Fatalf("run %d left behind: %v", pid, left)
}

// TestSignalStopsRun: SIGINT, SIGTERM, SIGHUP and SIGQUIT each stop a running job:
// iobench drains, reports what it measured with the run marked
// interrupted, lists the group that never started with nothing done (as
// fio does), exits with fio's
// 128, and leaves no loop device or target file behind.
func TestSignalStopsRun(t *testing.T) {
	needLoopRoot(t)
	dir := t.TempDir()
	job := filepath.Join(dir, "two.fio")
	os.WriteFile(job, []byte("[global]\nsize=32m\nruntime=60\ntime_based\n\n[first]\nrw=randread\n\n[second]\nstonewall\nrw=randwrite\n"), 0o644)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT} {
		t.Run(sig.String(), func(t *testing.T) {
			s := startIobench(t, "--target-size=64m", "--output-format=json", job)
			pid := s.cmd.Process.Pid
			waitFor(t, 10*time.Second, "the target", func() bool { return ownLoop(pid) != "" })
			time.Sleep(500 * time.Millisecond)
			s.cmd.Process.Signal(sig)
			doc := s.interruptedReport(t, 10*time.Second)
			// The group that never started is listed with nothing done,
			// as fio lists it.
			if !doc.Interrupted || len(doc.Jobs) != 2 || doc.Jobs[0].Name != "first" || !doc.Jobs[0].Interrupted || doc.Jobs[0].Read.TotalIOs == 0 ||
				doc.Jobs[1].Name != "second" || doc.Jobs[1].Write.TotalIOs != 0 {
				t.Fatalf("JSON of the interrupted run: %+v", doc)
			}
			checkNothingLeft(t, pid)
		})
	}
}

// TestSignalSentTwiceAtOnce: a stop signal that arrives twice within
// microseconds, as timeout(1) sends it (to the process, then to its
// group), stops the run as one signal does, also while a file is laid
// out: exit 128, where the second signal used to get the default action
// (exit 130, the half-written file left) in 4 of 30 runs like these.
func TestSignalSentTwiceAtOnce(t *testing.T) {
	needLoopRoot(t)
	if _, err := exec.LookPath("timeout"); err != nil {
		t.Skipf("needs timeout(1): %v", err)
	}
	bin, dir := iobenchBinary(t), t.TempDir()
	for i := range 30 {
		file := filepath.Join(dir, "lay")
		delay := fmt.Sprintf("%.3f", 0.10+0.25*float64(i)/30)
		cmd := exec.Command("timeout", "--preserve-status", "-s", "INT", delay, bin,
			"--name=w", "--rw=read", "--size=256m", "--filename="+file, "--eta=never")
		out, _ := cmd.CombinedOutput()
		if code := cmd.ProcessState.ExitCode(); code != exitInterrupted && code != 0 {
			t.Fatalf("SIGINT after %s s: exit %d, want %d:\n%s", delay, code, exitInterrupted, out)
		}
		os.Remove(file)
	}
}

// TestSignalStopsCompareWithFio: a signal while fio runs under compare
// stops fio at once, skips the remaining rounds, exits 128 and leaves no
// fio process, loop device, target file or job file behind.
func TestSignalStopsCompareWithFio(t *testing.T) {
	needLoopRoot(t)
	if _, err := exec.LookPath("fio"); err != nil {
		t.Skip("fio not installed (make deps installs it)")
	}
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			tmpBefore, _ := filepath.Glob(filepath.Join(os.TempDir(), "iobench-fio-*"))
			s := startIobench(t, "compare", "--rw=randread", "--size=32m", "--runtime=60", "--time_based", "--target-size=64m", "--rounds=3")
			pid := s.cmd.Process.Pid
			var fio []int
			waitFor(t, 20*time.Second, "fio to start", func() bool { fio = children(pid, "fio"); return len(fio) > 0 })
			time.Sleep(300 * time.Millisecond)
			start := time.Now()
			s.cmd.Process.Signal(sig)
			if code := s.wait(t, 15*time.Second); code != exitInterrupted {
				t.Fatalf("exit %d, want %d; stderr %s", code, exitInterrupted, s.stderr.String())
			}
			t.Logf("stopped %v after %v", sig, time.Since(start).Round(time.Millisecond))
			for _, p := range fio {
				if syscall.Kill(p, 0) == nil {
					if b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p)); !strings.Contains(string(b), ") Z") {
						t.Errorf("fio %d still running", p)
					}
				}
			}
			checkNothingLeft(t, pid)
			tmpAfter, _ := filepath.Glob(filepath.Join(os.TempDir(), "iobench-fio-*"))
			if len(tmpAfter) > len(tmpBefore) {
				t.Errorf("job files left: %v", tmpAfter)
			}
		})
	}
}

// TestInterruptedCompareKeepsRounds: compare stopped after a round keeps
// that round in its table, marked with how many rounds finished (it
// printed nothing but the header before).
func TestInterruptedCompareKeepsRounds(t *testing.T) {
	needLoopRoot(t)
	if _, err := exec.LookPath("fio"); err != nil {
		t.Skip("fio not installed (make deps installs it)")
	}
	s := startIobench(t, "compare", "--name=c", "--rw=randread", "--size=32m", "--runtime=300ms", "--time_based", "--target-size=64m", "--rounds=3")
	pid := s.cmd.Process.Pid
	var first []int
	waitFor(t, 20*time.Second, "fio's first round", func() bool { first = children(pid, "fio"); return len(first) > 0 })
	// fio again under a new pid: round 1 (fio, then iobench) is done.
	waitFor(t, 20*time.Second, "fio's second round", func() bool {
		now := children(pid, "fio")
		return len(now) > 0 && now[0] != first[0]
	})
	s.cmd.Process.Signal(syscall.SIGINT)
	if code := s.wait(t, 15*time.Second); code != exitInterrupted {
		t.Fatalf("exit %d, want %d; stderr %s", code, exitInterrupted, s.stderr.String())
	}
	out := s.stdout.String()
	if !strings.Contains(out, "c (1 of 3 rounds)") || !strings.Contains(out, "interrupted: the rows cover the rounds that finished") {
		t.Errorf("stdout after the interrupt:\n%s", out)
	}
	checkNothingLeft(t, pid)
}

// TestSIGKILLReclaimed: a run killed with SIGKILL cannot clean up; the
// kernel detaches its autoclear loop device, and the next run removes the
// directory its target was in.
func TestSIGKILLReclaimed(t *testing.T) {
	needLoopRoot(t)
	s := startIobench(t, "--target-size=64m", "--rw=randwrite", "--size=32m", "--runtime=60", "--time_based")
	pid := s.cmd.Process.Pid
	var dev string
	waitFor(t, 10*time.Second, "the target", func() bool { dev = ownLoop(pid); return dev != "" })
	backing := device.LoopBacking()[dev]
	time.Sleep(300 * time.Millisecond)
	s.cmd.Process.Kill()
	s.wait(t, 10*time.Second)
	waitFor(t, 5*time.Second, "the killed run's loop device to go", func() bool { return device.LoopBacking()[dev] != backing })
	dirs, _ := filepath.Glob(filepath.Join(targetDir(), fmt.Sprintf("%s%d-*", targetPrefix, pid)))
	if len(dirs) == 0 {
		t.Log("the killed run had already removed its target directory")
	}
	next := startIobench(t, "--target-size=64m", "--rw=randread", "--size=8m", "--runtime=100ms", "--time_based")
	if code := next.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("next run: exit %d: %s", code, next.stderr.String())
	}
	checkNothingLeft(t, pid)
	checkNothingLeft(t, next.cmd.Process.Pid)
}

// TestReclaimStaleTargets: targets (a file target's directory, a loop
// device over a file in it) tagged with a dead pid are removed; those of
// live runs and names without a pid are kept.
func TestReclaimStaleTargets(t *testing.T) {
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Skip("cannot start a process")
	}
	deadPid := dead.Process.Pid
	if alive(deadPid) {
		t.Skip("pid reused already")
	}
	base := targetDir()
	deadDir := filepath.Join(base, fmt.Sprintf("%s%d-1", targetPrefix, deadPid))
	liveDir := filepath.Join(base, fmt.Sprintf("%s%d-1", targetPrefix, 1)) // init never dies
	oldDir := filepath.Join(base, targetPrefix+"12345")                    // no pid: not ours to judge
	for _, d := range []string{deadDir, liveDir, oldDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(d, "target.img"), []byte("x"), 0o600)
	}
	t.Cleanup(func() { os.RemoveAll(liveDir); os.RemoveAll(oldDir); os.RemoveAll(deadDir) })
	var loop *device.Loop
	if os.Geteuid() == 0 {
		img := filepath.Join(deadDir, "target.img")
		os.Truncate(img, 8<<20)
		l, err := device.AttachLoop(img, device.LoopOptions{})
		if err == nil {
			loop = l
			t.Cleanup(func() { l.Detach() })
		}
	}
	reclaimStale()
	if _, err := os.Stat(deadDir); !os.IsNotExist(err) {
		t.Errorf("%s of a dead run kept", deadDir)
	}
	for _, d := range []string{liveDir, oldDir} {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("%s removed: %v", d, err)
		}
	}
	if loop != nil {
		if _, ok := device.LoopBacking()[loop.Path()]; ok {
			t.Errorf("loop device %s of a dead run still attached", loop.Path())
		}
	}
}

// TestSIGKILLCompareTakesFioAlong: compare killed with SIGKILL while fio
// runs: fio and its jobs die with it, and the loop device goes once they
// have let go.
func TestSIGKILLCompareTakesFioAlong(t *testing.T) {
	needLoopRoot(t)
	if _, err := exec.LookPath("fio"); err != nil {
		t.Skip("fio not installed (make deps installs it)")
	}
	s := startIobench(t, "compare", "--rw=randread", "--size=32m", "--runtime=60", "--time_based", "--target-size=64m", "--rounds=2")
	pid := s.cmd.Process.Pid
	var fio []int
	waitFor(t, 20*time.Second, "fio to start", func() bool { fio = children(pid, "fio"); return len(fio) > 0 })
	dev := ownLoop(pid)
	if dev == "" {
		t.Fatal("no loop device for the compare run")
	}
	backing := device.LoopBacking()[dev]
	// Let fio's job start; had it forked a process for it (fio's default),
	// that process would outlive fio.
	time.Sleep(500 * time.Millisecond)
	fio = append(fio, children(fio[0], "fio")...)
	s.cmd.Process.Kill()
	s.wait(t, 10*time.Second)
	waitFor(t, 10*time.Second, "fio to die with iobench", func() bool {
		for _, p := range fio {
			b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p))
			if err == nil && !strings.Contains(string(b), ") Z") {
				return false
			}
		}
		return true
	})
	waitFor(t, 10*time.Second, "the loop device to go", func() bool { return device.LoopBacking()[dev] != backing })
}

// TestSignalDuringLayoutReports: a signal while a job's file is laid out
// runs nothing, removes the part-written file, and still reports: the
// JSON lists the job with nothing done, as fio's does (iobench's stdout
// used to be empty), and the run exits 128.
func TestSignalDuringLayoutReports(t *testing.T) {
	file := filepath.Join(t.TempDir(), "lay")
	s := startIobench(t, "--name=lay", "--rw=read", "--size=4g", "--filename="+file, "--output-format=json", "--eta=never")
	waitFor(t, 20*time.Second, "the layout", func() bool { st, err := os.Stat(file); return err == nil && st.Size() >= 1<<20 })
	s.cmd.Process.Signal(syscall.SIGINT)
	doc := s.interruptedReport(t, 20*time.Second)
	if !doc.Interrupted || len(doc.Jobs) != 1 || doc.Jobs[0].Name != "lay" || doc.Jobs[0].Read.TotalIOs != 0 {
		t.Fatalf("JSON of the run stopped in its layout: %+v", doc)
	}
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Errorf("the part-written file is still there: %v", err)
	}
}

// TestSecondSignalAbortsWhereIgnored: a process started with SIGINT
// ignored (a shell script's background job, trap "" INT) still aborts on
// a second SIGINT sent after the first while the run is slow to stop:
// exit 130, as a death by SIGINT shows in a shell, where restoring the
// inherited disposition dropped it and only SIGKILL ended the process.
// Started with the default disposition, the second SIGINT kills it.
func TestSecondSignalAbortsWhereIgnored(t *testing.T) {
	if os.Getenv("IOBENCH_SIGNAL_HELPER") == "1" {
		watchSignals(os.Stderr)
		fmt.Println("ready")
		time.Sleep(time.Minute) // a stop that never ends: a hung device
		return
	}
	for _, c := range []struct {
		trap string
		code int // -1: killed by the signal
	}{{"trap '' INT; ", 130}, {"", -1}} {
		cmd := exec.Command("sh", "-c", c.trap+`exec "$0" -test.run='^TestSecondSignalAbortsWhereIgnored$'`, os.Args[0])
		cmd.Env = append(os.Environ(), "IOBENCH_SIGNAL_HELPER=1")
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		ready := make([]byte, 6)
		if _, err := io.ReadFull(out, ready); err != nil || string(ready) != "ready\n" {
			cmd.Process.Kill()
			t.Fatalf("%q: helper: %q, %v", c.trap, ready, err)
		}
		cmd.Process.Signal(syscall.SIGINT)
		time.Sleep(300 * time.Millisecond) // past signalEcho: a second request
		cmd.Process.Signal(syscall.SIGINT)
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
			t.Fatalf("%q: still running 10 s after the second SIGINT; stderr: %s", c.trap, stderr.String())
		}
		if got := cmd.ProcessState.ExitCode(); got != c.code {
			t.Errorf("%q: exit %d, want %d; stderr: %s", c.trap, got, c.code, stderr.String())
		}
	}
}

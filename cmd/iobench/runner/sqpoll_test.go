package runner

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/iobench/iobench/device/looptest"
	"github.com/iobench/iobench/workloads"
)

// TestSQPollCPU: with sqthread_poll, sqthread_poll_cpu binds the kernel's
// submission thread of the job's ring (iou-sqp-PID, a thread of this
// process while the job runs) to that CPU; a CPU the process may not use
// is refused before any I/O.
func TestSQPollCPU(t *testing.T) {
	target := filepath.Join(t.TempDir(), "t.img")
	if err := os.WriteFile(target, make([]byte, 4<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	sqThreads := func() map[string]string {
		tasks, _ := os.ReadDir("/proc/self/task")
		out := map[string]string{}
		for _, task := range tasks {
			comm, _ := os.ReadFile("/proc/self/task/" + task.Name() + "/comm")
			if !strings.HasPrefix(string(comm), "iou-sqp-") {
				continue
			}
			status, _ := os.ReadFile("/proc/self/task/" + task.Name() + "/status")
			for _, l := range strings.Split(string(status), "\n") {
				if v, ok := strings.CutPrefix(l, "Cpus_allowed_list:"); ok {
					out[task.Name()] = strings.TrimSpace(v)
				}
			}
		}
		return out
	}
	before := sqThreads()
	cpu := strconv.Itoa(runtime.NumCPU() - 1)
	done := make(chan int)
	go func() {
		code, _, _ := run(t, "--name=sq", "--filename="+target, "--rw=randread", "--size=4m", "--sqthread_poll=1",
			"--sqthread_poll_cpu="+cpu, "--runtime=600ms", "--time_based", "--output-format=terse")
		done <- code
	}()
	seen := map[string]string{}
	for running := true; running; {
		select {
		case code := <-done:
			if code != 0 {
				t.Fatalf("exit %d", code)
			}
			running = false
		case <-time.After(20 * time.Millisecond):
			for tid, cpus := range sqThreads() {
				if _, old := before[tid]; !old {
					seen[tid] = cpus
				}
			}
		}
	}
	if len(seen) == 0 {
		t.Fatal("no submission thread seen while the job ran")
	}
	for tid, cpus := range seen {
		if cpus != cpu {
			t.Errorf("submission thread %s may run on CPUs %s, want %s", tid, cpus, cpu)
		}
	}
	if code, _, errOut := run(t, "--name=sq", "--filename="+target, "--size=4m", "--sqthread_poll=1", "--sqthread_poll_cpu=1023"); code != 2 || !strings.Contains(errOut, "sqthread_poll_cpu: CPU 1023 is not available") {
		t.Errorf("sqthread_poll_cpu=1023: exit %d: %s", code, errOut)
	}
}

// TestNumaCPUNodes: numa_cpu_nodes runs the job's thread on its nodes'
// CPUs in place of cpus_allowed's (as fio binds it after setting the
// affinity), as the set the kernel holds for the thread, which the report
// gives, shows; a node the machine lacks is refused before any I/O.
func TestNumaCPUNodes(t *testing.T) {
	node0, err := os.ReadFile("/sys/devices/system/node/node0/cpulist")
	if err != nil {
		t.Skipf("no NUMA node information here: %v", err)
	}
	if runtime.NumCPU() < 2 {
		t.Skip("needs two CPUs")
	}
	want, err := workloads.ParseCPUList(strings.TrimSpace(string(node0)))
	if err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(t.TempDir(), "t.img")
	if err := os.WriteFile(target, make([]byte, 4<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	pinned := func(extra ...string) []int {
		t.Helper()
		jobs, _ := jsonRunOf(t, append([]string{"--name=n", "--filename=" + target, "--rw=randread", "--size=4m", "--number_ios=100"}, extra...)...)
		var cpus []int
		for _, c := range jobs[0]["iobench"].(map[string]any)["cpus_allowed"].([]any) {
			cpus = append(cpus, int(c.(float64)))
		}
		return cpus
	}
	if got := pinned("--cpus_allowed=1"); !slices.Equal(got, []int{1}) {
		t.Fatalf("cpus_allowed=1: the thread was pinned to %v", got)
	}
	if got := pinned("--cpus_allowed=1", "--numa_cpu_nodes=0"); !slices.Equal(got, want) {
		t.Errorf("numa_cpu_nodes=0 with cpus_allowed=1: the thread was pinned to %v, want node 0's CPUs %v", got, want)
	}
	if code, _, errOut := run(t, "--name=n", "--filename="+target, "--size=4m", "--numa_cpu_nodes=63"); code != 2 || !strings.Contains(errOut, "numa_cpu_nodes: node 63") {
		t.Errorf("numa_cpu_nodes=63: exit %d: %s", code, errOut)
	}
}

// TestSQPollPollsCompletions: with sqthread_poll the job polls its
// completion queue instead of sleeping in io_uring_enter for each I/O,
// as fio's io_uring engine does with sqthread_poll: the kernel's thread
// submits and posts the completions, and a sleep costs a wake-up per
// I/O. iobench entered the kernel to wait for every I/O at depth 1 (one
// enter per I/O) and ran 6-9k 4 KiB reads a second on a file that fio
// read at 680k a second the same way. spin_wait=1ms polls always, at
// depth 1 too, spin_wait=0 never. (By default the job polls while that
// measures no slower and no costlier per I/O, as spin_wait's default
// does: a measurement, which a test cannot pin down.)
func TestSQPollPollsCompletions(t *testing.T) {
	// A sparse file: its reads (holes) complete at once, as a fast
	// device's, with no device under them.
	target := filepath.Join(t.TempDir(), "t.img")
	if err := os.WriteFile(target, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(target, 8<<20); err != nil {
		t.Fatal(err)
	}
	// Sleeping is measured on a loop device: its reads go through the
	// loop's worker thread, tens of microseconds, so the job has always
	// looked for the completion and gone to sleep before it is posted.
	// (Hole reads of the file complete in the kernel's submission thread
	// itself, often before the job looks: a CI run counted 0.27 enters
	// per I/O sleeping on the file, 0.90 in another.)
	loop := looptest.New(t, 8<<20, looptest.Options{})
	for _, c := range []struct {
		qd, spin, target string
		lo, hi           float64 // io_uring_enter calls per I/O
	}{
		// Polling: a few enters at most, where sleeping takes one per
		// I/O. Not none: on a machine whose CPUs are busy with other
		// work the kernel's thread can be off its CPU for a whole
		// 1 ms poll (0.11 per I/O at depth 8 in a CI run beside a
		// CPU-bound process, 0.00 on an idle machine).
		{"1", "--spin_wait=1ms", target, 0, 0.25},
		{"8", "--spin_wait=1ms", target, 0, 0.25},
		// Sleeping: one enter per I/O, a few fewer when the job is
		// preempted between its submission and its look.
		{"1", "--spin_wait=0", loop.Path, 0.9, 1.1},
	} {
		args := []string{"--name=sq", "--filename=" + c.target, "--rw=randread", "--bs=4k", "--size=8m", "--loops=16",
			"--iodepth=" + c.qd, "--sqthread_poll=1", "--output-format=json", "--force"}
		if c.spin != "" {
			args = append(args, c.spin)
		}
		code, out, errOut := run(t, args...)
		if code != 0 {
			t.Fatalf("iodepth=%s %s: exit %d: %s", c.qd, c.spin, code, errOut)
		}
		var doc struct {
			Jobs []struct {
				Read struct {
					TotalIOs uint64 `json:"total_ios"`
				}
				Iobench struct {
					EntersPerIO float64 `json:"enters_per_io"`
				}
			}
		}
		if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Jobs) != 1 {
			t.Fatalf("iodepth=%s %s: %v\n%s", c.qd, c.spin, err, out)
		}
		j := doc.Jobs[0]
		if j.Read.TotalIOs != 32768 || j.Iobench.EntersPerIO < c.lo || j.Iobench.EntersPerIO > c.hi {
			t.Errorf("iodepth=%s %s: %d reads, %.3f io_uring_enter calls per I/O; want 32768 reads and %.2f to %.2f calls",
				c.qd, c.spin, j.Read.TotalIOs, j.Iobench.EntersPerIO, c.lo, c.hi)
		}
	}
}

package looptest

import (
	"os"
	"strconv"
	"strings"
)

// IOWorkerRuns returns, for each io_uring async worker thread of this
// process (io-wq, named iou-wrk-<tid> after the thread it works for; only
// thread tid's when tid > 0), how many times it has been switched to
// (voluntary and not). A worker runs at least once for each I/O it takes:
// tests of IOSQE_ASYNC count the runs a stretch of I/O added (RunsSince).
func IOWorkerRuns(tid int) map[string]int {
	runs := map[string]int{}
	tasks, _ := os.ReadDir("/proc/self/task")
	for _, task := range tasks {
		dir := "/proc/self/task/" + task.Name()
		b, err := os.ReadFile(dir + "/comm")
		name := strings.TrimSpace(string(b))
		if err != nil || !strings.HasPrefix(name, "iou-wrk-") || tid > 0 && name != "iou-wrk-"+strconv.Itoa(tid) {
			continue
		}
		b, _ = os.ReadFile(dir + "/status")
		for _, line := range strings.Split(string(b), "\n") {
			if _, v, ok := strings.Cut(line, "voluntary_ctxt_switches:"); ok { // and nonvoluntary_
				k, _ := strconv.Atoi(strings.TrimSpace(v))
				runs[task.Name()] += k
			}
		}
	}
	return runs
}

// RunsSince is how many times the workers ran between two IOWorkerRuns:
// what each thread of before added, and all of a thread started since (a
// worker that exited meanwhile takes its part away).
func RunsSince(before, after map[string]int) int {
	n := 0
	for id, k := range after {
		n += k - before[id]
	}
	return n
}

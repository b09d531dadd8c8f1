package runner

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/iobench/iobench/device/looptest"
)

// TestIOScheduler: ioscheduler switches the job's device to that
// scheduler for the job (its prerun sees it) and back after it; one the
// kernel does not offer is an error naming those it does, the device left
// as it was; a file on tmpfs has no device to switch.
func TestIOScheduler(t *testing.T) {
	l := looptest.New(t, 16<<20, looptest.Options{})
	file := filepath.Join("/sys/block", filepath.Base(l.Path), "queue", "scheduler")
	before, avail, err := readScheduler(file)
	if err != nil {
		t.Fatal(err)
	}
	want := "mq-deadline"
	if before == want {
		want = "none"
	}
	if !slices.Contains(avail, want) {
		t.Skipf("%s offers %v, not %s", file, avail, want)
	}
	dir := t.TempDir()
	t.Chdir(dir)
	code, _, errOut := run(t, "--name=s", "--filename="+l.Path, "--size=1m", "--ioscheduler="+want,
		"--exec_prerun=cat "+file+" > during.txt", "--output-format=terse")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if b, _ := os.ReadFile("during.txt"); !strings.Contains(string(b), "["+want+"]") {
		t.Errorf("during the job %s read %q, want [%s]", file, b, want)
	}
	if now, _, _ := readScheduler(file); now != before {
		t.Errorf("after the job the device runs %s, want %s back", now, before)
	}

	// Two jobs running together on the device with two schedulers, ending
	// in either order, leave it as they found it.
	var others []string
	for _, a := range avail {
		if a != before {
			others = append(others, a)
		}
	}
	if len(others) >= 2 {
		for _, order := range [][2]string{{"200ms", "500ms"}, {"500ms", "200ms"}} {
			if code, _, errOut := run(t, "--filename="+l.Path, "--size=1m", "--time_based", "--output-format=terse",
				"--name=a", "--ioscheduler="+others[0], "--runtime="+order[0],
				"--name=b", "--ioscheduler="+others[1], "--runtime="+order[1]); code != 0 {
				t.Fatalf("two jobs: exit %d: %s", code, errOut)
			}
			if now, _, _ := readScheduler(file); now != before {
				t.Errorf("two jobs with %s and %s, ending after %v: the device runs %s, want %s back", others[0], others[1], order, now, before)
			}
		}
	}

	// The error is the job's, in its report.
	code, out, _ := run(t, "--name=s", "--filename="+l.Path, "--size=1m", "--ioscheduler=nosuch")
	if code != 1 || !strings.Contains(out, "ioscheduler=nosuch") || !strings.Contains(out, strings.Join(avail, ", ")) {
		t.Errorf("ioscheduler=nosuch: exit %d, report:\n%s", code, out)
	}
	if now, _, _ := readScheduler(file); now != before {
		t.Errorf("after a refused scheduler the device runs %s, want %s", now, before)
	}

	shm, err := os.CreateTemp("/dev/shm", "iobench-sched-")
	if err != nil {
		t.Skip("no /dev/shm")
	}
	shm.Close()
	t.Cleanup(func() { os.Remove(shm.Name()) })
	if code, out, _ := run(t, "--name=s", "--filename="+shm.Name(), "--size=1m", "--ioscheduler="+want, "--direct=0"); code != 1 || !strings.Contains(out, "is not on a block device") {
		t.Errorf("a file on tmpfs: exit %d, report:\n%s", code, out)
	}
}

package runner

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNoWaitOption: nowait sends reads with RWF_NOWAIT. Buffered reads of
// a file whose pages are not in the page cache then fail with EAGAIN,
// which ends the job (err=11, as fio) unless continue_on_error and
// ignore_error let it count them; after pre_read the same job reads from
// the page cache without an error, and without nowait it reads anyway.
func TestNoWaitOption(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f") // a disk filesystem: tmpfs's pages are always in memory
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	// Written back (Sync), so that invalidate (the default) can drop the
	// pages before each job.
	if _, err := f.Write(make([]byte, 4<<20)); err != nil {
		t.Fatal(err)
	}
	if err := errors.Join(f.Sync(), f.Close()); err != nil {
		t.Fatal(err)
	}
	job := []string{"--name=nw", "--filename=" + path, "--rw=randread", "--bs=4k", "--size=4m", "--number_ios=64", "--direct=0", "--output-format=normal"}
	code, out, errOut := run(t, append(job, "--nowait=1")...)
	if code != 1 || !strings.Contains(out, "err=11 (") {
		t.Errorf("nowait=1 on uncached pages: exit %d (want 1, err=11):\n%s%s", code, out, errOut)
	}
	code, out, errOut = run(t, append(job, "--nowait=1", "--continue_on_error=read", "--ignore_error=EAGAIN")...)
	if code != 0 || !strings.Contains(out, "errors    : total=") || !strings.Contains(out, "first_error=11/<Resource temporarily unavailable>") {
		t.Errorf("nowait=1 with ignore_error=EAGAIN: exit %d (want 0, the errors counted):\n%s%s", code, out, errOut)
	}
	for _, extra := range [][]string{{"--nowait=1", "--pre_read=1"}, {"--nowait=0"}} {
		if code, out, errOut := run(t, append(job, extra...)...); code != 0 || !strings.Contains(out, "err= 0") {
			t.Errorf("%v: exit %d:\n%s%s", extra, code, out, errOut)
		}
	}
}

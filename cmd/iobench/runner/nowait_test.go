package runner

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNoWaitOption: nowait sends reads with RWF_NOWAIT. Direct reads of
// a file whose pages are dirty in the page cache would have to write them
// back first, so they fail with EAGAIN, which ends the job (err=11, as
// fio) unless continue_on_error and ignore_error let it count them.
// Buffered reads after pre_read find their pages in the page cache and
// succeed, and without nowait the reads succeed anyway. (Buffered reads of
// dropped pages are no test of EAGAIN: the kernel may start readahead and
// find the page read by the time it looks.)
func TestNoWaitOption(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f") // a disk filesystem: tmpfs's reads never wait
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	// Not synced: the pages stay dirty for the kernel's
	// dirty_expire_centisecs (30 s); invalidate=0 leaves them so.
	if _, err := f.Write(make([]byte, 4<<20)); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	job := []string{"--name=nw", "--filename=" + path, "--rw=randread", "--bs=4k", "--size=4m", "--number_ios=64", "--output-format=normal"}
	dirty := append(job[:len(job):len(job)], "--direct=1", "--invalidate=0")
	code, out, errOut := run(t, append(dirty, "--nowait=1")...)
	if code != 1 || !strings.Contains(out, "err=11 (") {
		t.Errorf("nowait=1 on dirty pages: exit %d (want 1, err=11):\n%s%s", code, out, errOut)
	}
	code, out, errOut = run(t, append(dirty, "--nowait=1", "--continue_on_error=read", "--ignore_error=EAGAIN")...)
	if code != 0 || !strings.Contains(out, "errors    : total=") || !strings.Contains(out, "first_error=11/<Resource temporarily unavailable>") {
		t.Errorf("nowait=1 with ignore_error=EAGAIN: exit %d (want 0, the errors counted):\n%s%s", code, out, errOut)
	}
	for _, extra := range [][]string{{"--direct=0", "--nowait=1", "--pre_read=1"}, {"--direct=0", "--nowait=0"}, {"--direct=1", "--nowait=0"}} {
		if code, out, errOut := run(t, append(job, extra...)...); code != 0 || !strings.Contains(out, "err= 0") {
			t.Errorf("%v: exit %d:\n%s%s", extra, code, out, errOut)
		}
	}
}

package runner

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestReadIOLogChunked: with read_iolog_chunked the job replays a log
// still being written to a FIFO. The test's writer sends the first half
// (a write, then reads) and sends the second half only once the job's
// first write is on the file: a job that read the whole log first would
// wait for the end of a log whose end waits for the job. Every I/O of
// both halves is replayed, in the log's order.
func TestReadIOLogChunked(t *testing.T) {
	dir := t.TempDir()
	target, fifo, logPath := filepath.Join(dir, "t"), filepath.Join(dir, "fifo"), filepath.Join(dir, "w.log")
	if err := os.WriteFile(target, make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	var first, second strings.Builder
	var want []string
	io := func(b *strings.Builder, op string, off int) {
		fmt.Fprintf(b, "%s %s %d 4096\n", target, op, off)
		want = append(want, fmt.Sprintf("%s %s %d 4096", target, op, off))
	}
	fmt.Fprintf(&first, "fio version 2 iolog\n%s add\n%s open\n", target, target)
	io(&first, "write", 0)
	for i := 1; i <= 20; i++ {
		io(&first, "read", i*4096)
	}
	for i := 21; i <= 40; i++ {
		io(&second, "read", i*4096)
	}
	io(&second, "write", 4096)
	fmt.Fprintf(&second, "%s close\n", target)

	werr := make(chan error, 1)
	go func() {
		f, err := os.OpenFile(fifo, os.O_WRONLY, 0) // waits for the job to open it
		if err != nil {
			werr <- err
			return
		}
		defer f.Close()
		if _, err := f.WriteString(first.String()); err != nil {
			werr <- err
			return
		}
		// The second half goes once the job's first write has reached
		// the file (the page cache: the job writes without O_DIRECT).
		zero := make([]byte, 4096)
		for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(10 * time.Millisecond) {
			b, err := os.ReadFile(target)
			if err == nil && !bytes.Equal(b[:4096], zero) {
				break
			}
			if time.Now().After(deadline) {
				werr <- fmt.Errorf("the job wrote nothing before the log's end")
				return
			}
		}
		_, err = f.WriteString(second.String())
		werr <- err
	}()
	code, _, errs := run(t, "--name=c", "--read_iolog="+fifo, "--read_iolog_chunked=1", "--write_iolog="+logPath, "--output-format=terse")
	if err := <-werr; err != nil {
		t.Fatalf("writer: %v", err)
	}
	if got := iologIOs(t, logPath); code != 0 || strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("exit %d (%s): replayed\n%s\nwant\n%s", code, errs, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestReadIOLogChunkedRefusals: what a chunked log cannot do is said,
// naming the line: a file added after the job opened its files, an I/O
// longer than its buffers, one past the file's end.
func TestReadIOLogChunkedRefusals(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	for _, p := range []string{a, b} {
		if err := os.WriteFile(p, make([]byte, 64<<10), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	head := "fio version 2 iolog\n" + a + " add\n" + a + " open\n" + a + " read 0 4096\n"
	for _, c := range []struct{ log, want string }{
		{head + b + " add\n" + b + " read 0 4096\n", "comes after the job has opened"},
		{head + a + " read 0 65536\n", "longer than the job's buffers"},
		{head + a + " read 61440 8192\n", "longer than the job's buffers"},
		{head + a + " read 65536 4096\n", "past the end"},
		{"fio version 2 iolog\n" + a + " add\n", "holds no read or write"},
	} {
		p := filepath.Join(dir, "x.log")
		if err := os.WriteFile(p, []byte(c.log), 0o644); err != nil {
			t.Fatal(err)
		}
		code, _, errs := run(t, "--name=c", "--read_iolog="+p, "--read_iolog_chunked=1", "--output-format=terse")
		if code == 0 || !strings.Contains(errs, c.want) {
			t.Errorf("%q: exit %d, %q; want %q", c.log, code, errs, c.want)
		}
	}
	// bs= makes room for a longer I/O later in the log.
	p := filepath.Join(dir, "y.log")
	if err := os.WriteFile(p, []byte(head+a+" read 0 65536\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := run(t, "--name=c", "--read_iolog="+p, "--read_iolog_chunked=1", "--bs=64k", "--output-format=terse"); code != 0 {
		t.Errorf("bs=64k: exit %d, %s", code, errs)
	}
	if code, _, errs := run(t, "--name=c", "--filename="+a, "--read_iolog_chunked=1"); code == 0 || !strings.Contains(errs, "read_iolog_chunked needs read_iolog") {
		t.Errorf("without read_iolog: exit %d, %q", code, errs)
	}
}

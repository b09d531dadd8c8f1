package runner

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/iobench/iobench/engine"
)

// ioLog records the I/O a clone issues in fio's iolog, version 3
// (write_iolog): a header line, then "time file action" lines for the
// files (add, open, close) and "time file action offset length" for each
// I/O when it is issued (read, write, trim, sync, datasync), times in µs
// from the clone's start. fio replays such a log with read_iolog.
type ioLog struct {
	f     *os.File
	w     *bufio.Writer
	t0    time.Time
	paths []string // the clone's files, in file order
	buf   []byte
}

// newIOLog creates path and writes the header and each file's add and
// open at t0.
func newIOLog(path string, paths []string, t0 time.Time) (*ioLog, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("write_iolog: %w", err)
	}
	l := &ioLog{f: f, w: bufio.NewWriterSize(f, 64<<10), t0: t0, paths: paths}
	_, _ = l.w.WriteString("fio version 3 iolog\n")
	for _, action := range []string{"add", "open"} {
		for _, p := range paths {
			l.line(t0, p, action, false, 0, 0)
		}
	}
	return l, nil
}

// line writes one entry; with io, the offset and length follow.
func (l *ioLog) line(now time.Time, path, action string, io bool, off, length uint64) {
	b := strconv.AppendInt(l.buf[:0], max(now.Sub(l.t0).Microseconds(), 0), 10)
	b = append(b, ' ')
	b = append(b, path...)
	b = append(b, ' ')
	b = append(b, action...)
	if io {
		b = append(b, ' ')
		b = strconv.AppendUint(b, off, 10)
		b = append(b, ' ')
		b = strconv.AppendUint(b, length, 10)
	}
	b = append(b, '\n')
	_, _ = l.w.Write(b)
	l.buf = b
}

// issued records r, issued now on the clone's file fi.
func (l *ioLog) issued(now time.Time, fi int, r *engine.Request) {
	action := "read"
	switch {
	case r.Sync == engine.Fsync:
		action = "sync"
	case r.Sync == engine.Fdatasync:
		action = "datasync"
	case r.Trim:
		action = "trim"
	case r.Write:
		action = "write"
	}
	length := uint64(r.Length)
	if !r.Trim && r.Sync == engine.NoSync {
		length = uint64(len(r.Buf))
	}
	off := r.Offset
	if r.Sync != engine.NoSync {
		off, length = 0, 0
	}
	l.line(now, l.paths[fi], action, true, off, length)
}

// close writes each file's close at now and closes the log.
func (l *ioLog) close(now time.Time) error {
	for _, p := range l.paths {
		l.line(now, p, "close", false, 0, 0)
	}
	err := l.w.Flush()
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write_iolog: %w", err)
	}
	return nil
}

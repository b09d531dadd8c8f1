package runner

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/iobench/iobench/device"
	"github.com/iobench/iobench/engine"
	"github.com/iobench/iobench/workloads"
)

// ioLog records the I/O a clone issues in fio's iolog, version 3
// (write_iolog): a header line, then "time file action" lines for the
// files (add, open, close) and "time file action offset length" for each
// I/O when it is issued (read, write, trim, sync, datasync,
// sync_file_range), times in µs from the clone's start. fio replays such a
// log with read_iolog (fio 3.33 skips sync_file_range lines, as iobench's
// read_iolog does).
type ioLog struct {
	f     *os.File
	w     *bufio.Writer
	t0    time.Time
	paths []string // the clone's files, in file order
	buf   []byte
}

// newIOLog opens path, creating it or appending to it (as fio's
// write_iolog appends a run to a log already there), and writes the
// header and each file's add and open at t0.
func newIOLog(path string, paths []string, t0 time.Time) (*ioLog, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o666)
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
	case r.Sync == engine.SyncRange:
		action = "sync_file_range"
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
	if r.Sync == engine.Fsync || r.Sync == engine.Fdatasync {
		off, length = 0, 0 // a flush of the whole file
	}
	// A sync_file_range's range: fio logs its I/O unit's last offset and
	// a length of 0 instead.
	l.line(now, l.paths[fi], action, true, off, length)
}

// reopen writes each file's close, then each file's open, at now: fio's
// log has its files closed after the job's I/O and opened again for its
// verify pass.
func (l *ioLog) reopen(now time.Time) {
	for _, action := range []string{"close", "open"} {
		for _, p := range l.paths {
			l.line(now, p, action, false, 0, 0)
		}
	}
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

// replayLog is an iolog read for replay (read_iolog): fio's version 2 or
// 3 text format. Read whole, entries holds the log's I/O; read in chunks
// (read_iolog_chunked), entries holds what was read before the job
// started, up to the first I/O, and the rest comes through next.
type replayLog struct {
	files   []string      // in the order the log adds them
	entries []replayEntry // the I/O, in the log's order
	reads   bool          // the log holds reads
	writes  bool          // the log holds writes or flushes
	maxLen  uint64        // the longest I/O

	// read_iolog_chunked: the rest of the log, read as the job needs it.
	chunked *chunkReader
}

// replayEntry is one I/O of a replayLog.
type replayEntry struct {
	at     time.Duration // when it is due after the job's start (v3: its time; v2: the waits before it)
	file   int           // index into files
	sync   engine.Sync   // a flush (Offset and Length unused)
	write  bool
	off    uint64
	length uint64
}

// logParser turns an iolog's lines into replayEntries, one line at a
// time (parseLine), keeping what a line depends on: the version, the
// files added so far and (version 2) the waits.
type logParser struct {
	path    string
	j       *workloads.Job
	l       *replayLog
	version int
	n       int // the line number of the last line parsed
	fileIdx map[string]int
	waited  time.Duration // version 2: the waits so far
	// version 3: the time of the last line, and the time the current
	// section's times count from (a log appended to, as fio's
	// write_iolog appends, has a header and times from 0 per run)
	last, base time.Duration
	// fixedFiles: no file may be added (a chunked replay has opened
	// its files); fileLimits, when set, bounds each file's I/O.
	fixedFiles bool
	limits     []fileLimit
}

// fileLimit is what replayPreflight checks an I/O of a file against.
type fileLimit struct {
	set         bool
	size, align uint64
	path        string
}

// parseHeader reads the iolog's first line (b: the log's first bytes,
// for telling a blktrace binary).
func (p *logParser) parseHeader(line string, b []byte) error {
	p.n = 1
	if p.version = headerVersion(line); p.version == 0 {
		const blktraceMagic = 0x65617400 // a blk_io_trace's first word, its low byte the version
		if len(b) >= 4 && (binary.LittleEndian.Uint32(b)&^0xff == blktraceMagic || binary.BigEndian.Uint32(b)&^0xff == blktraceMagic) {
			return fmt.Errorf("read_iolog: %s is a blktrace binary trace: iobench replays fio's text iologs (versions 2 and 3) only", p.path)
		}
		return fmt.Errorf("read_iolog: %s: line 1 is %q: want fio's iolog header, \"fio version 2 iolog\" or \"fio version 3 iolog\"", p.path, firstN(line, 40))
	}
	p.fileIdx = map[string]int{}
	return nil
}

// headerVersion is the version an iolog header line names (2 or 3), or 0
// for a line that is no header.
func headerVersion(line string) int {
	switch strings.TrimSpace(line) {
	case "fio version 2 iolog":
		return 2
	case "fio version 3 iolog":
		return 3
	}
	return 0
}

// parseLine parses the log's next line: ok reports whether it is an I/O
// to replay (e), or a line with none (add, open, close, wait, a skipped
// action, a blank).
func (p *logParser) parseLine(line string) (e replayEntry, ok bool, err error) {
	p.n++
	j, l := p.j, p.l
	bad := func(format string, a ...any) error {
		return fmt.Errorf("read_iolog: %s:%d: %q: %s", p.path, p.n, firstN(line, 80), fmt.Sprintf(format, a...))
	}
	f := strings.Fields(line)
	if len(f) == 0 {
		return e, false, nil
	}
	if v := headerVersion(line); v == p.version {
		// The header of a run appended to the log (fio's write_iolog
		// appends): its lines replay after the ones before, its
		// times counting from the last of theirs.
		p.base = p.last
		return e, false, nil
	} else if v != 0 {
		return e, false, bad("a header of another version than line 1's (%d): a log holds one version", p.version)
	}
	var at time.Duration
	if p.version == 3 {
		us, err := strconv.ParseUint(f[0], 10, 63)
		if err != nil {
			return e, false, bad("the first field is not a time in µs")
		}
		if j.ReplayTimeScale != 100 {
			us = uint64(float64(us) * 100 / float64(j.ReplayTimeScale))
		}
		if us > uint64(math.MaxInt64-p.base)/uint64(time.Microsecond) {
			return e, false, bad("a time past what a replay can wait for (2^63 ns from the start)")
		}
		at, f = p.base+time.Duration(us)*time.Microsecond, f[1:]
		p.last = at
	}
	if len(f) != 2 && len(f) != 4 {
		return e, false, bad("want %sfile action, or file action offset length", map[bool]string{true: "time "}[p.version == 3])
	}
	name, action := f[0], f[1]
	fi, known := p.fileIdx[name]
	if !known {
		if p.fixedFiles && j.ReplayRedirect == "" {
			return e, false, bad("read_iolog_chunked: the file %s comes after the job has opened the log's files (those added before its first I/O): add every file before the first I/O, or give replay_redirect", name)
		}
		fi = len(l.files)
		p.fileIdx[name] = fi
		l.files = append(l.files, name)
	}
	var off, length uint64
	if len(f) == 4 {
		var err1, err2 error
		off, err1 = strconv.ParseUint(f[2], 10, 64)
		length, err2 = strconv.ParseUint(f[3], 10, 64)
		if err1 != nil || err2 != nil {
			return e, false, bad("offset and length are not whole numbers")
		}
	}
	if j.ReplaySkip&replaySkipBit(action) != 0 {
		return e, false, nil
	}
	e = replayEntry{at: at, file: fi, off: off, length: length}
	switch action {
	case "add", "open", "close":
		return e, false, nil
	case "wait":
		if p.version != 2 {
			return e, false, bad("wait is an action of version 2 logs only")
		}
		if off >= 100 { // as fio: waits below 100 µs are dropped
			p.waited += time.Duration(off) * time.Microsecond
		}
		return e, false, nil
	case "read":
		l.reads = true
	case "write":
		e.write, l.writes = true, true
	case "sync", "datasync":
		e.sync, e.off, e.length = engine.Fsync, 0, 0
		if action == "datasync" {
			e.sync = engine.Fdatasync
		}
		l.writes = true
	case "sync_file_range":
		// fio 3.33 skips them too ("bad iolog file action"): the
		// range written since the last one is not a replayed
		// I/O's.
		return e, false, nil
	case "trim":
		return e, false, bad("trims are not replayed by iobench (reads, writes and flushes are); replay_skip=trim leaves them out")
	default:
		return e, false, bad("unknown action %q", action)
	}
	if len(f) != 4 {
		return e, false, bad("%s needs an offset and a length", action)
	}
	if e.sync == engine.NoSync && e.length == 0 {
		return e, false, bad("an I/O of 0 bytes")
	}
	if e.sync == engine.NoSync {
		if j.ReplayScale > 1 {
			e.off /= j.ReplayScale
		}
		if j.ReplayAlign > 0 {
			e.off &^= j.ReplayAlign - 1
		}
	}
	if p.version == 2 {
		e.at = p.waited
	}
	if p.fixedFiles {
		if e.length > l.maxLen {
			return e, false, bad("read_iolog_chunked: an I/O of %d bytes, longer than the job's buffers (%d bytes, the largest of bs and of the log's I/O up to its first): give bs= the log's largest I/O", e.length, l.maxLen)
		}
		k := e.file
		if j.ReplayRedirect != "" {
			k = 0
		}
		if e.sync == engine.NoSync && k < len(p.limits) && p.limits[k].set {
			if err := checkReplayed(j, e, p.limits[k]); err != nil {
				return e, false, fmt.Errorf("%w (%s:%d)", err, p.path, p.n)
			}
		}
	} else {
		l.maxLen = max(l.maxLen, e.length)
	}
	return e, true, nil
}

// parseReplayLog reads an iolog: a "fio version 2 iolog" or "fio version
// 3 iolog" header, then per line "[time] file action [offset length]",
// times in µs (version 3), actions add, open, close, read, write, sync,
// datasync and (version 2) wait. It refuses what iobench does not replay
// (trims, blktrace binaries) and malformed lines, naming the line.
//
// The job's replay options apply as fio applies them: replay_skip leaves
// out the actions it names, replay_scale divides each offset and
// replay_align then rounds it down, and replay_time_scale paces a version
// 3 log's times (a version 2 log's waits stay as logged).
//
// With read_iolog_chunked it reads the log only up to its first I/O,
// and leaves the rest to the job (chunkReader).
func parseReplayLog(path string, j *workloads.Job) (*replayLog, error) {
	l := &replayLog{}
	p := &logParser{path: path, j: j, l: l}
	if j.ReadIOLogChunked {
		return startChunked(p)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read_iolog: %w", err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if err := p.parseHeader(lines[0], b); err != nil {
		return nil, err
	}
	for _, line := range lines[1:] {
		e, ok, err := p.parseLine(line)
		if err != nil {
			return nil, err
		}
		if ok {
			l.entries = append(l.entries, e)
		}
	}
	if len(l.entries) == 0 {
		return nil, fmt.Errorf("read_iolog: %s holds no read or write to replay", path)
	}
	return l, nil
}

// replaySkipBit is the replay_skip kind (Job.ReplaySkip) of a logged
// action; 0 for those replay_skip cannot name (datasync among them, as
// in fio).
func replaySkipBit(action string) uint8 {
	switch action {
	case "read":
		return workloads.ReplaySkipRead
	case "write":
		return workloads.ReplaySkipWrite
	case "trim":
		return workloads.ReplaySkipTrim
	case "sync":
		return workloads.ReplaySkipSync
	}
	return 0
}

func firstN(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// prepareReplays reads the iolog of each job that replays one and makes
// the job the log's: its files (or replay_redirect), its directions, its
// largest block for the buffers, the whole files as its region. It
// returns each job's log (nil for the others).
func prepareReplays(jobs []workloads.Job) ([]*replayLog, error) {
	logs := make([]*replayLog, len(jobs))
	for i := range jobs {
		j := &jobs[i]
		if j.ReadIOLog == "" {
			continue
		}
		l, err := parseReplayLog(j.ReadIOLog, j)
		if err != nil {
			return nil, fmt.Errorf("job %q: %w", j.Name, err)
		}
		logs[i] = l
		if j.ReplayRedirect != "" {
			j.Filename = j.ReplayRedirect
		} else {
			for _, f := range l.files {
				if strings.Contains(f, ":") {
					return nil, fmt.Errorf("job %q: read_iolog: the file %q has a colon in its name: give it with replay_redirect", j.Name, f)
				}
			}
			j.Filename = strings.Join(l.files, ":")
		}
		switch {
		case l.chunked != nil:
			// The log's later lines are not known: the job may
			// write, as a replay of reads and writes.
			j.RW = workloads.RandRW
		case l.reads && l.writes:
			j.RW = workloads.RandRW
		case l.writes:
			j.RW = workloads.RandWrite
		default:
			j.RW = workloads.RandRead
		}
		if l.chunked != nil {
			l.maxLen = max(l.maxLen, j.MaxBS())
		}
		j.BS = [2]uint64{l.maxLen, l.maxLen}
		j.BSRange, j.BSSplit = [2][2]uint64{}, [2][]workloads.BSSplit{}
		j.Size, j.SizePct, j.Offset, j.NumberIOs = 0, 0, 0, 0
	}
	return logs, nil
}

// replayPreflight checks, before any I/O, that every I/O the log sends to
// the job's file k (at path) lies within it and suits its alignment; of
// a chunked log, it keeps the file's size and alignment, against which
// each I/O is checked as it is read.
func replayPreflight(j *workloads.Job, l *replayLog, k int, path string) error {
	if l == nil {
		return nil
	}
	d, err := device.Open(path, device.Options{ReadOnly: true})
	if err != nil {
		return err
	}
	defer d.Close()
	g := d.Geometry()
	lim := fileLimit{set: true, size: g.SizeBytes, align: uint64(max(g.LogicalBlockSize, g.DIOOffsetAlign)), path: path}
	if c := l.chunked; c != nil {
		for len(c.p.limits) <= k {
			c.p.limits = append(c.p.limits, fileLimit{})
		}
		c.p.limits[k] = lim
	}
	for _, e := range l.entries {
		if e.sync != engine.NoSync || j.ReplayRedirect == "" && e.file != k {
			continue
		}
		if err := checkReplayed(j, e, lim); err != nil {
			return err
		}
	}
	return nil
}

// checkReplayed checks a replayed I/O against its file's size and, with
// direct I/O, alignment.
func checkReplayed(j *workloads.Job, e replayEntry, lim fileLimit) error {
	if e.off+e.length > lim.size || e.off+e.length < e.off {
		return fmt.Errorf("job %q: read_iolog: a %s of %d bytes at %d is past the end of %s (%d bytes)", j.Name,
			map[bool]string{true: "write", false: "read"}[e.write], e.length, e.off, lim.path, lim.size)
	}
	if j.Direct && (e.off%lim.align != 0 || e.length%lim.align != 0) {
		return fmt.Errorf("job %q: read_iolog: a %s of %d bytes at %d is not aligned to %s's %d-byte blocks (direct I/O)", j.Name,
			map[bool]string{true: "write", false: "read"}[e.write], e.length, e.off, lim.path, lim.align)
	}
	return nil
}

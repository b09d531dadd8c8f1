package runner

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/iobench/iobench/device"
	"github.com/iobench/iobench/engine"
	"github.com/iobench/iobench/engine/mapper"
	"github.com/iobench/iobench/mapcache"
	"github.com/iobench/iobench/workloads"
)

// jobTarget is what a job runs on: its files (block devices or regular
// files; iobench's automatic target for a job that names none), each one
// device of the job's engine, and which of them each clone works on. A
// job on one target is a job with one file: the same path through the
// runner serves both.
type jobTarget struct {
	paths []string // every file of the job, once, in device order
	// desc names what the job runs on, for its report: the automatic
	// target's description, or its files (describeFiles).
	desc string
	// replay is the iolog the job replays (read_iolog; nil: none): its
	// files are paths, in its order.
	replay *replayLog
	// clones[c] lists clone c's files in file order, as indexes into
	// paths: every clone has the same list when the files are named
	// (filename=), and files of its own when iobench names them.
	clones [][]int
	// plans[i] is what the job needs of paths[i] (the bytes it must hold)
	// and covers of it per pass (IO).
	plans []workloads.FilePlan
	// regular[i] reports a regular file (laid out when too short,
	// removed by unlink); have[i] is its size before the run.
	regular []bool
	have    []uint64
	shared  bool // the clones share their files
	// appendAt[i], for a job with file_append, is where its I/O on
	// regular file i starts: the file's end once the jobs before it are
	// laid out (nil: no file_append, or no regular file). sharers[i]
	// counts the clones working on file i, each taking the next IO
	// bytes after it in clone order.
	appendAt []uint64
	sharers  []int
	// onOpen[i] is a regular file that a create_on_open job creates (or
	// leaves short) when it opens it, not laid out before the jobs: its
	// writes extend it, as fio's do (nil: none).
	onOpen []bool
}

// createsOnOpen reports whether file i is made by the job's open
// (create_on_open), not laid out.
func (t *jobTarget) createsOnOpen(i int) bool { return t.onOpen != nil && t.onOpen[i] }

// planTargets returns each job's target, checking named files first, and
// the automatic target that jobs naming no file share (the caller closes
// it). Regular files that a job needs and that are missing or too short
// are laid out afterwards by layOutFiles; every size problem that can be
// known before any I/O is an error here.
func planTargets(jobs []workloads.Job, st settings, run *Run) ([]*jobTarget, *Target, error) {
	targets := make([]*jobTarget, len(jobs))
	var auto *Target
	ends := map[string]uint64{} // each regular file's size once laid out for the jobs planned
	for i := range jobs {
		j := &jobs[i]
		t := &jobTarget{shared: true}
		targets[i] = t
		if onAutoTarget(j) {
			if err := checkDirectories(j); err != nil {
				// fio refuses a missing directory= whatever the engine,
				// null too, whose files the automatic target stands in for.
				return nil, auto, &badInput{err}
			}
			if auto == nil {
				mk := AutoTarget
				if nullOnlyAuto(jobs) {
					// ioengine=null reaches no device: a loop device
					// over the file would go unused.
					mk = FileTarget
				}
				a, err := mk(int64(autoSize(jobs, st)))
				if err != nil {
					return nil, auto, err
				}
				auto = a
				run.Target = a.Desc
			}
			t.add(auto.Path)
			t.desc = auto.Desc
			for c := range j.NumJobs {
				// A null job's files (nrfiles, a filename list) all
				// stand on the automatic target, each over its own
				// size, as fio's null engine runs each file it names.
				list := []int{0}
				if j.NullIO() {
					list = make([]int, max(len(j.FilePaths(c)), 1))
				}
				t.clones = append(t.clones, list)
			}
			if err := t.plan(j, ends); err != nil {
				return nil, auto, &badInput{err}
			}
			continue
		}
		run.Target = j.Filename
		switch {
		case j.OpenDir != "":
			run.Target = j.OpenDir
		case j.Filename == "":
			run.Target = strings.Join(j.FilePaths(0), ":")
		}
		t.shared = len(j.Filenames()) > 0
		for c := range j.NumJobs {
			var list []int
			for _, p := range j.FilePaths(c) {
				list = append(list, t.add(p))
			}
			t.clones = append(t.clones, list)
			if t.shared {
				for c := 1; c < j.NumJobs; c++ {
					t.clones = append(t.clones, list)
				}
				break
			}
		}
		if err := t.check(j); errors.Is(err, device.ErrUnreadable) {
			return nil, auto, err // the device's failure, not the user's input (exit 1)
		} else if err != nil {
			return nil, auto, &badInput{err}
		}
		if err := t.plan(j, ends); err != nil {
			return nil, auto, &badInput{err}
		}
		if err := t.checkUnlinkEachLoop(j); err != nil {
			return nil, auto, &badInput{err}
		}
		t.desc = describeFiles(j, t.paths)
		for i, p := range t.paths {
			if t.regular[i] {
				ends[p] = max(ends[p], t.have[i], t.plans[i].Need)
			}
		}
	}
	return targets, auto, nil
}

// describeFiles names the files a job runs on, as opened (directory
// included): one, a few, or the first and how many more (or opendir's
// directory and its count).
func describeFiles(j *workloads.Job, paths []string) string {
	switch {
	case j.OpenDir != "":
		return fmt.Sprintf("%s (%d files)", j.OpenDir, len(paths))
	case len(paths) <= 3:
		return strings.Join(paths, ", ")
	}
	return fmt.Sprintf("%s and %d more files", paths[0], len(paths)-1)
}

// findOpenDirs finds the files of each job with opendir: the regular
// files under the directory, found as fio 3.33 finds them (each
// directory's entries in the order it lists them, a subdirectory's files
// where the subdirectory comes; symbolic links, devices and other files
// passed over). A directory on a kernel interface filesystem is refused
// before its entries are read, as its files would be (checkTarget). An
// empty file is left out, with a notice, when the job gives no size: fio
// leaves it out too ("may be ignored"). A directory with no file to work
// on is refused (fio runs the job on none, doing nothing).
func findOpenDirs(jobs []workloads.Job, stderr io.Writer) error {
	for i := range jobs {
		j := &jobs[i]
		if j.OpenDir == "" {
			continue
		}
		files, err := walkOpenDir(j.OpenDir)
		if err != nil {
			return fmt.Errorf("job %q: opendir=%s: %w", j.Name, j.OpenDir, err)
		}
		j.OpenDirFiles = j.OpenDirFiles[:0]
		for _, f := range files {
			if st, err := os.Stat(f); err == nil && st.Size() == 0 && j.Size == 0 && j.FileSize[1] == 0 {
				fmt.Fprintf(stderr, "iobench: notice: job %q: opendir: %s is empty and the job gives no size: left out, as fio leaves it\n", j.Name, f)
				continue
			}
			j.OpenDirFiles = append(j.OpenDirFiles, f)
		}
		if len(j.OpenDirFiles) == 0 {
			return fmt.Errorf("job %q: opendir=%s: no regular file to work on under it (fio runs such a job on no file, doing nothing)", j.Name, j.OpenDir)
		}
		if err := j.CheckFileCount(); err != nil {
			return fmt.Errorf("job %q: opendir=%s found %d files: %w", j.Name, j.OpenDir, len(j.OpenDirFiles), err)
		}
	}
	return nil
}

// walkOpenDir lists the regular files under dir, recursively, in the
// order the directories list them (not sorted: as fio's readdir walk).
func walkOpenDir(dir string) ([]string, error) {
	if fs := kernelFS(dir); fs != "" {
		return nil, fmt.Errorf("%s is on %s, a kernel interface, not storage: refused", dir, fs)
	}
	d, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	ents, err := d.ReadDir(-1) // directory order; os.ReadDir would sort
	d.Close()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		switch {
		case e.Type().IsRegular():
			out = append(out, p)
		case e.IsDir():
			sub, err := walkOpenDir(p)
			if err != nil {
				return nil, err
			}
			out = append(out, sub...)
		}
	}
	return out, nil
}

// onAutoTarget reports a job that runs on the automatic target: it names
// no files, or it is a null job whose files do not exist (nullStandIn).
func onAutoTarget(j *workloads.Job) bool { return !j.NamesFiles() || nullStandIn(j) }

// nullOnlyAuto reports whether every job on the automatic target runs
// ioengine=null: the target is then a file, with no loop device over it.
func nullOnlyAuto(jobs []workloads.Job) bool {
	for i := range jobs {
		if onAutoTarget(&jobs[i]) && !jobs[i].NullIO() {
			return false
		}
	}
	return true
}

// nameAsFile gives a job that names no file (no filename=, directory=,
// nrfiles=, filename_format= or filesize=) the block device its name
// names, as fio takes a job name that is an existing file other than a
// regular one for its file (fio's disk-zone-profile.fio has a section
// [/dev/sdb] and no filename=). Without it such a job would measure the
// automatic target. Only block devices are taken: a name that happens to
// be a directory or a pipe keeps the automatic target. It reports whether
// it set the file.
func nameAsFile(j *workloads.Job) (bool, error) {
	if j.NamesFiles() || strings.ContainsRune(j.Name, ':') {
		return false, nil
	}
	fi, err := os.Stat(j.Name)
	if err != nil || fi.Mode()&os.ModeDevice == 0 || fi.Mode()&os.ModeCharDevice != 0 {
		return false, nil
	}
	return true, j.SetDerived("filename", j.Name) // not a "job option": fio lists none
}

// nullStandIn reports an ioengine=null job whose files do not exist, or
// whose one file is smaller than the job's extent: fio's null engine
// never opens them, so the job runs on the automatic target instead,
// creating and extending nothing (fio's null.fio asks for 100g).
func nullStandIn(j *workloads.Job) bool {
	if !j.NullIO() {
		return false
	}
	var need uint64 // the extent of a job on one file; 0 when not known
	if j.Size > 0 && j.OffsetPct == 0 && j.OffsetIncrementPct == 0 && j.NumFiles() == 1 {
		need = j.Offset + j.Size + j.OffsetIncrement*uint64(max(j.NumJobs-1, 0))
	}
	for c := range j.NumJobs {
		for _, p := range j.FilePaths(c) {
			if size, ok := existingSize(p); ok && size >= need {
				return false
			}
		}
	}
	return true
}

// existingSize returns the size of the regular file or block device at
// p, the largest size for any other file, and false when p does not
// exist or a device's size cannot be read.
func existingSize(p string) (uint64, bool) {
	st, err := os.Stat(p)
	switch {
	case err != nil:
		return 0, false
	case st.Mode().IsRegular():
		return uint64(st.Size()), true
	case st.Mode()&os.ModeDevice == 0 || st.Mode()&os.ModeCharDevice != 0:
		return math.MaxUint64, true
	}
	d, err := device.Open(p, device.Options{ReadOnly: true})
	if err != nil {
		return 0, false
	}
	defer d.Close()
	return d.Geometry().SizeBytes, true
}

// autoSize is the size of the automatic target: --target-size, or larger
// when a job on it with ioengine=null asks for more (fio's null engine
// reads nothing, so its examples ask for 100g; the target is sparse, so
// the size costs nothing).
func autoSize(jobs []workloads.Job, st settings) uint64 {
	size := st.targetSize
	if st.targetSizeSet {
		return size
	}
	for i := range jobs {
		j := &jobs[i]
		extent := j.Size
		if extent == 0 {
			// filesize alone (fio's t0030.fio: filesize=1T): the job's
			// files, each at most its largest.
			extent = j.FileSize[1] * uint64(max(j.NrFiles, 1))
		}
		if onAutoTarget(j) && j.NullIO() && extent > 0 && j.OffsetPct == 0 && j.OffsetIncrementPct == 0 {
			need := j.Offset + extent + j.OffsetIncrement*uint64(max(j.NumJobs-1, 0))
			size = max(size, (need+1<<20-1)/(1<<20)*(1<<20))
		}
	}
	return size
}

// add adds path to the target's files (once) and returns its index.
func (t *jobTarget) add(path string) int {
	for i, p := range t.paths {
		if p == path {
			return i
		}
	}
	t.paths = append(t.paths, path)
	return len(t.paths) - 1
}

// noCreateWhy names what keeps job j from creating or laying out files:
// its allow_file_create=0, or else --readonly (which clears it).
func noCreateWhy(j *workloads.Job) string {
	if j.IsSet("allow_file_create") {
		return "allow_file_create=0"
	}
	return "--readonly"
}

// underDev reports whether path is under /dev (but not /dev/shm, a tmpfs
// for files), where a missing name is a mistyped device, not a file to
// create (fio would lay out a regular file in devtmpfs, that is in
// memory, and measure that).
func underDev(path string) bool {
	abs, err := filepath.Abs(path)
	return err == nil && strings.HasPrefix(abs, "/dev/") && !strings.HasPrefix(abs, "/dev/shm/")
}

// checkDirectories reports a directory= of job j that is not a
// directory, as fio refuses it ("is not a directory").
func checkDirectories(j *workloads.Job) error {
	for _, d := range j.Directories() {
		st, err := os.Stat(d)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return fmt.Errorf("job %q: directory=%s: not a directory: it does not exist", j.Name, d)
		case err != nil:
			return fmt.Errorf("job %q: directory=%s: not a directory: %w", j.Name, d, err)
		case !st.IsDir():
			return fmt.Errorf("job %q: directory=%s: not a directory", j.Name, d)
		}
	}
	return nil
}

// layoutAllowed reports whether iobench lays out job j's regular files:
// fio does so for every engine that does I/O; with a mapper other than
// linear the file is a device image, whose size the mapper reads.
func layoutAllowed(j *workloads.Job) bool { return j.Mapper == "linear" && !j.NullIO() }

// check finds what each of the job's files is, before any I/O: a block
// device (with the write-safety checks for a writing job), a regular file,
// or a missing one, which the job may create unless allow_file_create=0
// or its directory does not exist. A mapper=fiemap job reads its file
// through the block device under it, which becomes the target.
func (t *jobTarget) check(j *workloads.Job) error {
	if err := checkDirectories(j); err != nil {
		return err
	}
	for i, p := range t.paths {
		st, err := os.Stat(p)
		switch {
		case errors.Is(err, fs.ErrNotExist) && underDev(p):
			return fmt.Errorf("job %q: %s does not exist: no such device (iobench creates no files under /dev; check the name with lsblk)", j.Name, p)
		case errors.Is(err, fs.ErrNotExist) && !j.AllowFileCreate:
			return fmt.Errorf("job %q: %s does not exist, and %s forbids creating it", j.Name, p, noCreateWhy(j))
		case errors.Is(err, fs.ErrNotExist) && !layoutAllowed(j):
			return fmt.Errorf("job %q: filename: %w", j.Name, err)
		case errors.Is(err, fs.ErrNotExist):
			t.regular = append(t.regular, true)
			continue
		case err != nil:
			return fmt.Errorf("job %q: filename: %w", j.Name, err)
		}
		if j.Mapper == "fiemap" {
			dev, err := fiemapDevice(p)
			if err != nil {
				return err
			}
			t.paths[i] = dev
			t.regular = append(t.regular, false)
			continue
		}
		if err := checkTarget(j, p); err != nil {
			return err
		}
		t.regular = append(t.regular, st.Mode().IsRegular())
	}
	return nil
}

// plan sizes the job's files (workloads.PlanFiles) from the sizes they
// have, and refuses what cannot be laid out: a block device too small for
// the job, a regular file too short when allow_file_create=0 or when the
// job's mapper reads the file as an image. ends holds the size each
// regular file has once the jobs planned before are laid out, where a
// file_append job's I/O starts.
func (t *jobTarget) plan(j *workloads.Job, ends map[string]uint64) error {
	t.have = make([]uint64, len(t.paths))
	t.plans = make([]workloads.FilePlan, len(t.paths))
	if t.regular == nil {
		t.regular = make([]bool, len(t.paths))
	}
	for i, p := range t.paths {
		if t.regular[i] {
			if st, err := os.Stat(p); err == nil {
				t.have[i] = uint64(st.Size())
			}
			continue
		}
		d, err := device.Open(p, device.Options{ReadOnly: true})
		if err != nil {
			return err
		}
		t.have[i] = d.Geometry().SizeBytes
		d.Close()
	}
	if len(t.paths) == 1 && j.HasPct() {
		// As preflight resolves them against the device (which it
		// then does again, to the same values). A regular file a job
		// before this one lays out counts at that size, as fio
		// resolves the percentage when the job starts.
		size := t.have[0]
		if t.regular[0] {
			size = max(size, ends[t.paths[0]])
		}
		j.ResolvePct(size)
		if j.SizePct > 0 && j.Size == 0 {
			return fmt.Errorf("job %q: size=%g%% of %s's %d bytes is less than a block", j.Name, j.SizePct, t.paths[0], size)
		}
		if j.SizePct > 0 {
			j.Size = min(j.Size, size-min(j.Offset, size))
		}
	}
	seen := make([]bool, len(t.paths))
	for c, list := range t.clones {
		paths, have := make([]string, len(list)), make([]uint64, len(list))
		for k, pi := range list {
			paths[k], have[k] = t.paths[pi], t.have[pi]
		}
		plans, err := j.PlanFiles(paths, have, c)
		if err != nil {
			return err
		}
		for k, pi := range list {
			p := plans[k]
			if seen[pi] {
				p.IO = t.plans[pi].IO
			}
			p.Need = max(p.Need, t.plans[pi].Need)
			t.plans[pi], seen[pi] = p, true
		}
	}
	if j.FileAppend {
		if err := t.planAppend(j, ends); err != nil {
			return err
		}
	}
	for i, p := range t.paths {
		need := t.plans[i].Need
		if need <= t.have[i] {
			continue
		}
		switch {
		case !t.regular[i] && t.have[i] == 0:
			return fmt.Errorf("job %q: %s is empty (0 bytes: a loop device with no file attached, or a device with no medium), and the job needs %d bytes", j.Name, p, need)
		case !t.regular[i] || !layoutAllowed(j):
			return fmt.Errorf("job %q: %s + size %d exceed %s's %d bytes", j.Name, startSaid(j, need-t.plans[i].IO), t.plans[i].IO, p, t.have[i])
		case !j.AllowFileCreate:
			return fmt.Errorf("job %q: %s holds %d bytes, the job needs %d, and %s forbids laying it out", j.Name, p, t.have[i], need, noCreateWhy(j))
		case j.CreateOnOpen && (j.RW.Reads() || j.VerifyOnly):
			// fio 3.33 on a missing file: psync (its default engine)
			// fails at the first read (err=5, "full resid"); io_uring
			// completes every read with no data and reports IOPS of reads
			// that read nothing.
			past := "its reads past the end fail (EIO)"
			if j.IsSet("ioengine") && !j.SyncEngine() {
				past = "its asynchronous engines' reads past the end complete with no data (fio counts them as I/Os of 0 bytes)"
			}
			return fmt.Errorf("job %q: create_on_open with rw=%s: %s holds %d bytes and the job reads up to %d: fio creates it at the job's open without laying it out, and %s; "+
				"iobench measures no reads of nothing: lay the file out first (create_on_open=0, or an earlier job that writes it)", j.Name, j.RW, p, t.have[i], need, past)
		case j.CreateOnOpen:
			if t.onOpen == nil {
				t.onOpen = make([]bool, len(t.paths))
			}
			t.onOpen[i] = true
		}
	}
	return nil
}

// planAppend places a file_append job's I/O on each regular file after
// the file's end (as fio 3.33 does: its offset and offset_increment give
// way; clones sharing the file append one after the other, as fio's
// clones, laying it out in turn, each find it longer), and sizes the
// layout to match. Block devices keep the job's offsets, as fio ignores
// file_append on them.
func (t *jobTarget) planAppend(j *workloads.Job, ends map[string]uint64) error {
	t.sharers = make([]int, len(t.paths))
	for _, list := range t.clones {
		for _, pi := range list {
			t.sharers[pi]++
		}
	}
	for i, p := range t.paths {
		if !t.regular[i] {
			continue
		}
		if j.Size == 0 && j.FileSize[1] == 0 {
			return fmt.Errorf("job %q: file_append on %s needs size= or filesize= (the bytes to append; fio finds nothing to do without)", j.Name, p)
		}
		if t.appendAt == nil {
			t.appendAt = make([]uint64, len(t.paths))
		}
		t.appendAt[i] = max(t.have[i], ends[p])
		t.plans[i].Need = t.appendAt[i] + uint64(t.sharers[i])*t.plans[i].IO
	}
	return nil
}

// checkUnlinkEachLoop refuses, before any I/O, an unlink_each_loop job
// whose regular files cannot be removed and created afresh between its
// loops (nextLoop) as fio does it: a job that reads (fio's next loop
// finds the file gone, ENOENT, or empty, EIO, and fails), one that
// replays an iolog, one whose mapper reads the file as an image, and
// clones sharing a file (each of fio's clones removes it under the
// others, which go on writing the removed one).
func (t *jobTarget) checkUnlinkEachLoop(j *workloads.Job) error {
	if !unlinksEachLoop(j) || !slices.Contains(t.regular, true) {
		return nil
	}
	sharers := make([]int, len(t.paths))
	for _, list := range t.clones {
		for _, pi := range list {
			sharers[pi]++
		}
	}
	for i, p := range t.paths {
		switch {
		case !t.regular[i]:
		case j.RW.Reads() || j.VerifyOnly:
			return fmt.Errorf("job %q: unlink_each_loop with rw=%s: the job's second loop would read %s, removed after the first (fio's fails: the file is gone, or empty)", j.Name, j.RW, p)
		case j.ReadIOLog != "":
			return fmt.Errorf("job %q: unlink_each_loop with read_iolog: not implemented (the log's I/O is one pass)", j.Name)
		case !layoutAllowed(j):
			return fmt.Errorf("job %q: unlink_each_loop with mapper=%s: the mapper reads %s as an image, which removing it would destroy", j.Name, j.Mapper, p)
		case sharers[i] > 1:
			return fmt.Errorf("job %q: unlink_each_loop with %d clones on %s: each would remove the file the others write (fio's do); give each clone files of its own (no filename=)", j.Name, sharers[i], p)
		}
	}
	return nil
}

// appends reports whether file i of the target takes a file_append
// job's I/O after its end.
func (t *jobTarget) appends(i int) bool { return t.appendAt != nil && t.regular[i] }

// appendRank is clone c's place among the clones working on file i
// (file_append: the clone's I/O on it starts rank x IO bytes after
// appendAt[i]).
func (t *jobTarget) appendRank(c, i int) int {
	rank := 0
	for k := range c {
		if slices.Contains(t.clones[k], i) {
			rank++
		}
	}
	return rank
}

// startSaid names the start of a job's I/O in an error: its offset, or
// for a clone spread by offset_increment (clone n starts at start) that
// clone's start and how it comes about.
func startSaid(j *workloads.Job, start uint64) string {
	if j.NumJobs > 1 && j.OffsetIncrement > 0 && start > j.Offset {
		n := (start - j.Offset) / j.OffsetIncrement
		who := fmt.Sprintf("clone %d's", n)
		if n == uint64(j.NumJobs-1) {
			who = "the last clone's"
		}
		return fmt.Sprintf("%s offset %d (offset %d + %d x offset_increment %d)", who, start, j.Offset, n, j.OffsetIncrement)
	}
	return fmt.Sprintf("offset %d", start)
}

// layOutFiles creates and extends the regular files each job needs, as
// fio's "Laying out IO file" does, before any job runs: a job that reads
// (or writes with overwrite=1) gets its files written to their size with
// the job's buffer contents (random data unless zero_buffers or
// buffer_pattern), a job that only writes gets them allocated
// (fallocate=native, the default) or sparse (fallocate=none); each file
// is flushed. Unlike fio, which rewrites a short file from its start,
// iobench writes only past its end: what a short file held stays. The
// line saying so goes to stderr.
func layOutFiles(jobs []workloads.Job, targets []*jobTarget, stderr io.Writer) error {
	if err := checkLayoutSpace(jobs, targets); err != nil {
		return err
	}
	laid := map[string]uint64{} // what an earlier job laid out: a shared file is laid out once
	for ji, t := range targets {
		j := &jobs[ji]
		var n int
		var total uint64
		for i, p := range t.paths {
			t.have[i] = max(t.have[i], laid[p])
			if t.regular[i] && t.plans[i].Need > t.have[i] && !t.createsOnOpen(i) {
				n++
				total += t.plans[i].Need
			}
		}
		if n == 0 {
			continue
		}
		if n == 1 {
			fmt.Fprintf(stderr, "%s: Laying out IO file (1 file / %dMiB)\n", j.Name, total>>20)
		} else {
			fmt.Fprintf(stderr, "%s: Laying out IO files (%d files / total %dMiB)\n", j.Name, n, total>>20)
		}
		for i, p := range t.paths {
			if !t.regular[i] || t.plans[i].Need <= t.have[i] || t.createsOnOpen(i) {
				continue
			}
			if err := layOut(j, p, t.have[i], t.plans[i].Need); errors.Is(err, errInterrupted) {
				return err
			} else if err != nil {
				return fmt.Errorf("job %q: lay out %s: %w", j.Name, p, err)
			}
			t.have[i] = t.plans[i].Need
			laid[p] = t.have[i]
		}
	}
	return nil
}

// checkLayoutSpace refuses, before anything is written, files to lay out
// that need more space than their filesystems have free (a job file
// written for a 4 TB device, run on a file). The bytes each file lacks
// are added up per filesystem; a file several jobs share counts once, at
// the most any of them needs. Files that create_on_open jobs make at
// their open count too: their writes will take the space.
func checkLayoutSpace(jobs []workloads.Job, targets []*jobTarget) error {
	need := map[string]uint64{} // path: the most any job needs of it
	have := map[string]uint64{}
	for _, t := range targets {
		for i, p := range t.paths {
			if t.regular[i] && t.plans[i].Need > t.have[i] {
				need[p] = max(need[p], t.plans[i].Need)
				have[p] = t.have[i]
			}
		}
	}
	type fsys struct {
		dir        string
		lack, free uint64
		files      int
	}
	byDev := map[uint64]*fsys{}
	for p, n := range need {
		dir := filepath.Dir(p)
		for {
			if _, err := os.Stat(dir); err == nil || dir == filepath.Dir(dir) {
				break
			}
			dir = filepath.Dir(dir) // made by the layout
		}
		var st unix.Stat_t
		var sf unix.Statfs_t
		if unix.Stat(dir, &st) != nil || unix.Statfs(dir, &sf) != nil {
			continue // the layout reports what is wrong with the path
		}
		fs := byDev[st.Dev]
		if fs == nil {
			fs = &fsys{dir: dir, free: sf.Bavail * uint64(sf.Bsize)}
			byDev[st.Dev] = fs
		}
		fs.lack += n - have[p]
		fs.files++
	}
	for _, fs := range byDev {
		if fs.lack > fs.free {
			return &badInput{fmt.Errorf("laying out the jobs' files needs %s more on the filesystem of %s (%d file(s)), which has %s free: give a smaller size or filesize, or a device",
				humanBytes(fs.lack), fs.dir, fs.files, humanBytes(fs.free))}
		}
	}
	return nil
}

// layOut makes the regular file at path hold need bytes (it holds have).
// Interrupted (the user's signal) or failing (ENOSPC, an I/O error), it
// stops within a MiB and leaves the file as it found it: removed when it
// made it, cut back to have bytes otherwise (so that a failed fallocate
// gives back what it took); interrupted, it returns errInterrupted.
func layOut(j *workloads.Job, path string, have, need uint64) (err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	_, statErr := os.Stat(path)
	made := errors.Is(statErr, fs.ErrNotExist)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	defer func() {
		if err == nil {
			return
		}
		if made {
			os.Remove(path)
		} else {
			f.Truncate(int64(have))
		}
	}()
	if !j.RW.Reads() && !j.Overwrite {
		if j.Fallocate == "native" {
			err := unix.Fallocate(int(f.Fd()), 0, int64(have), int64(need-have))
			if err != nil && !errors.Is(err, unix.EOPNOTSUPP) {
				return fmt.Errorf("fallocate: %w", err)
			}
		}
		if err := f.Truncate(int64(need)); err != nil {
			return err
		}
		return f.Sync()
	}
	fill := newBufferFiller(j, j.RandSeed^0x6c61796f7574, 0)
	buf := make([]byte, 1<<20)
	fill.initial(buf)
	for off := have; off < need; {
		if interrupted.Load() {
			return errInterrupted
		}
		n := min(uint64(len(buf)), need-off)
		if _, err := f.WriteAt(buf[:n], int64(off)); err != nil {
			return err
		}
		off += n
		if !fill.fixed() {
			fill.random(buf)
		}
	}
	return f.Sync()
}

// removeFiles removes the regular files of a job that sets unlink, once
// it has run.
func removeFiles(j *workloads.Job, t *jobTarget) error {
	if !j.Unlink {
		return nil
	}
	var errs []error
	for i, p := range t.paths {
		if t.regular[i] {
			if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// linearFiles is the mapper of a job on several files: file i of the
// engine (named fileName(i)) is the whole of device i, in place, as
// mapper.Linear maps one.
type linearFiles struct {
	engine.InPlace
	byName map[string]*mapper.Linear
}

func newLinearFiles(n int) *linearFiles {
	m := &linearFiles{byName: make(map[string]*mapper.Linear, n)}
	for i := range n {
		m.byName[fileName(i)] = mapper.NewLinear(uint32(i), 0, 0)
	}
	return m
}

// fileName is the engine's name for file i of a job on several files.
func fileName(i int) string { return fmt.Sprintf("file%d", i) }

func (m *linearFiles) of(f *engine.File) (*mapper.Linear, error) {
	l, ok := m.byName[f.Name()]
	if !ok {
		return nil, fmt.Errorf("%w: no file %q in the job", mapper.ErrConfig, f.Name())
	}
	return l, nil
}

// OpenFile reports the size of the file's device.
func (m *linearFiles) OpenFile(f *engine.File) (uint64, error) {
	l, err := m.of(f)
	if err != nil {
		return 0, err
	}
	return l.OpenFile(f)
}

// MapRead maps the file onto its own device.
func (m *linearFiles) MapRead(req *engine.MapRequest, dst []mapcache.Mapping) ([]mapcache.Mapping, error) {
	l, err := m.of(req.File)
	if err != nil {
		return dst, err
	}
	return l.MapRead(req, dst)
}

package runner

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/dustin/go-humanize"

	"github.com/iobench/iobench/device"
	"github.com/iobench/iobench/engine"
	"github.com/iobench/iobench/engine/mapper"
	"github.com/iobench/iobench/workloads"
)

const ext4Usage = `Usage:
  iobench ext4 ls DEVICE [PATH]            list a directory (default /) or one file of the ext4
                                           filesystem on DEVICE: inode, mode, size, name
  iobench ext4 cat DEVICE PATH             copy a file to stdout, read through the engine
  iobench ext4 tree DEVICE [DIR] [--passes=N]
                                           read every file under DIR (default /) through the engine,
                                           N times (default 1; files stay open: passes after the
                                           first run on a warm cache), and report the cache statistics
  iobench ext4 bench [--rounds=N] [--runtime=S]
                                           the ext4 section of 'make bench' alone: a fragmented file read
                                           by the kernel's ext4 (fio, O_DIRECT) and by the engine, A B B A,
                                           N rounds (default 3) of S seconds (default 5); needs root and fio

DEVICE is a block device or an image file holding an ext2/3/4 filesystem that
is not mounted, or mounted read-only. Nothing is ever written. Paths are inside
the filesystem; symbolic links are followed inside it.

Examples:
  iobench ext4 ls disk.img /etc
  iobench ext4 cat disk.img /etc/passwd > passwd
  iobench ext4 tree /dev/sdb1 /usr --passes=2
  iobench ext4 bench --rounds=5 --runtime=3
`

// ext4Main runs "iobench ext4 ..." and returns the exit status.
func ext4Main(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, "iobench: ext4: missing command (ls, cat, tree or bench)\n\n"+ext4Usage)
		return 2
	}
	if args[0] == "help" || args[0] == "--help" || args[0] == "-h" || slices.Contains(args, "--help") || slices.Contains(args, "-h") {
		fmt.Fprint(stdout, ext4Usage)
		return 0
	}
	cmd, args := args[0], args[1:]
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "iobench: ext4 %s: %s\nRun 'iobench ext4 help' for the usage.\n", cmd, fmt.Sprintf(format, a...))
		return 2
	}
	want := map[string][2]int{"ls": {1, 2}, "cat": {2, 2}, "tree": {1, 2}, "bench": {0, 0}}
	n, ok := want[cmd]
	if !ok {
		fmt.Fprintf(stderr, "iobench: ext4: unknown command %q (want ls, cat, tree or bench)\nRun 'iobench ext4 help' for the usage.\n", cmd)
		return 2
	}
	// The options each command takes, and their values.
	opts := map[string][]string{"bench": {"rounds", "runtime"}, "tree": {"passes"}}[cmd]
	passes, rounds, runtime := 1, 3, "5"
	var pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if len(a) < 2 || a[0] != '-' {
			pos = append(pos, a)
			continue
		}
		key, v, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !slices.Contains(opts, key) {
			takes := "takes no options"
			if len(opts) > 0 {
				takes = "takes --" + strings.Join(opts, "=N, --") + "=N"
			}
			return usageErr("unknown option %s (%s %s)", a, cmd, takes)
		}
		if !hasVal {
			if i+1 >= len(args) {
				return usageErr("--%s needs a value", key)
			}
			i++
			v = args[i]
		}
		switch key {
		case "rounds":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 100 {
				return usageErr("--rounds=%s: want 1..100", v)
			}
			rounds = n
		case "runtime":
			if s, err := strconv.ParseUint(v, 10, 32); err != nil || s < 1 {
				return usageErr("--runtime=%s: want whole seconds, at least 1", v)
			}
			runtime = v
		case "passes":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 1000 {
				return usageErr("--passes=%s: want 1..1000", v)
			}
			passes = n
		}
	}
	if len(pos) < n[0] || len(pos) > n[1] {
		args := map[string]string{"ls": "DEVICE [PATH]", "cat": "DEVICE PATH", "tree": "DEVICE [DIR]", "bench": "no arguments"}[cmd]
		got := "none"
		if len(pos) > 0 {
			got = strconv.Quote(strings.Join(pos, " "))
		}
		return usageErr("want %s, got %s", args, got)
	}
	if cmd == "bench" {
		return exit(stderr, ext4BenchMain(rounds, runtime, stdout, stderr))
	}
	target := "/"
	if len(pos) > 1 {
		target = pos[1]
	}
	s, err := openExt4(pos[0], stderr)
	if err != nil {
		return exit(stderr, err)
	}
	defer s.Close()
	if _, err := s.m.FS().Lookup(target, false); err != nil {
		if !errors.Is(err, mapper.ErrExt4NotFound) && !errors.Is(err, mapper.ErrExt4NotDir) {
			return exit(stderr, fmt.Errorf("ext4 %s: %w", cmd, err)) // a corrupt filesystem, a read error
		}
		// A path the filesystem does not have is the user's input.
		return exit(stderr, &badInput{fmt.Errorf("ext4 %s: %w (in the filesystem on %s; list a directory with 'iobench ext4 ls %s DIR')", cmd, err, pos[0], pos[0])})
	}
	switch cmd {
	case "ls":
		err = s.ls(target, stdout)
	case "cat":
		err = s.cat(target, stdout)
	case "tree":
		err = s.tree(target, passes, stdout)
	}
	return exit(stderr, err)
}

// ext4Session is an engine over one ext4 device, read-only.
type ext4Session struct {
	dev *device.Device
	raw *os.File
	m   *mapper.Ext4
	eng *engine.Engine
	bs  uint32 // cache block size for files
}

func openExt4(path string, stderr io.Writer) (*ext4Session, error) {
	state, err := mapper.CheckExt4Mount(path, false)
	if err != nil {
		return nil, &badInput{err}
	}
	s := &ext4Session{}
	if s.dev, err = device.Open(path, device.Options{ReadOnly: true}); err != nil {
		return nil, err
	}
	if s.raw, s.m, err = newExt4(path, s.dev, false); err != nil {
		s.dev.Close()
		return nil, err
	}
	sb := s.m.FS().Superblock()
	fmt.Fprintf(stderr, "ext4: %s: %s; %d-byte blocks, %s; features: %s\n", path, state, sb.BlockSize(),
		humanize.IBytes(sb.BlocksCount*uint64(sb.BlockSize())), sb.Features())
	s.bs = ext4FileBlockSize(s.m)
	if s.eng, err = engine.New(engine.Config{Devices: []*device.Device{s.dev}, Mapper: s.m, QueueDepth: 32}); err != nil {
		s.raw.Close()
		s.dev.Close()
		return nil, err
	}
	return s, nil
}

func (s *ext4Session) Close() error {
	err := s.eng.Close()
	s.raw.Close()
	return errors.Join(err, s.dev.Close())
}

// newExt4 opens path again for the filesystem's metadata (buffered reads)
// and makes the mapper over engine device 0 (dev).
func newExt4(path string, dev *device.Device, overwrite bool) (*os.File, *mapper.Ext4, error) {
	raw, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	m, err := mapper.NewExt4(0, raw, dev.Geometry().SizeBytes, mapper.Ext4Options{Overwrite: overwrite})
	if err != nil {
		raw.Close()
		return nil, nil, &badInput{fmt.Errorf("%s: %w", path, err)}
	}
	return raw, m, nil
}

// ext4FileBlockSize is the cache block size for files of m's filesystem:
// 4096, or the filesystem's block size when smaller.
func ext4FileBlockSize(m *mapper.Ext4) uint32 { return min(4096, m.BlockSize()) }

// fileBlockSize is the cache block size runJob opens a job's file with
// (0: the engine's default).
func fileBlockSize(m engine.Mapper) uint32 {
	if e, ok := m.(*ext4JobMapper); ok {
		return ext4FileBlockSize(e.Ext4)
	}
	return 0
}

func (s *ext4Session) ls(p string, w io.Writer) error {
	fsys := s.m.FS()
	in, err := fsys.Lookup(p, false)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	defer tw.Flush()
	line := func(ino uint32, name string) {
		c, err := fsys.Inode(ino)
		if err != nil {
			fmt.Fprintf(tw, "%d\t?\t?\t %s (%v)\t\n", ino, name, err)
			return
		}
		extra := ""
		if c.IsSymlink() {
			if t, err := fsys.ReadLink(c); err == nil {
				extra = " -> " + t
			}
		}
		fmt.Fprintf(tw, "%d\t%v\t%d\t %s%s\t\n", ino, c.FileMode(), c.Size, name, extra)
	}
	if !in.IsDir() {
		line(in.Ino, path.Base(p))
		return nil
	}
	ents, err := fsys.ReadDir(in)
	if err != nil {
		return err
	}
	for _, e := range ents {
		line(e.Ino, e.Name)
	}
	return nil
}

func (s *ext4Session) cat(p string, w io.Writer) error {
	if in, err := s.m.FS().Lookup(p, true); err == nil && in.IsDir() {
		return &badInput{fmt.Errorf("ext4 cat: %s is not a regular file but a directory: list it with 'iobench ext4 ls'", p)}
	}
	f, err := s.eng.Open(p, engine.FileOptions{BlockSize: s.bs})
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = s.copyFile(f, w)
	return err
}

// copyFile reads f from start to end through the engine, in 1 MiB
// requests, and writes it to w (when not nil).
func (s *ext4Session) copyFile(f *engine.File, w io.Writer) (uint64, error) {
	buf := s.eng.Buffer(1 << 20)
	defer s.eng.PutBuffer(buf)
	var done uint64
	for done < f.Size() {
		if interrupted.Load() {
			return done, errInterrupted // SIGINT, SIGTERM, SIGHUP: stop between reads
		}
		n, err := f.ReadAt(buf, int64(done))
		if err != nil && !errors.Is(err, io.EOF) {
			return done, err
		}
		if w != nil {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return done, werr
			}
		}
		done += uint64(n)
		if n == 0 {
			break
		}
	}
	if done != f.Size() {
		return done, fmt.Errorf("ext4: %s: read %d of %d bytes", f.Name(), done, f.Size())
	}
	return done, nil
}

// tree reads every regular file under dir, passes times, and reports what
// the engine's cache did.
func (s *ext4Session) tree(dir string, passes int, w io.Writer) error {
	fsys := s.m.FS()
	var files []*engine.File
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	seen := map[uint32]bool{}
	var walk func(p string, depth int) error
	walk = func(p string, depth int) error {
		if interrupted.Load() {
			return errInterrupted
		}
		in, err := fsys.Lookup(p, false)
		if err != nil {
			return err
		}
		if depth > 64 || seen[in.Ino] {
			return nil
		}
		seen[in.Ino] = true
		switch {
		case in.IsRegular():
			f, err := s.eng.Open(p, engine.FileOptions{BlockSize: s.bs})
			if err != nil {
				return err
			}
			files = append(files, f)
		case in.IsDir():
			ents, err := fsys.ReadDir(in)
			if err != nil {
				return err
			}
			for _, e := range ents {
				if e.Name == "." || e.Name == ".." {
					continue
				}
				if err := walk(path.Join(p, e.Name), depth+1); err != nil {
					return err
				}
			}
		}
		return nil
	}
	start := time.Now()
	if err := walk(path.Clean("/"+dir), 0); err != nil {
		return err
	}
	opened := time.Since(start)
	fmt.Fprintf(w, "%d files under %s opened and mapped in %v\n", len(files), dir, opened.Round(time.Microsecond))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "pass\tbytes\ttime\trate\tmapper calls\thits\tmisses\thit rate\tdevice I/Os\tzero-filled\tinline\tcached extents\t")
	prev := s.eng.Stats()
	for pass := 1; pass <= passes; pass++ {
		t0 := time.Now()
		var total uint64
		for _, f := range files {
			n, err := s.copyFile(f, nil)
			total += n
			if err != nil {
				return err
			}
		}
		d := time.Since(t0)
		st := s.eng.Stats()
		hits, misses := st.Hits-prev.Hits, st.Misses-prev.Misses
		rate := 0.0
		if hits+misses > 0 {
			rate = 100 * float64(hits) / float64(hits+misses)
		}
		fmt.Fprintf(tw, "%d\t%s\t%v\t%s/s\t%d\t%d\t%d\t%.1f%%\t%d\t%s\t%s\t%d\t\n", pass, humanize.IBytes(total),
			d.Round(time.Microsecond), humanize.IBytes(uint64(float64(total)/max(d.Seconds(), 1e-9))),
			st.MapperCalls-prev.MapperCalls, hits, misses, rate, st.IOs-prev.IOs,
			humanize.IBytes(st.ZeroBytes-prev.ZeroBytes), humanize.IBytes(st.InlineBytes-prev.InlineBytes), st.CachedExtents)
		prev = st
	}
	return tw.Flush()
}

// closeMapper releases what a job's mapper holds beyond the engine (the
// ext4 mapper's metadata view of the device).
func closeMapper(m engine.Mapper) {
	if c, ok := m.(io.Closer); ok {
		c.Close()
	}
}

// ext4JobMapper is mapper.Ext4 for a job (--mapper=ext4), holding the
// metadata view of the device until the job ends.
type ext4JobMapper struct {
	*mapper.Ext4
	raw *os.File
}

// Close closes the metadata view.
func (m *ext4JobMapper) Close() error { return m.raw.Close() }

// newExt4JobMapper is newMapper for mapper=ext4: the file is ext4_file
// inside the filesystem on the job's target, sized to a whole number of
// 4 KiB blocks (the job's region; the tail of a last partial block is
// left out).
func newExt4JobMapper(j *workloads.Job, dev *device.Device) (engine.Mapper, string, uint64, error) {
	if _, err := mapper.CheckExt4Mount(dev.Path(), j.Ext4Overwrite); err != nil {
		return nil, "", 0, err
	}
	raw, m, err := newExt4(dev.Path(), dev, j.Ext4Overwrite)
	if err != nil {
		return nil, "", 0, err
	}
	in, err := m.FS().Lookup(j.Ext4File, true)
	if err != nil {
		raw.Close()
		return nil, "", 0, fmt.Errorf("ext4_file=%s: %w", j.Ext4File, err)
	}
	size := in.Size / 4096 * 4096
	if size == 0 {
		raw.Close()
		return nil, "", 0, fmt.Errorf("ext4_file=%s: %d bytes, less than one 4 KiB block to run a job on", j.Ext4File, in.Size)
	}
	return &ext4JobMapper{Ext4: m, raw: raw}, j.Ext4File, size, nil
}

// ringSplitFactor multiplies a job's ring depth for mappers whose
// requests split into several device I/Os: an ext4 file's extents can
// be a block long, and with one ring entry per request a 128 KiB read
// over 16 KiB extents would keep one request in flight instead of
// iodepth (the kernel's direct I/O has no such limit on its bios).
// Measured on a 4096-extent file, 128 KiB reads at QD 8: 0.4-0.6x the
// kernel's ext4 with the plain depth, 0.6-1.0x with 8x.
func ringSplitFactor(j *workloads.Job) int {
	if j.Mapper != "ext4" {
		return 1
	}
	return int(min(max(j.MaxBS()/4096, 1), 8))
}

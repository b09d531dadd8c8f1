package workloads

import (
	"cmp"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// A job's files, as fio has them. A job runs on one target or on several:
// the names of filename= (separated by ':', where '\:' is a colon inside a
// name), or nrfiles files named jobname.clone.file that each clone makes
// for itself when no filename is given, in directory= (or the working
// directory). Each file is addressed from 0 to its own size; the job's
// offset and size apply to each file, and file_service_type says in which
// order the files take the job's I/O.

// FileService is fio's file_service_type: which file takes the next I/O.
type FileService struct {
	// Kind is "roundrobin" (each file in turn), "sequential" (a file
	// until its part of the pass is done, then the next), "random" (a
	// file drawn among those not done, as fio 3.33 draws it), or "zipf", "pareto"
	// or "normal" (gauss): each I/O's file drawn as fio 3.33 draws it,
	// Dist giving the parameter and the center.
	Kind string
	// N is the I/Os a file takes before the job moves on (roundrobin,
	// random); 1 unless given as kind:N.
	N int
	// Dist is the skewed kinds' distribution (zipf:θ, pareto:h,
	// normal:dev, each with an optional :center).
	Dist Dist
}

// skewed reports whether the files are drawn by zipf, pareto or normal.
func (s FileService) skewed() bool {
	return s.Kind == "zipf" || s.Kind == "pareto" || s.Kind == "normal"
}

func (s FileService) String() string {
	if s.skewed() {
		return s.Dist.String()
	}
	if s.N > 1 && s.Kind != "sequential" {
		return s.Kind + ":" + strconv.Itoa(s.N)
	}
	return s.Kind
}

// ParseFileService parses file_service_type: roundrobin, sequential or
// random, each with an optional ":N", or zipf:θ, pareto:h, normal:dev
// (or gauss:dev), each with an optional :center, as random_distribution
// takes them.
func ParseFileService(v string) (FileService, error) {
	kind, arg, hasArg := strings.Cut(strings.ToLower(strings.TrimSpace(v)), ":")
	s := FileService{Kind: kind, N: 1}
	switch kind {
	case "roundrobin", "sequential", "random":
	case "zipf", "pareto", "normal", "gauss":
		d, err := ParseDist(v)
		s.Kind, s.Dist = d.Kind, d
		return s, err
	default:
		return s, fmt.Errorf("want roundrobin, sequential or random, with an optional :N, or zipf, pareto, normal (gauss) with an optional :param[:center]")
	}
	if hasArg {
		n, err := parseInt(arg, 1, 1<<30)
		if err != nil {
			return s, fmt.Errorf(":%s: %w", arg, err)
		}
		s.N = n
	}
	return s, nil
}

// splitList splits a ':' separated list of names, where '\:' is a colon
// inside a name (fio's escape); empty names are dropped.
func splitList(v string) []string {
	var out []string
	var cur strings.Builder
	for i := 0; i < len(v); i++ {
		switch {
		case v[i] == '\\' && i+1 < len(v) && v[i+1] == ':':
			cur.WriteByte(':')
			i++
		case v[i] == ':':
			if cur.Len() > 0 {
				out = append(out, cur.String())
			}
			cur.Reset()
		default:
			cur.WriteByte(v[i])
		}
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}

// Filenames returns the names filename= gives, unescaped, or with
// opendir the files found under it (OpenDirFiles); nil when neither is
// set.
func (j *Job) Filenames() []string {
	if j.OpenDir != "" {
		return j.OpenDirFiles
	}
	return splitList(j.Filename)
}

// CheckFileCount refuses what a job's number of files rules out: several
// files with a mapper other than linear, or with sizes in percent, and
// openfiles below the files. With opendir it is known once the files are
// found, and checked again then.
func (j *Job) CheckFileCount() error {
	var errs []error
	if n := j.NumFiles(); n > 1 {
		if j.Mapper != "linear" {
			errs = append(errs, fmt.Errorf("mapper=%s runs on one file: the job has %d (several files need mapper=linear)", j.Mapper, n))
		}
		if j.HasPct() {
			errs = append(errs, fmt.Errorf("size, offset and offset_increment as percentages take one target: the job has %d files", n))
		}
	}
	if j.OpenFiles > 0 && j.OpenFiles < j.NumFiles() {
		errs = append(errs, fmt.Errorf("openfiles=%d is below the job's %d files: iobench keeps every file of a job open (each is a device of the job's engine)", j.OpenFiles, j.NumFiles()))
	}
	return errors.Join(errs...)
}

// Directories returns the directories directory= gives; nil when it is
// not set.
func (j *Job) Directories() []string { return splitList(j.Directory) }

// NamesFiles reports whether the job runs on files of its own rather than
// iobench's automatic target: it names them (filename, opendir), or asks for files
// by directory, nrfiles, filename_format or filesize, which fio then
// names by filename_format (jobname.clone.file).
func (j *Job) NamesFiles() bool {
	return j.Filename != "" || j.OpenDir != "" || j.IsSet("directory") || j.IsSet("nrfiles") || j.IsSet("filename_format") || j.FileSize[1] > 0
}

// NumFiles returns how many files each clone of the job works on.
func (j *Job) NumFiles() int {
	if n := len(j.Filenames()); n > 0 {
		return n
	}
	return max(j.NrFiles, 1)
}

// defaultFilenameFormat is fio's filename_format.
const defaultFilenameFormat = "$jobname.$jobnum.$filenum"

// FilePaths returns the paths clone works on, in file order, as fio names
// them. Named files are shared by every clone, each prefixed with the
// first directory when directory= is set (fio prefixes absolute names
// too). Without filename= each clone has files of its own, named by
// filename_format (fio's default jobname.clone.file), in directory number
// clone mod the number of directories (or the working directory). Nil
// when the job names no files (NamesFiles is false).
func (j *Job) FilePaths(clone int) []string {
	if !j.NamesFiles() {
		return nil
	}
	dirs := j.Directories()
	if names := j.Filenames(); len(names) > 0 {
		out := make([]string, len(names))
		for i, n := range names {
			out[i] = n
			if len(dirs) > 0 {
				out[i] = dirs[0] + "/" + n
			}
		}
		return out
	}
	dir := ""
	if len(dirs) > 0 {
		dir = dirs[clone%len(dirs)]
	}
	out := make([]string, max(j.NrFiles, 1))
	for i := range out {
		name := strings.NewReplacer("$jobname", j.Name, "$jobnum", strconv.Itoa(clone), "$filenum", strconv.Itoa(i), "$clientuid", "").
			Replace(cmp.Or(j.FilenameFormat, defaultFilenameFormat))
		out[i] = filepath.Join(dir, name)
	}
	return out
}

// FilePlan is one file's part of a job.
type FilePlan struct {
	// Need is the bytes the file must hold; a regular file that is
	// shorter is laid out to this size before the job.
	Need uint64
	// IO is the bytes of the file, from the job's offset, that one pass
	// of the job covers (fio's io_size of a file).
	IO uint64
}

// PlanFiles returns what each of clone's files must hold and what the job
// covers of it, given the bytes each holds now (have; 0 for a file that
// does not exist), as fio sizes them:
//   - without filesize, each file takes size/files bytes of the job's
//     size (the first files a block more each for the whole blocks of
//     the remainder, as fio's), or all it holds when the job gives no
//     size;
//   - with filesize, a file keeps its size when it lies in the range;
//     otherwise it gets the size, or one drawn from the range, rounded
//     down to the smallest block size (reproducible from randseed); the
//     clone covers it from its start to that end, as fio does
//     (offset=1m filesize=2m: 1 MiB of a 2 MiB file), a file_append job
//     the whole size after the file's end.
//
// A file of zero bytes with no size to give it is an error naming it.
func (j *Job) PlanFiles(paths []string, have []uint64, clone int) ([]FilePlan, error) {
	out := make([]FilePlan, len(paths))
	n := uint64(len(paths))
	unit := max(j.MinBS(), 1)
	rng := rand.New(rand.NewPCG(j.RandSeed^0x66696c6573697a65, uint64(clone)))
	start := j.Offset + uint64(clone)*j.OffsetIncrement
	for i := range paths {
		p := &out[i]
		lo, hi := j.FileSize[0], j.FileSize[1]
		switch {
		case hi == 0 && j.Size > 0:
			p.IO = j.Size / n
			if uint64(i) < (j.Size-p.IO*n)/unit {
				// fio gives the first files a block more each where
				// the remainder holds whole blocks.
				p.IO += unit
			}
		case hi == 0:
			p.IO = have[i] - min(start, have[i])
		default:
			// The file's size: what it holds when in the range, else
			// filesize's.
			end := have[i]
			switch {
			case have[i] >= lo && have[i] <= hi:
			case lo == hi:
				end = lo
			default:
				s := lo + rng.Uint64N(hi-lo+1)
				end = max(s/unit*unit, lo)
			}
			p.IO = end
			if !j.FileAppend {
				// fio covers the file from the start to its end
				// (offset=1m filesize=2m: 1 MiB).
				p.IO = end - min(start, end)
				if p.IO == 0 && clone > 0 && j.OffsetIncrement > 0 {
					return nil, j.ClonePastEnd(clone, start, paths[i], end)
				}
				if p.IO == 0 {
					return nil, fmt.Errorf("job %q: offset %d is at or past the end of %s, %d bytes with filesize=%s (fio: \"you need to specify valid offset=\", or at the end \"blocksize is larger than data set range\")", j.Name, start, paths[i], end, rangeString(j.FileSize))
				}
			}
		}
		switch {
		case p.IO == 0 && have[i] > 0 && clone > 0 && j.OffsetIncrement > 0:
			return nil, j.ClonePastEnd(clone, start, paths[i], have[i])
		case p.IO == 0 && have[i] > 0:
			return nil, fmt.Errorf("job %q: offset %d is past the end of %s (%d bytes)", j.Name, start, paths[i], have[i])
		case p.IO == 0 && j.FillDevice:
			return nil, fmt.Errorf("job %q: fill_device on %s, a regular file that does not exist or is empty, without a size in bytes: writing until the filesystem is full is not implemented (on a block device fill_device covers the whole device); give size= or filesize=", j.Name, paths[i])
		case p.IO == 0:
			return nil, fmt.Errorf("job %q: %s does not exist or is empty and the job gives no size: give size= or filesize=", j.Name, paths[i])
		}
		p.Need = start + p.IO
	}
	return out, nil
}

// ToEnd reports whether each clone's region of a file runs from the
// clone's start (offset + n*offset_increment) to the end of the file: the
// job gives no size, as fio 3.33 then gives each clone the rest of the
// file from its own start (numjobs=4 offset_increment=16m on 64 MiB: 64,
// 48, 32 and 16 MiB), or filesize, whose end the regions run to (size
// then bounds only the bytes moved). Not with file_append, whose I/O
// goes after the file's end.
func (j *Job) ToEnd() bool { return !j.FileAppend && (j.Size == 0 || j.FileSize[1] > 0) }

// ClonesFitting returns how many of the job's first clones start a
// block or more before the end of a file of size bytes, each with room
// for its smallest block (ToEnd's regions).
func (j *Job) ClonesFitting(size uint64) int {
	mb := max(j.MinBS(), 1)
	if j.Offset+mb > size {
		return 0
	}
	if j.OffsetIncrement == 0 {
		return j.NumJobs
	}
	return int(min(uint64(j.NumJobs), (size-j.Offset-mb)/j.OffsetIncrement+1))
}

// ClonePastEnd is the error for clone n of a job without size whose
// start, offset + n*offset_increment, is at or past the end of the file
// of size bytes at path: fio 3.33 fails that clone ("you need to specify
// valid offset=" past the end; at the end, no byte to do, "blocksize is
// larger than data set range") and runs the others, exiting non-zero.
func (j *Job) ClonePastEnd(clone int, start uint64, path string, size uint64) error {
	where, says := "past", "you need to specify valid offset="
	if start == size {
		where, says = "at", "blocksize is larger than data set range"
	}
	return fmt.Errorf("job %q: clone %d starts at %d (offset %d + %d x offset_increment %d), %s the end of %s (%d bytes): %s each clone covers %s from its own start to the end, and fio 3.33 fails this clone (%q) while the others run; give numjobs=%d or less, or a smaller offset_increment",
		j.Name, clone, start, j.Offset, clone, j.OffsetIncrement, where, path, size, j.ToEndWhy(), path, says, j.ClonesFitting(size))
}

// ToEndWhy names what makes a job's regions run to the end of its files
// (ToEnd): "without size=", or "with filesize=".
func (j *Job) ToEndWhy() string {
	if j.FileSize[1] > 0 {
		return "with filesize="
	}
	return "without size="
}

// FileGen spreads one clone's I/O over its files as file_service_type
// says, each file through a Generator of its own (offsets from 0 in that
// file). A file whose part of the pass is done takes no more I/O until
// every file's is; then a new pass starts. With one file it is that
// file's Generator. Not safe for concurrent use; Next allocates nothing.
type FileGen struct {
	gens  []*Generator
	left  []uint64 // bytes of the current pass each file still takes
	tried []bool   // files whose pass is done that fio would have tried again
	span  uint64
	svc   FileService
	cur   int // the file taking I/O; -1 before the first
	taken int // I/Os the current file has taken since it was chosen
	// pick: random, fio's draws of the next file (its next_file_state);
	// reseed: a new pass seeds it afresh (randrepeat, as fio's loop).
	pick   *fioRand
	reseed bool
	skew   *fioDist // zipf, pareto, normal: fio's draws of the next file
	// mapless: the files' random offsets fill no map (Generator.mapless),
	// so no file's part of the pass runs out.
	mapless bool
	// loopsLeft, more: rw=rw, read or write (Generator.seqFiles): the
	// loops still to start when every file is done, and whether io_size
	// asks for more.
	loopsLeft int
	more      bool
	// PassEnds, when set (by the runner), makes Next return
	// IO{End: true, PassEnd: true} where such a loop ends, before the
	// next loop's first I/O (see Generator.PassEnds).
	PassEnds bool
	// passStart: the files' I/Os issued when restartFiles last started
	// a pass; none yet: ^0.
	passStart uint64
}

// SeqLoops reports whether the files end their loops where their
// sequential I/O finds their ends (Generator.seqFiles): rw=rw, read or
// write over several files, not time_based.
func (g *FileGen) SeqLoops() bool { return len(g.gens) > 1 && g.gens[0].seqFiles }

// NewFileGen returns clone's chooser over gens, one Generator per file.
// With filesize and size both set, a pass covers at most size bytes of
// all the files together, offsets drawn over the whole of each file (fio
// stops the job there: filesize=16m size=2m reads 2 MiB at offsets over
// the 16 MiB).
func NewFileGen(j *Job, clone int, gens []*Generator) *FileGen {
	g := &FileGen{gens: gens, left: make([]uint64, len(gens)), tried: make([]bool, len(gens)), svc: j.FileService, cur: -1, passStart: ^uint64(0)}
	if g.svc.Kind == "" {
		g.svc = FileService{Kind: "roundrobin", N: 1}
	}
	if g.svc.Kind == "random" {
		// fio draws the next file from the thread's state of seed
		// number 5, 64-bit with random_generator=tausworthe64, seeded
		// afresh at each loop with randrepeat (fioRepeatable).
		g.pick = &fioRand{use64: j.RandomGenerator == "tausworthe64", seed: fioSeed(j, gens[0].thread, fioFileSeedIndex)}
		g.pick.reseed()
		g.reseed = fioRepeatable(j)
	}
	for _, x := range gens {
		g.span += x.PassBytes()
	}
	if j.FileSize[1] > 0 && j.Size > 0 {
		g.span = min(g.span, j.Size)
	}
	// fio's thread draws its directions, sizes and sequential-or-random
	// choices for all its files from one set of states.
	for _, x := range gens {
		x.fd = gens[0].fd
		if x.fo != nil {
			x.fo.draws = x.fd
		}
	}
	if g.svc.skewed() {
		// fio draws a file per I/O over the files' number times 1024
		// ranges, unhashed, from a 32-bit state seeded with the thread's
		// seed number 5; a file whose pass is over starts its next
		// (its map cleared) without a new seed.
		g.skew = newFioSkew(g.svc.Dist, uint64(len(gens))<<fioFileServiceShift)
		g.skew.noHash = true
		g.skew.seedWith(uint32(fioSeed(j, gens[0].thread, fioFileSeedIndex)))
		for _, x := range gens {
			if x.fo != nil {
				x.fo.timeBased = true
			}
		}
	}
	if fo := gens[0].fo; fo != nil {
		// fio's files of a thread draw from the thread's one random
		// state, seeded from the job's randseed (the runner's per-file
		// jobs have seeds of their own).
		seed := fioOffsetSeed(j, fo.thread)
		for _, x := range gens {
			if x.fo != nil {
				x.fo.seed(seed, fo.rnd)
				if d := x.fo.dist; d != nil {
					// zipf, pareto, normal: each file's own state,
					// seeded from its name; zoned: the thread's one
					// zone state.
					if fo.dist != nil && fo.dist.zone != nil {
						d.zone = fo.dist.zone
					}
					d.seed(j, fo.thread, x.fo.name)
				}
			}
		}
	}
	if len(gens) == 1 && !j.TimeBased && j.RWMod == 0 && !j.RWBack && !gens[0].zoned {
		// fio's loop ends where the sequential I/O finds the region's
		// end (Generator.mixLoops, seqLoops).
		gens[0].mixLoops = j.RW == ReadWrite
		gens[0].seqLoops = j.RW == Read || j.RW == Write
		gens[0].seqEnds = j.RW == Read || j.RW == Write || j.RW == Trim || j.RW == TrimWrite
	}
	for _, x := range gens {
		x.multi = len(gens) > 1
		x.seqFiles = x.multi && (j.RW == ReadWrite || j.RW == Read || j.RW == Write) && !j.TimeBased && j.RWMod == 0 && !j.RWBack && !x.zoned
	}
	if gens[0].seqFiles {
		g.loopsLeft, g.more = max(j.Loops, 1)-1, j.IOSize > 0
	}
	if gens[0].seqFiles && j.RW == ReadWrite {
		// rw=rw's reads and writes of a file together may move more
		// than the file: fio's job moves its size, or its files'
		// sizes together before they are rounded to blocks when
		// those are less (as a job without a random map, below).
		var span uint64
		for _, x := range gens {
			span += x.logical
		}
		if j.FileSize[1] > 0 && j.Size > 0 {
			span = min(span, j.Size)
		}
		g.span = max(g.span, span)
	}
	if g.mapless = gens[0].mapless(); g.mapless {
		// fio's job without a random map moves its size, or its files'
		// sizes together before they are rounded to blocks when those
		// are less (nrfiles=3 over size=1m: 1048575 bytes, so 256 I/Os
		// of 4k), and a file whose random offset leaves no room for an
		// I/O is done (a skewed file_service_type starts it over
		// instead: not followed, the offset is moved back to fit).
		var span uint64
		for _, x := range gens {
			span += x.logical
			x.dropUnfit = g.skew == nil
		}
		if j.FileSize[1] > 0 && j.Size > 0 {
			span = min(span, j.Size)
		}
		g.span = max(g.span, span)
	}
	g.refill()
	return g
}

// Span returns the bytes one pass over all the files transfers (see
// Generator.PassBytes).
func (g *FileGen) Span() uint64 { return g.span }

// Files returns the number of files.
func (g *FileGen) Files() int { return len(g.gens) }

// Gen returns file i's Generator.
func (g *FileGen) Gen(i int) *Generator { return g.gens[i] }

func (g *FileGen) refill() {
	for i, x := range g.gens {
		g.left[i] = x.PassBytes()
		g.tried[i] = false
	}
}

// Next returns the file that takes the next I/O, and the I/O.
func (g *FileGen) Next() (int, IO) {
	if len(g.gens) == 1 {
		if x := g.gens[0]; x.plain {
			// Generator.Next's choice, made here: the runner's
			// calls of Next are inlined (cmd/iobench's profile finds
			// them hot), Generator.Next's are not, and the one call
			// left is nextPlain's.
			return 0, x.nextPlain()
		}
		return 0, g.gens[0].Next()
	}
	if g.cur < 0 || g.left[g.cur] == 0 || g.svc.Kind != "sequential" && g.taken >= g.svc.N {
		g.choose()
		for tries := 0; g.skew != nil && g.gens[g.cur].seqAtEnd() && tries < 1<<16; tries++ {
			// fio's sequential I/O finds the file at its end: fio
			// starts the file over and draws a file again.
			g.gens[g.cur].pos = [2]uint64{}
			g.choose()
		}
	}
	io := g.gens[g.cur].Next()
	for io.End && (g.mapless || g.gens[g.cur].doneFile) {
		// fio finds the file done; the others go on, and the job ends
		// when every file is done.
		g.left[g.cur], g.tried[g.cur] = 0, true
		if !slices.ContainsFunc(g.left, func(l uint64) bool { return l > 0 }) {
			if !g.nextLoop() {
				if g.PassEnds && g.restartFiles() {
					return g.cur, IO{IOFlags: IOFlags{End: true, PassEnd: true}}
				}
				return g.cur, io
			}
			if g.PassEnds {
				g.taken = g.svc.N // the next I/O chooses its file
				return g.cur, IO{IOFlags: IOFlags{End: true, PassEnd: true}}
			}
		}
		g.choose()
		io = g.gens[g.cur].Next()
	}
	if !g.mapless && !g.gens[g.cur].seqFiles {
		// (rw=rw, read, write: a file's part of the pass ends where
		// a direction finds its end, not after its share of the
		// bytes.)
		g.left[g.cur] -= min(g.left[g.cur], io.Length)
	}
	g.taken++
	return g.cur, io
}

// nextLoop starts fio's next loop of rw=rw, read or write over several
// files (Generator.seqFiles), once every file is done, where a loop is
// left (or io_size asks for more: the runner stops the job at its
// bytes): each file from its start again, the thread's draws from their
// seeds (randrepeat), the files in turn from the
// one after the file found done last. It reports false at the job's end.
func (g *FileGen) nextLoop() bool {
	if !g.gens[0].seqFiles || g.loopsLeft == 0 && !g.more {
		return false
	}
	if g.loopsLeft > 0 {
		g.loopsLeft--
	}
	for _, x := range g.gens {
		x.pos, x.doneFile = [2]uint64{}, false
	}
	if fd := g.gens[0].fd; fd != nil {
		fd.newLoop()
	}
	if g.pick != nil && g.reseed {
		g.pick.reseed()
	}
	g.refill()
	return true
}

// restartFiles starts the next pass of random files with a random map or
// an LFSR (Generator.loopOrEnd's, for PassEnds) once every file is done,
// where the pass issued I/O: each file's states seeded for its next
// loop, the files in turn from the one after the file found done last.
// It reports false where it starts none.
func (g *FileGen) restartFiles() bool {
	var n uint64
	for _, x := range g.gens {
		if !x.mapped() || x.seqFiles || x.fo.timeBased {
			return false
		}
		n += x.issues[0] + x.issues[1] + x.issues[2]
	}
	if n == g.passStart {
		return false
	}
	g.passStart = n
	for _, x := range g.gens {
		x.fo.newLoop()
		x.pos, x.doneFile = [2]uint64{}, false
	}
	g.refill()
	if g.pick != nil && g.reseed {
		g.pick.reseed()
	}
	g.taken = g.svc.N // the next I/O chooses its file
	return true
}

// choose picks the next file: the one after the current (roundrobin,
// sequential) or one drawn at random, among the files whose part of the
// pass is not done; when every file's is, a new pass starts.
func (g *FileGen) choose() {
	// fio tries the current file once more when it has I/Os of its
	// turn left (random:N).
	retry := g.cur >= 0 && g.taken < g.svc.N
	g.taken = 0
	undone := 0
	for _, l := range g.left {
		if l > 0 {
			undone++
		}
	}
	if undone == 0 {
		if fo := g.gens[0].fo; fo != nil && !fo.repeat {
			// fio tries each file not found done yet, in turn (or
			// as random draws them), and finds it done: with
			// randrepeat=0 the next loop's states go on past the
			// tries' draws.
			switch {
			case g.pick != nil:
				if retry {
					g.tryOnce(g.cur)
				}
				for slices.Contains(g.tried, false) {
					g.tryOnce(int(g.pick.block(uint64(len(g.gens)))))
				}
			default:
				for i := 1; i <= len(g.gens); i++ {
					g.tryOnce((max(g.cur, 0) + i) % len(g.gens))
				}
			}
		}
		g.refill()
		if g.pick != nil && g.reseed {
			g.pick.reseed()
		}
		for _, l := range g.left {
			if l > 0 {
				undone++
			}
		}
	}
	if g.skew != nil {
		// fio marks no file done: each takes its next pass in turn.
		g.cur = int(g.skew.next(nil, 0, 1) >> fioFileServiceShift)
		return
	}
	if g.pick != nil && undone > 0 {
		g.choosePick(retry)
		return
	}
	for i := 1; i <= len(g.gens); i++ {
		c := (g.cur + i) % len(g.gens)
		if g.cur < 0 {
			c = i - 1
		}
		if g.left[c] > 0 {
			g.cur = c
			return
		}
		// fio learns a file is done by trying it once more.
		g.tryOnce(c)
	}
}

// tryOnce makes, once per pass, the try by which fio finds file c done
// (Generator.tryDone).
func (g *FileGen) tryOnce(c int) {
	if !g.tried[c] {
		g.tried[c] = true
		g.gens[c].tryDone()
	}
}

// choosePick draws the next file as fio's get_next_file_rand does: the
// number of files times the draw over the generator's range, truncated,
// drawn again while it lands on a file fio has found done. fio finds a
// file done by trying it: the current one when it has I/Os of its turn
// left (retry), or one drawn whose part of the pass is over; the try makes
// the draws of a failed I/O (Generator.tryDone) and marks it done.
func (g *FileGen) choosePick(retry bool) {
	if retry && g.left[g.cur] == 0 {
		g.tryOnce(g.cur)
	}
	for {
		c := int(g.pick.block(uint64(len(g.gens))))
		if g.left[c] > 0 {
			g.cur = c
			return
		}
		g.tryOnce(c)
	}
}

// setFileSize sets filesize: one size, or a range lo-hi.
func setFileSize(j *Job, v string) error {
	lo, hi, isRange := cutRange(v)
	a, err := j.parseSize(lo)
	if err != nil {
		return err
	}
	b := a
	if isRange {
		if b, err = j.parseSize(hi); err != nil {
			return err
		}
	}
	if a == 0 || b < a {
		return fmt.Errorf("want a size, or lo-hi with 0 < lo <= hi")
	}
	j.FileSize = [2]uint64{a, b}
	return nil
}

// rangeString prints a size or a range lo-hi; "" for none.
func rangeString(r [2]uint64) string {
	switch {
	case r[1] == 0:
		return ""
	case r[0] == r[1]:
		return sizeString(r[0])
	}
	return sizeString(r[0]) + "-" + sizeString(r[1])
}

// setFallocate sets fallocate: native, posix or 1 allocate the files a
// writing job creates; none or 0 leave them sparse.
func setFallocate(j *Job, v string) error {
	switch strings.ToLower(v) {
	case "native", "posix", "1":
		j.Fallocate = "native"
	case "none", "0":
		j.Fallocate = "none"
	case "keep", "truncate":
		return fmt.Errorf("%w: fallocate=%s: not implemented (native, posix or none)", ErrRefused, v)
	default:
		return fmt.Errorf("want native, posix or none")
	}
	return nil
}

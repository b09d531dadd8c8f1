package workloads

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

type optKind uint8

const (
	kindString optKind = iota
	kindInt
	kindSize
	kindTime
	kindBool
	kindFlag // like bool, but only meaningful when present (stonewall)
	kindFloat
)

// Option describes one option: its name, what it takes, its default and
// what it does. Options is the one table both the job-file parser and the
// command line use.
type Option struct {
	Name    string
	Arg     string // what the value looks like, for help
	Default string
	Help    string
	Engine  bool     // an iobench engine option (fio ignores it)
	Aliases []string // other names (filled in by Lookup)
	kind    optKind
	set     func(j *Job, v string) error
	get     func(j *Job) string
	// refuse, when set, returns why iobench cannot honour value ("" when
	// it can): the option is fio's, and that value would change what
	// runs in a way iobench does not implement.
	refuse func(v string) string
	// bareName: given with no value in a job file, the option takes the
	// job's name (fio's default log file prefix).
	bareName bool
}

var options = []Option{
	{Name: "name", Arg: "str", Help: "job name", kind: kindString,
		set: func(j *Job, v string) error { j.Name = v; return nil }, get: func(j *Job) string { return j.Name }},
	{Name: "description", Arg: "str", Help: "a description of the job, printed with its results as fio prints it: a Description line under the job's heading, desc in JSON, a last field in terse", kind: kindString,
		set: func(j *Job, v string) error { j.Description = v; return nil }, get: func(j *Job) string { return j.Description }},
	{Name: "filename", Arg: "path[:path...]", Help: "target block devices or regular files, several separated by ':' ('\\:' is a colon in a name); default: an automatically created loop device", kind: kindString,
		set: func(j *Job, v string) error { j.Filename = v; return nil }, get: func(j *Job) string { return j.Filename }},
	{Name: "directory", Arg: "dir[:dir...]", Help: "directory of the job's files; several separated by ':' are dealt to the clones in turn", kind: kindString,
		set: func(j *Job, v string) error { j.Directory = v; return nil }, get: func(j *Job) string { return j.Directory }},
	{Name: "opendir", Arg: "dir", Help: "the job's files are the regular files under dir, found recursively in directory order as fio finds them (symbolic links, devices and other files are passed over); every clone works on them all", kind: kindString,
		set: func(j *Job, v string) error { j.OpenDir = v; return nil }, get: func(j *Job) string { return j.OpenDir }},
	intOption("nrfiles", "n", "1", "files per clone, named jobname.clone.file, when no filename is given", 1, 1<<20, func(j *Job) *int { return &j.NrFiles }),
	{Name: "filename_format", Arg: "str", Default: "$jobname.$jobnum.$filenum", Help: "how files are named when no filename is given: $jobname, $jobnum (the clone) and $filenum are replaced; clones whose names agree share the files", kind: kindString,
		set: setFilenameFormat, get: func(j *Job) string { return j.FilenameFormat }},
	{Name: "filesize", Arg: "size|lo-hi", Help: "size of each file, or a range each file's size is drawn from (default: size divided among the files)", kind: kindSize,
		set: setFileSize, get: func(j *Job) string { return rangeString(j.FileSize) }},
	{Name: "file_service_type", Arg: "kind[:n]", Default: "roundrobin", Help: "which file takes the next I/O: roundrobin, sequential (each file to its end) or random, switching after n I/Os (random draws the file as fio 3.33 does: fio's seed slot 5 from randseed, seeded afresh at each loop with randrepeat, a file fio has found done drawn again, a file found done by trying it; not with percentage_random below 100, rw=rw or rw=randrw:N); or zipf:θ, pareto:h, normal:dev (gauss), each with an optional :center, drawing each I/O's file as fio 3.33 does; checked against fio 3.33's write_iolog (TestFioFileService, TestRandomOffsetsAsFio)", kind: kindString,
		set: func(j *Job, v string) (err error) { j.FileService, err = ParseFileService(v); return },
		get: func(j *Job) string { return j.FileService.String() }},
	intOption("openfiles", "n", "", "files open at once; iobench keeps every file of a job open, so fewer than the job's files is refused", 0, 1<<20, func(j *Job) *int { return &j.OpenFiles }),
	boolOption("allow_file_create", "bool", "1", "create and lay out files that are missing or too short; 0: refuse them", kindBool, func(j *Job) *bool { return &j.AllowFileCreate }),
	boolOption("overwrite", "bool", "", "a writing job lays its files out with data first (as a reading job does), not only allocated", kindBool, func(j *Job) *bool { return &j.Overwrite }),
	boolOption("unlink", "bool", "", "remove the job's regular files when it ends", kindBool, func(j *Job) *bool { return &j.Unlink }),
	boolOption("unlink_each_loop", "bool", "0", "with loops, remove the job's regular files after each loop but the last, as fio does, each loop's writes creating them afresh, empty (a job that reads is refused: fio's next loop fails on the removed file); block devices stay", kindBool, func(j *Job) *bool { return &j.UnlinkEachLoop }),
	boolOption("file_append", "bool", "0", "each regular file's I/O starts at its end: the job covers [file size, file size + size), laid out first as a short file is; offset and offset_increment give way, and clones sharing a file take its next size bytes in turn; one pass, as fio makes (loops and time_based end after it); no effect on block devices, as in fio", kindBool, func(j *Job) *bool { return &j.FileAppend }),
	{Name: "fallocate", Arg: "native|posix|none", Default: "native", Help: "how files a writing job creates are allocated: fallocate(2) (native, posix, 1) or not at all (none, 0: sparse)", kind: kindString,
		set: setFallocate, get: func(j *Job) string { return j.Fallocate }},
	{Name: "create_fsync", Arg: "1", Default: "1", Help: "flush laid-out files before the job (0 is refused: iobench always flushes them)", kind: kindBool,
		refuse: func(v string) string {
			if b, err := parseBool(v); err == nil && !b {
				return "iobench always flushes the files it lays out before the job"
			}
			return ""
		},
		set: func(j *Job, v string) error { _, err := parseBool(v); return err }, get: func(j *Job) string { return "1" }},
	{Name: "rw", Arg: "pattern", Default: "read", Help: "read, write, randread, randwrite, rw (readwrite), randrw, trim, randtrim, trimwrite, randtrimwrite, with :N (sequential: skip N bytes after each I/O; :-N starts each I/O N bytes before the end of the last; random: N I/Os per random offset)", kind: kindString,
		set: setRW, get: rwString,
		refuse: func(v string) string {
			pat, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(v)), ":")
			switch pat {
			case "filecreate", "filestat", "filedelete":
				return "not implemented: fio's file operations (its filecreate, filestat and filedelete engines) do no block I/O"
			}
			return ""
		}},
	{Name: "rwmixread", Arg: "pct", Default: "50", Help: "read share of rw and randrw, percent; a whole percentage gives each I/O fio 3.33's direction (fio's draw and its count of I/Os until the next, seeded as fio's from randseed)", kind: kindFloat,
		set: func(j *Job, v string) error {
			p, err := parseMix(j, v)
			j.RWMixRead = p
			return err
		}, get: func(j *Job) string { return strconv.FormatFloat(j.RWMixRead, 'g', -1, 64) }},
	{Name: "rwmixwrite", Arg: "pct", Default: "50", Help: "write share of rw and randrw, percent (rwmixread: 100 less it)", kind: kindFloat,
		set: func(j *Job, v string) error {
			p, err := parseMix(j, v)
			j.RWMixRead = 100 - p
			return err
		}, get: func(j *Job) string { return strconv.FormatFloat(100-j.RWMixRead, 'g', -1, 64) }},
	{Name: "bs", Arg: "size[,size]", Default: "4k", Help: "block size (reads,writes,trims as fio: a value left out repeats the one before, an empty one is 4k; ':' or '-' separate them as ',' does, as fio 3.33 reads them: bs=4k-8k is reads of 4k and writes of 8k, with a notice, not a range of sizes, which bsrange gives; trims use the write size, or with rw=trim and randtrim the third value, as fio's (the random map counting in the smallest of the three), and a trimwrite, randtrimwrite, bssplit or bsrange job whose third value differs is refused); alias blocksize", kind: kindSize,
		set: setBS, get: func(j *Job) string { return sizeString(j.BS[0]) + "," + sizeString(j.BS[1]) }},
	{Name: "bssplit", Arg: "size/pct:...[,size/pct:...]", Help: "mix of block sizes, e.g. 4k/50:64k/40:1m/10 (reads,writes; an empty one leaves that direction to bs); percentages as fio 3.33 reads them (whole, a fraction dropped; they need not add up to 100: a draw past their sum takes the largest), the sizes of reads and writes fio 3.33's draws", kind: kindSize,
		set: setBSSplit, get: func(j *Job) string { return bssplitString(j.BSSplit) }},
	intOption("iodepth", "n", "1", "I/Os in flight per job", 1, 4096, func(j *Job) *int { return &j.IODepth }),
	{Name: "iodepth_batch_submit", Arg: "n", Default: "auto", Help: "I/Os handed to the kernel together, as fio counts them (0, or more than iodepth: the iodepth, as fio takes it; fio's default is 1, each I/O at once); a wait also hands over what is queued, as fio's does, and the count carries over it; auto (unset): at once while the device holds fewer than a threshold of the job's I/Os (16 at depths 1 to 3, half the depth at depths 16 to 31, rising to at most 64 while the job's waits find nothing completed; at depths 4 to 15 none: every queued I/O when the job next waits), together when the job next waits otherwise; at depths of 16 and more the job measures as it runs whether holding new I/O for its next wait is faster, and holds it while it is; alias iodepth_batch", kind: kindInt,
		set: func(j *Job, v string) (err error) {
			if strings.EqualFold(v, "auto") {
				j.BatchSubmit = BatchAuto
				return nil
			}
			j.BatchSubmit, err = parseInt(v, 0, 4096)
			return
		},
		get: func(j *Job) string {
			if j.BatchSubmit == BatchAuto {
				return "auto"
			}
			return strconv.Itoa(j.BatchSubmit)
		}},
	intOption("iodepth_batch_complete_min", "n", "1", "completions to wait for at least, each time the job waits; 0 as fio 3.33 takes it: one, and with iodepth_batch_complete_max=0 (fio's polling) after every I/O queued, so the job runs at depth 1, its wait polling the ring without sleeping; alias iodepth_batch_complete", 0, 4096, func(j *Job) *int { return &j.BatchCompleteMin }),
	intOption("iodepth_batch_complete_max", "n", "0", "completions to take at most each time; 0: all that are ready when neither this nor iodepth_batch_complete_min is given, else the minimum, as fio takes it (fio takes iodepth_batch_complete_min, 1, by default: the same speed at depth 8 on a loop device, up to 15% slower at 128); below iodepth_batch_complete_min it is raised to it, as fio does", 0, 4096, func(j *Job) *int { return &j.BatchCompleteMax }),
	intOption("iodepth_low", "n", "0", "once the queue was full, let it drain to this depth before filling it again; 0: refill at once (fio's default, iodepth); above iodepth it is lowered to it, as fio does", 0, 4096, func(j *Job) *int { return &j.IODepthLow }),
	intOption("numjobs", "n", "1", "clones of the job, each with its own queue; they set up, then start their I/O together, as fio's threads wait for each other (clones with a startdelay range start when theirs ends)", 1, 256, func(j *Job) *int { return &j.NumJobs }),
	{Name: "size", Arg: "size|pct%", Help: "bytes of the target each job covers, or a percentage of the target (default: all of it)", kind: kindSize,
		set: func(j *Job, v string) (err error) { j.Size, j.SizePct, err = j.parseSizeOrPct(v); return },
		get: func(j *Job) string { return pctOrSize(j.Size, j.SizePct) }},
	{Name: "offset", Arg: "size|pct%", Default: "0", Help: "start of the region in the target, or a percentage of the target", kind: kindSize,
		set: func(j *Job, v string) (err error) {
			if p, ok := strings.CutSuffix(strings.TrimSpace(v), "%"); ok && strings.Trim(p, "0.") == "" && p != "" {
				j.Offset, j.OffsetPct = 0, 0 // offset=0%: the start, as fio takes it
				return nil
			}
			j.Offset, j.OffsetPct, err = j.parseSizeOrPct(v)
			return
		},
		get: func(j *Job) string { return pctOrSize(j.Offset, j.OffsetPct) }},
	{Name: "offset_increment", Arg: "size|pct%", Default: "0", Help: "clone n starts at offset + n*offset_increment; a percentage is of the target", kind: kindSize,
		set: func(j *Job, v string) (err error) {
			j.OffsetIncrement, j.OffsetIncrementPct, err = j.parseSizeOrPct(v)
			return
		},
		get: func(j *Job) string { return pctOrSize(j.OffsetIncrement, j.OffsetIncrementPct) }},
	{Name: "io_size", Arg: "size", Help: "bytes to transfer per pass, wrapping over the region (default: size); alias io_limit", kind: kindSize,
		set: func(j *Job, v string) (err error) { j.IOSize, err = j.parseSize(v); return },
		get: func(j *Job) string { return sizeString(j.IOSize) }},
	countOption("number_ios", "n", "", "stop after this many I/Os (in each of loops)", 0, math.MaxInt32, func(j *Job) *int { return &j.NumberIOs }),
	{Name: "percentage_random", Arg: "pct[,pct]", Default: "100", Help: "share of a random pattern's I/Os at random offsets (reads,writes; one value for both; trims take the writes'); the others continue sequentially; a whole percentage is drawn as fio 3.33 draws it", kind: kindFloat,
		set: setPctRandom,
		get: func(j *Job) string {
			r, w := strconv.FormatFloat(j.PercentageRandom[0], 'g', -1, 64), strconv.FormatFloat(j.PercentageRandom[1], 'g', -1, 64)
			if r == w {
				return r
			}
			return r + "," + w
		}},
	{Name: "blockalign", Arg: "size", Help: "alignment of random offsets (default: the smallest block size); fio's per-direction form reads,writes,trims is taken when the values given agree; alias ba", kind: kindSize,
		set: setBlockAlign,
		get: func(j *Job) string { return sizeString(j.BlockAlign) }},
	{Name: "bsrange", Arg: "lo-hi[,lo-hi]", Help: "block sizes drawn from a range, in multiples of lo (reads,writes, separated by , or / as in fio), bounds in either order; the sizes of reads and writes are fio 3.33's draws", kind: kindSize,
		// fio's ranges (its irange) separate the directions' ranges
		// with , or /: bsrange=4k-16k/8k-32k.
		set: func(j *Job, v string) error { return setBSRange(j, strings.ReplaceAll(v, "/", ",")) }, get: func(j *Job) string { return bsString(j) }},
	{Name: "runtime", Arg: "time", Help: "stop after this long (seconds unless a unit is given)", kind: kindTime,
		set: func(j *Job, v string) (err error) { j.Runtime, err = ParseTime(v); return },
		get: func(j *Job) string { return timeString(j.Runtime) }},
	boolOption("time_based", "bool", "", "run for runtime even when size is done (repeat)", kindBool, func(j *Job) *bool { return &j.TimeBased }),
	{Name: "ramp_time", Arg: "time", Help: "run this long before measuring", kind: kindTime,
		set: func(j *Job, v string) (err error) { j.RampTime, err = ParseTime(v); return },
		get: func(j *Job) string { return timeString(j.RampTime) }},
	{Name: "ramp_size", Arg: "size", Default: "0", Help: "run until this many bytes are done (reads, writes and trims; each clone its own, with group_reporting the reporting group's together) before measuring; the ramp's bytes count toward size and io_size", kind: kindSize,
		set: func(j *Job, v string) (err error) { j.RampSize, err = j.parseSize(v); return },
		get: func(j *Job) string { return sizeString(j.RampSize) }},
	boolOption("atomic", "bool", "0", "writes go out as atomic writes (RWF_ATOMIC), as newer fio's: each one reaches the device whole or not at all; needs direct=1, power-of-two write sizes, offsets that are multiples of them and the linear mapper, and refuses the job before any I/O where the target's atomic write units (statx STATX_WRITE_ATOMIC) do not take every write size; reads are not atomic", kindBool, func(j *Job) *bool { return &j.Atomic }),
	boolOption("direct", "bool", "1", "O_DIRECT I/O; 0: through the page cache (io_uring, as fio's buffered I/O)", kindBool, func(j *Job) *bool { return &j.Direct }),
	boolOption("invalidate", "bool", "1", "drop the target's page cache before the job (matters with direct=0)", kindBool, func(j *Job) *bool { return &j.Invalidate }),
	{Name: "buffered", Arg: "bool", Default: "0", Help: "the opposite of direct", kind: kindBool,
		set: func(j *Job, v string) (err error) {
			b, err := parseBool(v)
			j.Direct = !b
			return err
		}, get: func(j *Job) string { return boolString(!j.Direct) }},
	{Name: "random_distribution", Arg: "dist", Default: "random", Help: "random, zipf:θ, pareto:h, normal:dev (fio's deviation, 0 to 100), each with an optional :center (0 to 1), zoned:a/s:... (sizes in percent), zoned_abs:a/size:... (sizes in bytes), or sequence:i,j,... (newer fio's: the random I/Os visit blocks i, j, ... in turn, counted in blocks of the block alignment from the region's start, repeating; see random_sequence_stride); zipf, pareto, normal, zoned and zoned_abs draw fio 3.33's offsets (see README)", kind: kindString,
		set: func(j *Job, v string) (err error) { j.Dist, err = ParseDist(v); return },
		get: func(j *Job) string { return j.Dist.String() },
	},
	boolOption("random_sequence_stride", "bool", "0", "with random_distribution=sequence:i,j,...: each repetition of the list moves on by as many blocks as it lists (sequence:2,0,1 visits 2,0,1, then 5,3,4, then 8,6,7 ...), and the job's I/O ends where the next block would lie past the region's end, as in newer fio; 0: the same blocks every repetition. No effect with another distribution, as in fio", kindBool, func(j *Job) *bool { return &j.SeqStride }),
	boolOption("norandommap", "bool", "", "random offsets may repeat before every block was hit once; without it a draw that lands on a block done takes the first free block after it, wrapping to the region's start, as fio 3.33's random map does, an I/O of more than the smallest block cut at the first block done already, as fio cuts it; with norandommap nothing cuts an I/O but the region's end, so with mixed sizes a job's last I/O goes whole, past its size, as in fio", kindBool, func(j *Job) *bool { return &j.NoRandomMap }),
	{Name: "zonemode", Arg: "none|strided", Default: "none", Help: "strided: I/O within one zone of zonerange bytes until zonesize bytes are done, then zoneskip bytes on (zbd is refused)", kind: kindString,
		set: func(j *Job, v string) error {
			switch strings.ToLower(v) {
			case "none", "strided":
				j.ZoneMode = strings.ToLower(v)
				return nil
			}
			return fmt.Errorf("want none or strided")
		}, get: func(j *Job) string { return j.ZoneMode },
		refuse: func(v string) string {
			if strings.EqualFold(v, "zbd") {
				return "zoned block devices (zbd) are not implemented"
			}
			return ""
		}},
	{Name: "zonesize", Arg: "size", Help: "strided: bytes transferred in a zone before moving on", kind: kindSize,
		set: func(j *Job, v string) (err error) { j.ZoneSize, err = j.parseSize(v); return },
		get: func(j *Job) string { return sizeString(j.ZoneSize) }},
	{Name: "zonerange", Arg: "size", Help: "strided: size of a zone", kind: kindSize,
		set: func(j *Job, v string) (err error) { j.ZoneRange, err = j.parseSize(v); return },
		get: func(j *Job) string { return sizeString(j.ZoneRange) }},
	{Name: "zoneskip", Arg: "size", Help: "strided: bytes skipped after a zone", kind: kindSize,
		set: func(j *Job, v string) (err error) { j.ZoneSkip, err = j.parseSize(v); return },
		get: func(j *Job) string { return sizeString(j.ZoneSkip) }},
	boolOption("bs_is_seq_rand", "bool", "0", "take bs, bssplit and bsrange's read sizes for sequential I/O and their write sizes for random I/O, whatever the direction, as fio does", kindBool, func(j *Job) *bool { return &j.BSIsSeqRand }),
	{Name: "rw_sequencer", Arg: "name", Default: "sequential", Help: "what rw=rand...:N does between its random offsets: sequential (the I/Os that follow one continue from it) or identical (they repeat its offset); sequential patterns take no effect, as in fio", kind: kindString,
		set: func(j *Job, v string) error {
			switch strings.ToLower(v) {
			case "sequential":
				j.RWIdentical = false
			case "identical":
				j.RWIdentical = true
			default:
				return fmt.Errorf("want sequential or identical")
			}
			return nil
		}, get: func(j *Job) string { return map[bool]string{false: "sequential", true: "identical"}[j.RWIdentical] }},
	{Name: "random_generator", Arg: "name", Default: "tausworthe", Help: "tausworthe, tausworthe64, lfsr: fio 3.33's generators, seeded and scaled as fio's (lfsr without a random map, even without norandommap): the random offsets of random_distribution=random are fio's, block for block, per job (the run's n-th job as fio's n-th thread) and per file (bs, blockalign, offset, nrfiles, loops, time_based checked against fio's write_iolog), with fio's sizes (bssplit, bsrange) and fio's cut of a random I/O at the first block its map has done", kind: kindString,
		set: func(j *Job, v string) error {
			switch strings.ToLower(v) {
			case "lfsr", "tausworthe", "tausworthe64":
				j.RandomGenerator = strings.ToLower(v)
				return nil
			}
			return fmt.Errorf("want lfsr, tausworthe or tausworthe64")
		}, get: func(j *Job) string { return j.RandomGenerator }},
	boolOption("sprandom", "bool", "0", "newer fio's SanDisk pseudo-random preconditioning (rw=randwrite, one file): writes the region plus spr_op of it, region by region (spr_num_regions), writing again in each region a share of the blocks the region before wrote, so that a flash device's blocks end about as valid as a long random write leaves them; the job's I/O is the region plus spr_op of it, rounded up to the block size", kindBool, func(j *Job) *bool { return &j.SPRandom }),
	{Name: "spr_op", Arg: "ratio", Default: "0.15", Help: "sprandom's over-provisioning: the share of the region written on top of it (0 to below 5/3); no effect without sprandom, as in fio", kind: kindFloat,
		set: func(j *Job, v string) error {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
				return fmt.Errorf("want a number")
			}
			j.SPROp = f
			return nil
		}, get: func(j *Job) string { return strconv.FormatFloat(j.SPROp, 'g', -1, 64) }},
	intOption("spr_num_regions", "n", "100", "sprandom's regions: how many parts the region plus spr_op is written in, each with its own share written again in the next; no effect without sprandom, as in fio", 1, math.MaxInt32, func(j *Job) *int { return &j.SPRRegions }),
	{Name: "spr_cs", Arg: "size", Default: "0", Help: "sprandom's device cache size; only 0 (none) is implemented: another size is refused; no effect without sprandom, as in fio", kind: kindSize,
		set: func(j *Job, v string) (err error) { j.SPRCache, err = j.parseSize(v); return },
		get: func(j *Job) string { return sizeString(j.SPRCache) }},
	boolOption("randrepeat", "bool", "1", "the same random sequence every run; the random offsets are then fio 3.33's, seeded by the job's number in the run whatever randseed says, as fio's are; alias allrandrepeat (newer fio's spelling: its randrepeat seeds every generator, as iobench's does). With loops above 1 the later loops' random offsets are fio's: each loop seeded afresh with randrepeat=1 and no randseed; with a randseed (a randseed clears fio's randrepeat once the first loop's offsets are seeded) or randrepeat=0, each going on with the states as the last left them (TestRandomOffsetsAsFio)", kindBool, func(j *Job) *bool { return &j.RandRepeat }),
	{Name: "randseed", Arg: "n", Help: "seed of the random sequence; with randrepeat=0 it seeds the random offsets as fio 3.33's randseed does (fio's offsets ignore it under randrepeat=1, and so do iobench's, in a job's first loop; given, it has the later loops go on with the states as randrepeat=0 does, and zipf, pareto and normal take the random offsets' seed, as fio 3.33's); the directions of rw and randrw, the sizes of bssplit and bsrange and percentage_random's choices are drawn from it as fio 3.33's are, under randrepeat=1 too; the files of file_service_type=random, zipf, pareto and normal as fio 3.33 draws them (its seed slot 5)", kind: kindInt,
		set: func(j *Job, v string) (err error) { j.RandSeed, err = strconv.ParseUint(v, 0, 64); return },
		get: func(j *Job) string { return strconv.FormatUint(j.RandSeed, 10) }},
	{Name: "verify", Arg: "hash", Help: "check data: crc32c (crc32c-intel), crc32, crc64, crc16, crc7, md5, sha1, sha256, sha512, sha3-224, sha3-256, sha3-384, sha3-512 (digests over 32 bytes keep their first 32), xxhash, meta (header only), pattern (verify_pattern only), pattern_hdr (newer fio's: a header, then verify_pattern, both checked; meta with verify_pattern), null (fio's pretend verify: read back, nothing checked); 0 to disable", kind: kindString,
		set: setVerify, get: func(j *Job) string {
			if j.patternHdr {
				return "pattern_hdr"
			}
			return j.Verify
		}},
	{Name: "verify_pattern", Arg: "0xhex|\"str\"", Help: "data of verify blocks after their header (verify=pattern: all of it)", kind: kindString,
		set: func(j *Job, v string) (err error) { j.VerifyPattern, err = parsePattern(v); return },
		get: func(j *Job) string { return fmt.Sprintf("0x%x", j.VerifyPattern) }},
	{Name: "verify_offset", Arg: "size", Help: "move each verify header that many bytes into its block before the write (the bytes it passes go to the block's start; fio swaps the two) and back before the check; the header, 72 bytes, must fit in verify_interval", kind: kindSize,
		set: func(j *Job, v string) (err error) { j.VerifyOffset, err = j.parseSize(v); return },
		get: func(j *Job) string { return sizeString(j.VerifyOffset) }},
	{Name: "verify_interval", Arg: "size", Help: "bytes per verify header (default: the smallest block size, at most 4k)", kind: kindSize,
		set: func(j *Job, v string) (err error) { j.VerifyInterval, err = j.parseSize(v); return },
		get: func(j *Job) string { return sizeString(j.VerifyInterval) }},
	intOption("verify_async", "n", "0", "check the verify pass's reads in n goroutines of their own rather than in the job's thread (a read job's own verify reads and verify_backlog's are still checked in the job's thread)", 0, 64, func(j *Job) *int { return &j.VerifyAsync }),
	countOption("verify_backlog", "n", "", "after every n writes, let in-flight I/O finish and read those n back to check them", 0, math.MaxInt32, func(j *Job) *int { return &j.VerifyBacklog }),
	countOption("verify_backlog_batch", "n", "", "verify_backlog: how many of the backlogged writes each check reads back, oldest first (default: verify_backlog's n); those left wait for the next check, and a batch larger than the backlog reads back the writes that follow, each as it completes", 0, math.MaxInt32, func(j *Job) *int { return &j.VerifyBacklogBatch }),
	boolOption("do_verify", "bool", "1", "read the region back and check it after a writing job, or after each pass of one with loops, an io_size above size or time_based (within its runtime, as fio's io_uring engine); a job its runtime stops reads nothing back after it (0: only verify_backlog's reads, and a job that only reads, check)", kindBool, func(j *Job) *bool { return &j.DoVerify }),
	boolOption("experimental_verify", "bool", "0", "fio checks the blocks a job wrote by resetting the file and replaying its I/O rather than from a list of what it wrote; iobench's verify pass reads back and checks the same blocks either way (those the workload wrote last), so the two settings verify alike", kindBool, func(j *Job) *bool { return &j.ExperimentalVerify }),
	boolOption("verify_only", "bool", "", "only read back and check data an earlier run wrote: the job's whole region is read and each block with a verify header checked, the rest counted as not written (fio replays the job's writes and reads those back; see [Verify](#verify))", kindBool, func(j *Job) *bool { return &j.VerifyOnly }),
	trimVerifyOption("trim_percentage", "percent of verify blocks trimmed before they are checked"),
	trimVerifyOption("trim_backlog", "trim after every n verify blocks written"),
	trimVerifyOption("trim_backlog_batch", "verify blocks trimmed per trim_backlog"),
	boolOption("stonewall", "", "", "wait for earlier jobs to finish before starting", kindFlag, func(j *Job) *bool { return &j.Stonewall }),
	{Name: "wait_for", Arg: "job", Help: "start after the named job finishes", kind: kindString,
		set: func(j *Job, v string) error { j.WaitFor = v; return nil }, get: func(j *Job) string { return j.WaitFor }},
	{Name: "ioengine", Arg: "name", Default: "io_uring", Help: "io_uring (iobench's engine), or null: the engine's whole path (cache, mapper, splitting, requests) over a ring that completes each I/O when it is submitted, with no device I/O and no system call, as fio's null engine. fio's libaio and posixaio run on io_uring at the job's iodepth, its synchronous engines (sync, psync, vsync, pvsync, pvsync2) on io_uring at iodepth=1, as fio caps their depth, each with a notice; any other engine is refused. A null job needs no files: missing ones, or its one file when smaller than the job, are stood in for by the automatic target", kind: kindString,
		set: func(j *Job, v string) error {
			j.IOEngine, j.engineAsked = strings.ToLower(v), ""
			if _, ok := substituteEngines[j.IOEngine]; ok {
				j.IOEngine, j.engineAsked = "io_uring", j.IOEngine
			}
			return nil
		},
		get: func(j *Job) string {
			if j.engineAsked != "" {
				return j.engineAsked
			}
			return j.IOEngine
		},
		refuse: func(v string) string {
			if _, ok := substituteEngines[strings.ToLower(v)]; ok || strings.EqualFold(v, "io_uring") || strings.EqualFold(v, "null") {
				return ""
			}
			if strings.EqualFold(v, "cpp_null") {
				return "fio's null engine built as a loadable C++ module (its cpp_null.fio example; a stock fio build refuses it as not loadable); ioengine=null runs iobench's null engine: the engine's whole path, no device I/O"
			}
			if strings.EqualFold(v, "io_uring_cmd") {
				return "passthrough commands (NVMe or SCSI, fio's io_uring_cmd) are not implemented; ioengine=io_uring runs the same kind of ring with ordinary reads and writes"
			}
			name := strings.ToLower(v)
			if !fioEngines[name] && !strings.HasPrefix(name, "external:") {
				msg := fmt.Sprintf("no I/O engine is named %q (fio: engine not loadable)", v)
				if near := nearestEngine(name); near != "" {
					msg += fmt.Sprintf("; did you mean %s?", near)
				}
				return msg + "; iobench runs io_uring (the default) or null, and fio's libaio, posixaio and synchronous engines on io_uring"
			}
			what := engineDoes[name]
			if what == "" {
				what = "does something other than reads and writes at file offsets through the kernel's block layer"
			} else {
				what += ", not reads and writes at file offsets through the kernel's block layer"
			}
			return fmt.Sprintf("fio's %s engine %s; iobench runs its own engine, io_uring (or null), and runs fio's libaio, posixaio and synchronous engines on it", name, what)
		}},
	intOption("loops", "n", "1", "passes over the region (when not time_based)", 1, 1<<30, func(j *Job) *int { return &j.Loops }),
	{Name: "kb_base", Arg: "1024|1000", Default: "1024", Help: "units of sizes: 1024 (k is 1024, kib 1000, as fio) or 1000 (k is 1000, kib 1024); in a job file it applies to its whole section, on the command line to the sizes after it only, as fio reads them (`--size=1m --kb_base=1000` is 1048576 bytes)", kind: kindInt,
		set: func(j *Job, v string) error {
			switch v {
			case "1024":
				j.KBBase = 1024
			case "1000":
				j.KBBase = 1000
			default:
				return fmt.Errorf("want 1024 or 1000")
			}
			return nil
		}, get: func(j *Job) string { return strconv.FormatUint(j.KBBase, 10) }},
	{Name: "percentile_list", Arg: "p:p:...", Help: "latency percentiles reported, e.g. 50:99:99.9 (up to 20)", kind: kindString,
		set: setPercentileList, get: func(j *Job) string { return percentileListString(j.PercentileList) }},
	boolOption("clat_percentiles", "bool", "1", "report completion-latency percentiles", kindBool, func(j *Job) *bool { return &j.ClatPercentiles }),
	boolOption("lat_percentiles", "bool", "", "report total-latency percentiles", kindBool, func(j *Job) *bool { return &j.LatPercentiles }),
	boolOption("slat_percentiles", "bool", "", "report submission-latency percentiles", kindBool, func(j *Job) *bool { return &j.SlatPercentiles }),
	boolOption("disable_lat", "bool", "", "do not measure total latency", kindBool, func(j *Job) *bool { return &j.DisableLat }),
	boolOption("disable_clat", "bool", "", "do not measure completion latency", kindBool, func(j *Job) *bool { return &j.DisableClat }),
	boolOption("disable_slat", "bool", "", "do not measure submission latency", kindBool, func(j *Job) *bool { return &j.DisableSlat }),
	boolOption("disable_bw_measurement", "bool", "", "accepted, as in fio 3.33, whose bandwidth and IOPS samples it leaves as they are; alias disable_bw", kindBool, func(j *Job) *bool { return &j.DisableBW }),
	{Name: "gtod_reduce", Arg: "bool", Help: "disable_lat, disable_clat, disable_slat and disable_bw_measurement together (the latencies are not measured; bandwidth and IOPS samples are, as fio 3.33 takes them)", kind: kindBool,
		set: func(j *Job, v string) error {
			b, err := parseBool(v)
			if b {
				j.DisableLat, j.DisableClat, j.DisableSlat, j.DisableBW = true, true, true, true
			}
			return err
		}, get: func(j *Job) string { return boolString(j.DisableLat && j.DisableClat && j.DisableSlat && j.DisableBW) }},
	{Name: "bwavgtime", Arg: "ms", Default: "500", Help: "bandwidth sampling period (milliseconds unless a unit is given)", kind: kindTime,
		set: func(j *Job, v string) (err error) { j.BWAvgTime, err = parseDuration(v, time.Millisecond); return },
		get: func(j *Job) string { return strconv.FormatInt(j.BWAvgTime.Milliseconds(), 10) }},
	{Name: "iopsavgtime", Arg: "ms", Default: "500", Help: "IOPS sampling period (milliseconds unless a unit is given)", kind: kindTime,
		set: func(j *Job, v string) (err error) { j.IOPSAvgTime, err = parseDuration(v, time.Millisecond); return },
		get: func(j *Job) string { return strconv.FormatInt(j.IOPSAvgTime.Milliseconds(), 10) }},
	{Name: "cpus_allowed", Arg: "cpus", Help: "CPUs the job's threads may run on, e.g. 0-3,6", kind: kindString,
		set: func(j *Job, v string) (err error) { j.CPUs, err = parseCPUList(v); return },
		get: func(j *Job) string { return cpuListString(j.CPUs) }},
	{Name: "cpumask", Arg: "mask", Help: "CPUs the job's threads may run on, as a bit mask (0x3 is CPUs 0 and 1)", kind: kindString,
		set: func(j *Job, v string) (err error) { j.CPUs, err = parseCPUMask(v); return },
		get: func(j *Job) string { return cpuMaskString(j.CPUs) }},
	{Name: "cpus_allowed_policy", Arg: "shared|split", Default: "shared", Help: "shared: every thread of the job may use every CPU of the set; split: each thread gets one CPU of it, in turn over the run's threads", kind: kindString,
		set: func(j *Job, v string) error {
			switch strings.ToLower(v) {
			case "shared":
				j.CPUSplit = false
			case "split":
				j.CPUSplit = true
			default:
				return fmt.Errorf("%w: %q (shared or split)", ErrBadValue, v)
			}
			return nil
		},
		get: func(j *Job) string {
			if j.CPUSplit {
				return "split"
			}
			return "shared"
		}},
	{Name: "write_bw_log", Arg: "prefix", Help: "log bandwidth to PREFIX_bw.N.log (fio's log format); with no value, the job name", bareName: true, kind: kindString,
		set: func(j *Job, v string) error { j.Logs.BW = v; return nil }, get: func(j *Job) string { return j.Logs.BW }},
	{Name: "write_iops_log", Arg: "prefix", Help: "log IOPS to PREFIX_iops.N.log; with no value, the job name", bareName: true, kind: kindString,
		set: func(j *Job, v string) error { j.Logs.IOPS = v; return nil }, get: func(j *Job) string { return j.Logs.IOPS }},
	{Name: "write_lat_log", Arg: "prefix", Help: "log latencies to PREFIX_lat.N.log, PREFIX_clat.N.log and PREFIX_slat.N.log; with no value, the job name", bareName: true, kind: kindString,
		set: func(j *Job, v string) error { j.Logs.Lat = v; return nil }, get: func(j *Job) string { return j.Logs.Lat }},
	{Name: "write_hist_log", Arg: "prefix", Help: "log completion-latency histograms to PREFIX_clat_hist.N.log every log_hist_msec; with no value, the job name", bareName: true, kind: kindString,
		set: func(j *Job, v string) error { j.Logs.Hist = v; return nil }, get: func(j *Job) string { return j.Logs.Hist }},
	{Name: "log_avg_msec", Arg: "ms", Default: "0", Help: "average log entries over this period (0: one entry per I/O)", kind: kindTime,
		set: func(j *Job, v string) (err error) { j.Logs.Avg, err = parseDuration(v, time.Millisecond); return },
		get: func(j *Job) string { return strconv.FormatInt(j.Logs.Avg.Milliseconds(), 10) }},
	intOption("log_hist_coarseness", "0-6", "0", "histogram log resolution: each entry sums 2^n neighbouring buckets of fio's 1856, as fio's (1856/2^n columns of counts)", 0, 6, func(j *Job) *int { return &j.Logs.HistCoarseness }),
	{Name: "log_hist_msec", Arg: "ms", Default: "0", Help: "period of the histogram log (0: no entries)", kind: kindTime,
		set: func(j *Job, v string) (err error) {
			j.Logs.HistPeriod, err = parseDuration(v, time.Millisecond)
			return
		},
		get: func(j *Job) string { return strconv.FormatInt(j.Logs.HistPeriod.Milliseconds(), 10) }},
	{Name: "log_max_value", Arg: "bool|avg|max", Help: "averaged latency logs give the period's maximum (1, max), not its mean (0, avg); both, newer fio's mean and maximum side by side, is refused; alias log_window_value (newer fio's name)", kind: kindBool,
		set: func(j *Job, v string) (err error) {
			switch strings.ToLower(v) {
			case "max":
				j.Logs.MaxValue = true
			case "avg":
				j.Logs.MaxValue = false
			default:
				j.Logs.MaxValue, err = parseBool(v)
			}
			return err
		},
		get: func(j *Job) string { return boolString(j.Logs.MaxValue) },
		refuse: func(v string) string {
			if strings.EqualFold(strings.TrimSpace(v), "both") {
				return "not implemented: logging each window's mean and maximum side by side (avg or max)"
			}
			return ""
		}},
	boolOption("log_offset", "bool", "", "add each I/O's offset to per-I/O log entries", kindBool, func(j *Job) *bool { return &j.Logs.Offset }),
	boolOption("log_issue_time", "bool", "", "end each log entry with its I/O's issue time in ns from the log's time origin (clat and slat logs; 0 in the others and in log_avg_msec windows); needs write_lat_log and log_offset", kindBool, func(j *Job) *bool { return &j.Logs.IssueTime }),
	boolOption("per_job_logs", "bool", "1", "one log file per job thread (PREFIX_bw.N.log); 0: one for all (PREFIX_bw.log)", kindBool, func(j *Job) *bool { return &j.Logs.PerJob }),
	intOption("fsync", "n", "0", "flush the device (fsync, through io_uring) after every n writes", 0, 1<<30, func(j *Job) *int { return &j.FsyncEvery }),
	intOption("fdatasync", "n", "0", "flush the device's data (fdatasync, through io_uring) after every n writes", 0, 1<<30, func(j *Job) *int { return &j.FdatasyncEvery }),
	boolOption("end_fsync", "bool", "", "flush every file of the job once when its writes are done (with loops, once at the end; fio flushes after each loop)", kindBool, func(j *Job) *bool { return &j.EndFsync }),
	{Name: "sync_file_range", Arg: "flags[:n]", Help: "after every n writes (default 1; 0: never), sync_file_range(2) through io_uring of the range each file was written over since the last one, for each file written; flags: wait_before, write, wait_after, comma-separated", kind: kindString,
		set: func(j *Job, v string) (err error) {
			j.SyncFileRangeFlags, j.SyncFileRangeEvery, err = parseSyncFileRange(v)
			return err
		},
		get: func(j *Job) string { return syncFileRangeString(j.SyncFileRangeFlags, j.SyncFileRangeEvery) }},
	boolOption("end_syncfs", "bool", "", "newer fio's: syncfs(2) once on the filesystem of each of the job's regular files when its writes are done, in place of the flush of end_fsync and fsync_on_close (as newer fio); block devices have no filesystem of their own and take nothing", kindBool, func(j *Job) *bool { return &j.EndSyncfs }),
	boolOption("fsync_on_close", "bool", "", "flush every file of the job once when the job closes them; with end_fsync too, still once, as in fio 3.33", kindBool, func(j *Job) *bool { return &j.FsyncOnClose }),
	{Name: "sync", Arg: "0|1|sync|dsync", Default: "0", Help: "open the target O_SYNC (1, sync) or O_DSYNC (dsync)", kind: kindBool,
		set: func(j *Job, v string) error {
			switch strings.ToLower(v) {
			case "0", "none", "false", "off":
				j.SyncMode = ""
			case "1", "sync", "true", "on", "":
				j.SyncMode = "sync"
			case "dsync":
				j.SyncMode = "dsync"
			default:
				return fmt.Errorf("want 0, 1, sync or dsync")
			}
			return nil
		}, get: func(j *Job) string { return map[string]string{"": "0"}[j.SyncMode] + j.SyncMode }},
	{Name: "rate", Arg: "bytes/s[,bytes/s[,bytes/s]]", Help: "cap bandwidth per direction (reads,writes,trims; one value caps each; a trimming job with a rate is refused); 0 is no cap", kind: kindSize,
		set: func(j *Job, v string) (err error) { j.Rate, j.trimRate[0], err = j.parsePair(v); return },
		get: func(j *Job) string { return sizeString(j.Rate[0]) + "," + sizeString(j.Rate[1]) }},
	{Name: "rate_iops", Arg: "n[,n[,n]]", Help: "cap IOPS per direction (reads,writes,trims, as rate); not with rate (fio refuses the pair)", kind: kindString,
		set: func(j *Job, v string) (err error) { j.RateIOPS, j.trimRate[1], err = parseIntPair(v); return },
		get: func(j *Job) string { return fmt.Sprintf("%d,%d", j.RateIOPS[0], j.RateIOPS[1]) }},
	{Name: "rate_min", Arg: "bytes/s[,bytes/s[,bytes/s]]", Help: "fail the job when a direction's bandwidth over a rate_cycle (a second) falls below this (reads,writes,trims, as rate), counted from 2 s into the job, as fio 3.33", kind: kindSize,
		set: func(j *Job, v string) (err error) { j.RateMin, j.trimRate[2], err = j.parsePair(v); return },
		get: func(j *Job) string { return sizeString(j.RateMin[0]) + "," + sizeString(j.RateMin[1]) }},
	{Name: "continue_on_error", Arg: "none|read|write|io|verify|all", Default: "none", Help: "go on after a read or write that fails with a non-fatal error (EIO, EILSEQ, or ignore_error's), counting it: read, write, io (both), all or 1 (both; verify mismatches still end the job), none or 0", kind: kindString,
		set: func(j *Job, v string) error {
			k, ok := map[string]int{"none": 0, "0": 0, "read": ContinueRead, "write": ContinueWrite, "io": ContinueRead | ContinueWrite,
				"verify": 0, "all": ContinueRead | ContinueWrite, "1": ContinueRead | ContinueWrite}[strings.ToLower(strings.TrimSpace(v))]
			if !ok {
				return fmt.Errorf("want none, read, write, io, verify or all")
			}
			j.ContinueOnError = k
			return nil
		}, get: func(j *Job) string {
			return [4]string{"none", "read", "write", "io"}[j.ContinueOnError&3]
		}},
	{Name: "ignore_error", Arg: "errs[,errs[,errs]]", Help: "with continue_on_error, the errors a failed read, write (and verify) goes on after, instead of EIO and EILSEQ: reads,writes,verify, each a colon-separated list of names or numbers (EIO:ENOSPC:28)", kind: kindString,
		set: func(j *Job, v string) (err error) { j.IgnoreError, err = parseErrnoLists(v); return },
		get: func(j *Job) string { return errnoListsString(j.IgnoreError) }},
	{Name: "max_latency", Arg: "time[,time[,time]]", Help: "fail the job (ETIMEDOUT) at the first I/O whose latency, submission to completion, is above this: reads,writes,trims, one value for all (µs unless a unit is given)", kind: kindTime,
		set: func(j *Job, v string) (err error) {
			j.MaxLatency, err = parseDirs(v, func(s string) (time.Duration, error) { return parseDuration(s, time.Microsecond) })
			return
		}, get: func(j *Job) string {
			return timeString(j.MaxLatency[0]) + "," + timeString(j.MaxLatency[1]) + "," + timeString(j.MaxLatency[2])
		}},
	{Name: "offset_align", Arg: "size", Default: "0", Help: "what offset=N% and offset_increment=N% are rounded up to; 0: the smallest block size", kind: kindSize,
		set: func(j *Job, v string) (err error) { j.OffsetAlign, err = j.parseSize(v); return },
		get: func(j *Job) string { return sizeString(j.OffsetAlign) }},
	boolOption("fill_device", "bool", "", "cover the whole block device from offset unless size gives bytes (a size=N% is dropped, as fio does); on a regular file without a size in bytes, where fio writes until the filesystem is full, it is refused (alias fill_fs)", kindBool, func(j *Job) *bool { return &j.FillDevice }),
	intOption("nice", "-20..19", "0", "the nice value (CPU priority) of the job's threads; below 0 needs CAP_SYS_NICE", -20, 19, func(j *Job) *int { return &j.Nice }),
	intOption("flow", "0-1000", "0", "weight of the job among the jobs of its flow_id that run together: each issues I/O in proportion to its weight, held back (flow_sleep) while ahead of it; 0: no flow control; a negative weight counts as fio 3.33 counts it, as an unsigned 32-bit number, the flow's sum wrapping", math.MinInt32, 1000, func(j *Job) *int { return &j.Flow }),
	intOption("flow_id", "n", "0", "the flow the job's weight (flow) counts in", 0, math.MaxInt32, func(j *Job) *int { return &j.FlowID }),
	{Name: "flow_sleep", Arg: "time", Help: "how long a job held back by flow waits, once its I/O in flight has completed, before it looks again (µs unless a unit is given; at least 10 µs)", kind: kindTime,
		set: func(j *Job, v string) (err error) { j.FlowSleep, err = parseDuration(v, time.Microsecond); return },
		get: func(j *Job) string { return timeString(j.FlowSleep) }},
	{Name: "rate_cycle", Arg: "ms", Default: "1000", Help: "the period rate_min and rate_iops_min average over, in ms (alias ratecycle)", kind: kindInt,
		set: func(j *Job, v string) error {
			n, err := parseIntBase(v, 1, 3_600_000, j.KBBase)
			j.RateCycle = time.Duration(n) * time.Millisecond
			return err
		}, get: func(j *Job) string { return strconv.FormatInt(j.RateCycle.Milliseconds(), 10) }},
	{Name: "rate_iops_min", Arg: "n[,n[,n]]", Help: "fail the job when a direction's IOPS over a rate_cycle (a second) fall below this (reads,writes,trims, as rate), counted from 2 s into the job, as fio 3.33", kind: kindString,
		set: func(j *Job, v string) (err error) { j.RateIOPSMin, j.trimRate[3], err = parseIntPair(v); return },
		get: func(j *Job) string { return fmt.Sprintf("%d,%d", j.RateIOPSMin[0], j.RateIOPSMin[1]) }},
	{Name: "rate_process", Arg: "linear|poisson", Default: "linear", Help: "spacing of rate-capped I/Os: even, or exponential gaps with the same mean", kind: kindString,
		set: func(j *Job, v string) error {
			switch strings.ToLower(v) {
			case "linear":
				j.RatePoisson = false
			case "poisson":
				j.RatePoisson = true
			default:
				return fmt.Errorf("want linear or poisson")
			}
			return nil
		}, get: func(j *Job) string { return map[bool]string{false: "linear", true: "poisson"}[j.RatePoisson] }},
	{Name: "thinktime", Arg: "time", Help: "after thinktime_blocks I/Os, let in-flight I/O finish and pause this long (µs unless a unit is given)", kind: kindTime,
		set: func(j *Job, v string) (err error) { j.ThinkTime, err = parseDuration(v, time.Microsecond); return },
		get: func(j *Job) string { return strconv.FormatInt(j.ThinkTime.Microseconds(), 10) }},
	{Name: "thinktime_spin", Arg: "time", Help: "the part of thinktime spent spinning on the CPU (µs unless a unit is given)", kind: kindTime,
		set: func(j *Job, v string) (err error) { j.ThinkSpin, err = parseDuration(v, time.Microsecond); return },
		get: func(j *Job) string { return strconv.FormatInt(j.ThinkSpin.Microseconds(), 10) }},
	{Name: "clocksource", Arg: "cpu|clock_gettime|gettimeofday", Help: "the clock I/O is timed with: cpu, the CPU's time-stamp counter (about 10 ns a reading), calibrated against CLOCK_MONOTONIC; clock_gettime, CLOCK_MONOTONIC through the vDSO (about 25 ns on a KVM guest); gettimeofday, the wall clock in µs. By default cpu where the counter is invariant (constant_tsc and nonstop_tsc), else clock_gettime, as fio's", kind: kindString,
		set: func(j *Job, v string) error {
			switch v {
			case "cpu", "clock_gettime", "gettimeofday":
				j.ClockSource = v
				return nil
			}
			return fmt.Errorf("want cpu, clock_gettime or gettimeofday")
		}, get: func(j *Job) string { return j.ClockSource }},
	{Name: "io_submit_mode", Arg: "inline|offload", Default: "inline", Help: "inline: an I/O a rate holds back waits for the job's I/O in flight to complete, then for its time; offload: it goes out at its time whatever is in flight (up to iodepth), for a fixed rate of submission whatever the device's completions do (fio 3.33 runs offload with its synchronous engines only: its io_uring engine refuses it)", kind: kindString,
		set: func(j *Job, v string) error {
			switch v {
			case "inline":
				j.SubmitOffload = false
			case "offload":
				j.SubmitOffload = true
			default:
				return fmt.Errorf("want inline or offload")
			}
			return nil
		}, get: func(j *Job) string { return map[bool]string{false: "inline", true: "offload"}[j.SubmitOffload] }},
	boolOption("rate_ignore_thinktime", "bool", "0", "after a thinktime pause, go on at the rate's pace instead of catching up the I/O the pause cost (by default a capped job catches up, as fio's)", kindBool, func(j *Job) *bool { return &j.RateIgnoreThink }),
	intOption("thinktime_blocks", "n", "1", "I/Os between thinktime pauses", 1, math.MaxInt32, func(j *Job) *int { return &j.ThinkBlocks }),
	{Name: "thinktime_blocks_type", Arg: "complete|issue", Default: "complete", Help: "what thinktime_blocks counts: completed I/Os (complete: at depth above 1 the I/O in flight when the count is reached runs on before the pause) or issued ones (issue)", kind: kindString,
		set: func(j *Job, v string) error {
			switch v {
			case "complete":
				j.ThinkIssue = false
			case "issue":
				j.ThinkIssue = true
			default:
				return fmt.Errorf("want complete or issue")
			}
			return nil
		}, get: func(j *Job) string { return map[bool]string{false: "complete", true: "issue"}[j.ThinkIssue] }},
	{Name: "thinktime_iotime", Arg: "time", Help: "pause for thinktime after each this long of I/O (s unless a unit is given); with thinktime_blocks given too, after whichever comes first", kind: kindTime,
		set: func(j *Job, v string) (err error) { j.ThinkIOTime, err = parseDuration(v, time.Second); return },
		get: func(j *Job) string { return timeString(j.ThinkIOTime) }},
	intOption("thinkcycles", "n", "0", "after issuing each read, write or trim, spin a CPU loop of this many iterations", 0, math.MaxUint32, func(j *Job) *int { return &j.ThinkCycles }),
	{Name: "startdelay", Arg: "time", Help: "wait this long before the job starts; a range lo-hi (or lo:hi): each clone waits a random time in it", kind: kindTime,
		set: func(j *Job, v string) (err error) {
			lo, hi, ok := cutRange(v)
			if !ok {
				j.StartDelay, err = ParseTime(v)
				j.StartDelayMax = j.StartDelay
				return err
			}
			if j.StartDelay, err = ParseTime(lo); err != nil {
				return err
			}
			if j.StartDelayMax, err = ParseTime(hi); err != nil {
				return err
			}
			if j.StartDelayMax < j.StartDelay {
				return fmt.Errorf("the range's end %s is before its start %s", hi, lo)
			}
			return nil
		},
		get: func(j *Job) string {
			if j.StartDelayMax > j.StartDelay {
				return timeString(j.StartDelay) + "-" + timeString(j.StartDelayMax)
			}
			return timeString(j.StartDelay)
		}},
	boolOption("exitall_on_error", "bool", "", "when this job fails, stop every job of the run", kindBool, func(j *Job) *bool { return &j.ExitAllOnError }),
	boolOption("refill_buffers", "bool", "", "fresh random data in every write buffer", kindBool, func(j *Job) *bool { return &j.Buffers.Refill }),
	boolOption("zero_buffers", "bool", "", "write zeros", kindBool, func(j *Job) *bool { return &j.Buffers.Zero }),
	boolOption("scramble_buffers", "bool", "1", "change a few bytes of each 512 of a write buffer per write, against deduplication", kindBool, func(j *Job) *bool { return &j.Buffers.Scramble }),
	{Name: "buffer_pattern", Arg: "0xhex|\"str\"", Help: "write buffers hold this pattern", kind: kindString,
		set: func(j *Job, v string) (err error) { j.Buffers.Pattern, err = parsePattern(v); return },
		get: func(j *Job) string { return fmt.Sprintf("0x%x", j.Buffers.Pattern) }},
	{Name: "buffer_compress_percentage", Arg: "pct", Help: "make write data compressible by this much (zeros in each buffer_compress_chunk)", kind: kindFloat,
		set: func(j *Job, v string) (err error) { j.Buffers.CompressPct, err = parsePct(v); return },
		get: func(j *Job) string { return strconv.FormatFloat(j.Buffers.CompressPct, 'g', -1, 64) }},
	{Name: "buffer_compress_chunk", Arg: "size", Default: "512", Help: "granularity of buffer_compress_percentage", kind: kindSize,
		set: func(j *Job, v string) (err error) { j.Buffers.CompressChunk, err = j.parseSize(v); return },
		get: func(j *Job) string { return sizeString(j.Buffers.CompressChunk) }},
	{Name: "dedupe_percentage", Arg: "pct", Help: "share of writes whose data repeats an earlier write's (the others are fresh)", kind: kindFloat,
		set: func(j *Job, v string) (err error) { j.Buffers.DedupePct, err = parsePct(v); return },
		get: func(j *Job) string { return strconv.FormatFloat(j.Buffers.DedupePct, 'g', -1, 64) }},
	{Name: "dedupe_mode", Arg: "repeat|working_set", Default: "repeat", Help: "where dedupe_percentage's duplicates come from: repeat, the last fresh write's data (as fio); working_set, one drawn at random from the job's first fresh writes, dedupe_working_set_percentage of its blocks", kind: kindString,
		set: func(j *Job, v string) error {
			switch v {
			case "repeat":
				j.Buffers.DedupeWorkingSet = false
			case "working_set":
				j.Buffers.DedupeWorkingSet = true
			default:
				return fmt.Errorf("want repeat or working_set")
			}
			return nil
		}, get: func(j *Job) string {
			return map[bool]string{false: "repeat", true: "working_set"}[j.Buffers.DedupeWorkingSet]
		}},
	{Name: "dedupe_working_set_percentage", Arg: "pct", Default: "5", Help: "dedupe_mode=working_set: the share of the job's blocks whose first fresh writes make the working set duplicates are drawn from", kind: kindFloat,
		set: func(j *Job, v string) (err error) { j.Buffers.DedupeWorkingSetPct, err = parsePct(v); return },
		get: func(j *Job) string { return strconv.FormatFloat(j.Buffers.DedupeWorkingSetPct, 'g', -1, 64) }},
	boolOption("dedupe_global", "bool", "0", "share dedupe_percentage's duplicates among the run's jobs that set it: a job's duplicates may repeat another's writes (one working set, or one last fresh write, for all of them)", kindBool, func(j *Job) *bool { return &j.Buffers.DedupeGlobal }),
	{Name: "latency_target", Arg: "time", Help: "find the deepest queue (up to iodepth) whose latency_percentile of latency stays within this (µs unless a unit is given)", kind: kindTime,
		set: func(j *Job, v string) (err error) { j.LatencyTarget, err = parseDuration(v, time.Microsecond); return },
		get: func(j *Job) string { return strconv.FormatInt(j.LatencyTarget.Microseconds(), 10) }},
	{Name: "latency_window", Arg: "time", Default: "1s", Help: "period over which latency_target is judged (µs unless a unit is given)", kind: kindTime,
		set: func(j *Job, v string) (err error) { j.LatencyWindow, err = parseDuration(v, time.Microsecond); return },
		get: func(j *Job) string { return strconv.FormatInt(j.LatencyWindow.Microseconds(), 10) }},
	{Name: "latency_percentile", Arg: "pct", Default: "100", Help: "share of I/Os that must meet latency_target", kind: kindFloat,
		set: func(j *Job, v string) (err error) { j.LatencyPercentile, err = parsePct(v); return },
		get: func(j *Job) string { return strconv.FormatFloat(j.LatencyPercentile, 'g', -1, 64) }},
	boolOption("latency_run", "bool", "0", "with latency_target: search on for the whole job instead of ending it one latency_window after the depth settles", kindBool, func(j *Job) *bool { return &j.LatencyRun }),
	boolOption("group_reporting", "bool", "", "report a job's numjobs clones as one, and the jobs of its group (those that run together, up to a stonewall or new_group) as one, as fio does", kindBool, func(j *Job) *bool { return &j.GroupReporting }),
	boolOption("new_group", "bool", "", "start a new reporting group at this job: group_reporting merges it with the jobs after it, not those before (it still runs with them)", kindFlag, func(j *Job) *bool { return &j.NewGroup }),
	{Name: "unified_rw_reporting", Arg: "none|mixed|both", Default: "none", Help: "how the directions are reported: each on its own (none, 0); summed, as one mixed direction in their place (mixed, 1); or each on its own, then summed (both, 2). Only the reports change: logs keep each I/O's direction", kind: kindString,
		set: func(j *Job, v string) error {
			// As fio 3.33: these spellings only (it refuses MIXED).
			switch v {
			case "none", "0":
				j.UnifiedRW = UnifiedNone
			case "mixed", "1":
				j.UnifiedRW = UnifiedMixed
			case "both", "2":
				j.UnifiedRW = UnifiedBoth
			default:
				return fmt.Errorf("want none, mixed, both, 0, 1 or 2")
			}
			return nil
		}, get: func(j *Job) string { return j.UnifiedRW.String() }},
	boolOption("exitall", "bool", "", "when the job finishes, stop the other jobs of its reporting group (exit_what says which others)", kindBool, func(j *Job) *bool { return &j.ExitAll }),
	{Name: "exit_what", Arg: "group|stonewall|all", Default: "group", Help: "which jobs exitall stops: those of the job's reporting group, every job running (stonewall), or every job and the groups after it (all)", kind: kindString,
		set: func(j *Job, v string) error {
			switch v = strings.ToLower(strings.TrimSpace(v)); v {
			case "group", "stonewall", "all":
				j.ExitWhat = v
				return nil
			}
			return fmt.Errorf("want group, stonewall or all")
		}, get: func(j *Job) string { return map[string]string{"": "group"}[j.ExitWhat] + j.ExitWhat }},

	{Name: "mapper", Arg: "name", Default: "linear", Help: "linear (raw device), scattered (synthetic fragmented file), cow (out-of-place writes), fiemap (a real file's layout), ext4 (a file of an unmounted ext4 filesystem, read from its own structures), cowlog (durable out-of-place writes over the whole target)", Engine: true, kind: kindString,
		set: func(j *Job, v string) error { j.Mapper = strings.ToLower(v); return nil }, get: func(j *Job) string { return j.Mapper }},
	{Name: "ext4_file", Arg: "path", Help: "ext4: the file inside the filesystem on filename (a device or image) to read", Engine: true, kind: kindString,
		set: func(j *Job, v string) error { j.Ext4File = v; return nil }, get: func(j *Job) string { return j.Ext4File }},
	{Name: "ext4_overwrite", Arg: "bool", Help: "ext4: allow in-place overwrite of the file's written blocks (the device needs --force: it holds a filesystem)", Engine: true, kind: kindBool,
		set: func(j *Job, v string) (err error) { j.Ext4Overwrite, err = parseBool(v); return },
		get: func(j *Job) string { return boolString(j.Ext4Overwrite) }},
	{Name: "extents", Arg: "n", Default: "1024", Help: "scattered: extents in the synthetic file", Engine: true, kind: kindInt,
		set: func(j *Job, v string) (err error) { j.Extents, err = parseInt(v, 1, 1<<30); return },
		get: func(j *Job) string { return strconv.Itoa(j.Extents) }},
	{Name: "map_latency", Arg: "time", Default: "0", Help: "cost of each mapper call (a filesystem upcall), e.g. 5us", Engine: true, kind: kindTime,
		set: func(j *Job, v string) (err error) { j.MapLatency, err = parseDurationFrac(v, time.Microsecond); return },
		get: func(j *Job) string { return timeString(j.MapLatency) }},
	{Name: "spin_wait", Arg: "auto|0|time", Default: "auto", Help: "with 2 or more I/Os in flight, poll for a completion before sleeping for one: auto polls 20us only while that costs the job thread no more CPU time per I/O than sleeping and is no slower (measured as the job runs), and only at iodepth 16 or less; a time (e.g. 20us) always polls that long: more IOPS where waking a sleeping CPU is slow (a VM), often for more CPU time per I/O; 0 never polls", Engine: true, kind: kindString,
		set: func(j *Job, v string) (err error) { j.SpinWait, err = parseSpinWait(v); return },
		get: func(j *Job) string { return spinWaitString(j.SpinWait) }},
	{Name: "read_gap", Arg: "auto|size", Default: "auto", Help: "read through gaps of up to this many bytes between the device pieces of a read that splits (a fragmented file: ext4, fiemap, scattered): consecutive pieces in ascending device order go out as one vectored read, the gaps' bytes read into a scratch buffer and dropped; fewer, larger device I/Os where each I/O costs more than its bytes (a loop device), more bytes read where bandwidth is short; reads only; auto: gaps of up to 32k, and only while the job measures that it finishes reads faster that way at no more CPU time per read; a size always (at most 1m); 0 reads each piece alone", Engine: true, kind: kindString,
		set: func(j *Job, v string) error {
			if strings.EqualFold(strings.TrimSpace(v), "auto") {
				j.ReadGap, j.ReadGapAuto = AutoReadGap, true
				return nil
			}
			n, err := j.parseSize(v)
			if err != nil {
				return fmt.Errorf("%w, nor auto", err)
			}
			if n > 1<<20 {
				return fmt.Errorf("%s is above 1m", v)
			}
			j.ReadGap, j.ReadGapAuto = int(n), false
			return nil
		},
		get: func(j *Job) string {
			if j.ReadGapAuto {
				return "auto"
			}
			return sizeString(uint64(j.ReadGap))
		}},
	{Name: "cache", Arg: "bool", Default: "on", Help: "the extent cache; off calls the mapper for every I/O", Engine: true, kind: kindBool,
		set: func(j *Job, v string) (err error) { j.Cache, err = parseBool(v); return },
		get: func(j *Job) string { return boolString(j.Cache) }},
	{Name: "follow", Arg: "bool", Default: "on", Help: "at depth 4 or less, move the job's thread to the other CPU when its waits show the completions ran there (only where the thread may run on two CPUs, and only while that makes long waits rarer); off leaves it where the scheduler puts it", Engine: true, kind: kindBool,
		set: func(j *Job, v string) (err error) { j.Follow, err = parseBool(v); return },
		get: func(j *Job) string { return boolString(j.Follow) }},
	{Name: "split_submit", Arg: "bool", Default: "off", Help: "submit an I/O that is the only one in flight and wait for it in two io_uring_enter calls, as fio does; off: while the queue is busy, one call submits and waits (after a pause, two), a system call less per I/O at depth 1, and the I/O's clat counts from that call's start (its submission's time included, where fio's starts when its submit call returns): compare lat across the two", Engine: true, kind: kindBool,
		set: func(j *Job, v string) (err error) { j.SplitSubmit, err = parseBool(v); return },
		get: func(j *Job) string { return boolString(j.SplitSubmit) }},
	{Name: "warm", Arg: "bool", Help: "scattered: fill the extent cache before the run (no mapper cost), to measure a warm cache", Engine: true, kind: kindBool,
		set: func(j *Job, v string) (err error) { j.Warm, err = parseBool(v); return },
		get: func(j *Job) string { return boolString(j.Warm) }},
	boolOption("fixedbufs", "bool", "", "registered (fixed) buffers; unset: on where the kernel will pin them (with CAP_IPC_LOCK, as root has it, or within RLIMIT_MEMLOCK) and the job's buffers (numjobs x iodepth x the largest block, plus 4 MiB) come to at most 256 MiB, which saves CPU per I/O (fio's default is off)", kindBool, func(j *Job) *bool { return &j.FixedBufs }),
	boolOption("registerfiles", "bool", "", "registered files; unset: on, which saves CPU per I/O (fio's default is off)", kindBool, func(j *Job) *bool { return &j.RegisterFiles }),
	boolOption("sqthread_poll", "bool", "", "kernel submission polling (SQPOLL); the job then polls its completion queue for up to 1 ms before it sleeps, at any depth, as fio's io_uring engine polls it (without limit), while that measures no slower and no costlier per I/O than sleeping (spin_wait auto: on a sparse file 4 KiB reads at depth 1 ran 430-660k a second where sleeping ran 6-10k; on a loop device, where the device's worker needs the CPU, sleeping wins); a spin_wait time always polls, spin_wait=0 never", kindBool, func(j *Job) *bool { return &j.SQPoll }),
	boolOption("serialize_overlap", "bool", "0", "never issue an I/O while one of the job's that overlaps it is in flight: the job stops issuing at it until what it overlaps completes, as fio does (with iodepth above 1; writes that meet with norandommap or random_distribution then land in the order drawn)", kindBool, func(j *Job) *bool { return &j.SerializeOverlap }),
	boolOption("nowait", "bool", "0", "reads and writes go out with RWF_NOWAIT: one that would block (a buffered read of pages not in the page cache, a device queue that is full) fails with EAGAIN (err=11), as in fio; continue_on_error with ignore_error=EAGAIN counts them and goes on", kindBool, func(j *Job) *bool { return &j.NoWait }),
	{Name: "sqthread_poll_cpu", Arg: "cpu", Help: "with sqthread_poll, bind the kernel's submission polling thread of each of the job's rings to this CPU (IORING_SETUP_SQ_AFF); without sqthread_poll it does nothing, as in fio", kind: kindInt,
		set: func(j *Job, v string) (err error) { j.SQPollCPU, err = parseInt(v, 0, 1<<20); return },
		get: func(j *Job) string { return strconv.Itoa(j.SQPollCPU) }},
	intOption("force_async", "n", "0", "every nth read or write goes to the kernel's async workers (IOSQE_ASYNC) instead of being tried inline first; 0: none", 0, math.MaxInt32, func(j *Job) *int { return &j.ForceAsync }),
	{Name: "lockmem", Arg: "size", Default: "0", Help: "pin this much memory (mlock) for each of the job's threads while the job runs, to leave the rest of the system less; refused when it would leave less than 1 GiB available besides the jobs' buffers (fio pins up to the machine's memory less 128 MiB, which can bring the out-of-memory killer)", kind: kindSize,
		set: func(j *Job, v string) (err error) { j.LockMem, err = j.parseSize(v); return },
		get: func(j *Job) string { return sizeString(j.LockMem) }},
	boolOption("create_on_open", "bool", "0", "a missing or short regular file is not laid out before the jobs: the job's open (after its startdelay and exec_prerun) creates it, empty, and its writes extend it, as fio does (a job that reads such a file is refused: fio's reads past its end fail, or read nothing on its asynchronous engines)", kindBool, func(j *Job) *bool { return &j.CreateOnOpen }),
	boolOption("create_only", "bool", "0", "only lay out the job's files (create them, or extend those too short), as fio's setup phase does, and run none of its I/O; the job is reported with none", kindBool, func(j *Job) *bool { return &j.CreateOnly }),
	{Name: "write_hint", Arg: "none|short|medium|long|extreme", Help: "the expected lifetime of the data the job writes, set on each of its files (fcntl F_SET_RW_HINT) for the kernel and the device (NVMe data placement) to use", kind: kindString,
		set: func(j *Job, v string) error {
			if !slices.Contains(WriteHints, v) {
				return fmt.Errorf("want none, short, medium, long or extreme")
			}
			j.WriteHint = v
			return nil
		}, get: func(j *Job) string { return j.WriteHint }},
	{Name: "ioscheduler", Arg: "name", Help: "switch the block device that holds each of the job's files to this I/O scheduler (none, mq-deadline, kyber, bfq: what the kernel offers) for the job, and back after it", kind: kindString,
		set: func(j *Job, v string) error { j.IOScheduler = v; return nil }, get: func(j *Job) string { return j.IOScheduler }},
	{Name: "numa_cpu_nodes", Arg: "nodes", Help: "run the job's threads on the CPUs of these NUMA nodes (a list such as 0,2-3, or all), in place of cpus_allowed, as fio does", kind: kindString,
		set: func(j *Job, v string) error {
			if v == "all" {
				j.NumaNodes = []int{-1}
				return nil
			}
			nodes, err := parseCPUList(v)
			if err != nil {
				return fmt.Errorf("%q: want node numbers or ranges such as 0,2-3, or all", v)
			}
			j.NumaNodes = nodes
			return nil
		}, get: func(j *Job) string {
			if len(j.NumaNodes) == 1 && j.NumaNodes[0] < 0 {
				return "all"
			}
			return cpuListString(j.NumaNodes)
		}},
	boolOption("pre_read", "bool", "0", "read the job's part of each file through the page cache before the job (buffered reads, whatever direct says), and leave invalidate off, as fio does", kindBool, func(j *Job) *bool { return &j.PreRead }),
	{Name: "exec_prerun", Arg: "command", Help: "run this shell command (/bin/sh -c) before the job's I/O, its output in JOBNAME.prerun.txt; if it fails the job does not run and reports the failure", kind: kindString,
		set: func(j *Job, v string) error { j.ExecPrerun = v; return nil }, get: func(j *Job) string { return j.ExecPrerun }},
	{Name: "exec_postrun", Arg: "command", Help: "run this shell command (/bin/sh -c) after the job, its output in JOBNAME.postrun.txt; a failure is reported on stderr", kind: kindString,
		set: func(j *Job, v string) error { j.ExecPostrun = v; return nil }, get: func(j *Job) string { return j.ExecPostrun }},
	{Name: "read_iolog", Arg: "file", Help: "replay the reads, writes and flushes of an iolog of fio's (version 2 or 3, as write_iolog writes them; sync_file_range lines left out, as fio 3.33 does) on the files it names, each when its time comes (replay_no_stall: at once); the job's rw, bs, size and offsets give way to the log's", kind: kindString,
		set: func(j *Job, v string) error { j.ReadIOLog = v; return nil }, get: func(j *Job) string { return j.ReadIOLog }},
	boolOption("read_iolog_chunked", "bool", "0", "read_iolog: read the log as the replay goes, a little ahead of it, rather than whole before the job starts (a log too large for memory, or a FIFO still being written); the files are those the log adds before its first I/O (or replay_redirect), the job may write, and its buffers hold the largest of bs and the log's first I/O", kindBool, func(j *Job) *bool { return &j.ReadIOLogChunked }),
	boolOption("replay_no_stall", "bool", "", "read_iolog: replay each I/O as soon as the depth allows, not at its time in the log", kindBool, func(j *Job) *bool { return &j.ReplayNoStall }),
	{Name: "replay_redirect", Arg: "file", Help: "read_iolog: send the I/O of every file the log names to this one instead", kind: kindString,
		set: func(j *Job, v string) error { j.ReplayRedirect = v; return nil }, get: func(j *Job) string { return j.ReplayRedirect }},
	{Name: "replay_skip", Arg: "list", Help: "read_iolog: leave out the log's actions of these kinds, a comma-separated list of read, write, trim and sync (as in fio, sync leaves datasync in); a log with trims, which iobench does not replay, runs with trim among them", kind: kindString,
		set: func(j *Job, v string) (err error) { j.ReplaySkip, err = parseReplaySkip(v); return },
		get: func(j *Job) string { return replaySkipString(j.ReplaySkip) }},
	{Name: "replay_scale", Arg: "n", Default: "1", Help: "read_iolog: divide each logged offset by n (0 or 1: as logged), before replay_align", kind: kindInt,
		set: func(j *Job, v string) (err error) { j.ReplayScale, err = j.parseSize(v); return },
		get: func(j *Job) string { return strconv.FormatUint(j.ReplayScale, 10) }},
	{Name: "replay_align", Arg: "size", Default: "0", Help: "read_iolog: round each logged offset (after replay_scale) down to a multiple of this power of two; 0: as logged", kind: kindSize,
		set: func(j *Job, v string) (err error) { j.ReplayAlign, err = j.parseSize(v); return },
		get: func(j *Job) string { return sizeString(j.ReplayAlign) }},
	intOption("replay_time_scale", "percent", "100", "read_iolog: the pace of a version 3 log's times, in percent: 200 replays twice as fast, 50 at half speed (version 2 waits are kept as logged, as in fio)", 1, math.MaxInt32, func(j *Job) *int { return &j.ReplayTimeScale }),
	{Name: "write_iolog", Arg: "file", Help: "record the job's issued I/O in file, in fio's iolog format (version 3: times in µs; sync_file_range lines with their range), appended to a log already there (as fio's), which fio replays with read_iolog", kind: kindString,
		set: func(j *Job, v string) error { j.WriteIOLog = v; return nil }, get: func(j *Job) string { return j.WriteIOLog }},
	{Name: "ss", Arg: "mode:limit[%]", Default: "iops_slope:0.01%", Help: "steady-state criterion, with ss_dur: iops or bw (every sample of the last ss_dur within limit of their mean), iops_slope or bw_slope (their least-squares slope per second within limit of 0); limit in IOPS or bytes/s (bw: a size, 10M), or with % a percentage of the mean", kind: kindString,
		set: func(j *Job, v string) (err error) {
			j.SS.Mode, j.SS.Limit, j.SS.Pct, err = j.parseSteadyState(v)
			return
		}, get: func(j *Job) string {
			return j.SS.Mode + ":" + strconv.FormatFloat(j.SS.Limit, 'g', -1, 64) + map[bool]string{true: "%"}[j.SS.Pct]
		}},
	{Name: "ss_dur", Arg: "time", Help: "steady state: how many seconds of samples must meet ss; the job stops as soon as they do (s unless a unit is given; whole seconds); unset: no steady-state detection", kind: kindTime,
		set: func(j *Job, v string) error {
			d, err := parseDuration(v, time.Second)
			j.SS.Dur = d.Truncate(time.Second)
			return err
		}, get: func(j *Job) string { return strconv.FormatInt(int64(j.SS.Dur/time.Second), 10) }},
	{Name: "ss_ramp", Arg: "time", Help: "steady state: how long into the job sampling starts (s unless a unit is given)", kind: kindTime,
		set: func(j *Job, v string) (err error) { j.SS.Ramp, err = parseDuration(v, time.Second); return },
		get: func(j *Job) string { return timeString(j.SS.Ramp) }},
	{Name: "prioclass", Arg: "0-3", Help: "I/O priority class of the job's reads and writes: 1 real time (needs CAP_SYS_ADMIN or CAP_SYS_NICE), 2 best effort, 3 idle, 0 none (the thread's); with prio unset the level is 0", kind: kindInt,
		set: func(j *Job, v string) (err error) { j.Prio.Class, err = parseIntBase(v, 0, 3, j.KBBase); return },
		get: func(j *Job) string { return strconv.Itoa(j.Prio.Class) }},
	{Name: "prio", Arg: "0-7", Help: "I/O priority level of the job's reads and writes, 0 the highest; with prioclass unset the class is best effort", kind: kindInt,
		set: func(j *Job, v string) (err error) { j.Prio.Level, err = parseIntBase(v, 0, 7, j.KBBase); return },
		get: func(j *Job) string { return strconv.Itoa(j.Prio.Level) }},
	{Name: "cmdprio_percentage", Arg: "pct[,pct]", Default: "0", Help: "percentage of reads,writes (one value: both) that go out with cmdprio_class and cmdprio instead of the job's priority; their completion latency is also reported per priority", kind: kindString,
		set: func(j *Job, v string) (err error) { j.Prio.CmdPct, err = parsePrioPair(v, 0, 100); return },
		get: func(j *Job) string { return prioPairString(j.Prio.CmdPct) }},
	{Name: "cmdprio_bssplit", Arg: "size/pct[/class/level]:...[,...]", Help: "per block size, the percentage of reads,writes of that size that go out with a priority of their own: the entry's class and level, or cmdprio_class and cmdprio (e.g. 64k/25/1/1:64k/75/3/2:1m/0,1m/0); not with cmdprio_percentage", kind: kindString,
		set: func(j *Job, v string) (err error) { j.Prio.BSSplit, err = j.parsePrioSplit(v); return },
		get: func(j *Job) string { return prioSplitString(j.Prio.BSSplit) }},
	{Name: "cmdprio_class", Arg: "1-3[,1-3]", Default: "1", Help: "I/O priority class of cmdprio_percentage's share of reads,writes (and of cmdprio_bssplit entries that name none): 1 real time (the default), 2 best effort, 3 idle", kind: kindString,
		set: func(j *Job, v string) (err error) { j.Prio.CmdClass, err = parsePrioPair(v, 1, 3); return },
		get: func(j *Job) string { return prioPairString(j.Prio.CmdClass) }},
	{Name: "cmdprio", Arg: "0-7[,0-7]", Default: "0", Help: "I/O priority level of cmdprio_percentage's share of reads,writes (and of cmdprio_bssplit entries that name none)", kind: kindString,
		set: func(j *Job, v string) (err error) { j.Prio.CmdLevel, err = parsePrioPair(v, 0, 7); return },
		get: func(j *Job) string { return prioPairString(j.Prio.CmdLevel) }},
	{Name: "log_unix_epoch", Arg: "bool", Help: "log times in ms since the Unix epoch instead of since the job's start", kind: kindBool,
		set: func(j *Job, v string) error { return setEpoch(j, v, "unix") }, get: func(j *Job) string { return boolString(j.Logs.Epoch == "unix") }},
	{Name: "log_alternate_epoch", Arg: "bool", Help: "log times in ms on the clock log_alternate_epoch_clock_id names (clock_gettime's, CLOCK_REALTIME 0 by default) instead of since the job's start", kind: kindBool,
		set: func(j *Job, v string) error { return setEpoch(j, v, "alternate") }, get: func(j *Job) string { return boolString(j.Logs.Epoch == "alternate") }},
	intOption("log_alternate_epoch_clock_id", "id", "0", "the clock of log_alternate_epoch: a clock_gettime(2) clock id (0 CLOCK_REALTIME, 1 CLOCK_MONOTONIC, 7 CLOCK_BOOTTIME, ...)", 0, 11, func(j *Job) *int { return &j.Logs.EpochClock }),
	boolOption("log_prio", "bool", "", "the per-I/O logs' last column is each I/O's priority (0x followed by its ioprio value in hex, as fio writes it) instead of 1 for a real-time one and 0 for the others", kindBool, func(j *Job) *bool { return &j.Logs.Prio }),
	boolOption("hipri", "bool", "", "polled completions (IOPOLL; needs device poll queues)", kindBool, func(j *Job) *bool { return &j.HiPri }),
	{Name: "uncached", Arg: "n", Default: "0", Help: "fio's io_uring RWF_DONTCACHE on buffered I/O (fio 3.33's asked for RWF_UNCACHED, a flag mainline kernels never took): 0, or any value with direct=1, where fio ignores it too; another value with direct=0 is refused (uncached buffered I/O is not implemented)", kind: kindInt,
		set: func(j *Job, v string) (err error) { j.uncached, err = parseInt(v, 0, math.MaxInt32); return },
		get: func(j *Job) string { return strconv.Itoa(j.uncached) }},
	{Name: "force", Arg: "bool", Help: "write to a block device even if it holds data (a filesystem or other signature, partitions); a device mounted or held by another program stays refused", Engine: true, kind: kindBool,
		set: func(j *Job, v string) (err error) { j.Force, err = parseBool(v); return },
		get: func(j *Job) string { return boolString(j.Force) }},
}

// aliases map other spellings to the table's names.
var aliases = map[string]string{"readwrite": "rw", "timeout": "runtime", "sqpoll": "sqthread_poll", "fixedbuffers": "fixedbufs",
	"blocksize": "bs", "disable_bw": "disable_bw_measurement", "io_limit": "io_size", "ba": "blockalign",
	"blocksize_range": "bsrange", "iodepth_batch": "iodepth_batch_submit", "iodepth_batch_complete": "iodepth_batch_complete_min",
	"mem_align": "iomem_align", "steadystate": "ss", "fill_fs": "fill_device", "steadystate_duration": "ss_dur", "steadystate_ramp_time": "ss_ramp", "iomem": "mem",
	"ratemin": "rate_min", "nr_files": "nrfiles", "fileoffset": "offset", "ratecycle": "rate_cycle",
	"blocksize_unaligned": "bs_unaligned", "wait_for_previous": "stonewall",
	// Newer fio's spellings: of options it renamed (log_max_value is
	// log_window_value there, fdp_pli plids, fdp_pli_select plid_select),
	// of allrandrepeat (an alias of randrepeat there) and of new options
	// with two names.
	"allrandrepeat": "randrepeat", "log_window_value": "log_max_value", "fdp_pli": "plids",
	"fdp_pli_select": "plid_select", "data_placement": "dataplacement", "steadystate_check_interval": "ss_interval"}

// noticeOptions are fio options that cannot change what iobench
// measures; iobench accepts them and says why they make no difference.
var noticeOptions = map[string]string{
	"write_barrier":           "cannot change what is measured: only fio's binject engine (gone from fio) sent barrier writes; with ioengine=io_uring fio ignores it too, and the kernel has no barrier writes",
	"trim_verify_zero":        "cannot change what is measured: it checks blocks trim_percentage trimmed, and iobench takes only trim_percentage=0",
	"thread":                  "cannot change what is measured: iobench's jobs are always threads of one process",
	"unit_base":               "cannot change what is measured: it only selects bits or bytes in fio's printed bandwidth",
	"allow_mounted_write":     "cannot change what is measured: iobench refuses a mounted device, force or not",
	"create_serialize":        "cannot change what is measured: iobench lays files out one after another before any job runs",
	"verify_dump":             "cannot change what is measured: it dumps the blocks of a failed verify to files; iobench reports the first mismatch's offset and bytes",
	"error_dump":              "cannot change what is measured: it only adds detail to the messages of I/O errors",
	"nonvectored":             "cannot change what is measured: iobench's io_uring reads and writes are always non-vectored (IORING_OP_READ, IORING_OP_WRITE)",
	"significant_figures":     "cannot change what is measured: it sets the digits of fio's printed figures; iobench prints its own",
	"verify_fatal":            "cannot change what is measured: a verify mismatch ends the job either way (fio's default first checks the rest of the block); iobench reports the first mismatch",
	"threads":                 "not a job option in fio's documentation (fio takes it for its tiobench profile); no effect on a job",
	"hugepage-size":           "cannot change what is measured: iobench's buffers come from its own arena, whatever mem= asks for",
	"block_error_percentiles": "cannot change what is measured: it reports trim and verify block errors as percentiles in fio's output",
	"disk_util":               "cannot change what is measured: it turns fio's disk utilization report on or off; iobench prints its disk statistics either way",
	"fadvise_hint":            "iobench gives the kernel no fadvise hints; with direct=1 (iobench's default) there is no page cache for them to act on",
	"gtod_cpu":                "cannot change what is measured: it gives fio's gettimeofday thread a CPU; iobench has no clock thread (each reading is the CPU's counter or a vDSO call, clocksource)",
	"log_compression":         "cannot change what is measured: it compresses fio's in-memory logs; iobench writes the same entries",
	"log_compression_cpus":    "cannot change what is measured: it places fio's log compression threads",
	"log_entries":             "cannot change what is measured: the first size of fio's log buffers; iobench's grow as needed",
	"mem":                     "cannot change what is measured: iobench's buffers come from its own arena (mmap'd, registered with the ring)",
	"softrandommap":           "cannot change what is measured: iobench allocates fio's random map (a bit per block) at the job's first random offset, and a run whose memory cannot hold it fails",
	"verify_async_cpus":       "cannot change what is measured: it places fio's verify_async threads; iobench verifies in the job's own thread (verify_async is refused)",
	"load":                    "an option of fio's act profile (profile= is refused); no effect on a job",
	"prep":                    "an option of fio's act profile (profile= is refused); no effect on a job",
	"test-duration":           "an option of fio's act profile (profile= is refused); no effect on a job",
	"threads-per-queue":       "an option of fio's act profile (profile= is refused); no effect on a job",
	"device-names":            "an option of fio's act profile (profile= is refused); no effect on a job",
	"large-block-op-kbytes":   "an option of fio's act profile (profile= is refused); no effect on a job",
	"read-req-num-512-blocks": "an option of fio's act profile (profile= is refused); no effect on a job",
	"block":                   "an option of fio's tiobench profile (profile= is refused); no effect on a job",
	"numruns":                 "an option of fio's tiobench profile (profile= is refused); no effect on a job",
	"dir":                     "an option of fio's tiobench profile (profile= is refused); no effect on a job (a job's directory is directory=)",
	"iomem_align":             "cannot change what is measured: iobench's buffers come from its own arena, each aligned to the page (4096 bytes) and to its own size rounded up to a power of two, whatever alignment is asked for",
	"stats":                   "cannot change what is measured: iobench always collects its statistics",
	"unique_filename":         "cannot change what is measured: it names files of network engines only",
	// Options of fio versions other than 3.33 (README: which versions).
	"verifysort":            "deprecated in fio, which accepts it and ignores it; no effect",
	"verifysort_nr":         "deprecated in fio, which accepts it and ignores it; no effect",
	"flow_watermark":        "deprecated in fio, which accepts it and ignores it; no effect",
	"use_os_rand":           "an option of older fio (the OS's random generator for offsets), which fio 3 no longer has; no effect: iobench's offsets follow random_generator",
	"gpu_dev_id":            "cannot change what is measured: it picks the GPU of fio's mem=cudamalloc buffers (its rdma engine); iobench's buffers come from its own arena",
	"job_start_clock_id":    "cannot change what is measured: it picks the clock of the job_start time in newer fio's JSON, which iobench's JSON (fio 3.33's) does not have",
	"comm":                  "cannot change what is measured: it names fio's job processes (as ps shows them); iobench's jobs are threads of its own process",
	"filetype":              "cannot change what is measured: it tells fio each file's type to spare it finding out; iobench finds out itself (a block device or a regular file)",
	"verify_write_sequence": "cannot change what is measured: it turns fio's check of each verify header's write sequence on (1) or off (0); iobench checks each header's magic, offset, run seed, length and digest, never a write sequence",
	"verify_header_seed":    "cannot change what is measured: it turns fio's check of each verify header's seed on (1) or off (0); iobench checks the run's seed in every header either way",
	"userspace_reap":        "cannot change what is measured: fio's libaio engine reaps completions from user space with it; iobench's engine, io_uring, reaps them from the ring's memory without a system call always",
	"readfua":               "cannot change what is measured: fio sets FUA on reads only on its io_uring_cmd (passthrough) and sg engines, which iobench refuses; with ioengine=io_uring fio ignores it too",
	"writefua":              "cannot change what is measured: fio sets FUA on writes only on its io_uring_cmd (passthrough) and sg engines, which iobench refuses; with ioengine=io_uring fio ignores it too",
	"write_mode":            "cannot change what is measured: fio sends write-zeroes, write-uncorrectable or verify commands for writes only on its io_uring_cmd engine (NVMe passthrough), which iobench refuses; with ioengine=io_uring fio ignores it too",
	"verify_mode":           "cannot change what is measured: fio verifies with compare commands only on its io_uring_cmd engine (NVMe passthrough), which iobench refuses; with ioengine=io_uring fio ignores it too",
	"cmd_type":              "cannot change what is measured: the kind of passthrough command (nvme, bsg) of fio's io_uring_cmd engine, which iobench refuses; with ioengine=io_uring fio ignores it too",
	"deac":                  "cannot change what is measured: the deallocate bit of write-zeroes commands on fio's io_uring_cmd engine (NVMe passthrough), which iobench refuses; with ioengine=io_uring fio ignores it too",
	"pi_act":                "cannot change what is measured: it shapes the protection information of md_per_io_size or of fio's io_uring_cmd engine, both refused; without them fio ignores it too",
	"pi_chk":                "cannot change what is measured: it shapes the protection information of md_per_io_size or of fio's io_uring_cmd engine, both refused; without them fio ignores it too",
	"apptag":                "cannot change what is measured: it shapes the protection information of md_per_io_size or of fio's io_uring_cmd engine, both refused; without them fio ignores it too",
	"apptag_mask":           "cannot change what is measured: it shapes the protection information of md_per_io_size or of fio's io_uring_cmd engine, both refused; without them fio ignores it too",
	"plids":                 "cannot change what is measured: it sets up NVMe data placement (fdp, dataplacement), which iobench refuses; without it fio ignores it too",
	"plid_select":           "cannot change what is measured: it sets up NVMe data placement (fdp, dataplacement), which iobench refuses; without it fio ignores it too",
	"dp_scheme":             "cannot change what is measured: it sets up NVMe data placement (fdp, dataplacement), which iobench refuses; without it fio ignores it too",
}

// refusedOptions are fio options iobench knows but does not implement:
// each would change what runs, so the job is refused with the reason.
var refusedOptions = map[string]string{
	"include":                "include is a directive, not an option: write 'include FILE' on a line of its own",
	"numa_mem_policy":        "not implemented: a NUMA memory policy for the job's buffers (numa_cpu_nodes places its threads)",
	"bs_unaligned":           "not implemented: I/O sizes are multiples of the smallest block size",
	"cgroup":                 "not implemented: running jobs in cgroups",
	"cgroup_nodelete":        "not implemented: running jobs in cgroups",
	"cgroup_weight":          "not implemented: running jobs in cgroups",
	"gid":                    "not implemented: jobs run as the program's own user and group",
	"uid":                    "not implemented: jobs run as the program's own user and group",
	"ignore_zone_limits":     "not implemented: zoned block devices (zonemode=zbd)",
	"job_max_open_zones":     "not implemented: zoned block devices (zonemode=zbd)",
	"max_open_zones":         "not implemented: zoned block devices (zonemode=zbd)",
	"read_beyond_wp":         "not implemented: zoned block devices (zonemode=zbd)",
	"zone_reset_frequency":   "not implemented: zoned block devices (zonemode=zbd)",
	"zone_reset_threshold":   "not implemented: zoned block devices (zonemode=zbd)",
	"zonecapacity":           "not implemented: zoned block devices (zonemode=zbd)",
	"lockfile":               "not implemented: locking files between jobs",
	"log_store_compressed":   "not implemented: logs are written plain",
	"merge_blktrace_file":    "not implemented: merging blktrace traces (read_iolog replays fio's text iologs)",
	"merge_blktrace_iters":   "not implemented: merging blktrace traces (read_iolog replays fio's text iologs)",
	"merge_blktrace_scalars": "not implemented: merging blktrace traces (read_iolog replays fio's text iologs)",
	"profile":                "not implemented: fio's built-in profiles",
	"rwmixcycle":             "deprecated in fio, which refuses it too: it no longer has an effect; remove the line",
	"verify_state_load":      "not implemented: saving and loading verify state",
	"verify_state_save":      "not implemented: saving and loading verify state",
	// Options of fio versions other than 3.33 (README: which versions).
	"percentage_sequential":   "deprecated in fio, which refuses it too: write percentage_random=100-N instead",
	"fadvise_stream":          "not implemented: older fio's write stream ID, given to the kernel with posix_fadvise(2); fio 3.33 no longer has the option and refuses it too",
	"rate_poisson":            "the spelling of fio's first poisson-rate-submission.fio for what fio names rate_process=poisson; fio 3.33 refuses it too: write rate_process=poisson instead",
	"num_range":               "not implemented: trims of several ranges in one command (fio's io_uring_cmd and xnvme engines send them); each trim is one range",
	"fdp":                     "not implemented: NVMe data placement (fdp, dataplacement)",
	"dataplacement":           "not implemented: NVMe data placement (fdp, dataplacement)",
	"md_per_io_size":          "not implemented: a metadata (protection information) buffer with each I/O",
	"recover_zbd_write_error": "not implemented: zoned block devices (zonemode=zbd)",
	"write_zone_remainder":    "not implemented: zoned block devices (zonemode=zbd)",
	"ss_interval":             "not implemented: steady-state samples at another interval than 1 s (fio 3.33's, which iobench takes)",
	"priohint":                "not implemented: I/O priority hints (prio, prioclass and the cmdprio options are)",
	"cmdprio_hint":            "not implemented: I/O priority hints (prio, prioclass and the cmdprio options are)",
	"verify_pattern_interval": "not implemented: starting verify_pattern afresh every N bytes (it repeats over each verify block)",
	"hipri_percentage":        "not implemented: polled completions (IOPOLL) for a share of the I/O, fio's pvsync2 engine's option (hipri polls them all)",
	"iodepth_mode":            "not implemented: stepping the queue depth through a range of iodepth during the job (iodepth_mode=stepped); each job keeps its iodepth",
}

var optionIndex = func() map[string]*Option {
	m := make(map[string]*Option, len(options))
	for i := range options {
		m[options[i].Name] = &options[i]
	}
	return m
}()

// Options returns the option table, for --help and for callers mapping
// their own flags.
func Options() []Option { return options }

// Lookup returns the option named name (or one of its aliases), with
// Aliases filled in.
func Lookup(name string) (Option, bool) {
	o, ok := optionIndex[Canonical(name)]
	if !ok {
		return Option{}, false
	}
	out := *o
	out.Aliases = nil
	for a, n := range aliases {
		if n == o.Name {
			out.Aliases = append(out.Aliases, a)
		}
	}
	slices.Sort(out.Aliases)
	return out, true
}

// IsEngineOnly reports whether key is an iobench engine option (which fio
// does not know, so job files carry it in an "#iobench:" pragma).
func IsEngineOnly(key string) bool {
	o, ok := optionIndex[strings.ToLower(key)]
	return ok && o.Engine
}

// IsBool reports whether key takes a boolean (a bare key means true).
func IsBool(key string) bool {
	o, ok := optionIndex[strings.ToLower(key)]
	return ok && (o.kind == kindBool || o.kind == kindFlag)
}

// TakesBare reports whether key may be given alone, without a value
// (Job.SetBare): on fio's command line as in its job files, any other
// option takes the next argument as its value.
func TakesBare(key string) bool {
	if o, ok := optionIndex[Canonical(key)]; ok {
		return takesBare(o)
	}
	return bareNotices[Canonical(key)] || IsRefused(key) && fioFlags[Canonical(key)]
}

// TakesBareInFile reports whether key, which TakesBare, may stand alone
// only in a job file: fio's command line takes the next argument as the
// value of a write_*_log option (--write_bw_log --write_lat_log names the
// bandwidth log "--write_lat_log"), and fails one given last ("requires an
// argument"), where a job file's bare line names the logs after the job.
func TakesBareInFile(key string) bool {
	o, ok := optionIndex[Canonical(key)]
	return ok && o.bareName
}

// IsNotice reports whether key is accepted with a notice only.
func IsNotice(key string) bool { _, ok := noticeOptions[Canonical(key)]; return ok }

// Canonical returns the table's name for key: lower case, aliases
// resolved.
func Canonical(key string) string {
	key = strings.ToLower(key)
	if a, ok := aliases[key]; ok {
		return a
	}
	return key
}

// Refused returns the fio options iobench knows and refuses, with the
// reason each gives.
func Refused() map[string]string { return maps.Clone(refusedOptions) }

// Notices returns the fio options iobench accepts without effect, with
// why they cannot change what is measured.
func Notices() map[string]string { return maps.Clone(noticeOptions) }

// noEffectValues are values of options iobench otherwise refuses that ask
// for what it does anyway (fio's default, or off): a job file that spells
// out such a default runs, with nothing to say about it.
var noEffectValues = map[string][]string{
	"cgroup_nodelete":    {"0"},
	"ignore_zone_limits": {"0"}, "job_max_open_zones": {"0"},
	"lockfile": {"none"}, "max_open_zones": {"0"},
	"read_beyond_wp": {"0"},
	// Booleans off by default in fio 3.33 (no default, fio --cmdhelp).
	"bs_unaligned":         {"0"},
	"log_store_compressed": {"0"}, "verify_state_load": {"0"},

	// 1 is fio's default: it saves the verify state only when a verify
	// fails, as a file for a later run; iobench names the bad block.
	"verify_state_save": {"0", "1"}, "zonecapacity": {"0"},
	// Newer fio's, at their defaults.
	"num_range": {"1"}, "fdp": {"0"},
	"dataplacement": {"none"}, "md_per_io_size": {"0"},
	"recover_zbd_write_error": {"0"}, "write_zone_remainder": {"0"}, "priohint": {"0"}, "verify_pattern_interval": {"0"},
	"hipri_percentage": {"0"},
}

// noEffect reports whether value of the refused option key asks for what
// iobench does anyway (noEffectValues).
func noEffect(key, value string) bool {
	// As spelled: fio 3.33 refuses lockfile=NONE, and a boolean's off is
	// a number there (0, 0x0), never a word (nowait=off fails parsing).
	v := strings.TrimSpace(value)
	if b, err := parseBool(v); err == nil && !b && !slices.Contains(boolWords, strings.ToLower(v)) {
		v = "0"
	}
	return slices.Contains(noEffectValues[key], v)
}

// IsRefused reports whether key is a fio option iobench refuses.
func IsRefused(key string) bool { _, ok := refusedOptions[Canonical(key)]; return ok }

func rwString(j *Job) string {
	switch {
	case j.RWMod == 0:
		return string(j.RW)
	case j.RW.Random():
		return fmt.Sprintf("%s:%d", j.RW, j.RWMod)
	}
	if j.RWBack {
		return string(j.RW) + ":-" + sizeString(j.RWMod)
	}
	return string(j.RW) + ":" + sizeString(j.RWMod)
}

// setRW sets rw: a pattern, optionally with ":N" (sequential: skip N
// bytes after each I/O, or with ":-N" start each I/O N bytes before the
// end of the last; random: a new random offset every N I/Os, the ones
// between sequential).
func setRW(j *Job, v string) error {
	pat, mod, hasMod := strings.Cut(strings.ToLower(v), ":")
	switch pat {
	case "read":
		j.RW = Read
	case "write":
		j.RW = Write
	case "randread":
		j.RW = RandRead
	case "randwrite":
		j.RW = RandWrite
	case "rw", "readwrite":
		j.RW = ReadWrite
	case "randrw":
		j.RW = RandRW
	case "trim", "randtrim", "trimwrite", "randtrimwrite":
		j.RW = RW(pat)
	default:
		return fmt.Errorf("want read, write, randread, randwrite, rw, randrw, trim, randtrim, trimwrite or randtrimwrite")
	}
	j.RWMod, j.RWBack = 0, false
	if hasMod {
		var n uint64
		var err error
		back := false
		if j.RW.Random() {
			var k int
			k, err = parseInt(mod, 1, math.MaxInt32)
			n = uint64(k)
		} else {
			// rw=read:-N: each I/O starts N bytes before the end of the
			// last (fio's backwards I/O).
			var rest string
			rest, back = strings.CutPrefix(mod, "-")
			n, err = j.parseSize(rest)
			if err == nil && back && n == 0 {
				back = false
			}
		}
		if err != nil {
			return fmt.Errorf(":%s: %w", mod, err)
		}
		j.RWMod, j.RWBack = n, back
	}
	return nil
}

// setBS sets bs or bsrange: "4k", "4k,8k" (reads,writes), or ranges
// "4k-64k[,8k-16k]". Trims use the write sizes, as fio's two-value form
// has it; a third value (fio's trim size) is taken when it says the same.
// setBS takes bs as fio 3.33 reads it: reads,writes,trims, where ':' or
// '-' separate the directions as ',' does (fio's handle_option splits a
// size option's value at the first ',', or with none at ':', or '-'), so
// bs=4k-8k is reads of 4k and writes of 8k there, not a range of sizes
// (bsrange is one). A value that mixes the separators, which fio reads
// by dropping a size (bs=4k-8k,16k is reads of 4k, writes of 16k), is
// refused.
func setBS(j *Job, v string) error {
	comma, colon, dash := strings.Contains(v, ","), strings.Contains(v, ":"), strings.Contains(v, "-")
	if comma && (colon || dash) || colon && dash {
		return fmt.Errorf("fio 3.33 reads ':' and '-' in bs as it reads ',' (between the sizes of reads, writes and trims), and mixed they drop a size there: give bs=reads,writes,trims, or bsrange=lo-hi[,lo-hi] for ranges of sizes")
	}
	if colon {
		v = strings.ReplaceAll(v, ":", ",")
	} else if dash {
		v = strings.ReplaceAll(v, "-", ",")
	}
	return setBlockSizes(j, v, false)
}

// bsSeparatorNotice says how bs=v is read when ':' or '-' separate its
// directions (setBS), or is empty.
func bsSeparatorNotice(v string) string {
	sep := ":"
	if !strings.Contains(v, sep) {
		sep = "-"
	}
	parts := strings.Split(v, sep)
	if len(parts) < 2 || strings.Contains(v, ",") {
		return ""
	}
	for i, p := range parts {
		if strings.TrimSpace(p) == "" {
			parts[i] = "4k" // left empty: the default, as setBlockSizes takes it
		}
	}
	if len(parts) == 2 {
		return fmt.Sprintf("read as fio 3.33 reads it, %s as a comma: reads %s, writes and trims %s, not a range of sizes (bsrange=%s draws sizes from one)", sep, parts[0], parts[1], v)
	}
	return fmt.Sprintf("read as fio 3.33 reads it, %s as a comma: reads %s, writes %s, trims %s, not a range of sizes (bsrange=lo-hi draws sizes from one)", sep, parts[0], parts[1], parts[2])
}

// setBSRange takes bsrange: reads,writes,trims, each a range lo-hi (or
// lo:hi) or one size.
func setBSRange(j *Job, v string) error { return setBlockSizes(j, v, true) }

// setBlockSizes sets the block sizes of bs (ranges false) or bsrange.
func setBlockSizes(j *Job, v string, ranges bool) error {
	// fio's rules: reads,writes,trims; a value left out repeats the one
	// before it, an empty one is the default (4k).
	parts := strings.Split(v, ",")
	if len(parts) > 3 {
		return fmt.Errorf("want at most three values (reads,writes,trims)")
	}
	given := len(parts)
	for len(parts) < 3 {
		parts = append(parts, parts[len(parts)-1])
	}
	for i, p := range parts {
		if strings.TrimSpace(p) == "" {
			parts[i] = "4k"
		}
	}
	// Name the direction whose value is bad when several were given.
	named := func(d int, err error) error {
		if given == 1 {
			return err
		}
		return fmt.Errorf("%s size %s: %w", [...]string{"read", "write", "trim"}[d], parts[d], err)
	}
	var bs [2]uint64
	var rng [2][2]uint64
	for d, part := range parts {
		lo, hi, isRange := part, "", false
		if ranges {
			lo, hi, isRange = cutRange(part)
		}
		a, err := j.parseSize(lo)
		if err != nil {
			return named(d, err)
		}
		b := a
		if isRange {
			if b, err = j.parseSize(hi); err != nil {
				return named(d, err)
			}
		}
		if d == 2 {
			// A trim size other than the write size matters only to a
			// job that trims (Validate); its syntax is checked now.
			break
		}
		// fio takes the bounds in either order.
		a, b = min(a, b), max(a, b)
		bs[d] = a
		if b > a {
			rng[d] = [2]uint64{a, b}
		}
	}
	j.trimBS = ""
	if parts[2] != parts[1] {
		j.trimBS = parts[2]
	}
	j.BS, j.BSRange = bs, rng
	return nil
}

// cutRange splits a range lo-hi; fio also takes lo:hi when there is no
// dash.
func cutRange(v string) (lo, hi string, ok bool) {
	if lo, hi, ok = strings.Cut(v, "-"); ok {
		return lo, hi, ok
	}
	return strings.Cut(v, ":")
}

func bsString(j *Job) string {
	f := func(d int) string {
		if j.BSRange[d][1] > 0 {
			return sizeString(j.BSRange[d][0]) + "-" + sizeString(j.BSRange[d][1])
		}
		return sizeString(j.BS[d])
	}
	return f(0) + "," + f(1)
}

// parseSizeOrPct parses a size or a percentage ("50%") of the target.
func (j *Job) parseSizeOrPct(v string) (uint64, float64, error) {
	if p, ok := strings.CutSuffix(trimComma(v), "%"); ok {
		if whole, _, frac := strings.Cut(p, "."); frac && strings.Trim(p, "0.") != "" {
			// fio 3.33 takes a percentage by the character after its
			// digits: after "50." it reads a size, 50 bytes.
			return 0, 0, fmt.Errorf("%q: fio 3.33 reads a percentage with a decimal point as a size, its whole part in bytes (%s there): give a whole percentage", v, cmp.Or(whole, "0"))
		}
		pct, err := parsePct(p)
		if err != nil || pct == 0 {
			return 0, 0, fmt.Errorf("%q: want a percentage in (0, 100]", v)
		}
		return 0, pct, nil
	}
	n, err := j.parseSize(v)
	return n, 0, err
}

func pctOrSize(n uint64, pct float64) string {
	if pct > 0 {
		return strconv.FormatFloat(pct, 'g', -1, 64) + "%"
	}
	return sizeString(n)
}

func setBSSplit(j *Job, v string) error {
	parts := strings.Split(v, ",")
	if len(parts) > 3 {
		return fmt.Errorf("want at most three splits (reads,writes,trims)")
	}
	var sets [3][]BSSplit
	for d, part := range parts {
		if part == "" {
			// Empty (",8k/100", "4k/100,", "4k/100,,8k/100"): no split
			// for this direction, whose I/Os take bs's size, as in fio.
			continue
		}
		s, err := parseSplit(part, j.KBBase)
		if err != nil {
			if len(parts) > 1 {
				err = fmt.Errorf("%s split %s: %w", dirNames[d], part, err)
			}
			return err
		}
		sets[d] = s
	}
	for d := len(parts); d < 3; d++ {
		sets[d] = sets[d-1] // left out: as the direction before
	}
	j.trimSplit = ""
	if len(parts) == 3 && parts[2] != parts[1] {
		j.trimSplit = parts[2]
		if parts[2] == "" {
			j.trimSplit = "left empty: trims of bs's size"
		}
	}
	j.BSSplit = [2][]BSSplit{sets[0], sets[1]}
	return nil
}

// setBlockAlign takes blockalign: one alignment for the random offsets
// of every direction, so fio's per-direction form is taken only when the
// values it gives are the same.
func setBlockAlign(j *Job, v string) error {
	out, err := parseDirs(v, j.parseSize)
	if err != nil {
		return err
	}
	for d := range 3 {
		if out[d] != 0 && out[d] != out[0] || out[0] == 0 && out[d] != 0 {
			return fmt.Errorf("alignments per direction (%s) are not implemented: one alignment applies to the random offsets of every direction", v)
		}
	}
	j.BlockAlign = out[0]
	return nil
}

// parseSplit parses "4k/50:64k/40:1m/10" into the split fio 3.33 draws
// sizes from (checked against its write_iolog, TestBSSplitAsFio):
//   - a percentage is a whole number: fio drops a fraction (4k/30.5 is
//     4k/30), takes one over 100 for 100 and one below 0 for 0;
//   - an entry without one, or with 0, shares what the others leave, in
//     whole percents ((100 - sum) / blanks, truncated); more than one such
//     entry where the others add up to over 100 is refused, as fio
//     refuses it; a single one there gets fio's unsigned difference,
//     2^32 - (sum - 100), which fio sorts first (see BSSplitOrder), so
//     that its size is drawn for nearly every I/O, as fio draws it;
//   - the percentages need not add up to 100: fio takes the entries in
//     order of percentage, and a draw past their sum takes the last.
func parseSplit(v string, kbBase uint64) ([]BSSplit, error) {
	var out []BSSplit
	var sum uint32
	blank := 0
	for _, part := range strings.Split(v, ":") {
		if part == "" {
			continue
		}
		sz, pct, hasPct := strings.Cut(part, "/")
		s, err := parseSizeBase(sz, kbBase)
		if err != nil {
			return nil, err
		}
		e := BSSplit{Size: s, Pct: -1}
		if hasPct && strings.TrimSpace(pct) != "" { // "8k/" is blank too
			p, err := parseSplitPct(pct)
			if err != nil {
				return nil, err
			}
			if p > 0 { // 4k/0 is blank, as in fio
				e.Pct = float64(p)
				sum += p
			}
		}
		if e.Pct < 0 {
			blank++
		}
		out = append(out, e)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("empty split")
	}
	if sum > 100 && blank > 1 {
		return nil, fmt.Errorf("percentages add up to %d, over 100, with %d entries left to share the rest (fio 3.33 refuses it too)", sum, blank)
	}
	if blank == 1 && len(out) == 1 {
		out[0].Pct = 100 // all of it
		return out, nil
	}
	for i := range out {
		if out[i].Pct < 0 {
			out[i].Pct = float64((100 - sum) / uint32(blank)) // unsigned, as fio's
		}
	}
	return out, nil
}

// parseSplitPct reads a bssplit percentage as fio 3.33 does: a whole
// number (a fraction dropped), at most 100, at least 0.
func parseSplitPct(v string) (uint32, error) {
	num := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "%"))
	if strings.HasPrefix(strings.ToLower(num), "0x") {
		p, err := parsePct(v)
		return uint32(p), err
	}
	p, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsNaN(p) {
		if serr := separatorErr(v); serr != nil {
			return 0, serr
		}
		return 0, fmt.Errorf("%q is not a percentage", v)
	}
	return uint32(math.Trunc(min(max(p, 0), 100))), nil
}

// BSSplitOrder sorts a direction's split into the order fio 3.33 takes
// its entries in when it draws a size: by percentage, stably, a
// percentage compared as a signed 32-bit number (the unsigned share of a
// blank entry where the others add up to over 100 comes first).
func BSSplitOrder(s []BSSplit) []BSSplit {
	out := slices.Clone(s)
	slices.SortStableFunc(out, func(a, b BSSplit) int {
		return cmp.Compare(int32(uint32(a.Pct)), int32(uint32(b.Pct)))
	})
	return out
}

// bssplitWraps reports whether e is a blank entry given fio's unsigned
// share (the others adding up to over 100).
func bssplitWraps(e BSSplit) bool { return e.Pct > 100 }

func bssplitString(s [2][]BSSplit) string {
	f := func(es []BSSplit) string {
		var parts []string
		for _, e := range es {
			if bssplitWraps(e) {
				// Left blank: read again, it gets the same share.
				parts = append(parts, sizeString(e.Size)+"/")
				continue
			}
			parts = append(parts, fmt.Sprintf("%s/%g", sizeString(e.Size), e.Pct))
		}
		return strings.Join(parts, ":")
	}
	return f(s[0]) + "," + f(s[1])
}

// setVerify sets verify. Newer fio's pattern_hdr (a header, then
// verify_pattern) is iobench's meta with verify_pattern: its header's
// fields and the pattern after it are checked, with no digest.
func setVerify(j *Job, v string) error {
	hdr := false
	switch strings.ToLower(v) {
	case "0", "", "none", "off":
		j.Verify = ""
	case "crc32c", "crc32c-intel":
		j.Verify = "crc32c"
	case "meta", "pattern", "null":
		j.Verify = strings.ToLower(v)
	case "pattern_hdr":
		j.Verify, hdr = "meta", true
	default:
		if !slices.Contains(Hashes(), strings.ToLower(v)) {
			return fmt.Errorf("want one of %s, meta, pattern, pattern_hdr or null", strings.Join(Hashes(), ", "))
		}
		j.Verify = strings.ToLower(v)
	}
	j.patternHdr = hdr
	return nil
}

// parsePattern parses a verify_pattern or buffer_pattern: 0x followed by
// hex digits (the bytes in the order written), a "quoted string", or a
// decimal number (its little-endian bytes, as fio stores an integer).
func parsePattern(v string) ([]byte, error) {
	v = strings.TrimSpace(v)
	switch {
	case strings.HasPrefix(v, "0x") || strings.HasPrefix(v, "0X"):
		h := v[2:]
		if len(h)%2 == 1 {
			h = "0" + h
		}
		b := make([]byte, len(h)/2)
		for i := range b {
			x, err := strconv.ParseUint(h[2*i:2*i+2], 16, 8)
			if err != nil {
				return nil, fmt.Errorf("%q: not hex", v)
			}
			b[i] = byte(x)
		}
		if len(b) == 0 {
			return nil, fmt.Errorf("empty pattern")
		}
		return b, nil
	case len(v) >= 3 && v[0] == '"' && v[len(v)-1] == '"':
		return []byte(v[1 : len(v)-1]), nil
	case len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'':
		// fio 3.33 refuses the form; later fio reads the pattern from the
		// file it names.
		return nil, fmt.Errorf("%s: a single-quoted pattern names a file to read it from in newer fio (fio 3.33 refuses it); iobench reads no pattern files: give 0xHEX, a \"string\" or a number", v)
	}
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("%q: want 0xHEX, a \"string\" or a number (fio's %%o and combinations are not implemented)", v)
	}
	b := []byte{byte(n), byte(n >> 8), byte(n >> 16), byte(n >> 24)}
	for len(b) > 1 && b[len(b)-1] == 0 {
		b = b[:len(b)-1]
	}
	return b, nil
}

func parsePct(v string) (float64, error) {
	num := strings.TrimSuffix(v, "%")
	if hex, ok := strings.CutPrefix(strings.ToLower(num), "0x"); ok {
		// An integer in hex, as fio reads one (percentage_random=0x20 is 32).
		n, err := strconv.ParseUint(hex, 16, 8)
		if err != nil || n > 100 {
			return 0, fmt.Errorf("%q is not a percentage (0..100)", v)
		}
		return float64(n), nil
	}
	p, err := strconv.ParseFloat(num, 64)
	if err != nil || p < 0 || p > 100 || math.IsNaN(p) {
		if serr := separatorErr(v); serr != nil {
			return 0, serr
		}
		return 0, fmt.Errorf("%q is not a percentage (0..100)", v)
	}
	return p, nil
}

// ParseSize parses a size the way fio does by default (kb_base=1024):
// "4096", "4k", "4ki" and "4kb" are 4096: k, m, g, t, p suffixes are
// powers of 1024, with or without a trailing "b" or "i"; with an "ib"
// ("4KiB") they are powers of 1000, as fio 3.33 has them. A fraction
// ("1.5g") is refused: fio 3.33 reads it as its whole part in bytes.
func ParseSize(v string) (uint64, error) { return parseSizeBase(v, 1024) }

// parseSize parses a size in the job's kb_base.
func (j *Job) parseSize(v string) (uint64, error) { return parseSizeBase(v, j.KBBase) }

// trimComma trims v's blanks and one comma at its end, which fio 3.33
// drops from a value (iodepth=4, is 4 there, size=64k, 64k): its
// handle_option cuts a value at a comma that ends it.
func trimComma(v string) string {
	return strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), ","))
}

// separatorErr explains a ':' or '-' inside a value an option takes one
// of, or is nil: fio 3.33 splits any value there as at ',' (between the
// values of reads, writes and trims) and keeps one of the parts
// (size=32k-64k is 64k there, iodepth=2-4 is 2), so it is no range.
func separatorErr(v string) error {
	if strings.IndexAny(strings.TrimSpace(v), ":-") > 0 {
		return fmt.Errorf("%q: fio 3.33 splits a value at ':' or '-' as at ',' (between the values of reads, writes and trims) and keeps one of the parts, so this is no range; give one value", v)
	}
	return nil
}

// parseSizeBase parses a size with kb_base kbBase: for 1024, k is 1024
// and kib 1000; for 1000, k is 1000 and kib 1024 (fio's rules).
func parseSizeBase(v string, kbBase uint64) (uint64, error) {
	s := strings.ToLower(trimComma(v))
	if s == "" {
		return 0, fmt.Errorf("empty size")
	}
	if strings.HasPrefix(s, "0x") {
		n, err := strconv.ParseUint(s, 0, 64)
		if err != nil {
			return 0, fmt.Errorf("%q is not a size", v)
		}
		return n, nil
	}
	i := 0
	for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
		i++
	}
	// Only a unit ending in "ib" (kib, MiB) takes the other base: fio
	// 3.33 reads "ki" and "mi" as it reads "k" and "m" (4ki is 4096 at
	// kb_base=1024, 4000 at 1000), whatever its HOWTO's table says.
	num, unit := s[:i], strings.TrimSuffix(s[i:], "b")
	iec := unit != s[i:] && strings.HasSuffix(unit, "i")
	unit = strings.TrimSuffix(unit, "i")
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a size (e.g. 4k, 1m, 2g)", v)
	}
	base := 1024.0
	if (kbBase == 1000) != iec {
		base = 1000
	}
	mult := 1.0
	switch unit {
	case "":
	case "k":
		mult = base
	case "m":
		mult = math.Pow(base, 2)
	case "g":
		mult = math.Pow(base, 3)
	case "t":
		mult = math.Pow(base, 4)
	case "p":
		mult = math.Pow(base, 5)
	case "z":
		return 0, fmt.Errorf("%q: sizes in zones (fio's z unit, a number of zonesize) are not implemented: give bytes, e.g. 4m", v)
	default:
		if err := separatorErr(v); err != nil {
			return 0, err
		}
		return 0, fmt.Errorf("%q: unknown size unit %q (k, m, g, t, p)", v, s[i:])
	}
	r := f * mult
	if r >= math.MaxUint64 || r < 0 {
		return 0, fmt.Errorf("%q is too large", v)
	}
	if whole, _, frac := strings.Cut(num, "."); frac {
		// fio 3.33 reads the digits before the point and drops the rest,
		// unit included: size=1.5m is one byte there, bs=1.5k one byte.
		eg := strconv.FormatUint(uint64(r), 10)
		if kbBase == 1024 {
			eg = sizeString(uint64(r))
		}
		if whole == "" {
			whole = "0"
		}
		unit := "bytes"
		if whole == "1" {
			unit = "byte"
		}
		return 0, fmt.Errorf("%q: fio 3.33 reads a size with a decimal point as its whole part, the unit dropped (%s %s there): give a whole number, e.g. %s", v, whole, unit, eg)
	}
	return uint64(r), nil
}

func sizeString(n uint64) string {
	for _, u := range []struct {
		s string
		v uint64
	}{{"t", 1 << 40}, {"g", 1 << 30}, {"m", 1 << 20}, {"k", 1 << 10}} {
		if n >= u.v && n%u.v == 0 {
			return strconv.FormatUint(n/u.v, 10) + u.s
		}
	}
	return strconv.FormatUint(n, 10)
}

// ParseTime parses a time as fio does: a bare number is seconds; units us,
// ms, s, m, h, d are accepted.
func ParseTime(v string) (time.Duration, error) { return parseDuration(v, time.Second) }

// parseDuration parses a time, a bare number in units of bare.
//
// A time with a decimal point is refused: fio 3.33 reads it as its whole
// part in the option's own unit, the unit given dropped (runtime=1.5s and
// runtime=1.5 are 1 s there, thinktime=1.5ms 1 µs), where the same job
// file here would run as meant; the message names fio's reading and a
// whole equivalent. iobench's own options take fractions
// (parseDurationFrac).
func parseDuration(v string, bare time.Duration) (time.Duration, error) {
	d, err := parseDurationFrac(v, bare)
	if err != nil {
		return 0, err
	}
	if num, _, frac := strings.Cut(strings.TrimSpace(v), "."); frac {
		whole, _ := strconv.ParseInt(num, 10, 64)
		return 0, fmt.Errorf("%q: fio 3.33 reads a time with a decimal point as its whole part, in the option's unit whatever unit is given (%s there): give a whole number, e.g. %s", v, timeString(time.Duration(whole)*bare), timeString(d))
	}
	return d, nil
}

// parseDurationFrac is parseDuration taking fractions (map_latency=1.5us),
// for iobench's own options, which fio does not read.
func parseDurationFrac(v string, bare time.Duration) (time.Duration, error) {
	s := strings.ToLower(trimComma(v))
	if strings.HasPrefix(s, "0x") {
		// fio 3.33 reads a hex time as a bare count of µs, its unit
		// ignored (runtime=0x2 is 2 µs, 0x10ms 16 µs): surely not what
		// was meant, and not what the same digits in decimal give.
		return 0, fmt.Errorf("%q: a time in hex is not taken (fio reads it as µs whatever its unit: 0x2 is 2 µs); give it in decimal, e.g. 30s", v)
	}
	i := 0
	for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
		i++
	}
	f, err := strconv.ParseFloat(s[:i], 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("%q is not a time (e.g. 30, 30s, 500ms, 5us, 2m)", v)
	}
	unit := bare
	switch s[i:] {
	case "":
	case "ns":
		unit = time.Nanosecond
	case "us", "usec", "µs", "μs":
		unit = time.Microsecond
	case "ms", "msec":
		unit = time.Millisecond
	case "s", "sec":
		unit = time.Second
	case "m", "min":
		unit = time.Minute
	case "h":
		unit = time.Hour
	case "d":
		unit = 24 * time.Hour
	default:
		if err := separatorErr(v); err != nil {
			return 0, err
		}
		return 0, fmt.Errorf("%q: unknown time unit %q", v, s[i:])
	}
	d := f * float64(unit)
	if d > math.MaxInt64 {
		return 0, fmt.Errorf("%q is too long", v)
	}
	return time.Duration(d), nil
}

// filenameTokens are filename_format's substitutions, as fio names them.
// $clientuid is the client's number in fio's client/server mode, which
// iobench does not have: empty, as fio leaves it in a local run.
var filenameTokens = []string{"$jobname", "$jobnum", "$filenum", "$clientuid"}

func setFilenameFormat(j *Job, v string) error {
	rest := v
	for _, t := range filenameTokens {
		rest = strings.ReplaceAll(rest, t, "")
	}
	if i := strings.IndexByte(rest, '$'); i >= 0 {
		tok := rest[i:]
		if k := strings.IndexFunc(tok[1:], func(r rune) bool {
			return !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
		}); k >= 0 {
			tok = tok[:k+1]
		}
		return fmt.Errorf("%s: want $jobname, $jobnum, $filenum or $clientuid", tok)
	}
	if strings.TrimSpace(v) == "" {
		return errors.New("empty")
	}
	j.FilenameFormat = v
	return nil
}

// ParseDist parses random_distribution: random, zipf:θ, pareto:h,
// normal:dev (fio's deviation, 0 up to 100), each with an optional
// :center (0..1), and zoned:a/s:a/s:... (access percent to size percent,
// from the start of the range; both sum to 100), and newer fio's
// sequence:i,j,... (block indexes, each a whole number, separated by
// commas, spaces around each allowed, as fio reads them). The ranges and
// defaults are fio's: zipf 1.1 (θ not 1), pareto 0.2 in (0, 1), normal 0.
func ParseDist(v string) (Dist, error) {
	kind, arg, hasArg := strings.Cut(strings.ToLower(strings.TrimSpace(v)), ":")
	d := Dist{Kind: kind}
	num := func(def float64, ok func(float64) bool, want string) error {
		d.Param = def
		if !hasArg {
			return nil
		}
		p, c, hasCenter := strings.Cut(arg, ":")
		x, err := strconv.ParseFloat(p, 64)
		if err != nil || !ok(x) {
			return fmt.Errorf("%s parameter %q: want %s", kind, p, want)
		}
		d.Param = x
		if hasCenter {
			y, err := strconv.ParseFloat(c, 64)
			if err != nil || !(y >= 0 && y <= 1) {
				return fmt.Errorf("%s center %q: want a fraction of the region, 0 to 1", kind, c)
			}
			d.Center, d.HasCenter = y, true
		}
		return nil
	}
	switch kind {
	case "random":
		return d, nil
	case "zipf":
		return d, num(1.1, func(x float64) bool { return x > 0 && x < 100 && x != 1 }, "θ in (0, 100), not 1 (use 0.99 or 1.01)")
	case "pareto":
		return d, num(0.2, func(x float64) bool { return x > 0 && x < 1 }, "h in (0, 1)")
	case "normal", "gauss":
		d.Kind = "normal"
		return d, num(0, func(x float64) bool { return x >= 0 && x < 100 }, "a deviation in [0, 100)")
	case "zoned":
		if !hasArg {
			return d, fmt.Errorf("zoned needs zones, e.g. zoned:60/10:30/20:10/70")
		}
		// A zone with no size (a/) takes the size the others leave, shared
		// with any other such zone, as fio reads it.
		var sa, ss float64
		var open []int
		for _, z := range strings.Split(arg, ":") {
			a, s, ok := strings.Cut(z, "/")
			if !ok {
				return d, fmt.Errorf("zone %q: want access%%/size%%", z)
			}
			ap, err1 := parsePct(a)
			var sp float64
			var err2 error
			if strings.TrimSpace(s) == "" {
				open = append(open, len(d.Zones))
			} else if sp, err2 = parsePct(s); sp == 0 {
				err2 = errors.New("zero size")
			}
			if err1 != nil || err2 != nil {
				return d, fmt.Errorf("zone %q: want access%%/size%% with a non-zero size (or none: the rest)", z)
			}
			d.Zones = append(d.Zones, Zone{AccessPct: ap, SizePct: sp})
			sa += ap
			ss += sp
		}
		if len(open) > 0 {
			rest := 100 - ss
			if rest <= 0.01 {
				return d, fmt.Errorf("zones with no size get what the others leave, and they leave %g%%", max(rest, 0))
			}
			for _, i := range open {
				d.Zones[i].SizePct = rest / float64(len(open))
			}
			ss = 100
		}
		if math.Abs(sa-100) > 0.01 || math.Abs(ss-100) > 0.01 {
			return d, fmt.Errorf("zones add up to %g%% of accesses and %g%% of the size; both must be 100", sa, ss)
		}
		return d, nil
	case "zoned_abs":
		if !hasArg {
			return d, fmt.Errorf("zoned_abs needs zones, e.g. zoned_abs:60/20g:30/100g:10/500g")
		}
		var sa float64
		for _, z := range strings.Split(arg, ":") {
			a, s, ok := strings.Cut(z, "/")
			ap, err1 := parsePct(a)
			size, err2 := ParseSize(strings.TrimSpace(s))
			if !ok || err1 != nil || err2 != nil || size == 0 {
				return d, fmt.Errorf("zone %q: want access%%/size, a size in bytes (with k, m, g ...) more than 0", z)
			}
			d.Zones = append(d.Zones, Zone{AccessPct: ap, Size: size})
			sa += ap
		}
		if math.Abs(sa-100) > 0.01 {
			return d, fmt.Errorf("zones add up to %g%% of accesses; they must add up to 100", sa)
		}
		return d, nil
	case "sequence":
		// fio refuses a missing list and an element that is empty or
		// not all digits (a sign, a space inside, a unit).
		if !hasArg {
			return d, fmt.Errorf("sequence needs a list of block indexes, e.g. sequence:2,0,1")
		}
		for _, e := range strings.Split(arg, ",") {
			e = strings.TrimSpace(e)
			if e == "" || strings.Trim(e, "0123456789") != "" {
				return d, fmt.Errorf("sequence element %q: want a block index, a whole number 0 or more", e)
			}
			b, err := strconv.ParseUint(e, 10, 32)
			if err != nil {
				return d, fmt.Errorf("sequence element %q: want a block index below 2^32, as fio's", e)
			}
			d.Seq = append(d.Seq, b)
		}
		return d, nil
	}
	return d, fmt.Errorf("%q: want random, zipf:θ, pareto:h, normal:dev (each with an optional :center), zoned:a/s, zoned_abs:a/size or sequence:i,j (a list of block indexes)", v)
}

func boolString(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// FormatSize prints a size the way job files write it (4k, 128k, 1m).
func FormatSize(n uint64) string { return sizeString(n) }

// DefaultPercentiles are fio's default latency percentiles.
var DefaultPercentiles = []float64{1, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 99, 99.5, 99.9, 99.95, 99.99}

func setPercentileList(j *Job, v string) error {
	var ps []float64
	for _, f := range strings.Split(v, ":") {
		if f == "" {
			continue
		}
		p, err := strconv.ParseFloat(f, 64)
		if err != nil || !(p >= 0 && p <= 100) {
			return fmt.Errorf("%q is not a percentile (0..100)", f)
		}
		ps = append(ps, p)
	}
	if len(ps) == 0 || len(ps) > 20 {
		return fmt.Errorf("want 1 to 20 percentiles separated by ':'")
	}
	slices.Sort(ps)
	j.PercentileList = slices.Compact(ps)
	return nil
}

func percentileListString(ps []float64) string {
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = strconv.FormatFloat(p, 'g', -1, 64)
	}
	return strings.Join(parts, ":")
}

// maxCPU bounds CPU numbers in cpus_allowed and cpumask.
const maxCPU = 4096

// ParseCPUList parses a list such as "0-3,6,8-9" (cpus_allowed's, and the
// kernel's CPU and node lists) into sorted numbers.
func ParseCPUList(v string) ([]int, error) { return parseCPUList(v) }

// parseCPUList parses "0-3,6,8-9" into sorted CPU numbers.
func parseCPUList(v string) ([]int, error) {
	var cpus []int
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		b := a
		if err == nil && isRange {
			b, err = strconv.Atoi(hi)
		}
		if err != nil || a < 0 || b < a || b >= maxCPU {
			return nil, fmt.Errorf("%q: want CPU numbers or ranges such as 0-3,6", part)
		}
		for c := a; c <= b; c++ {
			cpus = append(cpus, c)
		}
	}
	if len(cpus) == 0 {
		return nil, fmt.Errorf("no CPUs")
	}
	slices.Sort(cpus)
	return slices.Compact(cpus), nil
}

// parseCPUMask parses a bit mask ("0x3", "3") into CPU numbers.
func parseCPUMask(v string) ([]int, error) {
	m, err := strconv.ParseUint(v, 0, 64)
	if err != nil || m == 0 {
		return nil, fmt.Errorf("%q: want a non-zero bit mask such as 0x3", v)
	}
	var cpus []int
	for c := 0; c < 64; c++ {
		if m&(1<<c) != 0 {
			cpus = append(cpus, c)
		}
	}
	return cpus, nil
}

// setPctRandom parses percentage_random: reads[,writes[,trims]], a value
// left out taking the one before, as fio reads per-direction values; a
// third (trims) value other than the writes' is refused (trims take the
// writes' pattern).
func setPctRandom(j *Job, v string) error {
	parts := strings.Split(v, ",")
	if len(parts) > 3 {
		return fmt.Errorf("want at most three values (reads,writes,trims)")
	}
	var out [3]float64
	for i := range out {
		p := parts[min(i, len(parts)-1)]
		if strings.TrimSpace(p) == "" {
			p = "100" // left empty (50, or 50,,50): fio's default
		}
		x, err := parsePct(strings.TrimSpace(p))
		if err != nil {
			return err
		}
		if x != math.Trunc(x) {
			// fio's integer: percentage_random=50.5 is 50 there.
			return fmt.Errorf("%q: fio 3.33 reads a whole percentage (%g there): give %g", strings.TrimSpace(p), math.Trunc(x), math.Trunc(x))
		}
		out[i] = x
	}
	if len(parts) == 3 && out[2] != out[1] {
		return fmt.Errorf("a trim share (%g) other than the writes' (%g) is not implemented: trims follow the writes' pattern", out[2], out[1])
	}
	j.PercentageRandom = [2]float64{out[0], out[1]}
	return nil
}

// cpuMaskString writes cpus as cpumask takes them: a hex bit mask.
func cpuMaskString(cpus []int) string {
	var m uint64
	for _, c := range cpus {
		if c < 64 {
			m |= 1 << c
		}
	}
	return fmt.Sprintf("%#x", m)
}

func cpuListString(cpus []int) string {
	parts := make([]string, len(cpus))
	for i, c := range cpus {
		parts[i] = strconv.Itoa(c)
	}
	return strings.Join(parts, ",")
}

// dirNames names the directions of a per-direction value, in fio's order.
var dirNames = [3]string{"read", "write", "trim"}

// parseDirs parses a per-direction value as fio takes it,
// reads[,writes[,trims]]: a single value applies to every direction, an
// empty one leaves its direction at zero.
func parseDirs[T any](v string, parse func(string) (T, error)) (out [3]T, err error) {
	parts := strings.Split(v, ",")
	if len(parts) > 3 {
		return out, fmt.Errorf("want at most three values (reads,writes,trims)")
	}
	for d, part := range parts {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if out[d], err = parse(part); err != nil {
			if len(parts) > 1 {
				err = fmt.Errorf("%s value %s: %w", dirNames[d], part, err)
			}
			return out, err
		}
	}
	if len(parts) == 1 {
		out[1], out[2] = out[0], out[0]
	}
	return out, nil
}

// parsePair parses per-direction sizes (parseDirs): those of reads and
// writes, and whether a trim value is set.
func (j *Job) parsePair(v string) ([2]uint64, bool, error) {
	out, err := parseDirs(v, j.parseSize)
	return [2]uint64{out[0], out[1]}, out[2] != 0, err
}

// parseSteadyState parses ss: a mode, a colon and a limit (a number, a
// size for bw modes, or a percentage with %), as fio reads it.
func (j *Job) parseSteadyState(v string) (mode string, limit float64, pct bool, err error) {
	mode, lim, ok := strings.Cut(strings.TrimSpace(v), ":")
	switch mode {
	case "iops", "iops_slope", "bw", "bw_slope":
	default:
		return "", 0, false, fmt.Errorf("%q: want iops, iops_slope, bw or bw_slope, a colon and a limit", v)
	}
	if !ok || strings.TrimSpace(lim) == "" {
		return "", 0, false, fmt.Errorf("%q: the limit must be given with the mode (iops_slope:0.01%%)", v)
	}
	lim = strings.TrimSpace(lim)
	if l, isPct := strings.CutSuffix(lim, "%"); isPct {
		limit, err = strconv.ParseFloat(l, 64)
		return mode, limit, true, err
	}
	if limit, err = strconv.ParseFloat(lim, 64); err == nil {
		return mode, limit, false, nil
	}
	if strings.HasPrefix(mode, "bw") {
		if n, serr := j.parseSize(lim); serr == nil {
			return mode, float64(n), false, nil
		}
	}
	return "", 0, false, fmt.Errorf("%q: bad limit %q", v, lim)
}

// parseErrnoLists parses ignore_error: reads,writes[,verify], each a
// colon-separated list of errno names or numbers. The verify list is
// checked and dropped: verify mismatches end the job whatever it says.
func parseErrnoLists(v string) ([2][]unix.Errno, error) {
	var out [2][]unix.Errno
	lists := strings.Split(v, ",")
	if len(lists) > 3 {
		return out, fmt.Errorf("want at most three lists (reads,writes,verify)")
	}
	for k, list := range lists {
		for _, name := range strings.Split(list, ":") {
			name = strings.TrimSpace(name)
			if name == "" {
				continue
			}
			e, err := parseErrno(name)
			if err != nil {
				return out, fmt.Errorf("%s list: %w", [3]string{"read", "write", "verify"}[k], err)
			}
			if k < 2 {
				out[k] = append(out[k], e)
			}
		}
	}
	return out, nil
}

// parseErrno reads an errno by name (EIO, or eio) or number.
func parseErrno(s string) (unix.Errno, error) {
	if n, err := strconv.Atoi(s); err == nil && n > 0 && n < 4096 {
		return unix.Errno(n), nil
	}
	for e := unix.Errno(1); e < 4096; e++ {
		if unix.ErrnoName(e) == strings.ToUpper(s) {
			return e, nil
		}
	}
	return 0, fmt.Errorf("%q is not an error name (EIO) or number", s)
}

func errnoListsString(l [2][]unix.Errno) string {
	var lists []string
	for _, list := range l {
		var names []string
		for _, e := range list {
			if n := unix.ErrnoName(e); n != "" {
				names = append(names, n)
			} else {
				names = append(names, strconv.Itoa(int(e)))
			}
		}
		lists = append(lists, strings.Join(names, ":"))
	}
	return strings.Join(lists, ",")
}

// setEpoch sets the log epoch to kind when v is true, and back to the
// job's start when v is false and kind is the one set.
func setEpoch(j *Job, v, kind string) error {
	on, err := parseBool(v)
	switch {
	case err != nil:
		return err
	case on:
		j.Logs.Epoch = kind
	case j.Logs.Epoch == kind:
		j.Logs.Epoch = ""
	}
	return nil
}

// parsePrioPair parses a priority option of reads and writes (one value:
// both), each from lo to hi; fio's cmdprio options have no trim value.
func parsePrioPair(v string, lo, hi int) ([2]int, error) {
	parts := strings.Split(v, ",")
	if len(parts) > 2 {
		return [2]int{}, fmt.Errorf("want at most two values (reads,writes)")
	}
	var out [2]int
	for d, part := range parts {
		n, err := parseInt(strings.TrimSpace(part), lo, hi)
		if err != nil {
			if len(parts) > 1 {
				err = fmt.Errorf("%s value %q: %w", dirNames[d], part, err)
			}
			return out, err
		}
		out[d] = n
	}
	if len(parts) == 1 {
		out[1] = out[0]
	}
	return out, nil
}

// parsePrioSplit parses cmdprio_bssplit: per direction (reads,writes;
// one value: both), entries size/pct or size/pct/class/level (or newer
// fio's size/pct/class/level/hint with hint 0) separated by colons, the
// percentages of one size adding up to at most 100.
func (j *Job) parsePrioSplit(v string) ([2][]PrioSplit, error) {
	var out [2][]PrioSplit
	dirs := strings.Split(v, ",")
	if len(dirs) > 3 {
		return out, fmt.Errorf("want at most three values (reads,writes,trims; trims are not given priorities)")
	}
	for d, dv := range dirs[:min(len(dirs), 2)] {
		total := map[uint64]int{}
		for _, ent := range strings.Split(dv, ":") {
			ent = strings.TrimSpace(ent)
			if ent == "" {
				continue
			}
			f := strings.Split(ent, "/")
			if len(f) == 5 {
				// Newer fio's fifth field is the entry's priority hint
				// (fio's cmdprio-bssplit.fio has 1M/60/2/0/0); 0 is
				// none, the four-field entry fio 3.33 runs.
				h, err := parseInt(f[4], 0, 7)
				if err != nil {
					return out, fmt.Errorf("%s entry %q: priority hint (newer fio's fifth field): %w", dirNames[d], ent, err)
				}
				if h != 0 {
					return out, fmt.Errorf("%s entry %q: priority hint %d (newer fio's fifth field) is not implemented, as priohint is not: give 0 or leave the field out", dirNames[d], ent, h)
				}
				f = f[:4]
			}
			if len(f) != 2 && len(f) != 4 {
				return out, fmt.Errorf("%s entry %q: want size/percentage or size/percentage/class/level (or newer fio's size/percentage/class/level/hint, hint 0)", dirNames[d], ent)
			}
			e := PrioSplit{Class: -1}
			var err error
			if e.Size, err = j.parseSize(f[0]); err != nil || e.Size == 0 {
				return out, fmt.Errorf("%s entry %q: bad block size %q", dirNames[d], ent, f[0])
			}
			if e.Pct, err = parseInt(f[1], 0, 100); err != nil {
				return out, fmt.Errorf("%s entry %q: percentage: %w", dirNames[d], ent, err)
			}
			if len(f) == 4 {
				if e.Class, err = parseInt(f[2], 1, 3); err != nil {
					return out, fmt.Errorf("%s entry %q: class: %w", dirNames[d], ent, err)
				}
				if e.Level, err = parseInt(f[3], 0, 7); err != nil {
					return out, fmt.Errorf("%s entry %q: level: %w", dirNames[d], ent, err)
				}
			}
			if total[e.Size] += e.Pct; total[e.Size] > 100 {
				return out, fmt.Errorf("%s: the percentages of %s add up to %d, more than 100", dirNames[d], FormatSize(e.Size), total[e.Size])
			}
			out[d] = append(out[d], e)
		}
	}
	if len(dirs) == 1 {
		out[1] = slices.Clone(out[0])
	}
	return out, nil
}

func prioSplitString(s [2][]PrioSplit) string {
	var dirs []string
	for d := range 2 {
		var ents []string
		for _, e := range s[d] {
			ent := fmt.Sprintf("%s/%d", FormatSize(e.Size), e.Pct)
			if e.Class >= 0 {
				ent += fmt.Sprintf("/%d/%d", e.Class, e.Level)
			}
			ents = append(ents, ent)
		}
		dirs = append(dirs, strings.Join(ents, ":"))
	}
	return strings.Join(dirs, ",")
}

func prioPairString(p [2]int) string {
	if p[0] == p[1] {
		return strconv.Itoa(p[0])
	}
	return fmt.Sprintf("%d,%d", p[0], p[1])
}

// parseIntPair is parsePair for whole numbers.
func parseIntPair(v string) ([2]int, bool, error) {
	out, err := parseDirs(v, func(s string) (int, error) { return parseInt(s, 0, math.MaxInt32) })
	return [2]int{out[0], out[1]}, out[2] != 0, err
}

// intOption is an option holding a whole number from lo to hi in the job
// field that field points to.
func intOption(name, arg, def, help string, lo, hi int, field func(*Job) *int) Option {
	return Option{Name: name, Arg: arg, Default: def, Help: help, kind: kindInt,
		set: func(j *Job, v string) (err error) { *field(j), err = parseIntBase(v, lo, hi, j.KBBase); return },
		get: func(j *Job) string { return strconv.Itoa(*field(j)) }}
}

// parseMix reads rwmixread or rwmixwrite: a whole percentage, as fio's
// integer (rwmixread=0x20 is 32). fio drops a fraction without a word
// (rwmixread=33.3 reads 33% there), so one is refused, naming fio's
// reading.
func parseMix(j *Job, v string) (float64, error) {
	n, err := parseIntBase(v, 0, 100, j.KBBase)
	if err == nil {
		return float64(n), nil
	}
	if p, perr := parsePct(v); perr == nil {
		return 0, fmt.Errorf("%q: fio reads a whole percentage (%d there): give %d", v, int(p), int(p))
	}
	if serr := separatorErr(v); serr != nil {
		return 0, serr
	}
	return 0, fmt.Errorf("%q is not a percentage (0..100)", v)
}

// countOption is intOption for a count that fio reads as a value with an
// optional unit (its STR_VAL options): number_ios=1k is 1024 I/Os, 1000
// with kb_base=1000.
func countOption(name, arg, def, help string, lo, hi int, field func(*Job) *int) Option {
	o := intOption(name, arg, def, help, lo, hi, field)
	o.set = func(j *Job, v string) error {
		n, err := j.parseSize(v)
		if err != nil {
			return err
		}
		if n < uint64(lo) || n > uint64(hi) {
			return fmt.Errorf("want %d..%d", lo, hi)
		}
		*field(j) = int(n)
		return nil
	}
	return o
}

// boolOption is a switch (kindBool, or kindFlag for one given bare) held
// in the job field that field points to.
func boolOption(name, arg, def, help string, kind optKind, field func(*Job) *bool) Option {
	parse := parseBool
	if fioFlags[name] {
		parse = parseFlag
	}
	return Option{Name: name, Arg: arg, Default: def, Help: help, kind: kind,
		set: func(j *Job, v string) (err error) { *field(j), err = parse(v); return },
		get: func(j *Job) string { return boolString(*field(j)) }}
}

// syncFileRangeFlags are sync_file_range's flags by fio's names, in the
// order of their values.
var syncFileRangeFlags = []string{"wait_before", "write", "wait_after"}

// parseSyncFileRange reads sync_file_range=flags[:n] as fio 3.33 does:
// one or more of wait_before, write and wait_after, comma-separated and
// lowercase, then after how many writes (no ":n" is 1, an empty n is 0,
// which syncs nothing).
func parseSyncFileRange(v string) (uint8, int, error) {
	names, nr, hasNr := strings.Cut(v, ":")
	every := 1
	if hasNr {
		every = 0
		if nr != "" {
			n, err := parseInt(nr, 0, 1<<30)
			if err != nil {
				return 0, 0, fmt.Errorf("sync_file_range=%s: the number of writes: %w", v, err)
			}
			every = n
		}
	}
	var flags uint8
	for _, name := range strings.Split(names, ",") {
		i := slices.Index(syncFileRangeFlags, name)
		if i < 0 {
			return 0, 0, fmt.Errorf("sync_file_range=%s: %q is not one of %s", v, name, strings.Join(syncFileRangeFlags, ", "))
		}
		flags |= 1 << i
	}
	return flags, every, nil
}

// syncFileRangeString is sync_file_range's value: its flags and count.
func syncFileRangeString(flags uint8, every int) string {
	var names []string
	for i, name := range syncFileRangeFlags {
		if flags&(1<<i) != 0 {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return ""
	}
	return strings.Join(names, ",") + ":" + strconv.Itoa(every)
}

// trimVerifyOption is one of fio's trim-then-verify options: 0 (fio's
// default, nothing trimmed for verify) is honoured; any other value would
// trim verify blocks and check them, which iobench does not do.
func trimVerifyOption(name, help string) Option {
	o := Option{Name: name, Arg: "n", Default: "0", Help: help + "; only 0 (verify's trims are not implemented)", kind: kindInt,
		set: func(_ *Job, v string) error { _, err := parseInt(v, 0, math.MaxInt32); return err },
		get: func(*Job) string { return "0" }}
	o.refuse = func(val string) string {
		if n, err := strconv.Atoi(strings.TrimSpace(val)); err == nil && n == 0 {
			return ""
		}
		return "trimming verify blocks and checking them (fio's trim-verify) is not implemented; rw=trim, randtrim, trimwrite and randtrimwrite trim"
	}
	return o
}

// parseSpinWait reads spin_wait: auto (0, engine.Config.SpinWait's
// measuring default), 0 (never: negative) or a time.
func parseSpinWait(v string) (time.Duration, error) {
	if strings.EqualFold(strings.TrimSpace(v), "auto") {
		return 0, nil
	}
	d, err := parseDurationFrac(v, time.Microsecond)
	if err != nil {
		return 0, err
	}
	if d == 0 {
		return -1, nil
	}
	return d, nil
}

func spinWaitString(d time.Duration) string {
	switch {
	case d == 0:
		return "auto"
	case d < 0:
		return "0"
	}
	return timeString(d)
}

// timeUnits are the units timeString writes, largest first.
var timeUnits = []struct {
	d    time.Duration
	name string
}{{24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"},
	{time.Millisecond, "ms"}, {time.Microsecond, "us"}, {time.Nanosecond, "ns"}}

// timeString writes d as a time option takes it back (parseDuration):
// a whole number in the largest unit that holds it exactly, 90 s as
// "90s", not Go's "1m30s".
func timeString(d time.Duration) string {
	if d == 0 {
		return "0"
	}
	for _, u := range timeUnits {
		if d%u.d == 0 {
			return strconv.FormatInt(int64(d/u.d), 10) + u.name
		}
	}
	return d.String() // negative: not a time any option takes
}

// The kinds of a replayed log's actions replay_skip leaves out
// (Job.ReplaySkip).
const (
	ReplaySkipRead uint8 = 1 << iota
	ReplaySkipWrite
	ReplaySkipTrim
	ReplaySkipSync
)

var replaySkipNames = []string{"read", "write", "trim", "sync"}

// parseReplaySkip reads replay_skip's comma-separated list of action
// kinds.
func parseReplaySkip(v string) (uint8, error) {
	var mask uint8
	for _, k := range strings.Split(v, ",") {
		k = strings.TrimSpace(k)
		i := slices.Index(replaySkipNames, k)
		if i < 0 {
			return 0, fmt.Errorf("%q: want a comma-separated list of read, write, trim and sync", k)
		}
		mask |= 1 << i
	}
	return mask, nil
}

func replaySkipString(mask uint8) string {
	var names []string
	for i, n := range replaySkipNames {
		if mask&(1<<i) != 0 {
			names = append(names, n)
		}
	}
	return strings.Join(names, ",")
}

// WriteHints are write_hint's values, in the order of the kernel's
// RWH_WRITE_LIFE_NONE (1) to RWH_WRITE_LIFE_EXTREME (5).
var WriteHints = []string{"none", "short", "medium", "long", "extreme"}

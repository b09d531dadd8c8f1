package workloads

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// RW is a job's I/O pattern (fio's rw= option).
type RW string

// The patterns fio calls read, write, randread, randwrite, rw (readwrite),
// randrw, trim, randtrim, trimwrite and randtrimwrite. The trim patterns
// discard blocks; trimwrite and randtrimwrite write each block right
// after its trim has completed, with the same size.
const (
	Read          RW = "read"
	Write         RW = "write"
	RandRead      RW = "randread"
	RandWrite     RW = "randwrite"
	ReadWrite     RW = "rw"
	RandRW        RW = "randrw"
	Trim          RW = "trim"
	RandTrim      RW = "randtrim"
	TrimWrite     RW = "trimwrite"
	RandTrimWrite RW = "randtrimwrite"
)

// Random reports whether the pattern picks random offsets.
func (rw RW) Random() bool {
	return rw == RandRead || rw == RandWrite || rw == RandRW || rw == RandTrim || rw == RandTrimWrite
}

// Reads reports whether the pattern reads; Writes whether it writes;
// Trims whether it trims (discards).
func (rw RW) Reads() bool  { return rw == Read || rw == RandRead || rw == ReadWrite || rw == RandRW }
func (rw RW) Writes() bool { return rw != Read && rw != RandRead && rw != Trim && rw != RandTrim }
func (rw RW) Trims() bool {
	return rw == Trim || rw == RandTrim || rw == TrimWrite || rw == RandTrimWrite
}

// Directions, as fio numbers them: the index of a direction in per-direction
// results. Trims take their block sizes from the write direction.
const (
	DirRead = iota
	DirWrite
	DirTrim
	NumDirs
)

// UnifiedRW is how a job's directions are reported (fio's
// unified_rw_reporting).
type UnifiedRW uint8

// UnifiedNone reports each direction on its own (fio's default);
// UnifiedMixed reports the directions summed, as one "mixed" direction in
// their place; UnifiedBoth reports each on its own, then the sum.
const (
	UnifiedNone UnifiedRW = iota
	UnifiedMixed
	UnifiedBoth
)

// String is the value's name as fio spells it (none, mixed, both).
func (u UnifiedRW) String() string {
	switch u {
	case UnifiedMixed:
		return "mixed"
	case UnifiedBoth:
		return "both"
	}
	return "none"
}

// Dist is a random distribution (fio's random_distribution=).
type Dist struct {
	Kind  string  // "random", "zipf", "pareto", "normal", "zoned", "zoned_abs"
	Param float64 // zipf θ, pareto h, normal deviation (fio's, 0..100)
	// Center, with HasCenter, places the distribution's base at this
	// fraction of the region (fio's third field, zipf:1.2:0.25); without
	// it zipf and pareto start at a random block, normal at the middle.
	Center    float64
	HasCenter bool
	Zones     []Zone // zoned: access share and size share, in percent; zoned_abs: access share and size in bytes
	// Seq, for sequence (newer fio's), lists the block indexes (in units
	// of the block alignment) the random I/Os visit, in order, repeating;
	// random_sequence_stride moves each repetition on by len(Seq) blocks.
	Seq []uint64
}

// Zone is one part of a zoned distribution: AccessPct of the I/O goes to
// the next SizePct of the range (zoned), or to the next Size bytes
// (zoned_abs).
type Zone struct {
	AccessPct, SizePct float64
	Size               uint64
}

func (d Dist) String() string {
	switch d.Kind {
	case "", "random":
		return "random"
	case "zoned":
		var parts []string
		for _, z := range d.Zones {
			parts = append(parts, fmt.Sprintf("%g/%g", z.AccessPct, z.SizePct))
		}
		return "zoned:" + strings.Join(parts, ":")
	case "zoned_abs":
		var parts []string
		for _, z := range d.Zones {
			parts = append(parts, fmt.Sprintf("%g/%d", z.AccessPct, z.Size))
		}
		return "zoned_abs:" + strings.Join(parts, ":")
	case "sequence":
		parts := make([]string, len(d.Seq))
		for i, b := range d.Seq {
			parts[i] = strconv.FormatUint(b, 10)
		}
		return "sequence:" + strings.Join(parts, ",")
	}
	if d.HasCenter {
		return fmt.Sprintf("%s:%g:%g", d.Kind, d.Param, d.Center)
	}
	return fmt.Sprintf("%s:%g", d.Kind, d.Param)
}

// BSSplit is one entry of a block-size split: Pct of the I/Os use Size.
type BSSplit struct {
	Size uint64
	Pct  float64
}

// Job is one job: a section of a job file or the command line's options.
// NewJob gives every field iobench's default (fio's where fio has one);
// Set changes one option and remembers that it was given (IsSet).
type Job struct {
	Name string
	// Description is description=: printed with the job's results, as
	// fio prints it.
	Description string
	// Filename is filename= as given: one or more targets separated by
	// ':' (Filenames splits it).
	Filename string
	// FilePath, set by the runner for each file of a job, is the file's
	// name as fio's thread would know it (fio seeds the offsets of zipf,
	// pareto and normal from its hash); empty, fio's default name for
	// the job's first file: the job's name and ".0.0".
	FilePath string
	// FilenameFormat names the files of a job without Filename
	// (filename_format; fio's default $jobname.$jobnum.$filenum).
	FilenameFormat string
	// Files: directory= as given (Directories splits it), nrfiles,
	// filesize (lo, hi; 0: not set), file_service_type, openfiles (0: not
	// set), and how files are laid out (allow_file_create, overwrite,
	// fallocate) and removed (unlink). See files.go.
	Directory       string
	NrFiles         int
	FileSize        [2]uint64
	FileService     FileService
	OpenFiles       int
	AllowFileCreate bool
	Overwrite       bool
	Unlink          bool
	Fallocate       string
	// FileAppend starts the job's I/O on each regular file at the
	// file's end (file_append).
	FileAppend bool
	// UnlinkEachLoop removes the job's regular files between its loops,
	// each loop creating them afresh (unlink_each_loop).
	UnlinkEachLoop bool
	// OpenDir is opendir= as given: a directory whose regular files,
	// found recursively, are the job's files. OpenDirFiles are they, in
	// the order found, once the runner has looked (its findOpenDirs).
	OpenDir      string
	OpenDirFiles []string
	RW           RW
	// RWMixRead is the read share (percent) of rw and randrw.
	RWMixRead float64
	BS        [2]uint64 // block size for reads and writes
	// TrimBS is the size of a trim-only job's trims (rw=trim, randtrim)
	// where bs's third value differs from the write size; 0: trims take
	// the write sizes. Validate sets it.
	TrimBS uint64
	// BSRange, when [d][1] > 0, draws direction d's sizes from
	// [lo, hi] in multiples of lo (bs=lo-hi, bsrange).
	BSRange [2][2]uint64
	BSSplit [2][]BSSplit // per direction; empty: use BS
	IODepth int
	// Batching, with fio's meanings: BatchSubmit I/Os go to the kernel
	// together (0: all that are queued, when the job next waits for a
	// completion; BatchAuto, unset: the engine's eager submission,
	// engine.Config.EagerSubmit); a wait is for at least BatchCompleteMin completions and
	// takes at most BatchCompleteMax (0: all that are ready); after the
	// queue was full it drains to IODepthLow before it is filled again
	// (0: refilled at once).
	BatchSubmit, BatchCompleteMin, BatchCompleteMax, IODepthLow int
	NumJobs                                                     int
	Size                                                        uint64 // bytes of the target each job covers; 0: all of it
	Offset                                                      uint64
	// SizePct and OffsetPct, when > 0, are size and offset as
	// percentages of the target, resolved by ResolvePct.
	SizePct, OffsetPct float64
	// OffsetIncrement moves clone n's region by n*OffsetIncrement;
	// OffsetIncrementPct, when > 0, gives it as a percentage of the
	// target, resolved by ResolvePct.
	OffsetIncrement    uint64
	OffsetIncrementPct float64
	// IOSize is the bytes per pass (io_size), wrapping over the region;
	// 0: the region's size. NumberIOs stops the job after that many
	// I/Os (0: no limit).
	IOSize    uint64
	NumberIOs int
	// PercentageRandom is the share of a random pattern's I/Os at random
	// offsets, for reads and for writes (and trims); 100 by default; the
	// rest continue sequentially.
	PercentageRandom [2]float64
	// BlockAlign aligns random offsets (0: the smallest block size).
	BlockAlign uint64
	// RWMod is rw's ":N": for sequential patterns bytes skipped after each
	// I/O, for random ones the I/Os per random offset. RWBack makes a
	// sequential ":-N": each I/O starts N bytes before the end of the last
	// (reading backwards with N twice the block size), wrapping from the
	// region's start to its end.
	RWMod  uint64
	RWBack bool
	// RWIdentical is rw_sequencer=identical: with a random RWMod, the
	// I/Os between random offsets repeat the last one's offset instead of
	// continuing after it.
	RWIdentical bool
	// BSIsSeqRand is bs_is_seq_rand: the read sizes (BS[0], BSSplit[0],
	// BSRange[0]) serve sequential I/O and the write sizes random I/O,
	// whatever the direction.
	BSIsSeqRand bool
	Runtime     time.Duration
	TimeBased   bool
	RampTime    time.Duration
	// RampSize is ramp_size: the job runs until its clones have completed
	// this many bytes (reads, writes and trims) before it measures; each
	// clone counts its own, or with group_reporting the reporting group
	// counts its clones' together, as fio does.
	RampSize uint64
	Direct   bool
	// Invalidate drops the target's page cache before the job; PreRead
	// reads the job's part of each file into it instead (pre_read).
	Invalidate  bool
	PreRead     bool
	Dist        Dist
	NoRandomMap bool
	// SeqStride: random_sequence_stride, for random_distribution=sequence.
	SeqStride bool
	// RandomGenerator is fio's random_generator: "lfsr" walks every block
	// once per pass (a full-period sequence, no memory per block) even
	// with norandommap.
	RandomGenerator string
	// SPRandom is newer fio's sprandom: SanDisk pseudo-random
	// preconditioning (sprandom.go), over-provisioning SPROp, in
	// SPRRegions regions; SPRCache is spr_cs (only 0 is implemented).
	SPRandom   bool
	SPROp      float64
	SPRRegions int
	SPRCache   uint64
	// ZoneMode "strided": I/O stays in a zone of ZoneRange bytes until
	// ZoneSize bytes are done there, then moves ZoneRange+ZoneSkip on.
	ZoneMode                      string
	ZoneSize, ZoneRange, ZoneSkip uint64
	RandRepeat                    bool
	RandSeed                      uint64
	// Thread is the clone's thread number in the run, from 1 (0 counts
	// as 1), as fio numbers its threads: with randrepeat, fio seeds a
	// thread's random offsets by its number (the runner sets it).
	Thread     int
	Verify     string // "", a digest of Hashes, meta, pattern or null
	VerifyOnly bool
	// VerifyPattern fills verify blocks after their header (all of a block
	// with verify=pattern); VerifyInterval is the bytes per header (0: the
	// default); VerifyBacklog checks the last n writes after every n;
	// DoVerify reads a writing job's region back at its end.
	VerifyPattern  []byte
	VerifyInterval uint64
	// VerifyOffset moves each block's header that many bytes into the
	// block (verify_offset).
	VerifyOffset  uint64
	VerifyBacklog int
	// VerifyBacklogBatch is how many of the backlog each check reads
	// back (verify_backlog_batch; 0: VerifyBacklog).
	VerifyBacklogBatch int
	// VerifyAsync checks the verify pass's reads in that many goroutines
	// (verify_async; 0: in the job's thread).
	VerifyAsync int
	DoVerify    bool
	// ExperimentalVerify is fio's experimental_verify: its verify pass
	// replays the job's I/O; iobench's checks the same blocks either way.
	ExperimentalVerify bool
	Stonewall          bool
	WaitFor            string
	IOEngine           string
	// Loops is how many passes over the region a job makes when it is
	// not time_based (fio's loops).
	Loops int
	// KBBase is 1024 (fio's default: k is 1024, kib 1000) or 1000 (k is
	// 1000, kib 1024); it applies to every size option of the job.
	KBBase uint64
	// PercentileList is the latency percentiles reported.
	PercentileList []float64
	// CPUs is the set of CPUs the job's threads may run on (cpus_allowed,
	// cpumask); empty: any.
	CPUs []int
	// CPUSplit (cpus_allowed_policy=split) gives each job thread one CPU
	// of CPUs: thread n of the run (from 1) takes CPUs[(n-1) % len(CPUs)],
	// as fio numbers its threads across every job of the run.
	CPUSplit bool
	// BWAvgTime and IOPSAvgTime are the bandwidth and IOPS sampling
	// periods (fio's bwavgtime, iopsavgtime).
	BWAvgTime, IOPSAvgTime time.Duration
	// Which latency percentiles are reported (clat by default).
	ClatPercentiles, LatPercentiles, SlatPercentiles bool
	// Which measurements are turned off (disable_lat, disable_clat,
	// disable_slat, disable_bw_measurement; gtod_reduce sets them all).
	DisableLat, DisableClat, DisableSlat, DisableBW bool
	// GroupReporting reports a job's numjobs clones as one (merged
	// histograms) instead of one report per clone.
	GroupReporting bool
	// NewGroup starts a new reporting group at this job (new_group).
	NewGroup bool
	// UnifiedRW says how the job's directions are reported
	// (unified_rw_reporting): each on its own, summed into one mixed
	// section in their place, or each on its own and then summed.
	UnifiedRW UnifiedRW
	// ExitAll stops, when the job finishes, the other jobs of its
	// reporting group, or with ExitWhat "stonewall" every job running,
	// or with "all" every job and the groups after (exit_what).
	ExitAll  bool
	ExitWhat string
	// Logs are the job's fio-format logs.
	Logs Logs
	// Buffers says what write buffers hold (when the job does not verify).
	Buffers Buffers
	// Load shaping, per direction (reads, writes): Rate caps bytes/s,
	// RateIOPS I/Os per second, RateMin fails the job below that many
	// bytes/s over a second; RatePoisson spaces capped I/Os with
	// exponential gaps. ThinkTime pauses after every ThinkBlocks I/Os
	// (ThinkSpin of it on the CPU). StartDelay delays the job's start;
	// with StartDelayMax above it (fio's startdelay=lo-hi), each clone
	// starts after its own random delay between the two.
	Rate, RateMin [2]uint64
	RateIOPSMin   [2]int        // rate_iops_min: fails the job below that many IOPS over a rate cycle
	RateCycle     time.Duration // rate_cycle: the period rate_min and rate_iops_min average over
	// ContinueOnError names the kinds of failed I/O the job goes on after
	// (continue_on_error: ContinueRead, ContinueWrite; 0: none), when
	// their error is one IgnoreError lists for that kind (reads, writes;
	// empty: fio's non-fatal EIO and EILSEQ).
	ContinueOnError int
	IgnoreError     [2][]unix.Errno
	// MaxLatency fails the job at the first read, write or trim whose
	// latency (fio's lat) is above it (max_latency; 0: no limit).
	MaxLatency  [NumDirs]time.Duration
	RateIOPS    [2]int
	RatePoisson bool
	ThinkTime   time.Duration
	ThinkSpin   time.Duration
	ThinkBlocks int
	// ThinkIssue counts ThinkBlocks in issued I/Os, not completed ones
	// (thinktime_blocks_type=issue); ThinkIOTime pauses after each
	// ThinkIOTime of I/O (thinktime_iotime).
	ThinkIssue  bool
	ThinkIOTime time.Duration
	// ThinkCycles is thinkcycles: after issuing each read, write or trim
	// the job spins a CPU loop of this many iterations.
	ThinkCycles int
	// RateIgnoreThink lets a capped job go on at its pace after a
	// thinktime pause rather than catch up (rate_ignore_thinktime).
	RateIgnoreThink bool
	// LockMem is the memory pinned (mlock) per clone while the job runs
	// (lockmem).
	LockMem uint64
	// CreateOnly lays the job's files out and runs none of its I/O
	// (create_only).
	CreateOnly bool
	// CreateOnOpen leaves the job's missing or short regular files to
	// its open, which creates them, rather than laying them out before
	// the jobs (create_on_open).
	CreateOnOpen bool
	// WriteHint is the write lifetime hint set on the job's files
	// (write_hint, one of WriteHints; empty: none set).
	WriteHint string
	// IOScheduler is the I/O scheduler the job's devices run during the
	// job (ioscheduler; empty: as they are).
	IOScheduler string
	// ClockSource is the clock the job's I/O is timed with (clocksource:
	// cpu, clock_gettime or gettimeofday); empty, the engine's default
	// (cpu where the CPU's counter is invariant, as fio's).
	ClockSource string
	// SubmitOffload sends I/O that a rate holds back at its time whatever
	// is in flight, not once the queue has drained (io_submit_mode=offload).
	SubmitOffload bool
	// SQPollCPU is the CPU the SQPOLL thread is bound to
	// (sqthread_poll_cpu; -1: unbound).
	SQPollCPU int
	// NumaNodes are the NUMA nodes whose CPUs the job runs on
	// (numa_cpu_nodes; {-1}: all of them), in place of CPUs.
	NumaNodes      []int
	StartDelay     time.Duration
	StartDelayMax  time.Duration
	ExitAllOnError bool
	// LatencyTarget, when set, searches for the deepest queue (up to
	// iodepth) at which LatencyPercentile of the I/Os in each
	// LatencyWindow complete within it; LatencyRun searches for the
	// whole job, where without it the job ends one window after the
	// depth settles.
	LatencyTarget, LatencyWindow time.Duration
	LatencyPercentile            float64
	LatencyRun                   bool
	// Durability: a device flush after every FsyncEvery (FdatasyncEvery)
	// writes, one when the writes are done (EndFsync) and one at close
	// (FsyncOnClose); SyncMode "sync" or "dsync" opens the target O_SYNC
	// or O_DSYNC.
	FsyncEvery, FdatasyncEvery int
	EndFsync, FsyncOnClose     bool
	SyncMode                   string
	// SyncFileRangeEvery, when positive, writes back the range each file
	// was written over since the last one with sync_file_range(2) after
	// every SyncFileRangeEvery writes, with SyncFileRangeFlags
	// (sync_file_range's: 1 wait_before, 2 write, 4 wait_after).
	SyncFileRangeEvery int
	SyncFileRangeFlags uint8
	// EndSyncfs syncs the filesystem of each of the job's regular files
	// once (syncfs(2)) when its writes are done, in place of the flush of
	// EndFsync and FsyncOnClose, as newer fio does.
	EndSyncfs bool

	// Prio is the job's I/O priorities (prio, prioclass, cmdprio_*).
	Prio IOPrio
	// SS is steady-state detection (ss, ss_dur, ss_ramp).
	SS SteadyState
	// OffsetAlign is what offset=N% and offset_increment=N% are rounded
	// up to (offset_align; 0: the smallest block size).
	OffsetAlign uint64
	// FillDevice makes the job cover its whole block device from its
	// offset unless it gives a size in bytes (fill_device, fill_fs).
	FillDevice bool
	// Nice is the nice value of the job's threads (nice; applied when
	// given).
	Nice int
	// Flow is the job's weight among the jobs of flow FlowID (flow,
	// flow_id; 0: none): each issues I/O in proportion to its weight,
	// held back for FlowSleep while ahead of its share.
	Flow, FlowID int
	FlowSleep    time.Duration
	// ForceAsync sends every ForceAsync-th read or write to the kernel's
	// async workers (force_async; 0: none).
	ForceAsync int
	// SerializeOverlap holds an I/O back while one of the job's that
	// overlaps it is in flight (serialize_overlap).
	SerializeOverlap bool
	// NoWait sends reads and writes with RWF_NOWAIT (nowait): one that
	// would block fails with EAGAIN.
	NoWait bool
	// Atomic sends the job's writes with RWF_ATOMIC (atomic): each is
	// stored whole or not at all. Validate checks what the job alone
	// decides (direct=1, power-of-two write sizes, offsets that are
	// multiples of them); the runner checks the target's atomic write
	// units before any I/O.
	Atomic bool
	// ReadIOLog names an iolog the job replays instead of drawing its I/O
	// (read_iolog), on the files it names or on ReplayRedirect; with
	// ReplayNoStall, as fast as the depth allows rather than on time.
	ReadIOLog, ReplayRedirect string
	ReplayNoStall             bool
	// ReadIOLogChunked reads the log as the replay goes rather than
	// whole before the job (read_iolog_chunked).
	ReadIOLogChunked bool
	// ReplaySkip is the set of a replayed log's actions left out
	// (replay_skip: ReplaySkipRead and the others). ReplayScale divides
	// each logged offset (replay_scale; 0 and 1: none) and ReplayAlign
	// then rounds it down to a multiple of itself (replay_align, a power
	// of two; 0: none). ReplayTimeScale is the pace of a version 3 log's
	// times, in percent (replay_time_scale: 200 replays twice as fast).
	ReplaySkip      uint8
	ReplayScale     uint64
	ReplayAlign     uint64
	ReplayTimeScale int
	// ExecPrerun and ExecPostrun are shell commands run before the job's
	// I/O and after it (exec_prerun, exec_postrun).
	ExecPrerun, ExecPostrun string
	// WriteIOLog names the file the job records its issued I/O in, in
	// fio's iolog format version 3 (write_iolog).
	WriteIOLog string

	// Engine options (iobench only).
	Mapper        string        // linear, scattered, cow, fiemap, ext4
	Ext4File      string        // ext4: path of the file inside the filesystem
	Ext4Overwrite bool          // ext4: writes go in place over written blocks
	Extents       int           // scattered: extents in the file
	MapLatency    time.Duration // scattered: cost of each mapper call
	ReadGap       int           // engine.Config.ReadGap: read through gaps this small between a split read's pieces
	ReadGapAuto   bool          // engine.Config.ReadGapAuto: only while that measures faster (read_gap=auto, the default)
	Cache         bool          // the extent cache (on by default)
	Follow        bool          // the queue thread follows its completions (on by default)
	SplitSubmit   bool          // engine.Config.SplitSubmit: a lone I/O submitted and waited for in two calls
	SpinWait      time.Duration // poll before a wait sleeps: 0 measures whether to (auto), < 0 never, > 0 always this long
	Warm          bool          // fill the cache before the run
	FixedBufs     bool
	RegisterFiles bool
	SQPoll        bool
	HiPri         bool
	Force         bool

	set map[string]bool // options given explicitly
	// own: the options set on the job itself since Inherited, each
	// with its value as given (ownBare for one given alone): fio's "job
	// options" (OwnValues).
	own map[string]string
	// ownOrder: own's names in the order first given (OwnValues).
	ownOrder []string
	// adjusted says what Validate changed, as fio would (Adjustments).
	adjusted []string
	// trimBS is bs's third value when it differs from the write size
	// (trims use the write size: a trimming job with it is refused).
	trimBS string
	// trimRate says whether rate, rate_iops, rate_min and rate_iops_min
	// set a trim value
	// (their third, or their only one): a trimming job with one is refused.
	trimRate [4]bool
	// trimSplit is bssplit's third value when it differs from the write
	// split (refused for a trimming job, as trimBS).
	trimSplit string
	// baNoMap: Validate set NoRandomMap for blockalign (blockAlignNoMap).
	baNoMap bool
	// engineAsked is the fio engine the job named when iobench runs it
	// on io_uring in its place (substituteEngines); "" otherwise.
	engineAsked string
	// depthCapped is the iodepth a synchronous engine's job gave, which
	// Validate lowered to 1 as fio caps it (0: not capped).
	depthCapped int
	// patternHdr is verify=pattern_hdr (Verify is meta): it needs
	// verify_pattern, as fio's does.
	patternHdr bool
	// uncached is fio's io_uring uncached (RWF_DONTCACHE on buffered
	// I/O): refused with direct=0, of no effect with direct=1 (in fio too).
	uncached int
	raw      map[string]string // size options as given, re-read when kb_base changes
}

// Logs says which fio-format logs a job writes (write_*_log): each
// prefix, when not empty, names a log.
type Logs struct {
	BW, IOPS, Lat, Hist string
	Avg                 time.Duration // log_avg_msec; 0: an entry per I/O
	HistPeriod          time.Duration // log_hist_msec; 0: no histogram entries
	HistCoarseness      int           // log_hist_coarseness: 2^n buckets summed per column
	MaxValue            bool          // log_max_value
	Offset              bool          // log_offset
	Prio                bool          // log_prio
	IssueTime           bool          // log_issue_time
	PerJob              bool          // per_job_logs
	// Epoch is where log times count from: "" the job's start, "unix"
	// the Unix epoch (log_unix_epoch), "alternate" the epoch of clock
	// EpochClock (log_alternate_epoch, log_alternate_epoch_clock_id).
	Epoch      string
	EpochClock int
}

// Buffers is what a job writes: random data (by default, scrambled a
// little per write), fresh random data per write (Refill), zeros, a
// pattern, data CompressPct% compressible, or DedupePct% of writes
// repeating one buffer.
type Buffers struct {
	Refill, Zero, Scramble bool
	Pattern                []byte
	CompressPct, DedupePct float64
	// DedupeWorkingSet draws duplicates from a working set of the job's
	// first fresh writes, DedupeWorkingSetPct of its blocks
	// (dedupe_mode=working_set), not from the last one (repeat).
	DedupeWorkingSet    bool
	DedupeWorkingSetPct float64
	// DedupeGlobal shares the duplicates' source among the run's jobs
	// that set it (dedupe_global).
	DedupeGlobal  bool
	CompressChunk uint64
}

// Any reports whether any log is asked for.
func (l *Logs) Any() bool { return l.BW != "" || l.IOPS != "" || l.Lat != "" || l.Hist != "" }

// NewJob returns a job with iobench's defaults (fio's where fio has one).
func NewJob(name string) Job {
	return Job{
		Name: name, RW: Read, RWMixRead: 50, BS: [2]uint64{4096, 4096},
		IODepth: 1, FilenameFormat: defaultFilenameFormat, BatchSubmit: BatchAuto, BatchCompleteMin: 1, IOEngine: "io_uring", NumJobs: 1, Direct: true, Invalidate: true, PercentageRandom: [2]float64{100, 100}, ThinkBlocks: 1, DoVerify: true, RandomGenerator: "tausworthe", ZoneMode: "none", SPROp: 0.15, SPRRegions: 100,
		LatencyWindow: time.Second, LatencyPercentile: 100,
		Buffers: Buffers{Scramble: true, CompressChunk: 512, DedupeWorkingSetPct: 5}, Dist: Dist{Kind: "random"},
		RandRepeat: true, RandSeed: 0x89, Mapper: "linear", Extents: 1024, Cache: true, Follow: true,
		ReadGap: AutoReadGap, ReadGapAuto: true,
		Loops: 1, KBBase: 1024, PercentileList: slices.Clone(DefaultPercentiles),
		BWAvgTime: 500 * time.Millisecond, IOPSAvgTime: 500 * time.Millisecond, ClatPercentiles: true,
		Logs:    Logs{PerJob: true},
		NrFiles: 1, FileService: FileService{Kind: "roundrobin", N: 1}, AllowFileCreate: true, Fallocate: "native",
		RateCycle: time.Second, ReplayScale: 1, ReplayTimeScale: 100, SQPollCPU: -1,
		Prio: IOPrio{Class: -1, Level: -1, CmdClass: [2]int{PrioClassRT, PrioClassRT}},
		SS:   SteadyState{Mode: "iops_slope", Limit: 0.01, Pct: true},
	}
}

// Kinds of failed I/O that continue_on_error lets a job go on after.
const (
	ContinueRead  = 1 << 0
	ContinueWrite = 1 << 1
)

// nonFatal are the errors a job goes on after under continue_on_error
// where ignore_error lists none for the kind (fio's).
var nonFatal = []unix.Errno{unix.EIO, unix.EILSEQ}

// Continues reports whether the job goes on after a read (write: a write
// or trim) that failed with err.
func (j *Job) Continues(write bool, err unix.Errno) bool {
	kind, d := ContinueRead, 0
	if write {
		kind, d = ContinueWrite, 1
	}
	if j.ContinueOnError&kind == 0 {
		return false
	}
	list := j.IgnoreError[d]
	if len(list) == 0 {
		list = nonFatal
	}
	return slices.Contains(list, err)
}

// SteadyState is fio's steady-state detection: once a second after Ramp,
// the job's IOPS and bandwidth over that second are sampled; once the
// last Dur of samples of the measure Mode names meet Limit, the job
// stops. Dur 0: no detection.
type SteadyState struct {
	// Mode: iops or bw (the samples' largest distance from their mean is
	// below Limit), iops_slope or bw_slope (the least-squares slope of
	// the samples, per second, is within Limit of zero).
	Mode  string
	Limit float64 // in IOPS or bytes/s, or a percentage of the mean with Pct
	Pct   bool
	Dur   time.Duration // ss_dur, whole seconds
	Ramp  time.Duration // ss_ramp
}

// Slope reports a slope criterion (iops_slope, bw_slope).
func (s SteadyState) Slope() bool { return strings.HasSuffix(s.Mode, "_slope") }

// IOPS reports a criterion on IOPS (iops, iops_slope) rather than
// bandwidth.
func (s SteadyState) IOPS() bool { return strings.HasPrefix(s.Mode, "iops") }

// String is the criterion as fio's JSON gives it: "iops_slope:0.010000%".
func (s SteadyState) String() string {
	pct := ""
	if s.Pct {
		pct = "%"
	}
	return fmt.Sprintf("%s:%f%s", s.Mode, s.Limit, pct)
}

// I/O priority classes (ioprio_set(2)).
const (
	PrioClassNone = 0
	PrioClassRT   = 1 // real time
	PrioClassBE   = 2 // best effort
	PrioClassIdle = 3
)

// IOPrio is a job's I/O priorities, with fio's meanings: every read and
// write goes out with the job's priority (prioclass and prio), except
// CmdPct percent of those of each direction (cmdprio_percentage), which
// go out with CmdClass and CmdLevel (cmdprio_class, cmdprio).
type IOPrio struct {
	Class, Level int    // prioclass, prio; -1: not given
	CmdPct       [2]int // cmdprio_percentage of reads and writes
	CmdClass     [2]int // cmdprio_class (real time unless given)
	CmdLevel     [2]int // cmdprio
	// BSSplit is cmdprio_bssplit, per direction: the share of the I/Os
	// of each block size that go out with a priority of their own.
	BSSplit [2][]PrioSplit
}

// PrioSplit is an entry of cmdprio_bssplit: Pct percent of the I/Os of
// Size bytes go out with Class and Level (cmdprio_class and cmdprio
// where the entry names none: Class -1).
type PrioSplit struct {
	Size         uint64
	Pct          int
	Class, Level int
}

// prioValue is an I/O priority as ioprio_set(2) and io_uring take it.
func prioValue(class, level int) uint16 { return uint16(class)<<13 | uint16(level) }

// Default is the priority of the job's reads and writes that
// cmdprio_percentage leaves (ioprio value; 0: the thread's). A level
// without a class (or with class 0) is best effort's, a class without a
// level takes 0, as fio has them.
func (p *IOPrio) Default() uint16 {
	class := p.Class
	if class <= PrioClassNone {
		if p.Level < 0 {
			return 0
		}
		class = PrioClassBE
	}
	return prioValue(class, max(p.Level, 0))
}

// Cmd is the priority cmdprio_percentage gives its share of direction d's
// I/Os (DirRead or DirWrite).
func (p *IOPrio) Cmd(d int) uint16 { return prioValue(p.CmdClass[d], p.CmdLevel[d]) }

// splitPrio is the priority of a cmdprio_bssplit entry of direction d.
func (p *IOPrio) splitPrio(d int, e PrioSplit) uint16 {
	if e.Class < 0 {
		return p.Cmd(d)
	}
	return prioValue(e.Class, e.Level)
}

// Drawn reports whether direction d's priorities depend on a draw per
// I/O (cmdprio_percentage or cmdprio_bssplit is set for it).
func (p *IOPrio) Drawn(d int) bool { return d < 2 && (p.CmdPct[d] > 0 || len(p.BSSplit[d]) > 0) }

// Values returns the priorities direction d's I/Os can go out with, the
// job's first where any I/O keeps it, each once, given the block sizes the
// direction issues.
func (p *IOPrio) Values(d int, sizes []uint64) []uint16 {
	if !p.Drawn(d) {
		return []uint16{p.Default()}
	}
	var vals []uint16
	add := func(v uint16) {
		if !slices.Contains(vals, v) {
			vals = append(vals, v)
		}
	}
	if len(p.BSSplit[d]) == 0 {
		if p.CmdPct[d] < 100 {
			add(p.Default())
		}
		add(p.Cmd(d))
		return vals
	}
	if sizes == nil {
		add(p.Default()) // sizes from a range: some have no entry
	}
	for _, bs := range sizes {
		total := 0
		for _, e := range p.BSSplit[d] {
			if e.Size == bs {
				total += e.Pct
			}
		}
		if total < 100 {
			add(p.Default())
			break
		}
	}
	for _, e := range p.BSSplit[d] {
		if e.Pct > 0 && (sizes == nil || slices.Contains(sizes, e.Size)) {
			add(p.splitPrio(d, e))
		}
	}
	return vals
}

// Mixed reports whether direction d's I/Os go out with more than one
// priority (Values): their completion latencies are then also reported
// per priority, as fio's clat_prio.
func (p *IOPrio) Mixed(d int, sizes []uint64) bool { return p.Drawn(d) && len(p.Values(d, sizes)) > 1 }

// Pick returns the priority of a read or write of bs bytes (d: DirRead or
// DirWrite) given a uniform draw from [0, 100).
func (p *IOPrio) Pick(d int, bs uint64, draw int) uint16 {
	if d > 1 {
		return p.Default()
	}
	if len(p.BSSplit[d]) > 0 {
		cum := 0
		for _, e := range p.BSSplit[d] {
			if e.Size != bs {
				continue
			}
			if cum += e.Pct; draw < cum {
				return p.splitPrio(d, e)
			}
		}
		return p.Default()
	}
	if draw < p.CmdPct[d] {
		return p.Cmd(d)
	}
	return p.Default()
}

// BatchAuto is BatchSubmit when iodepth_batch_submit is not given: I/O
// goes to the kernel at once while the device holds little of the job's
// I/O, and together when the job next waits otherwise.
const BatchAuto = -1

// AutoReadGap is the largest gap read_gap=auto reads through (32 KiB):
// it holds the 16 KiB gaps of a file whose extents alternate with
// another's, as two files written at once lay out, and keeps what a
// merged read brings besides its pieces to at most one gap's bytes per
// piece.
const AutoReadGap = 32 << 10

// IsSet reports whether option key was given explicitly.
func (j *Job) IsSet(key string) bool { return j.set[key] }

// Clone returns a copy that shares nothing with j.
func (j Job) Clone() Job {
	c := j
	c.set = make(map[string]bool, len(j.set))
	for k, v := range j.set {
		c.set[k] = v
	}
	c.own, c.ownOrder = maps.Clone(j.own), slices.Clone(j.ownOrder)
	c.raw = make(map[string]string, len(j.raw))
	for k, v := range j.raw {
		c.raw[k] = v
	}
	c.PercentileList = slices.Clone(j.PercentileList)
	c.OpenDirFiles = slices.Clone(j.OpenDirFiles)
	c.CPUs = slices.Clone(j.CPUs)
	c.NumaNodes = slices.Clone(j.NumaNodes)
	c.VerifyPattern = slices.Clone(j.VerifyPattern)
	c.Buffers.Pattern = slices.Clone(j.Buffers.Pattern)
	c.BSSplit = [2][]BSSplit{slices.Clone(j.BSSplit[0]), slices.Clone(j.BSSplit[1])}
	c.Prio.BSSplit = [2][]PrioSplit{slices.Clone(j.Prio.BSSplit[0]), slices.Clone(j.Prio.BSSplit[1])}
	c.Dist.Zones = slices.Clone(j.Dist.Zones)
	c.Dist.Seq = slices.Clone(j.Dist.Seq)
	c.adjusted = slices.Clone(j.adjusted)
	return c
}

// Set sets option key to value as a job file or the command line gives it
// (key=value). Boolean options take 1 or 0 (hex too), as fio 3.33's do
// (iobench's own take true/false/yes/no/on/off as well); an
// empty value is refused, as fio 3.33 refuses direct= or time_based=,
// but for the options that name a log (write_bw_log=). A key given
// without "=" goes to SetBare. Option names are lower case: fio 3.33
// knows no other spelling (RW=randread is a "Bad option" there), so
// neither does iobench.
func (j *Job) Set(key, value string) error { return j.setOption(key, value, false, false) }

// SetBare sets option key given alone, without "=" (a bare "time_based"
// line, or --time_based on the command line). fio 3.33 takes an option
// alone only where it types it "empty or boolean value" (time_based,
// group_reporting, stonewall, norandommap, ..., and io_uring's fixedbufs,
// registerfiles, sqthread_poll and hipri), which it sets, and for the
// write_*_log options, which then take the job's name; its other
// booleans (direct, randrepeat, end_fsync, ...) and every option that
// takes a value fail there ("Option direct requires an argument"), and
// so they do here. iobench's own engine options (force, warm, ...),
// which fio never reads, may be given alone too.
func (j *Job) SetBare(key string) error { return j.setOption(key, "", true, false) }

// SetArg sets an option given on the command line (--key=value, or
// --key alone with bare), as Set or SetBare do, but for one thing: fio
// reads its command line in order, so a kb_base there applies to the
// sizes given after it and leaves those given before it as they were
// read (--size=1m --kb_base=1000 is 1048576 bytes in fio 3.33), where in
// a job file it applies to its whole section.
func (j *Job) SetArg(key, value string, bare bool) error {
	return j.setOption(key, value, bare, true)
}

// bareIOUring are io_uring options fio 3.33 types "empty or boolean
// value", which it takes alone (fio --enghelp=io_uring).
var bareIOUring = map[string]bool{"fixedbufs": true, "registerfiles": true, "sqthread_poll": true, "hipri": true}

// bareNotices are the options accepted with a notice that fio 3.33 takes
// alone (and runs).
var bareNotices = map[string]bool{"thread": true, "prep": true}

// bareCrashes are options fio 3.33 takes alone at --parse-only but dies
// of a segmentation fault on when it runs the job: a value is required
// for them here.
var bareCrashes = map[string]bool{
	"cpus_allowed": true, "ignore_error": true, "numa_cpu_nodes": true, "numa_mem_policy": true,
	"replay_skip": true, "log_compression_cpus": true, "verify_async_cpus": true,
}

// needsValue is the error for option given, which takes a value, given
// alone.
func needsValue(given, key string) error {
	if bareCrashes[key] {
		return fmt.Errorf("%w: %s needs a value: fio 3.33 takes it alone at --parse-only, then dies of a segmentation fault running the job", ErrBadValue, given)
	}
	return fmt.Errorf("%w: %s needs a value, as in fio 3.33 (\"Option %s requires an argument\")", ErrBadValue, given, given)
}

// emptyValue is the error for option given with an empty value
// (direct=), which fio 3.33 refuses.
func emptyValue(given string) error {
	return fmt.Errorf("%w: %s= needs a value, as fio 3.33 refuses an empty one", ErrBadValue, given)
}

// takesBare reports whether option o may be given alone (SetBare).
func takesBare(o *Option) bool {
	return fioFlags[o.Name] || bareIOUring[o.Name] || o.bareName ||
		o.Engine && (o.kind == kindBool || o.kind == kindFlag)
}

// lowerCaseHint says an option name with a capital letter is not one:
// fio 3.33 reads option names as they are spelled ("Bad option
// <RW=randread>").
func lowerCaseHint(given string) error {
	lower := strings.ToLower(given)
	if _, ok := optionIndex[Canonical(lower)]; ok || IsNotice(lower) || IsRefused(lower) {
		return fmt.Errorf("%w: %q: option names are lower case, as fio 3.33 reads them (it refuses %s too): write %s", ErrUnknownOption, given, given, lower)
	}
	return fmt.Errorf("%w: %q%s", ErrUnknownOption, given, DidYouMean(lower))
}

// lowerCaseValues are the options whose values are keywords fio 3.33
// matches as spelled: rw=READ, verify=MD5, random_distribution=Zipf:1.2
// fail parsing there (fio --parse-only), and ioengine=NULL parses but
// fails to load when the job runs. The keyword is the value up to its
// first ':' (rw=randread:4K is fio's, as sizes take any case).
var lowerCaseValues = map[string]bool{
	"rw": true, "verify": true, "fallocate": true, "file_service_type": true,
	"random_distribution": true, "random_generator": true, "zonemode": true,
	"unified_rw_reporting": true, "log_max_value": true, "continue_on_error": true,
	"exit_what": true, "sync": true, "io_submit_mode": true, "cpus_allowed_policy": true,
	"rate_process": true, "thinktime_blocks_type": true, "dedupe_mode": true,
	"write_hint": true, "ss": true, "ioengine": true, "clocksource": true,
}

// valueCase refuses a keyword value of one of lowerCaseValues that is not
// in lower case, as fio 3.33 refuses it.
func valueCase(given, name, value string) error {
	kw, _, _ := strings.Cut(value, ":")
	if !lowerCaseValues[name] || kw == strings.ToLower(kw) {
		return nil
	}
	if name == "ioengine" {
		return fmt.Errorf("%w: %s=%s: fio 3.33 reads engine names as spelled: it takes %s at --parse-only, then fails to run the job (\"engine %s not loadable\"); write %s=%s", ErrBadValue, given, value, value, value, given, strings.ToLower(value))
	}
	return fmt.Errorf("%w: %s=%s: fio 3.33 takes %s's keywords in lower case only (\"failed parsing %s=%s\"); write %s=%s%s", ErrBadValue, given, value, name, given, value, given, strings.ToLower(kw), value[len(kw):])
}

// boolWords are the words iobench's own booleans take, which fio 3.33
// refuses in its own ("failed parsing direct=true": it reads a boolean as
// a number).
var boolWords = []string{"true", "false", "yes", "no", "on", "off"}

// boolWord refuses a word for a boolean of fio's, as fio 3.33 refuses it,
// and verify=off or verify=none, which fio does not know (verify=0 is
// its off). iobench's own options (cache=on) keep the words.
func boolWord(given string, o *Option, value string) error {
	v := strings.ToLower(value)
	switch {
	case o.Engine:
		return nil
	case (o.kind == kindBool || o.kind == kindFlag) && slices.Contains(boolWords, v):
		n := "1"
		if v == "false" || v == "no" || v == "off" {
			n = "0"
		}
		return fmt.Errorf("%w: %s=%s: fio 3.33 takes a boolean as a number, 1 or 0, and fails parsing %s=%s: write %s=%s", ErrBadValue, given, value, given, value, given, n)
	case o.Name == "verify" && (v == "off" || v == "none"):
		return fmt.Errorf("%w: %s=%s: fio 3.33 has no such verify method (it fails parsing it): write %s=0", ErrBadValue, given, value, given)
	}
	return nil
}

func (j *Job) setOption(key, value string, bare, inOrder bool) error {
	key = strings.TrimSpace(key)
	value = strings.TrimSpace(value)
	given := key // errors name the option as the job file spells it
	if key != strings.ToLower(key) {
		return lowerCaseHint(key)
	}
	if alias, ok := aliases[key]; ok {
		key = alias
	}
	o, ok := optionIndex[key]
	if !ok {
		if _, ok := noticeOptions[key]; ok && bare && !bareNotices[key] {
			return needsValue(given, key)
		}
		if _, ok := noticeOptions[key]; ok && !bare && value == "" {
			return emptyValue(given)
		}
		if n, ok := noticeOptions[key]; ok {
			j.markOwn(key, value, bare) // fio lists it among the job's options
			return &Notice{Option: given, Msg: n}
		}
		if why, ok := refusedOptions[key]; ok {
			if noEffect(key, value) {
				j.markOwn(key, value, bare)
				return nil
			}
			return fmt.Errorf("%w: %s: %s", ErrRefused, given, why)
		}
		return fmt.Errorf("%w: %q%s", ErrUnknownOption, key, DidYouMean(key))
	}
	if value == "" && !bare && o.Name == "bssplit" {
		// fio 3.33 reads an empty split as none and leaves the job's
		// split as it was (a [global] one stays).
		return nil
	}
	if value == "" && o.bareName {
		value = bareLogName
	}
	switch {
	case value != "":
	case bare && takesBare(o):
	case bare && (o.kind == kindBool || o.kind == kindFlag):
		return fmt.Errorf("%w: %s needs a value (%s=1 or %s=0): fio 3.33 takes alone only the booleans it types \"empty or boolean value\" (time_based, group_reporting, norandommap, ...), not %s (\"Option %s requires an argument\")", ErrBadValue, given, given, given, given, given)
	case o.Engine && (o.kind == kindBool || o.kind == kindFlag):
		// An engine option's empty value is its bare form.
	case bare:
		return needsValue(given, o.Name)
	default:
		return emptyValue(given)
	}
	if err := valueCase(given, o.Name, value); err != nil {
		return err
	}
	if err := boolWord(given, o, value); err != nil {
		return err
	}
	if o.refuse != nil {
		if msg := o.refuse(value); msg != "" {
			return fmt.Errorf("%w: %s=%s: %s", ErrRefused, given, value, msg)
		}
	}
	mixRead := j.RWMixRead
	var ignored *Notice // text after a number, which fio 3.33 ignores
	if err := o.set(j, value); err != nil {
		head, rest, ok := trailingText(o, value)
		if !ok || o.set(j, head) != nil {
			return fmt.Errorf("%w: %s=%s: %w", ErrBadValue, given, value, err)
		}
		ignored = &Notice{Option: given + "=" + value, Msg: fmt.Sprintf("%q after the value ignored, as fio 3.33 reads the number and ignores the rest: %s=%s", rest, given, head)}
		value = head
	}
	if j.set == nil {
		j.set = map[string]bool{}
		j.raw = map[string]string{}
	}
	j.set[o.Name] = true
	j.markOwn(o.Name, value, bare)
	if o.kind == kindSize || o.Name == "rw" { // rw=read:8k holds a size
		j.raw[o.Name] = value
	}
	if o.Name == "kb_base" && !inOrder {
		// Sizes given before kb_base are read again in its units.
		for _, name := range slices.Sorted(maps.Keys(j.raw)) {
			if err := optionIndex[name].set(j, j.raw[name]); err != nil {
				return fmt.Errorf("%w: %s=%s (kb_base=%d): %w", ErrBadValue, name, j.raw[name], j.KBBase, err)
			}
		}
	}
	if other := mixPartner[o.Name]; other != "" && j.set[other] && j.RWMixRead != mixRead {
		return &Notice{Option: o.Name, Msg: fmt.Sprintf("overrides %s (they add up to 100): reads %g%%, writes %g%%", other, j.RWMixRead, 100-j.RWMixRead)}
	}
	if o.Name == "bs" {
		if n := bsSeparatorNotice(value); n != "" {
			return &Notice{Option: given + "=" + value, Msg: n}
		}
	}
	if ignored != nil {
		return ignored
	}
	return nil
}

// trailingText splits a numeric option's value into the number and text
// after it past a blank (fsync=10  // writes only, iodepth=4 x), which
// fio 3.33 reads as the number, ignoring the rest, as job files written
// for it rely on. Other options' values, and text glued to the number,
// are taken whole.
func trailingText(o *Option, value string) (head, rest string, ok bool) {
	switch o.kind {
	case kindInt, kindSize, kindTime, kindBool, kindFloat:
	default:
		return "", "", false
	}
	i := strings.IndexAny(value, " \t")
	if i <= 0 {
		return "", "", false
	}
	head = value[:i]
	if _, err := strconv.ParseUint(head, 10, 64); err != nil && o.kind == kindBool {
		return "", "", false // fio reads a boolean's number so, not its words (direct=yes x fails)
	}
	return head, strings.TrimSpace(value[i:]), true
}

// mixPartner pairs the two options that set one read/write mix: given
// both with values that disagree, the later wins (as in fio), with a notice.
var mixPartner = map[string]string{"rwmixread": "rwmixwrite", "rwmixwrite": "rwmixread"}

// Notice is returned by Set for an option iobench accepts but ignores
// (it only selects something fio-specific); the caller prints it.
type Notice struct {
	Option string
	Msg    string
}

func (n *Notice) Error() string { return n.Option + ": " + n.Msg }

// NullIO reports ioengine=null: the engine runs over a ring that
// completes each I/O when it is submitted, with no device I/O.
func (j *Job) NullIO() bool { return j.IOEngine == "null" }

// SyncEngine reports whether fio runs the job on a synchronous engine:
// one of the synchronous engines iobench runs on io_uring in its place
// (sync, psync, vsync, pvsync, pvsync2), or the null engine at
// iodepth=1, which fio runs synchronously. fio records no submission
// latency for such an engine (no slat line, an empty slat log), and
// iobench reports none either.
func (j *Job) SyncEngine() bool {
	return j.engineAsked != "" && substituteEngines[j.engineAsked] || j.NullSync()
}

// NullSync reports whether the job runs fio's null engine at iodepth=1,
// where fio hands nothing to an engine queue: its submit and complete
// distributions stay empty.
func (j *Job) NullSync() bool { return j.NullIO() && j.IODepth == 1 }

// substituteEngines are fio's engines that do what iobench's io_uring
// engine does (reads and writes at file offsets, through the kernel's
// block layer), only another way: a job naming one runs on io_uring,
// with a notice (Adjustments). The synchronous ones (true) do one I/O
// at a time, so their jobs run at iodepth=1, as fio caps the depth of
// a synchronous engine. fio's other engines (network, mmap, splice,
// passthrough, ...) do something else and are refused.
var substituteEngines = map[string]bool{
	"libaio": false, "posixaio": false,
	"sync": true, "psync": true, "vsync": true, "pvsync": true, "pvsync2": true,
}

// fioEngines are the I/O engines fio 3.33 and later versions have (with
// ioengine=external:path, an engine of one's own): a name outside them is
// a mistake, not an engine iobench leaves out.
var fioEngines = map[string]bool{
	"io_uring": true, "io_uring_cmd": true, "libaio": true, "posixaio": true, "null": true,
	"sync": true, "psync": true, "vsync": true, "pvsync": true, "pvsync2": true,
	"mmap": true, "splice": true, "sg": true, "net": true, "netsplice": true, "cpuio": true,
	"rdma": true, "falloc": true, "e4defrag": true, "rbd": true, "rados": true, "http": true,
	"gfapi": true, "gfapi_async": true, "libhdfs": true, "mtd": true, "dev-dax": true,
	"libpmem": true, "ime_psync": true, "ime_psyncv": true, "ime_aio": true, "libcufile": true,
	"dfs": true, "nfs": true, "exec": true, "xnvme": true, "libiscsi": true, "nbd": true,
	"ftruncate": true, "filecreate": true, "filestat": true, "filedelete": true,
	"dircreate": true, "dirstat": true, "dirdelete": true, "windowsaio": true, "solarisaio": true,
	"guasi": true, "pmemblk": true,
	// Later fio versions', and engines a build includes only with their
	// library (fio's examples name them).
	"libblkio": true, "libzbc": true, "libhipfile": true, "page_fault": true, "sgunmap": true,
	"librpma_apm_client": true, "librpma_apm_server": true, "librpma_gpspm_client": true, "librpma_gpspm_server": true,
	"filesetxattr": true, "filelistxattr": true, "fusion-aw-sync": true, "sheepdog": true,
}

// engineDoes says what each of fio's engines that iobench refuses does
// instead of block-layer reads and writes, for the refusal.
var engineDoes = map[string]string{
	"mmap": "reads and writes through a memory map of the file", "splice": "moves data with splice(2) and vmsplice(2)",
	"sg": "sends SCSI commands (SG_IO passthrough)", "net": "sends and receives over network sockets",
	"netsplice": "sends and receives over network sockets with splice(2)", "cpuio": "burns CPU and does no I/O",
	"rdma": "makes RDMA transfers", "falloc": "calls fallocate(2)", "e4defrag": "calls ext4's online defragmentation ioctl",
	"ftruncate": "calls ftruncate(2)", "filecreate": "creates files", "filestat": "stats files", "filedelete": "deletes files",
	"dircreate": "creates directories", "dirstat": "stats directories", "dirdelete": "deletes directories",
	"exec": "runs a program", "http": "makes HTTP requests (WebDAV, S3, Swift)", "rbd": "talks to Ceph RBD through librbd",
	"rados": "talks to Ceph RADOS through librados", "gfapi": "talks to GlusterFS through libgfapi",
	"gfapi_async": "talks to GlusterFS through libgfapi", "libhdfs": "talks to HDFS", "mtd": "drives raw MTD flash",
	"dev-dax": "loads and stores to a device-DAX mapping", "libpmem": "loads and stores to persistent memory through libpmem",
	"pmemblk": "goes through libpmemblk", "ime_psync": "talks to DDN IME", "ime_psyncv": "talks to DDN IME",
	"ime_aio": "talks to DDN IME", "libcufile": "moves data to GPU memory through cuFile", "dfs": "talks to DAOS",
	"nfs": "talks to an NFS server from user space (libnfs)", "xnvme": "goes through the xNVMe library",
	"libiscsi": "talks to an iSCSI target from user space", "nbd": "talks to an NBD server",
	"windowsaio": "is Windows' asynchronous I/O", "solarisaio": "is Solaris' asynchronous I/O", "guasi": "goes through GUASI",
	"libblkio": "drives devices through libblkio's user-space drivers (virtio-blk over vfio-pci or vhost, or its own io_uring)",
	"libzbc":   "sends zoned-disk commands through libzbc", "libhipfile": "moves data to GPU memory through hipFile",
	"page_fault": "takes page faults on a memory map of the file", "sgunmap": "sends SCSI UNMAP commands",
	"librpma_apm_client": "makes RDMA transfers to persistent memory through librpma", "librpma_apm_server": "serves RDMA transfers to persistent memory through librpma",
	"librpma_gpspm_client": "makes RDMA transfers to persistent memory through librpma", "librpma_gpspm_server": "serves RDMA transfers to persistent memory through librpma",
	"filesetxattr": "sets files' extended attributes", "filelistxattr": "lists files' extended attributes",
	"fusion-aw-sync": "makes atomic writes through Fusion-io's SDK", "sheepdog": "talks to a Sheepdog cluster",
}

// nearestEngine returns the fio engine whose name is within two edits of
// name (the nearest, the first in order on a tie), or "".
func nearestEngine(name string) string {
	best, bestD := "", 3
	names := make([]string, 0, len(fioEngines))
	for n := range fioEngines {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if d := editDistance(name, n); d < bestD {
			best, bestD = n, d
		}
	}
	return best
}

// EngineAsked returns the fio engine the job named when iobench runs
// it on io_uring in its place, "" when it runs the engine it named.
func (j *Job) EngineAsked() string { return j.engineAsked }

// engineNotice says what a job naming a substituted engine runs on,
// capping a synchronous engine's iodepth at 1 as fio does.
func engineNotice(j *Job) string {
	if !substituteEngines[j.engineAsked] {
		return fmt.Sprintf("ioengine=%s: iobench runs the job on its own engine, io_uring, at iodepth=%d, where fio runs %s (say ioengine=io_uring to run both tools alike)", j.engineAsked, j.IODepth, j.engineAsked)
	}
	if j.IODepth > 1 {
		j.depthCapped, j.IODepth = j.IODepth, 1
	}
	if j.depthCapped > 1 {
		return fmt.Sprintf("ioengine=%s: iobench runs the job on its own engine, io_uring, one I/O at a time: iodepth=%d lowered to 1, as fio caps a synchronous engine's depth (say ioengine=io_uring to run the depth)", j.engineAsked, j.depthCapped)
	}
	return fmt.Sprintf("ioengine=%s: iobench runs the job on its own engine, io_uring, one I/O at a time, as fio's synchronous engine does them (say ioengine=io_uring to run both tools alike)", j.engineAsked)
}

// bareLogName stands for the job's name in a write_*_log given with no
// value until Validate knows the name.
const bareLogName = "\x00job name"

// Adjustments says what the last Validate corrected: values fio accepts
// and corrects (an iodepth_low above iodepth, an
// iodepth_batch_complete_max below iodepth_batch_complete_min, a size
// that is not a whole number of sectors), corrected the same way. Callers
// print them as notices.
func (j *Job) Adjustments() []string { return j.adjusted }

// note adds msg to the adjustments once.
func (j *Job) note(msg string) {
	if !slices.Contains(j.adjusted, msg) {
		j.adjusted = append(j.adjusted, msg)
	}
}

// blockAlignNoMap reports whether fio 3.33 turns the random map off for
// j: a random pattern with blockalign given, which differs from the
// smallest block size of a direction (reads, writes, or trims: bs's
// third value, else the writes'), whatever directions the job issues.
// A job that gave norandommap itself keeps it, unnoticed; baNoMap
// remembers the correction for a Validate again.
func (j *Job) blockAlignNoMap() bool {
	if !j.RW.Random() || j.BlockAlign == 0 || !j.baNoMap && j.NoRandomMap {
		return false
	}
	trim := minBSDir(j, DirWrite)
	if j.trimBS != "" {
		if t, err := j.parseSize(j.trimBS); err == nil && t > 0 {
			trim = t
		}
	}
	return j.BlockAlign != minBSDir(j, DirRead) || j.BlockAlign != minBSDir(j, DirWrite) || j.BlockAlign != trim
}

// Validate checks the options against each other, correcting the values
// fio corrects (Adjustments).
func (j *Job) Validate() error {
	var errs []error
	bad := func(format string, a ...any) {
		err := fmt.Errorf(format, a...)
		// One message once: a bssplit that applies to reads and writes
		// alike is checked for each.
		if !slices.ContainsFunc(errs, func(e error) bool { return e.Error() == err.Error() }) {
			errs = append(errs, err)
		}
	}
	if j.trimSplit != "" && j.RW.Trims() {
		bad("bssplit: a trim split (third value %s) other than the write split is not implemented: trims use the write sizes", j.trimSplit)
	}
	for d, name := range []string{"reads", "writes"} {
		// As fio 3.33 refuses them ("minimum rate exceeds rate").
		if j.Rate[d] > 0 && j.RateMin[d] > j.Rate[d] {
			bad("rate_min=%d exceeds rate=%d for %s: the job could only fail (fio 3.33: \"minimum rate exceeds rate\")", j.RateMin[d], j.Rate[d], name)
		}
		if j.RateIOPS[d] > 0 && j.RateIOPSMin[d] > j.RateIOPS[d] {
			bad("rate_iops_min=%d exceeds rate_iops=%d for %s: the job could only fail (fio 3.33: \"minimum rate exceeds rate\")", j.RateIOPSMin[d], j.RateIOPS[d], name)
		}
	}
	j.TrimBS = 0
	if j.trimBS != "" && j.RW.Trims() {
		t, err := j.parseSize(j.trimBS)
		switch {
		case err == nil && t == j.BS[1]:
		case err == nil && (j.RW == Trim || j.RW == RandTrim) && j.BSRange == [2][2]uint64{} && len(j.BSSplit[0])+len(j.BSSplit[1]) == 0:
			// Trims only: they take bs's third value, as fio's do, the
			// random map counting in the smallest of the three
			// (NewGenerator).
			if t == 0 || t%512 != 0 {
				bad("bs: trim size %d: want a multiple of 512 (the engine works in 512-byte sectors)", t)
			}
			j.TrimBS = t
		default:
			bad("bs: a trim block size (third value %s) other than the write size %d is not implemented with rw=%s, bssplit or bsrange: its trims use the write block size (rw=trim and randtrim take it)", j.trimBS, j.BS[1], j.RW)
		}
	}
	if j.FileService.skewed() && (j.RW == ReadWrite || j.RW.Trims()) {
		// fio draws a file again where a sequential pass of rw ends,
		// with the direction drawn anew: not followed.
		bad("file_service_type=%s with rw=%s: not implemented: skewed file choices are followed for reads, writes and the random patterns", j.FileService, j.RW)
	}
	if j.Rate != [2]uint64{} && j.RateIOPS != [2]int{} {
		// fio refuses the pair even when they cap different directions.
		bad("rate and rate_iops are mutually exclusive (as in fio): cap bandwidth or IOPS, not both")
	}
	if j.IODepth < 1 || j.IODepth > 4096 {
		bad("iodepth=%d: want 1..4096", j.IODepth)
	}
	if j.ReadIOLog != "" {
		switch {
		case j.NumJobs > 1:
			bad("read_iolog with numjobs=%d: each clone would replay the whole log; give each job its own", j.NumJobs)
		case j.Verify != "" || j.VerifyOnly:
			bad("read_iolog with verify: a replay does not know what the blocks should hold")
		case j.IOEngine == "null":
			bad("read_iolog with ioengine=null: a replay needs the log's files")
		}
	} else if j.ReadIOLogChunked {
		bad("read_iolog_chunked needs read_iolog")
	} else if j.ReplayRedirect != "" || j.ReplayNoStall || j.ReplaySkip != 0 || j.ReplayScale > 1 || j.ReplayAlign != 0 || j.ReplayTimeScale != 100 {
		bad("replay_redirect, replay_no_stall, replay_skip, replay_scale, replay_align and replay_time_scale need read_iolog")
	}
	if j.ReplayAlign&(j.ReplayAlign-1) != 0 {
		bad("replay_align=%d: want a power of two (fio masks the offset's low bits with it)", j.ReplayAlign)
	}
	if j.FillDevice && j.SizePct > 0 {
		// fill_device replaces a size of 0, as fio 3.33's does, and
		// size=N% leaves fio's size at 0: the job covers the device from
		// its offset (the default without size). A size in bytes stays.
		j.SizePct = 0
	}
	if j.WriteIOLog != "" && j.NumJobs > 1 {
		bad("write_iolog with numjobs=%d: the clones would write one log over each other; give each job its own write_iolog", j.NumJobs)
	}
	if j.IsSet("cmdprio_bssplit") && j.IsSet("cmdprio_percentage") {
		bad("cmdprio_bssplit and cmdprio_percentage are mutually exclusive (as in fio): give the share per block size or for all")
	}
	// A bare write_*_log names the logs after the job, as fio does; the
	// name is known only now (the option may come from [global]).
	for _, p := range []*string{&j.Logs.BW, &j.Logs.IOPS, &j.Logs.Lat, &j.Logs.Hist} {
		if *p == bareLogName {
			*p = j.Name
		}
	}
	// Values fio accepts and corrects, corrected the same way; the
	// caller prints what changed (Adjustments).
	j.adjusted = nil
	if j.BatchCompleteMax == 0 && j.BatchCompleteMin > 0 && (j.set["iodepth_batch_complete_min"] || j.set["iodepth_batch_complete_max"]) {
		// Given either, the batching is fio's: its maximum of 0 (its
		// default) is raised to the minimum, each wait taking exactly
		// that many. Given neither, 0 stays iobench's own default: all
		// that are ready.
		j.BatchCompleteMax = j.BatchCompleteMin
	}
	if j.BatchCompleteMax > 0 && j.BatchCompleteMax < j.BatchCompleteMin {
		j.adjusted = append(j.adjusted, fmt.Sprintf("iodepth_batch_complete_max=%d is below iodepth_batch_complete_min=%d: raised to %d, as fio does",
			j.BatchCompleteMax, j.BatchCompleteMin, j.BatchCompleteMin))
		j.BatchCompleteMax = j.BatchCompleteMin
	}
	if j.IODepthLow > j.IODepth && j.IODepth >= 1 {
		j.adjusted = append(j.adjusted, fmt.Sprintf("iodepth_low=%d is above iodepth=%d: lowered to %d, as fio does", j.IODepthLow, j.IODepth, j.IODepth))
		j.IODepthLow = j.IODepth
	}
	if j.engineAsked != "" {
		j.note(engineNotice(j))
	}
	if j.Logs.Avg > 0 {
		// fio takes a bandwidth (IOPS) log's log_avg_msec as the job's
		// sampling period, bwavgtime (iopsavgtime), when the job gives
		// none: its samples are the log's windows.
		if j.Logs.BW != "" && !j.set["bwavgtime"] {
			j.BWAvgTime = j.Logs.Avg
		}
		if j.Logs.IOPS != "" && !j.set["iopsavgtime"] {
			j.IOPSAvgTime = j.Logs.Avg
		}
	}
	if j.blockAlignNoMap() {
		// fio 3.33 keeps no random map for a random pattern whose
		// blockalign differs from a direction's smallest block size.
		j.adjusted = append(j.adjusted, fmt.Sprintf("blockalign=%d differs from a direction's smallest block size: no random map (norandommap=1), as fio turns it off", j.BlockAlign))
		j.NoRandomMap, j.baNoMap = true, true
	}
	if j.NullIO() && (j.Verify != "" || j.VerifyOnly) {
		bad("ioengine=null does no device I/O: there is nothing to verify")
	}
	if j.NumJobs < 1 || j.NumJobs > 256 {
		bad("numjobs=%d: want 1..256", j.NumJobs)
	}
	for d := range 2 {
		if j.BS[d] == 0 || j.BS[d]%512 != 0 {
			bad("bs=%d: want a multiple of 512 (the engine works in 512-byte sectors, direct or buffered)%s", j.BS[d], j.decimalUnitHint("bs", "bsrange"))
		}
		// bssplit's percentages need not add up to 100: fio 3.33 runs
		// such a split, a draw past their sum taking the entry of the
		// largest percentage (parseSplit).
		for _, s := range j.BSSplit[d] {
			if s.Size == 0 || s.Size%512 != 0 {
				bad("bssplit: block size %d is not a multiple of 512%s", s.Size, j.decimalUnitHint("bssplit"))
			}
		}
	}
	if j.RWMixRead < 0 || j.RWMixRead > 100 {
		bad("rwmixread=%g: want 0..100", j.RWMixRead)
	}
	if j.Offset%512 != 0 {
		bad("offset=%d: want a multiple of 512%s", j.Offset, j.decimalUnitHint("offset"))
	}
	switch {
	case j.Size > 0 && j.Size < j.MinBS():
		bad("size=%d is less than the smallest block size %d", j.Size, j.MinBS())
	case j.Size%512 != 0:
		// fio does I/O only over whole blocks of size.
		j.adjusted = append(j.adjusted, fmt.Sprintf("size=%d is not a multiple of 512: rounded down to %d (I/O covers whole blocks, as in fio; on a block device fio's sequential I/O also takes the last part block whole, past the size)", j.Size, j.Size/512*512))
		j.Size = j.Size / 512 * 512
	}
	for d := range 2 {
		if lo := j.BSRange[d][0]; j.BSRange[d][1] > 0 && (lo == 0 || lo%512 != 0) {
			bad("bs range %d-%d: the lower bound must be a multiple of 512", lo, j.BSRange[d][1])
		}
	}
	if j.BlockAlign%512 != 0 {
		bad("blockalign=%d: want a multiple of 512", j.BlockAlign)
	}
	if j.OffsetIncrement%512 != 0 {
		bad("offset_increment=%d: want a multiple of 512", j.OffsetIncrement)
	}
	if !j.RW.Random() && j.RWMod%512 != 0 {
		bad("rw=%s:%d: the skip must be a multiple of 512", j.RW, j.RWMod)
	}
	if j.TimeBased && j.Runtime == 0 {
		// fio too: without a runtime there is no time to run for.
		j.TimeBased = false
		j.note("time_based without runtime has no effect, as in fio: the job ends when its size is done")
	}
	if j.FsyncEvery > 0 && j.FdatasyncEvery > 0 {
		bad("fsync=%d and fdatasync=%d: choose one", j.FsyncEvery, j.FdatasyncEvery)
	}
	if j.ZoneMode == "none" && j.ZoneSize > 0 {
		// fio refuses the pair; fio before zonemode took zonesize alone
		// as strided zones.
		bad("zonesize=%d with zonemode=none: the two are not compatible, as in fio; set zonemode=strided for zones (what fio before zonemode did with zonesize)", j.ZoneSize)
	}
	if j.ZoneMode == "strided" {
		if j.ZoneSize == 0 {
			bad("zonemode=strided needs zonesize")
		}
		zr := max(j.ZoneRange, j.ZoneSize)
		if zr%512 != 0 || j.ZoneSkip%512 != 0 || zr < j.MaxBS() {
			bad("zonerange=%d, zoneskip=%d: want multiples of 512, the range at least the largest block", zr, j.ZoneSkip)
		}
	}
	if j.LatencyTarget > 0 && j.LatencyWindow <= 0 {
		bad("latency_target needs a latency_window")
	}
	if j.RampTime > 0 && j.RampSize > 0 {
		bad("ramp_time and ramp_size: choose one (fio refuses the two together)")
	}
	if j.Logs.IssueTime && (j.Logs.Lat == "" || !j.Logs.Offset) {
		bad("log_issue_time needs write_lat_log and log_offset, as in fio")
	}
	if j.ThinkSpin > j.ThinkTime {
		bad("thinktime_spin=%v is longer than thinktime=%v", j.ThinkSpin, j.ThinkTime)
	}
	if j.Loops < 1 {
		bad("loops=%d: want at least 1", j.Loops)
	}
	if j.BWAvgTime < time.Millisecond || j.IOPSAvgTime < time.Millisecond {
		bad("bwavgtime and iopsavgtime: want at least 1ms")
	}
	if !slices.Contains([]string{"linear", "scattered", "cow", "cowlog", "fiemap", "ext4"}, j.Mapper) {
		bad("mapper=%s: want linear, scattered, cow, cowlog, fiemap or ext4", j.Mapper)
	}
	if j.Mapper == "ext4" && j.Ext4File == "" {
		bad("mapper=ext4 needs ext4_file, the path of the file inside the filesystem")
	}
	if j.Mapper == "ext4" && j.RW.Writes() && !j.Ext4Overwrite {
		bad("mapper=ext4 is read-only unless ext4_overwrite=1: rw=%s writes", j.RW)
	}
	if j.Mapper == "fiemap" && j.RW.Writes() {
		bad("mapper=fiemap is read-only: rw=%s writes", j.RW)
	}
	if j.RW.Trims() {
		j.validateTrims(bad)
	}
	if j.SPRandom {
		j.validateSPRandom(bad)
	}
	if j.Extents < 1 {
		bad("extents=%d: want at least 1", j.Extents)
	}
	if err := j.CheckFileCount(); err != nil {
		errs = append(errs, err)
	}
	if j.UnlinkEachLoop && j.IsSet("registerfiles") && j.RegisterFiles {
		bad("unlink_each_loop with registerfiles=1: the rings would keep the files removed between loops; leave registerfiles unset")
	}
	if j.OpenDir != "" {
		for _, o := range []string{"filename", "directory", "nrfiles", "filename_format", "read_iolog"} {
			if j.IsSet(o) {
				bad("opendir with %s: opendir names the job's files (fio adds them to the others in the order the options come, which a job file does not keep here)", o)
			}
		}
	}
	if j.IsSet("filename") && len(j.Filenames()) == 0 {
		bad("filename=%s names no file", j.Filename)
	}
	if j.VerifyOnly && j.Verify == "" {
		bad("verify_only needs verify")
	}
	if j.Verify == "pattern" && len(j.VerifyPattern) == 0 {
		bad("verify=pattern needs verify_pattern")
	}
	if j.patternHdr && len(j.VerifyPattern) == 0 {
		bad("verify=pattern_hdr needs verify_pattern")
	}
	if j.Atomic && j.RW.Writes() && !j.VerifyOnly {
		j.validateAtomic(bad)
	}
	if j.uncached != 0 && !j.Direct {
		bad("uncached=%d with direct=0: uncached buffered I/O (RWF_DONTCACHE) is not implemented (with direct=1 it has no effect, in fio too)", j.uncached)
	}
	if j.Verify != "" && j.DoVerify && j.RW.Writes() && !j.VerifyOnly {
		// Where iobench's verify differs from fio's, say so.
		switch {
		case j.NumJobs <= 1 || j.OffsetIncrement != 0 || j.OffsetIncrementPct > 0:
		case j.Filename != "":
			j.note(fmt.Sprintf("numjobs=%d with verify on one target: each clone writes and reads back its own 1/%d of the region, so that none checks blocks another overwrote (fio's clones each write the whole region, and fio warns that their verify may fail)", j.NumJobs, j.NumJobs))
		case !j.NamesFiles():
			j.note(fmt.Sprintf("numjobs=%d with verify on iobench's automatic target: each clone writes and reads back its own 1/%d of it (fio, given no filename, makes each clone a file of its own, the whole size each)", j.NumJobs, j.NumJobs))
		}
	}
	if j.VerifyAsync > 0 && j.Verify != "" && (j.VerifyBacklog > 0 || !j.RW.Writes() && !j.VerifyOnly) {
		j.note(fmt.Sprintf("verify_async=%d: the job's own verify reads (a read job's, verify_backlog's) are checked in its thread; only the verify pass's go to the %d checking goroutines (fio offloads both)", j.VerifyAsync, j.VerifyAsync))
	}
	if vi, bs := j.VerifyInterval, j.MinBS(); vi > bs && bs > 0 && vi%512 == 0 {
		// fio writes one header per I/O shorter than the interval.
		j.VerifyInterval = bs
		j.adjusted = append(j.adjusted, fmt.Sprintf("verify_interval=%d is above the smallest block size %d: lowered to %d (fio writes one header for each I/O shorter than the interval)", vi, bs, bs))
	}
	if vi := j.VerifyInterval; vi > 0 && (vi < 512 || vi%512 != 0 || j.MinBS()%vi != 0) {
		bad("verify_interval=%d: want a multiple of 512 that divides the smallest block size %d", vi, j.MinBS())
	}
	if vo := j.VerifyOffset; vo > 0 && j.Verify != "" && j.Verify != "pattern" && vo+HeaderBytes > uint64(j.VerifyBlock()) {
		bad("verify_offset=%d: the %d-byte verify header would end past the verify block (%d bytes, verify_interval)", vo, HeaderBytes, j.VerifyBlock())
	}
	if j.VerifyOffset > 0 && j.Verify == "pattern" {
		j.note(fmt.Sprintf("verify_offset=%d: verify=pattern writes no header to move", j.VerifyOffset))
	}
	return errors.Join(errs...)
}

// HasPct reports whether the job gives size, offset or offset_increment
// as a percentage of its target (ResolvePct).
func (j *Job) HasPct() bool { return j.SizePct > 0 || j.OffsetPct > 0 || j.OffsetIncrementPct > 0 }

// ResolvePct turns size=N%, offset=N% and offset_increment=N% into bytes
// of a target of targetBytes, as fio aligns them: the size rounded down to
// the smallest block size, the offsets rounded up to offset_align (the
// smallest block size when 0).
func (j *Job) ResolvePct(targetBytes uint64) {
	unit := max(j.MinBS(), 1)
	if j.SizePct > 0 {
		j.Size = uint64(float64(targetBytes)*j.SizePct/100) / unit * unit
	}
	align := unit
	if j.OffsetAlign > 0 {
		align = j.OffsetAlign
	}
	up := func(n uint64) uint64 { return (n + align - 1) / align * align }
	if j.OffsetPct > 0 {
		j.Offset = up(uint64(float64(targetBytes) * j.OffsetPct / 100))
	}
	if j.OffsetIncrementPct > 0 {
		j.OffsetIncrement = up(uint64(float64(targetBytes) * j.OffsetIncrementPct / 100))
	}
}

// VerifyBlock is the job's verify block size: verify_interval, or the
// default VerifyInterval gives.
func (j *Job) VerifyBlock() int {
	if j.VerifyInterval > 0 {
		return int(j.VerifyInterval)
	}
	return VerifyInterval(j.MinBS())
}

// MaxBS returns the largest block size the job uses.
func (j *Job) MaxBS() uint64 {
	m := max(j.BS[0], j.BS[1], j.BSRange[0][1], j.BSRange[1][1], j.TrimBS)
	for d := range 2 {
		for _, s := range j.BSSplit[d] {
			m = max(m, s.Size)
		}
	}
	return m
}

// DirSizes returns the block sizes direction d's reads or writes take
// (bssplit's, or bs), or nil where they are drawn from a range. With
// bs_is_seq_rand either direction may take the sizes of both.
func (j *Job) DirSizes(d int) []uint64 {
	if j.BSIsSeqRand {
		r, w := j.dirSizes(0), j.dirSizes(1)
		if r == nil || w == nil {
			return nil
		}
		return append(r, w...)
	}
	return j.dirSizes(d)
}

func (j *Job) dirSizes(d int) []uint64 {
	if len(j.BSSplit[d]) > 0 {
		var out []uint64
		for _, s := range j.BSSplit[d] {
			if s.Pct > 0 {
				out = append(out, s.Size)
			}
		}
		return out
	}
	if j.BSRange[d][1] > 0 {
		return nil
	}
	return []uint64{j.BS[d]}
}

// PassMayEndShort reports whether a pass of job j's random offsets may
// end before it has covered its region: through fio's random map or
// LFSR, which count in the job's smallest block size, with a direction
// whose smallest block is larger, fio finds the file done where such an
// I/O does not fit (randwrite bs=4k,8k lfsr size=256k: 3 writes).
func (j *Job) PassMayEndShort() bool {
	return j.RW.Random() && (j.RandomGenerator == "lfsr" || !j.NoRandomMap) && minBSDir(j, DirRead) != minBSDir(j, DirWrite)
}

// MinBS returns the smallest block size the job uses.
func (j *Job) MinBS() uint64 {
	m := min(j.BS[0], j.BS[1])
	if j.TrimBS > 0 {
		m = min(m, j.TrimBS)
	}
	for d := range 2 {
		for _, s := range j.BSSplit[d] {
			m = min(m, s.Size)
		}
	}
	return m
}

// String prints the job's settings, one key=value per option set.
func (j *Job) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "[%s]", j.Name)
	for _, o := range Options() {
		if j.set[o.Name] {
			fmt.Fprintf(&b, " %s=%s", o.Name, o.get(j))
		}
	}
	return b.String()
}

// Values returns the options set, in table order, for reports and
// command lines. Sizes are written in units of 1024 (4k, 1m); in a job
// with kb_base=1000, where fio and iobench read 4k as 4000, they are
// written 4kib, 1mib, which read back as 4096 and 1048576 there.
func (j *Job) Values() [][2]string {
	var out [][2]string
	for _, o := range Options() {
		if j.set[o.Name] {
			v := o.get(j)
			if j.KBBase == 1000 && (o.kind == kindSize || o.Name == "rw") {
				v = binaryUnit.ReplaceAllString(v, "${1}ib")
			}
			out = append(out, [2]string{o.Name, v})
		}
	}
	return out
}

// Inherited makes every option j has inherited: OwnValues lists only
// the options set after it. A job section starts from [global] (and the
// command line) so, and a --name job from the options before it.
func (j *Job) Inherited() { j.own, j.ownOrder = nil, nil }

// SetDerived sets an option as Set does, but as one the job did not give
// (a value the runner works out for it): OwnValues leaves it out.
func (j *Job) SetDerived(key, value string) error {
	own, was := j.own[Canonical(key)]
	err := j.Set(key, value)
	if was {
		j.own[Canonical(key)] = own
	} else if _, ok := j.own[Canonical(key)]; ok {
		delete(j.own, Canonical(key))
		j.ownOrder = slices.DeleteFunc(j.ownOrder, func(n string) bool { return n == Canonical(key) })
	}
	return err
}

// ownBare stands in own for an option given alone.
const ownBare = "\x00bare"

// markOwn records option name as given to j itself (OwnValues).
func (j *Job) markOwn(name, value string, bare bool) {
	if j.own == nil {
		j.own = map[string]string{}
	}
	if bare {
		value = ownBare
	}
	if _, ok := j.own[name]; !ok {
		j.ownOrder = append(j.ownOrder, name)
	}
	j.own[name] = value
}

// fioOptionPrio is fio 3.33's parse priority of the options that have
// one (others: 0): fio sorts a job file section's options by it, highest
// first, keeping their order otherwise, and lists its "job options" and
// "global options" so.
var fioOptionPrio = map[string]int{"kb_base": 1, "unit_base": 1, "lockfile": 1, "filename": -1, "filename_format": -1}

// sortOwnAsFio puts the options j was given in a job file section in
// the order fio 3.33 parses them (fioOptionPrio), as it lists them.
func (j *Job) sortOwnAsFio() {
	slices.SortStableFunc(j.ownOrder, func(a, b string) int { return fioOptionPrio[b] - fioOptionPrio[a] })
}

// OwnValues returns the options j was given itself since it was made
// (Inherited), in the order first given (a job file section's in fio's
// order of parsing them, sortOwnAsFio; an option given twice at its
// first place, where fio lists it twice), each with its value as it was
// given (bs=8k, not Values' 8k,8k), each under fio's name of it
// (fioOptionName): fio 3.33's "job options" of a job, or the
// "global options" of [global]. As fio, it leaves out the options given
// alone (a bare time_based or group_reporting), which fio records with no
// value and does not print; a job given only such options has an empty
// list, not a nil one, as fio prints an empty object for it (and none for
// a job given no option).
func (j *Job) OwnValues() [][2]string {
	var out [][2]string
	for _, name := range j.ownOrder {
		// An object, perhaps empty, once a fio option was given: fio
		// lists none it takes alone (--thread), and has none of
		// iobench's own (--force given alone makes no object).
		if o, ok := optionIndex[name]; !ok || !o.Engine {
			out = [][2]string{}
			break
		}
	}
	// fio's options iobench accepts without effect (thread=1,
	// nowait=0) among them, as fio lists them too.
	for _, name := range j.ownOrder {
		if v := j.own[name]; v != ownBare {
			if _, ok := optionIndex[name]; ok && v == bareLogName {
				v = "" // write_bw_log= (fio's default name)
			}
			if n, ok := fioOptionName[name]; ok {
				name = n
			}
			out = append(out, [2]string{name, v})
		}
	}
	return out
}

// fioOptionName is fio 3.33's name of the options whose name there is
// another than iobench's (iobench takes fio's as an alias): fio lists
// an option given by any of its names under its own name.
var fioOptionName = map[string]string{"blockalign": "ba", "iodepth_batch_submit": "iodepth_batch",
	"ss": "steadystate", "ss_dur": "steadystate_duration", "ss_ramp": "steadystate_ramp_time"}

// binaryUnit matches a size sizeString wrote with a unit of 1024.
var binaryUnit = regexp.MustCompile(`(\d[kmgt])\b`)

// iecUnit matches a size written with a unit ending in "ib" (4KiB, 1mib),
// which fio 3.33 reads in powers of 1000 under kb_base=1024, its default.
var iecUnit = regexp.MustCompile(`(?i)\d\s*[kmgtp]ib`)

// decimalUnitHint explains a size the job gave in one of names with a
// unit such as KiB under kb_base=1024, where it is read in powers of
// 1000, as fio 3.33 reads it: without it a refusal of bs=4000 for
// blocksize=4KiB (fio's librpma_apm-client.fio) names a number the job
// file does not have.
func (j *Job) decimalUnitHint(names ...string) string {
	if j.KBBase != 1024 {
		return ""
	}
	for _, name := range names {
		if v := j.raw[name]; iecUnit.MatchString(v) {
			return fmt.Sprintf(" (%s=%s: with kb_base=1024, fio's default, fio reads KiB, MiB, GiB in powers of 1000, 4KiB as 4000 bytes; write 4k for 4096)", name, v)
		}
	}
	return ""
}

func parseBool(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "", "1", "true", "yes", "on":
		return true, nil
	case "0", "false", "no", "off":
		return false, nil
	}
	if n, err := parseIntBase(v, 0, 1, 1024); err == nil {
		return n == 1, nil // 0x1, as fio reads a boolean
	}
	return false, fmt.Errorf("not a boolean (1 or 0)")
}

// fioFlags are the options fio 3.33 types "empty or boolean value"
// (fio --cmdhelp=NAME): set when given bare or any integer but 0, where
// its other booleans take 0 or 1 only (group_reporting=2 is set there,
// direct=2 refused).
var fioFlags = map[string]bool{
	"bs_unaligned": true, "norandommap": true, "time_based": true, "verify_only": true,
	"exitall": true, "exitall_on_error": true, "stonewall": true, "new_group": true,
	"thread": true, "group_reporting": true, "zero_buffers": true, "refill_buffers": true,
}

// parseFlag reads one of fioFlags: a boolean, or any integer (0: unset).
func parseFlag(v string) (bool, error) {
	if b, err := parseBool(v); err == nil {
		return b, nil
	}
	n, err := parseIntBase(v, math.MinInt, math.MaxInt, 1024)
	if err != nil {
		return false, fmt.Errorf("not a boolean or an integer (1 or 0, or any integer: 0 unsets)")
	}
	return n != 0, nil
}

// parseInt reads an integer option as fio does (kb_base=1024).
func parseInt(v string, lo, hi int) (int, error) { return parseIntBase(v, lo, hi, 1024) }

// parseIntBase reads an integer option as fio reads one: decimal or 0x
// hexadecimal, with an optional unit suffix in kb_base's units
// (iodepth=0x20 is 32, rate_iops=1k is 1024), a sign allowed. A fraction
// or trailing text, which fio drops without a word (iodepth=1.5 is 1
// there), is refused.
func parseIntBase(v string, lo, hi int, kbBase uint64) (int, error) {
	s := trimComma(v)
	neg := false
	if rest, ok := strings.CutPrefix(s, "-"); ok {
		neg, s = true, rest
	} else {
		s = strings.TrimPrefix(s, "+")
	}
	if s == "" || s[0] < '0' || s[0] > '9' || strings.Contains(s, ".") {
		return 0, fmt.Errorf("not an integer")
	}
	u, err := parseSizeBase(s, kbBase)
	if err != nil {
		if serr := separatorErr(s); serr != nil {
			return 0, serr
		}
		return 0, fmt.Errorf("not an integer")
	}
	n := int(min(u, 1<<40)) // past any bound: refused below
	if neg {
		n = -n
	}
	if n < lo || n > hi {
		return 0, fmt.Errorf("want %d..%d", lo, hi)
	}
	return n, nil
}

// validateTrims refuses what a trimming job cannot do, each with one line.
func (j *Job) validateTrims(bad func(string, ...any)) {
	switch j.Mapper {
	case "cow", "cowlog":
		bad("rw=%s with mapper=%s: trims are refused by out-of-place mappers (a discard would destroy data the mapper keeps elsewhere behind its back)", j.RW, j.Mapper)
	case "ext4", "fiemap":
		bad("rw=%s with mapper=%s: trims are refused (the filesystem's metadata says the blocks hold data)", j.RW, j.Mapper)
	}
	if j.Verify != "" || j.VerifyOnly {
		bad("rw=%s with verify: checking trimmed blocks (fio's trim_verify_zero) is not implemented", j.RW)
	}
	if j.Rate != [2]uint64{} || j.RateIOPS != [2]int{} || j.RateMin != [2]uint64{} || j.RateIOPSMin != [2]int{} || j.trimRate != [4]bool{} {
		bad("rw=%s with rate, rate_iops, rate_min or rate_iops_min: rates for trims (fio's third value) are not implemented", j.RW)
	}
}

// validateSPRandom checks a sprandom job: what newer fio refuses (a
// pattern other than random writes, random_generator other than lfsr,
// norandommap=0 given, a block size not a power of two) and what iobench
// does not implement with it.
func (j *Job) validateSPRandom(bad func(string, ...any)) {
	switch j.RW {
	case RandWrite:
	case RandRW, RandTrimWrite:
		bad("sprandom with rw=%s: not implemented: sprandom places rw=randwrite's writes only (fio's reads and trims of rw=%s would draw from the same walk of blocks)", j.RW, j.RW)
	default:
		bad("sprandom with rw=%s: sprandom needs random writes (rw=randwrite), as in fio", j.RW)
	}
	if j.set["random_generator"] && j.RandomGenerator != "lfsr" {
		bad("sprandom with random_generator=%s: sprandom needs random_generator=lfsr, as in fio (which sets it when it is not given)", j.RandomGenerator)
	}
	if j.set["norandommap"] && !j.NoRandomMap {
		bad("sprandom with norandommap=0: sprandom needs norandommap=1, as in fio (which sets it when it is not given)")
	}
	if bs := j.BS[1]; bs == 0 || bs&(bs-1) != 0 {
		bad("sprandom with bs=%d: the write block size must be a power of two, as in fio", bs)
	}
	if j.BSRange[1][1] > 0 || len(j.BSSplit[1]) > 0 {
		bad("sprandom with bsrange or bssplit: not implemented: sprandom writes one block size")
	}
	if j.BlockAlign != 0 && j.BlockAlign != j.BS[1] {
		bad("sprandom with blockalign=%d: not implemented: sprandom's blocks are aligned to the write block size %d", j.BlockAlign, j.BS[1])
	}
	if k := j.Dist.Kind; k != "" && k != "random" {
		bad("sprandom with random_distribution=%s: sprandom places every write itself (fio ignores the distribution); give random or leave it out", k)
	}
	if j.PercentageRandom[1] != 100 || j.RWMod != 0 {
		bad("sprandom with percentage_random or rw=randwrite:N: not implemented: sprandom places every write")
	}
	if j.ZoneMode == "strided" {
		bad("sprandom with zonemode=strided: not implemented")
	}
	if j.Loops > 1 || j.TimeBased {
		bad("sprandom with loops or time_based: not implemented: sprandom ends the job when its pass is done, as fio's does")
	}
	if j.NrFiles > 1 || len(j.Filenames()) > 1 {
		bad("sprandom over several files: not implemented: fio's sprandom sizes the job's I/O from each file in turn (its example asks for a single file)")
	}
	if j.Verify != "" && j.DoVerify {
		bad("sprandom with verify: not implemented")
	}
	if op := j.SPROp; op < 0 || op >= sprMaxOP {
		bad("spr_op=%g: want 0 to below 5/3 (fio's model needs its write amplification, 0.5/spr_op + 0.7, above 1, and fio aborts otherwise)", op)
	}
	if j.SPRCache > 0 {
		bad("spr_cs=%d: not implemented: sprandom with a device cache size (fio defers the writes again of each region by the cache size; only spr_cs=0, fio's default, is implemented)", j.SPRCache)
	}
	if !j.set["random_generator"] {
		j.RandomGenerator = "lfsr"
	}
	j.NoRandomMap = true
	if j.IOSize > 0 {
		j.note(fmt.Sprintf("io_size=%d with sprandom: the job writes the region plus spr_op of it instead, as fio's does", j.IOSize))
	}
}

// AtomicWriteSizes lists the sizes of the job's writes (with
// bs_is_seq_rand, the reads' sizes too, which its writes may take), each
// once, smallest first. A size range gives its multiples of the lower
// bound up to three times it: the first that is no power of two.
func (j *Job) AtomicWriteSizes() []uint64 {
	dirs := []int{DirWrite}
	if j.BSIsSeqRand {
		dirs = []int{DirRead, DirWrite}
	}
	var out []uint64
	for _, d := range dirs {
		switch r := j.BSRange[d]; {
		case len(j.BSSplit[d]) > 0:
			for _, s := range j.BSSplit[d] {
				if s.Pct > 0 {
					out = append(out, s.Size)
				}
			}
		case r[1] > 0:
			for s := r[0]; s > 0 && s <= r[1] && s <= 3*r[0]; s += r[0] {
				out = append(out, s)
			}
		default:
			out = append(out, j.BS[d])
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// validateAtomic checks what atomic=1 asks of a writing job itself: the
// kernel takes an atomic write only through O_DIRECT, of a power-of-two
// length, at an offset that is a multiple of that length (RWF_ATOMIC,
// pwritev2(2)); and only the linear mapper keeps the device address at the
// file offset, where that alignment is decided.
func (j *Job) validateAtomic(bad func(string, ...any)) {
	if !j.Direct {
		bad("atomic=1 with direct=0: the kernel takes atomic writes (RWF_ATOMIC) only with direct I/O, which fio's atomic implies; set direct=1")
	}
	if j.Mapper != "linear" {
		bad("atomic=1 with mapper=%s: an atomic write must be one device write at an address that is a multiple of its length, which only the linear mapper keeps (the address is the file offset)", j.Mapper)
	}
	if j.ReadIOLog != "" {
		bad("atomic=1 with read_iolog: the replayed offsets and sizes are not known before the job runs, so they cannot be checked against the atomic write units")
	}
	sizes := j.AtomicWriteSizes()
	for _, s := range sizes {
		if s&(s-1) != 0 {
			bad("atomic=1: a write size of %s is not a power of two (an atomic write's length must be one); give write sizes such as 4k, 8k, 16k", FormatSize(s))
			return // the alignment checks below assume powers of two
		}
	}
	big := sizes[len(sizes)-1]
	unit := j.MinBS()
	if j.BlockAlign > 0 {
		unit = j.BlockAlign
	}
	seq := !j.RW.Random() || j.PercentageRandom[DirWrite] < 100 || j.RWMod > 1 && !j.RWIdentical
	switch {
	case j.Offset%big != 0 || j.OffsetIncrement%big != 0:
		bad("atomic=1: offset=%d (offset_increment=%d) is not a multiple of the largest write size %s: an atomic write's offset must be a multiple of its length", j.Offset, j.OffsetIncrement, FormatSize(big))
	case j.RW.Random() && unit%big != 0:
		bad("atomic=1: random offsets are aligned to %s (blockalign, or the smallest block size), not to the largest write size %s: an atomic write's offset must be a multiple of its length; set blockalign=%s", FormatSize(unit), FormatSize(big), FormatSize(big))
	case seq && len(sizes) > 1:
		bad("atomic=1: sequential writes of several sizes (%s to %s) start where the last ended, not at multiples of their own length: give one write size", FormatSize(sizes[0]), FormatSize(big))
	case !j.RW.Random() && j.RWMod%big != 0:
		bad("atomic=1: rw=%s: the skip of %d bytes is not a multiple of the write size %s: an atomic write's offset must be a multiple of its length", j.RW, j.RWMod, FormatSize(big))
	case j.ZoneMode == "strided" && (j.ZoneSize%big != 0 || j.ZoneRange%big != 0 || j.ZoneSkip%big != 0):
		bad("atomic=1: zonesize, zonerange and zoneskip must be multiples of the largest write size %s: an atomic write's offset must be a multiple of its length", FormatSize(big))
	}
}

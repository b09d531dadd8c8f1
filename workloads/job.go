package workloads

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// RW is a job's I/O pattern (fio's rw= option).
type RW string

// The patterns fio calls read, write, randread, randwrite, rw (readwrite)
// and randrw.
const (
	Read      RW = "read"
	Write     RW = "write"
	RandRead  RW = "randread"
	RandWrite RW = "randwrite"
	ReadWrite RW = "rw"
	RandRW    RW = "randrw"
)

// Random reports whether the pattern picks random offsets.
func (rw RW) Random() bool { return rw == RandRead || rw == RandWrite || rw == RandRW }

// Reads reports whether the pattern reads; Writes whether it writes.
func (rw RW) Reads() bool  { return rw != Write && rw != RandWrite }
func (rw RW) Writes() bool { return rw != Read && rw != RandRead }

// Dist is a random distribution (fio's random_distribution=).
type Dist struct {
	Kind  string  // "random", "zipf", "pareto", "normal", "zoned"
	Param float64 // zipf θ, pareto h, normal σ (percent of the range)
	Zones []Zone  // zoned: access share and size share, in percent
}

// Zone is one part of a zoned distribution: AccessPct of the I/O goes to
// the next SizePct of the range.
type Zone struct{ AccessPct, SizePct float64 }

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
	Name     string
	Filename string
	RW       RW
	// RWMixRead is the read share (percent) of rw and randrw.
	RWMixRead float64
	BS        [2]uint64    // block size for reads and writes
	BSSplit   [2][]BSSplit // per direction; empty: use BS
	IODepth   int
	NumJobs   int
	Size      uint64 // bytes of the target each job covers; 0: all of it
	// SizePct, when above 0, is size given as a share of the target
	// (size=50%); the runner sets Size from it once the target is known.
	SizePct     float64
	Offset      uint64
	Runtime     time.Duration
	TimeBased   bool
	RampTime    time.Duration
	Direct      bool
	Dist        Dist
	NoRandomMap bool
	RandRepeat  bool
	RandSeed    uint64
	Verify      string // "", "crc32c", "sha256"
	VerifyOnly  bool
	Stonewall   bool
	WaitFor     string
	Fsync       int  // sync after every Fsync writes (0: never)
	Fdatasync   int  // the same: iobench's Sync is fdatasync and fsync at once
	EndFsync    bool // sync when the job's writes are done
	IOEngine    string

	// Engine options (iobench only).
	Mapper        string        // linear, scattered, cow, fiemap, ext4
	Ext4File      string        // ext4: path of the file inside the filesystem
	Ext4Overwrite bool          // ext4: writes go in place over written blocks
	Extents       int           // scattered: extents in the file
	MapLatency    time.Duration // scattered: cost of each mapper call
	Cache         bool          // the extent cache (on by default)
	Warm          bool          // fill the cache before the run
	FixedBufs     bool
	RegisterFiles bool
	SQPoll        bool
	HiPri         bool
	Force         bool

	set map[string]bool // options given explicitly
}

// NewJob returns a job with iobench's defaults (fio's where fio has one).
func NewJob(name string) Job {
	return Job{
		Name: name, RW: Read, RWMixRead: 50, BS: [2]uint64{4096, 4096},
		IODepth: 1, NumJobs: 1, Direct: true, Dist: Dist{Kind: "random"},
		RandRepeat: true, RandSeed: 0x89, Mapper: "linear", Extents: 1024, Cache: true,
	}
}

// IsSet reports whether option key was given explicitly.
func (j *Job) IsSet(key string) bool { return j.set[key] }

// Clone returns a copy that shares nothing with j.
func (j Job) Clone() Job {
	c := j
	c.set = make(map[string]bool, len(j.set))
	for k, v := range j.set {
		c.set[k] = v
	}
	c.BSSplit = [2][]BSSplit{slices.Clone(j.BSSplit[0]), slices.Clone(j.BSSplit[1])}
	c.Dist.Zones = slices.Clone(j.Dist.Zones)
	return c
}

// Set sets option key to value as a job file or the command line gives it.
// Boolean options accept an empty value (a bare key, as fio allows) or
// 1/0/true/false/yes/no/on/off.
func (j *Job) Set(key, value string) error {
	key = strings.ToLower(strings.TrimSpace(key))
	value = strings.TrimSpace(value)
	if alias, ok := aliases[key]; ok {
		key = alias
	}
	o, ok := optionIndex[key]
	if !ok {
		if n, ok := noticeOptions[key]; ok {
			return &Notice{Option: key, Msg: n}
		}
		return fmt.Errorf("%w: %q", ErrUnknownOption, key)
	}
	if value == "" && o.kind != kindBool && o.kind != kindFlag {
		return fmt.Errorf("%w: %s needs a value", ErrBadValue, key)
	}
	mixRead := j.RWMixRead
	if err := o.set(j, value); err != nil {
		return fmt.Errorf("%w: %s=%s: %w", ErrBadValue, key, value, err)
	}
	if j.set == nil {
		j.set = map[string]bool{}
	}
	j.set[o.Name] = true
	if other := mixPartner[o.Name]; other != "" && j.set[other] && j.RWMixRead != mixRead {
		return &Notice{Option: o.Name, Msg: fmt.Sprintf("overrides %s (they add up to 100): reads %g%%, writes %g%%", other, j.RWMixRead, 100-j.RWMixRead)}
	}
	return nil
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

// NullIO reports ioengine=null: the engine runs with NOPs in place of
// device I/O.
func (j *Job) NullIO() bool { return j.IOEngine == "null" }

// Validate checks the options against each other.
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
	if j.IODepth < 1 || j.IODepth > 4096 {
		bad("iodepth=%d: want 1..4096", j.IODepth)
	}
	if j.NullIO() && (j.Verify != "" || j.VerifyOnly) {
		bad("ioengine=null does no device I/O: there is nothing to verify")
	}
	if j.NumJobs < 1 || j.NumJobs > 256 {
		bad("numjobs=%d: want 1..256", j.NumJobs)
	}
	for d := range 2 {
		if j.BS[d] == 0 || j.BS[d]%512 != 0 {
			bad("bs=%d: want a multiple of 512 (direct I/O)", j.BS[d])
		}
		if len(j.BSSplit[d]) > 0 {
			sum := 0.0
			for _, s := range j.BSSplit[d] {
				if s.Size == 0 || s.Size%512 != 0 {
					bad("bssplit: block size %d is not a multiple of 512", s.Size)
				}
				sum += s.Pct
			}
			if sum < 99.99 || sum > 100.01 {
				bad("bssplit: percentages add up to %g, not 100", sum)
			}
		}
	}
	if j.RWMixRead < 0 || j.RWMixRead > 100 {
		bad("rwmixread=%g: want 0..100", j.RWMixRead)
	}
	if j.Offset%512 != 0 {
		bad("offset=%d: want a multiple of 512", j.Offset)
	}
	if j.Size%512 != 0 {
		bad("size=%d: want a multiple of 512", j.Size)
	}
	if j.TimeBased && j.Runtime == 0 {
		bad("time_based needs runtime")
	}
	if !j.Direct {
		bad("direct=0: iobench always does direct I/O (set direct=1)")
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
	if j.Extents < 1 {
		bad("extents=%d: want at least 1", j.Extents)
	}
	if j.VerifyOnly && j.Verify == "" {
		bad("verify_only needs verify")
	}
	return errors.Join(errs...)
}

// MaxBS returns the largest block size the job uses.
func (j *Job) MaxBS() uint64 {
	m := max(j.BS[0], j.BS[1])
	for d := range 2 {
		for _, s := range j.BSSplit[d] {
			m = max(m, s.Size)
		}
	}
	return m
}

// MinBS returns the smallest block size the job uses.
func (j *Job) MinBS() uint64 {
	m := min(j.BS[0], j.BS[1])
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

// Values returns the options set, in table order, for reports.
func (j *Job) Values() [][2]string {
	var out [][2]string
	for _, o := range Options() {
		if j.set[o.Name] {
			out = append(out, [2]string{o.Name, o.get(j)})
		}
	}
	return out
}

func parseBool(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "", "1", "true", "yes", "on":
		return true, nil
	case "0", "false", "no", "off":
		return false, nil
	}
	return false, fmt.Errorf("not a boolean (1/0, true/false, on/off)")
}

func parseInt(v string, lo, hi int) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("not an integer")
	}
	if n < lo || n > hi {
		return 0, fmt.Errorf("want %d..%d", lo, hi)
	}
	return n, nil
}

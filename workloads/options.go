package workloads

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ErrUnknownOption is returned for an option iobench does not implement.
var ErrUnknownOption = errors.New("unknown option")

// ErrBadValue is returned for an option value that does not parse or is
// out of range.
var ErrBadValue = errors.New("bad value")

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
	Engine  bool // an iobench engine option (fio ignores it)
	kind    optKind
	set     func(j *Job, v string) error
	get     func(j *Job) string
}

var options = []Option{
	{Name: "name", Arg: "str", Help: "job name", kind: kindString,
		set: func(j *Job, v string) error { j.Name = v; return nil }, get: func(j *Job) string { return j.Name }},
	{Name: "filename", Arg: "path", Help: "target block device or file (default: an automatically created loop device)", kind: kindString,
		set: func(j *Job, v string) error { j.Filename = v; return nil }, get: func(j *Job) string { return j.Filename }},
	{Name: "rw", Arg: "pattern", Default: "read", Help: "read, write, randread, randwrite, rw (readwrite), randrw", kind: kindString,
		set: setRW, get: func(j *Job) string { return string(j.RW) }},
	{Name: "rwmixread", Arg: "pct", Default: "50", Help: "read share of rw and randrw, percent", kind: kindFloat,
		set: func(j *Job, v string) error {
			p, err := parsePct(v)
			j.RWMixRead = p
			return err
		}, get: func(j *Job) string { return strconv.FormatFloat(j.RWMixRead, 'g', -1, 64) }},
	{Name: "rwmixwrite", Arg: "pct", Default: "50", Help: "write share of rw and randrw, percent", kind: kindFloat,
		set: func(j *Job, v string) error {
			p, err := parsePct(v)
			j.RWMixRead = 100 - p
			return err
		}, get: func(j *Job) string { return strconv.FormatFloat(100-j.RWMixRead, 'g', -1, 64) }},
	{Name: "bs", Arg: "size[,size]", Default: "4k", Help: "block size (reads,writes)", kind: kindSize,
		set: setBS, get: func(j *Job) string { return sizeString(j.BS[0]) + "," + sizeString(j.BS[1]) }},
	{Name: "bssplit", Arg: "size/pct:...[,size/pct:...]", Help: "mix of block sizes, e.g. 4k/50:64k/40:1m/10 (reads,writes)", kind: kindString,
		set: setBSSplit, get: func(j *Job) string { return bssplitString(j.BSSplit) }},
	{Name: "iodepth", Arg: "n", Default: "1", Help: "I/Os in flight per job", kind: kindInt,
		set: func(j *Job, v string) (err error) { j.IODepth, err = parseInt(v, 1, 4096); return },
		get: func(j *Job) string { return strconv.Itoa(j.IODepth) }},
	{Name: "numjobs", Arg: "n", Default: "1", Help: "clones of the job, each with its own queue", kind: kindInt,
		set: func(j *Job, v string) (err error) { j.NumJobs, err = parseInt(v, 1, 256); return },
		get: func(j *Job) string { return strconv.Itoa(j.NumJobs) }},
	{Name: "size", Arg: "size|pct%", Help: "bytes of the target each job covers (default: all of it)", kind: kindSize,
		set: func(j *Job, v string) (err error) {
			j.Size, j.SizePct = 0, 0
			if strings.HasSuffix(v, "%") {
				j.SizePct, err = parsePct(v)
				if err == nil && j.SizePct == 0 {
					err = fmt.Errorf("%q: want a share above 0%%", v)
				}
				return err
			}
			j.Size, err = ParseSize(v)
			return err
		},
		get: func(j *Job) string {
			if j.SizePct > 0 {
				return strconv.FormatFloat(j.SizePct, 'g', -1, 64) + "%"
			}
			return sizeString(j.Size)
		}},
	{Name: "offset", Arg: "size", Default: "0", Help: "start of the region in the target", kind: kindSize,
		set: func(j *Job, v string) (err error) { j.Offset, err = ParseSize(v); return },
		get: func(j *Job) string { return sizeString(j.Offset) }},
	{Name: "runtime", Arg: "time", Help: "stop after this long (seconds unless a unit is given)", kind: kindTime,
		set: func(j *Job, v string) (err error) { j.Runtime, err = ParseTime(v); return },
		get: func(j *Job) string { return j.Runtime.String() }},
	{Name: "time_based", Arg: "bool", Help: "run for runtime even when size is done (repeat)", kind: kindBool,
		set: func(j *Job, v string) (err error) { j.TimeBased, err = parseBool(v); return },
		get: func(j *Job) string { return boolString(j.TimeBased) }},
	{Name: "ramp_time", Arg: "time", Help: "run this long before measuring", kind: kindTime,
		set: func(j *Job, v string) (err error) { j.RampTime, err = ParseTime(v); return },
		get: func(j *Job) string { return j.RampTime.String() }},
	{Name: "direct", Arg: "bool", Default: "1", Help: "direct I/O (iobench always does it)", kind: kindBool,
		set: func(j *Job, v string) (err error) { j.Direct, err = parseBool(v); return },
		get: func(j *Job) string { return boolString(j.Direct) }},
	{Name: "random_distribution", Arg: "dist", Default: "random", Help: "random, zipf:θ, pareto:h, normal:σ%, zoned:a/s:...", kind: kindString,
		set: func(j *Job, v string) (err error) { j.Dist, err = ParseDist(v); return },
		get: func(j *Job) string { return j.Dist.String() }},
	{Name: "norandommap", Arg: "bool", Help: "random offsets may repeat before every block was hit once", kind: kindBool,
		set: func(j *Job, v string) (err error) { j.NoRandomMap, err = parseBool(v); return },
		get: func(j *Job) string { return boolString(j.NoRandomMap) }},
	{Name: "randrepeat", Arg: "bool", Default: "1", Help: "the same random sequence every run", kind: kindBool,
		set: func(j *Job, v string) (err error) { j.RandRepeat, err = parseBool(v); return },
		get: func(j *Job) string { return boolString(j.RandRepeat) }},
	{Name: "randseed", Arg: "n", Help: "seed of the random sequence", kind: kindInt,
		set: func(j *Job, v string) (err error) { j.RandSeed, err = strconv.ParseUint(v, 0, 64); return },
		get: func(j *Job) string { return strconv.FormatUint(j.RandSeed, 10) }},
	{Name: "verify", Arg: "hash", Help: "check data: crc32c (crc32c-intel), sha256; 0 to disable", kind: kindString,
		set: setVerify, get: func(j *Job) string { return j.Verify }},
	{Name: "verify_only", Arg: "bool", Help: "only read back and check data an earlier run wrote", kind: kindBool,
		set: func(j *Job, v string) (err error) { j.VerifyOnly, err = parseBool(v); return },
		get: func(j *Job) string { return boolString(j.VerifyOnly) }},
	{Name: "stonewall", Arg: "", Help: "wait for earlier jobs to finish before starting", kind: kindFlag,
		set: func(j *Job, v string) (err error) { j.Stonewall, err = parseBool(v); return },
		get: func(j *Job) string { return boolString(j.Stonewall) }},
	{Name: "wait_for", Arg: "job", Help: "start after the named job finishes", kind: kindString,
		set: func(j *Job, v string) error { j.WaitFor = v; return nil }, get: func(j *Job) string { return j.WaitFor }},
	{Name: "fsync", Arg: "n", Help: "sync (Engine.Sync) after every n writes", kind: kindInt,
		set: func(j *Job, v string) (err error) { j.Fsync, err = parseInt(v, 0, 1<<30); return },
		get: func(j *Job) string { return strconv.Itoa(j.Fsync) }},
	{Name: "fdatasync", Arg: "n", Help: "as fsync (iobench's Sync covers data and mappings alike)", kind: kindInt,
		set: func(j *Job, v string) (err error) { j.Fdatasync, err = parseInt(v, 0, 1<<30); return },
		get: func(j *Job) string { return strconv.Itoa(j.Fdatasync) }},
	{Name: "end_fsync", Arg: "bool", Help: "sync when the job's writes are done", kind: kindBool,
		set: func(j *Job, v string) (err error) { j.EndFsync, err = parseBool(v); return },
		get: func(j *Job) string { return boolString(j.EndFsync) }},
	{Name: "ioengine", Arg: "name", Default: "io_uring", Help: "io_uring (iobench's engine), or null: the engine's whole path (cache, mapper, splitting, the ring) with IORING_OP_NOP in place of device I/O, as fio's null engine does no I/O", kind: kindString,
		set: func(j *Job, v string) error { j.IOEngine = strings.ToLower(v); return nil }, get: func(j *Job) string { return j.IOEngine }},

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
		set: func(j *Job, v string) (err error) { j.MapLatency, err = parseDuration(v, time.Microsecond); return },
		get: func(j *Job) string { return j.MapLatency.String() }},
	{Name: "cache", Arg: "bool", Default: "on", Help: "the extent cache; off calls the mapper for every I/O", Engine: true, kind: kindBool,
		set: func(j *Job, v string) (err error) { j.Cache, err = parseBool(v); return },
		get: func(j *Job) string { return boolString(j.Cache) }},
	{Name: "warm", Arg: "bool", Help: "scattered: fill the extent cache before the run (no mapper cost), to measure a warm cache", Engine: true, kind: kindBool,
		set: func(j *Job, v string) (err error) { j.Warm, err = parseBool(v); return },
		get: func(j *Job) string { return boolString(j.Warm) }},
	{Name: "fixedbufs", Arg: "bool", Help: "registered (fixed) buffers", Engine: true, kind: kindBool,
		set: func(j *Job, v string) (err error) { j.FixedBufs, err = parseBool(v); return },
		get: func(j *Job) string { return boolString(j.FixedBufs) }},
	{Name: "registerfiles", Arg: "bool", Help: "registered files", Engine: true, kind: kindBool,
		set: func(j *Job, v string) (err error) { j.RegisterFiles, err = parseBool(v); return },
		get: func(j *Job) string { return boolString(j.RegisterFiles) }},
	{Name: "sqthread_poll", Arg: "bool", Help: "kernel submission polling (SQPOLL)", Engine: true, kind: kindBool,
		set: func(j *Job, v string) (err error) { j.SQPoll, err = parseBool(v); return },
		get: func(j *Job) string { return boolString(j.SQPoll) }},
	{Name: "hipri", Arg: "bool", Help: "polled completions (IOPOLL; needs device poll queues)", Engine: true, kind: kindBool,
		set: func(j *Job, v string) (err error) { j.HiPri, err = parseBool(v); return },
		get: func(j *Job) string { return boolString(j.HiPri) }},
	{Name: "force", Arg: "bool", Help: "write to a block device even if it looks in use or holds data", Engine: true, kind: kindBool,
		set: func(j *Job, v string) (err error) { j.Force, err = parseBool(v); return },
		get: func(j *Job) string { return boolString(j.Force) }},
}

// aliases map other spellings to the table's names.
var aliases = map[string]string{"readwrite": "rw", "sqpoll": "sqthread_poll", "fixedbuffers": "fixedbufs"}

// noticeOptions are fio options that only tune fio itself; iobench accepts
// them and says it ignores them.
var noticeOptions = map[string]string{
	"iodepth_batch":          "ignored: iobench submits as it reaps",
	"iodepth_batch_submit":   "ignored: iobench submits as it reaps",
	"iodepth_batch_complete": "ignored: iobench submits as it reaps",
	"iodepth_low":            "ignored: iobench submits as it reaps",
	"group_reporting":        "ignored: iobench reports each job",
	"thread":                 "ignored: iobench jobs are goroutines",
	"invalidate":             "ignored: direct I/O bypasses the page cache",
	"buffered":               "ignored: iobench always does direct I/O",
	"norandommap_warn":       "ignored",
	"lat_percentiles":        "ignored: iobench always reports latency percentiles",
	"clat_percentiles":       "ignored: iobench always reports latency percentiles",
	"percentile_list":        "ignored: iobench reports fio's default percentiles",
	"cpus_allowed":           "ignored",
	"gtod_reduce":            "ignored",
	"disable_slat":           "ignored",
	"registerfiles_warn":     "ignored",
	"exitall":                "ignored",
	"allow_mounted_write":    "ignored: use force to write to a device in use",
	"kb_base":                "ignored: iobench sizes are 1024-based, as fio's default",
	"unit_base":              "ignored",
	"description":            "ignored",
	"loops":                  "ignored: use runtime and time_based",
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

// IsNotice reports whether key is accepted with a notice only.
func IsNotice(key string) bool { _, ok := noticeOptions[strings.ToLower(key)]; return ok }

func setRW(j *Job, v string) error {
	switch strings.ToLower(v) {
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
		return fmt.Errorf("trim is not supported")
	default:
		return fmt.Errorf("want read, write, randread, randwrite, rw or randrw")
	}
	return nil
}

func setBS(j *Job, v string) error {
	r, w, two := strings.Cut(v, ",")
	rs, err := ParseSize(r)
	if err != nil {
		return err
	}
	ws := rs
	if two && w != "" {
		if ws, err = ParseSize(w); err != nil {
			return err
		}
	}
	j.BS = [2]uint64{rs, ws}
	return nil
}

func setBSSplit(j *Job, v string) error {
	r, w, two := strings.Cut(v, ",")
	rs, err := parseSplit(r)
	if err != nil {
		return err
	}
	ws := rs
	if two && w != "" {
		if ws, err = parseSplit(w); err != nil {
			return err
		}
	}
	j.BSSplit = [2][]BSSplit{rs, ws}
	return nil
}

// parseSplit parses "4k/50:64k/40:1m/10". An entry without a percentage
// shares what the others leave, as fio does.
func parseSplit(v string) ([]BSSplit, error) {
	var out []BSSplit
	var sum float64
	blank := 0
	for _, part := range strings.Split(v, ":") {
		if part == "" {
			continue
		}
		sz, pct, hasPct := strings.Cut(part, "/")
		s, err := ParseSize(sz)
		if err != nil {
			return nil, err
		}
		e := BSSplit{Size: s, Pct: -1}
		if hasPct {
			p, err := parsePct(pct)
			if err != nil {
				return nil, err
			}
			e.Pct = p
			sum += p
		} else {
			blank++
		}
		out = append(out, e)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("empty split")
	}
	if sum > 100.01 {
		return nil, fmt.Errorf("percentages add up to %g, over 100", sum)
	}
	for i := range out {
		if out[i].Pct < 0 {
			out[i].Pct = (100 - sum) / float64(blank)
		}
	}
	return out, nil
}

func bssplitString(s [2][]BSSplit) string {
	f := func(es []BSSplit) string {
		var parts []string
		for _, e := range es {
			parts = append(parts, fmt.Sprintf("%s/%g", sizeString(e.Size), e.Pct))
		}
		return strings.Join(parts, ":")
	}
	return f(s[0]) + "," + f(s[1])
}

func setVerify(j *Job, v string) error {
	switch strings.ToLower(v) {
	case "0", "", "none", "off":
		j.Verify = ""
	case "crc32c", "crc32c-intel", "crc32":
		j.Verify = "crc32c"
	case "sha256":
		j.Verify = "sha256"
	default:
		return fmt.Errorf("want crc32c or sha256")
	}
	return nil
}

func parsePct(v string) (float64, error) {
	p, err := strconv.ParseFloat(strings.TrimSuffix(v, "%"), 64)
	if err != nil || p < 0 || p > 100 || math.IsNaN(p) {
		return 0, fmt.Errorf("%q is not a percentage (0..100)", v)
	}
	return p, nil
}

// ParseSize parses a size the way fio does by default (kb_base=1024):
// "4096", "4k" and "4KiB" are 4096; k, m, g, t, p suffixes are powers of
// 1024, with or without a trailing "b"/"ib". "1.5g" is allowed.
func ParseSize(v string) (uint64, error) {
	s := strings.ToLower(strings.TrimSpace(v))
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
	num, unit := s[:i], strings.TrimSuffix(strings.TrimSuffix(s[i:], "b"), "i")
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a size (e.g. 4k, 1m, 2g)", v)
	}
	mult := 1.0
	switch unit {
	case "":
	case "k":
		mult = 1 << 10
	case "m":
		mult = 1 << 20
	case "g":
		mult = 1 << 30
	case "t":
		mult = 1 << 40
	case "p":
		mult = 1 << 50
	default:
		return 0, fmt.Errorf("%q: unknown size unit %q (k, m, g, t, p)", v, s[i:])
	}
	r := f * mult
	if r >= math.MaxUint64 || r < 0 {
		return 0, fmt.Errorf("%q is too large", v)
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

func parseDuration(v string, bare time.Duration) (time.Duration, error) {
	s := strings.ToLower(strings.TrimSpace(v))
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
		return 0, fmt.Errorf("%q: unknown time unit %q", v, s[i:])
	}
	d := f * float64(unit)
	if d > math.MaxInt64 {
		return 0, fmt.Errorf("%q is too long", v)
	}
	return time.Duration(d), nil
}

// ParseDist parses random_distribution: random, zipf:θ, pareto:h,
// normal:σ (a percentage of the range), zoned:a/s:a/s:... (access percent
// to size percent, from the start of the range; both sum to 100).
func ParseDist(v string) (Dist, error) {
	kind, arg, hasArg := strings.Cut(strings.ToLower(strings.TrimSpace(v)), ":")
	d := Dist{Kind: kind}
	num := func(lo, hi float64, def float64) error {
		if !hasArg {
			d.Param = def
			return nil
		}
		p, err := strconv.ParseFloat(arg, 64)
		if err != nil || !(p > lo) || !(p < hi) {
			return fmt.Errorf("%s parameter %q: want a number in (%g, %g)", kind, arg, lo, hi)
		}
		d.Param = p
		return nil
	}
	switch kind {
	case "random":
		return d, nil
	case "zipf":
		err := num(0, 100, 1.1)
		if err == nil && d.Param == 1 {
			err = fmt.Errorf("zipf parameter 1 is not allowed (use 0.99 or 1.01)")
		}
		return d, err
	case "pareto":
		return d, num(0, 1, 0.2)
	case "normal", "gauss":
		d.Kind = "normal"
		return d, num(0, 100.0001, 10)
	case "zoned":
		if !hasArg {
			return d, fmt.Errorf("zoned needs zones, e.g. zoned:60/10:30/20:10/70")
		}
		var sa, ss float64
		for _, z := range strings.Split(arg, ":") {
			a, s, ok := strings.Cut(z, "/")
			if !ok {
				return d, fmt.Errorf("zone %q: want access%%/size%%", z)
			}
			ap, err1 := parsePct(a)
			sp, err2 := parsePct(s)
			if err1 != nil || err2 != nil || sp == 0 {
				return d, fmt.Errorf("zone %q: want access%%/size%% with a non-zero size", z)
			}
			d.Zones = append(d.Zones, Zone{ap, sp})
			sa += ap
			ss += sp
		}
		if math.Abs(sa-100) > 0.01 || math.Abs(ss-100) > 0.01 {
			return d, fmt.Errorf("zones add up to %g%% of accesses and %g%% of the size; both must be 100", sa, ss)
		}
		return d, nil
	}
	return d, fmt.Errorf("%q: want random, zipf:θ, pareto:h, normal:σ or zoned:a/s", v)
}

func boolString(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// FormatSize prints a size the way job files write it (4k, 128k, 1m).
func FormatSize(n uint64) string { return sizeString(n) }

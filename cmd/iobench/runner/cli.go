// Package runner is iobench: it parses fio-style options and job files,
// makes or opens the target, runs jobs through the engine, prints reports,
// compares with fio, and runs the benchmark suite behind `make bench`.
// cmd/iobench is a thin main over Main.
package runner

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/iobench/iobench/workloads"
	"golang.org/x/sys/unix"
)

// settings are the runner's own options (not job options).
type settings struct {
	output        string
	formats       []string // normal, json, json+, terse (in the order given)
	targetSize    uint64
	targetSizeSet bool // --target-size was given
	// sayAutoTarget: the jobs are the user's (not the default suite), and
	// those that name no file are told where they run instead.
	sayAutoTarget  bool
	results        string
	rounds         int
	quick          bool
	only           []string // bench: the experiments to run (all when empty)
	cpuprofile     string
	help           bool
	version        bool
	sections       []string
	parseOnly      bool
	showCmd        bool
	cmdHelp        string // "" none; "all" every option
	etaNewline     time.Duration
	statusInterval time.Duration
	notices        []string // options accepted with a word to the user
	eta            string   // --eta: auto, always or never
	warningsFatal  bool     // --warnings-fatal: a notice fails the run
	maxJobs        int      // --max-jobs: the most job threads (0: no limit)
	readonly       bool     // --readonly: refuse jobs that write or trim
	given          []string // the runner options given, in order (for flagScope)
}

// hasFormat reports whether format f was asked for.
func (st *settings) hasFormat(f string) bool { return slices.Contains(st.formats, f) }

// outputFormats are the formats --output-format takes, comma-separated.
var outputFormats = []string{"normal", "json", "json+", "terse"}

var runnerFlags = map[string]string{
	"output":          "write the report to this file instead of stdout",
	"output-format":   "normal, json (fio's JSON schema), json+ (with latency bins), terse (fio's version 3); several comma-separated",
	"target-size":     "size of the automatically created target, at least 64m (default 1g)",
	"results":         "bench: directory to write results to (default results)",
	"rounds":          "compare: A/B rounds, 1..100 (default 3)",
	"quick":           "shorter runs: 2 s instead of 5 for the default suite and compare's default job; bench: a shorter suite",
	"experiments":     "bench: run only these experiments (comma-separated: workloads, qd, null, mapper-cost, 1m-extents, ...)",
	"cpuprofile":      "write a Go CPU profile of the run to this file",
	"section":         "run only this job section of the job files (repeat for more)",
	"parse-only":      "parse the options and job files, run nothing",
	"showcmd":         "print the job files as an iobench command line, run nothing",
	"cmdhelp":         "describe an option (--cmdhelp=bs), or every option",
	"eta-newline":     "print the progress line on a new line every period (e.g. 1s)",
	"status-interval": "report every period while jobs run, e.g. 1s, each from the run's start, as fio's; the run total comes at the end",
	"eta":             "the progress line: auto (the default: on stderr unless JSON goes to stdout), always, never",
	"minimal":         "terse output (fio's version 3), as --output-format=terse",
	"terse-version":   "the terse format's version; iobench writes 3, fio's default",
	"warnings-fatal":  "fail (exit 2) on any notice about the options or job files",
	"max-jobs":        "refuse a run of more job threads than this",
	"readonly":        "refuse, before any I/O, every job that would write or trim or create a file (a safety net, as fio's)",
	"help":            "this help",
	"version":         "print the version",
}

// flagScope names the commands each runner option applies to ("" is a
// plain run); an option given to another command is refused rather than
// ignored. Options not listed (help, version, cmdhelp) apply everywhere.
var flagScope = map[string][]string{
	"output": {""}, "output-format": {""}, "minimal": {""}, "terse-version": {""}, "parse-only": {""}, "showcmd": {""},
	"eta": {""}, "eta-newline": {""}, "status-interval": {""}, "cpuprofile": {""},
	"section": {"", "compare"}, "warnings-fatal": {"", "compare"}, "max-jobs": {"", "compare"}, "readonly": {"", "compare"},
	"target-size": {"", "compare", "bench"}, "quick": {"", "compare", "bench"},
	"results": {"bench"}, "experiments": {"bench"}, "rounds": {"compare"},
}

// checkScope refuses a runner option given to a command it does not
// apply to, and job options and job files given to bench.
func checkScope(cmd string, st settings, cl cmdLine) error {
	name := func(c string) string {
		if c == "" {
			return "plain runs"
		}
		return "'iobench " + c + "'"
	}
	for _, k := range st.given {
		scope, ok := flagScope[k]
		if !ok || slices.Contains(scope, cmd) {
			continue
		}
		var to []string
		for _, c := range scope {
			to = append(to, name(c))
		}
		return fmt.Errorf("--%s does not apply to %s (only to %s)", k, name(cmd), strings.Join(to, " and "))
	}
	if cmd == "bench" {
		if len(cl.files) > 0 {
			return fmt.Errorf("bench takes no job files (got %s): it runs its own suite; to measure a job file against fio use 'iobench compare %s'", cl.files[0], cl.files[0])
		}
		if cl.jobOpt != "" {
			return fmt.Errorf("bench takes no job options (got --%s): it runs its own suite; use 'iobench compare' with the options", cl.jobOpt)
		}
	}
	return nil
}

// fioRunnerRefused are fio's command-line options that iobench knows and
// does not implement, with the reason.
var fioRunnerRefused = map[string]string{
	"client":               "fio's client/server mode is not implemented",
	"server":               "fio's client/server mode is not implemented",
	"remote-config":        "fio's client/server mode is not implemented",
	"daemonize":            "fio's client/server mode is not implemented",
	"idle-prof":            "CPU idleness profiling is not implemented (the report gives each job thread's CPU time per I/O)",
	"bandwidth-log":        "aggregate bandwidth logs are not implemented; use write_bw_log per job",
	"append-terse":         "terse output is written with --output-format=terse or --minimal",
	"crctest":              "fio's checksum speed test is not implemented",
	"cpuclock-test":        "fio's clock test is not implemented",
	"merge-blktrace-only":  "blktrace replay is not implemented",
	"inflate-log":          "fio's compressed logs are not implemented",
	"trigger-file":         "triggers are not implemented",
	"trigger-timeout":      "triggers are not implemented",
	"trigger":              "triggers are not implemented",
	"trigger-remote":       "triggers are not implemented",
	"aux-path":             "iobench writes no auxiliary files",
	"alloc-size":           "iobench has no shared-memory pool to size",
	"debug":                "fio's debug categories are not implemented",
	"status-interval-size": "not implemented",
}

// flagOrder is the order --help lists the runner's options in.
var flagOrder = []string{"output", "output-format", "minimal", "terse-version", "section", "parse-only", "showcmd", "cmdhelp",
	"eta", "eta-newline", "status-interval", "warnings-fatal", "max-jobs", "readonly", "target-size", "results", "rounds", "quick",
	"experiments", "cpuprofile", "help", "version"}

// cmdLine is what the command line describes: options for every job (as
// a [global] section: job files and --name jobs start from them), the
// jobs started by --name, and job files.
type cmdLine struct {
	global workloads.Job
	jobs   []workloads.Job
	files  []string
	jobOpt string // the first job option given ("" none)
}

// Main runs iobench with args (without the program name) and returns the
// exit status: 0 on success, 1 when a job failed, 2 for bad input found
// before any I/O, and 128 (fio's) when SIGINT, SIGTERM or SIGHUP stopped
// the run; the report of what ran before the signal is still written, and
// what iobench made (the automatic target, fio) is cleaned up.
func Main(args []string, stdout, stderr io.Writer) int {
	// The jobs' goroutines (hooks, unlink errors) and the signal watcher
	// write to stderr at once.
	stderr = &lockedWriter{w: stderr}
	unwatch := watchSignals(stderr)
	out := &stickyWriter{w: stdout}
	code := runMain(args, out, stderr)
	unwatch()
	if interrupted.Load() {
		return exitInterrupted
	}
	if out.err != nil && code == 0 {
		// What stdout was to get is lost (a full disk, a closed
		// descriptor): a success would hide that.
		fmt.Fprintf(stderr, "iobench: writing to stdout: %v\n", out.err)
		return 1
	}
	return code
}

func runMain(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "ext4" {
		return ext4Main(args[1:], stdout, stderr)
	}
	cmd := ""
	if len(args) > 0 && (args[0] == "bench" || args[0] == "compare" || args[0] == "help") {
		cmd, args = args[0], args[1:]
	}
	st, cl, err := parseArgs(args)
	if err != nil {
		sayErr(stderr, err)
		fmt.Fprintf(stderr, "Run 'iobench --help' for the options.\n")
		return 2
	}
	for _, n := range st.notices {
		fmt.Fprintf(stderr, "iobench: notice: %s\n", n)
	}
	if st.warningsFatal && len(st.notices) > 0 {
		fmt.Fprintf(stderr, "iobench: --warnings-fatal: %d notice(s) above\n", len(st.notices))
		return 2
	}
	if cmd == "help" && len(cl.files) > 0 {
		// iobench help COMMAND
		cmd, cl.files = cl.files[0], cl.files[1:]
		if len(cl.files) > 0 || cmd != "bench" && cmd != "compare" && cmd != "ext4" {
			fmt.Fprintf(stderr, "iobench: help: no help on %q: try 'iobench --help', 'iobench compare --help', 'iobench bench --help' or 'iobench ext4 help'\n", strings.Join(append([]string{cmd}, cl.files...), " "))
			return 2
		}
		st.help = true
	}
	if st.help || cmd == "help" {
		switch cmd {
		case "bench":
			benchUsage(stdout)
		case "compare":
			compareUsage(stdout)
		case "ext4":
			fmt.Fprint(stdout, ext4Usage)
		default:
			usage(stdout)
		}
		return 0
	}
	if err := checkScope(cmd, st, cl); err != nil {
		sayErr(stderr, err)
		fmt.Fprintf(stderr, "Run 'iobench %s--help' for the options.\n", map[string]string{"": "", "bench": "bench ", "compare": "compare "}[cmd])
		return 2
	}
	if st.version {
		fmt.Fprintln(stdout, Version)
		return 0
	}
	if st.cmdHelp != "" {
		if err := cmdHelp(stdout, st.cmdHelp); err != nil {
			sayErr(stderr, err)
			return 2
		}
		return 0
	}
	switch cmd {
	case "bench":
		return exit(stderr, runBench(st, stdout, stderr))
	case "compare":
		return exit(stderr, runCompare(st, cl, stdout, stderr))
	}
	jobs, groups, global, err := buildJobsGlobal(cl, st, stderr)
	if err != nil {
		sayErr(stderr, err)
		return 2
	}
	if st.showCmd {
		showCmd(stdout, jobs)
		return 0
	}
	if st.parseOnly {
		return 0
	}
	st.sayAutoTarget = len(jobs) > 0
	if len(jobs) == 0 {
		jobs, groups = defaultSuite(cl.global, st.quick)
	}
	// --output is checked now and written only at the end, so that a run
	// refused later leaves an existing file as it was. Status reports
	// (--status-interval) go to stdout as they come.
	if st.output != "" {
		if err := checkWritable(st.output); err != nil {
			fmt.Fprintf(stderr, "iobench: --output: %v\n", err)
			return 2
		}
	}
	out := Output{Formats: st.formats, W: stdout, ETANewline: st.etaNewline, Status: stderr}
	if st.eta == "always" || st.eta != "never" && (!st.hasFormat("json") && !st.hasFormat("json+") || st.output != "") {
		out.Progress = stderr
		if f, ok := fileOf(stderr); ok {
			out.TTY = isTerminal(f) && st.etaNewline == 0
		}
	}
	if st.cpuprofile != "" {
		pf, err := os.Create(st.cpuprofile)
		if err != nil {
			sayErr(stderr, err)
			return 2
		}
		if err := pprof.StartCPUProfile(pf); err != nil {
			sayErr(stderr, err)
			return 2
		}
		defer func() { pprof.StopCPUProfile(); pf.Close() }()
	}
	if st.hasFormat("normal") && st.output == "" {
		out.Started = func() { writeHeaders(stdout, jobs, groups) }
	}
	run, err := Execute(jobs, groups, st, out, stderr)
	if err != nil {
		return exit(stderr, err)
	}
	run.Global = global
	if err := writeReport(st, stdout, run); err != nil {
		sayErr(stderr, err)
		return 1
	}
	// A failed job is also said on stderr, as fio says each I/O error
	// there: the report may be in a file or in JSON.
	failed, said := false, map[string]bool{}
	for _, r := range run.Jobs {
		if r.Err == nil {
			continue
		}
		failed = true
		msg := fmt.Sprintf("job %q: %v", r.Job.Name, r.Err)
		if r.Clone >= 0 && r.Job.NumJobs > 1 {
			msg = fmt.Sprintf("job %q (clone %d): %v", r.Job.Name, r.Clone, r.Err)
		}
		if !said[msg] {
			said[msg] = true
			fmt.Fprintf(stderr, "iobench: %s\n", msg)
		}
	}
	if failed {
		return 1
	}
	return 0
}

// checkWritable reports whether path can be created or written, without
// touching it.
func checkWritable(path string) error {
	if _, err := os.Stat(path); err == nil {
		return unix.Access(path, unix.W_OK)
	}
	dir := filepath.Dir(path)
	if err := unix.Access(dir, unix.W_OK); err != nil {
		return fmt.Errorf("%s: cannot create a file in %s: %w", path, dir, err)
	}
	return nil
}

// writeReport writes run to --output (or stdout) in the chosen formats.
func writeReport(st settings, stdout io.Writer, run *Run) error {
	if st.output == "" {
		return writeFormats(stdout, st.formats, run)
	}
	f, err := os.Create(st.output)
	if err != nil {
		return err
	}
	if err := writeFormats(f, st.formats, run); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", st.output, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("%s: writing the report: %w", st.output, err)
	}
	return nil
}

func exit(stderr io.Writer, err error) int {
	if err == nil {
		return 0
	}
	if errors.Is(err, errInterrupted) {
		return exitInterrupted
	}
	sayErr(stderr, err)
	var bad *badInput
	if errors.As(err, &bad) {
		return 2
	}
	return 1
}

// sayErr writes err on stderr, each of its lines headed "iobench: ", as
// errors.Join puts its errors one per line (two refused options of a job
// file).
func sayErr(stderr io.Writer, err error) {
	for line := range strings.Lines(err.Error()) {
		fmt.Fprintf(stderr, "iobench: %s\n", strings.TrimSuffix(line, "\n"))
	}
}

// badInput marks errors that are the user's input, found before any I/O.
type badInput struct{ err error }

func (b *badInput) Error() string { return b.err.Error() }
func (b *badInput) Unwrap() error { return b.err }

// parseArgs splits args into runner settings and what the command line
// describes, in fio's rules: job options before the first --name apply
// to every job (a [global] section), each --name starts a job, and the
// other arguments are job files.
func parseArgs(args []string) (settings, cmdLine, error) {
	st := settings{formats: []string{"normal"}, targetSize: 1 << 30, results: "results", rounds: 3}
	cl := cmdLine{global: workloads.NewJob("iobench")}
	cur := &cl.global
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "-" && slices.Contains(cl.files, a) {
			return st, cl, fmt.Errorf("job file - given twice: standard input can be read once")
		}
		if a == "-" || !strings.HasPrefix(a, "-") {
			cl.files = append(cl.files, a) // "-": standard input, as fio reads it
			continue
		}
		if a == "--" {
			// The end of the options, as getopt reads it (fio's): what
			// follows is job files, even a name starting with "-".
			for _, f := range args[i+1:] {
				if f == "-" && slices.Contains(cl.files, f) {
					return st, cl, fmt.Errorf("job file - given twice: standard input can be read once")
				}
				cl.files = append(cl.files, f)
			}
			break
		}
		key, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		// Option names are lower case: fio 3.33's command line, as its
		// job files, knows no other spelling (--RW is unrecognized).
		if lower := strings.ToLower(key); lower != key {
			if _, ok := runnerFlags[lower]; ok || workloads.IsNotice(lower) || workloads.IsRefused(lower) {
				return st, cl, fmt.Errorf("--%s: %w: option names are lower case, as fio 3.33 reads them: --%s", key, workloads.ErrUnknownOption, lower)
			}
			if _, ok := workloads.Lookup(lower); ok {
				return st, cl, fmt.Errorf("--%s: %w: option names are lower case, as fio 3.33 reads them: --%s", key, workloads.ErrUnknownOption, lower)
			}
		}
		if key == "h" {
			key = "help"
		}
		takesValue := func() error {
			if hasVal {
				return nil
			}
			if i+1 >= len(args) {
				return fmt.Errorf("--%s needs a value", key)
			}
			i++
			val = args[i]
			return nil
		}
		if _, ok := runnerFlags[key]; ok {
			st.given = append(st.given, key)
			switch key {
			case "help", "quick", "version", "parse-only", "showcmd", "minimal", "warnings-fatal", "readonly":
				b := !hasVal || val == "1" || val == "true" || val == "on" || val == "yes"
				if hasVal && !b && val != "0" && val != "false" && val != "off" && val != "no" {
					// --readonly=y must not turn the safety net off.
					return st, cl, fmt.Errorf("--%s=%s: want 1, true, on or yes, or 0, false, off or no", key, val)
				}
				switch key {
				case "readonly":
					st.readonly = b
				case "minimal":
					if b {
						st.formats = []string{"terse"}
					}
				case "warnings-fatal":
					st.warningsFatal = b
				case "help":
					st.help = b
				case "quick":
					st.quick = b
				case "parse-only":
					st.parseOnly = b
				case "showcmd":
					st.showCmd = b
				default:
					st.version = b
				}
				continue
			case "cmdhelp":
				st.cmdHelp = "all"
				if hasVal && val != "" {
					st.cmdHelp = val
				}
				continue
			}
			if err := takesValue(); err != nil {
				return st, cl, err
			}
			if err := st.set(key, val); err != nil {
				return st, cl, err
			}
			continue
		}
		if why, ok := fioRunnerRefused[key]; ok {
			return st, cl, fmt.Errorf("--%s: fio's option, not supported by iobench: %s", key, why)
		}
		if _, ok := workloads.Lookup(key); !ok && !workloads.IsNotice(key) && !workloads.IsRefused(key) {
			return st, cl, fmt.Errorf("--%s: %w: %q%s", key, workloads.ErrUnknownOption, key, workloads.DidYouMean(key, slices.Collect(maps.Keys(runnerFlags))...))
		}
		// fio's command line refuses any job option's empty value
		// (--bssplit=, --write_bw_log=: "option bssplit requires an
		// argument"), which a job file may give.
		if hasVal && strings.TrimSpace(val) == "" {
			return st, cl, fmt.Errorf("--%s=: %w: an empty value, which fio 3.33 refuses on its command line (\"option %s requires an argument\")", key, workloads.ErrBadValue, key)
		}
		// As on fio's command line, an option that cannot stand alone
		// (direct, bs, ...) takes the next argument as its value.
		if !hasVal && (!workloads.TakesBare(key) || workloads.TakesBareInFile(key)) {
			if err := takesValue(); err != nil {
				return st, cl, err
			}
			hasVal = true
		}
		if cl.jobOpt == "" {
			cl.jobOpt = key
		}
		if key == "name" {
			cl.jobs = append(cl.jobs, cl.global.Clone())
			cur = &cl.jobs[len(cl.jobs)-1]
			cur.Inherited() // its "job options" are those after --name
		}
		if key == "filename" && cur.IsSet("filename") {
			// As a job file's second filename=: fio adds files, never
			// replaces them.
			return st, cl, fmt.Errorf("--filename=%s: %w: a second --filename for a job that has --filename=%s (its own or the global one): fio 3.33 adds the files of every filename a job is given rather than replacing them, and would run it on both; give all of the job's files in one --filename, separated by ':'", val, workloads.ErrRefused, cur.Filename)
		}
		if err := cur.SetArg(key, val, !hasVal); err != nil {
			var n *workloads.Notice
			if errors.As(err, &n) {
				st.notices = append(st.notices, "--"+n.Error())
				continue
			}
			return st, cl, fmt.Errorf("--%s: %w", key, err)
		}
	}
	return st, cl, nil
}

// set sets runner option key (which takes a value).
func (st *settings) set(key, val string) error {
	switch key {
	case "output":
		st.output = val
	case "output-format":
		st.formats = nil
		for _, f := range strings.Split(val, ",") {
			f = strings.TrimSpace(f)
			if !slices.Contains(outputFormats, f) {
				return fmt.Errorf("--output-format=%s: want %s, or several comma-separated", val, strings.Join(outputFormats, ", "))
			}
			if !slices.Contains(st.formats, f) {
				st.formats = append(st.formats, f)
			}
		}
	case "target-size":
		n, err := workloads.ParseSize(val)
		if err != nil || n < 64<<20 {
			return fmt.Errorf("--target-size=%s: want a size of at least 64m", val)
		}
		st.targetSize, st.targetSizeSet = n, true
	case "results":
		st.results = val
	case "cpuprofile":
		st.cpuprofile = val
	case "rounds":
		var n int
		if _, err := fmt.Sscan(val, &n); err != nil || n < 1 || n > 100 {
			return fmt.Errorf("--rounds=%s: want 1..100", val)
		}
		st.rounds = n
	case "section":
		st.sections = append(st.sections, val)
	case "experiments":
		st.only = strings.Split(val, ",")
	case "eta":
		if val != "auto" && val != "always" && val != "never" {
			return fmt.Errorf("--eta=%s: want auto, always or never", val)
		}
		st.eta = val
	case "terse-version":
		if val != "3" {
			return fmt.Errorf("--terse-version=%s: iobench writes fio's terse version 3 only", val)
		}
	case "max-jobs":
		var n int
		if _, err := fmt.Sscan(val, &n); err != nil || n < 1 {
			return fmt.Errorf("--max-jobs=%s: want a number of threads, at least 1", val)
		}
		st.maxJobs = n
	case "eta-newline", "status-interval":
		d, err := workloads.ParseTime(val)
		if err != nil || d < 10*time.Millisecond {
			return fmt.Errorf("--%s=%s: want a period of at least 10ms (e.g. 1s, 500ms)", key, val)
		}
		if key == "eta-newline" {
			st.etaNewline = d
		} else {
			st.statusInterval = d
		}
	}
	return nil
}

// stdin is where a job file named "-" is read from, as fio reads one.
var stdin io.Reader = os.Stdin

// buildJobs makes the jobs to run: the job files' (each starting from the
// command line's options, which their sections override, as fio's
// [global] would be), then the command line's --name jobs. Without
// either, options naming a workload (rw or filename) make one job.
func buildJobs(cl cmdLine, st settings, stderr io.Writer) ([]workloads.Job, [][]int, error) {
	jobs, groups, _, err := buildJobsGlobal(cl, st, stderr)
	return jobs, groups, err
}

// buildJobsGlobal is buildJobs, also returning the run's "global
// options" as fio 3.33 reports them: the command line's options before
// any --name, then those of the job file's [global] sections. With
// several job files fio 3.33 starts them afresh at each file after the
// first, so that they are the last file's [global] options alone (none,
// and no "global options" object, where it has no [global]): so here.
func buildJobsGlobal(cl cmdLine, st settings, stderr io.Writer) ([]workloads.Job, [][]int, [][2]string, error) {
	var jobs []workloads.Job
	var groups [][]int
	global := cl.global.OwnValues() // those given alone left out, as fio leaves them
	// The command line's jobs come first, then the job files', as fio
	// 3.33 adds them: the first file's first job joins the command line's
	// last group unless it has stonewall, and each later file starts a
	// group of its own (fio gives its first job stonewall).
	cliJobs := cl.jobs
	if len(cl.files) == 0 && len(cliJobs) == 0 && (cl.global.IsSet("rw") || cl.global.IsSet("filename")) {
		cliJobs = []workloads.Job{cl.global}
	}
	for _, j := range cliJobs {
		if err := j.Validate(); err != nil {
			return nil, nil, nil, fmt.Errorf("job %q: %w", j.Name, err)
		}
		for _, a := range j.Adjustments() {
			fmt.Fprintf(stderr, "iobench: notice: job %q: %s\n", j.Name, a)
		}
		if st.warningsFatal && len(j.Adjustments()) > 0 {
			return nil, nil, nil, fmt.Errorf("--warnings-fatal: job %q: notices above", j.Name)
		}
		if len(jobs) == 0 || j.Stonewall {
			groups = append(groups, nil)
		}
		groups[len(groups)-1] = append(groups[len(groups)-1], len(jobs))
		jobs = append(jobs, j)
	}
	fromCLI := len(jobs)
	for i, path := range cl.files {
		opts := workloads.ParseOptions{Global: &cl.global, Sections: st.sections, SectionsElsewhere: true}
		var f *workloads.File
		var err error
		if path == "-" {
			f, err = workloads.ParseWith(stdin, "<stdin>", opts)
		} else {
			f, err = workloads.ParseFileWith(path, opts)
		}
		if errors.Is(err, fs.ErrNotExist) && !strings.ContainsAny(path, "/.") {
			// A word, not a path: a mistyped command, likelier than a job file.
			return nil, nil, nil, fmt.Errorf("%w (neither a job file nor a command: the commands are bench, compare, ext4 and help)", err)
		}
		if err != nil {
			return nil, nil, nil, err
		}
		if i > 0 {
			global = nil
		}
		global = mergeOptions(global, f.Global)
		for _, n := range f.Notices {
			fmt.Fprintf(stderr, "iobench: notice: %s\n", n)
		}
		if st.warningsFatal && len(f.Notices) > 0 {
			return nil, nil, nil, fmt.Errorf("--warnings-fatal: %d notice(s) about %s above", len(f.Notices), path)
		}
		base := len(jobs)
		jobs = append(jobs, f.Jobs...)
		for gi, g := range f.Groups {
			ng := make([]int, len(g))
			for i, x := range g {
				ng[i] = base + x
			}
			if gi == 0 && i == 0 && fromCLI > 0 && !f.Jobs[g[0]].Stonewall {
				groups[len(groups)-1] = append(groups[len(groups)-1], ng...)
				continue
			}
			groups = append(groups, ng)
		}
	}
	for _, s := range st.sections {
		if len(cl.files) > 0 && !slices.ContainsFunc(jobs[fromCLI:], func(j workloads.Job) bool { return j.Name == s }) {
			return nil, nil, nil, fmt.Errorf("--section=%s: no job section [%s] in %s", s, s, strings.Join(cl.files, ", "))
		}
	}
	for i := range jobs {
		j := &jobs[i]
		named, err := nameAsFile(j)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("job %q: %w", j.Name, err)
		}
		if named {
			fmt.Fprintf(stderr, "iobench: job %q names no file: it runs on %s, the block device its name names, as in fio\n", j.Name, j.Name)
		}
	}
	if st.readonly {
		for i := range jobs {
			j := &jobs[i]
			if (j.RW.Writes() || j.RW.Trims()) && !j.VerifyOnly {
				return nil, nil, nil, fmt.Errorf("--readonly: job %q would write or trim (rw=%s)", j.Name, j.RW)
			}
			// Nor lay out a file: missing or short files are refused.
			j.AllowFileCreate = false
		}
	}
	if st.maxJobs > 0 {
		n := 0
		for _, j := range jobs {
			n += j.NumJobs
		}
		if n > st.maxJobs {
			return nil, nil, nil, fmt.Errorf("--max-jobs=%d: the jobs ask for %d threads", st.maxJobs, n)
		}
	}
	return jobs, groups, global, nil
}

// mergeOptions returns opts with more's options after them, one of more
// replacing a value opts has.
func mergeOptions(opts, more [][2]string) [][2]string {
	out := slices.Clone(opts)
	if out == nil && more != nil {
		out = [][2]string{} // options given alone only: an empty object
	}
	for _, kv := range more {
		if i := slices.IndexFunc(out, func(o [2]string) bool { return o[0] == kv[0] }); i >= 0 {
			out[i] = kv
			continue
		}
		out = append(out, kv)
	}
	return out
}

// showCmd prints jobs as one iobench command line that runs them (fio's
// --showcmd): each job's --name, then the options it sets.
func showCmd(w io.Writer, jobs []workloads.Job) {
	var b strings.Builder
	b.WriteString("iobench")
	for _, j := range jobs {
		fmt.Fprintf(&b, " --name=%s", j.Name)
		for _, kv := range j.Values() {
			if kv[0] != "name" {
				fmt.Fprintf(&b, " --%s=%s", kv[0], kv[1])
			}
		}
	}
	fmt.Fprintln(w, b.String())
}

// cmdHelp describes option name ("all": every option), as fio's --cmdhelp.
func cmdHelp(w io.Writer, name string) error {
	if name == "all" {
		for _, o := range workloads.Options() {
			fmt.Fprintf(w, "%-24s: %s\n", o.Name, o.Help)
		}
		return nil
	}
	o, ok := workloads.Lookup(name)
	if !ok {
		key := workloads.Canonical(name)
		if why, ok := workloads.Notices()[key]; ok {
			fmt.Fprintf(w, "%20s: fio's option, accepted with no effect: %s\n", key, why)
			return nil
		}
		if why, ok := workloads.Refused()[key]; ok {
			fmt.Fprintf(w, "%20s: fio's option, refused: %s\n", key, why)
			return nil
		}
		return fmt.Errorf("--cmdhelp=%s: %w: %q%s", name, workloads.ErrUnknownOption, name, workloads.DidYouMean(name))
	}
	fmt.Fprintf(w, "%20s: %s\n", o.Name, o.Help)
	if len(o.Aliases) > 0 {
		fmt.Fprintf(w, "%20s: %s\n", "alias", strings.Join(o.Aliases, ", "))
	}
	if o.Arg != "" {
		fmt.Fprintf(w, "%20s: %s\n", "value", o.Arg)
	}
	if o.Default != "" {
		fmt.Fprintf(w, "%20s: %s\n", "default", o.Default)
	}
	if o.Engine {
		fmt.Fprintf(w, "%20s: %s\n", "note", "iobench engine option; in job files put it in an '#iobench:' line")
	}
	return nil
}

// defaultSuite is what `iobench` runs with no job: short random and
// sequential reads and writes, on the given options.
func defaultSuite(base workloads.Job, quick bool) ([]workloads.Job, [][]int) {
	rt := "5"
	if quick {
		rt = "2"
	}
	specs := [][]string{
		{"randread-4k", "rw", "randread", "bs", "4k", "iodepth", "32"},
		{"randwrite-4k", "rw", "randwrite", "bs", "4k", "iodepth", "32"},
		{"seqread-128k", "rw", "read", "bs", "128k", "iodepth", "8"},
		{"seqwrite-128k", "rw", "write", "bs", "128k", "iodepth", "8"},
	}
	var jobs []workloads.Job
	var groups [][]int
	for i, s := range specs {
		j := base.Clone()
		j.Name = s[0]
		for k := 1; k < len(s); k += 2 {
			_ = j.Set(s[k], s[k+1])
		}
		_ = j.Set("runtime", rt)
		_ = j.Set("time_based", "1")
		if !j.IsSet("size") {
			_ = j.Set("size", "256m")
		}
		jobs = append(jobs, j)
		groups = append(groups, []int{i})
	}
	return jobs, groups
}

func usage(w io.Writer) {
	fmt.Fprint(w, `iobench: benchmark block devices through a cached-mapping io_uring engine.

Usage:
  iobench                              run the default suite on an automatically created target
  iobench [options]                    run one job described by fio-style options
  iobench [options] JOBFILE.fio...     run fio job files (options apply to every job; - reads one from stdin)
  iobench bench [--results DIR]        the benchmark suite behind 'make bench'; writes DIR afresh ('iobench bench --help')
  iobench compare [options|JOBFILE]    run the same job under fio and iobench, A B, B A, ..., print ratios ('iobench compare --help')
  iobench ext4 ls|cat|tree|bench ...   read an unmounted ext4 filesystem through the engine ('iobench ext4 help')
  iobench help [bench|compare|ext4]    this help, or a command's

Examples:
  iobench --rw=randread --bs=4k --iodepth=32 --runtime=10 --time_based --size=256m
  iobench --filename=/dev/nvme0n1 --rw=randread --bs=4k --iodepth=32 --runtime=10 --time_based
  iobench --output-format=json jobs.fio

Without --filename, iobench makes its own target: a loop device over a tmpfs
file when run as root, else a file in the temporary directory, removed after.
Writing to a block device that is mounted, partitioned, held or carries a
filesystem is refused unless --force. A --filename under /dev (but /dev/shm)
that does not exist is refused as a mistyped device name, not created.

Runner options (for plain runs unless marked; one given to a command it does
not apply to is refused):
`)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, k := range flagOrder {
		fmt.Fprintf(tw, "  --%s\t%s\n", k, runnerFlags[k])
	}
	tw.Flush()
	fmt.Fprint(w, "\nJob options (also valid in job files; engine options go in '#iobench:' lines there):\n")
	for _, o := range workloads.Options() {
		def := ""
		if o.Default != "" {
			def = " (default " + o.Default + ")"
		}
		arg := "=" + o.Arg
		if o.Arg == "" {
			arg = ""
		}
		fmt.Fprintf(tw, "  --%s%s\t%s%s\n", o.Name, arg, o.Help, def)
	}
	tw.Flush()
	fmt.Fprint(w, "\nSizes take fio's units (4k = 4096; k, m, g are powers of 1024); times are seconds unless given a unit.\n")
}

// flagsFor writes the runner options that apply to command cmd, then the
// rows of extra (name, description).
func flagsFor(w io.Writer, cmd string, extra ...[2]string) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, k := range flagOrder {
		if slices.Contains(flagScope[k], cmd) {
			fmt.Fprintf(tw, "  --%s\t%s\n", k, runnerFlags[k])
		}
	}
	for _, e := range extra {
		fmt.Fprintf(tw, "  %s\t%s\n", e[0], e[1])
	}
	tw.Flush()
}

func compareUsage(w io.Writer) {
	fmt.Fprint(w, `Usage: iobench compare [options] [JOBFILE.fio...]

Runs each job under fio (ioengine=io_uring) and under iobench on the same
target, alternating A B, B A, A B, ... for --rounds rounds (each round
starts with the tool that went second in the one before), and prints per
job each tool's mean IOPS and the iobench/fio ratios (min / median / max
over the rounds) of IOPS, bandwidth, p50 and p99 total latency (lat, from queueing
to completion: each round's job reports lat percentiles, lat_percentiles=1
and clat_percentiles=0, unless it sets either; iobench submits a lone I/O
in the call that waits for it, so its clat starts earlier than fio's), CPU
time per I/O and context switches per I/O. Above 1 iobench is faster (IOPS,
BW) or slower (latency) or costlier (CPU, context switches).

Needs fio on PATH (as root on a Debian-like system iobench installs it with
apt-get when it is missing). Jobs come from job files and job options as in
a plain run (see 'iobench --help'); without any (no JOBFILE, --name, --rw or
--filename) compare runs 4 KiB random reads at QD 32 for 5 s (2 s with
--quick) over 256 MiB. Without --filename the target is made automatically
(--target-size, default 1g). Jobs on files of their own (filename lists,
directory, nrfiles, filesize) are refused: both tools need one target.

Options:
`)
	flagsFor(w, "compare", [2]string{"--help", "this help"}, [2]string{"job options", "any job option of 'iobench --help'"})
	fmt.Fprint(w, `
Examples:
  iobench compare                                   # what 'make compare' runs
  iobench compare workloads/randread-4k.fio --rounds 5
  iobench compare --filename=/dev/nvme0n1 --rw=randread --bs=4k --iodepth=32 --runtime=10 --time_based
`)
}

func benchUsage(w io.Writer) {
	ids := []string{}
	for _, e := range experiments() {
		ids = append(ids, e.id)
	}
	fmt.Fprintf(w, `Usage: iobench bench [--results=DIR] [--experiments=LIST] [--quick] [--target-size=SIZE]

The benchmark suite behind 'make bench' (about 16 minutes; --quick is
shorter): the experiments %s, each
under fio and iobench alternately where fio is installed (iobench alone
otherwise), on an automatic target. Writes DIR (default results) afresh: one
JSON per run in fio's schema, the SVG plots, and summary.md, which is also
printed. DIR is emptied first; a directory holding anything else than what
bench writes (*.json, *.svg, *.md files) is refused. Root makes the target a
loop device over tmpfs and is needed for the ext4 experiment. Job options and
job files are refused: to measure a job against fio use 'iobench compare'.

Options:
`, strings.Join(ids, ", "))
	flagsFor(w, "bench", [2]string{"--help", "this help"})
	fmt.Fprint(w, `
Examples:
  iobench bench --results results                   # what 'make bench' runs
  iobench bench --experiments=qd,null --quick --results /tmp/r
`)
}

// fileOf returns the file w writes to, seeing through lockedWriter.
func fileOf(w io.Writer) (*os.File, bool) {
	if l, ok := w.(*lockedWriter); ok {
		w = l.w
	}
	f, ok := w.(*os.File)
	return f, ok
}

// lockedWriter serializes writes to w from several goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

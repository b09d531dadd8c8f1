// Package runner is iobench: it parses fio-style options and job files,
// makes or opens the target, runs jobs through the engine, prints reports,
// compares with fio, and runs the benchmark suite behind `make bench`.
// cmd/iobench is a thin main over Main.
package runner

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strings"
	"text/tabwriter"

	"github.com/iobench/iobench/workloads"
)

// settings are the runner's own options (not job options).
type settings struct {
	output     string
	format     string
	targetSize uint64
	results    string
	rounds     int
	quick      bool
	cpuprofile string
	help       bool
	version    bool
}

var runnerFlags = map[string]string{
	"output":        "write the report to this file instead of stdout",
	"output-format": "normal or json (fio's JSON schema)",
	"target-size":   "size of the automatically created target (default 1g)",
	"results":       "bench: directory to write results to (default results)",
	"rounds":        "compare: A/B rounds (default 3)",
	"quick":         "bench/compare: shorter runs",
	"cpuprofile":    "write a Go CPU profile of the run to this file",
	"help":          "this help",
	"version":       "print the version",
}

// Main runs iobench with args (without the program name) and returns the
// exit status: 0 on success, 1 when a job failed, 2 for bad input.
func Main(args []string, stdout, stderr io.Writer) int {
	cmd := ""
	if len(args) > 0 && (args[0] == "bench" || args[0] == "compare" || args[0] == "help") {
		cmd, args = args[0], args[1:]
	}
	st, job, files, err := parseArgs(args)
	if err != nil {
		fmt.Fprintf(stderr, "iobench: %v\n", err)
		fmt.Fprintf(stderr, "Run 'iobench --help' for the options.\n")
		return 2
	}
	if st.help || cmd == "help" {
		usage(stdout)
		return 0
	}
	if st.version {
		fmt.Fprintln(stdout, Version)
		return 0
	}
	switch cmd {
	case "bench":
		return exit(stderr, runBench(st, stdout, stderr))
	case "compare":
		return exit(stderr, runCompare(st, job, files, stdout, stderr))
	}
	jobs, groups, err := buildJobs(job, files, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "iobench: %v\n", err)
		return 2
	}
	if len(jobs) == 0 {
		jobs, groups = defaultSuite(job, st.quick)
	}
	w := stdout
	if st.output != "" {
		f, err := os.Create(st.output)
		if err != nil {
			fmt.Fprintf(stderr, "iobench: %v\n", err)
			return 2
		}
		defer f.Close()
		w = f
	}
	out := Output{Format: st.format, W: w}
	if st.format != "json" || st.output != "" {
		out.Progress = stderr
		if f, ok := stderr.(*os.File); ok {
			out.TTY = isTerminal(f)
		}
	}
	if st.cpuprofile != "" {
		pf, err := os.Create(st.cpuprofile)
		if err != nil {
			fmt.Fprintf(stderr, "iobench: %v\n", err)
			return 2
		}
		if err := pprof.StartCPUProfile(pf); err != nil {
			fmt.Fprintf(stderr, "iobench: %v\n", err)
			return 2
		}
		defer func() { pprof.StopCPUProfile(); pf.Close() }()
	}
	run, err := Execute(jobs, groups, st, out, stderr)
	if err != nil {
		var bad *badInput
		if errors.As(err, &bad) {
			fmt.Fprintf(stderr, "iobench: %v\n", err)
			return 2
		}
		fmt.Fprintf(stderr, "iobench: %v\n", err)
		return 1
	}
	if st.format == "json" {
		if err := WriteJSON(w, run); err != nil {
			fmt.Fprintf(stderr, "iobench: %v\n", err)
			return 1
		}
	} else {
		WriteNormal(w, run)
	}
	for _, r := range run.Jobs {
		if r.Err != nil {
			return 1
		}
	}
	return 0
}

func exit(stderr io.Writer, err error) int {
	if err == nil {
		return 0
	}
	fmt.Fprintf(stderr, "iobench: %v\n", err)
	var bad *badInput
	if errors.As(err, &bad) {
		return 2
	}
	return 1
}

// badInput marks errors that are the user's input, found before any I/O.
type badInput struct{ err error }

func (b *badInput) Error() string { return b.err.Error() }
func (b *badInput) Unwrap() error { return b.err }

// parseArgs splits args into runner settings, a job built from the job
// options given (fio's --key=value, --key value, bare booleans), and job
// files.
func parseArgs(args []string) (settings, workloads.Job, []string, error) {
	st := settings{format: "normal", targetSize: 1 << 30, results: "results", rounds: 3}
	job := workloads.NewJob("iobench")
	var files []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			files = append(files, a)
			continue
		}
		key, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		key = strings.ToLower(key)
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
			switch key {
			case "help", "quick", "version":
				b := !hasVal || val == "1" || val == "true" || val == "on"
				switch key {
				case "help":
					st.help = b
				case "quick":
					st.quick = b
				default:
					st.version = b
				}
				continue
			}
			if err := takesValue(); err != nil {
				return st, job, nil, err
			}
			switch key {
			case "output":
				st.output = val
			case "output-format":
				if val != "normal" && val != "json" {
					return st, job, nil, fmt.Errorf("--output-format=%s: want normal or json", val)
				}
				st.format = val
			case "target-size":
				n, err := workloads.ParseSize(val)
				if err != nil || n < 64<<20 {
					return st, job, nil, fmt.Errorf("--target-size=%s: want a size of at least 64m", val)
				}
				st.targetSize = n
			case "results":
				st.results = val
			case "cpuprofile":
				st.cpuprofile = val
			case "rounds":
				var n int
				if _, err := fmt.Sscan(val, &n); err != nil || n < 1 || n > 100 {
					return st, job, nil, fmt.Errorf("--rounds=%s: want 1..100", val)
				}
				st.rounds = n
			}
			continue
		}
		if !hasVal && !workloads.IsBool(key) && !workloads.IsNotice(key) {
			if err := takesValue(); err != nil {
				return st, job, nil, err
			}
		}
		if err := job.Set(key, val); err != nil {
			var n *workloads.Notice
			if errors.As(err, &n) {
				continue
			}
			return st, job, nil, fmt.Errorf("--%s: %w", key, err)
		}
	}
	return st, job, files, nil
}

// buildJobs makes the jobs to run: the job files' (with the command line's
// options applied on top), or the command line's job if it names a
// workload (rw or name given).
func buildJobs(cli workloads.Job, files []string, stderr io.Writer) ([]workloads.Job, [][]int, error) {
	var jobs []workloads.Job
	var groups [][]int
	for _, path := range files {
		f, err := workloads.ParseFile(path)
		if err != nil {
			return nil, nil, err
		}
		for _, n := range f.Notices {
			fmt.Fprintf(stderr, "iobench: notice: %s\n", n)
		}
		base := len(jobs)
		for _, j := range f.Jobs {
			for _, kv := range cli.Values() {
				if kv[0] == "name" {
					continue
				}
				if err := j.Set(kv[0], kv[1]); err != nil {
					return nil, nil, err
				}
			}
			if err := j.Validate(); err != nil {
				return nil, nil, fmt.Errorf("%s: job %q: %w", path, j.Name, err)
			}
			jobs = append(jobs, j)
		}
		for _, g := range f.Groups {
			ng := make([]int, len(g))
			for i, x := range g {
				ng[i] = base + x
			}
			groups = append(groups, ng)
		}
	}
	if len(files) == 0 && (cli.IsSet("rw") || cli.IsSet("name") || cli.IsSet("filename")) {
		if err := cli.Validate(); err != nil {
			return nil, nil, err
		}
		jobs = append(jobs, cli)
		groups = append(groups, []int{0})
	}
	return jobs, groups, nil
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
  iobench [options] JOBFILE.fio...     run fio job files (options apply to every job)
  iobench bench [--results DIR]        the benchmark suite behind 'make bench'; writes DIR afresh
  iobench compare [options|JOBFILE]    run the same job under fio and iobench, A B A B, print ratios

Without --filename, iobench makes its own target: a loop device over a tmpfs
file when run as root, else a file in the temporary directory, removed after.
Writing to a block device that is mounted, partitioned, held or carries a
filesystem is refused unless --force.

Runner options:
`)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, k := range []string{"output", "output-format", "target-size", "results", "rounds", "quick", "cpuprofile", "help", "version"} {
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

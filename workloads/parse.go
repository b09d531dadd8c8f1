package workloads

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// File is a parsed job file.
type File struct {
	Path    string
	Jobs    []Job
	Lines   []int   // the line of each job's section header
	Groups  [][]int // indexes into Jobs: groups run one after another, jobs in a group together
	Notices []string
	// Global holds the options the file's [global] sections set (the
	// later of two values of one option), as Job.Values gives them:
	// fio's "global options" (each job's own are its Job.OwnValues).
	Global [][2]string
}

// ParseError says what is wrong in a job file and where.
type ParseError struct {
	File   string
	Line   int
	Option string // the option at fault, if any
	Err    error
}

func (e *ParseError) Error() string {
	if e.Option != "" {
		return fmt.Sprintf("%s:%d: option %q: %v", e.File, e.Line, e.Option, e.Err)
	}
	if e.Line == 0 { // about the whole file (an empty one has no line)
		return fmt.Sprintf("%s: %v", e.File, e.Err)
	}
	return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
}

func (e *ParseError) Unwrap() error { return e.Err }

// ParseOptions tune Parse.
type ParseOptions struct {
	// Global, when set, holds the options every job starts from, as if
	// they were a [global] section before the file's first line (the
	// command line's options, in fio's rules).
	Global *Job
	// Sections, when not empty, keeps only the jobs of these names
	// (fio's --section); [global] sections still apply.
	Sections []string
	// SectionsElsewhere: Sections may name jobs of other job files (fio's
	// --section picks among all the files given), so a file holding none
	// of them gives no jobs rather than an error; the caller checks that
	// each section was found somewhere.
	SectionsElsewhere bool
}

// ParseFile parses the job file at path.
func ParseFile(path string) (*File, error) { return ParseFileWith(path, ParseOptions{}) }

// ParseFileWith parses the job file at path with opts.
func ParseFileWith(path string, opts ParseOptions) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParseWith(f, path, opts)
}

// Pragma is the comment prefix that carries iobench-only options in a job
// file fio also reads: fio ignores the comment, iobench applies the
// key=value pairs after it to the section it is in.
const Pragma = "#iobench:"

// maxIncludeDepth bounds nested include directives (a file including
// itself is an error, not a loop).
const maxIncludeDepth = 16

// srcLine is one line of a job file or of a file it includes.
// maxErrors is the most bad options one parse reports.
const maxErrors = 10

// optLines maps an option's name to the line that last set it.
type optLines map[string]srcLine

// of returns the line of the option a message about a job starts with
// ("verify_interval=1048576: ..."), or def.
func (o optLines) of(msg string, def srcLine) srcLine {
	name := msg
	if i := strings.IndexAny(msg, "=: ,"); i > 0 {
		name = msg[:i]
	}
	if at, ok := o[Canonical(name)]; ok {
		return at
	}
	return def
}

type srcLine struct {
	file string
	line int
	text string
}

// readLines reads r's lines, expanding "include path" directives (a
// relative path from the working directory, or else from the including
// file's directory, as fio resolves it).
func readLines(r io.Reader, name string, depth int, lines []srcLine) ([]srcLine, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	n := 0
	// inSection: a section header came before, in this file; an include
	// of the top file before any refused, as fio 3.33 refuses it.
	inSection := false
	for sc.Scan() {
		n++
		text := strings.TrimSpace(sc.Text())
		if n == 1 {
			text = strings.TrimPrefix(text, "\ufeff")
		}
		if strings.HasPrefix(text, "[") {
			if depth > 0 {
				// fio 3.33 reads an included file as options of the
				// section that includes it, and fails on a header ("No
				// new sections in included files"), [global] too.
				return nil, &ParseError{File: name, Line: n, Err: fmt.Errorf("%w: %s in an included file: fio 3.33 refuses section headers there (\"No new sections in included files\"): an included file holds options of the section that includes it", ErrSyntax, text)}
			}
			inSection = true
		}
		if path, ok := includePath(text); ok {
			if depth == 0 && !inSection {
				// fio 3.33 reads an include of the job file it was given
				// as an option of the section it is in: before any it
				// fails ("option <include x.fio> outside of [] job
				// section"), whatever the included file holds.
				return nil, &ParseError{File: name, Line: n, Option: "include", Err: fmt.Errorf("%w: include before any section, which fio 3.33 refuses (\"outside of [] job section\"): put it after a [global] or job section header", ErrSyntax)}
			}
			if path == "" {
				return nil, &ParseError{File: name, Line: n, Option: "include", Err: fmt.Errorf("%w: include names no file", ErrSyntax)}
			}
			// fio opens a relative path from the working directory when
			// it is there, else from the including file's directory.
			if _, err := os.Stat(path); err != nil && !filepath.IsAbs(path) {
				path = filepath.Join(filepath.Dir(name), path)
			}
			if depth >= maxIncludeDepth {
				return nil, &ParseError{File: name, Line: n, Option: "include", Err: fmt.Errorf("%w: includes nested deeper than %d", ErrSyntax, maxIncludeDepth)}
			}
			f, err := os.Open(path)
			if err != nil {
				return nil, &ParseError{File: name, Line: n, Option: "include", Err: err}
			}
			lines, err = readLines(f, path, depth+1, lines)
			f.Close()
			if err != nil {
				return nil, err
			}
			continue
		}
		lines = append(lines, srcLine{name, n, text})
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, &ParseError{File: name, Line: n + 1, Err: fmt.Errorf("%w: line longer than 1 MiB", ErrSyntax)}
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return lines, nil
}

// includePath returns the file an include directive names: "include",
// a space or a tab, the path, and perhaps a comment after it, cut as fio
// cuts it from every line.
func includePath(text string) (string, bool) {
	rest, ok := strings.CutPrefix(text, "include")
	if !ok || rest == "" || rest[0] != ' ' && rest[0] != '\t' {
		return "", false
	}
	return strings.TrimSpace(cutComment(rest)), true
}

// cutComment cuts a comment from a line: anything from a ; or a #, as
// fio reads every line of a job file (a section header's too).
func cutComment(text string) string {
	if i := strings.IndexAny(text, ";#"); i >= 0 {
		return text[:i]
	}
	return text
}

// Parse parses a job file in fio's format (ParseWith with no options).
func Parse(r io.Reader, name string) (*File, error) { return ParseWith(r, name, ParseOptions{}) }

// ParseWith parses a job file in fio's format: [global] and job sections,
// a job inheriting the [global] options that precede it (a later [global]
// affects only later jobs), comments (from a # or ; to the end of the
// line, on a line of their own or after a value or a header), key=value and
// options alone where fio 3.33 takes them alone (Job.SetBare), ${VAR} from the environment, "include file",
// stonewall and wait_for. Options iobench does not implement stop the
// parse with the option, the file and the line; options that cannot
// change what is measured are accepted with a notice.
func ParseWith(r io.Reader, name string, opts ParseOptions) (*File, error) {
	out := &File{Path: name}
	global := NewJob("global")
	if opts.Global != nil {
		global = opts.Global.Clone()
		global.Name = "global"
	}
	global.Inherited() // File.Global: the options of the file's [global]s
	var cur *Job       // nil: before any section
	inGlobal := false
	// skipping: the section is one --section left out; its options are
	// not read, as fio does not read them.
	skipping := false
	// Where each option of [global] and of the job being read was last
	// set, and of each job read: a job's error names the option's line.
	globalAt, curAt := optLines{}, optLines(nil)
	var jobAt []optLines
	lines, err := readLines(r, name, 0, nil)
	if err != nil {
		return nil, err
	}
	var at srcLine
	// Bad options do not stop the reading: every one is reported, as fio
	// lists them, those iobench does not know last (see below).
	var bad, unknown []error
	// refusedEngines are the ioengine= values refused in the file: an
	// option iobench does not know is then taken for one of theirs.
	var refusedEngines []string
	line := 0
	perr := func(opt string, err error) error {
		return &ParseError{File: at.file, Line: at.line, Option: opt, Err: err}
	}
	for _, at = range lines {
		line = at.line
		text := at.text
		switch {
		case text == "":
			continue
		case skipping && text[0] != '[':
			continue
		case strings.HasPrefix(strings.ToLower(text), Pragma):
			if cur == nil {
				return nil, perr("", fmt.Errorf("%w: %s before any section", ErrSyntax, Pragma))
			}
			for _, kv := range strings.Fields(text[len(Pragma):]) {
				k, v, hasValue := strings.Cut(kv, "=")
				if err := setOpt(cur, k, v, !hasValue, out, at.file, line, true); err != nil {
					return nil, err
				}
				curAt[Canonical(strings.TrimSpace(k))] = at
			}
			continue
		case text[0] == '#' || text[0] == ';':
			continue
		case text[0] == '[':
			text = strings.TrimSpace(cutComment(text)) // [job] ; a comment
			if !strings.HasSuffix(text, "]") || len(text) < 3 {
				return nil, perr("", fmt.Errorf("%w: bad section header %q", ErrSyntax, text))
			}
			sect := strings.TrimSpace(text[1 : len(text)-1])
			if sect == "" || strings.Contains(sect, "[") {
				return nil, perr("", fmt.Errorf("%w: bad section name %q", ErrSyntax, sect))
			}
			if cur != nil && !inGlobal {
				out.Jobs = append(out.Jobs, *cur)
				jobAt = append(jobAt, curAt)
			}
			// fio takes every section whose name starts with "global"
			// (case and all) for [global]; [Global] is a job there.
			if strings.HasPrefix(sect, "global") {
				if sect != "global" {
					out.Notices = append(out.Notices, fmt.Sprintf("%s:%d: [%s] is read as [global], as fio reads every section whose name starts with global", at.file, line, sect))
				}
				inGlobal, skipping = true, false
				cur, curAt = &global, globalAt
				continue
			}
			if strings.EqualFold(sect, "global") {
				out.Notices = append(out.Notices, fmt.Sprintf("%s:%d: [%s] is a job, as in fio, whose [global] is lower case", at.file, line, sect))
			}
			skipping = len(opts.Sections) > 0 && !slices.Contains(opts.Sections, sect)
			// fio runs a section name that comes twice as two jobs.
			inGlobal = false
			// Every option of [global] applies to each job after it,
			// stonewall and wait_for too, as in fio.
			j := global.Clone()
			j.Name = sect
			j.Inherited()
			cur, curAt = &j, maps.Clone(globalAt)
			out.Lines = append(out.Lines, line)
			continue
		}
		if cur == nil {
			return nil, perr("", fmt.Errorf("%w: option %q outside of any section (options go in a [job] section, or in [global] for every job)", ErrSyntax, strings.TrimSpace(cutComment(text))))
		}
		// Anything after a ; or # is a comment, as fio reads a line.
		if i := strings.IndexAny(text, ";#"); i >= 0 {
			if strings.HasPrefix(strings.ToLower(text[i:]), Pragma) {
				out.Notices = append(out.Notices, fmt.Sprintf("%s:%d: %s after a value is a comment; put it on a line of its own", at.file, line, Pragma))
			}
			text = strings.TrimSpace(cutComment(text))
		}
		k, v, hasValue := strings.Cut(text, "=")
		v, err := expandValue(strings.TrimSpace(v))
		if err != nil {
			bad = append(bad, perr(strings.TrimSpace(k), fmt.Errorf("%w: %w", ErrBadValue, err)))
			continue
		}
		if strings.TrimSpace(k) == "filename" && cur.IsSet("filename") {
			// fio 3.33 adds the files of each filename= a job sees to
			// those it has: it never replaces them.
			if prev, ok := curAt["filename"]; ok {
				bad = append(bad, perr("filename", fmt.Errorf("%w: a second filename= (%s) for a job that has filename=%s (%s:%d): fio 3.33 adds the files of every filename= a job sees, [global]'s included, rather than replacing them, and would run it on both; give all of the job's files in one filename=, separated by ':'", ErrRefused, v, cur.Filename, prev.file, prev.line)))
				continue
			}
			out.Notices = append(out.Notices, fmt.Sprintf("%s:%d: filename=%s replaces the command line's filename=%s, as a job file's options override the command line's here; fio 3.33 adds the files of both and would run the job on both", at.file, line, v, cur.Filename))
		}
		if err := setOpt(cur, k, v, !hasValue, out, at.file, line, false); err != nil {
			// An option iobench does not know may be an I/O engine's
			// that comes before its ioengine= (nfs_url, then
			// ioengine=nfs): that ioengine's refusal says more, so
			// unknown options come after the other errors.
			if errors.Is(err, ErrUnknownOption) {
				unknown = append(unknown, err)
			} else {
				bad = append(bad, err)
			}
			if Canonical(strings.TrimSpace(k)) == "ioengine" && errors.Is(err, ErrRefused) && !slices.Contains(refusedEngines, v) {
				refusedEngines = append(refusedEngines, v)
			}
			continue
		}
		curAt[Canonical(strings.TrimSpace(k))] = at
	}
	if len(refusedEngines) > 0 {
		// fio's engines have options of their own (cpuio's cpuload,
		// nfs's nfs_url): with such an engine refused, an option iobench
		// does not know is refused with it rather than called unknown.
		for i, err := range unknown {
			var pe *ParseError
			if errors.As(err, &pe) {
				unknown[i] = &ParseError{File: pe.File, Line: pe.Line, Option: pe.Option,
					Err: fmt.Errorf("%w: neither fio's job option nor an io_uring one; taken for an option of ioengine=%s, refused above", ErrRefused, strings.Join(refusedEngines, ", ioengine="))}
			}
		}
	}
	if bad = append(bad, unknown...); len(bad) > 0 {
		if len(bad) > maxErrors {
			bad = append(bad[:maxErrors], fmt.Errorf("%s: %d more bad options not shown", name, len(bad)-maxErrors))
		}
		return nil, errors.Join(bad...)
	}
	if cur != nil && !inGlobal {
		out.Jobs = append(out.Jobs, *cur)
		jobAt = append(jobAt, curAt)
	}
	if len(opts.Sections) > 0 {
		var kept []Job
		var keptLines []int
		var keptAt []optLines
		for i, j := range out.Jobs {
			if slices.Contains(opts.Sections, j.Name) {
				kept = append(kept, j)
				keptLines = append(keptLines, out.Lines[i])
				keptAt = append(keptAt, jobAt[i])
			}
		}
		for _, s := range opts.Sections {
			if !opts.SectionsElsewhere && !slices.ContainsFunc(kept, func(j Job) bool { return j.Name == s }) {
				return nil, &ParseError{File: name, Line: line, Err: fmt.Errorf("%w: no job section [%s]", ErrSyntax, s)}
			}
		}
		out.Jobs, out.Lines, jobAt = kept, keptLines, keptAt
		// A wait_for naming a job left out has nothing to wait for.
		for i := range out.Jobs {
			if w := out.Jobs[i].WaitFor; w != "" && !slices.Contains(opts.Sections, w) {
				out.Jobs[i].WaitFor = ""
			}
		}
	}
	global.sortOwnAsFio()
	out.Global = global.OwnValues()
	for i := range out.Jobs {
		out.Jobs[i].sortOwnAsFio()
	}
	if len(out.Jobs) == 0 && len(opts.Sections) > 0 && opts.SectionsElsewhere {
		return out, nil
	}
	if len(out.Jobs) == 0 {
		what := "no job sections"
		if line == 0 {
			what = "no job sections: the file is empty"
		}
		return nil, &ParseError{File: name, Line: line, Err: fmt.Errorf("%w: %s", ErrSyntax, what)}
	}
	// Groups: stonewall and wait_for start a new group.
	names := map[string]int{}
	var undirected []int // jobs that say neither direct nor buffered
	for i := range out.Jobs {
		j := &out.Jobs[i]
		line = out.Lines[i]
		at = srcLine{file: name, line: line}
		if err := j.Validate(); err != nil {
			at = jobAt[i].of(err.Error(), at)
			return nil, perr("", fmt.Errorf("job %q: %w", j.Name, err))
		}
		for _, a := range j.Adjustments() {
			w := jobAt[i].of(a, at)
			out.Notices = append(out.Notices, fmt.Sprintf("%s:%d: job %q: %s", w.file, w.line, j.Name, a))
		}
		if !j.IsSet("ioengine") && j.IODepth > 1 {
			// A job file written for fio: fio's default engine is psync.
			w := jobAt[i].of("iodepth", at)
			out.Notices = append(out.Notices, fmt.Sprintf("%s:%d: job %q: no ioengine: fio runs such a job with its default engine, psync, one I/O at a time; iobench runs it on io_uring at iodepth=%d (say ioengine=io_uring to run both tools alike)", w.file, w.line, j.Name, j.IODepth))
		}
		if !j.IsSet("direct") && !j.IsSet("buffered") && j.Direct && !j.NullIO() {
			undirected = append(undirected, i)
		}
		if j.WaitFor != "" {
			at = jobAt[i].of("wait_for", at)
			if j.WaitFor == j.Name {
				return nil, perr("wait_for", fmt.Errorf("%w: job %q cannot wait for itself", ErrBadValue, j.Name))
			}
			if _, ok := names[j.WaitFor]; !ok {
				return nil, perr("wait_for", fmt.Errorf("%w: no earlier job named %q", ErrBadValue, j.WaitFor))
			}
		}
		if i == 0 || j.Stonewall || j.WaitFor != "" {
			out.Groups = append(out.Groups, nil)
		}
		g := len(out.Groups) - 1
		out.Groups[g] = append(out.Groups[g], i)
		names[j.Name] = i
	}
	if len(undirected) > 0 {
		// fio's default is buffered I/O: a job file written for fio
		// that says neither measures the page cache there.
		i := undirected[0]
		which := fmt.Sprintf("job %q", out.Jobs[i].Name)
		if n := len(undirected) - 1; n > 0 {
			which += fmt.Sprintf(" and %d more", n)
		}
		out.Notices = append(out.Notices, fmt.Sprintf("%s:%d: %s: no direct: fio runs such a job buffered, through the page cache; iobench runs it with O_DIRECT (say direct=1, or direct=0, to run both tools alike)", name, out.Lines[i], which))
	}
	return out, nil
}

// setOpt sets option k of j to v, or, bare, k given alone (no "=").
func setOpt(j *Job, k, v string, bare bool, out *File, file string, line int, pragma bool) error {
	k = strings.TrimSpace(k)
	if k == "" {
		return &ParseError{File: file, Line: line, Err: fmt.Errorf("%w: empty option name", ErrSyntax)}
	}
	var err error
	if bare {
		err = j.SetBare(k)
	} else {
		err = j.Set(k, v)
	}
	var n *Notice
	if errors.As(err, &n) {
		out.Notices = append(out.Notices, fmt.Sprintf("%s:%d: %s", file, line, n.Error()))
		return nil
	}
	if err != nil {
		return &ParseError{File: file, Line: line, Option: k, Err: err}
	}
	if IsEngineOnly(k) && !pragma {
		out.Notices = append(out.Notices, fmt.Sprintf("%s:%d: %s is an iobench option; put it in a %q line so fio accepts the file too", file, line, k, Pragma))
	}
	return nil
}

// expandValue expands a value as fio does: ${VAR} from the environment
// (an unset one is an error) and fio's keywords $pagesize, $mb_memory and
// $ncpus, after which a value that is integer arithmetic (2*$ncpus) is
// computed. Any other $ is left as it is.
func expandValue(v string) (string, error) {
	if !strings.Contains(v, "$") {
		return v, nil
	}
	var b strings.Builder
	var unset []string
	keyword := false
	for i := 0; i < len(v); i++ {
		if v[i] != '$' {
			b.WriteByte(v[i])
			continue
		}
		if strings.HasPrefix(v[i:], "${") {
			end := strings.IndexByte(v[i:], '}')
			if end < 0 {
				b.WriteString(v[i:])
				break
			}
			name := v[i+2 : i+end]
			val, ok := os.LookupEnv(name)
			if !ok {
				unset = append(unset, "${"+name+"}")
			}
			b.WriteString(val)
			i += end
			continue
		}
		matched := false
		for _, k := range fioKeywords {
			if strings.HasPrefix(v[i+1:], k.name) {
				b.WriteString(strconv.FormatUint(k.value(), 10))
				i += len(k.name)
				keyword, matched = true, true
				break
			}
		}
		if !matched {
			b.WriteByte('$')
		}
	}
	if len(unset) > 0 {
		return "", fmt.Errorf("%s not set in the environment", strings.Join(unset, ", "))
	}
	out := b.String()
	if keyword {
		if n, ok := evalInt(out); ok {
			return strconv.FormatInt(n, 10), nil
		}
	}
	return out, nil
}

// fioKeywords are the $names fio replaces in a value with a property of
// the machine.
var fioKeywords = []struct {
	name  string
	value func() uint64
}{
	{"pagesize", func() uint64 { return uint64(os.Getpagesize()) }},
	{"mb_memory", func() uint64 {
		var si unix.Sysinfo_t
		if unix.Sysinfo(&si) != nil {
			return 0
		}
		return uint64(si.Totalram) * uint64(si.Unit) >> 20
	}},
	{"ncpus", onlineCPUs},
}

// onlineCPUs counts the online CPUs, as sysconf(_SC_NPROCESSORS_ONLN).
func onlineCPUs() uint64 {
	b, err := os.ReadFile("/sys/devices/system/cpu/online")
	if err != nil {
		return uint64(runtime.NumCPU())
	}
	n := uint64(0)
	for _, r := range strings.Split(strings.TrimSpace(string(b)), ",") {
		lo, hi, isRange := strings.Cut(r, "-")
		a, err1 := strconv.ParseUint(lo, 10, 32)
		z := a
		var err2 error
		if isRange {
			z, err2 = strconv.ParseUint(hi, 10, 32)
		}
		if err1 != nil || err2 != nil || z < a {
			return uint64(runtime.NumCPU())
		}
		n += z - a + 1
	}
	return n
}

// evalInt computes s if it is integer arithmetic: numbers, + - * / %,
// parentheses and spaces, with the usual precedence; division truncates,
// as bc's does at scale 0.
func evalInt(s string) (int64, bool) {
	p := exprParser{s: strings.ReplaceAll(s, " ", "")}
	n, ok := p.sum()
	return n, ok && p.i == len(p.s)
}

type exprParser struct {
	s     string
	i     int
	depth int // parentheses open, bounded by maxExprDepth
}

const maxExprDepth = 64

func (p *exprParser) sum() (int64, bool)     { return p.level("+-", p.product) }
func (p *exprParser) product() (int64, bool) { return p.level("*/%", p.factor) }

// level parses operands joined by the operators ops of one precedence
// level, left to right.
func (p *exprParser) level(ops string, operand func() (int64, bool)) (int64, bool) {
	a, ok := operand()
	for ok && p.i < len(p.s) && strings.IndexByte(ops, p.s[p.i]) >= 0 {
		op := p.s[p.i]
		p.i++
		var b int64
		if b, ok = operand(); ok {
			a, ok = apply(op, a, b)
		}
	}
	return a, ok
}

// apply computes a op b; division by zero fails.
func apply(op byte, a, b int64) (int64, bool) {
	switch {
	case op == '+':
		return a + b, true
	case op == '-':
		return a - b, true
	case op == '*':
		return a * b, true
	case b == 0:
		return 0, false
	case op == '/':
		return a / b, true
	}
	return a % b, true
}

// nested parses with f one level deeper, failing past maxExprDepth.
func (p *exprParser) nested(f func() (int64, bool)) (int64, bool) {
	if p.depth >= maxExprDepth {
		return 0, false
	}
	p.depth++
	defer func() { p.depth-- }()
	return f()
}

func (p *exprParser) factor() (int64, bool) {
	if p.i < len(p.s) && p.s[p.i] == '(' {
		p.i++
		n, ok := p.nested(p.sum)
		if !ok || p.i >= len(p.s) || p.s[p.i] != ')' {
			return 0, false
		}
		p.i++
		return n, true
	}
	if p.i < len(p.s) && p.s[p.i] == '-' {
		p.i++
		n, ok := p.nested(p.factor)
		return -n, ok
	}
	j := p.i
	for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
		p.i++
	}
	n, err := strconv.ParseInt(p.s[j:p.i], 10, 64)
	return n, err == nil
}

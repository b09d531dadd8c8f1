package runner

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestCLIUsageErrors checks that bad command lines are refused before any
// I/O with exit status 2 and a message naming what is wrong.
func TestCLIUsageErrors(t *testing.T) {
	dir := t.TempDir()
	img := filepath.Join(dir, "not-ext4.img")
	if err := os.WriteFile(img, make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		// Runner options given to a command they do not apply to.
		{[]string{"--rounds=3", "--parse-only"}, "--rounds does not apply to plain runs (only to 'iobench compare')"},
		{[]string{"compare", "--parse-only"}, "--parse-only does not apply to 'iobench compare'"},
		{[]string{"compare", "--output-format=json"}, "--output-format does not apply to 'iobench compare'"},
		{[]string{"bench", "--output=x"}, "--output does not apply to 'iobench bench'"},
		{[]string{"bench", "--rounds=2"}, "--rounds does not apply to 'iobench bench'"},
		// bench runs its own suite only.
		{[]string{"bench", "--rw=read"}, "bench takes no job options (got --rw)"},
		{[]string{"bench", "job.fio"}, "bench takes no job files (got job.fio)"},
		{[]string{"help", "nonsense"}, `help: no help on "nonsense"`},
		// A misspelt option is named with the nearest one, as fio
		// suggests one ("Did you mean iodepth?"); nothing near, nothing.
		{[]string{"--name=j", "--iodpeth=4", "--parse-only"}, `--iodpeth: unknown option: "iodpeth" (did you mean iodepth?)`},
		{[]string{"--name=j", "--outptu-format=json"}, `unknown option: "outptu-format" (did you mean output-format?)`},
		{[]string{"--name=j", "--Randrepeet=0"}, `unknown option: "Randrepeet" (did you mean randrepeat?)`},
		{[]string{"--cmdhelp=iodepht"}, `--cmdhelp=iodepht: unknown option: "iodepht" (did you mean iodepth?)`},
		{[]string{"--name=j", "--xyzzy=1"}, `unknown option: "xyzzy"` + "\n"},
		// A runner switch with a value it does not know is refused, not off.
		{[]string{"--readonly=y", "--rw=write", "--parse-only"}, "--readonly=y: want 1, true, on or yes"},
		// ext4.
		{[]string{"ext4"}, "ext4: missing command"},
		{[]string{"ext4", "bench", "extra"}, `ext4 bench: want no arguments, got "extra"`},
		{[]string{"ext4", "ls", "-l", img}, "ext4 ls: unknown option -l (ls takes no options)"},
		{[]string{"ext4", "ls", img, "--passes=3"}, "ext4 ls: unknown option --passes=3"},
		{[]string{"ext4", "cat", img}, "ext4 cat: want DEVICE PATH, got \"" + img + "\""},
		{[]string{"ext4", "cat", "a", "b", "c"}, `ext4 cat: want DEVICE PATH, got "a b c"`},
		{[]string{"ext4", "bench", "--rounds"}, "ext4 bench: --rounds needs a value"},
		{[]string{"ext4", "bench", "--runtime=0"}, "ext4 bench: --runtime=0: want whole seconds, at least 1"},
		{[]string{"ext4", "tree", img, "--passes", "abc"}, "ext4 tree: --passes=abc: want 1..1000"},
		{[]string{"ext4", "frob"}, `ext4: unknown command "frob"`},
		{[]string{"ext4", "cat", img, "/x"}, "not an ext2/3/4 filesystem"},
	} {
		code, out, errs := run(t, c.args...)
		if code != 2 || !strings.Contains(errs, c.want) {
			t.Errorf("%q: exit %d, stderr %q; want 2 and %q", c.args, code, errs, c.want)
		}
		if strings.Contains(errs, "goroutine ") || c.args[0] != "ext4" && out != "" {
			t.Errorf("%q: stdout %q, stderr %q", c.args, out, errs)
		}
	}
}

// TestCLIHelp checks each command's help: exit 0, on stdout, naming what
// the command does, its options and an example.
func TestCLIHelp(t *testing.T) {
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"compare", "--help"}, []string{"Usage: iobench compare", "--rounds", "--quick", "Needs fio", "Examples:", "default 3"}},
		{[]string{"help", "compare"}, []string{"Usage: iobench compare"}},
		{[]string{"bench", "-h"}, []string{"Usage: iobench bench", "--results", "--experiments", "workloads, qd, null", "Examples:"}},
		{[]string{"help", "bench"}, []string{"Usage: iobench bench"}},
		{[]string{"ext4", "ls", "--help"}, []string{"iobench ext4 ls DEVICE", "default 3", "Examples:"}},
		{[]string{"help", "ext4"}, []string{"iobench ext4 cat DEVICE PATH"}},
		{[]string{"--help"}, []string{"iobench help [bench|compare|ext4]", "Examples:", "--rounds"}},
	} {
		code, out, errs := run(t, c.args...)
		if code != 0 || errs != "" {
			t.Errorf("%q: exit %d, stderr %q", c.args, code, errs)
		}
		for _, w := range c.want {
			if !strings.Contains(out, w) {
				t.Errorf("%q: help lacks %q:\n%s", c.args, w, out)
			}
		}
	}
	// Every option listed for compare and bench is one they take.
	for _, cmd := range []string{"compare", "bench"} {
		_, out, _ := run(t, cmd, "--help")
		for _, k := range flagOrder {
			listed := strings.Contains(out, "  --"+k+" ")
			if k == "help" {
				continue
			}
			if takes := contains(flagScope[k], cmd); listed != takes {
				t.Errorf("%s --help: --%s listed %v, taken %v", cmd, k, listed, takes)
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestCLIBenchResultsGuard: bench refuses to empty a --results directory
// holding what it did not write, and leaves it as it was.
func TestCLIBenchResultsGuard(t *testing.T) {
	dir := t.TempDir()
	keep := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(keep, []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errs := run(t, "bench", "--results="+dir, "--experiments=null", "--quick")
	if code != 2 || !strings.Contains(errs, "holds notes.txt, which bench did not write") {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if b, err := os.ReadFile(keep); err != nil || string(b) != "mine" {
		t.Fatalf("notes.txt after the refusal: %q %v", b, err)
	}
	file := filepath.Join(dir, "notes.txt")
	if code, _, errs := run(t, "bench", "--results="+file, "--experiments=null"); code != 2 || !strings.Contains(errs, "not a directory") {
		t.Fatalf("file as --results: exit %d: %s", code, errs)
	}
	if err := checkResultsDir(filepath.Join(dir, "new")); err != nil {
		t.Errorf("a new directory: %v", err)
	}
	old := t.TempDir()
	for _, n := range []string{"summary.md", "a.fio.json", "p.svg"} {
		if err := os.WriteFile(filepath.Join(old, n), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := checkResultsDir(old); err != nil {
		t.Errorf("an old results directory: %v", err)
	}
}

// TestCLIMissingDevice: a --filename under /dev that does not exist is a
// mistyped device, refused (exit 2), not laid out as a file in devtmpfs.
func TestCLIMissingDevice(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: without it /dev is not writable and the refusal comes from elsewhere")
	}
	path := "/dev/iobench-cliaudit-no-such-device"
	t.Cleanup(func() { os.Remove(path) })
	code, _, errs := run(t, "--filename="+path, "--rw=read", "--size=1m", "--output-format=json")
	if code != 2 || !strings.Contains(errs, path+" does not exist: no such device") {
		t.Errorf("exit %d: %s", code, errs)
	}
	if _, err := os.Stat(path); err == nil {
		t.Errorf("%s was created", path)
	}
	if !underDev("/dev/nvme0nl") || underDev("/dev/shm/x") || underDev("/tmp/x") {
		t.Errorf("underDev")
	}
}

// TestCLICompareWithoutFio: compare says fio is missing (exit 1), after
// checking its input (bad input is exit 2 even without fio).
func TestCLICompareWithoutFio(t *testing.T) {
	bin := iobenchBinary(t)
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.fio")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"compare"}, 1, "compare: fio is not on PATH"},
		{[]string{"compare", empty}, 2, "no job sections"},
	} {
		cmd := exec.Command(bin, c.args...)
		cmd.Env = append(os.Environ(), "PATH="+dir)
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != c.code || !strings.Contains(string(out), c.want) || strings.Contains(string(out), "goroutine ") {
			t.Errorf("%q without fio: exit %d: %s; want %d and %q", c.args, code, out, c.code, c.want)
		}
	}
}

// TestCLIExt4Paths: ext4 ls/cat/tree on paths the filesystem does not
// have, or cat on a directory, are refused with exit 2 naming the path.
func TestCLIExt4Paths(t *testing.T) {
	img, _ := ext4Image(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"cat", img, "/no/such"}, "ext4 cat: ext4: no such file or directory: /no"},
		{[]string{"ls", img, "/missing"}, "ext4 ls: ext4: no such file or directory: /missing"},
		{[]string{"tree", img, "/missing"}, "ext4 tree: ext4: no such file or directory: /missing"},
		{[]string{"cat", img, "/"}, "ext4 cat: / is not a regular file but a directory: list it with 'iobench ext4 ls'"},
	} {
		code, out, errs := run(t, append([]string{"ext4"}, c.args...)...)
		if code != 2 || !strings.Contains(errs, c.want) || out != "" {
			t.Errorf("ext4 %q: exit %d, stdout %q, stderr %q; want 2 and %q", c.args, code, out, errs, c.want)
		}
	}
}

// TestCLIExt4CorruptPath: a lookup that fails on a corrupt directory block
// is not the user's mistyped path: exit 1, the checksum named, no hint to
// list a directory.
func TestCLIExt4CorruptPath(t *testing.T) {
	img, _ := ext4Image(t, "-b", "4096")
	if _, err := exec.LookPath("debugfs"); err != nil {
		t.Skipf("needs debugfs: %v", err)
	}
	out, err := exec.Command("debugfs", "-R", "blocks /", img).Output()
	blk, perr := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	if err != nil || perr != nil {
		t.Fatalf("debugfs blocks /: %q, %v, %v", out, err, perr)
	}
	f, err := os.OpenFile(img, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, blk*4096+40); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0xff
	if _, err := f.WriteAt(b, blk*4096+40); err != nil {
		t.Fatal(err)
	}
	f.Close()
	code, _, errs := run(t, "ext4", "ls", img, "/missing")
	if code != 1 || !strings.Contains(errs, "checksum mismatch") || strings.Contains(errs, "list a directory") {
		t.Errorf("exit %d, stderr %q; want 1 and the checksum mismatch", code, errs)
	}
}

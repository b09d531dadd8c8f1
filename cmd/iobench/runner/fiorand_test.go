package runner

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestRandomOffsetsAsFio runs small random jobs under the installed fio
// (ioengine=null) and under iobench (buffered, on files in a temporary
// directory), and compares the offsets each wrote to its write_iolog, file
// by file, in order: iobench draws fio's random offsets (fio 3.33's).
func TestRandomOffsetsAsFio(t *testing.T) {
	fio, err := exec.LookPath("fio")
	if err != nil {
		t.Skip("fio not installed (make deps installs it)")
	}
	// The I/O of a log: "file op offset" per read or write, the file by
	// its base name.
	ios := func(path string) []string {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, l := range strings.Split(string(b), "\n") {
			if f := strings.Fields(l); len(f) == 5 && (f[2] == "read" || f[2] == "write") {
				out = append(out, filepath.Base(f[1])+" "+f[2]+" "+f[3])
			}
		}
		return out
	}
	for _, c := range [][]string{
		{"--rw=randread", "--size=1m"},
		{"--rw=randread", "--size=1m", "--norandommap"},
		{"--rw=randwrite", "--size=4m", "--random_generator=lfsr"},
		{"--rw=randread", "--size=1m", "--random_generator=tausworthe64"},
		{"--rw=randread", "--size=1m", "--random_generator=tausworthe64", "--randrepeat=0", "--randseed=77"},
		{"--rw=randread", "--size=1m", "--randrepeat=0", "--randseed=5", "--norandommap"},
		{"--rw=randread", "--size=512k", "--bs=8k", "--blockalign=4k", "--norandommap"},
		{"--rw=randread", "--size=512k", "--offset=256k", "--bs=16k"},
		{"--rw=randread", "--size=512k", "--nrfiles=3"},
		{"--rw=randread", "--size=256k", "--loops=2"},
		{"--rw=randread", "--size=256k", "--loops=2", "--random_generator=lfsr"},
	} {
		name := strings.Join(c, " ")
		dir := t.TempDir()
		flog, ilog := filepath.Join(dir, "fio.log"), filepath.Join(dir, "iobench.log")
		args := append([]string{"--name=x", "--bs=4k"}, c...)
		cmd := exec.Command(fio, append(args, "--ioengine=null", "--write_iolog="+flog, "--output-format=terse")...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: fio: %v\n%s", name, err, out)
		}
		if code, _, errOut := run(t, append(args, "--directory="+dir, "--direct=0", "--write_iolog="+ilog, "--output-format=terse")...); code != 0 {
			t.Fatalf("%s: iobench: exit %d: %s", name, code, errOut)
		}
		f, i := ios(flog), ios(ilog)
		if len(f) == 0 || strings.Join(f, "\n") != strings.Join(i, "\n") {
			n := 0
			for n < min(len(f), len(i)) && f[n] == i[n] {
				n++
			}
			t.Errorf("%s: fio issued %d I/Os, iobench %d; the first %d alike, then fio %q, iobench %q", name, len(f), len(i), n,
				f[n:min(n+4, len(f))], i[n:min(n+4, len(i))])
		}
	}
}

package runner

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
)

// TestOwnLineNamesEachJobsFiles: each job's "iobench : ... on X" line names
// that job's own files, as opened (directory included), not the last
// job's.
func TestOwnLineNamesEachJobsFiles(t *testing.T) {
	dir := t.TempDir()
	jf := filepath.Join(dir, "two.fio")
	src := "[global]\nsize=320k\nrw=write\nbs=64k\ndirect=1\ndirectory=" + dir + "\n[a]\nfilename=a.dat\n[b]\nfilename=b.dat\n[c]\nnrfiles=5\n"
	if err := os.WriteFile(jf, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs := run(t, jf)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var got []string
	for _, m := range regexp.MustCompile(`(?m)^  iobench +: \S+ on (.*) \(Linux`).FindAllStringSubmatch(out, -1) {
		got = append(got, m[1])
	}
	want := []string{filepath.Join(dir, "a.dat"), filepath.Join(dir, "b.dat"), filepath.Join(dir, "c.0.0") + " and 4 more files"}
	if !slices.Equal(got, want) {
		t.Fatalf("target lines %q, want %q", got, want)
	}
}

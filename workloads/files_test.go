package workloads

import (
	"slices"
	"strings"
	"testing"
)

func jobWith(t *testing.T, kv ...string) Job {
	t.Helper()
	j := NewJob("job")
	for i := 0; i < len(kv); i += 2 {
		if err := j.Set(kv[i], kv[i+1]); err != nil {
			t.Fatalf("%s=%s: %v", kv[i], kv[i+1], err)
		}
	}
	if err := j.Validate(); err != nil {
		t.Fatal(err)
	}
	return j
}

// TestFilenameList: ':' separates names, '\:' is a colon inside one; a
// directory prefixes every name (fio prefixes absolute names too).
func TestFilenameList(t *testing.T) {
	for _, c := range []struct {
		filename, dir string
		want          []string
	}{
		{"/a", "", []string{"/a"}},
		{"/a:/b", "", []string{"/a", "/b"}},
		{`x\:y:w`, "", []string{"x:y", "w"}},
		{`/dev/disk/by-id/a\:b`, "", []string{"/dev/disk/by-id/a:b"}},
		{"a:b", "/d1:/d2", []string{"/d1/a", "/d1/b"}},
		{"a::b:", "", []string{"a", "b"}},
	} {
		kv := []string{"filename", c.filename}
		if c.dir != "" {
			kv = append(kv, "directory", c.dir)
		}
		j := jobWith(t, kv...)
		for clone := range 3 {
			if got := j.FilePaths(clone); !slices.Equal(got, c.want) {
				t.Errorf("filename=%s directory=%s clone %d: %q, want %q", c.filename, c.dir, clone, got, c.want)
			}
		}
		if j.NumFiles() != len(c.want) {
			t.Errorf("filename=%s: NumFiles %d, want %d", c.filename, j.NumFiles(), len(c.want))
		}
	}
}

// TestGeneratedNames: without filename each clone has nrfiles files of its
// own, jobname.clone.file, in the directories dealt out by clone.
func TestGeneratedNames(t *testing.T) {
	j := jobWith(t, "nrfiles", "2", "directory", "/d1:/d2", "numjobs", "3")
	want := [][]string{{"/d1/job.0.0", "/d1/job.0.1"}, {"/d2/job.1.0", "/d2/job.1.1"}, {"/d1/job.2.0", "/d1/job.2.1"}}
	for clone, w := range want {
		if got := j.FilePaths(clone); !slices.Equal(got, w) {
			t.Errorf("clone %d: %q, want %q", clone, got, w)
		}
	}
	j3 := jobWith(t, "nrfiles", "3")
	if got := j3.FilePaths(0); !slices.Equal(got, []string{"job.0.0", "job.0.1", "job.0.2"}) {
		t.Errorf("no directory: %q", got)
	}
	if a := NewJob("a"); a.NamesFiles() {
		t.Error("a job with no file options names files")
	}
}

// TestPlanFiles: sizes as fio gives them (checked against fio 3.33's
// laid-out files and I/O counts).
func TestPlanFiles(t *testing.T) {
	paths := []string{"a", "b", "c"}
	missing := []uint64{0, 0, 0}
	// size=16m over 3 files: 5592405 bytes each (not rounded, as fio).
	j := jobWith(t, "nrfiles", "3", "size", "16m")
	p, err := j.PlanFiles(paths, missing, 0)
	if err != nil || p[0] != (FilePlan{Need: 5592405, IO: 5592405}) {
		t.Fatalf("size/3: %v %v", p, err)
	}
	// size=1000960 over 1000 files of bs=512: 1000 bytes each and a
	// remainder of 960, one whole block, which the first file takes, as
	// fio's setup_files gives it.
	j = jobWith(t, "nrfiles", "1000", "size", "1000960", "bs", "512")
	many := make([]string, 1000)
	if p, err = j.PlanFiles(many, make([]uint64, 1000), 0); err != nil || p[0].IO != 1512 || p[1].IO != 1000 || p[999].IO != 1000 {
		t.Fatalf("size/1000 with a block over: %v %v", p[:2], err)
	}
	// No size: each file as it is; a missing one is an error naming it.
	j = jobWith(t, "nrfiles", "3")
	if p, err = j.PlanFiles(paths, []uint64{1 << 20, 2 << 20, 4 << 20}, 0); err != nil || p[2].IO != 4<<20 || p[2].Need != 4<<20 {
		t.Fatalf("existing files: %v %v", p, err)
	}
	if _, err = j.PlanFiles(paths, []uint64{1 << 20, 0, 4 << 20}, 0); err == nil || !strings.Contains(err.Error(), "b does not exist") {
		t.Fatalf("missing file without size: %v", err)
	}
	// fill_device on a missing file without a size: the error says that
	// fill_device, which fio runs until the filesystem is full, is what
	// is refused, not only that the file has no size.
	j = jobWith(t, "rw", "write", "fill_device", "1")
	if _, err = j.PlanFiles([]string{"datafile"}, []uint64{0}, 0); err == nil || !strings.Contains(err.Error(), "fill_device on datafile") || !strings.Contains(err.Error(), "until the filesystem is full is not implemented") {
		t.Fatalf("fill_device on a missing file without size: %v", err)
	}
	// filesize: fixed, kept when in range, drawn within bounds otherwise.
	j = jobWith(t, "nrfiles", "3", "filesize", "2m", "size", "4m")
	if p, _ = j.PlanFiles(paths, missing, 0); p[1].IO != 2<<20 {
		t.Fatalf("filesize=2m: %v", p)
	}
	j = jobWith(t, "nrfiles", "64", "filesize", "1m-4m", "bs", "16k")
	names := make([]string, 64)
	have := make([]uint64, 64)
	have[5] = 3 << 20
	p, err = j.PlanFiles(names, have, 0)
	if err != nil {
		t.Fatal(err)
	}
	distinct := map[uint64]bool{}
	for i, f := range p {
		if f.IO < 1<<20 || f.IO > 4<<20 || f.IO%(16<<10) != 0 || f.Need != f.IO {
			t.Errorf("file %d: %+v outside 1m-4m or not a multiple of 16k", i, f)
		}
		distinct[f.IO] = true
	}
	if p[5].IO != 3<<20 {
		t.Errorf("a file inside the range keeps its size: %+v", p[5])
	}
	if len(distinct) < 32 {
		t.Errorf("only %d distinct sizes in 64 draws", len(distinct))
	}
	q, _ := j.PlanFiles(names, have, 0)
	if !slices.Equal(p, q) {
		t.Error("sizes are not reproducible")
	}
	// The offset applies in every file: laid out to offset+size.
	j = jobWith(t, "nrfiles", "2", "size", "2m", "offset", "64k")
	if p, _ = j.PlanFiles(paths[:2], missing[:2], 0); p[0] != (FilePlan{Need: 64<<10 + 1<<20, IO: 1 << 20}) {
		t.Fatalf("offset: %v", p)
	}
}

// fileSequence runs a FileGen of n files of span bytes each and returns
// the file of each I/O over passes passes.
func fileSequence(t *testing.T, j Job, n int, span uint64, passes int) []int {
	t.Helper()
	gens := make([]*Generator, n)
	for i := range gens {
		gens[i] = NewGenerator(&j, 0, span)
	}
	g := NewFileGen(&j, 0, gens)
	if g.Span() != uint64(n)*span {
		t.Fatalf("span %d, want %d", g.Span(), uint64(n)*span)
	}
	var out []int
	for range uint64(passes) * g.Span() / j.BS[0] {
		f, _ := g.Next()
		out = append(out, f)
	}
	return out
}

func counts(seq []int, n int) []int {
	c := make([]int, n)
	for _, f := range seq {
		c[f]++
	}
	return c
}

// TestFileService: the order of files for each file_service_type, as
// fio 3.33's iolog shows it for the same jobs.
func TestFileService(t *testing.T) {
	const span = 16 << 10 // 4 I/Os of 4k per file and pass
	str := func(s []int) string {
		var b strings.Builder
		for _, f := range s {
			b.WriteByte(byte('0' + f))
		}
		return b.String()
	}
	for _, c := range []struct {
		fst, want string
	}{
		{"roundrobin", "0123012301230123" + "0123012301230123"},
		{"roundrobin:3", "000111222333" + "0123" + "000111222333" + "0123"},
		{"sequential", "0000111122223333" + "0000111122223333"},
	} {
		// fio --name=x --ioengine=null --rw=write --size=64k --nrfiles=4 --loops=2 --file_service_type=FST
		j := jobWith(t, "rw", "write", "file_service_type", c.fst, "loops", "2")
		if got := str(fileSequence(t, j, 4, span, 2)); got != c.want {
			t.Errorf("%s: %s, want %s", c.fst, got, c.want)
		}
	}
	// random: every file takes exactly its share of each pass (a file
	// that is done is not drawn again until the pass ends), in runs of N.
	for _, fst := range []string{"random", "random:4"} {
		j := jobWith(t, "rw", "randwrite", "file_service_type", fst)
		seq := fileSequence(t, j, 4, 1<<20, 3)
		for pass := range 3 {
			if c := counts(seq[pass*1024:(pass+1)*1024], 4); !slices.Equal(c, []int{256, 256, 256, 256}) {
				t.Errorf("%s: pass %d: %v", fst, pass, c)
			}
		}
		if fst == "random:4" {
			for i := 0; i < 512; i += 4 {
				if seq[i] != seq[i+1] || seq[i] != seq[i+3] {
					t.Fatalf("random:4: run at %d is %v", i, seq[i:i+4])
				}
			}
		} else if str(seq[:64]) == str(fileSequence(t, jobWith(t, "rw", "randwrite"), 4, 1<<20, 1)[:64]) {
			t.Error("random follows roundrobin's order")
		}
	}
}

// TestFileGenOneFile: one file is its Generator, unchanged.
func TestFileGenOneFile(t *testing.T) {
	j := jobWith(t, "rw", "randrw", "bsrange", "4k-64k")
	a, b := NewGenerator(&j, 0, 8<<20), NewGenerator(&j, 0, 8<<20)
	g := NewFileGen(&j, 0, []*Generator{b})
	for range 10000 {
		f, io := g.Next()
		if want := a.Next(); f != 0 || io != want {
			t.Fatalf("file %d %+v, want 0 %+v", f, io, want)
		}
	}
}

// TestFileGenBudget: with filesize and size, a pass covers size bytes of
// all the files together (fio: size=4m filesize=2m nrfiles=4 writes 4m,
// file_service_type=sequential fills the first two files).
func TestFileGenBudget(t *testing.T) {
	j := jobWith(t, "rw", "write", "size", "4m", "filesize", "2m", "nrfiles", "4", "file_service_type", "sequential")
	gens := make([]*Generator, 4)
	for i := range gens {
		c := j.Clone()
		c.Size = 2 << 20
		gens[i] = NewGenerator(&c, 0, 2<<20)
	}
	g := NewFileGen(&j, 0, gens)
	if g.Span() != 4<<20 {
		t.Fatalf("span %d", g.Span())
	}
	var seq []int
	for range g.Span() / 4096 {
		f, _ := g.Next()
		seq = append(seq, f)
	}
	if c := counts(seq, 4); !slices.Equal(c, []int{512, 512, 0, 0}) {
		t.Fatalf("per file %v", c)
	}
}

// TestFileGenBudgetOneFile: size caps a pass over one file of filesize
// too, its offsets drawn over the whole file (fio 3.33: filename=f
// filesize=16m size=2m rw=randread bs=4k reads 512 distinct blocks spread
// over the 16 MiB).
func TestFileGenBudgetOneFile(t *testing.T) {
	j := jobWith(t, "rw", "randread", "size", "2m", "filesize", "16m")
	c := j.Clone()
	c.Size = 16 << 20
	g := NewFileGen(&j, 0, []*Generator{NewGenerator(&c, 0, 16<<20)})
	if g.Span() != 2<<20 {
		t.Fatalf("span %d, want 2 MiB", g.Span())
	}
	var hi uint64
	seen := map[uint64]bool{}
	for range g.Span() / 4096 {
		_, io := g.Next()
		hi = max(hi, io.Offset)
		seen[io.Offset] = true
	}
	if len(seen) != 512 || hi < 8<<20 {
		t.Errorf("%d distinct offsets up to %d, want 512 spread over 16 MiB", len(seen), hi)
	}
}

// TestFileOptionErrors: refusals and bad combinations name the option.
func TestFileOptionErrors(t *testing.T) {
	for _, c := range []struct {
		kv   []string
		want string
	}{
		{[]string{"filename", "/a:/b", "mapper", "cow"}, "mapper=cow runs on one file"},
		{[]string{"nrfiles", "4", "openfiles", "2"}, "openfiles=2 is below the job's 4 files"},
		{[]string{"filename", "/a:/b", "size", "50%"}, "percentages take one target"},
		{[]string{"filename", ":"}, "names no file"},
	} {
		j := NewJob("j")
		for i := 0; i < len(c.kv); i += 2 {
			if err := j.Set(c.kv[i], c.kv[i+1]); err != nil {
				t.Fatal(err)
			}
		}
		if err := j.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want %q", c.kv, err, c.want)
		}
	}
	j := jobWith(t, "nrfiles", "4", "openfiles", "4")
	if j.OpenFiles != 4 {
		t.Error("openfiles=4 with 4 files")
	}
}

// TestPlanFilesClonesToEnd: without size each clone covers a file from its
// own start (offset + n*offset_increment) to the end, as fio 3.33's
// clones do (numjobs=4 offset_increment=16m on 64 MiB: 64, 48, 32 and 16
// MiB); a clone at or past the end is an error naming it, what fio says
// of it, and the numjobs that fit.
func TestPlanFilesClonesToEnd(t *testing.T) {
	j := jobWith(t, "numjobs", "4", "offset_increment", "16m", "bs", "1m")
	if !j.ToEnd() {
		t.Fatal("a job without size or filesize: not ToEnd")
	}
	for c, want := range []uint64{64 << 20, 48 << 20, 32 << 20, 16 << 20} {
		p, err := j.PlanFiles([]string{"f"}, []uint64{64 << 20}, c)
		if err != nil || p[0] != (FilePlan{Need: 64 << 20, IO: want}) {
			t.Errorf("clone %d: %+v %v, want %d bytes to the end", c, p, err, want)
		}
	}
	j = jobWith(t, "numjobs", "4", "offset_increment", "32m", "bs", "1m")
	if n := j.ClonesFitting(64 << 20); n != 2 {
		t.Errorf("ClonesFitting: %d, want 2", n)
	}
	for c, want := range map[int]string{2: `clone 2 starts at 67108864 (offset 0 + 2 x offset_increment 33554432), at the end of f (67108864 bytes)`,
		3: `clone 3 starts at 100663296 (offset 0 + 3 x offset_increment 33554432), past the end of f (67108864 bytes)`} {
		_, err := j.PlanFiles([]string{"f"}, []uint64{64 << 20}, c)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "give numjobs=2 or less") {
			t.Errorf("clone %d: %v, want %q", c, err, want)
		}
	}
	if j := jobWith(t, "numjobs", "4", "offset_increment", "16m", "size", "16m"); j.ToEnd() {
		t.Error("a job with size: ToEnd")
	}
	// filesize: the regions run to the file's end as filesize sizes it
	// (fio 3.33, offset=1m filesize=2m: 1 MiB read, the file laid out to
	// 2 MiB), size bounding only the bytes moved.
	j = jobWith(t, "numjobs", "3", "offset", "1m", "offset_increment", "512k", "filesize", "2m", "size", "4m", "bs", "256k")
	if !j.ToEnd() {
		t.Error("a job with filesize: not ToEnd")
	}
	for c, want := range []uint64{1 << 20, 512 << 10} {
		p, err := j.PlanFiles([]string{"f"}, []uint64{8 << 20}, c)
		if err != nil || p[0] != (FilePlan{Need: 2 << 20, IO: want}) {
			t.Errorf("filesize, clone %d: %+v %v, want %d bytes to 2 MiB", c, p, err, want)
		}
	}
	if _, err := j.PlanFiles([]string{"f"}, []uint64{0}, 2); err == nil || !strings.Contains(err.Error(), "clone 2 starts at 2097152") || !strings.Contains(err.Error(), "with filesize= each clone covers") {
		t.Errorf("filesize, clone 2 at the end: %v", err)
	}
	j = jobWith(t, "offset", "2m", "filesize", "2m")
	if _, err := j.PlanFiles([]string{"f"}, []uint64{0}, 0); err == nil || !strings.Contains(err.Error(), "offset 2097152 is at or past the end of f, 2097152 bytes with filesize=2m") {
		t.Errorf("filesize, offset at the end: %v", err)
	}
}

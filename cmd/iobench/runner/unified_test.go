package runner

import (
	"bytes"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// unifiedFile is a sparse file of size bytes in a test's directory, for
// jobs to read and write.
func unifiedFile(t *testing.T, size int64) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "u.dat")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return path
}

// obj returns the object at path in m (nil when there is none).
func obj(m map[string]any, path ...string) map[string]any {
	for _, k := range path {
		m, _ = m[k].(map[string]any)
	}
	return m
}

// TestUnifiedBothSumsDirections: with unified_rw_reporting=both, the
// mixed direction of a randrw job on a file is its reads and writes
// summed: I/Os and bytes add up, the runtime is the longer one, each
// latency's minimum and maximum are the directions' extremes, its mean
// their weighted mean, its deviation theirs combined, its json+ bins the
// directions' bins added up, and its percentiles read from those bins;
// the bandwidth and IOPS samples are the directions' added period by
// period. The terse line's mixed block follows its read and write blocks
// and agrees with the JSON.
func TestUnifiedBothSumsDirections(t *testing.T) {
	path := unifiedFile(t, 8<<20)
	code, out, errs := run(t, "--name=u", "--filename="+path, "--rw=randrw", "--bs=4k", "--size=8m", "--iodepth=4",
		"--runtime=300ms", "--time_based", "--rate_iops=3000,1500", "--bwavgtime=100", "--iopsavgtime=100",
		"--lat_percentiles=1", "--slat_percentiles=1", "--percentile_list=1:50:90:99:99.9",
		"--unified_rw_reporting=both", "--output-format=json+,terse")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	terse, rest, _ := strings.Cut(out, "\n")
	docs := decodeAll(t, rest)
	if len(docs) != 1 {
		t.Fatalf("%d JSON documents", len(docs))
	}
	job := docs[0]["jobs"].([]any)[0].(map[string]any)
	rd, wr, tr, mx := obj(job, "read"), obj(job, "write"), obj(job, "trim"), obj(job, "mixed")
	if rd == nil || wr == nil || tr == nil || mx == nil || obj(job, "sync") == nil {
		t.Fatalf("both: want read, write, trim, sync and mixed: %v", job)
	}
	dirs := []map[string]any{rd, wr}
	if num(t, rd, "total_ios") == 0 || num(t, wr, "total_ios") == 0 {
		t.Fatalf("want reads and writes: %v", job)
	}
	for _, k := range []string{"total_ios", "io_bytes", "io_kbytes"} {
		if got, want := num(t, mx, k), num(t, rd, k)+num(t, wr, k)+num(t, tr, k); got != want {
			t.Errorf("mixed %s %v, read+write+trim %v", k, got, want)
		}
	}
	if got, want := num(t, mx, "runtime"), max(num(t, rd, "runtime"), num(t, wr, "runtime")); got != want {
		t.Errorf("mixed runtime %v, the longer direction's %v", got, want)
	}
	if got, want := num(t, mx, "iops"), num(t, mx, "total_ios")*1000/num(t, mx, "runtime"); math.Abs(got-want) > want*0.01 {
		t.Errorf("mixed iops %v, its I/Os over its runtime %v", got, want)
	}
	for _, lat := range []string{"slat_ns", "clat_ns", "lat_ns"} {
		checkMergedLat(t, lat, obj(mx, lat), obj(rd, lat), obj(wr, lat))
	}
	// Samples: every period's rates added, so the mean is the sum of the
	// directions' means, the minimum at least the sum of their minimums,
	// the maximum at most the sum of their maximums, one sample a period.
	for _, s := range [][5]string{{"bw_samples", "bw_mean", "bw_min", "bw_max", "bw_dev"}, {"iops_samples", "iops_mean", "iops_min", "iops_max", "iops_stddev"}} {
		n := num(t, mx, s[0])
		if n == 0 || n != num(t, rd, s[0]) || n != num(t, wr, s[0]) {
			t.Errorf("%s: mixed %v, read %v, write %v: want one a period", s[0], n, num(t, rd, s[0]), num(t, wr, s[0]))
			continue
		}
		var mean, lo, hi float64
		for _, d := range dirs {
			mean, lo, hi = mean+num(t, d, s[1]), lo+num(t, d, s[2]), hi+num(t, d, s[3])
		}
		if got := num(t, mx, s[1]); math.Abs(got-mean) > 1e-3*mean+1e-6 {
			t.Errorf("mixed %s %v, the directions' add up to %v", s[1], got, mean)
		}
		// The JSON's minimums and maximums are whole: allow one per direction.
		if got := num(t, mx, s[2]); got < lo-2 || got > num(t, mx, s[1]) {
			t.Errorf("mixed %s %v: below the directions' %v, or above the mean", s[2], got, lo)
		}
		if got := num(t, mx, s[3]); got > hi+2 || got < num(t, mx, s[1]) {
			t.Errorf("mixed %s %v: above the directions' %v, or below the mean", s[3], got, hi)
		}
	}
	// Terse: read, write, then mixed (41 fields each), as fio 3.33 writes
	// them with both; the mixed block is the JSON's.
	f := strings.Split(terse, ";")
	if got := terseBlocks(t, f); got != 3 {
		t.Fatalf("terse: %d direction blocks, want 3 (read, write, mixed):\n%s", got, terse)
	}
	if f[5+82] != strconv.FormatFloat(num(t, mx, "io_kbytes"), 'f', -1, 64) || f[5+82+3] != strconv.FormatFloat(num(t, mx, "runtime"), 'f', -1, 64) {
		t.Errorf("terse mixed block %v, JSON io_kbytes %v runtime %v", f[87:91], num(t, mx, "io_kbytes"), num(t, mx, "runtime"))
	}
}

// checkMergedLat checks the latency object mixed against the directions'
// it merges (parts): N adds up, minimum and maximum are the extremes, the
// mean is weighted, the deviation combined, json+'s bins add up, and the
// percentiles are those of the bins added up.
func checkMergedLat(t *testing.T, name string, mixed map[string]any, parts ...map[string]any) {
	t.Helper()
	var n, sum float64
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, p := range parts {
		n += num(t, p, "N")
		sum += num(t, p, "N") * num(t, p, "mean")
		if num(t, p, "N") > 0 {
			lo, hi = min(lo, num(t, p, "min")), max(hi, num(t, p, "max"))
		}
	}
	if num(t, mixed, "N") != n || n == 0 {
		t.Fatalf("%s: mixed N %v, the directions' add up to %v", name, num(t, mixed, "N"), n)
	}
	if num(t, mixed, "min") != lo || num(t, mixed, "max") != hi {
		t.Errorf("%s: mixed min %v max %v, the directions' %v and %v", name, num(t, mixed, "min"), num(t, mixed, "max"), lo, hi)
	}
	mean := sum / n
	if got := num(t, mixed, "mean"); math.Abs(got-mean) > 1e-6*mean {
		t.Errorf("%s: mixed mean %v, the directions' weighted %v", name, got, mean)
	}
	// The deviation of the I/Os together, from each direction's (law of
	// total variance): all written with one convention, so compare the
	// squares' ratio n/(n-1) either way.
	var within, between float64
	for _, p := range parts {
		k, m, sd := num(t, p, "N"), num(t, p, "mean"), num(t, p, "stddev")
		within += k * sd * sd
		between += k * (m - mean) * (m - mean)
	}
	pop := math.Sqrt((within + between) / n)
	if got := num(t, mixed, "stddev"); math.Abs(got-pop) > 1e-3*pop+1e-6 {
		t.Errorf("%s: mixed stddev %v, the directions' combined %v", name, got, pop)
	}
	// json+: the bins add up, key by key.
	bins := map[uint64]float64{}
	for _, p := range parts {
		for k, v := range obj(p, "bins") {
			ns, _ := strconv.ParseUint(k, 10, 64)
			bins[ns] += v.(float64)
		}
	}
	got := map[uint64]float64{}
	for k, v := range obj(mixed, "bins") {
		ns, _ := strconv.ParseUint(k, 10, 64)
		got[ns] = v.(float64)
	}
	if len(bins) == 0 || len(got) != len(bins) {
		t.Errorf("%s: mixed has %d bins, the directions %d distinct", name, len(got), len(bins))
	}
	for ns, c := range bins {
		if got[ns] != c {
			t.Errorf("%s: mixed bin %d holds %v, the directions' %v", name, ns, got[ns], c)
		}
	}
	// Each percentile is in the bin where the bins' cumulative count
	// reaches its rank (or the next: a percentile is the highest value of
	// iobench's own, finer, bucket), a rank either way allowed for
	// rounding.
	keys := slices.Sorted(func(yield func(uint64) bool) {
		for k := range bins {
			if !yield(k) {
				return
			}
		}
	})
	binOf := func(rank float64) int {
		var cum float64
		for _, k := range keys {
			cum += bins[k]
			if cum >= rank {
				return fioPlatIdx(k)
			}
		}
		return fioPlatIdx(keys[len(keys)-1])
	}
	pcts := obj(mixed, "percentile")
	if len(pcts) != 5 {
		t.Errorf("%s: mixed percentiles %v, want percentile_list's 5", name, pcts)
	}
	for k, v := range pcts {
		p, _ := strconv.ParseFloat(k, 64)
		rank := math.Ceil(p / 100 * n)
		idx := fioPlatIdx(uint64(v.(float64)))
		ok := false
		for _, r := range []float64{rank - 1, rank, rank + 1} {
			if b := binOf(max(r, 1)); idx == b || idx == b+1 {
				ok = true
			}
		}
		if !ok {
			t.Errorf("%s: mixed p%s = %v ns is not where the merged bins put rank %v", name, k, v, rank)
		}
	}
}

// terseBlocks counts the direction blocks (41 fields each) of a terse
// line's fields: they follow the 5 header fields, up to the CPU's two
// percentages.
func terseBlocks(t *testing.T, f []string) int {
	t.Helper()
	for k := 0; 5+41*k+1 < len(f); k++ {
		if strings.HasSuffix(f[5+41*k], "%") && strings.HasSuffix(f[5+41*k+1], "%") {
			return k
		}
	}
	t.Fatalf("terse line without CPU fields: %q", strings.Join(f, ";"))
	return 0
}

// unifiedFioArgs is a short null-engine job for iobench and fio alike:
// two clones reported as one, reads, writes and fsync, a log.
func unifiedFioArgs(t *testing.T, mode string) []string {
	path := unifiedFile(t, 16<<20)
	return []string{"--name=u", "--ioengine=null", "--filename=" + path, "--rw=randrw", "--bs=4k", "--size=2m",
		"--numjobs=2", "--group_reporting", "--fsync=16", "--unified_rw_reporting=" + mode}
}

// TestUnifiedMixedJSONAsFio: with mixed, a job's JSON has a mixed object
// in place of read, write, trim and sync, with fio's fields and number
// kinds; with both, the mixed object follows them. The terse line has
// one direction block with mixed, three with both. Compared with fio
// 3.33's own output for the same job where fio is installed. Clones
// merged by group_reporting add up in the mixed object, and the logs
// keep each I/O's direction.
func TestUnifiedMixedJSONAsFio(t *testing.T) {
	dirKeys := func(job map[string]any) []string {
		var ks []string
		for _, k := range []string{"read", "write", "trim", "sync", "mixed"} {
			if _, ok := job[k]; ok {
				ks = append(ks, k)
			}
		}
		return ks
	}
	fio, fioErr := exec.LookPath("fio")
	for _, c := range []struct {
		mode   string
		keys   []string
		blocks int
	}{{"mixed", []string{"mixed"}, 1}, {"1", []string{"mixed"}, 1}, {"both", []string{"read", "write", "trim", "sync", "mixed"}, 3}, {"2", []string{"read", "write", "trim", "sync", "mixed"}, 3}} {
		args := unifiedFioArgs(t, c.mode)
		// fio (for the spellings fio's help names first) runs while
		// iobench does.
		var fout, ferr bytes.Buffer
		compare := fioErr == nil && (c.mode == "mixed" || c.mode == "both")
		cmd := exec.Command(fio, append(args, "--output-format=json+,terse")...)
		cmd.Stdout, cmd.Stderr, cmd.Dir = &fout, &ferr, t.TempDir()
		if compare {
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
		}
		logDir := t.TempDir()
		code, out, errs := run(t, append(args, "--write_lat_log="+filepath.Join(logDir, "l"), "--output-format=json+,terse")...)
		if compare {
			if err := cmd.Wait(); err != nil {
				t.Fatalf("fio: %v\n%s", err, ferr.String())
			}
		}
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", c.mode, code, errs)
		}
		terse, rest, _ := strings.Cut(out, "\n")
		job := decodeAll(t, rest)[0]["jobs"].([]any)[0].(map[string]any)
		if got := dirKeys(job); !slices.Equal(got, c.keys) {
			t.Errorf("%s: job keys %v, want %v", c.mode, got, c.keys)
		}
		if got := num(t, job, "mixed", "total_ios"); got != 2*(2<<20)/4096 {
			t.Errorf("%s: mixed total_ios %v, want two clones' %d", c.mode, got, 2*(2<<20)/4096)
		}
		if got := terseBlocks(t, strings.Split(terse, ";")); got != c.blocks {
			t.Errorf("%s: %d terse direction blocks, want %d", c.mode, got, c.blocks)
		}
		log, err := os.ReadFile(filepath.Join(logDir, "l_clat.1.log"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(log, []byte(", 0, 4096, ")) || !bytes.Contains(log, []byte(", 1, 4096, ")) {
			t.Errorf("%s: the clat log has lost the I/Os' directions:\n%.300s", c.mode, log)
		}
		if c.mode == "mixed" || c.mode == "both" {
			checkClat2CSV(t, c.mode, rest)
		}
		if !compare {
			continue
		}
		fterse, frest, _ := strings.Cut(fout.String(), "\n")
		fdoc := decodeAll(t, frest[strings.IndexByte(frest, '{'):])
		fjob := fdoc[0]["jobs"].([]any)[0].(map[string]any)
		if f, i := dirKeys(fjob), dirKeys(job); !slices.Equal(f, i) {
			t.Errorf("%s: fio's job has %v, iobench's %v", c.mode, f, i)
		}
		if f := terseBlocks(t, strings.Split(fterse, ";")); f != c.blocks {
			t.Errorf("%s: fio's terse line has %d direction blocks, the test wants %d", c.mode, f, c.blocks)
		}
		ours, theirs := jsonKinds(t, []byte(rest)), jsonKinds(t, []byte(frest))
		shared := 0
		for p, k := range theirs {
			if !strings.HasPrefix(p, ".jobs[].mixed.") {
				continue
			}
			shared++
			if ours[p] != k {
				t.Errorf("%s: %s: fio writes %s, iobench %q", c.mode, p, k, ours[p])
			}
		}
		if shared < 30 {
			t.Errorf("%s: only %d number fields in fio's mixed object", c.mode, shared)
		}
	}
	if fioErr != nil {
		t.Skip("fio is not installed (make deps installs it): checked without comparing")
	}
}

// checkClat2CSV runs fio_jsonplus_clat2csv on json+ output js of a job
// reported with mode: with both it converts the job (leaving mixed aside)
// and validates its CSV; with mixed it stops for want of a read object,
// as it does on fio's own JSON, which the README says.
func checkClat2CSV(t *testing.T, mode, js string) {
	t.Helper()
	dir := t.TempDir()
	tool := fioTool(t, "fio_jsonplus_clat2csv", dir)
	if _, err := os.Stat(sysPython); err != nil {
		return
	}
	if err := os.WriteFile(filepath.Join(dir, "out.json"), []byte(js), 0o644); err != nil {
		t.Fatal(err)
	}
	clat2csv := func(args ...string) (string, error) {
		out, err := exec.Command(sysPython, append([]string{tool, filepath.Join(dir, "out.json"), filepath.Join(dir, "out.csv")}, args...)...).CombinedOutput()
		return string(out), err
	}
	out, err := clat2csv()
	if err == nil {
		out, err = clat2csv("--validate") // it checks the CSV it wrote
	}
	switch {
	case mode == "both" && (err != nil || !strings.Contains(out, "validated")):
		t.Errorf("%s: fio_jsonplus_clat2csv: %v\n%s", mode, err, out)
	case mode == "mixed" && (err == nil || !strings.Contains(out, "KeyError: 'read'")):
		t.Errorf("%s: fio_jsonplus_clat2csv, which fails on fio's JSON with mixed: %v\n%s", mode, err, out)
	}
}

// TestUnifiedNormal: the normal report with mixed gives a mixed section in
// place of the read and write ones, the I/Os summed in issued rwts' first
// field and a MIXED group line in place of READ and WRITE; with both, the
// mixed section and the MIXED line follow the directions', with the
// directions' I/Os and bytes summed (fio 3.33 prints zeros there). Its
// lines are of fio's kinds, in fio's order (compared with fio's own
// report of a short timed job where fio is installed).
func TestUnifiedNormal(t *testing.T) {
	fio, fioErr := exec.LookPath("fio")
	for _, mode := range []string{"mixed", "both"} {
		code, out, errs := run(t, unifiedFioArgs(t, mode)...)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", mode, code, errs)
		}
		kinds, lines := lineKinds(t, out)
		var heads, groups []string
		for i, k := range kinds {
			switch k {
			case "direction":
				heads = append(heads, strings.Fields(lines[i])[0])
			case "group line":
				groups = append(groups, strings.Fields(lines[i])[0])
			}
		}
		wantHeads, wantGroups := []string{"mixed:"}, []string{"MIXED:"}
		if mode == "both" {
			wantHeads, wantGroups = []string{"read:", "write:", "mixed:"}, []string{"READ:", "WRITE:", "MIXED:"}
		}
		if !slices.Equal(heads, wantHeads) || !slices.Equal(groups, wantGroups) {
			t.Errorf("%s: sections %v and group lines %v, want %v and %v\n%s", mode, heads, groups, wantHeads, wantGroups, out)
		}
		// Two clones of 2 MiB: 4 MiB and 1024 I/Os in the mixed line,
		// 1024 I/Os in the first issued field with mixed.
		if !regexp.MustCompile(`(?m)^  mixed: IOPS=\S+, BW=\S+ \(\S+\)\(4096KiB/\d+msec\)$`).MatchString(out) ||
			!regexp.MustCompile(`(?m)^  MIXED: bw=.*, io=4096KiB \(4194kB\), run=`).MatchString(out) {
			t.Errorf("%s: mixed line or MIXED group line without the 4 MiB done:\n%s", mode, out)
		}
		issued := regexp.MustCompile(`issued rwts: total=(\d+),(\d+),0,(\d+) `).FindStringSubmatch(out)
		switch {
		case issued == nil:
			t.Errorf("%s: no issued line:\n%s", mode, out)
		case mode == "mixed" && (issued[1] != "1024" || issued[2] != "0"):
			t.Errorf("%s: issued %v, want the 1024 I/Os in the first field", mode, issued[1:])
		case mode == "both" && (issued[1] == "1024" || issued[2] == "0"):
			t.Errorf("%s: issued %v, want reads and writes apart", mode, issued[1:])
		}
		if !strings.Contains(out, "  fsync/fdatasync/sync_file_range:\n") {
			t.Errorf("%s: the flushes' lines are gone:\n%s", mode, out)
		}
		if fioErr != nil {
			continue
		}
		// A timed job, long enough for bandwidth samples, and deep enough
		// for fio's null engine to time submissions (slat); fio runs
		// while iobench does.
		args := append(unifiedFioArgs(t, mode), "--iodepth=4", "--runtime=300ms", "--time_based", "--rate_iops=1000",
			"--bwavgtime=100", "--iopsavgtime=100")
		var fout, ferr bytes.Buffer
		cmd := exec.Command(fio, args...)
		cmd.Stdout, cmd.Stderr, cmd.Dir = &fout, &ferr, t.TempDir()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		code, out, errs = run(t, args...)
		if err := cmd.Wait(); err != nil {
			t.Fatalf("fio: %v\n%s", err, ferr.String())
		}
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", mode, code, errs)
		}
		kinds, _ = lineKinds(t, out)
		// fio 3.33's mixed line with both prints zeros, "BW=0 (0)(0B/";
		// as the numbers it stands for, the line is of the usual kind.
		fixed := strings.Replace(fout.String(), "BW=0 (0)(0B/", "BW=0B/s (0B/s)(0B/", 1)
		fioKinds, _ := lineKinds(t, fixed)
		if f, i := collapse(fioKinds), collapse(kinds); !slices.Equal(f, i) {
			t.Errorf("%s: line kinds differ\nfio:     %q\niobench: %q\nfio's report:\n%s\niobench's:\n%s", mode, f, i, fout.String(), out)
		}
	}
	if fioErr != nil {
		t.Skip("fio is not installed (make deps installs it): checked without comparing")
	}
}

// TestUnifiedMixedGroup: in a group whose jobs differ in the option, each
// job's section follows its own, and the group has the lines any of its
// jobs asks for, each over all of them: READ and WRITE add up the
// directions of every job (also of the one reporting mixed), MIXED the
// directions of every job summed. (fio 3.33 labels both of its lines
// MIXED there, the first holding the reads and the mixed job's sum.)
func TestUnifiedMixedGroup(t *testing.T) {
	path := unifiedFile(t, 8<<20)
	code, out, errs := run(t, "--ioengine=null", "--filename="+path, "--rw=randrw", "--bs=4k", "--size=4m",
		"--name=a", "--name=b", "--unified_rw_reporting=mixed")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	a, b, ok := strings.Cut(out, "\nb: (groupid=0")
	if !ok || !strings.Contains(a, "\n  read: ") || !strings.Contains(a, "\n  write: ") || strings.Contains(a, "\n  mixed: ") {
		t.Fatalf("job a (none): want read and write sections:\n%s", out)
	}
	b, status, _ := strings.Cut(b, "\nRun status group 0 (all jobs):\n")
	if strings.Contains(b, "\n  read: ") || strings.Contains(b, "\n  write: ") || !strings.Contains(b, "\n  mixed: IOPS=") {
		t.Fatalf("job b (mixed): want a mixed section only:\n%s", out)
	}
	io := map[string]float64{}
	for _, m := range regexp.MustCompile(`(?m)^ *(READ|WRITE|MIXED): bw=.*, io=(\d+)KiB `).FindAllStringSubmatch(status, -1) {
		io[m[1]], _ = strconv.ParseFloat(m[2], 64)
	}
	keys := slices.Collect(func(yield func(string) bool) {
		for k := range io {
			if !yield(k) {
				return
			}
		}
	})
	sort.Strings(keys)
	if !slices.Equal(keys, []string{"MIXED", "READ", "WRITE"}) || io["MIXED"] != 8192 || io["READ"]+io["WRITE"] != 8192 {
		t.Errorf("group lines %v, want READ and WRITE adding up to MIXED's 8192KiB (two jobs of 4 MiB):\n%s", io, status)
	}
}

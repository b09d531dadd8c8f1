package workloads

import (
	"errors"
	"strings"
	"testing"
)

// TestSizePercent: size=50% is accepted (as --help says) and kept as a
// share of the target for the runner to resolve; 0% and 150% are not.
func TestSizePercent(t *testing.T) {
	j := NewJob("x")
	if err := j.Set("size", "50%"); err != nil {
		t.Fatal(err)
	}
	if j.SizePct != 50 || j.Size != 0 {
		t.Fatalf("size=50%%: SizePct %g, Size %d", j.SizePct, j.Size)
	}
	if got := j.Values(); !strings.Contains(strings.Join(flat(got), " "), "size 50%") {
		t.Fatalf("values %v do not say size=50%%", got)
	}
	if err := j.Set("size", "16m"); err != nil || j.SizePct != 0 || j.Size != 16<<20 {
		t.Fatalf("size=16m after 50%%: %v, SizePct %g, Size %d", err, j.SizePct, j.Size)
	}
	for _, bad := range []string{"0%", "150%", "x%"} {
		if err := j.Set("size", bad); err == nil {
			t.Errorf("size=%s accepted", bad)
		}
	}
}

func flat(kvs [][2]string) []string {
	var out []string
	for _, kv := range kvs {
		out = append(out, kv[0]+" "+kv[1])
	}
	return out
}

// TestRWMixConflict: rwmixread and rwmixwrite that disagree are not taken
// without a word: the later wins, as in fio, and Set says so.
func TestRWMixConflict(t *testing.T) {
	j := NewJob("x")
	if err := j.Set("rwmixread", "70"); err != nil {
		t.Fatal(err)
	}
	err := j.Set("rwmixwrite", "70")
	var n *Notice
	if !errors.As(err, &n) || !strings.Contains(n.Error(), "reads 30%") {
		t.Fatalf("rwmixread=70 rwmixwrite=70: %v, want a notice", err)
	}
	if j.RWMixRead != 30 {
		t.Fatalf("RWMixRead %g, want 30 (the later wins)", j.RWMixRead)
	}
	k := NewJob("y")
	if err := k.Set("rwmixread", "70"); err != nil {
		t.Fatal(err)
	}
	if err := k.Set("rwmixwrite", "30"); err != nil {
		t.Fatalf("agreeing values: %v", err)
	}
}

// TestUndefinedVariableNamed: ${UNDEFINED} in a job file names the
// variable and the line, not the option's missing value.
func TestUndefinedVariableNamed(t *testing.T) {
	_, err := Parse(strings.NewReader("[a]\nrw=read\nsize=${IOBENCH_SURELY_UNSET_VAR}\n"), "v.fio")
	if err == nil || !strings.Contains(err.Error(), "${IOBENCH_SURELY_UNSET_VAR}") || !strings.Contains(err.Error(), "v.fio:3") {
		t.Fatalf("got %v", err)
	}
}

// TestLongLineNamed: a line too long for the parser gives its line number.
func TestLongLineNamed(t *testing.T) {
	src := "[a]\nrw=read\n; " + strings.Repeat("x", 10<<20) + "\n"
	_, err := Parse(strings.NewReader(src), "long.fio")
	if err == nil || !strings.Contains(err.Error(), "long.fio:3") || strings.Contains(err.Error(), "bufio") {
		t.Fatalf("got %v", err)
	}
}

// TestValidateSaysOnce: a bad bssplit shared by reads and writes is
// reported once, not once per direction. (It was one not adding up to
// 100, which fio 3.33 runs: TestBSSplitAsFio.)
func TestValidateSaysOnce(t *testing.T) {
	j := NewJob("x")
	if err := j.Set("rw", "randrw"); err != nil {
		t.Fatal(err)
	}
	if err := j.Set("bssplit", "4k/50:1000/50"); err != nil {
		t.Fatal(err)
	}
	err := j.Validate()
	if err == nil || strings.Count(err.Error(), "block size 1000 is not a multiple of 512") != 1 {
		t.Fatalf("got %v, want the bssplit message once", err)
	}
}

// TestUnifiedRWSpellings: unified_rw_reporting takes the six spellings
// fio 3.33 takes (fio --cmdhelp=unified_rw_reporting) and refuses what it
// refuses (MIXED, 3), as a bad value; a job file keeps the one set.
func TestUnifiedRWSpellings(t *testing.T) {
	for v, want := range map[string]UnifiedRW{"none": UnifiedNone, "0": UnifiedNone, "mixed": UnifiedMixed, "1": UnifiedMixed,
		"both": UnifiedBoth, "2": UnifiedBoth} {
		j := NewJob("x")
		if err := j.Set("unified_rw_reporting", v); err != nil || j.UnifiedRW != want {
			t.Errorf("unified_rw_reporting=%s: %v, %v, want %v", v, err, j.UnifiedRW, want)
		}
	}
	for _, v := range []string{"MIXED", "Both", "3", "bo", "mixedx"} {
		j := NewJob("x")
		if err := j.Set("unified_rw_reporting", v); !errors.Is(err, ErrBadValue) {
			t.Errorf("unified_rw_reporting=%s: %v, want a bad value", v, err)
		}
	}
	f, err := Parse(strings.NewReader("[global]\nunified_rw_reporting=both\n[a]\n[b]\nunified_rw_reporting=1\n"), "u.fio")
	if err != nil {
		t.Fatal(err)
	}
	if f.Jobs[0].UnifiedRW != UnifiedBoth || f.Jobs[1].UnifiedRW != UnifiedMixed {
		t.Errorf("jobs a and b: %v and %v, want both and mixed", f.Jobs[0].UnifiedRW, f.Jobs[1].UnifiedRW)
	}
}

// TestUnknownEngineNamed: a name that is no fio engine is said to be
// unknown, with the engine it is a slip for; a fio engine iobench does not
// run is refused as such; fio's substitutes and null are taken.
func TestUnknownEngineNamed(t *testing.T) {
	for _, c := range []struct{ name, want string }{
		{"libaoi", `no I/O engine is named "libaoi" (fio: engine not loadable); did you mean libaio?`},
		{"io_urin", "did you mean io_uring?"},
		{"frobnicate", `no I/O engine is named "frobnicate"`},
		{"mmap", "fio's mmap engine reads and writes through a memory map of the file, not reads and writes at file offsets"},
		{"falloc", "fio's falloc engine calls fallocate(2), not reads and writes"},
		{"cpuio", "fio's cpuio engine burns CPU and does no I/O, not"},
		{"external:/usr/lib/my.so", "fio's external:/usr/lib/my.so engine does something other"},
		// Engines of later fio versions, or of builds with their library
		// (fio's examples name them): refused for what they do, not as
		// names no engine has.
		{"libblkio", "fio's libblkio engine drives devices through libblkio's user-space drivers"},
		{"librpma_gpspm_client", "fio's librpma_gpspm_client engine makes RDMA transfers"},
		{"page_fault", "fio's page_fault engine takes page faults"},
		// fio's null engine as a C++ module: the engine to say instead.
		{"cpp_null", "ioengine=null runs iobench's null engine"},
	} {
		j := NewJob("x")
		err := j.Set("ioengine", c.name)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ioengine=%s: %v, want it to say %q", c.name, err, c.want)
		}
		if c.name == "frobnicate" && err != nil && strings.Contains(err.Error(), "did you mean") {
			t.Errorf("ioengine=frobnicate: %v: no engine is near it", err)
		}
	}
	for name := range fioEngines {
		if _, sub := substituteEngines[name]; sub || name == "io_uring" || name == "null" || name == "io_uring_cmd" {
			continue
		}
		if engineDoes[name] == "" {
			t.Errorf("ioengine=%s is refused without saying what the engine does", name)
		}
	}
	for _, ok := range []string{"io_uring", "null", "libaio", "psync", "pvsync2"} {
		j := NewJob("x")
		if err := j.Set("ioengine", ok); err != nil {
			t.Errorf("ioengine=%s: %v", ok, err)
		}
	}
}

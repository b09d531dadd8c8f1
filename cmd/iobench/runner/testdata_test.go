package runner

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/iobench/iobench/device/looptest"
	"github.com/iobench/iobench/workloads"
)

// whatRan is what a run did, as both fio's and iobench's reports and
// per-I/O logs say: per job and direction (read, write, trim) the I/Os,
// bytes and flushes, and per direction the share of each block size.
type whatRan struct {
	ios, bytes [workloads.NumDirs]float64
	syncs      float64
	bsShare    [workloads.NumDirs]map[uint64]float64
}

// readWhatRan reads the JSON report out (fio's or iobench's) and the
// per-I/O IOPS logs PREFIX_iops.N.log in dir, one per job.
func readWhatRan(t *testing.T, out []byte, dir, prefix string) map[string]*whatRan {
	t.Helper()
	if i := strings.IndexByte(string(out), '{'); i > 0 {
		out = out[i:]
	}
	var doc struct {
		Jobs []struct {
			Name  string `json:"jobname"`
			Read  fioDirCount
			Write fioDirCount
			Trim  fioDirCount
			Sync  struct {
				Lat struct {
					N float64 `json:"N"`
				} `json:"lat_ns"`
			} `json:"sync"`
		} `json:"jobs"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("%s JSON: %v", prefix, err)
	}
	res := map[string]*whatRan{}
	for n, j := range doc.Jobs {
		w := &whatRan{ios: [workloads.NumDirs]float64{j.Read.TotalIOs, j.Write.TotalIOs, j.Trim.TotalIOs},
			bytes: [workloads.NumDirs]float64{j.Read.IOBytes, j.Write.IOBytes, j.Trim.IOBytes},
			syncs: j.Sync.Lat.N, bsShare: [workloads.NumDirs]map[uint64]float64{{}, {}, {}}}
		b, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("%s_iops.%d.log", prefix, n+1)))
		if err != nil {
			t.Fatalf("%s: %v", prefix, err)
		}
		var total [workloads.NumDirs]float64
		for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			f := strings.Split(l, ", ")
			d, _ := strconv.Atoi(f[2])
			bs, _ := strconv.ParseUint(f[3], 10, 64)
			if d > workloads.DirTrim || d == workloads.DirTrim && w.ios[d] == 0 {
				continue // fio logs its syncs as direction 2 (a job that trims has none here)
			}
			w.bsShare[d][bs]++
			total[d]++
		}
		for d := range workloads.NumDirs {
			for bs := range w.bsShare[d] {
				w.bsShare[d][bs] /= total[d]
			}
		}
		res[j.Name] = w
	}
	return res
}

type fioDirCount struct {
	TotalIOs float64 `json:"total_ios"`
	IOBytes  float64 `json:"io_bytes"`
}

func shares(m map[uint64]float64) string {
	var keys []uint64
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(a, b int) bool { return keys[a] < keys[b] })
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d:%.3f", k, m[k]))
	}
	return strings.Join(parts, " ")
}

// TestTestdataAgreesWithFio runs each real-world-shaped job file of
// workloads/testdata under fio and under iobench on the same loop device
// and checks that the two agree on what ran: per job and direction the
// I/Os and bytes (exactly where the file fixes them; where a random mix
// of 20000 I/Os decides, I/Os within 5% and bytes within 8%, about four
// standard deviations), the flushes, and the block sizes and their
// shares (within 3 points). A job file on files of its own (directory=
// ${FILES_DIR}) runs in a fresh directory on tmpfs for each tool, and the
// two must leave the same files, of the same sizes.
func TestTestdataAgreesWithFio(t *testing.T) {
	fio, err := exec.LookPath("fio")
	if err != nil {
		t.Skip("fio not installed (make deps installs it)")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root for loop devices")
	}
	paths, _ := filepath.Glob("../../../workloads/testdata/*.fio")
	if len(paths) < 4 {
		t.Fatalf("%d job files in workloads/testdata", len(paths))
	}
	for _, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) {
			abs, _ := filepath.Abs(p)
			mixed := strings.Contains(filepath.Base(p), "mixed")
			src, err := os.ReadFile(abs)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			var target []string
			var filesDirs [2]string
			files := strings.Contains(string(src), "${FILES_DIR}")
			if files {
				filesDirs = [2]string{shmDir(t), shmDir(t)}
				t.Setenv("FILES_DIR", filesDirs[0])
			} else {
				l := looptest.New(t, 128<<20, looptest.Options{})
				target = []string{"--filename=" + l.Path}
			}
			cmd := exec.Command(fio, append(append([]string{"--output-format=json"}, target...), "--write_iops_log=fio", abs)...)
			cmd.Dir = dir
			fout, err := cmd.Output()
			if err != nil {
				t.Fatalf("fio: %v", err)
			}
			if files {
				t.Setenv("FILES_DIR", filesDirs[1])
			}
			iout := runInDir(t, dir, append(append([]string{"--output-format=json", "--force"}, target...), "--write_iops_log=iob", abs)...)
			if files {
				fl, il := listFiles(t, filesDirs[0]), listFiles(t, filesDirs[1])
				if fl != il {
					t.Errorf("files left: fio %s, iobench %s", fl, il)
				}
				t.Logf("files (fio and iobench agree): %s", il)
			}
			f, b := readWhatRan(t, fout, dir, "fio"), readWhatRan(t, []byte(iout), dir, "iob")
			if len(f) != len(b) {
				t.Fatalf("fio ran %d jobs, iobench %d", len(f), len(b))
			}
			for name, fw := range f {
				bw := b[name]
				if bw == nil {
					t.Fatalf("iobench has no job %q", name)
				}
				tolIOs, tolBytes := 0.0, 0.0
				if mixed {
					tolIOs, tolBytes = 0.05, 0.08
				}
				for d, dn := range []string{"read", "write", "trim"} {
					for _, c := range []struct {
						what     string
						fio, iob float64
						tol      float64
					}{{"I/Os", fw.ios[d], bw.ios[d], tolIOs}, {"bytes", fw.bytes[d], bw.bytes[d], tolBytes}} {
						if math.Abs(c.fio-c.iob) > c.tol*c.fio {
							t.Errorf("%s %s %s: fio %v, iobench %v", name, dn, c.what, c.fio, c.iob)
						}
					}
					if len(fw.bsShare[d]) != len(bw.bsShare[d]) {
						t.Errorf("%s %s block sizes: fio %s, iobench %s", name, dn, shares(fw.bsShare[d]), shares(bw.bsShare[d]))
						continue
					}
					for bs, share := range fw.bsShare[d] {
						if got, ok := bw.bsShare[d][bs]; !ok || math.Abs(got-share) > 0.03 {
							t.Errorf("%s %s block sizes: fio %s, iobench %s", name, dn, shares(fw.bsShare[d]), shares(bw.bsShare[d]))
							break
						}
					}
				}
				if fw.syncs != bw.syncs {
					t.Errorf("%s: fio flushed %v times, iobench %v", name, fw.syncs, bw.syncs)
				}
				t.Logf("%s: read %v I/Os %v B, write %v I/Os %v B, trim %v I/Os %v B, %v flushes; block sizes read %s write %s trim %s (fio and iobench agree)",
					name, bw.ios[0], bw.bytes[0], bw.ios[1], bw.bytes[1], bw.ios[2], bw.bytes[2], bw.syncs,
					shares(bw.bsShare[0]), shares(bw.bsShare[1]), shares(bw.bsShare[2]))
			}
		})
	}
}

// shmDir returns a new directory on tmpfs (which takes O_DIRECT), removed
// when the test ends.
func shmDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp(targetDir(), "iobench-files-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// listFiles lists the regular files under dir with their sizes, in name
// order.
func listFiles(t *testing.T, dir string) string {
	t.Helper()
	var parts []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		st, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		parts = append(parts, fmt.Sprintf("%s=%d", rel, st.Size()))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

package runner

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/iobench/iobench/workloads"
)

// TestSPRandomJobFile runs fio's examples/sprandom.fio (axboe/fio),
// made small (size=8m) and run on ioengine=null, with write_iolog: the
// log holds the generator's writes in its order (the order fio's
// sprandom.c gives, over iobench's walk of the blocks), every one a 4k
// write inside the region, the job ending where sprandom.c ends it, no
// more bytes than the region plus spr_op of it, rounded up to 4k.
func TestSPRandomJobFile(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("FIO_BS", "4k")
	job := filepath.Join(dir, "sprandom.fio")
	logPath := filepath.Join(dir, "io.log")
	target := filepath.Join(dir, "dev")
	src := `; fio's examples/sprandom.fio, small, on the null engine
[global]
ioengine=null
rw=randwrite
bs=${FIO_BS}
blockalign=${FIO_BS}
direct=1
norandommap=1
iodepth=64
size=8m
filename=` + target + `
write_iolog=` + logPath + `
[preconditioning]
sprandom=1
spr_op=0.15
spr_num_regions=100
`
	if err := os.WriteFile(job, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := run(t, "--output-format=json", job)
	if code != 0 {
		t.Fatalf("exit %d: %s\n%s", code, errOut, out)
	}
	var doc struct {
		Jobs []struct {
			Write struct {
				TotalIOs uint64 `json:"total_ios"`
				IOBytes  uint64 `json:"io_bytes"`
			}
		} `json:"jobs"`
	}
	if err := json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &doc); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	var offs []uint64
	for _, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")[1:] {
		f := strings.Fields(l)
		if len(f) == 5 {
			if f[2] != "write" || f[4] != "4096" {
				t.Fatalf("line %q", l)
			}
			off, _ := strconv.ParseUint(f[3], 10, 64)
			offs = append(offs, off)
		}
	}
	// 8 MiB + ceil(0.15 * 8 MiB) = 9646900, rounded up to 4k: 2356 blocks.
	const physical = 9650176
	if w := doc.Jobs[0].Write; w.TotalIOs != uint64(len(offs)) || w.IOBytes > physical || len(offs) == 0 {
		t.Fatalf("%d writes (%d bytes), the log %d; at most %d bytes", w.TotalIOs, w.IOBytes, len(offs), physical)
	}

	// The same job's generator gives the same writes in the same order.
	f, err := workloads.ParseFile(job)
	if err != nil {
		t.Fatal(err)
	}
	g := workloads.NewGenerator(&f.Jobs[0], 0, 8<<20)
	if g.SPRandomBytes() != physical {
		t.Fatalf("SPRandomBytes %d, want %d", g.SPRandomBytes(), physical)
	}
	seen := map[uint64]bool{}
	for i, off := range offs {
		io := g.Next()
		if io.End || io.Offset != off {
			t.Fatalf("write %d at %d, the generator's %+v", i, off, io)
		}
		if off%4096 != 0 || off >= 8<<20 {
			t.Fatalf("write %d at %d: outside the region's 4k blocks", i, off)
		}
		seen[off] = true
	}
	// 100 regions of 9650176/100/4096 = 23 writes: the job ends when the
	// walk has no fresh block left (every block written) or when the
	// region after the last is full (101*23 writes), as fio's sprandom.c.
	if len(seen) != 2048 && len(offs) != 101*23 {
		t.Errorf("%d writes, %d of the region's 2048 blocks written", len(offs), len(seen))
	}
	if io := g.Next(); !io.End && uint64(len(offs)+1)*4096 <= physical {
		t.Errorf("the job stopped after %d writes; the generator goes on (%+v)", len(offs), io)
	}
	t.Logf("%d writes, %d blocks", len(offs), len(seen))
}

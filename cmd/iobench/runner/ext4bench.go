package runner

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/iobench/iobench/device"
	"github.com/iobench/iobench/engine/mapper"
	"github.com/iobench/iobench/workloads"
)

// ext4BenchFileBytes is the size of the fragmented file the ext4 bench
// reads, and ext4BenchChunkBytes the size of its pieces.
const (
	ext4BenchFileBytes  = 64 << 20
	ext4BenchChunkBytes = 16 << 10
)

// ext4BenchSection is the ext4 row of `make bench`: a fragmented file on
// a fresh ext4 filesystem (a loop device over tmpfs), read by the kernel's
// ext4 (mounted read-only, fio with O_DIRECT) and by the engine through
// mapper.Ext4 on the same device while the kernel still has it mounted
// read-only, in alternating rounds. It returns the section's Markdown and
// its rows of the Targets table; what stops it from measuring is said in
// the Markdown instead.
func ext4BenchSection(runtime string, rounds int, save func(string) func(string, []byte), stderr io.Writer) (string, []targetRow) {
	var md strings.Builder
	md.WriteString("\n## ext4: the engine through mapper.Ext4 vs the kernel's ext4\n\n")
	targets, err := ext4Bench(&md, runtime, rounds, save, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "bench: ext4: %v\n", err)
		fmt.Fprintf(&md, "Not measured: %v\n", err)
		return md.String(), nil
	}
	return md.String(), targets
}

func ext4Bench(md *strings.Builder, runtime string, rounds int, save func(string) func(string, []byte), stderr io.Writer) (targets []targetRow, err error) {
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("needs root (a loop device and a mount)")
	}
	if _, err := fioPath(); err != nil {
		return nil, err
	}
	for _, tool := range []string{"mkfs.ext4", "mount"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, fmt.Errorf("needs %s: %w", tool, err)
		}
	}
	t, err := AutoTarget(512 << 20)
	if err != nil {
		return nil, err
	}
	defer t.Close()
	if t.loop == nil {
		return nil, fmt.Errorf("no loop device over %s", t.Path)
	}
	mnt, err := os.MkdirTemp("", "iobench-ext4-")
	if err != nil {
		return nil, err
	}
	defer os.Remove(mnt)
	run := func(name string, args ...string) error {
		if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
			return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
		}
		return nil
	}
	if err := run("mkfs.ext4", "-q", "-F", "-b", "4096", t.Path); err != nil {
		return nil, err
	}
	if err := run("mount", t.Path, mnt); err != nil {
		return nil, err
	}
	mounted := true
	defer func() {
		if mounted {
			_ = device.Unmount(mnt)
		}
	}()
	fmt.Fprintf(stderr, "bench: ext4: writing a fragmented %s file\n", humanBytes(ext4BenchFileBytes))
	if err := writeFragmented(filepath.Join(mnt, "frag")); err != nil {
		return nil, err
	}
	if err := run("mount", "-o", "remount,ro", mnt); err != nil {
		return nil, err
	}
	extents, err := countExt4Extents(t.Path, "/frag")
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(md, "Target: %s, ext4 with 4 KiB blocks, mounted read-only. The file is %s allocated as %d KiB pieces in turn with a second file's, then written, so that it lies in %d extents. "+
		"The kernel side is fio (io_uring, O_DIRECT) on the mounted file; the engine side is `--mapper=ext4 --ext4_file=/frag` on the device, cache on and cold at the start of each run, with its defaults: `read_gap=auto` reads through the gaps between a request's pieces (one device read over its pieces and the other file's blocks between them) only while the job measures that faster; the last row always does (`read_gap=16k`). Device reads per read is the engine's device I/Os over its reads: 8 for a 128 KiB read in eight pieces, 1 where they went out merged. The two take turns in every round, the one that went first going second in the next.\n\n",
		t.Desc, humanBytes(ext4BenchFileBytes), ext4BenchChunkBytes>>10, extents)
	md.WriteString("| workload | kernel ext4 IOPS | iobench ext4 IOPS | ratio min / median / max | mapper calls (last run) | device reads per read (last run) |\n|---|---:|---:|---|---:|---:|\n")
	for _, spec := range [][]string{
		{"ext4-frag-randread-4k", "rw", "randread", "bs", "4k", "iodepth", "32"},
		{"ext4-frag-read-128k", "rw", "read", "bs", "128k", "iodepth", "8"},
		// The same reads with the engine's reads through gaps: one device
		// read per request, over its pieces and the other file's between.
		{"ext4-frag-read-128k-gap16k", "rw", "read", "bs", "128k", "iodepth", "8", "read_gap", "16k"},
	} {
		j := workloads.NewJob(spec[0])
		var engineOnly [][2]string
		for k := 1; k < len(spec); k += 2 {
			if spec[k] == "read_gap" {
				engineOnly = append(engineOnly, [2]string{spec[k], spec[k+1]})
				continue
			}
			if err := j.Set(spec[k], spec[k+1]); err != nil {
				return nil, err
			}
		}
		for _, kv := range [][2]string{{"runtime", runtime}, {"time_based", "1"}, {"size", fmt.Sprint(ext4BenchFileBytes)}} {
			if err := j.Set(kv[0], kv[1]); err != nil {
				return nil, err
			}
		}
		eng := j.Clone()
		for _, kv := range append([][2]string{{"mapper", "ext4"}, {"ext4_file", "/frag"}}, engineOnly...) {
			if err := eng.Set(kv[0], kv[1]); err != nil {
				return nil, err
			}
		}
		fmt.Fprintf(stderr, "bench: ext4: %s, %d round(s)\n", j.Name, rounds)
		var a, b []Metrics
		var calls, ios, reads uint64
		for r := range rounds {
			// fio and the engine in turn (roundOrder).
			kernel := func() error {
				m, out, err := fioMetrics(j, filepath.Join(mnt, "frag"))
				if err != nil {
					return err
				}
				a = append(a, m)
				if save != nil && r == 0 {
					save(j.Name)("fio", out)
				}
				return nil
			}
			engine := func() error {
				res, js, err := runOne(eng, t.Path)
				if err != nil {
					return err
				}
				b = append(b, metricsOf(res))
				calls, ios, reads = res.Engine.MapperCalls, res.Engine.IOs, res.Engine.Reads
				if save != nil && r == 0 {
					save(j.Name)("iobench", js)
				}
				return nil
			}
			for _, i := range roundOrder(r, 2) {
				if err := []func() error{kernel, engine}[i](); err != nil {
					return nil, err
				}
			}
		}
		row := compareRow(j.Name, a, b)
		perRead := "-"
		if reads > 0 {
			perRead = fmt.Sprintf("%.2f", float64(ios)/float64(reads))
		}
		fmt.Fprintf(md, "| %s | %s | %s | %.2f / %.2f / %.2f | %d | %s |\n", j.Name, fmtCount(row.meanFI), fmtCount(row.meanIO),
			row.iops.Min, row.iops.Median, row.iops.Max, calls, perRead)
		targets = append(targets, targetRow{what: "ext4 through mapper.Ext4 vs the kernel's ext4 (O_DIRECT), " + j.Name, goal: 1.0, measured: row.iops})
	}
	mounted = false
	return targets, device.Unmount(mnt)
}

// writeFragmented writes ext4BenchFileBytes at path, fragmented: its
// chunks are allocated (fallocate) in turn with those of a second file
// beside it, so that no two file neighbours are device neighbours, then
// written.
func writeFragmented(path string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	g, err := os.OpenFile(path+".spacer", os.O_CREATE|os.O_RDWR|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	defer g.Close()
	n := ext4BenchFileBytes / ext4BenchChunkBytes
	for i := range n {
		for _, h := range []*os.File{f, g} {
			if err := unix.Fallocate(int(h.Fd()), 0, int64(i)*ext4BenchChunkBytes, ext4BenchChunkBytes); err != nil {
				return fmt.Errorf("fallocate %s: %w", h.Name(), err)
			}
		}
	}
	chunk := make([]byte, 1<<20)
	for i := range chunk {
		chunk[i] = byte(i*7 + 1)
	}
	for off := int64(0); off < ext4BenchFileBytes; off += int64(len(chunk)) {
		if _, err := f.WriteAt(chunk, off); err != nil {
			return err
		}
	}
	return f.Sync()
}

// countExt4Extents reads the file's extent count through mapper.Ext4.
func countExt4Extents(dev, path string) (int, error) {
	raw, err := os.Open(dev)
	if err != nil {
		return 0, err
	}
	defer raw.Close()
	st, err := raw.Seek(0, io.SeekEnd)
	if err != nil {
		return 0, err
	}
	m, err := mapper.NewExt4(0, raw, uint64(st), mapper.Ext4Options{})
	if err != nil {
		return 0, err
	}
	in, err := m.FS().Lookup(path, true)
	if err != nil {
		return 0, err
	}
	ext, err := m.FS().Extents(in)
	return len(ext), err
}

// ext4BenchMain is "iobench ext4 bench [--rounds=N] [--runtime=S]": the
// ext4 section of make bench alone.
func ext4BenchMain(rounds int, runtime string, stdout, stderr io.Writer) error {
	start := time.Now()
	s, _ := ext4BenchSection(runtime, rounds, nil, stderr)
	fmt.Fprint(stdout, s)
	fmt.Fprintf(stderr, "bench: ext4: %v\n", time.Since(start).Round(time.Second))
	return nil
}

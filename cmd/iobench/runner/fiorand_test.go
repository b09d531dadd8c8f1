package runner

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/iobench/iobench/workloads"
)

// TestRandomOffsetsAsFio runs small random jobs under the installed fio
// (ioengine=null) and under iobench (buffered, on files in a temporary
// directory), and compares the I/Os each wrote to its write_iolog, file by
// file, in order, each by its direction, offset and length: iobench draws
// fio's random offsets (fio 3.33's), and fio's directions (rwmixread),
// sizes (bssplit, bsrange) and sequential-or-random choices
// (percentage_random, rw=randrw:N), verify jobs' too (their writes'
// sizes drawn from the reads' seed, as fio's are), and the reads of a
// verify job's final pass, listed after its I/O: with a random map the
// writes in the order written, without one (norandommap, lfsr, rw=write)
// the writes kept by offset, file by file, one that a later write
// overlapped left out; after each pass with loops or an io_size above
// the region.
func TestRandomOffsetsAsFio(t *testing.T) {
	fio, err := exec.LookPath("fio")
	if err != nil {
		t.Skip("fio not installed (make deps installs it)")
	}
	// The I/O of a log: "file op offset length" per read, write or
	// trim, the file by its base name.
	ios := func(path string) []string {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, l := range strings.Split(string(b), "\n") {
			if f := strings.Fields(l); len(f) == 5 && (f[2] == "read" || f[2] == "write" || f[2] == "trim") {
				out = append(out, filepath.Base(f[1])+" "+f[2]+" "+f[3]+" "+f[4])
			}
		}
		return out
	}
	// check runs case c under fio and iobench in dir and compares their
	// I/O.
	check := func(c []string, dir string) {
		name := strings.Join(c, " ")
		flog, ilog := filepath.Join(dir, "fio.log"), filepath.Join(dir, "iobench.log")
		args := append([]string{"--name=x", "--bs=4k"}, c...)
		// fio seeds zipf, pareto and normal from the file's name, as
		// iobench does: both name the files in dir alike.
		cmd := exec.Command(fio, append(args, "--directory="+dir, "--ioengine=null", "--write_iolog="+flog, "--output-format=terse")...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: fio: %v\n%s", name, err, out)
		}
		if code, _, errOut := run(t, append(args, "--directory="+dir, "--direct=0", "--write_iolog="+ilog, "--output-format=terse")...); code != 0 {
			t.Fatalf("%s: iobench: exit %d: %s", name, code, errOut)
		}
		f, i := ios(flog), ios(ilog)
		sameIOs(t, name, f, i)
	}
	// zipf, pareto and normal seed from the files' paths, so whether a
	// draw lands in a file's part block (where no I/O fits and fio finds
	// the file done, never issuing the I/O) depends on the directory: in
	// 2 of 1000 temporary directories of random names, fio issued no I/O
	// at all for the size=1026k job, and a check of nothing fails. Each
	// case runs in a directory of its own under a fixed path, the same
	// in every run. Two test processes at once (two checkouts) take
	// turns: a lock file beside the root is held while it is in use.
	root := "/tmp/iobench-fiorand"
	lock, err := os.OpenFile(root+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lock.Close() }) // releases the lock, after the root's removal below
	if err := os.RemoveAll(root); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	caseDir := func(k int) string {
		d := filepath.Join(root, fmt.Sprintf("%03d", k))
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	for k, c := range [][]string{
		{"--rw=randread", "--size=1m"},
		{"--rw=randread", "--size=1m", "--norandommap"},
		{"--rw=randwrite", "--size=4m", "--random_generator=lfsr"},
		{"--rw=randread", "--size=1m", "--random_generator=tausworthe64"},
		{"--rw=randread", "--size=1m", "--random_generator=tausworthe64", "--randrepeat=0", "--randseed=77"},
		{"--rw=randread", "--size=1m", "--randrepeat=0", "--randseed=5", "--norandommap"},
		{"--rw=randread", "--size=512k", "--bs=8k", "--blockalign=4k", "--norandommap"},
		// blockalign other than a direction's block size turns fio's
		// random map off.
		{"--rw=randwrite", "--size=256k", "--bs=8k", "--blockalign=4k"},
		{"--rw=randrw", "--size=256k", "--bs=4k,8k", "--blockalign=4k"},
		// The sequential I/O of a random pattern that does not fit
		// before the region's end ends the file (the loop).
		{"--rw=randrw:2", "--size=128k", "--bs=4k,12k"},
		{"--rw=randwrite", "--size=64k", "--bs=4k,12k", "--percentage_random=50", "--loops=3"},
		{"--rw=randrw:3", "--size=128k", "--bssplit=4k/50:12k/50"},
		{"--rw=randread", "--size=256k", "--bs=4k,4k,8k", "--blockalign=4k"},
		{"--rw=randwrite", "--size=256k", "--bs=8k", "--blockalign=4k", "--verify=crc32c"},
		{"--rw=randread", "--size=512k", "--offset=256k", "--bs=16k"},
		{"--rw=randread", "--size=512k", "--nrfiles=3"},
		{"--rw=randread", "--size=256k", "--loops=2"},
		{"--rw=randread", "--size=256k", "--loops=2", "--random_generator=lfsr"},
		{"--rw=randrw", "--size=1m", "--rwmixread=70"},
		{"--rw=randrw", "--size=1m", "--rwmixwrite=10", "--norandommap"},
		{"--rw=rw", "--size=1m", "--rwmixread=30"},
		{"--rw=randrw", "--size=256k", "--loops=2"},
		{"--rw=randrw", "--size=1m", "--randrepeat=0", "--randseed=99", "--random_generator=tausworthe64"},
		{"--rw=randrw", "--size=1m", "--randseed=1234"},
		{"--rw=randrw", "--size=1m", "--bsrange=4k-32k,4k-16k"},
		{"--rw=randread", "--size=1m", "--bssplit=4k/50:64k/30:16k/20"},
		{"--rw=randrw", "--size=1m", "--bssplit=4k/10:8k/90,16k/60:4k/40"},
		{"--rw=randwrite", "--size=1m", "--bsrange=4k-32k"},
		{"--rw=read", "--size=1m", "--bsrange=4k-16k"},
		{"--rw=randrw", "--size=512k", "--nrfiles=2", "--bssplit=4k/50:16k/50"},
		{"--rw=randrw", "--size=768k", "--nrfiles=3", "--bsrange=4k-16k", "--rwmixread=40"},
		{"--rw=randrw", "--size=256k", "--loops=2", "--bssplit=4k/50:16k/50"},
		{"--rw=randwrite", "--size=1m", "--bssplit=4k/50:16k/50", "--random_generator=lfsr"},
		{"--rw=randread", "--size=1m", "--percentage_random=40"},
		{"--rw=randrw:3", "--size=1m", "--percentage_random=50,70"},
		{"--rw=randwrite", "--size=1m", "--verify=crc32c"},
		{"--rw=randwrite", "--size=1m", "--bssplit=4k/50:16k/30:64k/20", "--verify=crc32c"},
		{"--rw=randrw", "--size=1m", "--bssplit=4k/10:8k/90,16k/60:4k/40", "--verify=md5"},
		{"--rw=randwrite", "--size=1m", "--bsrange=4k-32k", "--randrepeat=0", "--randseed=42", "--verify=crc32c"},
		{"--rw=randread", "--size=4m", "--random_distribution=zipf:1.2"},
		{"--rw=randread", "--size=4m", "--random_distribution=zipf:0.8:0.25", "--randrepeat=0", "--randseed=42"},
		{"--rw=randrw", "--size=4m", "--random_distribution=zipf:1.5", "--rwmixread=70", "--bssplit=4k/50:16k/50"},
		{"--rw=randread", "--size=1m", "--random_distribution=zipf:1.2", "--nrfiles=2"},
		{"--rw=randread", "--size=1m", "--random_distribution=zipf:1.1", "--loops=2"},
		{"--rw=randread", "--size=4m", "--random_distribution=pareto:0.3"},
		{"--rw=randwrite", "--size=4m", "--random_distribution=pareto:0.2:0.7", "--random_generator=tausworthe64"},
		{"--rw=randread", "--size=4m", "--random_distribution=normal:10"},
		{"--rw=randread", "--size=4m", "--random_distribution=normal:25:0.3", "--randrepeat=0", "--randseed=7"},
		{"--rw=randread", "--size=4m", "--random_distribution=normal:0:0.8", "--bs=8k", "--blockalign=4k"},
		{"--rw=randread", "--size=4m", "--random_distribution=zoned:60/10:30/20:10/70"},
		{"--rw=randrw", "--size=4m", "--random_distribution=zoned:30/20:60/10:10/70", "--random_generator=tausworthe64"},
		{"--rw=randread", "--size=2m", "--random_distribution=zoned:50/50:50/50", "--nrfiles=2", "--randrepeat=0", "--randseed=3"},
		{"--rw=randwrite", "--size=4m", "--random_distribution=zoned:80/20:20/80", "--loops=2"},
		{"--rw=randrw", "--size=4m", "--random_distribution=zoned:70/30:30/70", "--rwmixread=60", "--randrepeat=0", "--randseed=11"},
		{"--rw=randread", "--size=4m", "--random_distribution=zoned_abs:60/256k:30/1m:10/2m"},
		{"--rw=randrw", "--size=4m", "--random_distribution=zoned_abs:50/3m:50/1m", "--random_generator=tausworthe64", "--bs=8k"},
		{"--rw=randread", "--size=1m", "--nrfiles=4", "--file_service_type=zipf:1.2"},
		{"--rw=randread", "--size=1m", "--nrfiles=4", "--file_service_type=zipf:1.1:0.3", "--random_distribution=zipf:1.3"},
		{"--rw=read", "--size=1m", "--nrfiles=4", "--file_service_type=pareto:0.3"},
		{"--rw=write", "--size=1m", "--nrfiles=3", "--filesize=128k", "--file_service_type=zipf:0.8"},
		{"--rw=randwrite", "--size=1m", "--nrfiles=4", "--file_service_type=pareto:0.2", "--randrepeat=0", "--randseed=9", "--random_generator=lfsr"},
		{"--rw=randread", "--size=512k", "--nrfiles=4", "--file_service_type=gauss:20", "--loops=2"},
		{"--rw=randrw", "--size=1m", "--nrfiles=4", "--file_service_type=normal:30:0.2", "--percentage_random=50"},
		// file_service_type=random and random:N: fio's draws of the
		// next file (seed number 5), a file found done drawn past.
		{"--rw=randread", "--size=1m", "--nrfiles=2", "--file_service_type=random"},
		{"--rw=randread", "--size=1m", "--nrfiles=3", "--file_service_type=random", "--randrepeat=0", "--randseed=17"},
		{"--rw=read", "--size=1m", "--nrfiles=4", "--file_service_type=random"},
		{"--rw=read", "--size=1m", "--nrfiles=3", "--file_service_type=random:3", "--randrepeat=0", "--randseed=8"},
		{"--rw=randread", "--size=1m", "--nrfiles=4", "--file_service_type=random:3"},
		{"--rw=randrw", "--size=1m", "--nrfiles=3", "--file_service_type=random", "--bssplit=4k/50:16k/50"},
		{"--rw=randread", "--size=512k", "--nrfiles=2", "--file_service_type=random", "--loops=2"},
		{"--rw=randwrite", "--size=1m", "--nrfiles=2", "--file_service_type=random:2", "--random_generator=lfsr"},
		{"--rw=randread", "--size=1m", "--nrfiles=4", "--file_service_type=random", "--random_generator=tausworthe64"},
		{"--rw=randread", "--size=1m", "--nrfiles=3", "--file_service_type=random", "--norandommap"},
		{"--rw=read", "--size=1m", "--nrfiles=3", "--file_service_type=random", "--bsrange=4k-16k"},
		{"--rw=randwrite", "--size=512k", "--nrfiles=2", "--file_service_type=random", "--verify=crc32c"},
		{"--rw=randread", "--size=1m", "--nrfiles=3", "--file_service_type=random:4", "--filesize=128k"},
		{"--rw=write", "--size=256k", "--verify=crc32c"},
		{"--rw=write", "--size=256k", "--bsrange=4k-16k", "--verify=crc32c"},
		{"--rw=randwrite", "--size=256k", "--norandommap", "--verify=crc32c"},
		{"--rw=randwrite", "--size=256k", "--norandommap", "--bssplit=4k/50:16k/50", "--verify=crc32c"},
		{"--rw=randwrite", "--size=512k", "--random_generator=lfsr", "--verify=crc32c"},
		{"--rw=randrw", "--size=256k", "--norandommap", "--verify=crc32c"},
		{"--rw=randrw", "--size=256k", "--verify=crc32c"},
		{"--rw=randwrite", "--size=256k", "--nrfiles=2", "--verify=crc32c"},
		{"--rw=randwrite", "--size=256k", "--nrfiles=2", "--norandommap", "--verify=crc32c"},
		{"--rw=randwrite", "--size=256k", "--percentage_random=50", "--verify=crc32c"},
		{"--rw=randwrite", "--size=256k", "--loops=2", "--verify=crc32c"},
		{"--rw=write", "--size=256k", "--loops=3", "--verify=crc32c"},
		{"--rw=randwrite", "--size=256k", "--loops=2", "--bssplit=4k/50:16k/50", "--verify=crc32c"},
		{"--rw=randwrite", "--size=256k", "--loops=2", "--norandommap", "--verify=crc32c"},
		{"--rw=randwrite", "--size=256k", "--io_size=640k", "--verify=crc32c"},
		{"--rw=write", "--size=256k", "--io_size=384k", "--verify=crc32c"},
		{"--rw=randrw", "--size=256k", "--io_size=768k", "--verify=crc32c"},
		{"--rw=randwrite", "--size=256k", "--io_size=640k", "--norandommap", "--verify=crc32c"},
		{"--rw=write", "--size=256k", "--loops=3", "--verify_backlog=3", "--verify=crc32c"},
		// Mixed block sizes with no random map: the last I/O of a pass
		// goes whole, and no file's part of the pass runs out.
		{"--rw=randread", "--size=1m", "--norandommap", "--bssplit=4k/50:64k/50"},
		{"--rw=randwrite", "--size=1m", "--norandommap", "--bsrange=4k-64k"},
		{"--rw=randrw", "--size=1m", "--random_distribution=pareto:0.3", "--bsrange=4k-64k"},
		{"--rw=randread", "--size=1m", "--loops=3", "--random_distribution=zipf:1.2", "--bssplit=4k/50:64k/50"},
		{"--rw=randread", "--size=1m", "--io_size=1500k", "--bsrange=4k-64k"},
		{"--rw=randread", "--size=1m", "--io_size=300k", "--loops=3", "--norandommap", "--bsrange=4k-64k"},
		{"--rw=read", "--size=1m", "--io_size=300k", "--loops=2", "--bsrange=4k-64k"},
		{"--rw=randwrite", "--size=512k", "--io_size=1300k", "--norandommap", "--bsrange=4k-64k", "--verify=crc32c"},
		{"--rw=randwrite", "--size=512k", "--loops=3", "--norandommap", "--bsrange=4k-64k", "--verify=crc32c"},
		{"--rw=randread", "--size=1m", "--nrfiles=2", "--norandommap", "--bsrange=4k-64k"},
		{"--rw=randread", "--size=1m", "--nrfiles=2", "--random_distribution=zipf:1.2", "--bsrange=4k-64k"},
		// Regions that are not whole blocks (nrfiles=3 over size=1m,
		// size=1026k): zipf, pareto and normal count the part block as
		// a range, an offset there ends the file, and a job without a
		// random map moves the files' unrounded sizes.
		{"--rw=randread", "--size=1m", "--nrfiles=3", "--random_distribution=zipf:1.2"},
		{"--rw=randread", "--size=1m", "--nrfiles=3", "--norandommap"},
		{"--rw=randread", "--size=1m", "--nrfiles=3", "--random_distribution=normal:20"},
		{"--rw=randwrite", "--size=1m", "--nrfiles=3", "--random_distribution=pareto:0.3"},
		{"--rw=randrw", "--size=1m", "--nrfiles=3", "--random_distribution=zipf:1.2", "--bssplit=4k/50:16k/50"},
		{"--rw=randread", "--size=1030k", "--nrfiles=3", "--random_distribution=zipf:1.2"},
		{"--rw=randread", "--size=1026k", "--nrfiles=2", "--random_distribution=zipf:1.2"},
		{"--rw=randread", "--size=1026k", "--random_distribution=zipf:1.2"},
		{"--rw=randread", "--size=1026k", "--norandommap"},
		// verify_backlog without a random map: the lowest offsets kept,
		// a check due when the writes kept are a multiple of the
		// backlog; zipf, pareto and zoned keep no map.
		{"--rw=randwrite", "--size=256k", "--norandommap", "--verify=crc32c", "--verify_backlog=4"},
		{"--rw=randwrite", "--size=256k", "--random_generator=lfsr", "--verify=crc32c", "--verify_backlog=4"},
		{"--rw=randwrite", "--size=256k", "--norandommap", "--bssplit=4k/50:16k/50", "--verify=crc32c", "--verify_backlog=4"},
		{"--rw=randrw", "--size=256k", "--norandommap", "--verify=crc32c", "--verify_backlog=4"},
		{"--rw=randwrite", "--size=256k", "--nrfiles=2", "--norandommap", "--verify=crc32c", "--verify_backlog=4"},
		{"--rw=randwrite", "--size=256k", "--norandommap", "--verify=crc32c", "--verify_backlog=4", "--verify_backlog_batch=2"},
		{"--rw=randwrite", "--size=256k", "--random_distribution=zipf:1.2", "--verify=crc32c"},
		{"--rw=randwrite", "--size=256k", "--random_distribution=zipf:1.2", "--verify=crc32c", "--verify_backlog=4"},
		{"--rw=randwrite", "--size=256k", "--random_distribution=pareto:0.3", "--verify=crc32c", "--verify_backlog=4"},
		// number_ios with verify and several passes: each pass read back
		// before the next, the reads counted against number_ios times
		// loops, as fio's.
		{"--rw=write", "--size=256k", "--loops=3", "--number_ios=100", "--verify=crc32c"},
		{"--rw=randwrite", "--size=256k", "--loops=3", "--number_ios=70", "--verify=crc32c"},
		{"--rw=write", "--size=256k", "--loops=3", "--number_ios=64", "--verify=crc32c"},
		{"--rw=randwrite", "--size=256k", "--loops=3", "--number_ios=20", "--verify=crc32c"},
		{"--rw=randwrite", "--size=256k", "--io_size=768k", "--number_ios=100", "--verify=crc32c"},
		{"--rw=write", "--size=256k", "--io_size=640k", "--number_ios=150", "--verify=crc32c"},
		{"--rw=randrw", "--size=256k", "--loops=2", "--number_ios=100", "--verify=crc32c"},
		// rw=rw's pass ends where a direction finds the region's end;
		// the next starts both at the start, its draws from their seeds.
		{"--rw=rw", "--size=256k", "--loops=2"},
		{"--rw=rw", "--size=256k", "--loops=3", "--rwmixread=30"},
		{"--rw=rw", "--size=256k", "--io_size=600k", "--rwmixread=70"},
		{"--rw=rw", "--size=256k", "--loops=2", "--bsrange=4k-16k"},
		{"--rw=rw", "--size=256k", "--loops=2", "--verify=crc32c"},
		{"--rw=rw", "--size=256k", "--loops=3", "--rwmixread=30", "--verify=crc32c"},
		{"--rw=rw", "--size=256k", "--loops=2", "--rwmixread=90", "--verify=crc32c"},
		{"--rw=rw", "--size=256k", "--io_size=768k", "--verify=crc32c"},
		{"--rw=rw", "--size=256k", "--loops=2", "--bsrange=4k-16k", "--verify=crc32c"},
		{"--rw=rw", "--size=256k", "--loops=2", "--number_ios=100", "--verify=crc32c"},
		{"--rw=rw", "--size=256k", "--loops=2", "--verify=crc32c", "--verify_backlog=8"},
		// With loops and an io_size above the region: each loop a pass
		// that ends where a direction finds the end, passes following
		// the loops while io_size is not reached, the reads and writes
		// stopped at io_size times loops.
		{"--rw=rw", "--size=256k", "--loops=2", "--io_size=640k"},
		{"--rw=rw", "--size=256k", "--loops=2", "--io_size=2m", "--rwmixread=30"},
		{"--rw=rw", "--size=256k", "--loops=2", "--io_size=384k", "--verify=crc32c"},
		{"--rw=rw", "--size=256k", "--loops=3", "--io_size=1m", "--verify=crc32c"},
		{"--rw=rw", "--size=256k", "--nrfiles=2", "--loops=2", "--io_size=700k"},
		{"--rw=rw", "--size=256k", "--nrfiles=2", "--loops=2", "--io_size=2m", "--verify=crc32c"},
		// Over several files: each loop's writes read back once every
		// file is done.
		{"--rw=rw", "--size=256k", "--nrfiles=2", "--loops=2", "--rwmixread=30", "--verify=crc32c"},
		{"--rw=rw", "--size=384k", "--nrfiles=3", "--loops=3", "--rwmixread=70", "--verify=crc32c"},
		{"--rw=rw", "--size=256k", "--nrfiles=2", "--io_size=768k", "--verify=crc32c"},
		{"--rw=rw", "--size=256k", "--filename=a:b", "--loops=2", "--bs=4k,16k", "--verify=md5"},
		// A sequential read or write of mixed sizes: each loop (or pass
		// of io_size) draws its sizes from their seeds again.
		{"--rw=read", "--size=1m", "--loops=2", "--bsrange=4k-64k"},
		{"--rw=write", "--size=1m", "--loops=2", "--bssplit=4k/50:16k/50"},
		{"--rw=read", "--size=1m", "--io_size=1500k", "--bsrange=4k-64k"},
		{"--rw=write", "--size=256k", "--io_size=600k", "--bsrange=4k-16k"},
		{"--rw=write", "--size=1m", "--io_size=2500k", "--bsrange=4k-64k", "--verify=crc32c"},
		// Block sizes that differ by direction: the map counts in the
		// smallest, a direction draws and marks in its own, and a free
		// block of the map past the region's end (or one that leaves
		// the I/O no room in the file) ends the file, or the loop.
		{"--rw=randwrite", "--size=64k", "--bs=4k,8k"},
		{"--rw=randwrite", "--size=64k", "--bs=4k,8k", "--loops=2"},
		{"--rw=randwrite", "--size=64k", "--bs=4k,8k", "--norandommap"},
		{"--rw=randwrite", "--size=64k", "--bs=8k,4k"},
		{"--rw=randread", "--size=64k", "--bs=8k,4k"},
		{"--rw=randwrite", "--size=64k", "--bs=4k,12k"},
		{"--rw=randrw", "--size=256k", "--bs=4k,16k"},
		{"--rw=randrw", "--size=256k", "--bs=4k,16k", "--random_generator=lfsr"},
		{"--rw=randrw", "--size=256k", "--bs=4k,16k", "--random_generator=tausworthe64", "--loops=3"},
		{"--rw=randrw", "--size=256k", "--bssplit=4k/50:8k/50,8k/50:16k/50"},
		{"--rw=randwrite", "--size=128k", "--bs=4k,8k", "--nrfiles=2"},
		// rw=rw over several files: a file is done where a direction
		// finds its end, the others going on; once all are, the next
		// loop starts them over, the draws from their seeds.
		{"--rw=rw", "--size=256k", "--nrfiles=2", "--loops=2"},
		{"--rw=rw", "--size=256k", "--nrfiles=2", "--bs=4k,16k"},
		{"--rw=rw", "--size=256k", "--nrfiles=2", "--bs=4k,16k", "--rwmixread=10", "--loops=2"},
		{"--rw=rw", "--size=256k", "--nrfiles=3", "--bssplit=4k/50:16k/50", "--loops=2", "--rwmixread=60"},
		{"--rw=rw", "--size=1000k", "--nrfiles=3", "--loops=2"},
		{"--rw=rw", "--size=256k", "--filename=a:b", "--loops=2"},
		{"--rw=rw", "--size=256k", "--nrfiles=2", "--io_size=700k"},
		{"--rw=rw", "--size=256k", "--nrfiles=2", "--file_service_type=random", "--loops=2"},
		// A sequential read or write over several files: the next loop
		// draws the sizes from their seeds again.
		{"--rw=read", "--size=256k", "--nrfiles=2", "--loops=2", "--bsrange=4k-16k"},
		// io_size above size with loops: whole passes until io_size is
		// reached, within a largest block.
		{"--rw=write", "--size=256k", "--loops=2", "--io_size=700k"},
		{"--rw=randread", "--size=256k", "--loops=3", "--io_size=1000k"},
		{"--rw=write", "--size=256k", "--loops=2", "--io_size=513k"},
		{"--rw=randread", "--size=256k", "--loops=2", "--io_size=700k", "--bsrange=4k-16k"},
		{"--rw=write", "--size=256k", "--nrfiles=2", "--loops=2", "--io_size=700k"},
		{"--rw=write", "--size=256k", "--nrfiles=3", "--loops=3", "--bssplit=4k/50:16k/50"},
		{"--rw=read", "--size=256k", "--nrfiles=3", "--loops=2", "--file_service_type=random", "--bsrange=4k-16k"},
		{"--rw=read", "--nrfiles=2", "--filesize=128k", "--size=192k", "--loops=3"},
		{"--rw=write", "--size=256k", "--filename=a:b:c", "--loops=2", "--bs=8k"},
		{"--rw=rw", "--size=256k", "--nrfiles=3", "--file_service_type=random:2", "--rwmixread=30"},
		// randrepeat=0: a loop goes on with the states as they are, past
		// the draws of the I/O that found the pass over.
		{"--rw=randread", "--size=256k", "--loops=2", "--randrepeat=0", "--randseed=9"},
		{"--rw=randrw", "--size=256k", "--loops=3", "--bssplit=4k/50:16k/50", "--randrepeat=0", "--randseed=3"},
		{"--rw=randrw", "--size=256k", "--loops=2", "--randrepeat=0", "--randseed=9", "--random_generator=lfsr"},
		{"--rw=read", "--size=256k", "--loops=2", "--randrepeat=0", "--randseed=9", "--bsrange=4k-16k"},
		{"--rw=rw", "--size=256k", "--loops=2", "--randrepeat=0", "--randseed=9"},
		{"--rw=randread", "--size=256k", "--nrfiles=2", "--loops=2", "--randrepeat=0", "--randseed=9"},
		{"--rw=randrw", "--size=384k", "--nrfiles=3", "--loops=2", "--randrepeat=0", "--randseed=9"},
		{"--rw=rw", "--size=256k", "--nrfiles=2", "--loops=2", "--randrepeat=0", "--randseed=9"},
		{"--rw=randread", "--size=256k", "--nrfiles=2", "--loops=3", "--randrepeat=0", "--randseed=9", "--file_service_type=random"},
		{"--rw=randrw", "--size=384k", "--nrfiles=3", "--loops=2", "--randrepeat=0", "--randseed=5", "--file_service_type=random:2"},
		// A randseed with randrepeat=1: the first loop's offsets as
		// without it, the later loops' going on with the states as
		// randrepeat=0's do, whatever the seed; zipf, pareto and normal
		// seeded from the offsets' seed.
		{"--rw=randread", "--size=256k", "--loops=2", "--randseed=9"},
		{"--rw=randrw", "--size=256k", "--loops=3", "--randseed=12345", "--bssplit=4k/50:16k/50"},
		{"--rw=randwrite", "--size=256k", "--loops=2", "--randseed=9", "--random_generator=tausworthe64", "--verify=crc32c"},
		{"--rw=rw", "--size=256k", "--nrfiles=2", "--loops=2", "--randseed=9", "--bsrange=4k-16k"},
		{"--rw=randread", "--size=256k", "--nrfiles=2", "--loops=2", "--randseed=9", "--file_service_type=random"},
		{"--rw=randread", "--size=256k", "--loops=2", "--randseed=9", "--random_distribution=zipf:1.2"},
		{"--rw=randread", "--size=256k", "--randseed=9", "--random_distribution=normal:20"},
		// Verify where a pass ends short (an LFSR's or a map's block
		// past the region for the larger writes): fio reads the pass
		// back and runs passes until the writes and reads reach size
		// (or io_size), or loops.
		{"--rw=randwrite", "--size=256k", "--bs=4k,8k", "--random_generator=lfsr", "--verify=crc32c"},
		{"--rw=randwrite", "--size=256k", "--bs=4k,8k", "--random_generator=lfsr", "--verify=crc32c", "--io_size=600k"},
		{"--rw=randwrite", "--size=256k", "--bs=4k,8k", "--random_generator=lfsr", "--verify=crc32c", "--loops=8"},
		{"--rw=randwrite", "--size=256k", "--bs=4k,8k", "--random_generator=lfsr", "--verify=crc32c", "--nrfiles=2"},
		{"--rw=randwrite", "--size=128k", "--bs=4k,12k", "--nrfiles=2", "--verify=crc32c"},
		{"--rw=randrw", "--size=256k", "--bs=4k,8k", "--rwmixread=30", "--random_generator=lfsr", "--verify=crc32c"},
		// Trims: rw=trim's and randtrim's take bs's third value, the
		// random map counting in the smallest of the three sizes; a
		// sequential pass ends where the next I/O does not fit before
		// the region's end (size=256k in 12k blocks: 21 of them).
		{"--rw=trim", "--size=256k", "--bs=4k,8k,16k"},
		{"--rw=randtrim", "--size=256k", "--bs=4k,8k,16k"},
		{"--rw=randtrim", "--size=256k", "--bs=16k,4k,8k", "--loops=2"},
		{"--rw=randtrim", "--size=256k", "--bs=16k,16k,4k", "--nrfiles=2"},
		{"--rw=randtrim", "--size=256k", "--bs=4k,4k,16k", "--norandommap"},
		{"--rw=trim", "--size=256k", "--bs=4k,4k,12k", "--loops=2"},
		{"--rw=write", "--size=256k", "--bs=4k,12k"},
		{"--rw=trimwrite", "--size=256k", "--bs=4k,12k"},
		{"--rw=randtrimwrite", "--size=256k"},
	} {
		check(c, caseDir(k))
	}
	// In this directory a draw for x.0.0 lands in the part block early
	// on, and fio's rw=randrw draws its next direction by the I/Os
	// issued, which the dropped one is not (iobench counted it: 1 in
	// about 40 temporary directories gave other directions from there
	// on).
	fixed := "/tmp/iobench-partblock-114"
	if err := os.RemoveAll(fixed); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(fixed, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(fixed) })
	check([]string{"--rw=randrw", "--size=1m", "--nrfiles=3", "--random_distribution=zipf:1.2", "--bssplit=4k/50:16k/50"}, fixed)
}

// TestRandomOffsetsInFileAsFio compares, as TestRandomOffsetsAsFio does,
// jobs on a region smaller than its file (size= below the file's size,
// offset= inside it), where fio's null engine cannot be the reference (it
// takes the file to end with the region): fio runs with ioengine=psync on
// a 1 MiB file of its own, iobench buffered on another; and both with
// ioengine=null, which iobench's null engine matches. With block sizes
// that differ by direction, a free block of the random map (or the LFSR)
// may put an I/O past the region's end, which fio issues there, whole,
// where it fits in the file.
func TestRandomOffsetsInFileAsFio(t *testing.T) {
	fio, err := exec.LookPath("fio")
	if err != nil {
		t.Skip("fio not installed (make deps installs it)")
	}
	for _, c := range [][]string{
		{"--rw=randwrite", "--size=64k", "--bs=4k,12k"},
		{"--rw=randwrite", "--size=64k", "--offset=256k", "--bs=4k,12k", "--loops=2"},
		{"--rw=randwrite", "--size=60k", "--bs=4k,8k"},
		{"--rw=randrw", "--size=200k", "--offset=800k", "--bs=4k,16k"},
		{"--rw=randrw", "--size=200k", "--bssplit=4k/50:8k/50,8k/50:16k/50"},
		{"--rw=randrw", "--size=128k", "--bs=4k,12k", "--random_generator=lfsr", "--loops=2"},
		{"--rw=randwrite", "--size=64k", "--bs=4k,12k", "--verify=crc32c"},
		{"--rw=randrw:2", "--size=128k", "--bs=4k,12k"},
		{"--rw=randwrite", "--size=64k", "--bs=4k,12k", "--percentage_random=50", "--loops=3"},
		// fio's null engine takes the file to end with the region.
		{"--rw=randwrite", "--size=64k", "--offset=256k", "--bs=4k,12k", "--ioengine=null"},
		{"--rw=randrw", "--size=200k", "--offset=800k", "--bs=4k,16k", "--ioengine=null"},
	} {
		name := strings.Join(c, " ")
		dir := t.TempDir()
		flog, ilog := filepath.Join(dir, "fio.log"), filepath.Join(dir, "iobench.log")
		var files [2]string
		for k, n := range []string{"f", "i"} {
			files[k] = filepath.Join(dir, n)
			if err := os.WriteFile(files[k], nil, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(files[k], 1<<20); err != nil {
				t.Fatal(err)
			}
		}
		args := append([]string{"--name=x", "--bs=4k"}, c...)
		engine := "--ioengine=psync"
		if slices.Contains(c, "--ioengine=null") {
			engine = "--ioengine=null"
		}
		cmd := exec.Command(fio, append(args, "--filename="+files[0], engine, "--write_iolog="+flog, "--output-format=terse")...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: fio: %v\n%s", name, err, out)
		}
		if code, _, errOut := run(t, append(args, "--filename="+files[1], "--direct=0", "--write_iolog="+ilog, "--output-format=terse")...); code != 0 {
			t.Fatalf("%s: iobench: exit %d: %s", name, code, errOut)
		}
		// The files differ by name only.
		f, i := iologIOs(t, flog), iologIOs(t, ilog)
		for k := range i {
			i[k] = files[0] + strings.TrimPrefix(i[k], files[1])
		}
		sameIOs(t, name, f, i)
	}
}

// sameIOs fails test t for case name unless iobench issued the I/O fio
// did (f, i: one line per I/O, from their logs), saying where they part.
func sameIOs(t *testing.T, name string, f, i []string) {
	t.Helper()
	if len(f) > 0 && slices.Equal(f, i) {
		return
	}
	n := 0
	for n < min(len(f), len(i)) && f[n] == i[n] {
		n++
	}
	t.Errorf("%s: fio issued %d I/Os, iobench %d; the first %d alike, then fio %q, iobench %q", name, len(f), len(i), n,
		f[n:min(n+4, len(f))], i[n:min(n+4, len(i))])
}

// TestIOSizeBytes: the bytes of a job with io_size, as fio 3.33 moves
// them (its write_iolog's writes of --rw=write --size=256k, times 4 KiB).
func TestIOSizeBytes(t *testing.T) {
	for _, c := range []struct {
		loops, ioSize, want uint64
	}{
		{1, 700 << 10, 700 << 10}, {1, 520 << 10, 520 << 10}, {2, 700 << 10, 768 << 10}, {2, 600 << 10, 768 << 10},
		{2, 520 << 10, 768 << 10}, {2, 513 << 10, 512 << 10}, {2, 300 << 10, 512 << 10}, {3, 1000 << 10, 1 << 20},
		{2, 1000 << 10, 1 << 20}, {3, 100 << 10, 300 << 10},
	} {
		j := workloads.NewJob("x")
		for k, v := range map[string]string{"rw": "write", "size": "256k", "loops": fmt.Sprint(c.loops), "io_size": fmt.Sprint(c.ioSize)} {
			if err := j.Set(k, v); err != nil {
				t.Fatal(err)
			}
		}
		if got, _ := ioSizeBytes(&j, 256<<10); got != c.want {
			t.Errorf("loops=%d io_size=%d: %d bytes, fio %d", c.loops, c.ioSize, got, c.want)
		}
	}
}

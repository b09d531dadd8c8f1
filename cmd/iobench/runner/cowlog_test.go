package runner

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/iobench/iobench/device/looptest"
	"github.com/iobench/iobench/engine/mapper"
)

// The test binary runs as iobench when this is set (see TestCOWLogKill9).
const asMainEnv = "IOBENCH_TEST_AS_MAIN"

func init() {
	if os.Getenv(asMainEnv) == "1" {
		os.Exit(Main(os.Args[1:], os.Stdout, os.Stderr))
	}
}

// TestCOWLogKill9 runs a real iobench process writing with verify blocks
// through mapper=cowlog (syncing every 64 writes), kills it with SIGKILL
// mid-run, and checks that the next run recovers the format and that
// verify_only finds every block whole. The file is 8 MiB: the race
// build's invariant checks walk the cache after every remap, and the
// 32 MiB it once wrote took 50 s of a 60 s deadline on a quiet machine.
func TestCOWLogKill9(t *testing.T) {
	const fileSize = 8 << 20 // --size
	l := looptest.New(t, 256<<20, looptest.Options{LogicalBlockSize: 4096})
	common := []string{"--filename=" + l.Path, "--mapper=cowlog", "--bs=4k", "--size=8m", "--verify=crc32c", "--randseed=7"}
	cmd := exec.Command(os.Args[0], append(common, "--name=writer", "--rw=randwrite", "--iodepth=16", "--fsync=64", "--time_based", "--runtime=60")...)
	cmd.Env = append(os.Environ(), asMainEnv+"=1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait until the random writes have covered the file and are durable
	// (a read-only recovery sees the whole file), then let it write a
	// while.
	deadline := time.Now().Add(60 * time.Second)
	for {
		if p, _ := mapper.ProbeCOWLog(l.Path); p == mapper.ProbeFormatted {
			if m, err := mapper.OpenCOWLog(l.Path, mapper.COWLogConfig{}); err == nil {
				used := m.Recovered().UsedBytes
				_ = m.Shutdown()
				if used >= fileSize {
					break
				}
			}
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			t.Fatalf("iobench did not write its whole file on %s: %s", l.Path, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(time.Second)
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != -1 {
		t.Fatalf("iobench was not killed (%v): %s", err, out.String())
	}
	m, err := mapper.OpenCOWLog(l.Path, mapper.COWLogConfig{})
	if err != nil {
		t.Fatalf("recovery after kill -9: %v", err)
	}
	r := m.Recovered()
	_ = m.Shutdown()
	t.Logf("recovered: %+v", r)
	if r.Files != 1 || r.UsedBytes < fileSize {
		t.Fatalf("after kill -9 the file is missing or short: %+v", r)
	}
	for range 2 { // the first run recovers and checkpoints, the second reads that
		var stdout, stderr bytes.Buffer
		code := Main(append(common, "--name=check", "--rw=read", "--verify_only=1"), &stdout, &stderr)
		if code != 0 {
			t.Fatalf("verify_only after kill -9: exit %d: %s %s", code, stdout.String(), stderr.String())
		}
		if !strings.Contains(stdout.String(), "checked, no mismatch") {
			t.Fatalf("verify_only did not check: %s", stdout.String())
		}
	}
}

package runner

import (
	"bytes"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/iobench/iobench/device/looptest"
)

// ext4Image makes an image file with mkfs.ext4 -d over a small tree and
// returns the image and the tree.
func ext4Image(t *testing.T, args ...string) (img, src string) {
	t.Helper()
	if _, err := exec.LookPath("mkfs.ext4"); err != nil {
		t.Skipf("needs mkfs.ext4: %v", err)
	}
	src = t.TempDir()
	rng := rand.New(rand.NewPCG(5, 6))
	data := make([]byte, 300_000)
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(src, "data"), data, 0o644))
	must(os.Mkdir(filepath.Join(src, "dir"), 0o755))
	must(os.WriteFile(filepath.Join(src, "dir", "small"), []byte("small file\n"), 0o600))
	must(os.Symlink("../data", filepath.Join(src, "dir", "link")))
	img = filepath.Join(t.TempDir(), "fs.img")
	f, err := os.Create(img)
	must(err)
	must(f.Truncate(32 << 20))
	f.Close()
	a := append(append([]string{"-q", "-F"}, args...), "-d", src, img)
	if out, err := exec.Command("mkfs.ext4", a...).CombinedOutput(); err != nil {
		t.Fatalf("mkfs.ext4: %v: %s", err, out)
	}
	return img, src
}

func TestExt4Commands(t *testing.T) {
	for _, bs := range []string{"1024", "4096"} {
		t.Run(bs, func(t *testing.T) {
			img, src := ext4Image(t, "-b", bs)
			code, out, errs := run(t, "ext4", "ls", img, "/")
			if code != 0 || !strings.Contains(out, " data") || !strings.Contains(out, " dir") || !strings.Contains(errs, "not mounted") {
				t.Fatalf("ext4 ls: %d\n%s\n%s", code, out, errs)
			}
			code, out, _ = run(t, "ext4", "ls", img, "/dir")
			if code != 0 || !strings.Contains(out, "link -> ../data") || !strings.Contains(out, "-rw-------") {
				t.Fatalf("ext4 ls /dir: %d\n%s", code, out)
			}
			for _, p := range []string{"/data", "/dir/small", "/dir/link"} {
				code, out, errs = run(t, "ext4", "cat", img, p)
				want, _ := os.ReadFile(filepath.Join(src, p))
				if code != 0 || out != string(want) {
					t.Errorf("ext4 cat %s: exit %d, %d bytes, want %d (%s)", p, code, len(out), len(want), errs)
				}
			}
			code, out, errs = run(t, "ext4", "tree", img, "/", "--passes=2")
			if code != 0 || !strings.Contains(out, "2 files under /") || !strings.Contains(out, "100.0%") {
				t.Errorf("ext4 tree: %d\n%s\n%s", code, out, errs)
			}
			for _, bad := range [][]string{{"ext4", "cat", img}, {"ext4", "frob", img}, {"ext4", "ls", img, "/", "x"}, {"ext4", "tree", img, "--passes=0"}} {
				if code, _, errs := run(t, bad...); code != 2 || errs == "" {
					t.Errorf("%v: exit %d, want 2 with a message (%q)", bad, code, errs)
				}
			}
			if code, _, errs := run(t, "ext4", "cat", img, "/nope"); code == 0 || !strings.Contains(errs, "no such file") {
				t.Errorf("cat of a missing file: exit %d, %q", code, errs)
			}
			if code, _, errs := run(t, "ext4", "cat", img, "/dir"); code == 0 || !strings.Contains(errs, "not a regular file") {
				t.Errorf("cat of a directory: exit %d, %q", code, errs)
			}
			junk := filepath.Join(t.TempDir(), "junk")
			os.WriteFile(junk, make([]byte, 1<<20), 0o644)
			if code, _, errs := run(t, "ext4", "ls", junk); code != 2 || !strings.Contains(errs, "magic") {
				t.Errorf("ls of a non-ext4 image: exit %d, %q", code, errs)
			}
		})
	}
}

func TestExt4Job(t *testing.T) {
	img, _ := ext4Image(t, "-b", "1024")
	code, out, errs := run(t, "--filename="+img, "--mapper=ext4", "--ext4_file=/dir/link", "--rw=randread", "--bs=4k", "--size=256k", "--output-format=json")
	if code != 0 || !strings.Contains(out, `"total_ios"`) {
		t.Fatalf("ext4 job: %d\n%s\n%s", code, out, errs)
	}
	code, _, errs = run(t, "--filename="+img, "--mapper=ext4", "--ext4_file=/data", "--rw=randwrite", "--bs=4k")
	if code != 2 || !strings.Contains(errs, "ext4_overwrite") {
		t.Errorf("write job without ext4_overwrite: exit %d, %q", code, errs)
	}
	code, _, errs = run(t, "--filename="+img, "--mapper=ext4", "--rw=read")
	if code != 2 || !strings.Contains(errs, "ext4_file") {
		t.Errorf("ext4 job without ext4_file: exit %d, %q", code, errs)
	}
	code, out, _ = run(t, "--filename="+img, "--mapper=ext4", "--ext4_file=/dir/small", "--rw=read")
	if code != 1 || !strings.Contains(out, "less than one 4 KiB block") {
		t.Errorf("job on a file under a block: exit %d, %q", code, out)
	}
}

// TestExt4Overwrite writes in place through --ext4_overwrite and checks
// that the data changed where the file lies and that e2fsck finds the
// filesystem untouched otherwise.
func TestExt4Overwrite(t *testing.T) {
	img, _ := ext4Image(t, "-b", "4096")
	code, _, errs := run(t, "--filename="+img, "--mapper=ext4", "--ext4_file=/data", "--ext4_overwrite=1",
		"--rw=write", "--bs=4k", "--size=256k", "--verify=crc32c")
	if code != 0 {
		t.Fatalf("overwrite job: %d: %s", code, errs)
	}
	if _, err := exec.LookPath("e2fsck"); err == nil {
		if out, err := exec.Command("e2fsck", "-fn", img).CombinedOutput(); err != nil {
			t.Errorf("e2fsck after in-place overwrite: %v\n%s", err, out)
		}
	}
	if code, _, errs := run(t, "--filename="+img, "--mapper=ext4", "--ext4_file=/data", "--rw=read", "--bs=4k", "--size=256k",
		"--verify=crc32c", "--verify_only=1"); code != 0 {
		t.Errorf("verify_only after the overwrite: %d: %s", code, errs)
	}
	code, out, _ := run(t, "ext4", "cat", img, "/data")
	if code != 0 || len(out) != 300_000 {
		t.Errorf("cat after the overwrite: %d, %d bytes", code, len(out))
	}
}

// TestExt4Mounted refuses a filesystem mounted read-write and reads one
// mounted read-only, saying which it found.
func TestExt4Mounted(t *testing.T) {
	mnt, dev := looptest.MountExt4(t, "")
	if err := os.WriteFile(filepath.Join(mnt, "f"), bytes.Repeat([]byte("x"), 10000), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errs := run(t, "ext4", "ls", dev, "/")
	if code != 2 || !strings.Contains(errs, "mounted read-write") {
		t.Fatalf("ls of a read-write mount: exit %d, %q", code, errs)
	}
	if out, err := exec.Command("mount", "-o", "remount,ro", mnt).CombinedOutput(); err != nil {
		t.Fatalf("remount ro: %v: %s", err, out)
	}
	code, out, errs := run(t, "ext4", "cat", dev, "/f")
	if code != 0 || out != strings.Repeat("x", 10000) || !strings.Contains(errs, "mounted read-only at "+mnt) {
		t.Fatalf("cat on a read-only mount: exit %d, %d bytes, %q", code, len(out), errs)
	}
	code, out, errs = run(t, "--filename="+dev, "--mapper=ext4", "--ext4_file=/f", "--ext4_overwrite=1", "--rw=write", "--bs=4k", "--force")
	// Refused before any I/O, --force or not: a mounted device is not
	// the user's to take.
	if code != 2 || out != "" || !strings.Contains(errs, "cannot take a device that is held") {
		t.Fatalf("overwrite under a read-only mount: exit %d, %q, %q", code, out, errs)
	}
}

// TestSignalStopsExt4Cat: SIGTERM stops 'iobench ext4 cat' of a long file
// between reads (exit 128), as it stops a run; a terabyte of holes would
// otherwise take minutes to copy.
func TestSignalStopsExt4Cat(t *testing.T) {
	if _, err := exec.LookPath("mkfs.ext4"); err != nil {
		t.Skipf("needs mkfs.ext4: %v", err)
	}
	src := t.TempDir()
	f, err := os.Create(filepath.Join(src, "big"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(1 << 40); err != nil {
		t.Fatal(err)
	}
	f.Close()
	img := filepath.Join(t.TempDir(), "fs.img")
	if err := os.WriteFile(img, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img, 64<<20); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mkfs.ext4", "-q", "-F", "-d", src, img).CombinedOutput(); err != nil {
		t.Fatalf("mkfs.ext4: %v: %s", err, out)
	}
	var stderr strings.Builder
	cmd := exec.Command(iobenchBinary(t), "ext4", "cat", img, "/big") // stdout: /dev/null
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-done })
	time.Sleep(500 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("ext4 cat still running 10 s after SIGTERM; stderr %s", stderr.String())
	}
	if code := cmd.ProcessState.ExitCode(); code != exitInterrupted {
		t.Errorf("exit %d, want %d; stderr %s", code, exitInterrupted, stderr.String())
	}
}

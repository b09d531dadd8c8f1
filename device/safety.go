package device

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

var (
	// ErrInUse is returned when a block device is held by someone else:
	// opened exclusively, or a holder (dm, md, LVM) sits on it.
	ErrInUse = errors.New("device is in use")
	// ErrMounted is returned when a block device (or one of its
	// partitions) is mounted.
	ErrMounted = errors.New("device is mounted")
	// ErrPartitioned is returned when a block device has partitions.
	ErrPartitioned = errors.New("device has partitions")
	// ErrHasSignature is returned when a block device carries a
	// filesystem, swap, LVM or partition-table signature.
	ErrHasSignature = errors.New("device holds data")
	// ErrReadOnly is returned when writing to a read-only device.
	ErrReadOnly = errors.New("device is read-only")
)

const forceHint = "refusing to write; pass --force (Options.Force) to write anyway and destroy what is there"

// CheckWritable refuses a block device that looks in use or holds data:
// mounted (compared by device number against /proc/self/mountinfo, so a
// symlink or another name for the device does not get past it), with
// holders or partitions, or carrying a known signature. Regular files are
// never refused. The error wraps ErrMounted, ErrInUse, ErrPartitioned or
// ErrHasSignature and says how to override.
func CheckWritable(path string) error {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return fmt.Errorf("device: %w", err)
	}
	var st unix.Stat_t
	if err := unix.Stat(real, &st); err != nil {
		return fmt.Errorf("device: stat %s: %w", path, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFBLK {
		return nil
	}
	major, minor := unix.Major(uint64(st.Rdev)), unix.Minor(uint64(st.Rdev))
	name := path
	if real != path {
		name = fmt.Sprintf("%s (%s)", path, real)
	}
	sys := resolve(fmt.Sprintf("/sys/dev/block/%d:%d", major, minor))
	// The device and its partitions, by device number.
	devs := map[[2]uint32]string{{major, minor}: filepath.Base(sys)}
	parts, _ := filepath.Glob(filepath.Join(sys, "*", "partition"))
	for _, p := range parts {
		pd := filepath.Dir(p)
		if mm, ok := readDevNum(filepath.Join(pd, "dev")); ok {
			devs[mm] = filepath.Base(pd)
		}
	}
	if mnt, ok := mountedOn(devs); ok {
		return fmt.Errorf("device: %s: %w (%s); %s", name, ErrMounted, mnt, forceHint)
	}
	if holders, _ := os.ReadDir(filepath.Join(sys, "holders")); len(holders) > 0 {
		return fmt.Errorf("device: %s: %w: held by %s; %s", name, ErrInUse, holders[0].Name(), forceHint)
	}
	if len(parts) > 0 {
		return fmt.Errorf("device: %s: %w (%d); %s", name, ErrPartitioned, len(parts), forceHint)
	}
	sig, err := Signature(real)
	if err != nil {
		return err
	}
	if sig != "" {
		return fmt.Errorf("device: %s: %w: %s signature found; %s", name, ErrHasSignature, sig, forceHint)
	}
	// Finally ask the kernel: an exclusive open fails while anyone else
	// holds the device exclusively (a mount, dm, md, another iobench).
	fd, err := unix.Open(real, unix.O_RDONLY|unix.O_EXCL|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.EBUSY) {
			return fmt.Errorf("device: %s: %w: another program has it open exclusively; %s", name, ErrInUse, forceHint)
		}
		return fmt.Errorf("device: open %s: %w", name, err)
	}
	unix.Close(fd)
	return nil
}

func readDevNum(path string) ([2]uint32, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return [2]uint32{}, false
	}
	a, c, ok := strings.Cut(strings.TrimSpace(string(b)), ":")
	if !ok {
		return [2]uint32{}, false
	}
	ma, err1 := strconv.ParseUint(a, 10, 32)
	mi, err2 := strconv.ParseUint(c, 10, 32)
	return [2]uint32{uint32(ma), uint32(mi)}, err1 == nil && err2 == nil
}

// mountedOn reports a mount of any of devs from /proc/self/mountinfo.
func mountedOn(devs map[[2]uint32]string) (string, bool) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return "", false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		// id parent major:minor root mountpoint ...
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		a, c, ok := strings.Cut(fields[2], ":")
		if !ok {
			continue
		}
		ma, _ := strconv.ParseUint(a, 10, 32)
		mi, _ := strconv.ParseUint(c, 10, 32)
		if name, ok := devs[[2]uint32{uint32(ma), uint32(mi)}]; ok {
			return fmt.Sprintf("%s mounted on %s", name, fields[4]), true
		}
	}
	return "", false
}

// Signature reads the start of path and names the filesystem, swap, LVM or
// partition table it finds, or "" for none of those it knows.
func Signature(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("device: %w", err)
	}
	defer f.Close()
	buf := make([]byte, 128<<10)
	n, err := f.ReadAt(buf, 0)
	if n == 0 && err != nil {
		return "", fmt.Errorf("device: read %s: %w", path, err)
	}
	return signature(buf[:n]), nil
}

func signature(b []byte) string {
	at := func(off int, magic string) bool {
		return len(b) >= off+len(magic) && string(b[off:off+len(magic)]) == magic
	}
	switch {
	case len(b) >= 0x43a && binary.LittleEndian.Uint16(b[0x438:]) == 0xef53:
		return "ext2/3/4"
	case at(0, "XFSB"):
		return "xfs"
	case at(0x10040, "_BHRfS_M"):
		return "btrfs"
	case at(4086, "SWAPSPACE2"), at(4086, "SWAP-SPACE"):
		return "swap"
	case at(0x218, "LVM2 001"), at(0x018, "LVM2 001"):
		return "LVM2"
	case at(512, "EFI PART"), at(4096, "EFI PART"):
		return "GPT partition table"
	case at(0, "\xeb") && (at(0x36, "FAT") || at(0x52, "FAT32")):
		return "FAT"
	case at(0x1000, "\x10\x20\xf5\xf2") || at(0x400, "\x10\x20\xf5\xf2"):
		return "f2fs"
	case at(3, "NTFS    "):
		return "ntfs"
	case len(b) >= 512 && b[510] == 0x55 && b[511] == 0xaa && hasMBRPartition(b):
		return "MBR partition table"
	case at(0, "\xfb\x19\x1f\x1e") || at(0, "\x1e\x1f\x19\xfb"):
		return "zfs/other"
	case bytes.HasPrefix(b, []byte("LUKS\xba\xbe")):
		return "LUKS"
	}
	return ""
}

func hasMBRPartition(b []byte) bool {
	for i := range 4 {
		e := b[446+16*i:]
		if e[4] != 0 { // partition type
			return true
		}
	}
	return false
}

package device

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

const forceHint = "refusing to write; pass --force (Options.Force in Go) to write anyway and destroy what is there"

// inUseHint is what a device another user holds is refused with: force
// does not take it, as the exclusive open that writing takes fails.
const inUseHint = "refusing to write; --force (Options.Force) cannot take a device that is held: unmount it, or stop what holds it, first"

// CheckWritable refuses a block device that looks in use or holds data:
// mounted (compared by device number against /proc/self/mountinfo, so a
// symlink or another name for the device does not get past it), with
// holders or partitions, or carrying a known signature, and one whose
// first blocks cannot be read to look for a signature. Regular files are
// never refused. The error wraps ErrMounted, ErrInUse, ErrPartitioned,
// ErrHasSignature or ErrUnreadable and says how to override (--force, Options.Force), or,
// for a device mounted or held, that nothing overrides it.
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
		return fmt.Errorf("device: %s: %w (%s); %s", name, ErrMounted, mnt, inUseHint)
	}
	if holders, _ := os.ReadDir(filepath.Join(sys, "holders")); len(holders) > 0 {
		return fmt.Errorf("device: %s: %w: held by %s; %s", name, ErrInUse, holders[0].Name(), inUseHint)
	}
	if len(parts) > 0 {
		return fmt.Errorf("device: %s: %w (%d); %s", name, ErrPartitioned, len(parts), forceHint)
	}
	sig, err := Signature(real)
	if errors.Is(err, ErrUnreadable) {
		return fmt.Errorf("%w; %s", err, forceHint)
	}
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
			return fmt.Errorf("device: %s: %w: another program has it open exclusively; %s", name, ErrInUse, inUseHint)
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
	return parseDevNum(string(b))
}

// mountedOn reports a mount of any of devs from /proc/self/mountinfo.
// The device number field is not enough: btrfs (and other filesystems
// spanning several devices) report an anonymous 0:N there, so the mount
// source is also resolved to its device number when it is a path.
func mountedOn(devs map[[2]uint32]string) (string, bool) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return "", false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if name, mnt, ok := mountLineMatches(sc.Text(), devs); ok {
			return fmt.Sprintf("%s mounted on %s", name, mnt), true
		}
	}
	return "", false
}

// mountLineMatches reports whether one mountinfo line
// ("id parent major:minor root mountpoint opts... - fstype source superopts")
// mounts one of devs, and names the device and the mount point.
func mountLineMatches(line string, devs map[[2]uint32]string) (name, mnt string, ok bool) {
	fields := strings.Fields(line)
	if len(fields) < 5 {
		return "", "", false
	}
	mnt = unescapeMount(fields[4])
	if mm, ok := parseDevNum(fields[2]); ok {
		if name, ok := devs[mm]; ok {
			return name, mnt, true
		}
	}
	for i, f := range fields {
		if f != "-" || i+2 >= len(fields) {
			continue
		}
		src := unescapeMount(fields[i+2])
		if !strings.HasPrefix(src, "/dev/") {
			break
		}
		var st unix.Stat_t
		if unix.Stat(src, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFBLK {
			mm := [2]uint32{unix.Major(uint64(st.Rdev)), unix.Minor(uint64(st.Rdev))}
			if name, ok := devs[mm]; ok {
				return name, mnt, true
			}
		}
		break
	}
	return "", "", false
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func parseDevNum(s string) ([2]uint32, bool) {
	a, c, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok {
		return [2]uint32{}, false
	}
	ma, err1 := strconv.ParseUint(a, 10, 32)
	mi, err2 := strconv.ParseUint(c, 10, 32)
	return [2]uint32{uint32(ma), uint32(mi)}, err1 == nil && err2 == nil
}

// signatureBytes is how much of a device Signature reads: enough for
// btrfs (64 KiB in) and ZFS uberblocks (128 KiB to 256 KiB into label 0).
const signatureBytes = 256 << 10

// Signature reads the start of path and names the filesystem, swap, LVM,
// RAID, encryption or partition-table signature it finds, or "" for none
// of those it knows. It recognises: ext2/3/4, xfs, btrfs, f2fs, FAT, NTFS,
// ISO 9660, squashfs, ZFS, swap, LVM2, Linux MD RAID (1.1 and 1.2
// superblocks), bcache, LUKS, GPT and MBR.
//
// It reads with O_DIRECT where it can: the page cache may hold blocks read
// before someone else wrote the device underneath it (udev's probe of a
// new loop device before its backing file was written), and a signature
// check must see what is on the device now.
func Signature(path string) (string, error) {
	// mmap'd, so page-aligned as O_DIRECT needs.
	buf, err := unix.Mmap(-1, 0, signatureBytes, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return "", fmt.Errorf("device: signature buffer: %w", err)
	}
	defer unix.Munmap(buf)
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECT|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.EINVAL) {
		fd, err = unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	}
	if err != nil {
		return "", fmt.Errorf("device: open %s: %w", path, err)
	}
	defer unix.Close(fd)
	n, step := 0, len(buf)
	for n < len(buf) {
		m, err := unix.Pread(fd, buf[n:min(n+step, len(buf))], int64(n))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			if step > signatureStep {
				step = signatureStep // find the block that fails
				continue
			}
			return "", fmt.Errorf("device: %s: %w: read @%d+%d: %w", path, ErrUnreadable, n, step, err)
		}
		if m == 0 {
			break // a short device: what was read is all there is
		}
		n += m
	}
	return signature(buf[:n]), nil
}

// signatureStep is the read Signature retries in after a failed one, to
// name the first block that cannot be read: 4 KiB, a multiple of every
// logical block size up to the page size.
const signatureStep = 4096

var bcacheMagic = string([]byte{0xc6, 0x85, 0x73, 0xf6, 0x4e, 0x1a, 0x45, 0xca, 0x82, 0x65, 0xf5, 0x7f, 0x48, 0xba, 0x6d, 0x81})

// signature names what the first bytes of a device hold. Filesystems are
// tried before partition tables: a FAT or NTFS boot sector also ends in
// 0x55aa.
func signature(b []byte) string {
	at := func(off int, magic string) bool {
		return len(b) >= off+len(magic) && string(b[off:off+len(magic)]) == magic
	}
	switch {
	case at(0x438, "\x53\xef"):
		return "ext2/3/4"
	case at(0, "XFSB"):
		return "xfs"
	case at(0x10040, "_BHRfS_M"):
		return "btrfs"
	case at(0x400, "\x10\x20\xf5\xf2"):
		return "f2fs"
	case at(4086, "SWAPSPACE2"), at(4086, "SWAP-SPACE"):
		return "swap"
	case at(0x18, "LVM2 001"), at(0x218, "LVM2 001"), at(0x418, "LVM2 001"), at(0x618, "LVM2 001"):
		return "LVM2"
	case at(0, "\xfc\x4e\x2b\xa9"), at(4096, "\xfc\x4e\x2b\xa9"):
		return "Linux RAID"
	case at(4096+24, bcacheMagic):
		return "bcache"
	case at(0, "LUKS\xba\xbe"):
		return "LUKS"
	case at(0, "hsqs"):
		return "squashfs"
	case at(0x8001, "CD001"):
		return "iso9660"
	case at(3, "NTFS    "):
		return "ntfs"
	case at(0, "\xeb") && (at(0x36, "FAT") || at(0x52, "FAT32")):
		return "FAT"
	case zfsUberblock(b):
		return "zfs"
	case at(512, "EFI PART"), at(4096, "EFI PART"):
		return "GPT partition table"
	case len(b) >= 512 && b[510] == 0x55 && b[511] == 0xaa && hasMBRPartition(b):
		return "MBR partition table"
	}
	return ""
}

// zfsUberblock looks for the uberblock magic (0x00bab10c, either byte
// order) in the uberblock ring of label 0, 128 KiB in, in 1 KiB steps.
func zfsUberblock(b []byte) bool {
	for off := 128 << 10; off+8 <= len(b) && off < 256<<10; off += 1 << 10 {
		if m := binary.LittleEndian.Uint64(b[off:]); m == 0x00bab10c || m == 0x0cb1ba0000000000 {
			return true
		}
	}
	return false
}

func hasMBRPartition(b []byte) bool {
	for i := range 4 {
		if b[446+16*i+4] != 0 { // partition type
			return true
		}
	}
	return false
}

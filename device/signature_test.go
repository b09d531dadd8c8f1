package device

import (
	"encoding/binary"
	"testing"
)

// signatureCases builds one image per known signature, each with only the
// magic bytes set, so a table entry that reads the wrong offset fails.
func signatureCases() map[string][]byte {
	img := func(set func(b []byte)) []byte {
		b := make([]byte, signatureBytes)
		set(b)
		return b
	}
	return map[string][]byte{
		"":         img(func([]byte) {}),
		"ext2/3/4": img(func(b []byte) { b[0x438], b[0x439] = 0x53, 0xef }),
		"xfs":      img(func(b []byte) { copy(b, "XFSB") }),
		"btrfs":    img(func(b []byte) { copy(b[0x10040:], "_BHRfS_M") }),
		"f2fs":     img(func(b []byte) { binary.LittleEndian.PutUint32(b[0x400:], 0xf2f52010) }),
		"swap":     img(func(b []byte) { copy(b[4086:], "SWAPSPACE2") }),
		"LVM2":     img(func(b []byte) { copy(b[0x200:], "LABELONE"); copy(b[0x218:], "LVM2 001") }),
		"Linux RAID": img(func(b []byte) {
			binary.LittleEndian.PutUint32(b[4096:], 0xa92b4efc)
		}),
		"bcache":   img(func(b []byte) { copy(b[4096+24:], bcacheMagic) }),
		"LUKS":     img(func(b []byte) { copy(b, "LUKS\xba\xbe") }),
		"squashfs": img(func(b []byte) { copy(b, "hsqs") }),
		"iso9660":  img(func(b []byte) { copy(b[0x8001:], "CD001") }),
		"ntfs":     img(func(b []byte) { b[0] = 0xeb; copy(b[3:], "NTFS    "); b[510], b[511] = 0x55, 0xaa }),
		"FAT": img(func(b []byte) {
			b[0] = 0xeb
			copy(b[0x52:], "FAT32   ")
			b[510], b[511], b[446+4] = 0x55, 0xaa, 0x0c // looks like an MBR too
		}),
		"zfs":                 img(func(b []byte) { binary.LittleEndian.PutUint64(b[128<<10+5<<10:], 0x00bab10c) }),
		"GPT partition table": img(func(b []byte) { b[510], b[511], b[446+4] = 0x55, 0xaa, 0xee; copy(b[512:], "EFI PART") }),
		"MBR partition table": img(func(b []byte) { b[510], b[511], b[446+16+4] = 0x55, 0xaa, 0x83 }),
	}
}

func TestSignatures(t *testing.T) {
	for want, b := range signatureCases() {
		if got := signature(b); got != want {
			t.Errorf("signature %q, want %q", got, want)
		}
	}
	// A boot sector without a partition entry is not a partition table
	// (a blank disk some tool wrote 0x55aa to).
	b := make([]byte, 4096)
	b[510], b[511] = 0x55, 0xaa
	if got := signature(b); got != "" {
		t.Errorf("empty MBR: signature %q", got)
	}
	// Short reads (tiny devices) never index past the end.
	for want, b := range signatureCases() {
		for _, n := range []int{0, 1, 511, 4096, 0x10040} {
			if got := signature(b[:n]); got != "" && got != want {
				t.Errorf("%q cut to %d bytes: signature %q", want, n, got)
			}
		}
	}
}

// FuzzSignature: signature reads nothing past the bytes it is given, and
// a short read of whole sectors (a tiny device) counts as the bytes it
// has followed by zeros: padding an image of 512-byte sectors with zeros
// to the length the checks read never changes the answer (no magic ends
// in zeros but zfs's, which lies inside one sector). An input is an
// image of n bytes (rounded down to sectors), zero but for patch at off,
// so that mutations reach the magics far in (btrfs, iso9660, zfs) without
// megabytes of input; the seeds are the known signatures, at full length
// and cut short.
func FuzzSignature(f *testing.F) {
	for _, b := range signatureCases() {
		first, last := 0, 0
		for k, c := range b {
			if c != 0 {
				if last == 0 {
					first = k
				}
				last = k + 1
			}
		}
		for _, n := range []uint32{signatureBytes, 8192, uint32(last) - 1} {
			f.Add(uint32(first), b[first:last], n)
		}
	}
	f.Fuzz(func(t *testing.T, off uint32, patch []byte, n uint32) {
		n = n % (signatureBytes + 1) &^ 511
		b := make([]byte, n)
		if off < n {
			copy(b[off:], patch)
		}
		got := signature(b)
		padded := make([]byte, signatureBytes)
		copy(padded, b)
		if want := signature(padded); got != want {
			t.Fatalf("%d bytes with %x at %d: signature %q, padded with zeros: %q", n, patch, off, got, want)
		}
	})
}

func TestMountLineMatches(t *testing.T) {
	devs := map[[2]uint32]string{{7, 3}: "loop3", {259, 1}: "loop3p1"}
	for _, c := range []struct {
		line, name, mnt string
	}{
		{"36 25 7:3 / /mnt/a rw,relatime shared:1 - ext4 /dev/loop3 rw", "loop3", "/mnt/a"},
		{"36 25 259:1 / /mnt/with\\040space rw - xfs /dev/loop3p1 rw", "loop3p1", "/mnt/with space"},
		{"36 25 8:1 / / rw - ext4 /dev/vda1 rw", "", ""},
		{"36 25 0:45 / /tmp rw - tmpfs tmpfs rw", "", ""},
		{"garbage", "", ""},
	} {
		name, mnt, ok := mountLineMatches(c.line, devs)
		if ok != (c.name != "") || name != c.name || mnt != c.mnt {
			t.Errorf("%q: %q %q %v, want %q %q", c.line, name, mnt, ok, c.name, c.mnt)
		}
	}
}

func TestUnescapeMount(t *testing.T) {
	for in, want := range map[string]string{
		`/a\040b`:    "/a b",
		`/tab\011x`:  "/tab\tx",
		`/plain`:     "/plain",
		`/trail\04`:  `/trail\04`,
		`/back\134s`: `/back\s`,
	} {
		if got := unescapeMount(in); got != want {
			t.Errorf("unescapeMount(%q) = %q, want %q", in, got, want)
		}
	}
}

package fiemap

import (
	"encoding/binary"
	"testing"
)

// FuzzTranslate feeds arbitrary extent lists to Translate: it either
// reports ErrBadExtents or returns segments that tile the file in aligned
// blocks, and every byte of a Mapped or Unwritten segment is at the
// address its extent gives it.
func FuzzTranslate(f *testing.F) {
	f.Add([]byte{}, uint64(10000))
	f.Add(binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(nil, 0), 1<<20), 8192), uint64(5000))
	f.Fuzz(func(t *testing.T, raw []byte, size uint64) {
		const bs = 4096
		size %= 1 << 30
		var ext []Extent
		for len(raw) >= 26 && len(ext) < 64 {
			e := Extent{
				Logical:  binary.LittleEndian.Uint64(raw[0:]) % (1 << 31),
				Physical: binary.LittleEndian.Uint64(raw[8:]) % (1 << 40),
				Length:   binary.LittleEndian.Uint64(raw[16:]) % (1 << 24),
				Flags:    uint32(binary.LittleEndian.Uint16(raw[24:])),
			}
			ext = append(ext, e)
			raw = raw[26:]
		}
		segs, err := Translate(ext, size, bs)
		if err != nil {
			return
		}
		checkTiling(t, segs, size, bs)
		for _, s := range segs {
			if s.Kind != Mapped && s.Kind != Unwritten {
				continue
			}
			// The segment's first byte lies in an extent of its kind at
			// the matching address.
			found := false
			for _, e := range ext {
				if e.Logical <= s.Off && s.Off+s.Len <= e.Logical+e.Length && kindOf(e.Flags) == s.Kind &&
					e.Physical+(s.Off-e.Logical) == s.Addr {
					found = true
				}
			}
			if !found {
				// Merged neighbours may span two extents: check per block.
				for o := s.Off; o < s.Off+s.Len; o += bs {
					ok := false
					for _, e := range ext {
						if e.Logical <= o && o < e.Logical+e.Length && kindOf(e.Flags) == s.Kind &&
							e.Physical+(o-e.Logical) == s.Addr+(o-s.Off) {
							ok = true
						}
					}
					if !ok {
						t.Fatalf("segment %+v block at %d is not where any extent says (%+v)", s, o, ext)
					}
				}
			}
		}
	})
}

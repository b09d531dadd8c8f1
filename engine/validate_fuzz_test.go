package engine

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/iobench/iobench/mapcache"
)

// FuzzValidateReply feeds arbitrary mapper replies to the reply validator
// and checks its verdict against the rules restated independently here:
// whatever it accepts must be storable in a cache without error, must cover
// the offset, and must stay within the device.
func FuzzValidateReply(f *testing.F) {
	seed := func(off uint64, ms ...mapcache.Mapping) []byte {
		b := binary.LittleEndian.AppendUint64(nil, off)
		for _, m := range ms {
			b = binary.LittleEndian.AppendUint64(b, m.Offset)
			b = binary.LittleEndian.AppendUint64(b, m.Length)
			b = binary.LittleEndian.AppendUint64(b, m.Addr)
			b = binary.LittleEndian.AppendUint16(b, uint16(m.Type))
			b = append(b, byte(m.Dev))
		}
		return b
	}
	f.Add(seed(0, mapcache.Mapping{Offset: 0, Length: 4096, Addr: 0, Type: mapcache.Mapped}), false)
	f.Add(seed(4096, mapcache.Mapping{Offset: 0, Length: 8192, Addr: 1 << 20, Type: mapcache.Mapped}), true)
	f.Add(seed(0, mapcache.Mapping{Offset: 0, Length: 4096, Addr: mapcache.NullAddr, Type: mapcache.Hole},
		mapcache.Mapping{Offset: 4096, Length: 4096, Addr: 0, Type: mapcache.Unwritten}), false)
	f.Add(seed(0, mapcache.Mapping{Type: mapcache.RetryCache}), false)
	f.Add(seed(0, mapcache.Mapping{Offset: 0, Length: 4096, Addr: 0, Type: mapcache.Mapped},
		mapcache.Mapping{Offset: 0, Length: 4096, Addr: 0, Type: mapcache.Mapped}), true)
	f.Add(seed(8192, mapcache.Mapping{Offset: 0, Length: 4096, Addr: (4 << 20) - 4096, Type: mapcache.Mapped, Dev: 1}), false)

	const devSize = 4 << 20
	e := &Engine{devs: []devEntry{{path: "dev0", size: devSize, lbs: 512}, {path: "dev1", size: devSize, lbs: 4096}}}
	file := &File{eng: e, name: "fuzz", bs: 4096}
	f.Fuzz(func(t *testing.T, data []byte, write bool) {
		if len(data) < 8 {
			return
		}
		off := binary.LittleEndian.Uint64(data) &^ 511
		data = data[8:]
		var reply []mapcache.Mapping
		for len(data) >= 27 && len(reply) < 8 {
			reply = append(reply, mapcache.Mapping{
				Offset: binary.LittleEndian.Uint64(data[0:]),
				Length: binary.LittleEndian.Uint64(data[8:]),
				Addr:   binary.LittleEndian.Uint64(data[16:]),
				Type:   mapcache.Type(binary.LittleEndian.Uint16(data[24:])),
				Dev:    uint32(data[26] % 3),
			})
			data = data[27:]
		}
		i, retry, err := validateReply(e, file, write, off, reply, func(why string) error {
			return errors.New(why)
		})
		if err != nil || retry {
			return
		}
		c := reply[i]
		if c.Offset > off || off-c.Offset >= c.Length {
			t.Fatalf("accepted mapping %d %+v does not cover %d", i, c, off)
		}
		cache := mapcache.New(4096)
		fork := mapcache.ReadFork
		if write {
			fork = mapcache.WriteFork
		}
		for _, m := range reply {
			if m.Type == mapcache.Mapped || m.Type == mapcache.Unwritten {
				if m.Addr+m.Length > e.devs[m.Dev].size || m.Addr+m.Length < m.Addr {
					t.Fatalf("accepted mapping %+v beyond device %d", m, m.Dev)
				}
			}
		}
		if ok, err := cache.UpsertIf(cache.Seq(), fork, reply...); err != nil || !ok {
			t.Fatalf("accepted reply %+v rejected by the cache: %v", reply, err)
		}
		if err := cache.Check(); err != nil {
			t.Fatal(err)
		}
	})
}

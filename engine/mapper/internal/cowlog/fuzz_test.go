package cowlog

import (
	"bytes"
	"testing"
)

// FuzzRecover runs recovery over a small image whose metadata the fuzzer
// rewrites: it returns a state or an error, never panics, and a state it
// returns references only data-area blocks, each once.
func FuzzRecover(f *testing.F) {
	b := newBuilder(f, 1<<20)
	b.txn(Record{Kind: Create, File: 1, Size: 64 << 10, Name: "a"})
	b.txn(Record{Kind: Remap, File: 1, Off: 0, Len: 8192, Addr: b.data(0)})
	b.txn(Record{Kind: SetSize, File: 1, Size: 4096}, Record{Kind: Remap, File: 1, Off: 0, Len: 4096, Addr: NoAddr})
	base := bytes.Clone(b.img)
	js, _ := b.sb.JournalBytes()
	meta := base[:js+4*testBS]
	f.Add(uint32(0), []byte{})
	f.Add(uint32(js), meta[js:js+64])
	f.Add(uint32(b.sb.CkptA*testBS), meta[b.sb.CkptA*testBS:b.sb.CkptA*testBS+64])
	f.Add(uint32(0), meta[:96])
	f.Fuzz(func(t *testing.T, at uint32, patch []byte) {
		img := bytes.Clone(base)
		off := int(at) % len(meta)
		copy(img[off:len(meta)], patch)
		st, err := Recover(image(img), uint64(len(img)))
		if err != nil {
			return
		}
		seen := map[uint64]bool{}
		for _, fl := range st.Files {
			for _, e := range fl.Extents {
				for a := e.Addr; a < e.Addr+e.Len; a += testBS {
					if a < st.SB.DataStart() || a >= st.SB.DataEnd() || seen[a] {
						t.Fatalf("block %d outside the data area or twice", a)
					}
					seen[a] = true
				}
			}
		}
	})
}

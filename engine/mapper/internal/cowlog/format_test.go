package cowlog

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strconv"
	"strings"
	"testing"
)

// image is an in-memory device.
type image []byte

func (m image) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off >= int64(len(m)) {
		return 0, errors.New("read past the image")
	}
	n := copy(p, m[off:])
	if n < len(p) {
		return n, errors.New("short read")
	}
	return n, nil
}

const testBS = 4096

// builder writes a formatted image and journal transactions.
type builder struct {
	t    testing.TB
	img  image
	sb   Superblock
	gen  uint64
	seq  uint64
	seed uint32
	pos  uint64
}

func newBuilder(t testing.TB, devBytes uint64) *builder {
	sb, err := NewLayout(devBytes, testBS, 8, 0x1234)
	if err != nil {
		t.Fatal(err)
	}
	b := &builder{t: t, img: make(image, devBytes), sb: sb}
	sb.Encode(b.img)
	b.checkpoint(&Checkpoint{Gen: 0})
	return b
}

func (b *builder) checkpoint(ck *Checkpoint) {
	buf, sum, err := EncodeCheckpoint(nil, &b.sb, ck)
	if err != nil {
		b.t.Fatal(err)
	}
	copy(b.img[b.sb.Slot(ck.Gen):], buf)
	b.gen, b.seq, b.seed, b.pos = ck.Gen, ck.Seq, sum, 0
}

// txn appends a transaction and returns its first block.
func (b *builder) txn(recs ...Record) uint64 {
	buf := BeginTxn(nil)
	for i := range recs {
		if recs[i].Kind == Remap && recs[i].Old == 0 {
			recs[i].Old = MixedAddr // these tests do not say what a remap replaced
		}
		buf = AppendRecord(buf, &recs[i])
	}
	js, jl := b.sb.JournalBytes()
	buf, sum, err := FinishTxn(buf, &b.sb, b.gen, b.seq+1, uint32(len(recs)), b.seed, jl-b.pos)
	if err != nil {
		b.t.Fatal(err)
	}
	copy(b.img[js+b.pos:], buf)
	blk := (js + b.pos) / testBS
	b.seq++
	b.seed = sum
	b.pos += uint64(len(buf))
	return blk
}

func (b *builder) data(i uint64) uint64 { return b.sb.DataStart() + i*testBS }

func TestRoundTrip(t *testing.T) {
	b := newBuilder(t, 8<<20)
	b.txn(Record{Kind: Create, File: 1, Size: 64 << 10, Name: "a"}, Record{Kind: Create, File: 2, Size: 8192, Name: "b"})
	b.txn(Record{Kind: Remap, File: 1, Off: 0, Len: 8192, Addr: b.data(0)}, Record{Kind: Remap, File: 2, Off: 4096, Len: 4096, Addr: b.data(5)})
	b.txn(Record{Kind: Remap, File: 1, Off: 4096, Len: 4096, Addr: b.data(2)})
	st, err := Recover(b.img, uint64(len(b.img)))
	if err != nil {
		t.Fatal(err)
	}
	if st.Txns != 3 || st.Records != 5 || st.TornTail || st.UsedBlocks != 3 {
		t.Fatalf("state %+v", st)
	}
	want := []File{
		{ID: 1, Name: "a", Size: 64 << 10, Extents: []Extent{{0, 4096, b.data(0)}, {4096, 4096, b.data(2)}}},
		{ID: 2, Name: "b", Size: 8192, Extents: []Extent{{4096, 4096, b.data(5)}}},
	}
	if !equalFiles(st.Files, want) {
		t.Fatalf("files %+v, want %+v", st.Files, want)
	}
	// A checkpoint of that state, then more journal.
	b.checkpoint(&Checkpoint{Gen: 1, Seq: st.Seq, Files: st.Files})
	b.txn(Record{Kind: SetSize, File: 1, Size: 4096}, Record{Kind: Remove, File: 2})
	st, err = Recover(b.img, uint64(len(b.img)))
	if err != nil {
		t.Fatal(err)
	}
	want = []File{{ID: 1, Name: "a", Size: 4096, Extents: []Extent{{0, 4096, b.data(0)}}}}
	if !equalFiles(st.Files, want) || st.Gen != 1 || st.Txns != 1 {
		t.Fatalf("after checkpoint: %+v", st)
	}
}

func equalFiles(a, b []File) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].ID != b[i].ID || a[i].Name != b[i].Name || a[i].Size != b[i].Size || len(a[i].Extents) != len(b[i].Extents) {
			return false
		}
		for j := range a[i].Extents {
			if a[i].Extents[j] != b[i].Extents[j] {
				return false
			}
		}
	}
	return true
}

func TestTornTailVsMiddle(t *testing.T) {
	b := newBuilder(t, 8<<20)
	b.txn(Record{Kind: Create, File: 1, Size: 64 << 10, Name: "a"})
	mid := b.txn(Record{Kind: Remap, File: 1, Off: 0, Len: 4096, Addr: b.data(0)})
	last := b.txn(Record{Kind: Remap, File: 1, Off: 4096, Len: 4096, Addr: b.data(1)})

	torn := image(bytes.Clone(b.img))
	torn[last*testBS+txnHdrBytes] ^= 0xff // the last transaction's payload
	st, err := Recover(torn, uint64(len(torn)))
	if err != nil {
		t.Fatal(err)
	}
	if !st.TornTail || st.TornBlock != last || st.Txns != 2 || st.JournalNext != 2*testBS {
		t.Fatalf("torn tail: %+v", st)
	}

	bad := image(bytes.Clone(b.img))
	bad[mid*testBS+txnHdrBytes+3] ^= 0xff
	_, err = Recover(bad, uint64(len(bad)))
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "block "+itoa(mid)) {
		t.Fatalf("mid-journal corruption: %v", err)
	}
}

func itoa(v uint64) string { return strconv.FormatUint(v, 10) }

func TestStaleTxnAfterNewCheckpoint(t *testing.T) {
	b := newBuilder(t, 8<<20)
	b.txn(Record{Kind: Create, File: 1, Size: 64 << 10, Name: "a"})
	b.txn(Record{Kind: Remap, File: 1, Off: 0, Len: 4096, Addr: b.data(0)})
	st, err := Recover(b.img, uint64(len(b.img)))
	if err != nil {
		t.Fatal(err)
	}
	// A new checkpoint of gen 1 holding only file 1's creation: the old
	// journal (gen 0) must not be replayed on top of it.
	b.checkpoint(&Checkpoint{Gen: 1, Seq: st.Seq, Files: []File{{ID: 1, Name: "a", Size: 64 << 10}}})
	st, err = Recover(b.img, uint64(len(b.img)))
	if err != nil {
		t.Fatal(err)
	}
	if st.Txns != 0 || st.UsedBlocks != 0 {
		t.Fatalf("old journal replayed over a newer checkpoint: %+v", st)
	}
}

func TestBadImages(t *testing.T) {
	b := newBuilder(t, 8<<20)
	b.txn(Record{Kind: Create, File: 1, Size: 64 << 10, Name: "a"})
	good := b.img
	for _, tc := range []struct {
		name  string
		edit  func(m image)
		want  error
		words string
	}{
		{"blank", func(m image) { clear(m) }, ErrNoSuperblock, ""},
		{"other signature", func(m image) { copy(m, "\x53\xef ext4-ish") }, ErrNoSuperblock, ""},
		{"wrong version", func(m image) {
			binary.LittleEndian.PutUint32(m[8:], 9)
			binary.LittleEndian.PutUint32(m[92:], crc(0, m[:92]))
		}, ErrVersion, "version 9"},
		{"superblock checksum", func(m image) { m[20] ^= 1 }, ErrCorrupt, "block 0"},
		{"geometry past device", func(m image) {
			binary.LittleEndian.PutUint64(m[16:], 1<<40)
			binary.LittleEndian.PutUint32(m[92:], crc(0, m[:92]))
		}, ErrCorrupt, "block 0"},
		{"corrupted checkpoint", func(m image) { m[b.sb.CkptA*testBS+17] ^= 1 }, ErrCorrupt, "no valid checkpoint"},
		{"journal points past the device", func(m image) {
			js, _ := b.sb.JournalBytes()
			b2 := *b
			b2.img = m
			b2.pos = testBS
			b2.seq = 1
			b2.seed = binary.LittleEndian.Uint32(m[js+28:])
			b2.txn(Record{Kind: Remap, File: 1, Off: 0, Len: 4096, Addr: uint64(len(m))})
		}, ErrCorrupt, "outside the data area"},
		{"remap replacing what is not there", func(m image) {
			js, _ := b.sb.JournalBytes()
			b2 := *b
			b2.img = m
			b2.pos, b2.seq = testBS, 1
			b2.seed = binary.LittleEndian.Uint32(m[js+28:])
			b2.txn(Record{Kind: Remap, File: 1, Off: 0, Len: 4096, Addr: b.data(3), Old: NoAddr},
				Record{Kind: Remap, File: 1, Off: 0, Len: 4096, Addr: b.data(4), Old: b.data(5)})
		}, ErrCorrupt, "replaces address"},
		{"transaction longer than the journal", func(m image) {
			js, jl := b.sb.JournalBytes()
			binary.LittleEndian.PutUint32(m[js+20:], uint32(jl))
		}, ErrCorrupt, "left in the journal"},
		{"remap into metadata", func(m image) {
			js, _ := b.sb.JournalBytes()
			b2 := *b
			b2.img = m
			b2.pos, b2.seq = testBS, 1
			b2.seed = binary.LittleEndian.Uint32(m[js+28:])
			b2.txn(Record{Kind: Remap, File: 1, Off: 0, Len: 4096, Addr: 0})
		}, ErrCorrupt, "outside the data area"},
		{"block referenced twice", func(m image) {
			js, _ := b.sb.JournalBytes()
			b2 := *b
			b2.img = m
			b2.pos, b2.seq = testBS, 1
			b2.seed = binary.LittleEndian.Uint32(m[js+28:])
			b2.txn(Record{Kind: Remap, File: 1, Off: 0, Len: 4096, Addr: b.data(3)}, Record{Kind: Remap, File: 1, Off: 4096, Len: 4096, Addr: b.data(3)})
		}, ErrCorrupt, "referenced by files"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := image(bytes.Clone(good))
			tc.edit(m)
			_, err := Recover(m, uint64(len(m)))
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.words) {
				t.Fatalf("got %v, want %v with %q", err, tc.want, tc.words)
			}
		})
	}
}

func TestTooBig(t *testing.T) {
	sb, err := NewLayout(8<<20, testBS, 8, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := FinishTxn(BeginTxn(nil), &sb, 0, 1, 0, 0, 100); !errors.Is(err, ErrTooBig) {
		t.Fatalf("txn into 100 bytes: %v", err)
	}
	files := make([]File, 9)
	if _, _, err := EncodeCheckpoint(nil, &sb, &Checkpoint{Files: files}); !errors.Is(err, ErrTooBig) {
		t.Fatalf("9 files into 8: %v", err)
	}
	if _, err := NewLayout(64<<10, testBS, 8, 1); !errors.Is(err, ErrGeometry) {
		t.Fatalf("tiny device: %v", err)
	}
}

package fiemap

import (
	"errors"
	"reflect"
	"testing"
)

func TestTranslate(t *testing.T) {
	const bs = 4096
	for _, tc := range []struct {
		name string
		ext  []Extent
		size uint64
		want []Segment
	}{
		{"empty file", nil, 0, nil},
		{"all hole", nil, 10000, []Segment{{0, 12288, 0, Hole}}},
		{"one extent, EOF mid-block", []Extent{{0, 1 << 20, 8192, ExtentLast}}, 5000,
			[]Segment{{0, 8192, 1 << 20, Mapped}}},
		{"gap, unwritten, tail hole",
			[]Extent{{0, 1 << 20, 4096, 0}, {8192, 2 << 20, 4096, ExtentUnwritten | ExtentLast}}, 20000,
			[]Segment{{0, 4096, 1 << 20, Mapped}, {4096, 4096, 0, Hole}, {8192, 4096, 2 << 20, Unwritten}, {12288, 8192, 0, Hole}}},
		{"contiguous extents merge", []Extent{{0, 40960, 4096, 0}, {4096, 45056, 4096, ExtentLast}}, 8192,
			[]Segment{{0, 8192, 40960, Mapped}}},
		{"delalloc and unknown", []Extent{{0, 0, 4096, ExtentDelalloc}, {4096, 0, 4096, ExtentUnknown | ExtentLast}}, 8192,
			[]Segment{{0, 8192, 0, Delalloc}}},
		{"inline data", []Extent{{0, 123456789, 60, ExtentDataInline | ExtentNotAligned | ExtentLast}}, 60,
			[]Segment{{0, 4096, 0, Inline}}},
		{"misaligned device address", []Extent{{0, 1000, 8192, ExtentLast}}, 8192,
			[]Segment{{0, 8192, 0, Inline}}},
		{"extent past EOF is cut", []Extent{{0, 8192, 1 << 20, ExtentUnwritten | ExtentLast}}, 4096,
			[]Segment{{0, 4096, 8192, Unwritten}}},
		{"extent wholly past EOF", []Extent{{0, 8192, 4096, 0}, {1 << 20, 1 << 21, 4096, ExtentLast}}, 4096,
			[]Segment{{0, 4096, 8192, Mapped}}},
		// A 512-byte-block filesystem under a 4096-byte cache: an extent
		// edge inside a cache block makes that block Inline.
		{"sub-block extents", []Extent{{0, 1 << 20, 4608, 0}, {4608, 3 << 20, 3584, ExtentLast}}, 8192,
			[]Segment{{0, 4096, 1 << 20, Mapped}, {4096, 4096, 0, Inline}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Translate(tc.ext, tc.size, bs)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got  %+v\nwant %+v", got, tc.want)
			}
			checkTiling(t, got, tc.size, bs)
		})
	}
}

func checkTiling(t *testing.T, segs []Segment, size, bs uint64) {
	t.Helper()
	var next uint64
	for i, s := range segs {
		if s.Off != next || s.Len == 0 || s.Off%bs != 0 || s.Len%bs != 0 {
			t.Fatalf("segment %d %+v: does not tile (expected offset %d)", i, s, next)
		}
		if (s.Kind == Mapped || s.Kind == Unwritten) && s.Addr%bs != 0 {
			t.Fatalf("segment %d %+v: unaligned address", i, s)
		}
		next += s.Len
	}
	if next != (size+bs-1)/bs*bs {
		t.Fatalf("segments end at %d, want %d", next, (size+bs-1)/bs*bs)
	}
}

func TestTranslateBad(t *testing.T) {
	for _, ext := range [][]Extent{
		{{8192, 0, 4096, 0}, {4096, 0, 4096, 0}},
		{{^uint64(0) - 10, 0, 4096, 0}},
	} {
		if _, err := Translate(ext, 1<<20, 4096); !errors.Is(err, ErrBadExtents) {
			t.Errorf("%+v: %v, want ErrBadExtents", ext, err)
		}
	}
}

func TestFind(t *testing.T) {
	segs := []Segment{{0, 4096, 0, Hole}, {4096, 8192, 1 << 20, Mapped}, {12288, 4096, 0, Inline}}
	for off, want := range map[uint64]int{0: 0, 4095: 0, 4096: 1, 12287: 1, 12288: 2, 16383: 2, 16384: -1} {
		if got := Find(segs, off); got != want {
			t.Errorf("Find(%d) = %d, want %d", off, got, want)
		}
	}
}

package workloads

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// ErrVerify is returned (as a *Mismatch) when data read back is not what
// was written.
var ErrVerify = errors.New("verify: data mismatch")

// Every verify block (VerifyInterval bytes, or the whole buffer when
// smaller) starts with a header:
//
//	[0:4)   magic "IOBv"
//	[4:8)   crc32c (Castagnoli) of the block with this field zeroed
//	[8:16)  the block's offset in the target
//	[16:24) generation (how many times the block was written)
//	[24:32) seed of the run
//	[32:36) block length
//	[36]    hash: 1 crc32c, 2 sha256 (digest at [40:72), over the block
//	        with the digest zeroed)
//
// and the rest is a pattern derived from (seed, offset, generation), so a
// block from elsewhere, an older write or a torn write all show.
const (
	verifyMagic = "IOBv"
	headerBytes = 72
	hashCRC32C  = 1
	hashSHA256  = 2
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Verifier fills and checks verify blocks of one size with one hash.
type Verifier struct {
	Interval int    // bytes per verify block (the smallest I/O size)
	Hash     string // "crc32c" or "sha256"
	Seed     uint64
}

// Mismatch describes the first difference found.
type Mismatch struct {
	Offset   uint64 // target offset of the verify block
	What     string // "magic", "offset", "checksum", …
	Expected string
	Found    string
}

func (m *Mismatch) Error() string {
	return fmt.Sprintf("verify: block at offset %d: bad %s: expected %s, found %s", m.Offset, m.What, m.Expected, m.Found)
}

func (m *Mismatch) Unwrap() error { return ErrVerify }

// Fill writes verify blocks for [offset, offset+len(buf)) at generation gen.
func (v *Verifier) Fill(buf []byte, offset, gen uint64) {
	for i := 0; i < len(buf); i += v.Interval {
		v.fillBlock(buf[i:min(i+v.Interval, len(buf))], offset+uint64(i), gen)
	}
}

func (v *Verifier) fillBlock(b []byte, offset, gen uint64) {
	copy(b[0:4], verifyMagic)
	binary.LittleEndian.PutUint32(b[4:], 0)
	binary.LittleEndian.PutUint64(b[8:], offset)
	binary.LittleEndian.PutUint64(b[16:], gen)
	binary.LittleEndian.PutUint64(b[24:], v.Seed)
	binary.LittleEndian.PutUint32(b[32:], uint32(len(b)))
	clear(b[36:headerBytes])
	x := v.Seed ^ offset*0x9e3779b97f4a7c15 ^ gen<<32 | 1
	for i := headerBytes; i+8 <= len(b); i += 8 {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		binary.LittleEndian.PutUint64(b[i:], x)
	}
	if v.Hash == "sha256" {
		b[36] = hashSHA256
		sum := sha256.Sum256(b)
		copy(b[40:72], sum[:])
		return
	}
	b[36] = hashCRC32C
	binary.LittleEndian.PutUint32(b[4:], crc32.Checksum(b, castagnoli))
}

// Check verifies the blocks of buf, read from offset, and returns the
// highest generation seen, or a *Mismatch for the first bad block.
//
// Blocks are walked by the length each header records, so data written
// with one verify interval checks with another, as long as reads start on
// a block boundary (VerifyInterval keeps intervals compatible).
func (v *Verifier) Check(buf []byte, offset uint64) (maxGen uint64, err error) {
	for i := 0; i < len(buf); {
		n := len(buf) - i
		if n >= headerBytes && string(buf[i:i+4]) == verifyMagic {
			if l := int(binary.LittleEndian.Uint32(buf[i+32:])); l >= headerBytes && l <= n && l%512 == 0 {
				n = l
			}
		}
		g, err := v.checkBlock(buf[i:i+n], offset+uint64(i))
		if err != nil {
			return 0, err
		}
		maxGen = max(maxGen, g)
		i += n
	}
	return maxGen, nil
}

// VerifyInterval is the verify block size for a job whose smallest I/O is
// minBS: 4 KiB, or minBS when smaller, so that a later run with larger
// blocks can check what an earlier run wrote.
func VerifyInterval(minBS uint64) int { return int(min(minBS, 4096)) }

func (v *Verifier) checkBlock(b []byte, offset uint64) (uint64, error) {
	mm := func(what string, exp, got any) error {
		return &Mismatch{Offset: offset, What: what, Expected: fmt.Sprint(exp), Found: fmt.Sprint(got)}
	}
	if len(b) < headerBytes {
		return 0, mm("length", fmt.Sprintf(">= %d bytes", headerBytes), len(b))
	}
	if string(b[0:4]) != verifyMagic {
		return 0, mm("magic", fmt.Sprintf("%q", verifyMagic), fmt.Sprintf("%q", b[0:4]))
	}
	if got := binary.LittleEndian.Uint64(b[8:]); got != offset {
		return 0, mm("offset (a block from elsewhere)", offset, got)
	}
	if got := binary.LittleEndian.Uint64(b[24:]); got != v.Seed {
		return 0, mm("seed (data from another run)", v.Seed, got)
	}
	if got := binary.LittleEndian.Uint32(b[32:]); got != uint32(len(b)) {
		return 0, mm("block length", len(b), got)
	}
	gen := binary.LittleEndian.Uint64(b[16:])
	switch b[36] {
	case hashCRC32C:
		want := binary.LittleEndian.Uint32(b[4:])
		binary.LittleEndian.PutUint32(b[4:], 0)
		got := crc32.Checksum(b, castagnoli)
		binary.LittleEndian.PutUint32(b[4:], want)
		if got != want {
			return 0, mm("crc32c", fmt.Sprintf("%#08x", want), fmt.Sprintf("%#08x", got))
		}
	case hashSHA256:
		var want [32]byte
		copy(want[:], b[40:72])
		clear(b[40:72])
		got := sha256.Sum256(b)
		copy(b[40:72], want[:])
		if got != want {
			return 0, mm("sha256", fmt.Sprintf("%x", want[:8]), fmt.Sprintf("%x", got[:8]))
		}
	default:
		return 0, mm("hash type", "1 or 2", b[36])
	}
	return gen, nil
}

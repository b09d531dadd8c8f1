package workloads

import (
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha3"
	"crypto/sha512"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"hash/crc64"

	"github.com/cespare/xxhash/v2"
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
//	[36]    hash: 1 crc32c, 2 sha256, 3 md5, 4 crc32 (IEEE), 5 xxhash
//	        (64-bit), 6 meta (the header's fields only, no digest), 7 crc64
//	        (ECMA), 8 crc16 (the ARC polynomial, reflected 0xA001, as
//	        Linux's crc16), 9 crc7 (Linux's crc7_be, polynomial 0x09),
//	        10 sha1, 11 sha512, 12-15 sha3-224, -256, -384, -512; crc32c
//	        and crc32 digests go in [4:8), the others at [40:72), each over
//	        the block with its digest zeroed; a digest longer than 32 bytes
//	        (sha512, sha3-384, sha3-512) keeps its first 32
//
// and the rest is a pattern derived from (seed, offset, generation), so a
// block from elsewhere, an older write or a torn write all show; with
// verify_pattern, the rest is that pattern instead. verify=pattern
// writes the pattern alone, with no header, and checks every byte.
const (
	verifyMagic = "IOBv"
	headerBytes = 72
	hashCRC32C  = 1
	hashSHA256  = 2
	hashMD5     = 3
	hashCRC32   = 4
	hashXXHash  = 5
	hashMeta    = 6
	hashCRC64   = 7
	hashCRC16   = 8
	hashCRC7    = 9
	hashSHA1    = 10
	hashSHA512  = 11
	hashSHA3224 = 12
	hashSHA3256 = 13
	hashSHA3384 = 14
	hashSHA3512 = 15
	hashLast    = hashSHA3512
)

// hashCodes are the header codes of the hashes by name.
var hashCodes = map[string]byte{"crc32c": hashCRC32C, "sha256": hashSHA256, "md5": hashMD5,
	"crc32": hashCRC32, "xxhash": hashXXHash, "meta": hashMeta, "crc64": hashCRC64,
	"crc16": hashCRC16, "crc7": hashCRC7, "sha1": hashSHA1, "sha512": hashSHA512,
	"sha3-224": hashSHA3224, "sha3-256": hashSHA3256, "sha3-384": hashSHA3384, "sha3-512": hashSHA3512}

// hashNames are the hashes' names by header code.
var hashNames = func() map[byte]string {
	m := make(map[byte]string, len(hashCodes))
	for name, code := range hashCodes {
		m[code] = name
	}
	return m
}()

// Hashes are the names verify accepts as digests, besides "pattern" and
// "null" (Verifier.Hash).
func Hashes() []string {
	names := make([]string, 0, len(hashCodes))
	for code := byte(1); code <= hashLast; code++ {
		names = append(names, hashNames[code])
	}
	return names
}

var ecma = crc64.MakeTable(crc64.ECMA)

// crc16Table and crc7Table drive the bytewise CRCs of Linux's crc16
// (reflected 0xA001, initial value 0) and crc7_be (0x09, kept in the
// top 7 bits of a byte, initial value 0).
var crc16Table, crc7Table = func() (t16 [256]uint16, t7 [256]byte) {
	for i := range 256 {
		c := uint16(i)
		for range 8 {
			if c&1 != 0 {
				c = c>>1 ^ 0xA001
			} else {
				c >>= 1
			}
		}
		t16[i] = c
		b := byte(i)
		for range 8 {
			if b&0x80 != 0 {
				b = b<<1 ^ 0x12
			} else {
				b <<= 1
			}
		}
		t7[i] = b
	}
	return
}()

func crc16(b []byte) uint16 {
	var c uint16
	for _, x := range b {
		c = c>>8 ^ crc16Table[byte(c)^x]
	}
	return c
}

// crc7 returns the CRC in the top 7 bits, as Linux's crc7_be.
func crc7(b []byte) byte {
	var c byte
	for _, x := range b {
		c = crc7Table[c^x]
	}
	return c
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Verifier fills and checks verify blocks of one size with one hash.
type Verifier struct {
	Interval int // bytes per verify block (the smallest I/O size)
	// Hash is a digest of Hashes, "pattern" (the pattern alone, checked
	// byte by byte) or "null" (blocks filled as with meta, nothing
	// checked: fio's pretend verify).
	Hash string
	Seed uint64
	// Pattern, when set, fills the blocks after the header (verify=pattern:
	// the whole block) instead of the generated pattern.
	Pattern []byte
	// HeaderAt, when not 0, moves each block's header to that offset in
	// the block once it is filled, the bytes it passes moving to the
	// block's start, and back before it is checked (verify_offset). Blocks
	// are then walked by Interval.
	HeaderAt int
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
	if v.Hash == "pattern" {
		fillPattern(buf, v.Pattern)
		return
	}
	for i := 0; i < len(buf); i += v.Interval {
		b := buf[i:min(i+v.Interval, len(buf))]
		v.fillBlock(b, offset+uint64(i), gen)
		if at := v.HeaderAt; at > 0 && len(b) >= at+headerBytes {
			var h [headerBytes]byte
			copy(h[:], b)
			copy(b, b[headerBytes:headerBytes+at])
			copy(b[at:], h[:])
		}
	}
}

// HeaderBytes is the size of the header at the start of each verify
// block.
const HeaderBytes = headerBytes

// fillPattern repeats pattern over buf.
func fillPattern(buf, pattern []byte) {
	for i := 0; i < len(buf); i += copy(buf[i:], pattern) {
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
	if len(v.Pattern) > 0 {
		fillPattern(b[headerBytes:], v.Pattern)
	} else {
		x := v.Seed ^ offset*0x9e3779b97f4a7c15 ^ gen<<32 | 1
		for i := headerBytes; i+8 <= len(b); i += 8 {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
			binary.LittleEndian.PutUint64(b[i:], x)
		}
	}
	code, ok := hashCodes[v.Hash]
	switch {
	case v.Hash == "null":
		code = hashMeta
	case !ok:
		code = hashCRC32C
	}
	b[36] = code
	putDigest(b, code)
}

// putDigest computes the digest of block b (digest field zeroed, as it
// is after fillBlock) and stores it.
func putDigest(b []byte, code byte) {
	switch code {
	case hashCRC32C:
		binary.LittleEndian.PutUint32(b[4:], crc32.Checksum(b, castagnoli))
	case hashCRC32:
		binary.LittleEndian.PutUint32(b[4:], crc32.ChecksumIEEE(b))
	case hashSHA256:
		sum := sha256.Sum256(b)
		copy(b[40:72], sum[:])
	case hashMD5:
		sum := md5.Sum(b)
		copy(b[40:56], sum[:])
	case hashXXHash:
		binary.LittleEndian.PutUint64(b[40:], xxhash.Sum64(b))
	case hashCRC64:
		binary.LittleEndian.PutUint64(b[40:], crc64.Checksum(b, ecma))
	case hashCRC16:
		binary.LittleEndian.PutUint16(b[40:], crc16(b))
	case hashCRC7:
		b[40] = crc7(b)
	case hashSHA1:
		sum := sha1.Sum(b)
		copy(b[40:60], sum[:])
	case hashSHA512:
		sum := sha512.Sum512(b)
		copy(b[40:72], sum[:])
	case hashSHA3224:
		sum := sha3.Sum224(b)
		copy(b[40:68], sum[:])
	case hashSHA3256:
		sum := sha3.Sum256(b)
		copy(b[40:72], sum[:])
	case hashSHA3384:
		sum := sha3.Sum384(b)
		copy(b[40:72], sum[:])
	case hashSHA3512:
		sum := sha3.Sum512(b)
		copy(b[40:72], sum[:])
	}
}

// Check verifies the blocks of buf, read from offset, and returns the
// highest generation seen, or a *Mismatch for the first bad block.
//
// Blocks are walked by the length each header records, so data written
// with one verify interval checks with another, as long as reads start on
// a block boundary (VerifyInterval keeps intervals compatible).
func (v *Verifier) Check(buf []byte, offset uint64) (maxGen uint64, err error) {
	if v.Hash == "null" {
		return 0, nil // fio's verify=null: read back, nothing checked
	}
	if v.Hash == "pattern" {
		for i := range buf {
			if want := v.Pattern[i%len(v.Pattern)]; buf[i] != want {
				return 0, &Mismatch{Offset: offset + uint64(i), What: "pattern byte", Expected: fmt.Sprintf("%#02x", want), Found: fmt.Sprintf("%#02x", buf[i])}
			}
		}
		return 0, nil
	}
	if v.HeaderAt > 0 {
		// verify_offset: each block's header goes back to its start.
		for i := 0; i < len(buf); i += v.Interval {
			b := buf[i:min(i+v.Interval, len(buf))]
			if at := v.HeaderAt; len(b) >= at+headerBytes {
				var h [headerBytes]byte
				copy(h[:], b[at:])
				copy(b[headerBytes:], b[:at])
				copy(b, h[:])
			}
			g, err := v.checkBlock(b, offset+uint64(i))
			if err != nil {
				return 0, err
			}
			maxGen = max(maxGen, g)
		}
		return maxGen, nil
	}
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

// CheckWritten is Check for a region that may hold blocks nothing wrote
// (verify_only reads back the job's whole region): a verify block with
// no magic where its header goes holds no verify header and is skipped,
// its bytes counted in skipped; the others are checked as Check checks
// them. Blocks of verify=pattern carry no header: every byte of them is
// checked, and nothing is skipped.
func (v *Verifier) CheckWritten(buf []byte, offset uint64) (skipped int, err error) {
	if v.Hash == "pattern" || v.Hash == "null" {
		_, err := v.Check(buf, offset)
		return 0, err
	}
	for i := 0; i < len(buf); {
		n := min(v.Interval, len(buf)-i)
		at := 0
		if v.HeaderAt > 0 && n >= v.HeaderAt+headerBytes {
			at = v.HeaderAt // verify_offset moved the header there
		}
		if n-at < len(verifyMagic) || string(buf[i+at:i+at+len(verifyMagic)]) != verifyMagic {
			skipped += n
			i += n
			continue
		}
		if v.HeaderAt == 0 && len(buf)-i >= headerBytes {
			// The block is as long as its header says, as in Check.
			if l := int(binary.LittleEndian.Uint32(buf[i+32:])); l >= headerBytes && l <= len(buf)-i && l%512 == 0 {
				n = l
			}
		}
		if _, err := v.Check(buf[i:i+n], offset+uint64(i)); err != nil {
			return skipped, err
		}
		i += n
	}
	return skipped, nil
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
	code := b[36]
	if code < hashCRC32C || code > hashLast {
		return 0, mm("hash type", fmt.Sprintf("1..%d", hashLast), code)
	}
	if len(v.Pattern) > 0 && !bytes.Equal(b[headerBytes:], patternOf(len(b)-headerBytes, v.Pattern)) {
		return 0, mm("data (verify_pattern)", "the pattern", "other bytes")
	}
	// Recompute the digest over the block with its digest field zeroed,
	// then put the stored digest back.
	var saved [32]byte
	field := b[40:72]
	if code == hashCRC32C || code == hashCRC32 {
		field = b[4:8]
	}
	copy(saved[:], field)
	clear(field)
	putDigest(b, code)
	ok := bytes.Equal(saved[:len(field)], field)
	got := fmt.Sprintf("%x", field[:min(len(field), 8)])
	copy(field, saved[:len(field)])
	if !ok {
		return 0, mm(hashNames[code], fmt.Sprintf("%x", saved[:min(len(field), 8)]), got)
	}
	return gen, nil
}

// patternOf returns n bytes of pattern repeated (a fresh slice: only the
// slow verify path uses it).
func patternOf(n int, pattern []byte) []byte {
	b := make([]byte, n)
	fillPattern(b, pattern)
	return b
}

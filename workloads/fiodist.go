package workloads

import (
	"math"
	"math/bits"
)

// fio 3.33's non-uniform random offsets (random_distribution=zipf, pareto,
// normal, zoned), written afresh in Go from what fio's sources say
// (lib/zipf.c, lib/gauss.c, lib/hash.h, filesetup.c, io_u.c, init.c) and
// checked against the offsets fio 3.33 writes to its write_iolog
// (fiorand_test.go, and the runner's TestRandomOffsetsAsFio).
//
// zipf, pareto and normal draw from a 32-bit Tausworthe state of their
// own per file, seeded (with randrepeat) by fio's Jenkins hash of the
// file's name times the thread's number, or (randrepeat=0) by the seed of
// the thread's offsets; a value is spread over the file's ranges by fio's
// 64-bit golden-ratio hash plus an offset (a first draw, or the center).
// zoned and zoned_abs draw a zone from the thread's zone state (its seed
// number 16) and a block in the zone from the thread's offsets' state.
// fio keeps no random map with any of them.

// fioZoneSeedIndex is FIO_RAND_ZONE_OFF in fio 3.33: the index of the seed
// of the zone choices of random_distribution=zoned.
const fioZoneSeedIndex = 16

// fioFileSeedIndex is FIO_RAND_FILE_OFF in fio 3.33: the index of the
// seed of the file choices of file_service_type; fioFileServiceShift is
// FIO_FSERVICE_SHIFT, the bits of ranges per file fio draws over.
const (
	fioFileSeedIndex    = 5
	fioFileServiceShift = 10
)

// fioGoldenRatio64 is the multiplier of fio's 64-bit hash (__hash_u64).
const fioGoldenRatio64 = 0x61c8864680b583eb

// fioZipfMaxRanges caps the terms of the zeta sum fio 3.33 computes.
const fioZipfMaxRanges = 10000000

// fioJHash is fio's jhash of key with initial value 0 (Bob Jenkins's
// lookup2-style mixing, with fio's starting constant 0x61c88647): it
// seeds a file's zipf, pareto or normal state from the file's name. As
// fio's does, it adds one byte, not one word, to each of a, b and c per
// 12 bytes before the last block.
func fioJHash(key string) uint32 {
	rol := bits.RotateLeft32
	n := uint32(len(key))
	a := 0x61c88647 + n
	b, c := a, a
	k := key
	for len(k) > 12 {
		a += uint32(k[0])
		b += uint32(k[4])
		c += uint32(k[8])
		a -= c
		a ^= rol(c, 4)
		c += b
		b -= a
		b ^= rol(a, 6)
		a += c
		c -= b
		c ^= rol(b, 8)
		b += a
		a -= c
		a ^= rol(c, 16)
		c += b
		b -= a
		b ^= rol(a, 19)
		a += c
		c -= b
		c ^= rol(b, 4)
		b += a
		k = k[12:]
	}
	if len(k) == 0 {
		return c
	}
	for i := len(k) - 1; i >= 0; i-- {
		v := uint32(k[i])
		switch {
		case i >= 8:
			c += v << (8 * (i - 8))
		case i >= 4:
			b += v << (8 * (i - 4))
		default:
			a += v << (8 * i)
		}
	}
	c ^= b
	c -= rol(b, 14)
	a ^= c
	a -= rol(c, 11)
	b ^= a
	b -= rol(a, 25)
	c ^= b
	c -= rol(b, 16)
	a ^= c
	a -= rol(c, 4)
	b ^= a
	b -= rol(a, 14)
	c ^= b
	c -= rol(b, 24)
	return c
}

// fioDist is a file's state for fio's zipf, pareto, normal or zoned
// offsets.
type fioDist struct {
	kind string
	rnd  fioRand // zipf, pareto, normal: the file's own state, 32 bits
	n    uint64  // the file's ranges (fio's nranges)
	off  uint64  // zipf, pareto: added to a hashed value (fio's rand_off)

	theta, zetan, zipfHalf, alpha, eta float64 // zipf
	pow                                float64 // pareto
	stddev, goff                       uint32  // normal: width and 32-bit offset
	center                             float64 // zipf, pareto: :center, or -1
	noHash                             bool    // file_service_type: values unhashed, as fio's

	zone  *fioRand       // zoned: the thread's zone state
	zones [100][2]uint64 // zoned: the zone of each draw 1 to 100, its start and end percent (zoned_abs: bytes)
}

// fioDistExact reports whether fio's draws of j's distribution can be
// followed: zipf, pareto and normal, and zoned with whole percentages
// (both directions taking the same zones) and a Tausworthe generator.
func fioDistExact(j *Job) bool {
	switch j.Dist.Kind {
	case "zipf", "pareto", "normal":
		return true
	case "zoned", "zoned_abs":
		if j.RandomGenerator == "lfsr" {
			return false
		}
		var a, s float64
		for _, z := range j.Dist.Zones {
			if z.AccessPct != math.Trunc(z.AccessPct) || z.SizePct != math.Trunc(z.SizePct) {
				return false
			}
			a, s = a+z.AccessPct, s+z.SizePct
		}
		return a == 100 && (s == 100 || j.Dist.Kind == "zoned_abs")
	}
	return false
}

// fioFileName returns the name fio gives the job's file: the runner's
// path, or fio's default name for job j's first file.
func fioFileName(j *Job) string {
	if j.FilePath != "" {
		return j.FilePath
	}
	return j.Name + ".0.0"
}

// newFioDist returns the state of j's distribution for a file region of
// span bytes (fio's nranges: the span in units of the smallest block
// size of reads and writes, rounded up).
func newFioDist(j *Job, span uint64) *fioDist {
	rs := max(min(minBSDir(j, 0), minBSDir(j, 1)), 1)
	return newFioSkew(j.Dist, max((span+rs-1)/rs, 1))
}

// newFioSkew returns the state of distribution d over n ranges, to be
// seeded (seed, seedWith).
func newFioSkew(d Dist, n uint64) *fioDist {
	x := &fioDist{kind: d.Kind, n: n, center: -1}
	if d.HasCenter {
		x.center = d.Center
	}
	switch x.kind {
	case "zipf":
		x.theta = d.Param
		for i := range min(x.n, fioZipfMaxRanges) {
			x.zetan += math.Pow(1.0/float64(i+1), x.theta)
		}
		zeta2 := math.Pow(1.0, x.theta) + math.Pow(0.5, x.theta)
		x.alpha = 1.0 / (1.0 - x.theta)
		x.eta = (1.0 - math.Pow(2.0/float64(x.n), 1.0-x.theta)) / (1.0 - zeta2/x.zetan)
		x.zipfHalf = 1.0 + math.Pow(0.5, x.theta)
	case "pareto":
		x.pow = math.Log(d.Param) / math.Log(1.0-d.Param)
	case "normal":
		if dev := d.Param; dev != 0 {
			x.stddev = uint32(math.Ceil(float64(x.n) * dev / 100.0))
			if uint64(x.stddev) > x.n/2 {
				x.stddev = uint32(x.n / 2)
			}
		}
		if d.HasCenter {
			// fio keeps it in 32 bits: a center below the middle adds
			// 2^32 less its distance.
			x.goff = uint32(int64(float64(x.n) * (d.Center - 0.5)))
		}
	case "zoned", "zoned_abs":
		x.zone = &fioRand{}
		var a, s uint64
		for _, z := range d.Zones {
			ap, sp := uint64(z.AccessPct), uint64(z.SizePct)
			if x.kind == "zoned_abs" {
				sp = z.Size
			}
			for i := a; i < a+ap && i < 100; i++ {
				x.zones[i] = [2]uint64{s, s + sp}
			}
			a, s = a+ap, s+sp
		}
	}
	return x
}

// seed seeds the state as fio seeds it for the file name of job j's
// thread thread: zipf, pareto and normal from the name's hash times the
// thread (randrepeat, no randseed: fioRepeatable) or the thread's
// offsets' seed; zoned's zone state from the thread's seed number 16.
func (x *fioDist) seed(j *Job, thread int, name string) {
	if x.zone != nil {
		x.zone.seed = fioSeed(j, thread, fioZoneSeedIndex)
		x.zone.reseed()
		return
	}
	s := fioJHash(name) * uint32(max(thread, 1))
	if !fioRepeatable(j) {
		s = uint32(fioOffsetSeed(j, thread))
	}
	x.seedWith(s)
}

// seedWith seeds zipf's, pareto's or normal's own 32-bit state with s,
// and draws zipf's and pareto's offset (their first value, unless a
// center gives it), as fio's init does.
func (x *fioDist) seedWith(s uint32) {
	x.rnd = fioRand{seed: uint64(s)}
	x.rnd.reseed()
	if x.kind == "zipf" || x.kind == "pareto" {
		x.off = x.rnd.next()
		if x.center != -1 {
			x.off = uint64(float64(x.n) * x.center)
		}
	}
}

// hash spreads value v as fio does, with its 64-bit golden-ratio hash
// (not for file_service_type, whose values fio leaves as they are).
func (x *fioDist) hash(v uint64) uint64 {
	if x.noHash {
		return v
	}
	return v * fioGoldenRatio64
}

// unit returns the next draw over [0, 1]: a 32-bit value over 2^32-1.
func (x *fioDist) unit() float64 { return float64(x.rnd.next()) / 4294967295.0 }

// next returns the next block, in units of the block alignment ba (as
// fio multiplies it): for zipf, pareto and normal a range of the file; for
// zoned a block of the zone drawn, by rnd (the thread's offsets' state)
// over the zone's percent of lastb blocks (the direction's); for
// zoned_abs over the zone's bytes.
func (x *fioDist) next(rnd *fioRand, lastb, ba uint64) uint64 {
	var v uint64
	switch x.kind {
	case "zipf":
		u := x.unit()
		switch z := u * x.zetan; {
		case z < 1:
		case z < x.zipfHalf:
			v = 1
		default:
			v = uint64(float64(x.n) * math.Pow(float64(x.eta*u)-x.eta+1.0, x.alpha))
		}
		return (x.hash(v) + x.off) % x.n
	case "pareto":
		v = uint64(float64(x.n-1) * math.Pow(x.unit(), x.pow))
		return (x.hash(v) + x.off) % x.n
	case "normal":
		for range 12 {
			v += x.rnd.next() % (x.n + 1)
		}
		v = (v + 11) / 12
		if x.stddev != 0 {
			w := int32(float64(x.stddev) * (float64(x.rnd.next()) / 4294967296.0))
			dev := int64(int32(uint32(w) - x.stddev/2))
			for dev != 0 && uint64(dev)+v >= x.n {
				dev /= 2
			}
			v += uint64(dev)
		}
		return (x.hash(v) + uint64(x.goff)) % x.n
	}
	// zoned
	inv := 1.0 / 4294967296.0
	if x.zone.use64 {
		inv = 1.0 / 18446744073709551616.0
	}
	pick := 1 + uint64(100*(float64(x.zone.next())*inv))
	z := x.zones[pick-1]
	if x.kind == "zoned_abs" {
		// The zone's blocks of the alignment ba (CheckSequence keeps
		// its end within the region).
		lo := z[0] / ba
		return lo + rnd.block(z[1]/ba-lo)
	}
	return z[0]*lastb/100 + rnd.block(lastb*(z[1]-z[0])/100)
}

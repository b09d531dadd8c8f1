package engine

import (
	"sync/atomic"
	"time"
)

// Stats are counters of an engine or of one file. They only grow; subtract
// two snapshots to measure an interval.
type Stats struct {
	Requests      uint64 // requests completed
	Reads, Writes uint64 // requests by direction
	Errors        uint64 // requests that failed
	Hits          uint64 // cache lookups that found a mapping
	Misses        uint64 // cache lookups that did not
	MapperCalls   uint64 // MapRead and MapWrite calls
	MapperTime    time.Duration
	StaleRetries  uint64 // mapper replies dropped because the cache changed
	IOs           uint64 // device I/Os completed (including continuations)
	ReadBytes     uint64 // bytes read from devices
	WriteBytes    uint64 // bytes written to devices
	ZeroBytes     uint64 // bytes zero-filled without device I/O
	InlineBytes   uint64 // bytes copied from the mapper (inline data)
	Splits        uint64 // requests that needed more than one device I/O
	OutOfPlace    uint64 // device writes that went to a fresh location
	ShortIOs      uint64 // short transfers that were continued
	Retries       uint64 // device I/Os retried after EAGAIN
	FreedBytes    uint64 // space handed back to the mapper
	MaxInFlight   uint64 // most device I/Os in flight on one queue
	CachedExtents uint64 // records in the caches (read + write fork)
	CacheBytes    uint64 // memory the caches' trees hold
	Merges        uint64 // cache records merged with a neighbour
	Evicted       uint64 // read-fork records evicted by a cache budget
}

// HitRate is Hits / (Hits + Misses), or 0 when nothing was looked up.
func (s Stats) HitRate() float64 {
	if s.Hits+s.Misses == 0 {
		return 0
	}
	return float64(s.Hits) / float64(s.Hits+s.Misses)
}

// MeanMapperLatency is the average time of a mapper call.
func (s Stats) MeanMapperLatency() time.Duration {
	if s.MapperCalls == 0 {
		return 0
	}
	return s.MapperTime / time.Duration(s.MapperCalls)
}

// counters are the atomics behind Stats. Queues update them with atomic
// adds; each queue batches nothing, so a snapshot is exact once idle.
type counters struct {
	requests, reads, writes, errors atomic.Uint64
	hits, misses                    atomic.Uint64
	mapperCalls, mapperNs           atomic.Uint64
	staleRetries                    atomic.Uint64
	ios, readBytes, writeBytes      atomic.Uint64
	zeroBytes, inlineBytes          atomic.Uint64
	splits, outOfPlace              atomic.Uint64
	shortIOs, retries, freedBytes   atomic.Uint64
	maxInFlight                     atomic.Uint64
}

func (c *counters) snapshot() Stats {
	return Stats{
		Requests: c.requests.Load(), Reads: c.reads.Load(), Writes: c.writes.Load(),
		Errors: c.errors.Load(), Hits: c.hits.Load(), Misses: c.misses.Load(),
		MapperCalls: c.mapperCalls.Load(), MapperTime: time.Duration(c.mapperNs.Load()),
		StaleRetries: c.staleRetries.Load(), IOs: c.ios.Load(),
		ReadBytes: c.readBytes.Load(), WriteBytes: c.writeBytes.Load(),
		ZeroBytes: c.zeroBytes.Load(), InlineBytes: c.inlineBytes.Load(),
		Splits: c.splits.Load(), OutOfPlace: c.outOfPlace.Load(),
		ShortIOs: c.shortIOs.Load(), Retries: c.retries.Load(),
		FreedBytes: c.freedBytes.Load(), MaxInFlight: c.maxInFlight.Load(),
	}
}

// both adds to the engine's and the file's counter.
func both(e, f *atomic.Uint64, n uint64) {
	e.Add(n)
	f.Add(n)
}

package runner

import (
	"fmt"

	"github.com/iobench/iobench/device"
	"github.com/iobench/iobench/engine"
	"github.com/iobench/iobench/engine/mapper"
	"github.com/iobench/iobench/workloads"
)

// cowlogFile is the name of the file a cowlog job reads and writes.
const cowlogFile = "iobench"

// newCOWLog opens the cowlog format on the whole target: a target that
// carries it is recovered and reused, a blank one (zeros at the start) is
// formatted, and one with anything else is formatted only with --force.
// The job's file takes half the data area (or the job's region), the rest
// is room for out-of-place writes.
func newCOWLog(j *workloads.Job, dev *device.Device) (engine.Mapper, string, uint64, error) {
	path := dev.Path()
	probe, err := mapper.ProbeCOWLog(path)
	if err != nil {
		return nil, "", 0, fmt.Errorf("mapper=cowlog: %w", err)
	}
	switch {
	case probe == mapper.ProbeFormatted:
	case j.VerifyOnly:
		return nil, "", 0, fmt.Errorf("mapper=cowlog: verify_only: %s holds no cowlog format, nothing to verify", path)
	case probe == mapper.ProbeForeign && !j.Force:
		return nil, "", 0, fmt.Errorf("mapper=cowlog: %s holds data that is not a cowlog format; --force formats it", path)
	default:
		if err := mapper.FormatCOWLog(path, mapper.COWLogConfig{}); err != nil {
			return nil, "", 0, fmt.Errorf("mapper=cowlog: %w", err)
		}
	}
	_, dataLen := probeLayout(path)
	fileSize := dataLen / 2 / 4096 * 4096
	if j.Size > 0 {
		fileSize = min(fileSize, (j.Offset+j.Size+4095)/4096*4096)
	}
	if j.Offset+j.Size > fileSize {
		return nil, "", 0, fmt.Errorf("mapper=cowlog: offset+size (%d) must fit in half the data area (%d bytes), the rest is space for out-of-place writes", j.Offset+j.Size, dataLen/2)
	}
	m, err := mapper.OpenCOWLog(path, mapper.COWLogConfig{CreateSize: fileSize})
	if err != nil {
		return nil, "", 0, fmt.Errorf("mapper=cowlog: %w", err)
	}
	for _, fi := range m.List() {
		if fi.Name == cowlogFile {
			if fi.SizeBytes < j.Offset+j.Size {
				_ = m.Shutdown()
				return nil, "", 0, fmt.Errorf("mapper=cowlog: the file on %s has %d bytes, the job wants %d", path, fi.SizeBytes, j.Offset+j.Size)
			}
			fileSize = fi.SizeBytes
		}
	}
	return m, cowlogFile, fileSize, nil
}

// probeLayout returns the data area of the cowlog format at path.
func probeLayout(path string) (start, length uint64) {
	m, err := mapper.OpenCOWLog(path, mapper.COWLogConfig{})
	if err != nil {
		return 0, 0
	}
	defer m.Shutdown()
	return m.Layout()
}

// syncer counts a worker's writes and syncs every n (fsync=n).
type syncer struct {
	eng    *engine.Engine
	every  int
	writes int
	syncs  uint64
}

func newSyncer(eng *engine.Engine, j *workloads.Job) *syncer {
	every := j.Fsync
	if every == 0 || (j.Fdatasync > 0 && j.Fdatasync < every) {
		every = j.Fdatasync
	}
	return &syncer{eng: eng, every: every}
}

// wrote notes a completed write and syncs when it is time. It reports
// whether the sync failed, setting *first to the error unless it holds
// one.
func (s *syncer) wrote(first *error) bool {
	if s.every == 0 {
		return false
	}
	s.writes++
	if s.writes < s.every {
		return false
	}
	s.writes = 0
	s.syncs++
	if err := s.eng.Sync(); err != nil {
		if *first == nil {
			*first = fmt.Errorf("fsync: %w", err)
		}
		return true
	}
	return false
}

// shutdowner is a mapper with something to release after the engine.
type shutdowner interface{ Shutdown() error }

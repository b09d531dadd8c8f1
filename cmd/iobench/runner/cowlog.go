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
// formatted, and one with anything else, or a format that does not
// recover, is formatted only with --force. The job's file takes half the
// data area (or the job's region), the rest is room for out-of-place
// writes.
func newCOWLog(j *workloads.Job, dev *device.Device) (engine.Mapper, string, uint64, error) {
	path := dev.Path()
	probe, err := mapper.ProbeCOWLog(path)
	if err != nil {
		return nil, "", 0, fmt.Errorf("mapper=cowlog: %w", err)
	}
	var m *mapper.COWLog
	if probe == mapper.ProbeFormatted {
		m, err = mapper.OpenCOWLog(path, mapper.COWLogConfig{})
		if err != nil && (j.VerifyOnly || !j.Force) {
			return nil, "", 0, fmt.Errorf("mapper=cowlog: %w (--force formats the target afresh)", err)
		}
	}
	if m == nil {
		switch {
		case j.VerifyOnly:
			return nil, "", 0, fmt.Errorf("mapper=cowlog: verify_only: %s holds no cowlog format, nothing to verify", path)
		case probe == mapper.ProbeForeign && !j.Force:
			return nil, "", 0, fmt.Errorf("mapper=cowlog: %s holds data that is not a cowlog format; --force formats it", path)
		}
		if err := mapper.FormatCOWLog(path, mapper.COWLogConfig{}); err != nil {
			return nil, "", 0, fmt.Errorf("mapper=cowlog: %w", err)
		}
		if m, err = mapper.OpenCOWLog(path, mapper.COWLogConfig{}); err != nil {
			return nil, "", 0, fmt.Errorf("mapper=cowlog: %w", err)
		}
	}
	_, dataLen := m.Layout()
	fileSize := dataLen / 2 / 4096 * 4096
	if j.Size > 0 {
		fileSize = min(fileSize, (j.Offset+j.Size+4095)/4096*4096)
	}
	fail := func(err error) (engine.Mapper, string, uint64, error) {
		_ = m.Shutdown()
		return nil, "", 0, fmt.Errorf("mapper=cowlog: %w", err)
	}
	if j.Offset+j.Size > fileSize {
		return fail(fmt.Errorf("offset+size (%d) must fit in half the data area (%d bytes), the rest is space for out-of-place writes", j.Offset+j.Size, dataLen/2))
	}
	found := false
	for _, fi := range m.List() {
		if fi.Name == cowlogFile {
			if fi.SizeBytes < j.Offset+j.Size {
				return fail(fmt.Errorf("the file on %s has %d bytes, the job wants %d", path, fi.SizeBytes, j.Offset+j.Size))
			}
			fileSize, found = fi.SizeBytes, true
		}
	}
	if !found {
		if j.VerifyOnly {
			return fail(fmt.Errorf("verify_only: %s has no file %q, nothing to verify", path, cowlogFile))
		}
		if err := m.Create(cowlogFile, fileSize); err != nil {
			return fail(err)
		}
	}
	return m, cowlogFile, fileSize, nil
}

// shutdowner is a mapper with something to release after the engine.
type shutdowner interface{ Shutdown() error }

package runner

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/iobench/iobench/device"
	"github.com/iobench/iobench/engine"
	"github.com/iobench/iobench/engine/mapper"
	"github.com/iobench/iobench/workloads"
)

// newMapper makes the job's mapper over dev and says which file to open
// and how big it is.
func newMapper(j *workloads.Job, dev *device.Device) (m engine.Mapper, file string, size uint64, err error) {
	devSize := dev.Geometry().SizeBytes
	switch j.Mapper {
	case "linear":
		return mapper.NewLinear(0, 0, devSize), "raw", devSize, nil
	case "scattered":
		// The synthetic file covers the device's first half, its extents
		// scattered over the whole device.
		fileSize := devSize / 2 / 4096 * 4096
		if j.Size > 0 {
			fileSize = min(devSize, (j.Offset+j.Size+4095)/4096*4096)
		}
		s, err := mapper.NewScattered(mapper.ScatteredConfig{
			Dev: 0, DeviceLength: devSize, FileSize: fileSize,
			Extents: min(j.Extents, int(fileSize/4096)), Seed: j.RandSeed, Cost: j.MapLatency,
		})
		if err != nil {
			return nil, "", 0, err
		}
		return s, "scattered", fileSize, nil
	case "cowlog":
		return newCOWLog(j, dev)
	case "cow":
		// Out-of-place writes need room: the file takes the job's region
		// (or half the device), the rest is free space.
		fileSize := devSize / 2 / 4096 * 4096
		if j.Size > 0 {
			fileSize = min(devSize/2, (j.Offset+j.Size+4095)/4096*4096)
		}
		if err := mapperFits(j, devSize); err != nil {
			return nil, "", 0, err
		}
		c, err := mapper.NewCOW(mapper.COWConfig{Dev: 0, Length: devSize / 4096 * 4096, ExtentHint: 1 << 20, BlockSize: 4096, FileSize: fileSize})
		if err != nil {
			return nil, "", 0, err
		}
		return c, "cow", fileSize, nil
	case "fiemap":
		return mapper.NewFiemap(0, mapper.FiemapOptions{Device: dev.Path()}), j.Filenames()[0], 0, nil
	case "ext4":
		return newExt4JobMapper(j, dev)
	}
	return nil, "", 0, fmt.Errorf("mapper=%s: want linear, scattered, cow, cowlog, fiemap or ext4", j.Mapper)
}

// mapperFits checks that job j's region leaves its mapper the room it
// needs on a device of devSize bytes: cow keeps half the device as space
// for out-of-place writes.
func mapperFits(j *workloads.Job, devSize uint64) error {
	if j.Mapper == "cow" && j.Offset+j.Size > devSize/2 {
		return fmt.Errorf("mapper=cow: offset+size (%d) must fit in half the target (%d bytes), the rest is space for out-of-place writes", j.Offset+j.Size, devSize/2)
	}
	if j.Mapper == "cowlog" {
		dataLen, err := mapper.COWLogDataLength(devSize, mapper.COWLogConfig{})
		if err != nil {
			return fmt.Errorf("mapper=cowlog: %w", err)
		}
		if j.Offset+j.Size > dataLen/2/4096*4096 {
			return fmt.Errorf("mapper=cowlog: offset+size (%d) must fit in half the data area (%d bytes), the rest is space for out-of-place writes", j.Offset+j.Size, dataLen/2)
		}
	}
	return nil
}

// cowlogPreflight refuses, before any I/O, a cowlog job whose target
// holds something else (without --force, which formats it), or nothing
// to verify (verify_only), as newCOWLog would once the job starts.
func cowlogPreflight(j *workloads.Job, target string) error {
	probe, err := mapper.ProbeCOWLog(target)
	if err != nil {
		return fmt.Errorf("mapper=cowlog: %w", err)
	}
	switch {
	case j.VerifyOnly && probe != mapper.ProbeFormatted:
		return fmt.Errorf("mapper=cowlog: verify_only: %s holds no cowlog format, nothing to verify", target)
	case probe == mapper.ProbeForeign && !j.Force:
		return fmt.Errorf("mapper=cowlog: %s holds data that is not a cowlog format; --force formats it", target)
	}
	return nil
}

// fiemapDevice returns the block device holding the file at path: with
// mapper=fiemap the engine reads the file's data straight from it.
func fiemapDevice(path string) (string, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return "", fmt.Errorf("mapper=fiemap: %w", err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return "", fmt.Errorf("mapper=fiemap: %s is not a regular file on a mounted filesystem", path)
	}
	sys := fmt.Sprintf("/sys/dev/block/%d:%d", unix.Major(st.Dev), unix.Minor(st.Dev))
	real, err := filepath.EvalSymlinks(sys)
	if err != nil {
		return "", fmt.Errorf("mapper=fiemap: %s is not on a block device (%w)", path, err)
	}
	dev := "/dev/" + filepath.Base(real)
	if _, err := os.Stat(dev); err != nil {
		return "", fmt.Errorf("mapper=fiemap: block device of %s: %w", path, err)
	}
	return dev, nil
}

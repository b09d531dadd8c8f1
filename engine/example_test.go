package engine_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/iobench/iobench/device"
	"github.com/iobench/iobench/engine"
	"github.com/iobench/iobench/engine/mapper"
)

// Example writes and reads a file whose data is a device range (the
// linear mapper), here a regular file standing in for a block device.
func Example() {
	dir, _ := os.MkdirTemp("", "engine-example-")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "disk.img")
	os.WriteFile(path, make([]byte, 1<<20), 0o600)

	dev, err := device.Open(path, device.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer dev.Close()
	eng, err := engine.New(engine.Config{Devices: []*device.Device{dev}, Mapper: mapper.NewLinear(0, 0, 0)})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer eng.Close()

	f, _ := eng.Open("raw", engine.FileOptions{})
	buf := eng.Buffer(4096) // aligned, outside the Go heap
	defer eng.PutBuffer(buf)
	copy(buf, "hello, device")
	if _, err := f.WriteAt(buf, 8192); err != nil {
		fmt.Println(err)
		return
	}
	clear(buf)
	n, err := f.ReadAt(buf, 8192)
	fmt.Println(n, err, string(buf[:13]), f.Size())
	// Output: 4096 <nil> hello, device 1048576
}

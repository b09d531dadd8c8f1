package mapper_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/iobench/iobench/device"
	"github.com/iobench/iobench/engine"
	"github.com/iobench/iobench/engine/mapper"
	"github.com/iobench/iobench/mapcache"
)

// A COW mapper over a plain file used as the device: the file starts as a
// hole, a write gets fresh space, a rewrite gets fresh space again and the
// old space goes back to the allocator.
func ExampleNewCOW() {
	dir, _ := os.MkdirTemp("", "cow-example-")
	defer os.RemoveAll(dir)
	img := filepath.Join(dir, "dev.img")
	_ = os.WriteFile(img, make([]byte, 4<<20), 0o600)
	dev, err := device.Open(img, device.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer dev.Close()

	m, _ := mapper.NewCOW(mapper.COWConfig{ExtentHint: 256 << 10})
	e, err := engine.New(engine.Config{Devices: []*device.Device{dev}, Mapper: m})
	if err != nil {
		fmt.Println(err)
		return
	}
	f, _ := e.Open("data", engine.FileOptions{Size: 1 << 20})
	buf := e.Buffer(4096)
	_, _ = f.ReadAt(buf, 0)
	fmt.Printf("new file reads %q\n", buf[:5])
	copy(buf, "hello")
	_, _ = f.WriteAt(buf, 0)
	fmt.Println("used after a write:", m.UsedBytes())
	copy(buf, "world")
	_, _ = f.WriteAt(buf, 0)
	clear(buf)
	_, _ = f.ReadAt(buf, 0)
	fmt.Printf("after a rewrite reads %q\n", buf[:5])
	e.PutBuffer(buf)
	_ = e.Close() // waits for the old space to be freed
	fmt.Println("used after close:", m.UsedBytes())
	// Output:
	// new file reads "\x00\x00\x00\x00\x00"
	// used after a write: 4096
	// after a rewrite reads "world"
	// used after close: 4096
}

// A scattered layout is the same for the same seed; Warm puts all of it in
// a file's cache at once, without paying the per-call cost.
func ExampleNewScattered() {
	m, err := mapper.NewScattered(mapper.ScatteredConfig{
		DeviceLength: 1 << 30, FileSize: 64 << 20, Extents: 1000, Seed: 1,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	e, err := engine.New(engine.Config{Mapper: m}) // no devices: only to open files
	if err != nil {
		fmt.Println(err)
		return
	}
	defer e.Close()
	f, _ := e.Open("s", engine.FileOptions{})
	_ = m.Warm(f)
	fmt.Println("size:", f.Size(), "extents:", m.Extents(), "cached:", f.Cache().Len(mapcache.ReadFork), "calls:", m.Calls())
	// Output:
	// size: 67108864 extents: 1000 cached: 1000 calls: 0
}

package device_test

import (
	"fmt"
	"unsafe"

	"github.com/iobench/iobench/device"
)

func ExampleArena() {
	a, err := device.NewArena(1<<20, 4096)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer a.Close()
	b := a.Get(6000) // rounded up to the 8 KiB size class
	fmt.Println(len(b), cap(b), uintptr(unsafe.Pointer(&b[0]))%4096 == 0)
	// Register a.Regions() as io_uring fixed buffers; a buffer's fixed
	// buffer index is the region it lies in.
	fmt.Println(len(a.Regions()), a.Index(b))
	a.Put(b)
	fmt.Printf("%#x\n", b[0]) // use after Put shows the poison
	// Output:
	// 6000 8192 true
	// 1 0
	// 0xa5
}

func ExampleGeometry_String() {
	g := device.Geometry{
		SizeBytes: 512 << 30, LogicalBlockSize: 512, PhysicalBlockSize: 4096,
		DIOMemAlign: 4, DIOOffsetAlign: 512, Kind: "nvme", Model: "Example SSD",
		MaxSectorsKB: 128, NrRequests: 1023, PollQueues: true,
	}
	fmt.Println(g)
	// Output: nvme 512 GiB, logical 512 B, physical 4096 B, dio align mem 4 B offset 512 B, model "Example SSD", non-rotational, max I/O 128 KiB, nr_requests 1023, poll queues
}

package runner

import (
	"os"
	"path/filepath"
	"strings"
)

// cpuIdle describes how the machine's idle CPUs wait, from sysfs under
// root ("/" but in tests): the cpuidle driver and governor and, with the
// haltpoll driver of a virtual machine, guest_halt_poll_ns, or "" where
// sysfs says nothing.
//
// It is printed beside every comparison with fio because it decides
// what kind of day a run has. An I/O that completes on the other vCPU, or
// in a kernel worker there, has to wake it: a vCPU that halted wakes
// through the hypervisor (tens of µs on the 2-vCPU guests here), one
// that polls before halting (haltpoll with guest_halt_poll_ns above 0)
// wakes at once. Measured on a loop device over tmpfs (fio, 4 KiB random
// reads, depth 1, alternating 2 s runs): 17-40k IOPS with
// guest_halt_poll_ns at 0 against 36-71k at 200000, and the ratios of
// iobench to fio move with it.
func cpuIdle(root string) string {
	read := func(p string) string {
		b, err := os.ReadFile(filepath.Join(root, p))
		if err != nil {
			return ""
		}
		return strings.TrimSpace(string(b))
	}
	const dir = "sys/devices/system/cpu/cpuidle"
	driver := read(dir + "/current_driver")
	gov := read(dir + "/current_governor")
	if gov == "" {
		gov = read(dir + "/current_governor_ro")
	}
	var parts []string
	if driver != "" {
		parts = append(parts, "driver "+driver)
	}
	if gov != "" {
		parts = append(parts, "governor "+gov)
	}
	if driver == "haltpoll" || gov == "haltpoll" {
		if ns := read("sys/module/haltpoll/parameters/guest_halt_poll_ns"); ns != "" {
			what := "an idle vCPU polls up to " + ns + " ns before it halts"
			if ns == "0" {
				what = "an idle vCPU halts at once, and waking it goes through the hypervisor"
			}
			parts = append(parts, "guest_halt_poll_ns "+ns+" ("+what+")")
		}
	}
	return strings.Join(parts, ", ")
}

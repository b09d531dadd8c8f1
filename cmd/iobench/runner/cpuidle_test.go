package runner

import (
	"os"
	"path/filepath"
	"testing"
)

// TestCPUIdle reads the idle state from a fake sysfs tree of each kind.
func TestCPUIdle(t *testing.T) {
	write := func(root, p, s string) {
		t.Helper()
		p = filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	const dir = "sys/devices/system/cpu/cpuidle/"
	const param = "sys/module/haltpoll/parameters/guest_halt_poll_ns"
	for _, c := range []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"none", nil, ""},
		{"intel", map[string]string{dir + "current_driver": "intel_idle", dir + "current_governor": "menu", param: "5"},
			"driver intel_idle, governor menu"},
		{"read-only governor", map[string]string{dir + "current_driver": "acpi_idle", dir + "current_governor_ro": "ladder"},
			"driver acpi_idle, governor ladder"},
		{"haltpoll halting", map[string]string{dir + "current_driver": "haltpoll", dir + "current_governor": "haltpoll", param: "0"},
			"driver haltpoll, governor haltpoll, guest_halt_poll_ns 0 (an idle vCPU halts at once, and waking it goes through the hypervisor)"},
		{"haltpoll polling", map[string]string{dir + "current_driver": "haltpoll", dir + "current_governor": "haltpoll", param: "200000"},
			"driver haltpoll, governor haltpoll, guest_halt_poll_ns 200000 (an idle vCPU polls up to 200000 ns before it halts)"},
		{"haltpoll, no module parameter", map[string]string{dir + "current_driver": "haltpoll", dir + "current_governor": "haltpoll"},
			"driver haltpoll, governor haltpoll"},
	} {
		root := t.TempDir()
		for p, s := range c.files {
			write(root, p, s)
		}
		if got := cpuIdle(root); got != c.want {
			t.Errorf("%s: cpuIdle = %q, want %q", c.name, got, c.want)
		}
	}
}

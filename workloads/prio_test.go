package workloads

import (
	"strings"
	"testing"
)

// TestPrioOptions: the priority options' ranges, their reads,writes
// pairs, and the priorities a job's I/Os get from them, as fio gives
// them.
func TestPrioOptions(t *testing.T) {
	for _, c := range []struct {
		opts            map[string]string
		def, cmdR, cmdW uint16
		mixedR, mixedW  bool
	}{
		{map[string]string{}, 0, 0x2000, 0x2000, false, false},
		{map[string]string{"prio": "3"}, 0x4003, 0x2000, 0x2000, false, false},
		{map[string]string{"prioclass": "0", "prio": "3"}, 0x4003, 0x2000, 0x2000, false, false},
		{map[string]string{"prioclass": "0"}, 0, 0x2000, 0x2000, false, false},
		{map[string]string{"prioclass": "3"}, 0x6000, 0x2000, 0x2000, false, false},
		{map[string]string{"prioclass": "2", "prio": "7"}, 0x4007, 0x2000, 0x2000, false, false},
		{map[string]string{"cmdprio_percentage": "20"}, 0, 0x2000, 0x2000, true, true},
		{map[string]string{"cmdprio_percentage": "20,0", "cmdprio_class": "2,3", "cmdprio": "6"}, 0, 0x4006, 0x6006, true, false},
		{map[string]string{"cmdprio_percentage": "100"}, 0, 0x2000, 0x2000, false, false},
		{map[string]string{"prioclass": "1", "cmdprio_percentage": "50"}, 0x2000, 0x2000, 0x2000, false, false},
	} {
		j := NewJob("p")
		for k, v := range c.opts {
			if err := j.Set(k, v); err != nil {
				t.Fatalf("%v: %v", c.opts, err)
			}
		}
		p := j.Prio
		if p.Default() != c.def || p.Cmd(DirRead) != c.cmdR || p.Cmd(DirWrite) != c.cmdW ||
			p.Mixed(DirRead) != c.mixedR || p.Mixed(DirWrite) != c.mixedW || p.Mixed(DirTrim) {
			t.Errorf("%v: default %#x, cmdprio %#x,%#x, mixed %v,%v; want %#x, %#x,%#x, %v,%v", c.opts, p.Default(),
				p.Cmd(DirRead), p.Cmd(DirWrite), p.Mixed(DirRead), p.Mixed(DirWrite), c.def, c.cmdR, c.cmdW, c.mixedR, c.mixedW)
		}
		for draw := range 100 {
			want := p.Default()
			if draw < p.CmdPct[DirRead] {
				want = p.Cmd(DirRead)
			}
			if got := p.Pick(DirRead, draw); got != want {
				t.Fatalf("%v: draw %d picks %#x, want %#x", c.opts, draw, got, want)
			}
		}
	}
	for _, c := range []struct{ key, value, want string }{
		{"prio", "8", "0..7"}, {"prioclass", "4", "0..3"}, {"cmdprio_percentage", "101", "0..100"},
		{"cmdprio_class", "0", "1..3"}, {"cmdprio", "9", "0..7"}, {"cmdprio_percentage", "10,20,30", "at most two"},
		{"cmdprio_class", "1,x", "write value"},
	} {
		j := NewJob("p")
		if err := j.Set(c.key, c.value); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s=%s: %v, want an error saying %q", c.key, c.value, err, c.want)
		}
	}
}

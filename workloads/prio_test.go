package workloads

import (
	"reflect"
	"slices"
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
			p.Mixed(DirRead, j.DirSizes(DirRead)) != c.mixedR || p.Mixed(DirWrite, j.DirSizes(DirWrite)) != c.mixedW || p.Mixed(DirTrim, nil) {
			t.Errorf("%v: default %#x, cmdprio %#x,%#x, mixed %v,%v; want %#x, %#x,%#x, %v,%v", c.opts, p.Default(),
				p.Cmd(DirRead), p.Cmd(DirWrite), p.Mixed(DirRead, j.DirSizes(DirRead)), p.Mixed(DirWrite, j.DirSizes(DirWrite)), c.def, c.cmdR, c.cmdW, c.mixedR, c.mixedW)
		}
		for draw := range 100 {
			want := p.Default()
			if draw < p.CmdPct[DirRead] {
				want = p.Cmd(DirRead)
			}
			if got := p.Pick(DirRead, 4096, draw); got != want {
				t.Fatalf("%v: draw %d picks %#x, want %#x", c.opts, draw, got, want)
			}
		}
	}
	for _, c := range []struct{ key, value, want string }{
		{"prio", "8", "0..7"}, {"prioclass", "4", "0..3"}, {"cmdprio_percentage", "101", "0..100"},
		{"cmdprio_class", "0", "1..3"}, {"cmdprio", "9", "0..7"}, {"cmdprio_percentage", "10,20,30", "at most two"},
		{"cmdprio_class", "1,x", "write value"},
		{"cmdprio_bssplit", "4k/60:4k/50", "add up to 110"}, {"cmdprio_bssplit", "4k/20/4/0", "class"},
		{"cmdprio_bssplit", "4k/20/1", "size/percentage/class/level"}, {"cmdprio_bssplit", "4k/20/1/8", "level"},
		{"cmdprio_bssplit", "1m/10/2/0/1:1m/90/2/0/0", "priority hint 1 (newer fio's fifth field) is not implemented"},
		{"cmdprio_bssplit", "1m/10/2/0/9", "priority hint"}, {"cmdprio_bssplit", "1m/10/2/0/0/0", "size/percentage/class/level"},
	} {
		j := NewJob("p")
		if err := j.Set(c.key, c.value); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s=%s: %v, want an error saying %q", c.key, c.value, err, c.want)
		}
	}
}

// TestPrioBSSplitHintZero: newer fio's five-field cmdprio_bssplit entry
// (its cmdprio-bssplit.fio's cmdprio-hints job) with hint 0, no hint, is
// the four-field entry, which fio 3.33 runs too.
func TestPrioBSSplitHintZero(t *testing.T) {
	a, b := NewJob("a"), NewJob("b")
	if err := a.Set("cmdprio_bssplit", "1m/60/2/0/0:2m/90/3/1/0"); err != nil {
		t.Fatal(err)
	}
	if err := b.Set("cmdprio_bssplit", "1m/60/2/0:2m/90/3/1"); err != nil {
		t.Fatal(err)
	}
	if len(a.Prio.BSSplit[DirRead]) != 2 || a.Prio.BSSplit[DirRead][1].Class != 3 || !reflect.DeepEqual(a.Prio, b.Prio) {
		t.Errorf("hint 0: %+v, want the four-field entry's %+v", a.Prio, b.Prio)
	}
}

// TestPrioBSSplit: cmdprio_bssplit gives each block size its own shares
// of priorities, in fio's two forms (the simple one takes cmdprio_class
// and cmdprio), and what a direction's I/Os can go out with.
func TestPrioBSSplit(t *testing.T) {
	j := NewJob("p")
	for k, v := range map[string]string{"rw": "randrw", "bssplit": "64k/40:1m/60,1m/100",
		"cmdprio_bssplit": "64k/25/1/1:64k/75/3/2:1m/0,1m/0", "prioclass": "2", "prio": "7"} {
		if err := j.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.Validate(); err != nil {
		t.Fatal(err)
	}
	p := j.Prio
	if got, want := p.Values(DirRead, j.DirSizes(DirRead)), []uint16{0x4007, 0x2001, 0x6002}; !slices.Equal(got, want) {
		t.Errorf("read priorities %#x, want %#x", got, want)
	}
	if got := p.Values(DirWrite, j.DirSizes(DirWrite)); !slices.Equal(got, []uint16{0x4007}) || p.Mixed(DirWrite, j.DirSizes(DirWrite)) {
		t.Errorf("write priorities %#x, want the job's alone", got)
	}
	for _, c := range []struct {
		bs   uint64
		draw int
		want uint16
	}{{64 << 10, 0, 0x2001}, {64 << 10, 24, 0x2001}, {64 << 10, 25, 0x6002}, {64 << 10, 99, 0x6002},
		{1 << 20, 0, 0x4007}, {4096, 0, 0x4007}} {
		if got := p.Pick(DirRead, c.bs, c.draw); got != c.want {
			t.Errorf("read of %d, draw %d: %#x, want %#x", c.bs, c.draw, got, c.want)
		}
	}

	simple := NewJob("s")
	for k, v := range map[string]string{"bssplit": "64k/40:1m/60", "cmdprio_bssplit": "64k/100:1m/0", "cmdprio_class": "3", "cmdprio": "4"} {
		if err := simple.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if got := simple.Prio.Values(DirRead, simple.DirSizes(DirRead)); !slices.Equal(got, []uint16{0, 0x6004}) {
		t.Errorf("simple form: priorities %#x, want the thread's and 3/4", got)
	}
	if got := simple.Prio.Pick(DirRead, 64<<10, 99); got != 0x6004 {
		t.Errorf("simple form: a 64k read at draw 99 gets %#x, want 0x6004", got)
	}

	both := NewJob("b")
	_ = both.Set("cmdprio_bssplit", "4k/50")
	_ = both.Set("cmdprio_percentage", "10")
	if err := both.Validate(); err == nil || !strings.Contains(err.Error(), "mutually exclusive") {
		t.Errorf("cmdprio_bssplit with cmdprio_percentage: %v", err)
	}
}

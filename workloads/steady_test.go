package workloads

import (
	"strings"
	"testing"
	"time"
)

// TestSteadyStateOptions: ss, ss_dur and ss_ramp as fio reads them.
func TestSteadyStateOptions(t *testing.T) {
	j := NewJob("s")
	if j.SS.Mode != "iops_slope" || j.SS.Limit != 0.01 || !j.SS.Pct || j.SS.Dur != 0 {
		t.Errorf("default %+v, want iops_slope:0.01%% and no ss_dur (off)", j.SS)
	}
	for _, c := range []struct {
		v     string
		mode  string
		limit float64
		pct   bool
		str   string
	}{
		{"iops:5%", "iops", 5, true, "iops:5.000000%"},
		{"bw_slope:0.3%", "bw_slope", 0.3, true, "bw_slope:0.300000%"},
		{"bw:10M", "bw", 10 << 20, false, "bw:10485760.000000"},
		{"iops_slope:-2", "iops_slope", -2, false, "iops_slope:-2.000000"},
	} {
		j := NewJob("s")
		if err := j.Set("ss", c.v); err != nil {
			t.Fatalf("ss=%s: %v", c.v, err)
		}
		if j.SS.Mode != c.mode || j.SS.Limit != c.limit || j.SS.Pct != c.pct || j.SS.String() != c.str {
			t.Errorf("ss=%s: %+v (%s)", c.v, j.SS, j.SS.String())
		}
	}
	for _, c := range []struct{ v, want string }{
		{"iops", "limit must be given"}, {"foo:5%", "want iops"}, {"IOPS:5%", "want iops"}, {"iops:10M", "bad limit"}, {"iops:x%", "invalid syntax"},
	} {
		j := NewJob("s")
		if err := j.Set("ss", c.v); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ss=%s: %v, want an error saying %q", c.v, err, c.want)
		}
	}
	for v, want := range map[string]time.Duration{"30": 30 * time.Second, "2500ms": 2 * time.Second, "1m": time.Minute} {
		j := NewJob("s")
		if err := j.Set("ss_dur", v); err != nil || j.SS.Dur != want {
			t.Errorf("ss_dur=%s: %v %v, want %v", v, j.SS.Dur, err, want)
		}
	}
	if err := j.Set("ss_ramp", "10"); err != nil || j.SS.Ramp != 10*time.Second {
		t.Errorf("ss_ramp=10: %v %v", j.SS.Ramp, err)
	}
}

package runner

import (
	"encoding/json"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/iobench/iobench/workloads"
)

// TestSteadyWindow: the checks against a direct computation over the last
// ss_dur samples: the largest distance from the mean, the least-squares
// slope, both in units and as a percentage of the mean, and the window
// reported oldest first.
func TestSteadyWindow(t *testing.T) {
	samples := []uint64{100, 400, 250, 260, 240, 255, 250, 251, 900}
	for _, cfg := range []workloads.SteadyState{
		{Mode: "iops", Limit: 20, Dur: 4 * time.Second},
		{Mode: "iops", Limit: 5, Pct: true, Dur: 3 * time.Second},
		{Mode: "bw_slope", Limit: 3, Dur: 4 * time.Second},
		{Mode: "iops_slope", Limit: 1, Pct: true, Dur: 5 * time.Second},
	} {
		w := &steadyWindow{cfg: cfg, n: int(cfg.Dur / time.Second)}
		for k, x := range samples {
			met := w.add(x, 4096*x)
			lo := max(0, k+1-w.n)
			win := samples[lo : k+1]
			if len(win) < w.n {
				if met {
					t.Fatalf("%v: met with %d of %d samples", cfg, len(win), w.n)
				}
				continue
			}
			ys := make([]float64, len(win))
			var mean float64
			for i, v := range win {
				ys[i] = float64(v)
				if !cfg.IOPS() {
					ys[i] *= 4096
				}
				mean += ys[i] / float64(len(win))
			}
			var want float64
			if cfg.Slope() {
				var num, den float64
				xm := float64(len(win)-1) / 2
				for i, y := range ys {
					num += (float64(i) - xm) * (y - mean)
					den += (float64(i) - xm) * (float64(i) - xm)
				}
				want = num / den
			} else {
				for _, y := range ys {
					want = max(want, math.Abs(y-mean))
				}
			}
			if cfg.Pct {
				want = 100 * want / mean
			}
			wantMet := want < cfg.Limit
			if cfg.Slope() {
				wantMet = math.Abs(want) < cfg.Limit
			}
			if math.Abs(w.crit-want) > 1e-6*math.Max(1, math.Abs(want)) || met != wantMet {
				t.Errorf("%v after %v: criterion %g met %v, want %g %v", cfg, win, w.crit, met, want, wantMet)
			}
			r := w.result(met)
			if r.IOPS[0] != win[0] || r.IOPS[w.n-1] != win[len(win)-1] || r.BW[0] != 4096*win[0] {
				t.Errorf("%v: window %v / %v, want %v", cfg, r.IOPS, r.BW, win)
			}
		}
	}
	// Fewer samples than ss_dur: the report pads the seconds not sampled
	// with 0 in front.
	w := &steadyWindow{cfg: workloads.SteadyState{Mode: "iops", Limit: 1, Dur: 3 * time.Second}, n: 3}
	w.add(7, 70)
	if r := w.result(false); len(r.IOPS) != 3 || r.IOPS[0] != 0 || r.IOPS[2] != 7 || r.BW[2] != 70 {
		t.Errorf("partial window: %v %v", r.IOPS, r.BW)
	}
}

// ssJSON is fio's steadystate object.
type ssJSON struct {
	SS           string  `json:"ss"`
	Duration     int     `json:"duration"`
	Attained     int     `json:"attained"`
	Criterion    string  `json:"criterion"`
	MaxDeviation float64 `json:"max_deviation"`
	Slope        float64 `json:"slope"`
	Data         struct {
		BWMean   uint64   `json:"bw_mean"`
		IOPSMean uint64   `json:"iops_mean"`
		IOPS     []uint64 `json:"iops"`
		BW       []uint64 `json:"bw"`
	} `json:"data"`
}

// ssRun runs a time-based random read job with the given options on a
// file target and returns each job report's steadystate and runtime (ms).
func ssRun(t *testing.T, opts ...string) ([]*ssJSON, []int64) {
	t.Helper()
	target := zeroTarget(t, t.TempDir())
	args := append([]string{"--name=s", "--filename=" + target, "--rw=randread", "--bs=4k", "--size=8m", "--time_based",
		"--output-format=json"}, opts...)
	code, out, errOut := run(t, args...)
	if code != 0 {
		t.Fatalf("%v: exit %d: %s", opts, code, errOut)
	}
	var doc struct {
		Jobs []struct {
			SS         *ssJSON `json:"steadystate"`
			JobRuntime int64   `json:"job_runtime"`
		} `json:"jobs"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("JSON: %v\n%s", err, out)
	}
	var ss []*ssJSON
	var rt []int64
	for _, j := range doc.Jobs {
		ss, rt = append(ss, j.SS), append(rt, j.JobRuntime)
	}
	return ss, rt
}

// TestSteadyStateStopsTheJob: a criterion that any full window meets
// stops a 30 s job once ss_ramp and ss_dur seconds of samples have passed;
// one that none meets lets it run its runtime, attained 0; fio's JSON
// fields either way.
func TestSteadyStateStopsTheJob(t *testing.T) {
	ss, rt := ssRun(t, "--runtime=30", "--ss=iops:1000%", "--ss_dur=2", "--ss_ramp=500ms")
	s := ss[0]
	if s == nil || s.Attained != 1 || s.SS != "iops:1000.000000%" || s.Duration != 2 || !strings.HasSuffix(s.Criterion, "%") {
		t.Fatalf("steadystate %+v, want attained iops:1000.000000%% over 2 s", s)
	}
	if rt[0] < 2400 || rt[0] > 6000 {
		t.Errorf("job ran %d ms, want about 2.5 s (0.5 s ramp, 2 samples of 1 s)", rt[0])
	}
	if len(s.Data.IOPS) != 2 || len(s.Data.BW) != 2 || s.Data.IOPS[0] == 0 || s.Data.BW[1] != 0 && s.Data.BW[1] < 4096*s.Data.IOPS[1]/2 {
		t.Errorf("window %+v", s.Data)
	}
	if mean := (s.Data.IOPS[0] + s.Data.IOPS[1]) / 2; s.Data.IOPSMean != mean {
		t.Errorf("iops_mean %d, want %d", s.Data.IOPSMean, mean)
	}
	if s.Slope != 0 || s.MaxDeviation <= 0 && s.Data.IOPS[0] != s.Data.IOPS[1] {
		t.Errorf("deviation mode: slope %g, max_deviation %g", s.Slope, s.MaxDeviation)
	}

	ss, rt = ssRun(t, "--runtime=3", "--ss=bw_slope:-1", "--ss_dur=2")
	if s := ss[0]; s == nil || s.Attained != 0 || s.SS != "bw_slope:-1.000000" || strings.HasSuffix(s.Criterion, "%") || s.MaxDeviation != 0 {
		t.Fatalf("steadystate %+v, want bw_slope:-1 not attained", s)
	}
	if rt[0] < 2900 {
		t.Errorf("job ran %d ms of its 3 s runtime", rt[0])
	}

	// Without ss_dur there is no detection and no steadystate object.
	if ss, _ := ssRun(t, "--runtime=1", "--ss=iops:5%"); ss[0] != nil {
		t.Errorf("steadystate without ss_dur: %+v", ss[0])
	}
}

// TestSteadyStateGroupReporting: with group_reporting the clones are
// watched together and stop together, one steadystate for the group;
// without it each clone has its own.
func TestSteadyStateGroupReporting(t *testing.T) {
	ss, rt := ssRun(t, "--runtime=30", "--numjobs=2", "--group_reporting", "--ss=iops:1000%", "--ss_dur=2")
	if len(ss) != 1 || ss[0] == nil || ss[0].Attained != 1 || rt[0] > 2*6000 {
		t.Fatalf("group: %d reports, %+v, runtime %v", len(ss), ss, rt)
	}
	ss, _ = ssRun(t, "--runtime=30", "--numjobs=2", "--ss=iops:1000%", "--ss_dur=2")
	if len(ss) != 2 || ss[0] == nil || ss[1] == nil || ss[0].Attained != 1 || ss[1].Attained != 1 {
		t.Fatalf("clones: %d reports, %+v", len(ss), ss)
	}
}

// TestSteadyStateNormalLine: fio's steadystate line after the latency
// line.
func TestSteadyStateNormalLine(t *testing.T) {
	target := zeroTarget(t, t.TempDir())
	code, out, errOut := run(t, "--name=s", "--filename="+target, "--rw=randread", "--bs=4k", "--size=8m", "--time_based",
		"--runtime=30", "--ss=iops_slope:1000%", "--ss_dur=2")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	re := regexp.MustCompile(`(?m)^     latency   : .*\n  steadystate  : attained=yes, bw=[0-9.]+[KMG]iB/s \([0-9.]+[kMG]B/s\), iops=[0-9.]+k?, iops slope=-?[0-9]+\.[0-9]{3}%\n`)
	if !re.MatchString(out) {
		t.Errorf("no steadystate line after the latency line in\n%s", out)
	}
}

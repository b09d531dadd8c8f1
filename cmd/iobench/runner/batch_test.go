package runner

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/iobench/iobench/device/looptest"
	"github.com/iobench/iobench/engine"
)

// batchRun runs a 4 KiB random-read job with args and returns its first
// job's JSON.
func batchRun(t *testing.T, args ...string) map[string]any {
	t.Helper()
	code, out, errOut := run(t, append([]string{"--rw=randread", "--bs=4k", "--output-format=json"}, args...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var doc struct {
		Jobs []map[string]any `json:"jobs"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Jobs) == 0 {
		t.Fatalf("JSON: %v", err)
	}
	return doc.Jobs[0]
}

// useNopRing runs the test's ioengine=null jobs over IORING_OP_NOPs
// (engine.NewNopRing) in place of the ring in the process, which never
// enters the kernel: a NOP completes within the io_uring_enter that
// submits it, so counts of those calls are exact.
func useNopRing(t *testing.T) {
	old := nullRing
	nullRing = engine.NewNopRing
	t.Cleanup(func() { nullRing = old })
}

func entersPerIO(t *testing.T, j map[string]any) float64 {
	t.Helper()
	enters := j["iobench"].(map[string]any)["ring_enters"].(float64)
	ios := j["read"].(map[string]any)["total_ios"].(float64)
	if ios == 0 {
		t.Fatal("no I/O")
	}
	return enters / ios
}

// fio's batching options keep fio's meanings. With ioengine=null over NOPs
// every I/O completes within the call that submits it, so the counts are
// exact: by default the
// queue hands all 16 queued I/Os to the kernel in one call;
// iodepth_batch_submit=1 makes a call per I/O; iodepth_batch_complete_max
// caps what one wait returns.
func TestBatchOptions(t *testing.T) {
	useNopRing(t)
	base := []string{"--ioengine=null", "--iodepth=16", "--size=16m"}
	def := batchRun(t, base...)
	if e := entersPerIO(t, def); e > 0.1 {
		t.Errorf("default batching: %.3f io_uring_enter calls per I/O, want about 1/16", e)
	}
	if c := def["iodepth_complete"].(map[string]any)["16"].(float64); c < 99 {
		t.Errorf("default: %.1f%% of reaps returned 9-16 I/Os, want all", c)
	}
	each := batchRun(t, append(base, "--iodepth_batch_submit=1")...)
	if e := entersPerIO(t, each); e < 1 {
		t.Errorf("iodepth_batch_submit=1: %.3f io_uring_enter calls per I/O, want at least one", e)
	}
	capped := batchRun(t, append(base, "--iodepth_batch_complete_max=2")...)
	if c := capped["iodepth_complete"].(map[string]any)["4"].(float64); c < 99.9 {
		t.Errorf("iodepth_batch_complete_max=2: %.1f%% of reaps returned 1-4 I/Os, want all", c)
	}
	alias := batchRun(t, append(base, "--iodepth_batch=1")...)
	if e := entersPerIO(t, alias); e < 1 {
		t.Errorf("iodepth_batch (alias of iodepth_batch_submit)=1: %.3f calls per I/O", e)
	}
	// Values fio corrects are corrected the same way, with a notice.
	if code, _, errOut := run(t, "--ioengine=null", "--rw=read", "--size=1m", "--iodepth=4", "--iodepth_low=8"); code != 0 ||
		!strings.Contains(errOut, "iodepth_low=8 is above iodepth=4: lowered to 4") {
		t.Errorf("iodepth_low above iodepth: exit %d, %s", code, errOut)
	}
	raised := batchRun(t, append(base, "--iodepth_batch_complete_min=8", "--iodepth_batch_complete_max=2")...)
	if c := raised["iodepth_complete"].(map[string]any)["8"].(float64); c < 99.9 {
		t.Errorf("iodepth_batch_complete_max=2 below _min=8 (raised to 8): %.1f%% of reaps returned 5-8 I/Os, want all", c)
	}
}

// TestBatchDepthLevels: with iodepth_batch_submit=n the depth
// distribution (fio's iodepth_level) counts each n queued I/Os together,
// at the depth when the nth is queued, as fio marks a batch when it
// commits it; the count carries over a wait that hands fewer to the
// kernel, as fio's io_u_queued does; 0 counts iodepth at a time. With
// ioengine=null every I/O completes at once, so the depths are exact:
// lockstep batches of 8 at depth 16 count all but the first batch at 16
// (per I/O, 7 in 8 would count at 9-15); one completion per wait with
// batches of 8 counts at 16 (a count reset by each wait would count
// none); and without the option each I/O counts at the depth it brings
// the queue to (after a reap of 16: 1, 2-3, 4-7, 8-15, 16).
func TestBatchDepthLevels(t *testing.T) {
	base := []string{"--ioengine=null", "--iodepth=16", "--size=16m"}
	level := func(j map[string]any, k string) float64 { return j["iodepth_level"].(map[string]any)[k].(float64) }
	for _, opts := range [][]string{
		{"--iodepth_batch_submit=8", "--iodepth_batch_complete_min=8", "--iodepth_batch_complete_max=8"},
		{"--iodepth_batch_submit=8", "--iodepth_batch_complete_max=1"},
		{"--iodepth_batch_submit=0", "--iodepth_batch_complete_max=1"},
	} {
		j := batchRun(t, append(base, opts...)...)
		if l := level(j, "16"); l < 99.8 {
			t.Errorf("%v: %.1f%% counted at depth 16, want all but the first batch: %v", opts, l, j["iodepth_level"])
		}
	}
	j := batchRun(t, base...)
	for k, want := range map[string]float64{"1": 6.25, "2": 12.5, "4": 25, "8": 50, "16": 6.25} {
		if l := level(j, k); l < want-0.5 || l > want+0.5 {
			t.Errorf("default: %.2f%% counted at depth %s, want %.2f: %v", l, k, want, j["iodepth_level"])
		}
	}
}

// TestBatchSubmitCommits: with iodepth_batch_submit the job hands its
// queued I/O to the kernel when fio would. Each wait hands over what was
// queued since the last (fio's getevents commits before it reaps), also
// when completions reaped before serve it: with batches of 8 and one
// completion per wait, about one io_uring_enter per I/O, where keeping
// the new I/O back until the engine had to wait made one per 16. The
// count of queued I/O carries over the waits (fio's io_u_queued), so with
// batches of 3 and two completions per wait every third I/O is handed
// over on its own too: 2 enters per 3 I/Os (1 per 2 if each wait
// restarted the count). A batch above the iodepth is the iodepth, as fio
// takes it: with iodepth=4 and batch 6, 1 enter per 4 I/Os, each batch
// counted at depth 4 (batches of 6 made 1 per 3, half of them counted at
// depth 2-3). With ioengine=null over NOPs every I/O completes within the
// call that submits it, so the counts are exact.
func TestBatchSubmitCommits(t *testing.T) {
	useNopRing(t)
	for _, c := range []struct {
		opts   []string
		lo, hi float64
	}{
		{[]string{"--iodepth=16", "--iodepth_batch_submit=8", "--iodepth_batch_complete_max=1"}, 0.95, 1.01},
		{[]string{"--iodepth=16", "--iodepth_batch_submit=8"}, 0.12, 0.13},
		{[]string{"--iodepth=16", "--iodepth_batch_submit=3", "--iodepth_batch_complete_min=2", "--iodepth_batch_complete_max=2"}, 0.64, 0.69},
		{[]string{"--iodepth=4", "--iodepth_batch_submit=6"}, 0.24, 0.26},
	} {
		j := batchRun(t, append([]string{"--ioengine=null", "--size=16m"}, c.opts...)...)
		if e := entersPerIO(t, j); e < c.lo || e > c.hi {
			t.Errorf("%v: %.3f io_uring_enter calls per I/O, want %.2f to %.2f", c.opts, e, c.lo, c.hi)
		}
		if len(c.opts) == 2 && c.opts[1] == "--iodepth_batch_submit=8" {
			// Each handover counts in the submit line, as fio counts a
			// commit: batches of 8 (bucket 5-8), not the refills of up
			// to 16 that they come from.
			if sub := j["iodepth_submit"].(map[string]any)["8"].(float64); sub < 99.9 {
				t.Errorf("%v: %.1f%% of submissions of 5-8 I/Os, want all: %v", c.opts, sub, j["iodepth_submit"])
			}
		}
		if c.opts[0] == "--iodepth=4" {
			if l := j["iodepth_level"].(map[string]any)["4"].(float64); l < 99.9 {
				t.Errorf("%v: %.1f%% counted at depth 4, want all: %v", c.opts, l, j["iodepth_level"])
			}
		}
	}
}

// TestBatchCompleteMinZero: iodepth_batch_complete_min=0 takes fio
// 3.33's meaning. With iodepth_batch_complete_max 0 too (its default
// here; fio's polling) the job waits for a completion after every I/O it
// queues, so it runs at depth 1 whatever the iodepth, and the wait polls
// the ring, entering the kernel without sleeping, as fio's io_uring
// engine does: on a loop device almost no voluntary context switches
// per I/O (fio 0.02, a sleeping wait 1.0) and several io_uring_enter
// calls. With a maximum the job waits for one completion when the queue
// is full, as with the default minimum.
func TestBatchCompleteMinZero(t *testing.T) {
	level := func(j map[string]any, k string) float64 { return j["iodepth_level"].(map[string]any)[k].(float64) }
	j := batchRun(t, "--ioengine=null", "--size=16m", "--iodepth=16", "--iodepth_batch_complete_min=0")
	if l := level(j, "1"); l < 99.9 {
		t.Errorf("iodepth_batch_complete_min=0: %.1f%% counted at depth 1, want all: %v", l, j["iodepth_level"])
	}
	j = batchRun(t, "--ioengine=null", "--size=16m", "--iodepth=16", "--iodepth_batch_complete_min=0", "--iodepth_batch_complete_max=4")
	if l := level(j, "1"); l > 1 {
		t.Errorf("iodepth_batch_complete_min=0 with a maximum: %.1f%% counted at depth 1, want the queue filled: %v", l, j["iodepth_level"])
	}
	l := looptest.New(t, 32<<20, looptest.Options{})
	j = batchRun(t, "--filename="+l.Path, "--iodepth=16", "--iodepth_batch_complete_min=0", "--size=16m", "--force")
	ib := j["iobench"].(map[string]any)
	if c := ib["vol_ctx_per_io"].(float64); c > 0.1 {
		t.Errorf("polling on a loop device: %.3f voluntary context switches per I/O, want about none", c)
	}
	if e := ib["enters_per_io"].(float64); e < 2 {
		t.Errorf("polling on a loop device: %.2f io_uring_enter calls per I/O, want the polls", e)
	}
	if l := level(j, "1"); l < 99.9 {
		t.Errorf("polling on a loop device: %.1f%% counted at depth 1: %v", l, j["iodepth_level"])
	}
}

// iodepth_low: once the queue was full, it drains to the low-water mark
// before it is refilled, so every refill submits at least iodepth-low
// I/Os at once (fio's submit distribution, bucket 9-16).
//
// It runs on a loop device, whose completions come a few at a time (on a
// tmpfs file they come all at once, which refills in whole batches anyway).
//
// The drain stops at the mark, as fio's, which reaps until its depth is
// at iodepth_low: with ioengine=null, where every I/O completes at once,
// iodepth=16 iodepth_low=4 refills from 4 to 16 each time, so the depth
// distribution is fio's, 3 of 12 I/Os at 4-7, 8 at 8-15 and 1 at 16
// (taking every completion ready drained it to 0 and counted some at
// 1-3).
func TestIODepthLow(t *testing.T) {
	l := looptest.New(t, 32<<20, looptest.Options{})
	j := batchRun(t, "--filename="+l.Path, "--iodepth=16", "--iodepth_low=2", "--size=16m", "--force")
	sub := j["iodepth_submit"].(map[string]any)
	if big := sub["16"].(float64); big < 99 {
		t.Errorf("iodepth=16 iodepth_low=2: %.1f%% of submissions were of 9-16 I/Os, want all: %v", big, sub)
	}
	j = batchRun(t, "--ioengine=null", "--iodepth=16", "--iodepth_low=4", "--size=16m")
	level := j["iodepth_level"].(map[string]any)
	for k, want := range map[string]float64{"4": 25, "8": 66.7, "16": 8.3} {
		if l := level[k].(float64); l < want-0.5 || l > want+0.5 {
			t.Errorf("iodepth=16 iodepth_low=4: %.2f%% counted at depth %s, want %.1f (fio's): %v", l, k, want, level)
		}
	}
}

// TestFollowOption: follow=0 keeps the job's thread where the scheduler
// puts it (no moves counted), follow takes fio's boolean spellings only,
// and the JSON counts the moves of a following job.
func TestFollowOption(t *testing.T) {
	l := looptest.New(t, 32<<20, looptest.Options{})
	base := []string{"--filename=" + l.Path, "--iodepth=1", "--size=16m", "--number_ios=3000", "--force"}
	off := batchRun(t, append(base, "--follow=0")...)
	if m := off["iobench"].(map[string]any)["thread_moves"].(float64); m != 0 {
		t.Errorf("follow=0: %v thread moves, want 0", m)
	}
	on := batchRun(t, base...)
	m, ok := on["iobench"].(map[string]any)["thread_moves"].(float64)
	if !ok || m < 0 {
		t.Errorf("default: thread_moves %v in the JSON", on["iobench"].(map[string]any)["thread_moves"])
	}
	code, _, errOut := run(t, append(base, "--follow=sometimes")...)
	if code == 0 || !strings.Contains(errOut, "follow") {
		t.Errorf("follow=sometimes: exit %d, %q; want an error naming the option", code, errOut)
	}
}

// TestSpinWaitOption: spin_wait reaches the engine (its polls are counted
// in the JSON and the normal report), 0 turns polling off (no polls in the
// JSON), auto (the default) is accepted, and a malformed value is refused
// naming the option.
func TestSpinWaitOption(t *testing.T) {
	l := looptest.New(t, 32<<20, looptest.Options{})
	// 64 KiB reads: long enough that waits sleep, where polls happen (with
	// 4 KiB ones, five runs once found every completion ready).
	base := []string{"--filename=" + l.Path, "--iodepth=8", "--size=16m", "--number_ios=3000", "--bs=64k", "--force"}
	off := batchRun(t, append(base, "--spin_wait=0")...)
	if v, ok := off["iobench"].(map[string]any)["spins"]; ok {
		t.Errorf("spin_wait=0: spins %v in the JSON, want none", v)
	}
	batchRun(t, append(base, "--spin_wait=auto")...)
	// A run polls only where a wait would have slept, which a loaded
	// machine (the rest of the suite running beside it) can make rare:
	// some run out of a few must poll, and its report show the polls.
	var ib map[string]any
	for range 20 { // 5 runs all found the completions ready once, in CI
		ib = batchRun(t, append(base, "--spin_wait=50us")...)["iobench"].(map[string]any)
		if spins, _ := ib["spins"].(float64); spins > 0 {
			break
		}
	}
	spins, _ := ib["spins"].(float64)
	hits, _ := ib["spin_hits"].(float64)
	if spins <= 0 || hits > spins {
		t.Errorf("spin_wait=50us: spins %v, spin_hits %v; want polls counted, hits among them", ib["spins"], ib["spin_hits"])
	}
	// The normal report shows the polls exactly when the run polled: one
	// run writes both reports (the JSON, then the normal one), and some
	// run out of a few polls, as above.
	polled := false
	for range 20 {
		code, out, errOut := run(t, append(base, "--rw=randread", "--spin_wait=50us", "--output-format=json,normal")...)
		if code != 0 {
			t.Fatalf("spin_wait=50us: exit %d: %s", code, errOut)
		}
		var doc struct {
			Jobs []struct {
				IOBench struct {
					Spins float64 `json:"spins"`
				} `json:"iobench"`
			} `json:"jobs"`
		}
		js := strings.Index(out, "\n{") + 1 // after the job's header lines
		dec := json.NewDecoder(strings.NewReader(out[js:]))
		if err := dec.Decode(&doc); js == 0 || err != nil || len(doc.Jobs) != 1 {
			t.Fatalf("JSON: %v:\n%s", err, out)
		}
		normal := out[js+int(dec.InputOffset()):]
		spins := doc.Jobs[0].IOBench.Spins
		if shown := strings.Contains(normal, "waits polled first (spin_wait)"); shown != (spins > 0) {
			t.Fatalf("normal report: %v polls in the JSON, the polls shown on the engine lines: %v\n%s", spins, shown, normal)
		}
		if polled = spins > 0; polled {
			break
		}
	}
	if !polled {
		t.Errorf("spin_wait=50us: no run of 20 polled")
	}
	for _, bad := range []string{"soon", "-5us"} {
		code, _, errOut := run(t, append(base, "--spin_wait="+bad)...)
		if code == 0 || !strings.Contains(errOut, "spin_wait") {
			t.Errorf("spin_wait=%s: exit %d, %q; want an error naming the option", bad, code, errOut)
		}
	}
}

// TestBatchSubmitGroups: with iodepth_batch_submit=n the I/O of one
// handover goes to the queue in one Submit, as the default path's round
// does: one clock reading and one call per n I/Os, not per I/O (with
// ioengine=null at depth 32 and n=32, 9.8M IOPS against 7.9M). Every
// Submit holds at most n requests, and all of the job's I/O goes through
// such groups.
func TestBatchSubmitGroups(t *testing.T) {
	var sizes []int
	submitHook = func(_ int, _ bool, batch []*engine.Request) { sizes = append(sizes, len(batch)) }
	defer func() { submitHook = nil }()
	j := batchRun(t, "--ioengine=null", "--size=16m", "--iodepth=16", "--iodepth_batch_submit=8")
	total, full := 0, 0
	for _, n := range sizes {
		if n > 8 {
			t.Fatalf("a Submit of %d requests, above iodepth_batch_submit=8: %v", n, sizes)
		}
		total += n
		if n == 8 {
			full++
		}
	}
	ios := int(j["read"].(map[string]any)["total_ios"].(float64))
	if total != ios || ios != 4096 {
		t.Errorf("%d requests submitted in groups, %d I/Os reported, want 4096 each", total, ios)
	}
	if full < len(sizes)-1 {
		t.Errorf("%d of %d groups of 8: %v", full, len(sizes), sizes)
	}
}

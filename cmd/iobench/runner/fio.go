package runner

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/iobench/iobench/workloads"
)

// Metrics are the numbers compared between fio and iobench for one job,
// read from either tool's JSON (the same schema) so that both sides are
// measured the same way. The latencies are total latency (lat, from the
// I/O's queueing to its completion); from a JSON without lat percentiles
// (a job that asks for clat percentiles itself) they are completion
// latency (clat).
type Metrics struct {
	IOPS    float64 // read + write
	BW      float64 // bytes/s, read + write
	MeanLat float64 // ns, total latency (lat) of the busier direction
	P50     float64 // ns, total latency (lat) percentiles of the busier direction
	P99     float64 // ns
	// CPUPerIO is the job's CPU time (user + system, as the tool reports
	// it for the job's own threads) per I/O, in µs; CtxPerIO its context
	// switches per I/O. Both 0 when the JSON has no CPU figures.
	CPUPerIO float64
	CtxPerIO float64
	// EntersPerIO is io_uring_enter calls per I/O (iobench reports it;
	// fio does not: 0).
	EntersPerIO float64
}

// ParseFioJSON reads fio's JSON output (or iobench's, which has the same
// schema), tolerating the non-JSON lines fio may print before it, and
// returns each job's metrics by job name.
func ParseFioJSON(b []byte) (map[string]Metrics, []string, error) {
	if i := bytes.IndexByte(b, '{'); i > 0 {
		b = b[i:]
	}
	var doc struct {
		Jobs []struct {
			Name  string  `json:"jobname"`
			Error int     `json:"error"`
			Read  *fioDir `json:"read"`
			Write *fioDir `json:"write"`
			Trim  *fioDir `json:"trim"`
			// Mixed is the directions summed (unified_rw_reporting),
			// which stands in their place with mixed.
			Mixed  *fioDir `json:"mixed"`
			UsrCPU float64 `json:"usr_cpu"`
			SysCPU float64 `json:"sys_cpu"`
			// JobRuntime is what usr_cpu and sys_cpu are percentages
			// of: a merged report's clones' run times added up.
			JobRuntime int64  `json:"job_runtime"`
			Ctx        uint64 `json:"ctx"`
			IOBench    *struct {
				RingEnters uint64 `json:"ring_enters"`
			} `json:"iobench"`
		} `json:"jobs"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, nil, fmt.Errorf("fio JSON: %w", err)
	}
	type sums struct{ ios, cpuUs, ctx, enters float64 }
	acc := map[string]*sums{}
	out := map[string]Metrics{}
	var order []string
	for _, j := range doc.Jobs {
		var rd, wr, tr fioDir
		switch {
		case j.Read == nil && j.Write == nil && j.Trim == nil && j.Mixed != nil:
			rd = *j.Mixed // unified_rw_reporting=mixed: the one direction given
		default:
			for _, p := range []struct{ dst, src *fioDir }{{&rd, j.Read}, {&wr, j.Write}, {&tr, j.Trim}} {
				if p.src != nil {
					*p.dst = *p.src
				}
			}
		}
		m := Metrics{IOPS: rd.IOPS + wr.IOPS + tr.IOPS, BW: float64(rd.BWBytes + wr.BWBytes + tr.BWBytes)}
		d := rd
		for _, o := range []fioDir{wr, tr} {
			if o.IOPS > d.IOPS {
				d = o // the latencies of the busiest direction
			}
		}
		l := d.Lat
		if len(l.Percentile) == 0 {
			l = d.Clat // clat_percentiles without lat_percentiles
		}
		m.MeanLat = l.Mean
		m.P50 = float64(l.Percentile["50.000000"])
		m.P99 = float64(l.Percentile["99.000000"])
		runtimeMs := max(rd.RuntimeMs, wr.RuntimeMs, tr.RuntimeMs)
		if j.JobRuntime > 0 {
			runtimeMs = j.JobRuntime
		}
		s := acc[j.Name]
		if prev, ok := out[j.Name]; ok { // numjobs without group_reporting
			m.IOPS += prev.IOPS
			m.BW += prev.BW
		} else {
			s = &sums{}
			acc[j.Name] = s
			order = append(order, j.Name)
		}
		s.ios += float64(rd.TotalIOs + wr.TotalIOs + tr.TotalIOs)
		s.cpuUs += (j.UsrCPU + j.SysCPU) / 100 * float64(runtimeMs) * 1e3
		s.ctx += float64(j.Ctx)
		if j.IOBench != nil {
			// Clones share their job's engine and each reports its total.
			s.enters = max(s.enters, float64(j.IOBench.RingEnters))
		}
		if s.ios > 0 {
			m.CPUPerIO, m.CtxPerIO, m.EntersPerIO = s.cpuUs/s.ios, s.ctx/s.ios, s.enters/s.ios
		}
		out[j.Name] = m
	}
	return out, order, nil
}

type fioDir struct {
	IOPS      float64 `json:"iops"`
	BWBytes   uint64  `json:"bw_bytes"`
	RuntimeMs int64   `json:"runtime"`
	TotalIOs  uint64  `json:"total_ios"`
	Clat      fioLat  `json:"clat_ns"`
	Lat       fioLat  `json:"lat_ns"`
}

// fioLat is one latency of a direction (clat_ns, lat_ns): its mean and,
// when the job reports them, its percentiles.
type fioLat struct {
	Mean       float64          `json:"mean"`
	Percentile map[string]int64 `json:"percentile"`
}

// fioPath finds fio.
func fioPath() (string, error) {
	p, err := exec.LookPath("fio")
	if err != nil {
		return "", errors.New("fio is not installed (apt-get install -y fio; make deps does it)")
	}
	return p, nil
}

// ensureFio installs fio with apt-get when it is missing and iobench runs
// as root on a Debian-like system, saying so on w.
func ensureFio(w io.Writer) error {
	if _, err := fioPath(); err == nil {
		return nil
	}
	apt, err := exec.LookPath("apt-get")
	switch {
	case err != nil:
		return errors.New("fio is not on PATH, and apt-get (to install it) is not either: install fio, or put it on PATH")
	case os.Geteuid() != 0:
		return errors.New("fio is not on PATH, and installing it needs root: install fio (apt-get install fio, or make deps)")
	}
	fmt.Fprintln(w, "iobench: installing fio with apt-get")
	cmd := exec.Command(apt, "install", "-y", "-qq", "fio")
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("apt-get install fio: %w: %s", err, bytes.TrimSpace(out))
	}
	_, err = fioPath()
	return err
}

// fioJobFile returns j as a job file fio understands: the options fio
// knows, with ioengine=io_uring, and thread=1: fio's jobs run as threads
// of the fio process, so that they die with it when iobench dies (see
// runFio); forked job processes would outlive it, holding the target.
// Sizes are written in bytes or 1024-based units, so kb_base is left out.
func fioJobFile(j workloads.Job, target string) string {
	var b strings.Builder
	ioengine := "io_uring"
	if j.NullIO() {
		ioengine = "null"
	}
	fmt.Fprintf(&b, "[%s]\nioengine=%s\ndirect=%s\nthread=1\nfilename=%s\n", j.Name, ioengine, boolDigit(j.Direct), target)
	for _, kv := range j.Values() {
		k := kv[0]
		switch k {
		case "name", "filename", "ioengine", "direct", "buffered", "kb_base", "thread", "stonewall", "wait_for", "verify_only":
			continue
		case "cpumask":
			k = "cpus_allowed" // the value is a CPU list
		}
		if workloads.IsEngineOnly(k) {
			continue
		}
		v := kv[1]
		switch k {
		case "iodepth_batch_submit":
			if v == "auto" {
				continue // iobench's own; fio's default applies
			}
		case "runtime", "ramp_time":
			d, _ := time.ParseDuration(v)
			v = fmt.Sprintf("%dms", d.Milliseconds())
		}
		fmt.Fprintf(&b, "%s=%s\n", k, v)
	}
	return b.String()
}

func boolDigit(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// fioGrace is how long fio gets to stop after SIGINT before it is killed.
const fioGrace = 5 * time.Second

// runFio runs j under fio on target, as a round runs it (roundJob), and
// returns fio's JSON. The job file goes to fio on its standard input, so
// no file is left behind. fio dies with iobench (PR_SET_PDEATHSIG), and an
// interrupt stops it: SIGINT, then SIGKILL after fioGrace; runFio then
// returns errInterrupted.
func runFio(j workloads.Job, target string) ([]byte, error) {
	fio, err := fioPath()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(fio, "--output-format=json", "-")
	cmd.Stdin = strings.NewReader(fioJobFile(roundJob(j), target))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	// Pdeathsig fires when the thread that started fio exits: keep it.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("fio: %w", err)
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	select {
	case err = <-waited:
	case <-stopChan():
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-waited:
		case <-time.After(fioGrace):
			_ = cmd.Process.Kill()
			<-waited
		}
		return nil, errInterrupted
	}
	if err != nil {
		return nil, fmt.Errorf("fio: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}

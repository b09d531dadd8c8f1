package runner

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/iobench/iobench/workloads"
)

// exitInterrupted is the exit status of a run stopped by a signal: fio's
// (fio exits 128 when SIGINT or SIGTERM stops it).
const exitInterrupted = 128

// stopSignals are the signals that stop a run cleanly: Ctrl-C, kill, a
// hang-up (an SSH session dropped) and Ctrl-\ (SIGQUIT, which would
// otherwise end the process with a dump of every goroutine's stack and
// leave the run unreported; fio 3.33 ignores it and runs on).
var stopSignals = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT}

// interrupted is set when the user asks iobench to stop: jobs stop
// issuing, drain what is in flight and report; bench and compare stop
// before their next run and kill a running fio; the automatic target is
// removed on the way out.
var interrupted atomic.Bool

// stopped is closed when interrupted is set; runs that wait (fio) select
// on it. It is replaced for each Main.
var stopped atomic.Pointer[chan struct{}]

// stopChan returns the channel closed when the run is interrupted.
func stopChan() <-chan struct{} {
	if p := stopped.Load(); p != nil {
		return *p
	}
	return nil
}

// signalEcho is how long after a stop signal another one is taken for
// the same stop: timeout(1), and other supervisors, send a signal to the
// process and then to its process group, so that it arrives twice at
// once, where a user asking to abort sends it again later.
const signalEcho = 100 * time.Millisecond

// watchSignals makes the stop signals interrupt the run, saying so on
// stderr, until the returned function is called. A second signal more
// than signalEcho after the first gets the default action (the process
// ends at once; the automatic target still goes with it, see
// AutoTarget). Where the process started with that signal ignored (a
// background job of a shell script, nohup, trap "" INT), restoring its
// disposition would ignore it: then the second signal ends the process
// with the status a death by it gives in a shell, 128 plus its number.
func watchSignals(stderr io.Writer) (unwatch func()) {
	interrupted.Store(false)
	ch := make(chan struct{})
	stopped.Store(&ch)
	ignored := map[os.Signal]bool{}
	for _, s := range stopSignals {
		if signal.Ignored(s) {
			ignored[s] = true
		}
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, stopSignals...)
	done := make(chan struct{})
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		select {
		case s := <-sig:
			fmt.Fprintf(stderr, "\niobench: %v: stopping, cleaning up (again to abort)\n", s)
			interrupted.Store(true)
			close(ch)
			echo := time.NewTimer(signalEcho)
			defer echo.Stop()
			for waiting := true; waiting; {
				select {
				case <-sig: // the same stop, sent again at once
				case <-echo.C:
					waiting = false
				case <-done:
					waiting = false
				}
			}
			if len(ignored) == 0 {
				signal.Stop(sig)
				return
			}
			select {
			case s := <-sig:
				if !ignored[s] {
					signal.Stop(sig)
					syscall.Kill(os.Getpid(), s.(syscall.Signal)) // its default action
					return
				}
				fmt.Fprintf(stderr, "iobench: %v again: aborting\n", s)
				os.Exit(128 + int(s.(syscall.Signal)))
			case <-done:
			}
		case <-done:
		}
	}()
	return func() {
		signal.Stop(sig)
		close(done)
		<-exited
	}
}

// statusOnSignal prints the run's totals so far to w each time the process
// gets SIGUSR1, as fio dumps its status on that signal (fio prints its
// whole report; iobench one line per direction), until stop is closed.
func statusOnSignal(w io.Writer, lv *live, stop <-chan struct{}) {
	if w == nil {
		return
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGUSR1)
	defer signal.Stop(sig)
	start := time.Now()
	for {
		select {
		case <-stop:
			return
		case <-sig:
			fmt.Fprint(w, statusLine(lv, time.Since(start)))
		}
	}
}

// statusLine is the totals of lv after elapsed.
func statusLine(lv *live, elapsed time.Duration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "iobench: status: jobs running %d, elapsed %v\n", lv.jobs.Load(), elapsed.Round(time.Millisecond))
	for d := range workloads.NumDirs {
		n, bytes := lv.ios[d].Load(), lv.bytes[d].Load()
		if n == 0 {
			continue
		}
		sec := max(elapsed.Seconds(), 1e-9)
		fmt.Fprintf(&b, "  %s: %d I/Os, %s (%s IOPS, %s/s mean)\n", dirNames[d], n, humanBytes(bytes),
			fmtCount(float64(n)/sec), humanBytes(uint64(float64(bytes)/sec)))
	}
	return b.String()
}

package runner

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"

	"github.com/iobench/iobench/workloads"
)

// errHookFailed marks the error of a job whose exec_prerun failed, which
// the report gives as ECANCELED: the job was called off before any I/O.
var errHookFailed = errors.New("the command failed")

// runHook runs a job's exec_prerun or exec_postrun command (which is
// "prerun" or "postrun"; an empty command runs nothing) as fio does, with
// the shell, its output and errors in JOBNAME.WHICH.txt in the working
// directory. fio redirects only the command's last part there (it appends
// "> file 2>&1" to the command line); here the whole command's output
// goes to the file.
func runHook(j *workloads.Job, which, command string, stderr io.Writer) error {
	if command == "" {
		return nil
	}
	path := j.Name + "." + which + ".txt"
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("exec_%s: %w", which, err)
	}
	defer f.Close()
	fmt.Fprintf(stderr, "iobench: job %q: exec_%s: saving its output in %s\n", j.Name, which, path)
	cmd := exec.Command("/bin/sh", "-c", command)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("exec_%s %q: %w: %w (its output is in %s)", which, command, errHookFailed, err, path)
	}
	return nil
}

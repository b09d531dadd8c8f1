package runner

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iobench/iobench/engine"
	"github.com/iobench/iobench/workloads"
)

// FuzzReadIOLog: whatever a log holds, parsing it returns an error or a
// replay whose every I/O names a file the log added, has a length (a
// flush none), is due at a time not before the job's start, and is
// counted in the replay's kinds; no input panics.
func FuzzReadIOLog(f *testing.F) {
	for _, s := range []string{
		"fio version 3 iolog\n0 /dev/x add\n0 /dev/x open\n10 /dev/x read 0 4096\n20 /dev/x write 4096 8192\n30 /dev/x sync 0 0\n40 /dev/x close\n",
		"fio version 2 iolog\n/dev/x add\n/dev/x open\n/dev/x read 0 4096\n/dev/x wait 0 500\n/dev/x write 0 512\n/dev/x datasync 0 0\n",
		// Two runs appended, as fio's write_iolog appends.
		"fio version 3 iolog\n0 /dev/x add\n100 /dev/x read 0 4096\nfio version 3 iolog\n0 /dev/x add\n50 /dev/x read 4096 4096\n",
		"fio version 3 iolog\n5 /dev/x read 0 4096\nfio version 2 iolog\n",
		"fio version 3 iolog\n18446744073709551615 /dev/x read 0 4096\n",
		"fio version 3 iolog\n9223372036854775807 /dev/x read 0 4096\n9223372036854775807 /dev/x read 0 4096\n",
		"fio version 3 iolog\n1 /dev/x sync_file_range 0 4096\n2 /dev/x trim 0 4096\n",
		"fio version 2 iolog\n/dev/x read 18446744073709551615 18446744073709551615\n",
		"not a log\n",
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(t.TempDir(), "io.log")
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		j := workloads.NewJob("r")
		l, err := parseReplayLog(path, &j)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "read_iolog") {
				t.Errorf("error not naming read_iolog: %v", err)
			}
			return
		}
		if len(l.entries) == 0 {
			t.Fatal("a replay of no I/O")
		}
		reads, writes := false, false
		for i, e := range l.entries {
			if e.file < 0 || e.file >= len(l.files) {
				t.Fatalf("entry %d names file %d of %d", i, e.file, len(l.files))
			}
			if e.at < 0 {
				t.Fatalf("entry %d due at %v, before the start", i, e.at)
			}
			switch {
			case e.sync != engine.NoSync:
				writes = true
				if e.off != 0 || e.length != 0 {
					t.Fatalf("flush %d with a range", i)
				}
			case e.length == 0:
				t.Fatalf("entry %d: an I/O of no bytes", i)
			case e.write:
				writes = true
			default:
				reads = true
			}
		}
		if reads != l.reads || writes != l.writes {
			t.Fatalf("replay says reads %v writes %v, its entries %v %v", l.reads, l.writes, reads, writes)
		}
	})
}

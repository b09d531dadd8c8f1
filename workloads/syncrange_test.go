package workloads

import "testing"

// TestSyncFileRangeOption: sync_file_range takes fio 3.33's spellings (the
// three flags, comma-separated, lowercase; no count is 1, an empty one 0)
// and refuses what fio refuses (an unknown or capitalised flag, no flag).
func TestSyncFileRangeOption(t *testing.T) {
	for _, c := range []struct {
		v     string
		flags uint8
		every int
	}{{"write", 2, 1}, {"wait_before,write:8", 3, 8}, {"wait_after,write,wait_before:2", 7, 2}, {"write,write:3", 2, 3}, {"write:", 2, 0}, {"write:0", 2, 0}} {
		j := NewJob("x")
		if err := j.Set("sync_file_range", c.v); err != nil {
			t.Errorf("sync_file_range=%s: %v", c.v, err)
			continue
		}
		if j.SyncFileRangeFlags != c.flags || j.SyncFileRangeEvery != c.every {
			t.Errorf("sync_file_range=%s: flags %d every %d, want %d and %d", c.v, j.SyncFileRangeFlags, j.SyncFileRangeEvery, c.flags, c.every)
		}
	}
	for _, v := range []string{"WRITE:2", "foo:3", ":3", "none:2", "write, wait_after:2", "write:x", "write:-1"} {
		if j := NewJob("x"); j.Set("sync_file_range", v) == nil {
			t.Errorf("sync_file_range=%s taken", v)
		}
	}
}

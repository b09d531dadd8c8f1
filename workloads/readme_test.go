package workloads

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestREADMEOptionTable: the README's fio option table lists every option
// iobench knows, with the status the code gives it.
func TestREADMEOptionTable(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Skip("no README next to the module")
	}
	s := string(b)
	i := strings.Index(s, "### fio options: honoured or refused")
	if i < 0 {
		t.Fatal("README has no fio option table")
	}
	rows := map[string]string{}
	for _, m := range regexp.MustCompile("(?m)^\\| `([a-z0-9_-]+)` \\| ([^|]+) \\|").FindAllStringSubmatch(s[i:], -1) {
		rows[m[1]] = strings.TrimSpace(m[2])
	}
	want := map[string]string{}
	for _, o := range Options() {
		want[o.Name] = "honoured"
		if o.Engine {
			want[o.Name] = "iobench only"
		}
	}
	for k := range Refused() {
		want[k] = "refused"
	}
	for k := range Notices() {
		want[k] = "accepted, no effect"
	}
	for name, status := range want {
		if got, ok := rows[name]; !ok || !strings.HasPrefix(got, status) {
			t.Errorf("README: %s is %q, the code says %s", name, got, status)
		}
	}
	for name := range rows {
		if _, ok := want[name]; !ok {
			t.Errorf("README lists %s, which the code does not know", name)
		}
	}
}

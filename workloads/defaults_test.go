package workloads

import "testing"

// Every option's documented default is what a new job holds: setting it
// explicitly changes nothing a job reports.
func TestDefaultsAreNewJobs(t *testing.T) {
	for _, o := range Options() {
		if o.Default == "" || o.get == nil || o.set == nil {
			continue
		}
		fresh, set := NewJob("a"), NewJob("a")
		if err := o.set(&set, o.Default); err != nil {
			t.Errorf("%s: its default %q is refused: %v", o.Name, o.Default, err)
			continue
		}
		if got, want := o.get(&fresh), o.get(&set); got != want {
			t.Errorf("%s: a new job holds %q, its default %q gives %q", o.Name, got, o.Default, want)
		}
	}
}

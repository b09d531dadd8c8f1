package workloads

import (
	"errors"
	"strings"
	"testing"
)

// TestDidYouMean: an unknown option name is answered with the nearest
// known one, at most two edits away (one for names of four letters or
// fewer; a swap of neighbours is one edit), in job files as on the
// command line; a name near nothing gets no suggestion.
func TestDidYouMean(t *testing.T) {
	for _, c := range []struct{ name, want string }{
		{"iodpeth", "iodepth"}, // a swap
		{"iodeph", "iodepth"},  // a letter left out
		{"randrepeet", "randrepeat"},
		{"runtim", "runtime"},
		{"verifyy", "verify"},
		{"time_base", "time_based"},
		{"sqthreadpoll", "sqthread_poll"},
		{"xyzzy", ""},
		{"bsq", "bs"},
		{"bsqq", ""}, // four letters: one edit only
		{"completely_unrelated", ""},
	} {
		if got := suggest(c.name, nil); got != c.want {
			t.Errorf("suggest(%q) = %q, want %q", c.name, got, c.want)
		}
	}
	if got := suggest("outptu-format", []string{"output-format"}); got != "output-format" {
		t.Errorf("extra candidates: %q", got)
	}
	j := NewJob("j")
	err := j.Set("iodpeth", "4")
	if !errors.Is(err, ErrUnknownOption) || !strings.HasSuffix(err.Error(), `"iodpeth" (did you mean iodepth?)`) {
		t.Errorf("Set(iodpeth): %v", err)
	}
	if _, err := Parse(strings.NewReader("[j]\nIodpeth=4\n"), "t.fio"); err == nil || !strings.Contains(err.Error(), "(did you mean iodepth?)") {
		t.Errorf("job file with Iodpeth: %v", err)
	}
}

// TestEditDistance checks the distance against cases worked by hand.
func TestEditDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		d    int
	}{
		{"", "", 0}, {"a", "", 1}, {"", "abc", 3}, {"abc", "abc", 0},
		{"ab", "ba", 1}, {"abc", "acb", 1}, {"kitten", "sitting", 3},
		{"ca", "abc", 3}, // optimal string alignment: no edit of a swapped pair
		{"iodpeth", "iodepth", 1}, {"bs", "ba", 1},
	} {
		if got := editDistance(c.a, c.b); got != c.d {
			t.Errorf("editDistance(%q, %q) = %d, want %d", c.a, c.b, got, c.d)
		}
		if got := editDistance(c.b, c.a); got != c.d {
			t.Errorf("editDistance(%q, %q) = %d, want %d", c.b, c.a, got, c.d)
		}
	}
}

package workloads

import "fmt"

// DidYouMean returns " (did you mean NAME?)" for the option name nearest
// to an unknown name, as fio 3.33 suggests one ("Did you mean
// iodepth?"), or "" when none is within a typo of it. The candidates are
// the options the job files take (honoured, accepted with a notice or
// refused, and their aliases) and extra, a command line's own flags.
func DidYouMean(name string, extra ...string) string {
	if s := suggest(name, extra); s != "" {
		return fmt.Sprintf(" (did you mean %s?)", s)
	}
	return ""
}

// suggest returns the candidate nearest to name, at most a typo away:
// one edit for names of up to four letters, two for longer ones (a
// swap of two neighbours is one edit). Of candidates equally near, the
// first in alphabetical order.
func suggest(name string, extra []string) string {
	limit := 2
	if len(name) <= 4 {
		limit = 1
	}
	best, bestD := "", limit+1
	try := func(c string) {
		if c == name {
			return
		}
		if d := editDistance(name, c); d < bestD || d == bestD && c < best {
			best, bestD = c, d
		}
	}
	for k := range optionIndex {
		try(k)
	}
	for k := range aliases {
		try(k)
	}
	for k := range noticeOptions {
		try(k)
	}
	for k := range refusedOptions {
		try(k)
	}
	for _, k := range extra {
		try(k)
	}
	if bestD > limit {
		return ""
	}
	return best
}

// editDistance is the optimal string alignment distance of a and b
// (bytes): insertions, deletions, substitutions and swaps of neighbours,
// one edit each.
func editDistance(a, b string) int {
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}

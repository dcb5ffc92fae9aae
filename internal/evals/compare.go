package evals

import (
	"cmp"
	"slices"
)

// Status is what became of a case against the baseline.
type Status int

const (
	// Broken passed in the baseline and fails now: a regression.
	Broken Status = iota
	// Fixed failed in the baseline and passes now.
	Fixed
	// StillFailing failed in both.
	StillFailing
	// Flaky flipped between the attempts of this run's step or of the baseline's: its verdict is not a
	// change, whichever way it went.
	Flaky
	// New is not in the baseline (or there is none).
	New
	// Removed is in the baseline and not in this run.
	Removed
	// Passing passed in both.
	Passing
)

// statusNames are the words the API, the CLI and the dashboard use, in Status order, which is also the order
// in which changes are listed: what needs looking at first.
var statusNames = []string{"broken", "fixed", "still_failing", "flaky", "new", "removed", "passing"}

// String returns broken, fixed, still_failing, flaky, new, removed or passing.
func (s Status) String() string {
	if s < 0 || int(s) >= len(statusNames) {
		return "unknown"
	}
	return statusNames[s]
}

// Change is one case of a run beside the baseline's case of the same ID.
type Change struct {
	ID     string
	Status Status
	// Current is nil for Removed; Baseline is nil for New.
	Current, Baseline *Case
}

// Compare sets a run's cases beside its baseline's, by ID, in Status order and within a status in the run's
// order (the baseline's for Removed).
func Compare(current, baseline []Case) []Change {
	base := make(map[string]*Case, len(baseline))
	for i := range baseline {
		base[baseline[i].ID] = &baseline[i]
	}
	seen := make(map[string]bool, len(current))
	var out []Change
	for i := range current {
		c := &current[i]
		seen[c.ID] = true
		out = append(out, Change{ID: c.ID, Status: status(c, base[c.ID]), Current: c, Baseline: base[c.ID]})
	}
	for i := range baseline {
		if b := &baseline[i]; !seen[b.ID] {
			out = append(out, Change{ID: b.ID, Status: Removed, Baseline: b})
		}
	}
	slices.SortStableFunc(out, func(a, b Change) int { return cmp.Compare(a.Status, b.Status) })
	return out
}

func status(c, b *Case) Status {
	switch {
	case b == nil:
		return New
	case c.Flaky || b.Flaky:
		return Flaky
	case b.Pass && !c.Pass:
		return Broken
	case !b.Pass && c.Pass:
		return Fixed
	case !c.Pass:
		return StillFailing
	}
	return Passing
}

// Tally returns how many changes have each status.
func Tally(changes []Change) map[Status]int {
	n := map[Status]int{}
	for _, c := range changes {
		n[c.Status]++
	}
	return n
}

// MarkFlaky carries the verdicts of an earlier attempt of a step into the cases of the next one: a case whose
// pass differs from the earlier attempt's, or that was flaky already, is marked Flaky. Cases of one attempt
// that the other lacks are left as they are.
func MarkFlaky(earlier, next []Case) {
	prev := make(map[string]*Case, len(earlier))
	for i := range earlier {
		prev[earlier[i].ID] = &earlier[i]
	}
	for i := range next {
		if p, ok := prev[next[i].ID]; ok && (p.Flaky || p.Pass != next[i].Pass) {
			next[i].Flaky = true
		}
	}
}

package dora

import (
	"slices"
	"time"
)

// The roles a Sample measures, spelled as the store spells them.
const (
	// RoleCanary is the new release while it shares traffic with the old one.
	RoleCanary = "canary"
	// RoleStable is the old release while a canary runs, or the new release when it takes all traffic alone.
	RoleStable = "stable"
)

// Sample is what the data plane's proxy measured of one release of a rollout at one analysis: the requests it
// answered with a 5xx (Errors) over the Span before Time.
type Sample struct {
	Time   time.Time
	Span   time.Duration
	Role   string
	Errors int64
}

// FirstFailure returns the earliest moment the first failed request users got from the rollout's new release
// can have happened, as its samples tell, and false when no sample of the new release counted an error.
//
// The new release is the canary, or the stable role at an analysis that measured no canary (the new release
// took all traffic alone). The first sample with errors places the first failure in the Span before its Time;
// an earlier error-free sample whose span covers the start of that one moves the start up to its Time, and no
// failure can come before the rollout Started. The earliest moment is taken, so the recovery time measured
// from it never understates what users saw; it can overstate it by up to one span.
func FirstFailure(r Rollout) (time.Time, bool) {
	canaryAt := map[time.Time]bool{}
	for _, s := range r.Samples {
		if s.Role == RoleCanary {
			canaryAt[s.Time] = true
		}
	}
	var own []Sample
	for _, s := range r.Samples {
		if s.Role == RoleCanary || s.Role == RoleStable && !canaryAt[s.Time] {
			own = append(own, s)
		}
	}
	slices.SortStableFunc(own, func(a, b Sample) int { return a.Time.Compare(b.Time) })
	for i, s := range own {
		if s.Errors <= 0 {
			continue
		}
		start := s.Time.Add(-s.Span)
		for _, clean := range own[:i] {
			// clean saw no error over (clean.Time-clean.Span, clean.Time]: if that reaches back to start, the
			// first failure came after clean.Time.
			if !clean.Time.Add(-clean.Span).After(start) && clean.Time.After(start) && clean.Time.Before(s.Time) {
				start = clean.Time
			}
		}
		if start.Before(r.Started) {
			start = r.Started
		}
		return start, true
	}
	return time.Time{}, false
}

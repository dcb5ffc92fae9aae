// Package dora owns the DORA metrics of a project's production environment: deployment frequency, lead time
// for changes, change failure rate, failed deployment recovery time and deployment rework rate, their DORA
// 2024 performance tiers, and their trend against the previous window. It computes them from ferry's own
// rollout records, which the server converts into []Rollout.
//
// It is pure: it imports no I/O package (no os, net or store) and reads no clock; the caller passes now.
package dora

import (
	"time"
)

// DefaultWindow is the window Compute uses when it is given zero: 30 days.
const DefaultWindow = 30 * 24 * time.Hour

// The final states of a rollout, spelled as the store spells them. Any other state is a rollout still in
// flight, which Compute ignores.
const (
	StateSucceeded  = "succeeded"
	StateRolledBack = "rolled_back"
	StateAborted    = "aborted"
	// StateFailed: the new release never became healthy, so it never got traffic.
	StateFailed = "failed"
	// StateSuperseded: the rollout was still queued when a newer release replaced it; it never started.
	StateSuperseded = "superseded"
)

// Rollout is one rollout to a production environment, as ferry recorded it.
type Rollout struct {
	ID      int64
	Release int64
	// Rollback marks a rollback made by a human (`ferry rollback`): it moves production back to an older
	// release. It is remediation, not a change: it never counts as a deployment.
	Rollback bool
	// State is one of the State constants; any other value is a rollout still in flight and is ignored.
	State string
	// Started is when the rollout left the queue (its first progressing transition). Zero means it never
	// left the queue (superseded, or aborted while pending): such a rollout is ignored whatever its state.
	Started time.Time
	// Ended is when it reached its final state. It places the rollout in a window.
	Ended time.Time
	// FailureDetected is when the rollout was found bad: the first failed analysis evaluation or the human
	// abort. Zero when it never failed.
	FailureDetected time.Time
	// Samples are what the proxy measured of the rollout's releases at each analysis; FirstFailure reads
	// from them when users first got an error from the new release.
	Samples []Sample
	// Commits are the changes this rollout brought to production: the commits between the previously live
	// release and this one, for a succeeded rollout that is not a rollback. Empty otherwise.
	Commits []Commit
}

// Commit is one change a rollout brought to production.
type Commit struct {
	// SHA identifies the commit, so that a commit listed again by a later rollout (a redeploy after a
	// rollback lists the commits between the older live release and the new one) is counted once, for the
	// first rollout that brought it. An empty SHA never matches another commit.
	SHA string
	// Time is the commit time. A zero Time is unknown and the commit is left out of lead time.
	Time time.Time
}

// Series returns count consecutive reports of length window, oldest first, the last ending at now: the trend
// charts' data. Like Compute's two windows, each is judged with everything known at now; none has Previous or
// Trend. A zero or negative window means DefaultWindow.
func Series(rollouts []Rollout, now time.Time, window time.Duration, count int) []Report {
	if window <= 0 {
		window = DefaultWindow
	}
	h := newHistory(rollouts, now)
	out := make([]Report, 0, max(count, 0))
	for i := count - 1; i >= 0; i-- {
		end := now.Add(-time.Duration(i) * window)
		out = append(out, h.report(end.Add(-window), end))
	}
	return out
}

// Compute returns the DORA report of one production environment over the window [now-window, now), with the
// same report over [now-2*window, now-window) as Previous and the direction of each metric between them as
// Trend. A zero or negative window means DefaultWindow. rollouts may come in any order and may span any time;
// rollouts that ended at or after now are ignored, as if they had not happened yet.
//
// Both windows are judged with everything known at now: a deployment of the previous window that was rolled
// back in this one counts as a failure of the previous window. The doc comments of Report's fields and
// docs/dora.md spell out every rule.
func Compute(rollouts []Rollout, now time.Time, window time.Duration) Report {
	if window <= 0 {
		window = DefaultWindow
	}
	h := newHistory(rollouts, now)
	cur := h.report(now.Add(-window), now)
	prev := h.report(now.Add(-2*window), now.Add(-window))
	t := compare(cur, prev)
	cur.Previous, cur.Trend = &prev, &t
	return cur
}

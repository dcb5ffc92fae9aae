package dora

import (
	"cmp"
	"slices"
	"time"
)

// history is an environment's finished rollouts in the order they ran, with what each one means for the
// metrics worked out once, so that both windows read the same facts.
type history struct {
	seq   []Rollout
	facts []facts
	leads []lead
}

// facts are what one rollout of history.seq counts for.
type facts struct {
	deployment bool          // succeeded, not a rollback
	traffic    bool          // counts in the change failure rate's denominator
	failure    bool          // counts in its numerator
	recovery   time.Duration // from the first failure users saw, or from detection when that was earlier
	recovered  bool          // recovery is known
	detection  time.Duration // from detection
	detected   bool          // detection is known
	firstSeen  bool          // recovery starts at a failed request the proxy saw
	rework     bool
}

// lead is one commit's lead time, placed in a window by the end of the deployment that brought it.
type lead struct {
	ended time.Time
	d     time.Duration
}

func newHistory(rollouts []Rollout, now time.Time) *history {
	var seq []Rollout
	for _, r := range rollouts {
		if !final(r.State) || r.State == StateSuperseded || r.Started.IsZero() || r.Ended.IsZero() ||
			!r.Ended.Before(now) {
			continue
		}
		seq = append(seq, r)
	}
	// An environment runs one rollout at a time, so the order they started in is the order they ran in.
	slices.SortStableFunc(seq, func(a, b Rollout) int {
		if c := a.Started.Compare(b.Started); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})

	h := &history{seq: seq, facts: make([]facts, len(seq))}
	for i, r := range seq {
		f := &h.facts[i]
		f.deployment = r.State == StateSucceeded && !r.Rollback
		f.traffic = !r.Rollback && (r.State == StateSucceeded || r.State == StateRolledBack || r.State == StateAborted)
		if f.traffic && r.State != StateSucceeded {
			f.failure = true
			if !r.FailureDetected.IsZero() {
				f.detection, f.detected = nonNegative(r.Ended.Sub(r.FailureDetected)), true
				f.recovery, f.recovered = f.detection, true
			}
			if first, ok := FirstFailure(r); ok && (!f.detected || first.Before(r.FailureDetected)) {
				f.recovery, f.recovered, f.firstSeen = nonNegative(r.Ended.Sub(first)), true, true
			}
		}
		f.rework = r.Rollback || i > 0 && unhealthy(seq[i-1].State)
	}

	// Walk backwards remembering the next succeeded rollout and the first rollback before it: a deployment
	// whose next succeeded rollout is a rollback was rolled back while it was live.
	next, firstRollback := -1, -1
	for i := len(seq) - 1; i >= 0; i-- {
		r := seq[i]
		if h.facts[i].deployment && next >= 0 && seq[next].Rollback {
			f := &h.facts[i]
			f.failure = true
			f.recovery, f.recovered = nonNegative(seq[next].Ended.Sub(seq[firstRollback].Started)), true
			f.detection, f.detected, f.firstSeen = f.recovery, true, false
		}
		switch {
		case r.State == StateSucceeded:
			next, firstRollback = i, -1
			if r.Rollback {
				firstRollback = i
			}
		case r.Rollback:
			firstRollback = i
		}
	}

	seen := map[string]bool{}
	for i, r := range seq {
		if !h.facts[i].deployment {
			continue
		}
		for _, c := range r.Commits {
			if c.SHA != "" {
				if seen[c.SHA] {
					continue
				}
				seen[c.SHA] = true
			}
			if c.Time.IsZero() {
				continue
			}
			// A commit time after the deployment is clock skew between the committer and ferry: count it as 0.
			h.leads = append(h.leads, lead{ended: r.Ended, d: nonNegative(r.Ended.Sub(c.Time))})
		}
	}
	return h
}

// report computes the metrics over the rollouts that ended in [from, to).
func (h *history) report(from, to time.Time) Report {
	in := func(t time.Time) bool { return !t.Before(from) && t.Before(to) }
	window := to.Sub(from)
	rep := Report{From: from, To: to, Window: *newDuration(window)}

	days := map[[3]int]bool{}
	var recoveries, detections []time.Duration
	firstSeen := 0
	df, cfr, rw := &rep.DeploymentFrequency, &rep.ChangeFailureRate, &rep.ReworkRate
	for i, r := range h.seq {
		if !in(r.Ended) {
			continue
		}
		f := h.facts[i]
		rw.Rollouts++
		if f.rework {
			rw.Rework++
			rw.ReworkRollouts = append(rw.ReworkRollouts, r.ID)
		}
		if f.deployment {
			df.Deployments++
			y, m, d := r.Ended.UTC().Date()
			days[[3]int{y, int(m), d}] = true
		}
		if f.traffic {
			cfr.Deployments++
		}
		if f.failure {
			cfr.Failures++
			cfr.FailedRollouts = append(cfr.FailedRollouts, r.ID)
			if f.recovered {
				recoveries = append(recoveries, f.recovery)
			}
			if f.detected {
				detections = append(detections, f.detection)
			}
			if f.firstSeen {
				firstSeen++
			}
		}
	}

	// One division each, so that a whole answer (7 a week) comes out whole.
	hours := window.Hours()
	df.PerDay = float64(df.Deployments) * 24 / hours
	df.PerWeek = float64(df.Deployments) * 24 * 7 / hours
	df.DeployDays = len(days)
	df.DeployDaysPerWeek = min(7, float64(df.DeployDays)*24*7/hours)
	df.Tier = frequencyTier(df.Deployments, window)

	cfr.Rate = ratio(cfr.Failures, cfr.Deployments)
	if cfr.Rate != nil {
		cfr.Tier = failureRateTier(cfr.Failures, cfr.Deployments)
	}
	rw.Rate = ratio(rw.Rework, rw.Rollouts)

	var leads []time.Duration
	for _, l := range h.leads {
		if in(l.ended) {
			leads = append(leads, l.d)
		}
	}
	lt := &rep.LeadTime
	lt.Count = len(leads)
	if len(leads) > 0 {
		median := percentile(leads, 50)
		lt.Median, lt.P90 = newDuration(median), newDuration(percentile(leads, 90))
		lt.Tier = leadTimeTier(median)
	}

	rt := &rep.RecoveryTime
	rt.Count = len(recoveries)
	if len(recoveries) > 0 {
		median := percentile(recoveries, 50)
		rt.Median = newDuration(median)
		rt.Tier = recoveryTier(median)
	}
	if len(detections) > 0 {
		rt.FromDetection = newDuration(percentile(detections, 50))
	}
	rt.FirstFailureSeen = firstSeen
	return rep
}

// percentile returns the nearest-rank p-th percentile of ds (0 < p <= 100, ds not empty): the value at rank
// ceil(p/100 * n) in ascending order. It sorts ds.
func percentile(ds []time.Duration, p int) time.Duration {
	slices.Sort(ds)
	rank := (p*len(ds) + 99) / 100 // ceil in integers, so that no float rounding moves a rank
	return ds[max(rank, 1)-1]
}

func ratio(n, d int) *float64 {
	if d == 0 {
		return nil
	}
	r := float64(n) / float64(d)
	return &r
}

func final(state string) bool {
	switch state {
	case StateSucceeded, StateRolledBack, StateAborted, StateFailed, StateSuperseded:
		return true
	}
	return false
}

// unhealthy reports whether a rollout in this final state left a failure behind to fix.
func unhealthy(state string) bool {
	return state == StateRolledBack || state == StateAborted || state == StateFailed
}

func nonNegative(d time.Duration) time.Duration { return max(d, 0) }

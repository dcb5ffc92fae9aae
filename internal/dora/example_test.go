package dora_test

import (
	"fmt"
	"time"

	"github.com/ferry-cd/ferry/internal/dora"
)

func Example() {
	now := time.Date(2025, 3, 31, 0, 0, 0, 0, time.UTC)
	day := func(d, hour int) time.Time { return time.Date(2025, 3, d, hour, 0, 0, 0, time.UTC) }
	rollouts := []dora.Rollout{
		{ID: 1, Release: 1, State: dora.StateSucceeded, Started: day(3, 9), Ended: day(3, 10),
			Commits: []dora.Commit{{SHA: "a1", Time: day(3, 7)}, {SHA: "b2", Time: day(3, 8)}}},
		// Analysis found the canary bad at 9:00 and traffic was back on release 1 at 9:30.
		{ID: 2, Release: 2, State: dora.StateRolledBack, Started: day(4, 8), Ended: day(4, 9).Add(30 * time.Minute),
			FailureDetected: day(4, 9)},
		{ID: 3, Release: 3, State: dora.StateSucceeded, Started: day(5, 9), Ended: day(5, 10),
			Commits: []dora.Commit{{SHA: "c3", Time: day(4, 22)}}},
	}

	r := dora.Compute(rollouts, now, 30*24*time.Hour)
	df, lt, cfr, rt, rw := r.DeploymentFrequency, r.LeadTime, r.ChangeFailureRate, r.RecoveryTime, r.ReworkRate
	fmt.Printf("deployments: %d (%.2f a week, %s)\n", df.Deployments, df.PerWeek, df.Tier)
	fmt.Printf("lead time: median %s, p90 %s over %d commits (%s)\n", lt.Median.Text, lt.P90.Text, lt.Count, lt.Tier)
	fmt.Printf("change failure rate: %d/%d = %.0f%% (%s)\n", cfr.Failures, cfr.Deployments, *cfr.Rate*100, cfr.Tier)
	fmt.Printf("recovery time: median %s over %d (%s)\n", rt.Median.Text, rt.Count, rt.Tier)
	fmt.Printf("rework rate: %d/%d\n", rw.Rework, rw.Rollouts)
	fmt.Printf("trend: frequency %s, failure rate %s\n", r.Trend.DeploymentFrequency, r.Trend.ChangeFailureRate)
	// Output:
	// deployments: 2 (0.47 a week, medium)
	// lead time: median 3h, p90 12h over 3 commits (elite)
	// change failure rate: 1/3 = 33% (low)
	// recovery time: median 30m over 1 (elite)
	// rework rate: 1/3
	// trend: frequency better, failure rate n/a
}

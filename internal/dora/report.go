package dora

import (
	"encoding/json"
	"time"
)

// Report is the DORA metrics of one production environment over one window. A metric that cannot be
// computed (a rate with nothing to divide by, a median of nothing) is null in JSON and nil in Go, never 0.
type Report struct {
	// From is the start of the window (inclusive), To its end (exclusive): now for the current window.
	From   time.Time `json:"from"`
	To     time.Time `json:"to"`
	Window Duration  `json:"window"`

	DeploymentFrequency DeploymentFrequency `json:"deployment_frequency"`
	LeadTime            LeadTime            `json:"lead_time"`
	ChangeFailureRate   ChangeFailureRate   `json:"change_failure_rate"`
	RecoveryTime        RecoveryTime        `json:"recovery_time"`
	ReworkRate          ReworkRate          `json:"rework_rate"`

	// Previous is the same report over the window just before this one; nil on Previous itself.
	Previous *Report `json:"previous,omitempty"`
	// Trend compares this report with Previous; nil on Previous itself.
	Trend *Trend `json:"trend,omitempty"`
}

// DeploymentFrequency counts deployments: rollouts that succeeded and are not rollbacks, by their Ended time.
type DeploymentFrequency struct {
	Deployments int `json:"deployments"`
	// PerDay and PerWeek are Deployments divided by the window's length in days and in weeks.
	PerDay  float64 `json:"per_day"`
	PerWeek float64 `json:"per_week"`
	// DeployDays counts the distinct UTC calendar days with at least one deployment; DeployDaysPerWeek
	// divides it by the window's length in weeks, capped at 7 (a window shorter than a week, not aligned on
	// midnight, can touch more days than its length holds).
	DeployDays        int     `json:"deploy_days"`
	DeployDaysPerWeek float64 `json:"deploy_days_per_week"`
	// Tier comes from PerDay; with no deployment it is low, never null.
	Tier Tier `json:"tier"`
}

// LeadTime is the time from a commit to the end of the first succeeded deployment that brought it to
// production, over the commits whose first deployment ended in the window.
type LeadTime struct {
	// Count is the number of commits measured.
	Count int `json:"count"`
	// Median and P90 use the nearest rank: the smallest measured value that at least 50 % (90 %) of the
	// values do not exceed, so the median of an even count is the lower of the two middle values. Nil when
	// Count is 0.
	Median *Duration `json:"median"`
	P90    *Duration `json:"p90"`
	// Tier comes from Median; empty (null) when Count is 0.
	Tier Tier `json:"tier"`
}

// ChangeFailureRate is the share of deployments that failed in production.
type ChangeFailureRate struct {
	// Deployments counts the rollouts that reached traffic, by their Ended time: states succeeded,
	// rolled_back and aborted, rollbacks excluded. A failed rollout never got traffic and a superseded one
	// never started, so neither can have hurt users.
	Deployments int `json:"deployments"`
	// Failures counts those that were rolled back by analysis (rolled_back) or aborted by a human, plus the
	// succeeded ones that a human rolled back while they were live: the next succeeded rollout after them is a
	// rollback, with no succeeded deployment in between.
	Failures int `json:"failures"`
	// Rate is Failures / Deployments, between 0 and 1; nil when Deployments is 0.
	Rate *float64 `json:"rate"`
	// Tier comes from Rate; empty (null) when Rate is nil.
	Tier Tier `json:"tier"`
	// FailedRollouts are the IDs of the failures, in the order they started.
	FailedRollouts []int64 `json:"failed_rollouts,omitempty"`
}

// RecoveryTime is the failed deployment recovery time, over the failures that ChangeFailureRate counts: from
// when users were first hurt until traffic was fully back on a healthy release. For a rolled_back or aborted
// rollout that is the earlier of its first failure (FirstFailure: the proxy counted a 5xx of the new release)
// and its FailureDetected, to its Ended; a failure with neither is left out. For a deployment rolled back while
// live it is the first rollback's Started (a human noticed) to the Ended of the rollback that succeeded.
type RecoveryTime struct {
	Count int `json:"count"`
	// Median uses the nearest rank, as LeadTime's does; nil when Count is 0.
	Median *Duration `json:"median"`
	// Tier comes from Median; empty (null) when Count is 0.
	Tier Tier `json:"tier"`
	// FromDetection is the median measured from detection instead (the first failed analysis, the human
	// abort or the first rollback's start), over the failures whose detection time is known: what ferry took
	// to act once it knew. Nil when there is none.
	FromDetection *Duration `json:"from_detection,omitempty"`
	// FirstFailureSeen counts the failures of Count whose recovery starts at a failed request the proxy saw,
	// before detection; the others start at detection.
	FirstFailureSeen int `json:"first_failure_seen,omitempty"`
}

// ReworkRate is the deployment rework rate: the share of rollouts that were unplanned, made because of a
// failure. It has no DORA 2024 tier.
type ReworkRate struct {
	// Rollouts counts every rollout that left the queue and ended in the window, whatever its final state
	// (superseded ones never left the queue), rollbacks included.
	Rollouts int `json:"rollouts"`
	// Rework counts those that are rollbacks, or that came right after a rolled_back, aborted or failed
	// rollout (which may have ended in the previous window). A rollout that is both counts once.
	Rework int `json:"rework"`
	// Rate is Rework / Rollouts, between 0 and 1; nil when Rollouts is 0.
	Rate *float64 `json:"rate"`
	// ReworkRollouts are the IDs of the rework rollouts, in the order they started.
	ReworkRollouts []int64 `json:"rework_rollouts,omitempty"`
}

// Duration is a length of time as an API user wants it: seconds for programs and short text for people.
type Duration struct {
	Seconds float64 `json:"seconds"`
	// Text is the two largest units, rounded: "30d", "1d 2h", "1h 30m", "42s", "250ms".
	Text string `json:"text"`
}

func newDuration(d time.Duration) *Duration {
	return &Duration{Seconds: d.Seconds(), Text: FormatDuration(d)}
}

// Duration returns the length as a time.Duration, to the nanosecond.
func (d Duration) Duration() time.Duration {
	return time.Duration(d.Seconds * float64(time.Second))
}

// Tier is a DORA 2024 software delivery performance cluster. The empty Tier means not available and is
// null in JSON.
type Tier string

const (
	Elite  Tier = "elite"
	High   Tier = "high"
	Medium Tier = "medium"
	Low    Tier = "low"
)

// MarshalJSON writes the empty Tier as null. Decoding null leaves a Tier empty, so a Report round-trips.
func (t Tier) MarshalJSON() ([]byte, error) {
	if t == "" {
		return []byte("null"), nil
	}
	return json.Marshal(string(t))
}

// Direction says how a metric moved from the previous window to this one.
type Direction string

const (
	Better Direction = "better"
	Worse  Direction = "worse"
	Same   Direction = "same"
	// NotAvailable: the metric is not available in one of the two windows.
	NotAvailable Direction = "n/a"
)

// Trend is the direction of each metric from Previous to the current report. Deployment frequency compares
// PerDay (more is better; 0 is a value, so it is never n/a); lead time and recovery time compare their medians,
// change failure rate and rework rate their rates (less is better).
type Trend struct {
	DeploymentFrequency Direction `json:"deployment_frequency"`
	LeadTime            Direction `json:"lead_time"`
	ChangeFailureRate   Direction `json:"change_failure_rate"`
	RecoveryTime        Direction `json:"recovery_time"`
	ReworkRate          Direction `json:"rework_rate"`
}

func compare(cur, prev Report) Trend {
	return Trend{
		DeploymentFrequency: direction(&cur.DeploymentFrequency.PerDay, &prev.DeploymentFrequency.PerDay, true),
		LeadTime:            direction(seconds(cur.LeadTime.Median), seconds(prev.LeadTime.Median), false),
		ChangeFailureRate:   direction(cur.ChangeFailureRate.Rate, prev.ChangeFailureRate.Rate, false),
		RecoveryTime:        direction(seconds(cur.RecoveryTime.Median), seconds(prev.RecoveryTime.Median), false),
		ReworkRate:          direction(cur.ReworkRate.Rate, prev.ReworkRate.Rate, false),
	}
}

func seconds(d *Duration) *float64 {
	if d == nil {
		return nil
	}
	return &d.Seconds
}

func direction(cur, prev *float64, higherIsBetter bool) Direction {
	switch {
	case cur == nil || prev == nil:
		return NotAvailable
	case *cur == *prev:
		return Same
	case (*cur > *prev) == higherIsBetter:
		return Better
	default:
		return Worse
	}
}

package api

import (
	"encoding/json"
	"time"
)

// DoraView answers GET /api/v1/projects/{name}/dora: one report per production environment.
type DoraView struct {
	Project      string          `json:"project"`
	Window       string          `json:"window"`
	Environments []DoraEnvReport `json:"environments"`
}

// DoraEnvReport is the report of one production environment.
type DoraEnvReport struct {
	Env    string     `json:"env"`
	Report DoraReport `json:"report"`
	// Weekly are the last weeks' reports, oldest first, when the request asks for weeks=N.
	Weekly []DoraReport `json:"weekly,omitempty"`
}

// DoraReport is the DORA metrics of one production environment over one window. A metric that cannot be
// computed is null in JSON and nil in Go, never 0. docs/dora.md defines each.
type DoraReport struct {
	// From is the start of the window (inclusive), To its end (exclusive).
	From   time.Time    `json:"from"`
	To     time.Time    `json:"to"`
	Window DoraDuration `json:"window"`

	DeploymentFrequency DeploymentFrequency `json:"deployment_frequency"`
	LeadTime            LeadTime            `json:"lead_time"`
	ChangeFailureRate   ChangeFailureRate   `json:"change_failure_rate"`
	RecoveryTime        RecoveryTime        `json:"recovery_time"`
	ReworkRate          ReworkRate          `json:"rework_rate"`

	// Previous is the same report over the window just before this one; nil on Previous itself.
	Previous *DoraReport `json:"previous,omitempty"`
	// Trend compares this report with Previous; nil on Previous itself.
	Trend *DoraTrend `json:"trend,omitempty"`
}

// DeploymentFrequency counts deployments.
type DeploymentFrequency struct {
	Deployments       int      `json:"deployments"`
	PerDay            float64  `json:"per_day"`
	PerWeek           float64  `json:"per_week"`
	DeployDays        int      `json:"deploy_days"`
	DeployDaysPerWeek float64  `json:"deploy_days_per_week"`
	Tier              DoraTier `json:"tier"`
}

// LeadTime is the time from a commit to the end of the first deployment that brought it to production.
type LeadTime struct {
	Count  int           `json:"count"`
	Median *DoraDuration `json:"median"`
	P90    *DoraDuration `json:"p90"`
	Tier   DoraTier      `json:"tier"`
}

// ChangeFailureRate is the share of deployments that failed in production.
type ChangeFailureRate struct {
	Deployments    int      `json:"deployments"`
	Failures       int      `json:"failures"`
	Rate           *float64 `json:"rate"`
	Tier           DoraTier `json:"tier"`
	FailedRollouts []int64  `json:"failed_rollouts,omitempty"`
}

// RecoveryTime is the failed deployment recovery time, from when users were first hurt (the first failed
// request the proxy saw, or detection when that came first) until traffic was back on a healthy release.
type RecoveryTime struct {
	Count  int           `json:"count"`
	Median *DoraDuration `json:"median"`
	Tier   DoraTier      `json:"tier"`
	// FromDetection is the median from detection instead (failed analysis, abort, or rollback start).
	FromDetection *DoraDuration `json:"from_detection,omitempty"`
	// FirstFailureSeen counts the recoveries that start at a failed request the proxy saw before detection.
	FirstFailureSeen int `json:"first_failure_seen,omitempty"`
}

// ReworkRate is the deployment rework rate; it has no tier.
type ReworkRate struct {
	Rollouts       int      `json:"rollouts"`
	Rework         int      `json:"rework"`
	Rate           *float64 `json:"rate"`
	ReworkRollouts []int64  `json:"rework_rollouts,omitempty"`
}

// DoraDuration is a length of time: milliseconds for programs and short text for people ("1d 2h").
type DoraDuration struct {
	MS   float64 `json:"ms"`
	Text string  `json:"text"`
}

// DoraTier is a DORA 2024 performance cluster: elite, high, medium or low. The empty tier means not available
// and is null in JSON.
type DoraTier string

// MarshalJSON writes the empty tier as null; decoding null leaves a tier empty.
func (t DoraTier) MarshalJSON() ([]byte, error) {
	if t == "" {
		return []byte("null"), nil
	}
	return json.Marshal(string(t))
}

// DoraDirection says how a metric moved from the previous window: better, worse, same or n/a.
type DoraDirection string

// DoraTrend is the direction of each metric from Previous to the current report.
type DoraTrend struct {
	DeploymentFrequency DoraDirection `json:"deployment_frequency"`
	LeadTime            DoraDirection `json:"lead_time"`
	ChangeFailureRate   DoraDirection `json:"change_failure_rate"`
	RecoveryTime        DoraDirection `json:"recovery_time"`
	ReworkRate          DoraDirection `json:"rework_rate"`
}

package api

import (
	"encoding/json"
	"time"
)

// RolloutState is the state of a rollout.
type RolloutState string

const (
	RolloutPending     RolloutState = "pending"
	RolloutProgressing RolloutState = "progressing"
	RolloutPaused      RolloutState = "paused"
	RolloutSucceeded   RolloutState = "succeeded"
	RolloutRolledBack  RolloutState = "rolled_back"
	RolloutAborted     RolloutState = "aborted"
	RolloutFailed      RolloutState = "failed"
	RolloutSuperseded  RolloutState = "superseded"
)

// Done reports whether the state is final.
func (s RolloutState) Done() bool {
	switch s {
	case RolloutPending, RolloutProgressing, RolloutPaused:
		return false
	}
	return true
}

// RolloutStrategy is how a rollout moves traffic: its environment's strategy in .ferry.yaml, or rollback.
type RolloutStrategy string

const (
	StrategyDirect    RolloutStrategy = "direct"
	StrategyBlueGreen RolloutStrategy = "blue_green"
	StrategyCanary    RolloutStrategy = "canary"
	StrategyRollback  RolloutStrategy = "rollback"
)

// Rollout moves one environment from its live release to a new one.
type Rollout struct {
	ID            int64           `json:"id"`
	Project       string          `json:"project"`
	Env           string          `json:"env"`
	ReleaseID     int64           `json:"release_id"`
	FromReleaseID int64           `json:"from_release_id,omitempty"`
	Strategy      RolloutStrategy `json:"strategy"`
	State         RolloutState    `json:"state"`
	// Step counts from 1 to Steps; Weight is the percentage of traffic on the new release.
	Step   int  `json:"step"`
	Steps  int  `json:"steps"`
	Weight int  `json:"weight"`
	Baking bool `json:"baking,omitempty"`
	// Failures counts the failed analyses of the current step.
	Failures int    `json:"failures"`
	Reason   string `json:"reason,omitempty"`
	// Analysis is the latest analysis evaluation as JSON (an Evaluation); in the API's JSON it is base64.
	Analysis   []byte    `json:"analysis,omitempty"`
	StepSince  time.Time `json:"step_since,omitzero"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
	FinishedAt time.Time `json:"finished_at,omitzero"`

	// ReleaseVersion and FromReleaseVersion are the releases by the number users see (v7): their versions
	// within the project. The IDs are the store's, for machines.
	ReleaseVersion     int64 `json:"release_version"`
	FromReleaseVersion int64 `json:"from_release_version,omitempty"`
}

// RolloutEvent is one transition of a rollout.
type RolloutEvent struct {
	RolloutID int64        `json:"rollout_id"`
	Time      time.Time    `json:"time"`
	State     RolloutState `json:"state"`
	Step      int          `json:"step"`
	Weight    int          `json:"weight"`
	Reason    string       `json:"reason,omitempty"`
}

// RolloutSample is what one analysis measured of one release (Role canary or stable), with its durations in
// milliseconds.
type RolloutSample struct {
	Time     time.Time `json:"time"`
	Role     string    `json:"role"`
	Requests int64     `json:"requests"`
	Errors   int64     `json:"errors"`
	P99MS    float64   `json:"p99_ms"`
	SpanMS   float64   `json:"span_ms"`
}

// RolloutView is a rollout with its events and what each analysis measured of its releases, as
// GET /api/v1/rollouts/{id} answers.
type RolloutView struct {
	Rollout
	Events  []RolloutEvent  `json:"events"`
	Samples []RolloutSample `json:"samples"`
}

// ActionRequest is the body of POST .../environments/{env}/{action}, for the five actions on an environment's
// rollout: promote, pause, resume, abort and rollback. To is read by rollback only: the release to go back
// to by its version within the project (7 for v7), 0 for the previous one.
type ActionRequest struct {
	To int64 `json:"to"`
}

// EnvStatus is one environment as `ferry status` shows it.
type EnvStatus struct {
	Name              string `json:"name"`
	LiveReleaseID     int64  `json:"live_release_id"`
	PreviousReleaseID int64  `json:"previous_release_id,omitempty"`
	// Rollout is the rollout in flight, or else the latest one.
	Rollout *Rollout `json:"rollout,omitempty"`
	// Analysis is the latest analysis of the rollout: an Evaluation.
	Analysis json.RawMessage `json:"analysis,omitempty"`
	// Listen and Running are what the data plane runs for the environment: each release with its instances'
	// health and its last 10 seconds of traffic. Empty while the data plane is not running.
	Listen  string         `json:"listen,omitempty"`
	Running []ReleaseState `json:"running,omitempty"`
	// Drift is what changed in the environment behind ferry's back, oldest first; see Drift.
	Drift []Drift `json:"drift,omitempty"`
	// Certificates are the ACME certificates of its hosts, by host; absent without tls: {acme: ...}.
	Certificates []Certificate `json:"certificates,omitempty"`

	// LiveReleaseVersion and PreviousReleaseVersion are the releases by their versions (v7).
	LiveReleaseVersion     int64 `json:"live_release_version"`
	PreviousReleaseVersion int64 `json:"previous_release_version,omitempty"`
	// Traffic is the operator's traffic mode (ferry traffic); absent where the target has none.
	Traffic *Traffic `json:"traffic,omitempty"`
}

// ProjectStatus answers GET /api/v1/projects/{name}/status.
type ProjectStatus struct {
	Project      string      `json:"project"`
	Environments []EnvStatus `json:"environments"`
}

// ReleaseState is one release the data plane runs for an environment.
type ReleaseState struct {
	ID        string           `json:"id"` // the release ID in decimal
	Healthy   bool             `json:"healthy"`
	Instances []InstanceStatus `json:"instances"`
	Last10s   *TrafficSummary  `json:"last_10s,omitempty"`
	// Reason says why the release is not healthy ("0 of 1 instances healthy: GET /healthz answered 404
	// (instance 0)"); "" when it is.
	Reason string `json:"reason,omitempty"`
	// Version is the release's version within the project, the number users see (v7).
	Version int64 `json:"version,omitempty"`
}

// InstanceState is what an instance of a release is doing.
type InstanceState string

const (
	InstanceStarting  InstanceState = "starting"  // started, not healthy yet
	InstanceHealthy   InstanceState = "healthy"   // the last health check passed
	InstanceUnhealthy InstanceState = "unhealthy" // was healthy, the last health check failed
	InstanceExited    InstanceState = "exited"    // the process ended; waiting to restart
	InstanceStopped   InstanceState = "stopped"   // stopped on purpose
)

// InstanceStatus is a snapshot of one instance.
type InstanceStatus struct {
	State    InstanceState `json:"state"`
	PID      int           `json:"pid"`
	Port     int           `json:"port"`
	Restarts int           `json:"restarts"`
	// LastExit describes the last time the process ended on its own.
	LastExit string    `json:"last_exit"`
	Since    time.Time `json:"since"`
	// LastProbe is what the last health check saw ("GET /healthz answered 404"); LastOutput the last lines the
	// instance printed, each cut to 200 bytes.
	LastProbe  string   `json:"last_probe,omitempty"`
	LastOutput []string `json:"last_output,omitempty"`
}

// TrafficSummary is what the proxy saw of a release over SpanMS, with its durations in milliseconds.
type TrafficSummary struct {
	Requests int64 `json:"requests"`
	Errors   int64 `json:"errors"`
	// Latency quantiles; zero without requests.
	P50MS  float64 `json:"p50_ms"`
	P90MS  float64 `json:"p90_ms"`
	P95MS  float64 `json:"p95_ms"`
	P99MS  float64 `json:"p99_ms"`
	SpanMS float64 `json:"span_ms"`
}

// Millis is d in milliseconds, the unit of every duration in the API's answers.
func Millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// ErrorRate is Errors/Requests, or 0 without requests.
func (s TrafficSummary) ErrorRate() float64 {
	if s.Requests == 0 {
		return 0
	}
	return float64(s.Errors) / float64(s.Requests)
}

// Verdict is the outcome of an analysis check or evaluation: pass, fail or inconclusive.
type Verdict string

const (
	Pass         Verdict = "pass"
	Fail         Verdict = "fail"
	Inconclusive Verdict = "inconclusive"
)

// Evaluation is one analysis of an environment's checks, as Rollout.Analysis and EnvStatus.Analysis hold it.
type Evaluation struct {
	Verdict Verdict       `json:"verdict"`
	Results []CheckResult `json:"results"`
	At      time.Time     `json:"at"`
}

// CheckResult is one row of an evaluation: a check, the value seen, its bound, the verdict and why.
type CheckResult struct {
	Check   string  `json:"check"`
	Verdict Verdict `json:"verdict"`
	Value   string  `json:"value,omitempty"`
	Stable  string  `json:"stable,omitempty"`
	Bound   string  `json:"bound,omitempty"`
	Reason  string  `json:"reason,omitempty"`
}

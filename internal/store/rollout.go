package store

import (
	"context"
	"time"
)

// RolloutState is the state of a rollout.
type RolloutState string

const (
	// RolloutPending waits for the environment's current rollout to end.
	RolloutPending RolloutState = "pending"
	// RolloutProgressing moves traffic step by step while analysis passes.
	RolloutProgressing RolloutState = "progressing"
	// RolloutPaused holds its step until a human resumes it; analysis goes on.
	RolloutPaused     RolloutState = "paused"
	RolloutSucceeded  RolloutState = "succeeded"
	RolloutRolledBack RolloutState = "rolled_back"
	RolloutAborted    RolloutState = "aborted"
	// RolloutFailed means the new release never became healthy; it never got traffic.
	RolloutFailed RolloutState = "failed"
	// RolloutSuperseded was pending when a newer release arrived for the environment.
	RolloutSuperseded RolloutState = "superseded"
)

// Done reports whether the state is final.
func (s RolloutState) Done() bool {
	switch s {
	case RolloutPending, RolloutProgressing, RolloutPaused:
		return false
	}
	return true
}

// RolloutStrategy is how a rollout moves traffic, as its record keeps it: the name of the environment's strategy
// in .ferry.yaml (pipeline.StrategyKind's String: direct, blue_green, canary), or StrategyRollback.
type RolloutStrategy string

const (
	StrategyDirect    RolloutStrategy = "direct"
	StrategyBlueGreen RolloutStrategy = "blue_green"
	StrategyCanary    RolloutStrategy = "canary"
	// StrategyRollback is a rollout a human asked for to go back to an earlier release: direct, without a
	// bake, and never refused as older than what the environment runs.
	StrategyRollback RolloutStrategy = "rollback"
)

// Rollout moves one environment of a project from its live release to a new one.
type Rollout struct {
	ID      int64  `json:"id"`
	Project string `json:"project"`
	Env     string `json:"env"`
	// ReleaseID is the release being rolled out; FromReleaseID the live one when it started (0: none).
	ReleaseID     int64           `json:"release_id"`
	FromReleaseID int64           `json:"from_release_id,omitempty"`
	Strategy      RolloutStrategy `json:"strategy"`
	State         RolloutState    `json:"state"`
	// Step is the strategy step reached (0: not started; canary steps count from 1), Weight the share of
	// traffic on the new release in percent.
	Step   int `json:"step"`
	Steps  int `json:"steps"`
	Weight int `json:"weight"`
	// Baking is set while the new release has all the traffic and the previous one is kept warm.
	Baking bool `json:"baking,omitempty"`
	// Failures counts failed analysis evaluations.
	Failures int `json:"failures"`
	// Reason explains the latest transition: which check, which value, which bound for a rollback.
	Reason string `json:"reason,omitempty"`
	// Analysis is the latest evaluation's verdicts, as JSON the analysis package defines.
	Analysis   []byte    `json:"analysis,omitempty"`
	StepSince  time.Time `json:"step_since,omitzero"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
	FinishedAt time.Time `json:"finished_at,omitzero"`
}

// RolloutEvent records one transition of a rollout, written before the transition takes effect.
type RolloutEvent struct {
	RolloutID int64        `json:"rollout_id"`
	Time      time.Time    `json:"time"`
	State     RolloutState `json:"state"`
	Step      int          `json:"step"`
	Weight    int          `json:"weight"`
	Reason    string       `json:"reason,omitempty"`
}

// RolloutSample is what the data plane's proxy measured of one release of a rollout over the span before Time,
// taken at each analysis: the dashboard draws canary against stable from them.
type RolloutSample struct {
	Time time.Time `json:"time"`
	// Role is "canary" (the new release while it shares traffic) or "stable".
	Role     string `json:"role"`
	Requests int64  `json:"requests"`
	Errors   int64  `json:"errors"`
	// P99 is the 99th percentile latency in seconds (0 without requests).
	P99  float64       `json:"p99"`
	Span time.Duration `json:"span"`
}

// Environment is what runs in one environment of a project.
type Environment struct {
	Project string `json:"project"`
	Name    string `json:"name"`
	// LiveReleaseID takes the traffic when no rollout is in flight (0: nothing deployed yet).
	LiveReleaseID int64 `json:"live_release_id"`
	// PreviousReleaseID was live before; rollbacks go back to it.
	PreviousReleaseID int64     `json:"previous_release_id,omitempty"`
	UpdatedAt         time.Time `json:"updated_at"`
}

// RolloutStore is the part of the Store that keeps rollouts and environments.
type RolloutStore interface {
	// CreateRollout stores r with a new ID (set on r) and records its first event.
	CreateRollout(ctx context.Context, r *Rollout) error
	GetRollout(ctx context.Context, id int64) (*Rollout, error)
	// ListRollouts returns the newest rollouts first; env "" means every environment; limit 0 means all.
	ListRollouts(ctx context.Context, project, env string, limit int) ([]*Rollout, error)
	// RolloutsInState returns the rollouts of any project in one of the states, oldest first.
	RolloutsInState(ctx context.Context, states ...RolloutState) ([]*Rollout, error)
	// UpdateRollout writes r and appends ev in one transaction.
	UpdateRollout(ctx context.Context, r *Rollout, ev RolloutEvent) error
	// SetRolloutAnalysis keeps the rollout's latest analysis, which is no transition and has no event.
	// ErrNotFound if the rollout does not exist.
	SetRolloutAnalysis(ctx context.Context, id int64, analysis []byte) error
	// RolloutEvents returns a rollout's events, oldest first.
	RolloutEvents(ctx context.Context, id int64) ([]RolloutEvent, error)

	// AddRolloutSamples appends what one analysis measured; RolloutSamples returns them oldest first, none for an
	// unknown rollout.
	AddRolloutSamples(ctx context.Context, rolloutID int64, samples []RolloutSample) error
	RolloutSamples(ctx context.Context, rolloutID int64) ([]RolloutSample, error)

	GetEnvironment(ctx context.Context, project, name string) (*Environment, error) // ErrNotFound
	// PutEnvironment creates or replaces the environment's record.
	PutEnvironment(ctx context.Context, e *Environment) error
	ListEnvironments(ctx context.Context, project string) ([]*Environment, error)
}

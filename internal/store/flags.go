package store

import (
	"context"
	"time"
)

// FlagOverride forces a flag of an environment to one variant whatever its rules say: a kill switch set at
// runtime, outside Git, until cleared.
type FlagOverride struct {
	Project string    `json:"project"`
	Env     string    `json:"env"`
	Flag    string    `json:"flag"`
	Variant string    `json:"variant"`
	Actor   string    `json:"actor"`
	Time    time.Time `json:"time"`
}

// FlagRolloutState is the state of a progressive flag rollout.
type FlagRolloutState string

const (
	FlagProgressing FlagRolloutState = "progressing"
	FlagSucceeded   FlagRolloutState = "succeeded"
	// FlagReverted: an analysis failed and the flag went back to the split it had before the flag rollout.
	FlagReverted FlagRolloutState = "reverted"
	// FlagSuperseded: a newer release changed or removed the flag's progressive rollout.
	FlagSuperseded FlagRolloutState = "superseded"
)

// Done reports whether the state is final.
func (s FlagRolloutState) Done() bool { return s != FlagProgressing }

// FlagRollout raises the share of one variant of a flag step by step while the environment's analysis passes.
type FlagRollout struct {
	ID        int64  `json:"id"`
	Project   string `json:"project"`
	Env       string `json:"env"`
	Flag      string `json:"flag"`
	ReleaseID int64  `json:"release_id"`
	Variant   string `json:"variant"`
	// Spec is the progressive rollout as declared: "on 1%,10%,50%,100% every 10m". A release that declares the
	// same one carries the flag rollout on.
	Spec string `json:"spec"`
	// Step is the step reached (1 is the first); Share the variant's share in basis points (10000 is 100 %).
	Step       int              `json:"step"`
	Steps      int              `json:"steps"`
	Share      int              `json:"share"`
	State      FlagRolloutState `json:"state"`
	Reason     string           `json:"reason,omitempty"`
	StepSince  time.Time        `json:"step_since,omitzero"`
	CreatedAt  time.Time        `json:"created_at"`
	UpdatedAt  time.Time        `json:"updated_at"`
	FinishedAt time.Time        `json:"finished_at,omitzero"`
}

// FlagRolloutEvent records one transition of a flag rollout.
type FlagRolloutEvent struct {
	Time   time.Time        `json:"time"`
	State  FlagRolloutState `json:"state"`
	Step   int              `json:"step"`
	Share  int              `json:"share"`
	Reason string           `json:"reason,omitempty"`
}

// FlagStore keeps what is live about feature flags beyond the release: overrides and progressive rollouts.
type FlagStore interface {
	// SetFlagOverride creates or replaces the override of o's flag; a zero Time is now.
	SetFlagOverride(ctx context.Context, o *FlagOverride) error
	// DeleteFlagOverride removes an override: ErrNotFound when there is none.
	DeleteFlagOverride(ctx context.Context, project, env, flag string) error
	// DeleteFlagOverrideIfUnchanged removes o only if it is still as read (same variant, actor and time):
	// ErrNotFound when it is gone or was set again meanwhile.
	DeleteFlagOverrideIfUnchanged(ctx context.Context, o FlagOverride) error
	// FlagOverrides returns an environment's overrides by flag name.
	FlagOverrides(ctx context.Context, project, env string) ([]FlagOverride, error)

	// CreateFlagRollout stores r with a new ID and records its first event.
	CreateFlagRollout(ctx context.Context, r *FlagRollout) error
	// UpdateFlagRollout writes r and appends ev in one transaction (ErrNotFound if r does not exist).
	UpdateFlagRollout(ctx context.Context, r *FlagRollout, ev FlagRolloutEvent) error
	// FlagRollouts returns an environment's flag rollouts, newest first; limit 0 means all.
	FlagRollouts(ctx context.Context, project, env string, limit int) ([]*FlagRollout, error)
	// LatestFlagRollouts returns the newest flag rollout of each flag of an environment, by flag name.
	LatestFlagRollouts(ctx context.Context, project, env string) ([]*FlagRollout, error)
	// FlagRolloutEvents returns a flag rollout's events, oldest first.
	FlagRolloutEvents(ctx context.Context, id int64) ([]FlagRolloutEvent, error)
}

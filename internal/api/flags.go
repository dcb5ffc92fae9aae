package api

import "time"

// FlagsView answers GET /api/v1/projects/{name}/environments/{env}/flags.
type FlagsView struct {
	Project   string     `json:"project"`
	Env       string     `json:"env"`
	ReleaseID int64      `json:"release_id"`
	Flags     []FlagView `json:"flags"`
	// ReleaseVersion is the live release's version within the project (v7).
	ReleaseVersion int64 `json:"release_version"`
}

// FlagView is one flag of an environment as `ferry flags` shows it: what Git declares and what is live.
type FlagView struct {
	Key      string        `json:"key"`
	Type     string        `json:"type"`
	Variants []VariantView `json:"variants"`
	Default  string        `json:"default"`
	Disabled bool          `json:"disabled,omitempty"`
	// Git is the variant the release's file serves to everyone, or "" when rules decide per subject.
	Git string `json:"git,omitempty"`
	// Override is the runtime override, and Drift says it differs from what Git says.
	Override *FlagOverride `json:"override,omitempty"`
	Drift    bool          `json:"drift"`
	// Progressive is the flag's progressive rollout as declared, and FlagRollout its latest run.
	Progressive string       `json:"progressive,omitempty"`
	FlagRollout *FlagRollout `json:"rollout,omitempty"`
	// Events are FlagRollout's transitions, oldest first.
	Events []FlagRolloutEvent `json:"events,omitempty"`
}

// VariantView is a variant and its value.
type VariantView struct {
	Name  string `json:"name"`
	Value any    `json:"value"`
}

// OverrideRequest is the body of PUT .../flags/{flag}/override.
type OverrideRequest struct {
	Variant string `json:"variant"`
}

// FlagOverride forces a flag of an environment to one variant, whatever its rules say; the answer to
// PUT .../flags/{flag}/override.
type FlagOverride struct {
	Project string    `json:"project"`
	Env     string    `json:"env"`
	Flag    string    `json:"flag"`
	Variant string    `json:"variant"`
	Actor   string    `json:"actor"`
	Time    time.Time `json:"time"`
}

// FlagRolloutState is the state of a flag rollout.
type FlagRolloutState string

const (
	FlagProgressing FlagRolloutState = "progressing"
	FlagSucceeded   FlagRolloutState = "succeeded"
	FlagReverted    FlagRolloutState = "reverted"
	FlagSuperseded  FlagRolloutState = "superseded"
)

// Done reports whether the state is final.
func (s FlagRolloutState) Done() bool { return s != FlagProgressing }

// FlagRollout is one run of a flag's progressive rollout: the share of subjects that get Variant grows step
// by step.
type FlagRollout struct {
	ID        int64  `json:"id"`
	Project   string `json:"project"`
	Env       string `json:"env"`
	Flag      string `json:"flag"`
	ReleaseID int64  `json:"release_id"`
	Variant   string `json:"variant"`
	// Spec is the progressive rollout as declared: "on 1%,10%,50%,100% every 10m".
	Spec       string           `json:"spec"`
	Step       int              `json:"step"`
	Steps      int              `json:"steps"`
	Share      int              `json:"share"` // basis points: 10000 is everyone
	State      FlagRolloutState `json:"state"`
	Reason     string           `json:"reason,omitempty"`
	StepSince  time.Time        `json:"step_since,omitzero"`
	CreatedAt  time.Time        `json:"created_at"`
	UpdatedAt  time.Time        `json:"updated_at"`
	FinishedAt time.Time        `json:"finished_at,omitzero"`
}

// FlagRolloutEvent is one transition of a flag rollout.
type FlagRolloutEvent struct {
	Time   time.Time        `json:"time"`
	State  FlagRolloutState `json:"state"`
	Step   int              `json:"step"`
	Share  int              `json:"share"`
	Reason string           `json:"reason,omitempty"`
}

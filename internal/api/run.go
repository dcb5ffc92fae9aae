package api

import "time"

// TriggerRequest is the body of POST /api/v1/projects/{name}/trigger; an empty Commit runs the branch head.
type TriggerRequest struct {
	Commit string `json:"commit"`
}

// RunState is the state of a run.
type RunState string

const (
	RunQueued     RunState = "queued"
	RunRunning    RunState = "running"
	RunPassed     RunState = "passed"
	RunFailed     RunState = "failed"
	RunCanceled   RunState = "canceled"
	RunSuperseded RunState = "superseded"
	RunError      RunState = "error"
)

// Done reports whether the state is final.
func (s RunState) Done() bool {
	return s != RunQueued && s != RunRunning
}

// Run is one execution of the pipeline for one commit.
type Run struct {
	ID      int64    `json:"id"`
	Project string   `json:"project"`
	Branch  string   `json:"branch"`
	Commit  string   `json:"commit"`
	Trigger string   `json:"trigger"` // poll, webhook, manual
	State   RunState `json:"state"`
	// Reason explains a final state other than passed (for error: FILE:LINE:COL: message).
	Reason string `json:"reason,omitempty"`
	// FailedStep is "stage/step" of the step that failed the run.
	FailedStep string    `json:"failed_step,omitempty"`
	ReleaseID  int64     `json:"release_id,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	StartedAt  time.Time `json:"started_at,omitzero"`
	FinishedAt time.Time `json:"finished_at,omitzero"`
	// ReleaseVersion is the release's version within the project (v7), the number users see.
	ReleaseVersion int64 `json:"release_version,omitempty"`
}

// RunView is a run with its steps, as GET /api/v1/runs/{id} answers.
type RunView struct {
	Run
	Steps []*Step `json:"steps"`
}

// StepState is the state of a step.
type StepState string

const (
	StepPending  StepState = "pending"
	StepRunning  StepState = "running"
	StepPassed   StepState = "passed"
	StepFailed   StepState = "failed"
	StepCanceled StepState = "canceled"
	StepSkipped  StepState = "skipped"
	StepError    StepState = "error"
)

// Done reports whether the state is final.
func (s StepState) Done() bool {
	return s != StepPending && s != StepRunning
}

// Step is one step of a run, with its metrics and gate verdicts.
type Step struct {
	RunID      int64         `json:"run_id"`
	Index      int           `json:"index"` // orders the steps of a run as the pipeline file does
	Stage      string        `json:"stage"`
	Name       string        `json:"name"`
	State      StepState     `json:"state"`
	Attempts   int           `json:"attempts"`
	ExitCode   int           `json:"exit_code"`
	Reason     string        `json:"reason,omitempty"`
	Metrics    []Metric      `json:"metrics,omitempty"`
	Verdicts   []GateVerdict `json:"verdicts,omitempty"`
	Artifacts  []Artifact    `json:"artifacts,omitempty"`
	StartedAt  time.Time     `json:"started_at,omitzero"`
	FinishedAt time.Time     `json:"finished_at,omitzero"`
}

// FullName is "stage/step", the name users see.
func (s *Step) FullName() string { return s.Stage + "/" + s.Name }

// Metric is a value a step wrote for its gates.
type Metric struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	Unit  string  `json:"unit,omitempty"`
	// Direction is "lower_is_better", "higher_is_better", or empty when the metric did not say.
	Direction string `json:"direction,omitempty"`
}

// GateVerdict is the verdict of one gate on one metric of a step.
type GateVerdict struct {
	Metric   string   `json:"metric"`
	Bound    string   `json:"bound"` // as written: "max 50", "max_increase 10%"
	Baseline *float64 `json:"baseline,omitempty"`
	Current  *float64 `json:"current,omitempty"`
	// Change is the difference from the baseline as shown to users: "+4.1 (+10.0%, worse)".
	Change string `json:"change,omitempty"`
	Pass   bool   `json:"pass"`
	// Reason explains a failure or a pass without a baseline: "metric missing", "no baseline".
	Reason string `json:"reason,omitempty"`
}

// Artifact is a file kept from a step, stored by content digest.
type Artifact struct {
	Path   string `json:"path"`
	Digest string `json:"digest"` // sha256:<hex>; "" for a symlink
	Size   int64  `json:"size"`
	Mode   uint32 `json:"mode"`
	// Link, for a symlink, is where it points, relative to its folder, inside the release.
	Link string `json:"link,omitempty"`
}

// LogLine is one line of a run's log as GET /api/v1/runs/{id}/logs sends it (one JSON object per line).
type LogLine struct {
	Time time.Time `json:"time"`
	Step string    `json:"step"` // stage/step, or "ferry" for ferry's own lines
	Text string    `json:"line"`
}

// AppLogLine is one line an instance of a release printed, as GET
// /api/v1/projects/{name}/environments/{env}/logs streams them.
type AppLogLine struct {
	ReleaseID int64  `json:"release_id"`
	Instance  int    `json:"instance"` // from 0
	Text      string `json:"line"`
	// ReleaseVersion is the release's version within the project (v7).
	ReleaseVersion int64 `json:"release_version"`
}

// Release is what a passed run produced: commit, bundle and the pipeline file at that commit.
type Release struct {
	ID int64 `json:"id"`
	// Version is the release's number within its project: 1, 2, 3...
	Version    int64     `json:"version"`
	Project    string    `json:"project"`
	RunID      int64     `json:"run_id"`
	Branch     string    `json:"branch"`
	Commit     string    `json:"commit"`
	Message    string    `json:"message"`
	Author     string    `json:"author"`
	CommitTime time.Time `json:"commit_time"`
	// Bundle is the digest of the bundle manifest (sha256:<hex>).
	Bundle   string `json:"bundle"`
	Pipeline string `json:"pipeline"` // the .ferry.yaml of the commit
	// Flags is the release's feature flags as JSON; empty without flags.
	Flags string `json:"flags,omitempty"`
	// Images are the images its run built, pinned by digest (repo@sha256:...).
	Images []string `json:"images,omitempty"`
	// Manifests are its rendered Kubernetes manifests by environment: a blob's digest (sha256:<hex>).
	Manifests map[string]string `json:"manifests,omitempty"`
	CreatedAt time.Time         `json:"created_at"`
}

// ReleaseView answers GET /api/v1/projects/{name}/releases/{version} (and GET /api/v1/releases/{id}): the
// release and the files of its bundle. (Files comes first: the answer was a JSON object with sorted keys
// before it had a type.)
type ReleaseView struct {
	Files   []Artifact `json:"files"`
	Release *Release   `json:"release"`
	// Pruned says the release's files were removed by retention (ferry serve --keep-releases): its record
	// stays, Files is empty, and it can no longer be deployed.
	Pruned bool `json:"pruned,omitempty"`
}

// ReleaseManifests answers GET /api/v1/projects/{name}/releases/{version}/manifests (and
// /api/v1/releases/{id}/manifests): the rendered Kubernetes manifests stored
// with the release, by environment, as the YAML ferry applies for it every time.
type ReleaseManifests struct {
	Release      int64             `json:"release"`
	Images       []string          `json:"images"`
	Environments map[string]string `json:"environments"`
	// Version is the release's version within its project (v7); Release is its ID.
	Version int64 `json:"version"`
}

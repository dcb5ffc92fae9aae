// Package store owns ferry's persistence: the Store interface and the records it keeps. Implementations live
// in sub-packages (sqlite/ is the default; postgres/ can follow) and all pass the contract test in storetest/.
//
// It must not import server, engine or any package that acts on the records.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/ferry-cd/ferry/internal/gate"
)

// Sentinel errors every implementation returns (possibly wrapped).
var (
	ErrNotFound = errors.New("not found")
	ErrExists   = errors.New("already exists")
)

// Project is a Git repository and the branch ferry follows.
type Project struct {
	Name   string `json:"name"`
	Repo   string `json:"repo"`
	Branch string `json:"branch"`
	// Poll is the polling interval; zero turns polling off (webhooks and manual triggers only).
	Poll time.Duration `json:"poll"`
	// WebhookSecret verifies webhook signatures. Never sent back by the API.
	WebhookSecret string `json:"-"`
	// Concurrency bounds the runs of the project that execute at once.
	Concurrency int `json:"concurrency"`
	// Head is the last commit of Branch the poller or a webhook saw.
	Head      string    `json:"head,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	// Status says where the project reports commit statuses; the zero value reports none.
	Status StatusTarget `json:"status,omitzero"`
	// Notify lists where the project's notifications go, besides the server's own sinks.
	Notify []NotifySink `json:"notify,omitempty"`
}

// NotifySink is a place notifications go: Kind "webhook" (ferry's JSON, signed with the server's notify
// secret) or "slack" (a Slack-compatible incoming webhook).
type NotifySink struct {
	Kind string `json:"kind"`
	URL  string `json:"url"`
}

// StatusTarget is a forge's commit status API for one repository. The token is the project secret
// FERRY_STATUS_TOKEN.
type StatusTarget struct {
	Provider string `json:"provider"` // github, gitlab or gitea
	// API is the API's base URL: https://api.github.com, https://gitlab.example.com/api/v4,
	// https://gitea.example.com/api/v1.
	API string `json:"api"`
	// Repo is owner/name (GitHub, Gitea) or the project's id or path (GitLab).
	Repo string `json:"repo"`
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
	// RunError means the run could not execute its pipeline: the file was missing or invalid, the checkout
	// failed, or the server restarted under it. Reason says which.
	RunError RunState = "error"
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

// Step is one step of a run, with its verdicts.
type Step struct {
	RunID int64 `json:"run_id"`
	// Index orders the steps of a run as the pipeline file does.
	Index    int       `json:"index"`
	Stage    string    `json:"stage"`
	Name     string    `json:"name"`
	State    StepState `json:"state"`
	Attempts int       `json:"attempts"`
	ExitCode int       `json:"exit_code"`
	Reason   string    `json:"reason,omitempty"`
	// PID is the process group of the running attempt, so a restarted server can make sure it is gone.
	PID        int            `json:"-"`
	Metrics    []gate.Metric  `json:"metrics,omitempty"`
	Verdicts   []gate.Verdict `json:"verdicts,omitempty"`
	Artifacts  []Artifact     `json:"artifacts,omitempty"`
	StartedAt  time.Time      `json:"started_at,omitzero"`
	FinishedAt time.Time      `json:"finished_at,omitzero"`
}

// FullName is "stage/step", the name users see.
func (s *Step) FullName() string { return s.Stage + "/" + s.Name }

// Artifact is a file kept from a step, stored by content digest.
type Artifact struct {
	Path   string `json:"path"`
	Digest string `json:"digest"` // sha256:<hex>; "" for a symlink
	Size   int64  `json:"size"`
	Mode   uint32 `json:"mode"`
	// Link, for a symlink kept as one, is where it points: a path relative to the link's folder, to a file or
	// folder of the same release.
	Link string `json:"link,omitempty"`
}

// Release is what a passed run produced: commit, bundle and the pipeline file at that commit. It never changes.
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
	// Bundle is the digest of the bundle manifest (sha256:<hex>), itself a blob in the artifact store.
	Bundle   string `json:"bundle"`
	Pipeline string `json:"pipeline"`
	// Flags is the release's feature flags as the flags package writes them (JSON); empty without flags.
	Flags string `json:"flags,omitempty"`
	// Images are the images the run's steps built and pushed, pinned by digest ("repo@sha256:..."), as they
	// wrote them to $FERRY_IMAGES; nil when no step declares images.
	Images []string `json:"images,omitempty"`
	// Manifests are the release's rendered Kubernetes manifests by environment name: the digest of a blob in
	// the artifact store, the same bytes every time the release is applied; nil without kubernetes
	// environments.
	Manifests map[string]string `json:"manifests,omitempty"`
	CreatedAt time.Time         `json:"created_at"`
}

// Secret names a project secret; values never leave the store except to a step.
type Secret struct {
	Name      string    `json:"name"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Token roles: an admin token may change anything; a read token sees everything and changes nothing; a flags
// token only evaluates the feature flags of one project's environment (OFREP).
const (
	RoleAdmin = "admin"
	RoleRead  = "read"
	RoleFlags = "flags"
)

// Token is an API token. Only the SHA-256 of the token is stored.
type Token struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	Hash string `json:"-"`
	// Role is RoleAdmin or RoleRead; empty means RoleAdmin when creating.
	Role string `json:"role"`
	// Project and Env scope a flags token.
	Project string `json:"project,omitempty"`
	Env     string `json:"env,omitempty"`
	// Origins are the web origins ("https://shop.example", or "*" for any) whose pages may call OFREP
	// with a flags token from a browser; none for other tokens, and for flags tokens only servers use.
	Origins   []string  `json:"origins,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// AuditEntry records one human action: who did what to which project, and when.
type AuditEntry struct {
	ID      int64     `json:"id"`
	Time    time.Time `json:"time"`
	Actor   string    `json:"actor"`  // the token's name
	Action  string    `json:"action"` // promote, pause, resume, abort, rollback, secret.set, secret.rm, token.create, token.revoke, project.add, project.rm, run.cancel, trigger
	Project string    `json:"project,omitempty"`
	Target  string    `json:"target,omitempty"` // the environment, secret, token or run acted on
	Detail  string    `json:"detail,omitempty"`
}

// Store is ferry's persistence. Every method is safe for concurrent use. Writes are durable when the method
// returns: a kill -9 afterwards loses nothing.
type Store interface {
	CreateProject(ctx context.Context, p *Project) error // ErrExists
	GetProject(ctx context.Context, name string) (*Project, error)
	ListProjects(ctx context.Context) ([]*Project, error)
	SetProjectHead(ctx context.Context, name, commit string) error
	DeleteProject(ctx context.Context, name string) error

	// CreateRun stores r with a new ID (set on r).
	CreateRun(ctx context.Context, r *Run) error
	GetRun(ctx context.Context, id int64) (*Run, error)
	// ListRuns returns the project's newest runs first, at most limit (0: all).
	ListRuns(ctx context.Context, project string, limit int) ([]*Run, error)
	// RunsInState returns runs of any project in one of the states, oldest first.
	RunsInState(ctx context.Context, states ...RunState) ([]*Run, error)
	UpdateRun(ctx context.Context, r *Run) error

	// PutSteps replaces the steps of a run.
	PutSteps(ctx context.Context, runID int64, steps []*Step) error
	UpdateStep(ctx context.Context, s *Step) error
	ListSteps(ctx context.Context, runID int64) ([]*Step, error)
	// BaselineMetrics returns the metrics of stage/step in the newest passed run of project and branch with an ID
	// below beforeRun; found is false when there is none.
	BaselineMetrics(ctx context.Context, project, branch, stage, step string, beforeRun int64) (m []gate.Metric, found bool, err error)

	// CreateRelease stores rel with a new ID and the project's next Version (both set on rel).
	CreateRelease(ctx context.Context, rel *Release) error
	GetRelease(ctx context.Context, id int64) (*Release, error)
	// ReleaseByVersion returns the release of project with version, the number users see, or ErrNotFound.
	ReleaseByVersion(ctx context.Context, project string, version int64) (*Release, error)
	ListReleases(ctx context.Context, project string, limit int) ([]*Release, error)

	SetSecret(ctx context.Context, project, name string, sealed []byte) error
	ListSecrets(ctx context.Context, project string) ([]Secret, error)
	// SecretValues returns the sealed values of the named secrets that exist.
	SecretValues(ctx context.Context, project string, names []string) (map[string][]byte, error)
	DeleteSecret(ctx context.Context, project, name string) error // ErrNotFound

	// CreateToken stores t; a token of the same Name or Hash is ErrExists.
	CreateToken(ctx context.Context, t *Token) error
	TokenByHash(ctx context.Context, hash string) (*Token, error)
	CountTokens(ctx context.Context) (int, error)
	// ListTokens returns every token, oldest first, without its Hash.
	ListTokens(ctx context.Context) ([]*Token, error)
	// DeleteToken revokes the token named name: it authenticates nothing from then on. ErrNotFound.
	DeleteToken(ctx context.Context, name string) error

	// AddAudit records e with a new ID (set on e); a zero Time means now.
	AddAudit(ctx context.Context, e *AuditEntry) error
	// ListAudit returns the newest entries first, of one project or ("") of all; limit 0 means all.
	ListAudit(ctx context.Context, project string, limit int) ([]AuditEntry, error)

	// AddDelivery records a webhook delivery id of a project. It reports false, changing nothing, when the id
	// is recorded already. Only the newest keep ids of each project are kept (keep <= 0: all).
	AddDelivery(ctx context.Context, project, id string, at time.Time, keep int) (bool, error)
	// RemoveDelivery forgets a delivery id, so that a delivery that could not be acted on can come again.
	RemoveDelivery(ctx context.Context, project, id string) error

	RolloutStore
	NotificationStore
	FlagStore
	CaseStore

	Close() error
}

// NotificationState is where a notification's delivery stands.
type NotificationState string

const (
	// NotificationPending waits for its next attempt, at NextAt.
	NotificationPending   NotificationState = "pending"
	NotificationDelivered NotificationState = "delivered"
	// NotificationFailed was given up after its last attempt.
	NotificationFailed NotificationState = "failed"
)

// Notification is one message to one sink, kept until it is delivered or given up, so delivery survives a
// restart and every attempt can be seen.
type Notification struct {
	ID      int64  `json:"id"`
	Sink    string `json:"sink"` // "webhook" or "slack"
	URL     string `json:"url"`
	Event   string `json:"event"` // run.failed, gate.failed, run.recovered, rollout.succeeded, rollout.rolled_back, rollout.failed
	Project string `json:"project"`
	Payload []byte `json:"payload"`
	// State is pending (NextAt says when to try), delivered or failed (gave up).
	State     NotificationState `json:"state"`
	Attempts  int               `json:"attempts"`
	LastError string            `json:"last_error,omitempty"`
	NextAt    time.Time         `json:"next_at,omitzero"`
	CreatedAt time.Time         `json:"created_at"`
	UpdatedAt time.Time         `json:"updated_at"`
}

// NotificationStore keeps notifications.
type NotificationStore interface {
	// AddNotification stores n with a new ID (set on n).
	AddNotification(ctx context.Context, n *Notification) error
	// DueNotifications returns pending notifications whose NextAt is not after now, oldest first.
	DueNotifications(ctx context.Context, now time.Time, limit int) ([]*Notification, error)
	UpdateNotification(ctx context.Context, n *Notification) error
	// ListNotifications returns the newest first, of one project or ("") all; limit 0 means all.
	ListNotifications(ctx context.Context, project string, limit int) ([]*Notification, error)
}

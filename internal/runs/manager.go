// Package runs owns the run lifecycle: a run is queued for a commit (superseding the queued runs of the commits
// it contains), dispatched while its project has room, executed in a fresh checkout with its steps recorded in
// the store and its output in a log file, and ended; a passed run records its release. After a crash, Recover
// ends the runs a dead server left running and queues their commits once more. The project's head moves here
// too, forward only.
//
// The seam where runners on other machines will take over is between taking a job (dispatch.go: the run is
// recorded running before anything runs) and executing it (execute.go). What a run's end sets off outside the
// lifecycle (forge statuses, notifications, metrics, deploying the release) is the caller's, told through
// Events; secrets and repository credentials come through functions, so this package does not know how they
// are kept.
//
// It must not import server, cli or ui.
package runs

import (
	"context"
	"log/slog"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/ferry-cd/ferry/internal/artifact"
	"github.com/ferry-cd/ferry/internal/engine"
	"github.com/ferry-cd/ferry/internal/pipeline"
	"github.com/ferry-cd/ferry/internal/source"
	"github.com/ferry-cd/ferry/internal/store"
)

// DefaultLogLimit is the step output a run's log keeps when Config.LogLimit is zero: far more than anyone
// reads, far less than a disk holds.
const DefaultLogLimit = 64 << 20

// SecretsFunc opens the named secrets of a project, for the steps of one of its runs. A name the project does
// not have is absent from the map; a name no step may read is an error.
type SecretsFunc func(ctx context.Context, project string, names []string) (map[string]string, error)

// CredentialsFunc returns what authenticates the project's mirror to its repository; zero Credentials when it
// needs none.
type CredentialsFunc func(ctx context.Context, project string) (source.Credentials, error)

// Events hears what happens to runs, for what lies outside the lifecycle: forge statuses, notifications,
// metrics and deploying releases. Each call comes after the change it announces is recorded in the store, from
// the goroutine that made it, so it must not block for long.
type Events interface {
	// RunQueued: r was recorded queued.
	RunQueued(r *store.Run)
	// RunStarted: r's execution begins (its checkout is next).
	RunStarted(r *store.Run)
	// StepEnded: a step of a run of project reached its final state.
	StepEnded(project string, st *store.Step)
	// StepsEnded: the engine is done with a run's steps, which hold their final states.
	StepsEnded(project string, steps []*store.Step)
	// RunEnded: r reached its final state (a retry of it, if any, is queued already).
	RunEnded(ctx context.Context, r *store.Run)
	// RunPassed: r passed and rel is its release, made from pipeline pl; called just before r is recorded passed.
	RunPassed(ctx context.Context, pl *pipeline.Pipeline, rel *store.Release)
}

// Config is what a Manager works with.
type Config struct {
	// DataDir holds mirrors/, work/ (checkouts), tmp/, cache/ (per project) and logs/.
	DataDir string
	Store   store.Store
	// Engine runs the steps; its Artifacts should be Artifacts.
	Engine    *engine.Engine
	Artifacts *artifact.Store
	// Credentials authenticates mirrors; nil fetches without credentials.
	Credentials CredentialsFunc
	// Secrets opens the secrets steps ask for; nil fails every run whose steps ask for one.
	Secrets SecretsFunc
	// Events hears about runs; nil hears nothing.
	Events Events
	Logger *slog.Logger
	// KeepWorkspaces leaves each run's checkout on disk after it ends (for debugging).
	KeepWorkspaces bool
	// LogLimit bounds the step output kept in one run's log, in bytes; DefaultLogLimit when zero.
	LogLimit int64
	// RenderManifests renders the manifests of a kubernetes environment (a path inside the checkout at root)
	// into the bytes stored with the release; nil fails the run of a pipeline that has such an environment.
	RenderManifests func(root, path string) ([]byte, error)
	// CheckEnvironments checks a run's pipeline against what other projects hold (the hosts and addresses
	// their environments serve) before any step runs; its error ends the run with RunError. Nil checks
	// nothing.
	CheckEnvironments func(ctx context.Context, project string, pl *pipeline.Pipeline) error
}

// Manager runs the lifecycle of the runs of every project. Create it with New; Run dispatches.
type Manager struct {
	cfg    Config
	store  store.Store
	events Events
	log    *slog.Logger

	mu     sync.Mutex
	active map[int64]*activeRun // runs executing now
	kick   chan struct{}
	wg     sync.WaitGroup // the executions Run started

	mirrors keyedMutex // serialises git operations on a project's mirror
	heads   keyedMutex // serialises head changes of a project (poller and webhook)
	polls   pollErrors // each project's last poll error
}

type activeRun struct {
	project string
	cancel  context.CancelCauseFunc
	log     *runLog
}

// New returns a manager of the runs in cfg.Store. It starts nothing.
func New(cfg Config) *Manager {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Engine == nil {
		cfg.Engine = &engine.Engine{Artifacts: cfg.Artifacts}
	}
	ev := cfg.Events
	if ev == nil {
		ev = noEvents{}
	}
	return &Manager{cfg: cfg, store: cfg.Store, events: ev, log: cfg.Logger,
		active: map[int64]*activeRun{}, kick: make(chan struct{}, 1)}
}

// Running counts the runs executing now, by project.
func (m *Manager) Running() map[string]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := map[string]int{}
	for _, a := range m.active {
		n[a.project]++
	}
	return n
}

func (m *Manager) wake() {
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

func (m *Manager) logLimit() int64 {
	if m.cfg.LogLimit > 0 {
		return m.cfg.LogLimit
	}
	return DefaultLogLimit
}

func (m *Manager) workspace(run int64) string {
	return filepath.Join(m.cfg.DataDir, "work", strconv.FormatInt(run, 10))
}

func (m *Manager) tempDir(run int64) string {
	return filepath.Join(m.cfg.DataDir, "tmp", strconv.FormatInt(run, 10))
}

// cacheDir is where a project's steps keep their tool caches across runs; no other project's steps see it.
func (m *Manager) cacheDir(project string) string {
	return filepath.Join(m.cfg.DataDir, "cache", project)
}

// LogPath is the file of run's log.
func (m *Manager) LogPath(run int64) string {
	return filepath.Join(m.cfg.DataDir, "logs", strconv.FormatInt(run, 10)+".log")
}

type noEvents struct{}

func (noEvents) RunQueued(*store.Run)                                          {}
func (noEvents) RunStarted(*store.Run)                                         {}
func (noEvents) StepEnded(string, *store.Step)                                 {}
func (noEvents) StepsEnded(string, []*store.Step)                              {}
func (noEvents) RunEnded(context.Context, *store.Run)                          {}
func (noEvents) RunPassed(context.Context, *pipeline.Pipeline, *store.Release) {}

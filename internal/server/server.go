// Package server owns ferry's control plane: the HTTP API with token auth, webhooks, the pollers, and the run
// scheduler that queues, supersedes, executes and recovers runs. It wires store, source, engine and artifact
// together; nothing below it imports it.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ferry-cd/ferry/internal/analysis"
	"github.com/ferry-cd/ferry/internal/artifact"
	"github.com/ferry-cd/ferry/internal/engine"
	"github.com/ferry-cd/ferry/internal/flagruntime"
	"github.com/ferry-cd/ferry/internal/notify"
	"github.com/ferry-cd/ferry/internal/rollout"
	"github.com/ferry-cd/ferry/internal/sandbox"
	"github.com/ferry-cd/ferry/internal/secret"
	"github.com/ferry-cd/ferry/internal/source"
	"github.com/ferry-cd/ferry/internal/store"
)

// Config is what a server needs to start.
type Config struct {
	// DataDir holds the database, the secret key, mirrors, workspaces, logs and blobs.
	DataDir string
	Store   store.Store
	Engine  *engine.Engine
	Logger  *slog.Logger
	// KeepWorkspaces leaves each run's checkout on disk after it ends (for debugging).
	KeepWorkspaces bool
	// RunLogLimit bounds the step output kept in one run's log, in bytes; DefaultRunLogLimit when zero.
	RunLogLimit int64
	// DataPlaneCommand starts the data plane; `<this executable> dataplane --data DataDir DataPlaneArgs...`
	// when empty.
	DataPlaneCommand []string
	DataPlaneArgs    []string
	// Sandbox isolates every step: it must hide DataDir. Nil runs steps as the server's own user, with the
	// data folder in their reach: only for code the operator trusts.
	Sandbox *sandbox.Sandbox
	// SharedCaches: see engine.Engine.SharedCaches.
	SharedCaches []string
	// HealthTimeout bounds how long a new release may take to become healthy before its rollout fails;
	// 2 minutes when zero.
	HealthTimeout time.Duration
	// Notify lists where notifications go; NotifySecret signs the webhook ones.
	Notify       []notify.Sink
	NotifySecret string
	// ReadTimeout bounds reading a whole request, body included, so a client sending slowly cannot hold a
	// connection; 30 s when zero. IdleTimeout bounds a keep-alive connection waiting for its next request;
	// 2 minutes when zero.
	ReadTimeout time.Duration
	IdleTimeout time.Duration
	// AllowCheckHosts are the hosts (names, IP addresses or CIDR prefixes) that a pipeline's http and
	// prometheus checks may reach besides the loopback addresses; see analysis.HostGuard.
	AllowCheckHosts []string
}

// Server is the control plane. Create it with New, then Start it and serve Handler.
type Server struct {
	cfg       Config
	store     store.Store
	engine    *engine.Engine
	artifacts *artifact.Store
	sealer    *secret.Sealer
	log       *slog.Logger

	mu      sync.Mutex
	active  map[int64]*activeRun // runs executing now
	polling map[string]bool

	rollouts  *rollout.Controller
	dataplane *lazyDataPlane
	analysis  analyzers
	counters  *counters
	notifier  *notify.Sender
	statuses  chan statusJob

	flagRuntime *flagruntime.Runtime
	flagTokens  flagTokens

	checkClient *http.Client // the guarded client of http and prometheus checks

	mirrors keyedMutex // serialises git operations on a project's mirror
	heads   keyedMutex // serialises head changes of a project (poller and webhook)

	kick   chan struct{}
	ctx    context.Context
	cancel context.CancelFunc
	// streams is canceled when the HTTP server shuts down, ending streaming answers.
	streams     context.Context
	stopStreams context.CancelFunc
	wg          sync.WaitGroup
}

type activeRun struct {
	project string
	cancel  context.CancelCauseFunc
	log     *runLog
}

// New opens what the server keeps in cfg.DataDir. It starts nothing.
func New(cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if err := secureDataDir(cfg.DataDir); err != nil {
		return nil, err
	}
	sl, err := secret.LoadSealer(filepath.Join(cfg.DataDir, secret.KeyFile))
	if err != nil {
		return nil, err
	}
	guard, err := analysis.NewHostGuard(cfg.AllowCheckHosts)
	if err != nil {
		return nil, err
	}
	arts := &artifact.Store{Dir: filepath.Join(cfg.DataDir, "blobs")}
	eng := cfg.Engine
	if eng == nil {
		eng = &engine.Engine{}
	}
	eng.Artifacts = arts
	eng.Sandbox, eng.SharedCaches = cfg.Sandbox, cfg.SharedCaches
	ctx, cancel := context.WithCancel(context.Background())
	streams, stopStreams := context.WithCancel(context.Background())
	s := &Server{
		streams: streams, stopStreams: stopStreams,
		cfg: cfg, store: cfg.Store, engine: eng, artifacts: arts, sealer: sl, log: cfg.Logger,
		active: map[int64]*activeRun{}, polling: map[string]bool{},
		kick: make(chan struct{}, 1), ctx: ctx, cancel: cancel, checkClient: guard.Client(),
	}
	s.dataplane = &lazyDataPlane{s: s}
	s.counters = newCounters(s)
	s.statuses = make(chan statusJob, 1024)
	s.notifier = &notify.Sender{Store: cfg.Store, Sinks: cfg.Notify, Secret: cfg.NotifySecret, Logger: cfg.Logger,
		ProjectSinks: s.projectSinks}
	s.flagRuntime = &flagruntime.Runtime{Store: cfg.Store, Analyze: s.analyzeFlagRollout, OnReverted: s.flagRolloutReverted,
		Logger: cfg.Logger}
	s.rollouts = &rollout.Controller{
		Store: cfg.Store, Artifacts: arts, DataPlane: s.dataplane, DataDir: cfg.DataDir, Logger: cfg.Logger,
		Analyze: s.analyze, OnSucceeded: s.promoteNext, HealthTimeout: cfg.HealthTimeout, OnEnded: s.rolloutEnded,
		OnSwitch: s.flagRuntime.Invalidate, IsAncestor: s.isAncestor,
	}
	return s, nil
}

// EnsureAdminToken creates the first admin token when the store has none and returns it; it returns "" when a
// token exists. Only the token's hash is stored: the caller must show it now or never.
func (s *Server) EnsureAdminToken(ctx context.Context) (string, error) {
	n, err := s.store.CountTokens(ctx)
	if err != nil {
		return "", err
	}
	if n > 0 {
		return "", nil
	}
	return s.CreateToken(ctx, "admin")
}

// CreateToken makes a new API token and returns it.
func (s *Server) CreateToken(ctx context.Context, name string) (string, error) {
	tok := newToken()
	if err := s.store.CreateToken(ctx, &store.Token{Name: name, Hash: hashToken(tok), CreatedAt: time.Now().UTC()}); err != nil {
		return "", fmt.Errorf("create token: %w", err)
	}
	return tok, nil
}

// Start recovers runs interrupted by a previous server's death, then starts the scheduler and the pollers.
func (s *Server) Start() error {
	if err := s.recover(s.ctx); err != nil {
		return fmt.Errorf("recover runs: %w", err)
	}
	s.wg.Add(6)
	go func() { defer s.wg.Done(); s.notifier.Run(s.ctx) }()
	go func() { defer s.wg.Done(); s.statusLoop() }()
	go func() { defer s.wg.Done(); s.dispatchLoop() }()
	go func() { defer s.wg.Done(); s.pollLoop() }()
	go func() { defer s.wg.Done(); s.rollouts.Run(s.ctx) }()
	go func() { defer s.wg.Done(); s.flagRuntime.Run(s.ctx) }()
	s.wake()
	return nil
}

// Close cancels every active run, waits for them to record their end, and stops the loops. It does not close
// the store.
func (s *Server) Close() {
	s.cancel()
	s.mu.Lock()
	for _, a := range s.active {
		a.cancel(errors.New("server shutting down"))
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// Serve serves h (s.Handler() when nil: the API alone) on l until ctx is done, then shuts down gracefully,
// ending log streams at once.
func (s *Server) Serve(ctx context.Context, l net.Listener, h http.Handler) error {
	if h == nil {
		h = s.Handler()
	}
	hs := s.httpServer(h)
	// Log followers would hold a graceful shutdown open until their run ends: end their streams at once.
	hs.RegisterOnShutdown(func() { s.stopStreams() })
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(l) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// A fresh context: the serving one is already done.
	shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	hs.Shutdown(shutCtx)
	return nil
}

func (s *Server) wake() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// recover ends the runs a dead server left running: their processes are killed, the run becomes error, and
// its commit is queued again once (see retryInterrupted). Queued runs stay queued and are dispatched as usual.
func (s *Server) recover(ctx context.Context) error {
	runs, err := s.store.RunsInState(ctx, store.RunRunning)
	if err != nil {
		return err
	}
	for _, r := range runs {
		killed := killRunProcesses(s.workspace(r.ID))
		s.log.Warn("run interrupted by server restart", "project", r.Project, "run", r.ID, "processes_killed", killed)
		steps, err := s.store.ListSteps(ctx, r.ID)
		if err != nil {
			return err
		}
		now := time.Now().UTC()
		for _, st := range steps {
			if st.State.Done() {
				continue
			}
			if st.State == store.StepRunning {
				st.State, st.Reason = store.StepError, "interrupted by server restart"
			} else {
				st.State, st.Reason = store.StepSkipped, "interrupted by server restart"
			}
			st.FinishedAt = now
			if err := s.store.UpdateStep(ctx, st); err != nil {
				return err
			}
		}
		r.State, r.Reason, r.FinishedAt = store.RunError, "interrupted by server restart", now
		if err := s.store.UpdateRun(ctx, r); err != nil {
			return err
		}
		s.cleanup(r.ID)
		s.retryInterrupted(ctx, r)
	}
	return nil
}

// killRunProcesses kills every process whose environment names the run's workspace: the steps of a run that a
// dead server started, with their children, even those that left the step's process group.
func killRunProcesses(workspace string) int {
	marker := []byte("FERRY_WORKSPACE=" + workspace + "\x00")
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil || !strings.Contains(string(env), string(marker)) {
			continue
		}
		if syscall.Kill(pid, syscall.SIGKILL) == nil {
			n++
		}
	}
	return n
}

func (s *Server) workspace(run int64) string {
	return filepath.Join(s.cfg.DataDir, "work", strconv.FormatInt(run, 10))
}

func (s *Server) tempDir(run int64) string {
	return filepath.Join(s.cfg.DataDir, "tmp", strconv.FormatInt(run, 10))
}

// cacheDir is where a project's steps keep their tool caches across runs; no other project's steps see it.
func (s *Server) cacheDir(project string) string {
	return filepath.Join(s.cfg.DataDir, "cache", project)
}

func (s *Server) logPath(run int64) string {
	return filepath.Join(s.cfg.DataDir, "logs", strconv.FormatInt(run, 10)+".log")
}

func (s *Server) mirror(p *store.Project) *source.Mirror {
	return s.withCredentials(&source.Mirror{Dir: filepath.Join(s.cfg.DataDir, "mirrors", p.Name+".git"), URL: p.Repo, Branch: p.Branch}, p)
}

// lockMirror serialises git operations on one project's mirror.
func (s *Server) lockMirror(project string) func() { return s.mirrors.lock(project) }

// keyedMutex is a mutex per key. The zero value is ready to use.
type keyedMutex struct {
	mu    sync.Mutex
	locks map[string]*sync.Mutex
}

func (k *keyedMutex) lock(key string) (unlock func()) {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = map[string]*sync.Mutex{}
	}
	m, ok := k.locks[key]
	if !ok {
		m = &sync.Mutex{}
		k.locks[key] = m
	}
	k.mu.Unlock()
	m.Lock()
	return m.Unlock
}

func (s *Server) cleanup(run int64) {
	if !s.cfg.KeepWorkspaces {
		os.RemoveAll(s.workspace(run))
	}
	os.RemoveAll(s.tempDir(run))
}

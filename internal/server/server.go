// Package server owns ferry's control plane: the HTTP API with token auth, webhooks and the pollers. It wires
// store, source, engine, artifact and the run lifecycle (internal/runs) together; nothing below it imports it.
package server

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"github.com/ferry-cd/ferry/internal/analysis"
	"github.com/ferry-cd/ferry/internal/artifact"
	"github.com/ferry-cd/ferry/internal/engine"
	"github.com/ferry-cd/ferry/internal/flagruntime"
	"github.com/ferry-cd/ferry/internal/notify"
	"github.com/ferry-cd/ferry/internal/rollout"
	"github.com/ferry-cd/ferry/internal/runs"
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
	// RunLogLimit bounds the step output kept in one run's log, in bytes; runs.DefaultLogLimit when zero.
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
	artifacts *artifact.Store
	sealer    *secret.Sealer
	log       *slog.Logger

	// runs queues, executes and recovers runs, and moves project heads.
	runs *runs.Manager

	mu      sync.Mutex
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

	ctx    context.Context
	cancel context.CancelFunc
	// streams is canceled when the HTTP server shuts down, ending streaming answers.
	streams     context.Context
	stopStreams context.CancelFunc
	wg          sync.WaitGroup
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
		cfg: cfg, store: cfg.Store, artifacts: arts, sealer: sl, log: cfg.Logger,
		polling: map[string]bool{}, ctx: ctx, cancel: cancel, checkClient: guard.Client(),
	}
	s.runs = runs.New(runs.Config{
		DataDir: cfg.DataDir, Store: cfg.Store, Engine: eng, Artifacts: arts, Logger: cfg.Logger,
		KeepWorkspaces: cfg.KeepWorkspaces, LogLimit: cfg.RunLogLimit,
		Credentials: s.repoCredentials, Secrets: s.stepSecrets, Events: runEvents{s},
	})
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
		OnSwitch: s.flagRuntime.Invalidate, IsAncestor: s.runs.IsAncestor,
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
	if err := s.runs.Recover(s.ctx); err != nil {
		return fmt.Errorf("recover runs: %w", err)
	}
	s.wg.Add(6)
	go func() { defer s.wg.Done(); s.notifier.Run(s.ctx) }()
	go func() { defer s.wg.Done(); s.statusLoop() }()
	go func() { defer s.wg.Done(); s.runs.Run(s.ctx) }()
	go func() { defer s.wg.Done(); s.pollLoop() }()
	go func() { defer s.wg.Done(); s.rollouts.Run(s.ctx) }()
	go func() { defer s.wg.Done(); s.flagRuntime.Run(s.ctx) }()
	return nil
}

// Close cancels every active run, waits for them to record their end, and stops the loops. It does not close
// the store.
func (s *Server) Close() {
	s.cancel()
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

func (s *Server) mirror(p *store.Project) *source.Mirror { return s.runs.Mirror(s.ctx, p) }

// lockMirror serialises git operations on one project's mirror.
func (s *Server) lockMirror(project string) func() { return s.runs.LockMirror(project) }

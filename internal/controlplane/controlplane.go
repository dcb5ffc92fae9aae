// Package controlplane assembles ferry's control plane: it builds the collaborators (the run lifecycle, the
// rollout controller, the flag runtime, notifications, forge commit statuses, analysis, the target releases
// run on (the local one, over the data plane), the pollers) on one data folder, wires the callbacks between them, and hands them to the HTTP
// server (internal/server). Open is that wiring, top to bottom; Start and Close own every loop.
//
// It is the one place that knows every part, and the one that picks a deploy.Target implementation: cli's serve
// and demo commands import it, nothing below it does. It must not import cli or ui.
package controlplane

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
	"github.com/ferry-cd/ferry/internal/deploy"
	"github.com/ferry-cd/ferry/internal/deploy/kubernetes"
	"github.com/ferry-cd/ferry/internal/deploy/local"
	"github.com/ferry-cd/ferry/internal/engine"
	"github.com/ferry-cd/ferry/internal/flagruntime"
	"github.com/ferry-cd/ferry/internal/notify"
	"github.com/ferry-cd/ferry/internal/retention"
	"github.com/ferry-cd/ferry/internal/rollout"
	"github.com/ferry-cd/ferry/internal/runs"
	"github.com/ferry-cd/ferry/internal/sandbox"
	"github.com/ferry-cd/ferry/internal/secret"
	"github.com/ferry-cd/ferry/internal/server"
	"github.com/ferry-cd/ferry/internal/store"
)

// Config is what a control plane needs to start.
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
	// ReadTimeout and IdleTimeout: see server.Config.
	ReadTimeout time.Duration
	IdleTimeout time.Duration
	// AllowCheckHosts are the hosts (names, IP addresses or CIDR prefixes) that a pipeline's http and
	// prometheus checks may reach besides the loopback addresses; see analysis.HostGuard.
	AllowCheckHosts []string
	// KeepReleases is how many releases are kept beyond each environment's live and previous one: the newest
	// of each project and of each environment; older ones lose their unpacked folder, blobs and instance
	// logs (internal/retention). Zero: retention.DefaultKeep; negative: keep everything.
	KeepReleases int
	// Kubernetes, when set, runs the environments whose target is kubernetes on the clusters of its
	// kubeconfig (or, with no kubeconfig, the cluster ferry runs in). Without it their rollouts fail with
	// deploy.NoKubeconfig.
	Kubernetes *kubernetes.Config
}

// ControlPlane is ferry's control plane on one data folder. Create it with Open, then Start it and serve
// Handler (or Serve).
type ControlPlane struct {
	cfg   Config
	store store.Store
	log   *slog.Logger

	http      *server.Server
	runs      *runs.Manager
	rollouts  *rollout.Controller
	flags     *flagruntime.Runtime
	notifier  *notify.Sender
	statuses  *forgeStatuses
	poller    *poller
	dataplane *lazyDataPlane
	target    *deploy.Mux
	local     *local.Target // also read by retention: its release folders and blobs
	kube      *kubernetes.Target
	analysis  *analyzers
	guard     *analysis.HostGuard // what checks may reach; Serve denies them its own address
	counters  *counters
	retainer  *retainer

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Open builds the control plane on what cfg.DataDir holds, and wires its parts together. It starts nothing.
func Open(cfg Config) (*ControlPlane, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if err := secureDataDir(cfg.DataDir); err != nil {
		return nil, err
	}
	sealer, err := secret.LoadSealer(filepath.Join(cfg.DataDir, secret.KeyFile))
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
	cp := &ControlPlane{cfg: cfg, store: cfg.Store, log: cfg.Logger, ctx: ctx, cancel: cancel, guard: guard}
	secrets := projectSecrets{store: cfg.Store, sealer: sealer}
	// The local target: releases run as processes of the data plane, started the first time there is one.
	cp.dataplane = &lazyDataPlane{dataDir: cfg.DataDir, command: cfg.DataPlaneCommand, args: cfg.DataPlaneArgs, log: cfg.Logger}
	cp.local = &local.Target{DataPlane: cp.dataplane, Artifacts: arts, DataDir: cfg.DataDir}
	cp.target = &deploy.Mux{Local: cp.local}
	// The Kubernetes target: a release's manifests applied to a cluster, when ferry serve was given one.
	if cfg.Kubernetes != nil {
		kc := *cfg.Kubernetes
		if kc.Logger == nil {
			kc.Logger = cfg.Logger
		}
		cp.kube = kubernetes.New(kc)
		cp.target.Kubernetes = releaseContents{Target: cp.kube, store: cfg.Store, artifacts: arts}
	}
	cp.statuses = newForgeStatuses(cfg.Store, secrets, cfg.Logger)
	cp.notifier = &notify.Sender{Store: cfg.Store, Sinks: cfg.Notify, Secret: cfg.NotifySecret, Logger: cfg.Logger,
		ProjectSinks: cp.projectSinks}

	// Runs: a passed run deploys its release; each step of the way counts, notifies and reports to the forge.
	cp.runs = runs.New(runs.Config{
		DataDir: cfg.DataDir, Store: cfg.Store, Engine: eng, Artifacts: arts, Logger: cfg.Logger,
		KeepWorkspaces: cfg.KeepWorkspaces, LogLimit: cfg.RunLogLimit,
		Credentials: secrets.repoCredentials, Secrets: secrets.forSteps, Events: runEvents{cp},
		RenderManifests: kubernetes.Render, CheckEnvironments: cp.checkClaims,
	})
	cp.counters = newCounters(cp.runs, cfg.Store)
	cp.analysis = &analyzers{target: cp.target, store: cfg.Store, client: guard.Client(), counters: cp.counters, log: cfg.Logger,
		live: cp.dataplane.live}
	cp.poller = &poller{store: cfg.Store, runs: cp.runs, log: cfg.Logger}

	// Flag rollouts are judged by the environment's analysis; a reverted one is notified.
	cp.flags = &flagruntime.Runtime{Store: cfg.Store, Analyze: cp.analysis.flagRollout, OnReverted: cp.flagRolloutReverted,
		Logger: cfg.Logger}
	// Release rollouts: a succeeded one promotes to the next environments, an ended one counts and notifies, a
	// switched release invalidates the environment's live flags.
	cp.rollouts = &rollout.Controller{
		Store: cfg.Store, Target: cp.target, Logger: cfg.Logger,
		Analyze: cp.analysis.release, OnSucceeded: cp.promoteNext, HealthTimeout: cfg.HealthTimeout, OnEnded: cp.rolloutEnded,
		OnSwitch: cp.flags.Invalidate, IsAncestor: cp.runs.IsAncestor, Secrets: secrets.forService,
	}

	// Retention: what no kept release, rollout or run uses leaves the data folder after each run and rollout.
	keep := cfg.KeepReleases
	if keep == 0 {
		keep = retention.DefaultKeep
	}
	cp.retainer = newRetainer(cp, keep)

	cp.http = server.New(server.Config{
		Store: cfg.Store, Runs: cp.runs, Rollouts: cp.rollouts, Flags: cp.flags, Sealer: sealer, Artifacts: arts,
		Target: cp.target, Metrics: cp.counters.reg, Logger: cfg.Logger,
		ReadTimeout: cfg.ReadTimeout, IdleTimeout: cfg.IdleTimeout,
	})
	return cp, nil
}

// Start recovers runs interrupted by a previous server's death, then starts the scheduler, the pollers and
// the other loops.
func (cp *ControlPlane) Start() error {
	if err := cp.runs.Recover(cp.ctx); err != nil {
		return fmt.Errorf("recover runs: %w", err)
	}
	loops := []func(context.Context){cp.notifier.Run, cp.statuses.Run, cp.runs.Run, cp.poller.Run, cp.rollouts.Run, cp.flags.Run,
		cp.retainer.Run}
	cp.wg.Add(len(loops))
	for _, run := range loops {
		go func() { defer cp.wg.Done(); run(cp.ctx) }()
	}
	return nil
}

// Close cancels every active run, waits for them to record their end, and stops the loops. It does not close
// the store.
func (cp *ControlPlane) Close() {
	cp.cancel()
	cp.wg.Wait()
	if cp.kube != nil {
		cp.kube.Close()
	}
}

// Handler returns the HTTP API; see server.Server.Handler.
func (cp *ControlPlane) Handler() http.Handler { return cp.http.Handler() }

// Serve serves h (the API alone when nil) on l until ctx is done; see server.Server.Serve.
func (cp *ControlPlane) Serve(ctx context.Context, l net.Listener, h http.Handler) error {
	// No check of a pipeline may reach the API it serves (a url is written by a commit).
	if err := cp.guard.Deny(l.Addr().String()); err != nil {
		return err
	}
	return cp.http.Serve(ctx, l, h)
}

// EnsureAdminToken creates the first admin token when the store has none; see server.Server.EnsureAdminToken.
func (cp *ControlPlane) EnsureAdminToken(ctx context.Context) (string, error) {
	return cp.http.EnsureAdminToken(ctx)
}

// CreateToken makes a new admin API token and returns it.
func (cp *ControlPlane) CreateToken(ctx context.Context, name string) (string, error) {
	return cp.http.CreateToken(ctx, name)
}

// Package server is ferry's HTTP API: routing, token auth and audit, webhooks, and handlers that translate
// between HTTP and calls on the control plane's parts. It builds none of those parts: internal/controlplane
// builds and starts them (the run lifecycle, the rollout controller, the flag runtime, the data plane) and
// passes them in with Config. It must not import cli or ui; nothing but controlplane imports it.
package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ferry-cd/ferry/internal/artifact"
	"github.com/ferry-cd/ferry/internal/deploy"
	"github.com/ferry-cd/ferry/internal/flagruntime"
	"github.com/ferry-cd/ferry/internal/rollout"
	"github.com/ferry-cd/ferry/internal/runs"
	"github.com/ferry-cd/ferry/internal/secret"
	"github.com/ferry-cd/ferry/internal/store"
)

// Config is what the API serves with: the parts its handlers call, built and started by the caller, and the
// HTTP server's timeouts.
type Config struct {
	Store store.Store
	// Runs queues, cancels and deletes runs, streams their logs and takes webhooks' heads.
	Runs *runs.Manager
	// Rollouts takes the human actions on rollouts: promote, pause, resume, abort, rollback.
	Rollouts *rollout.Controller
	// Flags serves live flags over OFREP and keeps overrides.
	Flags *flagruntime.Runtime
	// Sealer seals the secrets the API sets.
	Sealer    *secret.Sealer
	Artifacts *artifact.Store
	// Target is where releases run, read for a project's status and for /metrics; nil when there is none.
	Target Target
	// Metrics is the registry /metrics serves; the server adds its count of webhook deliveries to it. Nil: a
	// registry of the server's own.
	Metrics *prometheus.Registry
	Logger  *slog.Logger
	// ReadTimeout bounds reading a whole request, body included, so a client sending slowly cannot hold a
	// connection; 30 s when zero. IdleTimeout bounds a keep-alive connection waiting for its next request;
	// 2 minutes when zero.
	ReadTimeout time.Duration
	IdleTimeout time.Duration
}

// Target is what the API reads of where releases run (a deploy.Target, never an implementation). Neither
// method starts anything: with nothing running, Status is empty and Metrics writes nothing.
// empty and Metrics writes nothing.
type Target interface {
	Status(ctx context.Context) (*deploy.Status, error)
	// Metrics writes the target's Prometheus exposition (the local data plane's proxies and instances).
	Metrics(ctx context.Context, w io.Writer) error
}

// Server is the HTTP API. Create it with New and serve Handler (or Serve).
type Server struct {
	cfg       Config
	store     store.Store
	log       *slog.Logger
	runs      *runs.Manager
	rollouts  *rollout.Controller
	flags     *flagruntime.Runtime
	sealer    *secret.Sealer
	artifacts *artifact.Store
	target    Target
	webhooks  *prometheus.CounterVec

	flagTokens flagTokens

	// streams is canceled when the HTTP server shuts down, ending streaming answers.
	streams     context.Context
	stopStreams context.CancelFunc
}

// New returns the API over cfg's parts. It starts nothing.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Metrics == nil {
		cfg.Metrics = prometheus.NewRegistry()
	}
	streams, stopStreams := context.WithCancel(context.Background())
	return &Server{
		cfg: cfg, store: cfg.Store, log: cfg.Logger, runs: cfg.Runs, rollouts: cfg.Rollouts, flags: cfg.Flags,
		sealer: cfg.Sealer, artifacts: cfg.Artifacts, target: cfg.Target, webhooks: newWebhookCounter(cfg.Metrics),
		streams: streams, stopStreams: stopStreams,
	}
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

// Package flagruntime serves each environment's live feature flags: the flags of its live release, with the
// store's overrides and flag rollouts on top, kept in a cache that a change invalidates at once. It owns the
// overrides (set, clear, cleared once Git agrees) and the loop that drives flag rollouts (a flag's variant
// given to a growing share of users while the environment's analysis passes, reverted when it fails).
//
// "Flag rollout" always names that kind; a release rollout (internal/rollout) moves an environment from one
// release to another and is another thing. This package must not import server, cli, ui, the release rollout
// controller (internal/rollout) or a target: the server passes in the store, the analysis and the notifier.
package flagruntime

import (
	"context"
	"log/slog"
	"time"

	"github.com/ferry-cd/ferry/internal/analysis"
	"github.com/ferry-cd/ferry/internal/pipeline"
	"github.com/ferry-cd/ferry/internal/store"
)

// An AnalysisRequest asks for one analysis of the environment a flag rollout runs in: its checks over the
// last Span, with the live release serving everyone (the stable role), and its variant checks (prometheus
// queries templated with {{ .Variant }}) run for Subject, the flag's variant against its control.
type AnalysisRequest struct {
	Key     store.EnvKey // the environment
	Release int64
	// Listen is the environment's service address, where synthetic checks send their requests.
	Listen   string
	Analysis pipeline.Analysis
	Span     time.Duration
	Subject  VariantSubject
}

// VariantSubject is what a flag rollout's variant checks compare: the variant rolled out against the
// control, the flag's default variant, which everyone the rollout has not reached is served.
type VariantSubject = pipeline.VariantValues

// AnalyzeFunc judges an AnalysisRequest: a verdict and a one-line summary of why.
type AnalyzeFunc func(ctx context.Context, req AnalysisRequest) (analysis.Verdict, string)

// Runtime serves live flags and drives flag rollouts. Set its fields, then call its methods; Run drives the
// flag rollouts until its context ends. The zero value of the unexported state is ready; the methods are safe
// for concurrent use.
type Runtime struct {
	Store store.Store
	// Analyze judges a flag rollout's step in an environment that declares checks. Nil: no analysis ever
	// comes, so flag rollouts in such environments hold their step.
	Analyze AnalyzeFunc
	// OnReverted is called after a flag rollout was reverted because an analysis failed, with a context that
	// is not canceled with the loop's (the server notifies flag.reverted). Nil: nothing is called.
	OnReverted func(ctx context.Context, r *store.FlagRollout)
	Logger     *slog.Logger
	// Tick is how often flag rollouts are looked at; 250 ms when zero.
	Tick time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time

	cache cache
}

// defaultTick is how often flag rollouts are looked at when Tick is zero.
const defaultTick = 250 * time.Millisecond

func (r *Runtime) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Runtime) since(t time.Time) time.Duration { return r.now().Sub(t) }

func (r *Runtime) log() *slog.Logger {
	if r.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return r.Logger
}

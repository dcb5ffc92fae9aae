package server

import (
	"context"
	"fmt"
	"strconv"

	"github.com/ferry-cd/ferry/internal/analysis"
	"github.com/ferry-cd/ferry/internal/flagruntime"
	"github.com/ferry-cd/ferry/internal/notify"
	"github.com/ferry-cd/ferry/internal/proxy"
	"github.com/ferry-cd/ferry/internal/rollout"
	"github.com/ferry-cd/ferry/internal/store"
)

// The server's side of flag rollouts: internal/flagruntime drives them; the server gives them its analysis
// and notifies when one is reverted.

// analyzeFlagRollout judges a flag rollout's step with the environment's checks. The live release serves
// everyone, so it is measured as stable; analyze gives flag rollouts an analyzer of their own, apart from a
// bake's of the same release.
func (s *Server) analyzeFlagRollout(ctx context.Context, req flagruntime.AnalysisRequest) (analysis.Verdict, string) {
	t := rollout.Target{Key: req.Key, Listen: req.Listen,
		New: strconv.FormatInt(req.Release, 10)}
	ev := s.analyze(ctx, req.Analysis, t, req.Span, proxy.Stable)
	return ev.Verdict, ev.Summary
}

// flagRolloutReverted notifies flag.reverted.
func (s *Server) flagRolloutReverted(ctx context.Context, r *store.FlagRollout) {
	s.notifier.Notify(ctx, notify.Event{Event: "flag.reverted", Project: r.Project,
		Text:    fmt.Sprintf("%s: flag %s back to its previous split: %s", r.Env, r.Flag, r.Reason),
		Details: map[string]any{"env": r.Env, "flag": r.Flag, "rollout": r.ID, "reason": r.Reason}})
}

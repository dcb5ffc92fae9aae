package server

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"time"

	"github.com/ferry-cd/ferry/internal/analysis"
	"github.com/ferry-cd/ferry/internal/pipeline"
	"github.com/ferry-cd/ferry/internal/proxy"
	"github.com/ferry-cd/ferry/internal/rollout"
	"github.com/ferry-cd/ferry/internal/store"
)

// analyzers keeps one analysis.Analyzer per rollout target, so http checks keep their own pace.
type analyzers struct {
	mu sync.Mutex
	m  map[analyzerKey]*analysis.Analyzer
}

// analyzerKey names an analyzer: the environment, the release analysed and its role. A flag rollout's
// analysis runs in its own loop, beside a bake's of the same release, so it has an analyzer of its own.
type analyzerKey struct {
	env         store.EnvKey
	release     string
	role        proxy.Role
	flagRollout bool
}

// analyze evaluates an environment's checks for the rollout controller: figures from the data plane's proxy,
// synthetic requests through the environment's address, and Prometheus queries.
func (s *Server) analyze(ctx context.Context, spec pipeline.Analysis, t rollout.Target, span time.Duration, newRole proxy.Role) rollout.Evaluation {
	client, err := s.dataplane.get(ctx, false)
	if err != nil || client == nil {
		return rollout.Evaluation{Verdict: analysis.Inconclusive, Summary: "the data plane is not running"}
	}
	key := analyzerKey{env: t.Key, release: t.New, role: newRole, flagRollout: t.Rollout == 0}
	s.analysis.mu.Lock()
	if s.analysis.m == nil {
		s.analysis.m = map[analyzerKey]*analysis.Analyzer{}
	}
	a, ok := s.analysis.m[key]
	if !ok {
		a = &analysis.Analyzer{Checks: spec.Checks, MinRequests: spec.MinRequests,
			Prober: &analysis.Prober{Addr: t.Listen, Client: s.checkClient}, Prometheus: &analysis.Prometheus{Client: s.checkClient}}
		s.analysis.m[key] = a
	}
	s.analysis.mu.Unlock()

	figures := analysis.DataPlane{Source: client, Env: t.Key.String()}
	var baseline proxy.Role
	if newRole == proxy.Canary {
		figures.Stable, figures.Canary, baseline = t.Old, t.New, proxy.Stable
	} else {
		figures.Stable = t.New
	}
	a.Figures = figures
	ev := a.Evaluate(ctx, span, newRole, baseline)
	s.counters.evaluations.WithLabelValues(t.Key.Project, t.Key.Env, string(ev.Verdict)).Inc()
	if t.Rollout != 0 { // a flag rollout's analysis has no rollout to chart
		s.sample(ctx, client, t, span, newRole)
	}
	data, _ := json.Marshal(ev)
	summary := strings.TrimPrefix(ev.Summary(), string(ev.Verdict)+": ")
	return rollout.Evaluation{Verdict: ev.Verdict, Summary: summary, JSON: data}
}

// sample records what the proxy measured of the rollout's releases over span, for the dashboard's charts of
// canary against stable. It is best effort: a failure costs a point on a chart, never the analysis.
func (s *Server) sample(ctx context.Context, client analysis.StatsSource, t rollout.Target, span time.Duration, newRole proxy.Role) {
	type measured struct {
		role    proxy.Role
		release string
	}
	roles := []measured{{newRole, t.New}}
	if newRole == proxy.Canary && t.Old != "" {
		roles = append(roles, measured{proxy.Stable, t.Old})
	}
	now := time.Now()
	var samples []store.RolloutSample
	for _, r := range roles {
		sum, err := client.Stats(ctx, t.Key.String(), r.release, span)
		if err != nil {
			continue
		}
		samples = append(samples, store.RolloutSample{Time: now, Role: string(r.role), Requests: sum.Requests,
			Errors: sum.Errors, P99: sum.P99, Span: sum.Span})
	}
	if len(samples) == 0 {
		return
	}
	if err := s.store.AddRolloutSamples(ctx, t.Rollout, samples); err != nil {
		s.log.Warn("record analysis samples", "project", t.Key.Project, "env", t.Key.Env, "rollout", t.Rollout, "err", err)
	}
}

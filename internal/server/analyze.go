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
)

// analyzers keeps one analysis.Analyzer per rollout target, so http checks keep their own pace.
type analyzers struct {
	mu sync.Mutex
	m  map[string]*analysis.Analyzer
}

// analyze evaluates an environment's checks for the rollout controller: figures from the data plane's proxy,
// synthetic requests through the environment's address, and Prometheus queries.
func (s *Server) analyze(ctx context.Context, spec pipeline.Analysis, t rollout.Target, span time.Duration, newRole proxy.Role) rollout.Evaluation {
	client, err := s.dataplane.get(ctx, false)
	if err != nil || client == nil {
		return rollout.Evaluation{Verdict: string(analysis.Inconclusive), Summary: "the data plane is not running"}
	}
	key := t.Key + "@" + t.New + "/" + string(newRole)
	s.analysis.mu.Lock()
	if s.analysis.m == nil {
		s.analysis.m = map[string]*analysis.Analyzer{}
	}
	a, ok := s.analysis.m[key]
	if !ok {
		a = &analysis.Analyzer{Checks: spec.Checks, MinRequests: spec.MinRequests, Prober: &analysis.Prober{Addr: t.Listen}}
		s.analysis.m[key] = a
	}
	s.analysis.mu.Unlock()

	figures := analysis.DataPlane{Source: client, Env: t.Key}
	var baseline proxy.Role
	if newRole == proxy.Canary {
		figures.Stable, figures.Canary, baseline = t.Old, t.New, proxy.Stable
	} else {
		figures.Stable = t.New
	}
	a.Figures = figures
	ev := a.Evaluate(ctx, span, newRole, baseline)
	s.counters.evaluations.WithLabelValues(t.Project, t.Env, string(ev.Verdict)).Inc()
	data, _ := json.Marshal(ev)
	summary := strings.TrimPrefix(ev.Summary(), string(ev.Verdict)+": ")
	return rollout.Evaluation{Verdict: string(ev.Verdict), Summary: summary, JSON: data}
}

package controlplane

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ferry-cd/ferry/internal/analysis"
	"github.com/ferry-cd/ferry/internal/dataplane"
	"github.com/ferry-cd/ferry/internal/deploy"
	"github.com/ferry-cd/ferry/internal/flagruntime"
	"github.com/ferry-cd/ferry/internal/pipeline"
	"github.com/ferry-cd/ferry/internal/proxy"
	"github.com/ferry-cd/ferry/internal/rollout"
	"github.com/ferry-cd/ferry/internal/store"
)

// analyzers evaluate an environment's checks for release rollouts (the rollout controller) and flag
// rollouts (the flag runtime): figures from the target (the local data plane's proxy), synthetic requests
// through the environment's address, and Prometheus queries. They keep one analysis.Analyzer per subject, so http checks
// keep their own pace.
type analyzers struct {
	target   deploy.Target
	store    store.Store
	client   *http.Client // the guarded client of http and prometheus checks
	counters *counters
	log      *slog.Logger
	// live is the data plane's desired state (nil when none runs): how an environment's address is reached.
	live func(ctx context.Context) (*dataplane.Desired, error)

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
	flag        string // a flag rollout's flag: its variant checks are its own
}

// release is the rollout controller's AnalyzeFunc.
func (a *analyzers) release(ctx context.Context, spec pipeline.Analysis, t rollout.AnalysisSubject, span time.Duration, newRole proxy.Role) rollout.Evaluation {
	return a.evaluate(ctx, spec, t, span, newRole, nil)
}

// evaluate is one analysis of t; variant is the flag rollout judged, nil for a release's.
func (a *analyzers) evaluate(ctx context.Context, spec pipeline.Analysis, t rollout.AnalysisSubject, span time.Duration, newRole proxy.Role,
	variant *pipeline.VariantValues) rollout.Evaluation {
	client := targetFigures{a.target}
	key := analyzerKey{env: t.Key, release: t.New, role: newRole, flagRollout: t.Rollout == 0}
	if variant != nil {
		key.flag = variant.Flag
	}
	a.mu.Lock()
	if a.m == nil {
		a.m = map[analyzerKey]*analysis.Analyzer{}
	}
	an, ok := a.m[key]
	if !ok {
		an = &analysis.Analyzer{Checks: a.kubernetesChecks(ctx, spec, t), MinRequests: spec.MinRequests,
			Prober: a.prober(ctx, t), Prometheus: &analysis.Prometheus{Client: a.client}, Variant: variant}
		a.m[key] = an
		// The environment's analyzers of releases no longer analysed go: without this the map (and each
		// analyzer's probes) grows with every release ever deployed.
		for k := range a.m {
			if k.env == t.Key && k.release != t.New && k.release != t.Old {
				delete(a.m, k)
			}
		}
	}
	a.mu.Unlock()

	figures := analysis.DataPlane{Source: client, Env: t.Key.String()}
	var baseline proxy.Role
	if newRole == proxy.Canary {
		figures.Stable, figures.Canary, baseline = t.Old, t.New, proxy.Stable
	} else {
		figures.Stable = t.New
	}
	an.Figures = figures
	ev := an.Evaluate(ctx, span, newRole, baseline)
	a.counters.evaluations.WithLabelValues(t.Key.Project, t.Key.Env, string(ev.Verdict)).Inc()
	if t.Rollout != 0 { // a flag rollout's analysis has no rollout to chart
		a.sample(ctx, client, t, span, newRole)
	}
	data, _ := json.Marshal(ev)
	summary := strings.TrimPrefix(ev.Summary(), string(ev.Verdict)+": ")
	return rollout.Evaluation{Verdict: ev.Verdict, Summary: summary, JSON: data}
}

// flagRollout judges a flag rollout's step with the environment's checks, for the flag runtime. The live
// release serves everyone, so it is measured as stable; its variant checks compare the flag's variant with
// its control. Each flag rollout has an analyzer of its own, apart from a bake's of the same release.
func (a *analyzers) flagRollout(ctx context.Context, req flagruntime.AnalysisRequest) (analysis.Verdict, string) {
	t := rollout.AnalysisSubject{Key: req.Key, Listen: req.Listen, New: strconv.FormatInt(req.Release, 10)}
	subject := req.Subject
	ev := a.evaluate(ctx, req.Analysis, t, req.Span, proxy.Stable, &subject)
	return ev.Verdict, ev.Summary
}

// targetFigures gives the analysis the figures a target measured, as analysis.StatsSource.
type targetFigures struct{ t deploy.Target }

func (f targetFigures) Stats(ctx context.Context, env, release string, span time.Duration) (*proxy.Summary, error) {
	key, err := store.ParseEnvKey(env)
	if err != nil {
		return nil, err
	}
	fig, err := f.t.Figures(ctx, key, release, span)
	if err != nil {
		return nil, err
	}
	return &proxy.Summary{Requests: fig.Requests, Errors: fig.Errors, P50: fig.P50, P90: fig.P90, P95: fig.P95, P99: fig.P99,
		Span: fig.Span}, nil
}

// sample records what the proxy measured of the rollout's releases over span, for the dashboard's charts of
// canary against stable. It is best effort: a failure costs a point on a chart, never the analysis.
func (a *analyzers) sample(ctx context.Context, client analysis.StatsSource, t rollout.AnalysisSubject, span time.Duration, newRole proxy.Role) {
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
	if err := a.store.AddRolloutSamples(ctx, t.Rollout, samples); err != nil {
		a.log.Warn("record analysis samples", "project", t.Key.Project, "env", t.Key.Env, "rollout", t.Rollout, "err", err)
	}
}

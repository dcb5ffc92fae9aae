package controlplane

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/ferry-cd/ferry/internal/pipeline"
	"github.com/ferry-cd/ferry/internal/rollout"
)

// kubernetesChecks returns checks with the Prometheus queries of a kubernetes environment rendered for the
// subject (pipeline.QueryVars: the new and stable release, namespace, workload, interval). The local target's
// queries, and anything that cannot be read, are returned as written: the check then says what failed.
func (a *analyzers) kubernetesChecks(ctx context.Context, spec pipeline.Analysis, t rollout.AnalysisSubject) []pipeline.Check {
	id, err := strconv.ParseInt(t.New, 10, 64)
	if err != nil {
		return spec.Checks
	}
	rel, err := a.store.GetRelease(ctx, id)
	if err != nil {
		return spec.Checks
	}
	pl, err := pipeline.Parse(pipeline.FileName, []byte(rel.Pipeline))
	if err != nil {
		return spec.Checks
	}
	env := pl.Environment(t.Key.Env)
	if env == nil || env.Kubernetes == nil {
		return spec.Checks
	}
	vars := pipeline.QueryVars{Project: t.Key.Project, Environment: t.Key.Env, Namespace: env.Kubernetes.Namespace,
		Workload: env.Kubernetes.Workload.Name, Version: t.New, StableVersion: t.Old, Interval: promDuration(spec.Interval)}
	out := make([]pipeline.Check, len(spec.Checks))
	for i, c := range spec.Checks {
		out[i] = c
		if c.Prometheus == nil {
			continue
		}
		q, err := c.Prometheus.Render(vars)
		if err != nil {
			a.log.Warn("render prometheus query", "env", t.Key.String(), "err", err)
			continue
		}
		p := *c.Prometheus
		p.Query = q
		out[i].Prometheus = &p
	}
	return out
}

// promDuration writes d as PromQL does: whole seconds as "10s", else milliseconds.
func promDuration(d time.Duration) string {
	if d%time.Second == 0 {
		return fmt.Sprintf("%ds", d/time.Second)
	}
	return fmt.Sprintf("%dms", d/time.Millisecond)
}

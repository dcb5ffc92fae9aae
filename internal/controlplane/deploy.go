package controlplane

import (
	"context"

	"github.com/ferry-cd/ferry/internal/pipeline"
	"github.com/ferry-cd/ferry/internal/store"
)

// deployRelease queues a passed run's release to the environments that come first in its pipeline.
func (cp *ControlPlane) deployRelease(ctx context.Context, pl *pipeline.Pipeline, rel *store.Release) {
	for _, env := range pl.Roots() {
		if _, err := cp.rollouts.Enqueue(ctx, rel.Project, env.Name, rel.ID); err != nil {
			cp.log.Error("queue rollout", "project", rel.Project, "env", env.Name, "release", rel.Version, "release_id", rel.ID, "err", err)
		}
	}
}

// releaseVersion is release id's version within its project, the number users see; 0 when it cannot be read.
func (cp *ControlPlane) releaseVersion(ctx context.Context, id int64) int64 {
	rel, err := cp.store.GetRelease(ctx, id)
	if err != nil {
		return 0
	}
	return rel.Version
}

// promoteNext queues a release that succeeded in one environment to the environments that come after it.
func (cp *ControlPlane) promoteNext(ctx context.Context, r *store.Rollout) {
	if r.Strategy == store.StrategyRollback {
		return // a rollback is no release to promote
	}
	rel, err := cp.store.GetRelease(ctx, r.ReleaseID)
	if err != nil {
		return
	}
	pl, err := pipeline.Parse(pipeline.FileName, []byte(rel.Pipeline))
	if err != nil {
		return
	}
	for _, next := range pl.Next(r.Env) {
		if _, err := cp.rollouts.Enqueue(ctx, r.Project, next.Name, r.ReleaseID); err != nil {
			cp.log.Error("queue rollout", "project", r.Project, "env", next.Name, "release", rel.Version, "release_id", r.ReleaseID, "err", err)
		}
	}
}

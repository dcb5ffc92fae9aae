package rollout

import (
	"context"
	"errors"
	"fmt"

	"github.com/ferry-cd/ferry/internal/store"
)

// outdated returns why rollout r must not deploy, or "" when it may: its release's commit is an ancestor of,
// or the same as, the commit of a release the environment has live, in flight or queued. Deliveries, pollers
// and runs can finish in any order; this check at deploy time is what keeps an environment from ever going
// back to older code by itself. Rollbacks are exempt: going back is what a human asked for.
func (c *Controller) outdated(ctx context.Context, r *store.Rollout) (string, error) {
	if r.Strategy == store.StrategyRollback {
		return "", nil
	}
	rel, err := c.Store.GetRelease(ctx, r.ReleaseID)
	if err != nil {
		return "", err
	}
	type held struct {
		release int64
		where   string
	}
	var others []held
	e, err := c.Store.GetEnvironment(ctx, r.Project, r.Env)
	switch {
	case err == nil && e.LiveReleaseID != 0:
		others = append(others, held{e.LiveReleaseID, "live"})
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return "", err
	}
	active, err := c.Store.RolloutsInState(ctx, store.RolloutPending, store.RolloutProgressing, store.RolloutPaused)
	if err != nil {
		return "", err
	}
	for _, a := range active {
		if a.ID == r.ID || a.Project != r.Project || a.Env != r.Env {
			continue
		}
		where := "in flight"
		if a.State == store.RolloutPending {
			where = "queued"
		}
		others = append(others, held{a.ReleaseID, where})
	}
	for _, o := range others {
		if o.release == r.ReleaseID {
			return fmt.Sprintf("%s is already %s in %s; not deployed again", nameOf(rel), o.where, r.Env), nil
		}
		orel, err := c.Store.GetRelease(ctx, o.release)
		if errors.Is(err, store.ErrNotFound) {
			continue
		} else if err != nil {
			return "", err
		}
		if orel.Commit == rel.Commit || c.IsAncestor != nil && c.IsAncestor(ctx, r.Project, rel.Commit, orel.Commit) {
			return fmt.Sprintf("%s (commit %s) is not newer than commit %s of %s, %s in %s; not deployed (use rollback to go back)",
				nameOf(rel), rel.Commit, orel.Commit, nameOf(orel), o.where, r.Env), nil
		}
	}
	return "", nil
}

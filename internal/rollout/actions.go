package rollout

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ferry-cd/ferry/internal/store"
)

// ErrNoRollout is returned by the actions that need a rollout in flight.
var ErrNoRollout = errors.New("no rollout in flight")

// Enqueue queues a rollout of a release to an environment. A rollout still pending for the environment is
// superseded: only the newest release deploys, and deploys never run out of order. A release whose commit is
// not newer than one the environment has live, in flight or queued is recorded superseded at once, with the
// newer commit in its reason.
func (c *Controller) Enqueue(ctx context.Context, project, env string, releaseID int64) (*store.Rollout, error) {
	return c.enqueue(ctx, project, env, releaseID, "")
}

// enqueue queues a rollout with strategy, or ("") with the strategy of the environment in the release's pipeline.
func (c *Controller) enqueue(ctx context.Context, project, env string, releaseID int64, strategy store.RolloutStrategy) (*store.Rollout, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.init()
	spec, err := c.envSpec(ctx, &store.Rollout{ReleaseID: releaseID, Env: env})
	if err != nil {
		return nil, err
	}
	pending, err := c.Store.RolloutsInState(ctx, store.RolloutPending)
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	if strategy == "" {
		strategy = recordedStrategy(spec.Strategy.Kind)
	}
	r := &store.Rollout{Project: project, Env: env, ReleaseID: releaseID, Strategy: strategy,
		State: store.RolloutPending, Steps: len(spec.Strategy.Steps), Reason: c.name(ctx, releaseID) + " queued",
		CreatedAt: now, UpdatedAt: now}
	if err := c.Store.CreateRollout(ctx, r); err != nil {
		return nil, err
	}
	if why, err := c.outdated(ctx, r); err != nil {
		return nil, err
	} else if why != "" {
		// Recorded, so the release's history says why it never deployed here.
		if err := c.record(ctx, r, store.RolloutSuperseded, why); err != nil {
			return nil, err
		}
		return r, nil
	}
	for _, p := range pending {
		if p.Project == project && p.Env == env && p.ID < r.ID {
			if err := c.record(ctx, p, store.RolloutSuperseded, fmt.Sprintf("superseded by %s (rollout %d)", c.name(ctx, releaseID), r.ID)); err != nil {
				return nil, err
			}
		}
	}
	c.log().Info("rollout queued", "project", project, "env", env, "release", c.version(ctx, releaseID), "release_id", releaseID, "rollout", r.ID)
	c.Wake()
	return r, nil
}

// inFlight returns the environment's progressing or paused rollout.
func (c *Controller) inFlight(ctx context.Context, project, env string) (*store.Rollout, error) {
	rs, err := c.Store.RolloutsInState(ctx, store.RolloutProgressing, store.RolloutPaused)
	if err != nil {
		return nil, err
	}
	for _, r := range rs {
		if r.Project == project && r.Env == env {
			return r, nil
		}
	}
	return nil, ErrNoRollout
}

// act runs f on the environment's rollout in flight, under the controller's lock.
func (c *Controller) act(ctx context.Context, project, env string, f func(*store.Rollout) error) (*store.Rollout, error) {
	c.mu.Lock()
	defer c.unlock()
	c.init()
	r, err := c.inFlight(ctx, project, env)
	if err != nil {
		return nil, err
	}
	if err := f(r); err != nil {
		return nil, err
	}
	if err := c.apply(ctx); err != nil {
		return r, err
	}
	return r, nil
}

// Promote skips the remaining pauses and puts all traffic on the new release (then bakes, if asked to).
func (c *Controller) Promote(ctx context.Context, project, env, who string) (*store.Rollout, error) {
	return c.act(ctx, project, env, func(r *store.Rollout) error {
		spec, err := c.envSpec(ctx, r)
		if err != nil {
			return err
		}
		if r.Step == 0 {
			return errors.New("the new release is not healthy yet; promote once it is")
		}
		if r.Baking {
			return c.succeed(ctx, r, "bake ended early by "+who)
		}
		return c.switchAll(ctx, r, spec, "promoted by "+who) // promoting also resumes a paused rollout
	})
}

// Pause holds the rollout at its step; analysis goes on and a breach still rolls back.
func (c *Controller) Pause(ctx context.Context, project, env, who string) (*store.Rollout, error) {
	return c.act(ctx, project, env, func(r *store.Rollout) error {
		return c.record(ctx, r, store.RolloutPaused, "paused by "+who)
	})
}

// Resume lets a paused rollout go on.
func (c *Controller) Resume(ctx context.Context, project, env, who string) (*store.Rollout, error) {
	return c.act(ctx, project, env, func(r *store.Rollout) error {
		if r.State != store.RolloutPaused {
			return errors.New("the rollout is not paused")
		}
		return c.record(ctx, r, store.RolloutProgressing, "resumed by "+who)
	})
}

// Abort ends the rollout with all traffic back on the release that was live before it.
func (c *Controller) Abort(ctx context.Context, project, env, who string) (*store.Rollout, error) {
	return c.act(ctx, project, env, func(r *store.Rollout) error {
		return c.rollback(ctx, r, store.RolloutAborted, "aborted by "+who)
	})
}

// Rollback puts an environment back on a release: to (or, when 0, the previous live one). A rollout in
// flight is aborted first. The release is deployed directly; when it is still warm the switch is instant.
func (c *Controller) Rollback(ctx context.Context, project, env string, to int64, who string) (*store.Rollout, error) {
	c.mu.Lock()
	e, err := c.Store.GetEnvironment(ctx, project, env)
	if err != nil {
		c.mu.Unlock()
		if errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("nothing was deployed to %s yet", env)
		}
		return nil, err
	}
	if r, err := c.inFlight(ctx, project, env); err == nil {
		if to == 0 && r.FromReleaseID != 0 {
			to = r.FromReleaseID
		}
		if err := c.rollback(ctx, r, store.RolloutAborted, "rolled back by "+who); err != nil {
			c.mu.Unlock()
			return nil, err
		}
		if e, err = c.Store.GetEnvironment(ctx, project, env); err != nil {
			c.mu.Unlock()
			return nil, err
		}
	}
	if to == 0 {
		to = e.PreviousReleaseID
	}
	c.mu.Unlock()
	if to == 0 {
		return nil, fmt.Errorf("%s has no previous release to roll back to", env)
	}
	if to == e.LiveReleaseID {
		return nil, fmt.Errorf("%s is already live in %s", c.name(ctx, to), env)
	}
	rel, err := c.Store.GetRelease(ctx, to)
	if err != nil || rel.Project != project {
		return nil, fmt.Errorf("%s is not a release of %s", c.name(ctx, to), project)
	}
	r, err := c.enqueue(ctx, project, env, to, store.StrategyRollback)
	if err != nil {
		return nil, err
	}
	return r, nil
}

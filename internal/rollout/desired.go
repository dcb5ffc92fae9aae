package rollout

import (
	"context"
	"errors"
	"sort"
	"strconv"

	"github.com/ferry-cd/ferry/internal/dataplane"
	"github.com/ferry-cd/ferry/internal/pipeline"
	"github.com/ferry-cd/ferry/internal/store"
)

// desired derives what the data plane must run from the store alone: every environment's live release, the
// release of its rollout in flight, and during a bake the previous release, kept warm.
func (c *Controller) desired(ctx context.Context) (*dataplane.Desired, error) {
	projects, err := c.Store.ListProjects(ctx)
	if err != nil {
		return nil, err
	}
	active, err := c.Store.RolloutsInState(ctx, store.RolloutProgressing, store.RolloutPaused)
	if err != nil {
		return nil, err
	}
	rolling := map[store.EnvKey]*store.Rollout{}
	for _, r := range active {
		rolling[r.Key()] = r
	}
	d := &dataplane.Desired{Environments: []dataplane.Environment{}}
	for _, p := range projects {
		envs, err := c.Store.ListEnvironments(ctx, p.Name)
		if err != nil {
			return nil, err
		}
		names := map[string]*store.Environment{}
		for _, e := range envs {
			names[e.Name] = e
		}
		for _, r := range rolling {
			if r.Project == p.Name && names[r.Env] == nil {
				names[r.Env] = &store.Environment{Project: p.Name, Name: r.Env}
			}
		}
		for _, e := range names {
			de, ok, err := c.desiredEnv(ctx, e, rolling[e.Key()])
			if err != nil {
				// One environment's broken record must not hold the others back: it stays as last applied.
				c.warnOnce(e.Key(), err.Error())
				if prev, found := c.appliedEnvs[e.Key()]; found {
					d.Environments = append(d.Environments, prev)
				}
				continue
			}
			if ok {
				d.Environments = append(d.Environments, de)
			}
		}
	}
	sort.Slice(d.Environments, func(i, j int) bool { return d.Environments[i].Name < d.Environments[j].Name })
	return d, nil
}

func (c *Controller) desiredEnv(ctx context.Context, e *store.Environment, r *store.Rollout) (dataplane.Environment, bool, error) {
	de := dataplane.Environment{Name: e.Key().String()}
	var spec *pipeline.Environment
	add := func(id int64) error {
		if id == 0 {
			return nil
		}
		for _, rel := range de.Releases {
			if rel.ID == strconv.FormatInt(id, 10) {
				return nil
			}
		}
		pl, _, err := c.pipelineOf(ctx, id)
		if err != nil {
			return err
		}
		env := pl.Environment(e.Name)
		if env == nil {
			return nil
		}
		if err := c.unpack(ctx, e.Project, id); err != nil {
			return err
		}
		spec = env
		de.Releases = append(de.Releases, dataplane.Release{
			ID: strconv.FormatInt(id, 10), Dir: c.releaseDir(e.Project, id), Run: env.Service.Run, Env: env.Service.Env,
			Instances: env.Service.Instances,
			Health:    dataplane.Health{Path: env.Service.Health.Path, Interval: env.Service.Health.Interval, Timeout: env.Service.Health.Timeout},
		})
		return nil
	}
	live := e.LiveReleaseID
	if r != nil && r.Baking {
		live = r.ReleaseID
	}
	if err := add(live); err != nil && !errors.Is(err, store.ErrNotFound) {
		return de, false, err
	}
	if live != 0 && len(de.Releases) > 0 {
		de.Route.Stable = strconv.FormatInt(live, 10)
	}
	if r != nil {
		if r.Baking {
			// The previous release stays warm for an instant rollback.
			if err := add(r.FromReleaseID); err != nil {
				return de, false, err
			}
		} else {
			if err := add(r.ReleaseID); err != nil {
				return de, false, err
			}
			if r.Step > 0 && de.Route.Stable != "" && de.Route.Stable != strconv.FormatInt(r.ReleaseID, 10) {
				de.Route.Canary = strconv.FormatInt(r.ReleaseID, 10)
				de.Route.CanaryWeight = r.Weight
			}
		}
		// The newest release's pipeline says where the environment listens.
		if pl, _, err := c.pipelineOf(ctx, r.ReleaseID); err == nil {
			if env := pl.Environment(e.Name); env != nil {
				spec = env
			}
		}
	}
	if spec == nil || len(de.Releases) == 0 {
		return de, false, nil
	}
	de.Listen = spec.Service.Listen
	return de, true, nil
}

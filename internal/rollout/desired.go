package rollout

import (
	"context"
	"errors"
	"slices"
	"sort"

	"github.com/ferry-cd/ferry/internal/deploy"
	"github.com/ferry-cd/ferry/internal/pipeline"
	"github.com/ferry-cd/ferry/internal/store"
)

// desiredEnv is what one environment must run, derived from the store alone: the releases that run there and
// the traffic split between them.
type desiredEnv struct {
	key store.EnvKey
	// spec is the environment as its newest release declares it (where it listens); specOf is that release.
	spec     *pipeline.Environment
	specOf   int64
	releases []deploy.Release
	split    deploy.Split
}

// target is the environment as the target is told about it.
func (d desiredEnv) target() deploy.Environment { return deploy.Environment{Key: d.key, Spec: d.spec} }

// listen is the address the environment claims: no two environments may take traffic on one.
func (d desiredEnv) listen() string { return d.spec.Service.Listen }

// has reports whether the environment runs the release.
func (d desiredEnv) has(id string) bool {
	return slices.ContainsFunc(d.releases, func(r deploy.Release) bool { return r.ID == id })
}

// desired derives what the target must run from the store alone: every environment's live release, the
// release of its rollout in flight, and during a bake the previous release, kept warm.
func (c *Controller) desired(ctx context.Context) ([]desiredEnv, error) {
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
	out := []desiredEnv{}
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
					out = append(out, prev)
				}
				continue
			}
			if ok {
				out = append(out, de)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key.String() < out[j].key.String() })
	return out, nil
}

func (c *Controller) desiredEnv(ctx context.Context, e *store.Environment, r *store.Rollout) (desiredEnv, bool, error) {
	de := desiredEnv{key: e.Key()}
	add := func(id int64) error {
		if id == 0 || de.has(releaseName(id)) {
			return nil
		}
		pl, rel, err := c.pipelineOf(ctx, id)
		if err != nil {
			return err
		}
		env := pl.Environment(e.Name)
		if env == nil {
			return nil
		}
		de.spec, de.specOf = env, id
		de.releases = append(de.releases, deploy.Release{ID: releaseName(id), Version: rel.Version, Bundle: rel.Bundle, Commit: rel.Commit, Spec: env})
		return nil
	}
	live := e.LiveReleaseID
	if r != nil && r.Baking {
		live = r.ReleaseID
	}
	if err := add(live); err != nil && !errors.Is(err, store.ErrNotFound) {
		return de, false, err
	}
	if live != 0 && len(de.releases) > 0 {
		de.split.Stable = releaseName(live)
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
			if r.Step > 0 && de.split.Stable != "" && de.split.Stable != releaseName(r.ReleaseID) {
				de.split.Canary = releaseName(r.ReleaseID)
				de.split.CanaryWeight = r.Weight
			}
		}
		// The newest release's pipeline says where the environment listens.
		if pl, _, err := c.pipelineOf(ctx, r.ReleaseID); err == nil {
			if env := pl.Environment(e.Name); env != nil {
				de.spec, de.specOf = env, r.ReleaseID
			}
		}
	}
	if de.spec == nil || len(de.releases) == 0 {
		return de, false, nil
	}
	return de, true, nil
}

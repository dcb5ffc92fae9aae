package server

import (
	"context"
	"sync"

	"github.com/ferry-cd/ferry/internal/dataplane"
	"github.com/ferry-cd/ferry/internal/pipeline"
	"github.com/ferry-cd/ferry/internal/store"
)

// lazyDataPlane starts the data plane the first time there is something to run, so a server that only runs
// pipelines never starts one.
type lazyDataPlane struct {
	s      *Server
	mu     sync.Mutex
	client *dataplane.Client
}

func (l *lazyDataPlane) get(ctx context.Context, start bool) (*dataplane.Client, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.client != nil {
		return l.client, nil
	}
	if !start {
		// One that outlived a previous server is adopted as soon as it is seen.
		l.client = l.s.runningDataPlane(ctx)
		return l.client, nil
	}
	c, err := l.s.ensureDataPlane(ctx)
	if err != nil {
		return nil, err
	}
	l.client = c
	return c, nil
}

// State reports an empty state while no data plane runs; the controller's first Apply with an environment in
// it starts one. A data plane left running by a previous server is adopted at once.
func (l *lazyDataPlane) State(ctx context.Context) (*dataplane.State, error) {
	c, err := l.get(ctx, false)
	if err != nil || c == nil {
		return &dataplane.State{}, err
	}
	return c.State(ctx)
}

func (l *lazyDataPlane) Apply(ctx context.Context, d dataplane.Desired) (*dataplane.State, error) {
	c, err := l.get(ctx, len(d.Environments) > 0)
	if err != nil || c == nil {
		return &dataplane.State{}, err
	}
	return c.Apply(ctx, d)
}

// deployRelease queues a passed run's release to the environments that come first in its pipeline.
func (s *Server) deployRelease(ctx context.Context, pl *pipeline.Pipeline, rel *store.Release) {
	for _, env := range pl.Roots() {
		if _, err := s.rollouts.Enqueue(ctx, rel.Project, env.Name, rel.ID); err != nil {
			s.log.Error("queue rollout", "project", rel.Project, "env", env.Name, "release", rel.ID, "err", err)
		}
	}
}

// promoteNext queues a release that succeeded in one environment to the environments that come after it.
func (s *Server) promoteNext(ctx context.Context, r *store.Rollout) {
	if r.Strategy == store.StrategyRollback {
		return // a rollback is no release to promote
	}
	rel, err := s.store.GetRelease(ctx, r.ReleaseID)
	if err != nil {
		return
	}
	pl, err := pipeline.Parse(pipeline.FileName, []byte(rel.Pipeline))
	if err != nil {
		return
	}
	for _, next := range pl.Next(r.Env) {
		if _, err := s.rollouts.Enqueue(ctx, r.Project, next.Name, r.ReleaseID); err != nil {
			s.log.Error("queue rollout", "project", r.Project, "env", next.Name, "release", r.ReleaseID, "err", err)
		}
	}
}

package server

import (
	"context"
	"fmt"

	"github.com/ferry-cd/ferry/internal/pipeline"
	"github.com/ferry-cd/ferry/internal/store"
)

// The run lifecycle is internal/runs; the server gives it secrets, repository credentials, and runEvents for
// what a run's progress sets off here: forge statuses, notifications, metrics and deploys.

// Enqueue queues a run of commit (empty: the branch head) for the project; see runs.Manager.Enqueue.
func (s *Server) Enqueue(ctx context.Context, project, commit, trigger string) (*store.Run, error) {
	return s.runs.Enqueue(ctx, project, commit, trigger)
}

// Cancel cancels a queued or running run. It returns the run as it is after the request.
func (s *Server) Cancel(ctx context.Context, id int64) (*store.Run, error) {
	return s.runs.Cancel(ctx, id)
}

// DeleteProject cancels the project's active runs, then removes it with its records and its mirror.
func (s *Server) DeleteProject(ctx context.Context, name string) error {
	return s.runs.DeleteProject(ctx, name)
}

// stepSecrets opens the project secrets a run's steps ask for; the repository's own are not theirs to read.
func (s *Server) stepSecrets(ctx context.Context, project string, names []string) (map[string]string, error) {
	for _, n := range names {
		if reservedSecret(n) {
			return nil, fmt.Errorf("secret %s is for fetching the repository: no step can read it", n)
		}
	}
	sealed, err := s.store.SecretValues(ctx, project, names)
	if err != nil {
		return nil, fmt.Errorf("read secrets: %w", err)
	}
	out := make(map[string]string, len(sealed))
	for name, v := range sealed {
		plain, err := s.sealer.Open(project, name, v)
		if err != nil {
			return nil, err
		}
		out[name] = string(plain)
	}
	return out, nil
}

// runEvents is what the server does as runs progress.
type runEvents struct{ s *Server }

func (e runEvents) RunQueued(r *store.Run) {
	e.s.reportStatus(r, "pending", fmt.Sprintf("run %d queued", r.ID))
}

func (e runEvents) RunStarted(r *store.Run) {
	e.s.reportStatus(r, "running", fmt.Sprintf("run %d running", r.ID))
}

func (e runEvents) StepEnded(project string, st *store.Step) {
	if !st.StartedAt.IsZero() {
		e.s.counters.steps.WithLabelValues(project, st.Stage, string(st.State)).Observe(st.FinishedAt.Sub(st.StartedAt).Seconds())
	}
}

func (e runEvents) StepsEnded(project string, steps []*store.Step) {
	e.s.counters.stagesEnded(project, steps)
}

func (e runEvents) RunEnded(ctx context.Context, r *store.Run) {
	e.s.counters.runs.WithLabelValues(r.Project, string(r.State)).Inc()
	e.s.runEnded(ctx, r)
	state, desc := runStatus(r)
	e.s.reportStatus(r, state, desc)
}

// RunPassed deploys the release to the environments that come first in its pipeline.
func (e runEvents) RunPassed(ctx context.Context, pl *pipeline.Pipeline, rel *store.Release) {
	if len(pl.Environments) > 0 {
		e.s.deployRelease(ctx, pl, rel)
	}
}

package controlplane

import (
	"context"
	"fmt"

	"github.com/ferry-cd/ferry/internal/pipeline"
	"github.com/ferry-cd/ferry/internal/store"
)

// runEvents is what a run's progress sets off beside the run lifecycle (internal/runs): forge statuses,
// notifications, metrics and deploys.
type runEvents struct{ cp *ControlPlane }

func (e runEvents) RunQueued(r *store.Run) {
	e.cp.statuses.report(e.cp.ctx, r, "pending", fmt.Sprintf("run %d queued", r.ID))
}

func (e runEvents) RunStarted(r *store.Run) {
	e.cp.statuses.report(e.cp.ctx, r, "running", fmt.Sprintf("run %d running", r.ID))
}

func (e runEvents) StepEnded(project string, st *store.Step) {
	e.cp.counters.stepEnded(project, st)
}

func (e runEvents) StepsEnded(project string, steps []*store.Step) {
	e.cp.counters.stagesEnded(project, steps)
}

func (e runEvents) RunEnded(ctx context.Context, r *store.Run) {
	e.cp.counters.runs.WithLabelValues(r.Project, string(r.State)).Inc()
	e.cp.runEnded(ctx, r)
	state, desc := forgeState(r)
	e.cp.statuses.report(e.cp.ctx, r, state, desc)
}

// RunPassed deploys the release to the environments that come first in its pipeline.
func (e runEvents) RunPassed(ctx context.Context, pl *pipeline.Pipeline, rel *store.Release) {
	if len(pl.Environments) > 0 {
		e.cp.deployRelease(ctx, pl, rel)
	}
}

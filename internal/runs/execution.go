package runs

import (
	"context"

	"github.com/ferry-cd/ferry/internal/engine"
	"github.com/ferry-cd/ferry/internal/evals"
	"github.com/ferry-cd/ferry/internal/gate"
	"github.com/ferry-cd/ferry/internal/pipeline"
	"github.com/ferry-cd/ferry/internal/store"
)

// Execution is one execution of a pipeline in a checkout: what the Manager does for every run and `ferry exec`
// does for the folder it is given. Reading the pipeline file, and what the result becomes, are the caller's.
type Execution struct {
	Pipeline *pipeline.Pipeline
	// Workspace is the checkout the steps run in; TempDir their scratch folder; CacheDir, when set, the tool
	// caches of the project (see engine.Job).
	Workspace, TempDir, CacheDir string
	// Project, Branch, Commit and Run reach the steps as FERRY_PROJECT, FERRY_BRANCH, FERRY_COMMIT and
	// FERRY_RUN_ID.
	Project, Branch, Commit, Run string
	// Secrets are the values steps may ask for by name (see SecretNames).
	Secrets map[string]string
	// Baseline returns the metrics a gate compares with; nil: no baseline, such gates pass.
	Baseline func(stage, step string) ([]gate.Metric, bool)
	// BaselineCases returns the cases case gates compare with and their run; nil: no baseline.
	BaselineCases func(stage, step string) (int64, []evals.Case, bool)
	Observer      engine.Observer
}

// Execute runs x's pipeline with eng and returns how it ended. Canceling ctx stops every step.
func (x *Execution) Execute(ctx context.Context, eng *engine.Engine) engine.Result {
	return eng.Run(ctx, &engine.Job{
		Pipeline:  x.Pipeline,
		Workspace: x.Workspace,
		TempDir:   x.TempDir,
		CacheDir:  x.CacheDir,
		Vars: map[string]string{
			"FERRY_COMMIT":  x.Commit,
			"FERRY_BRANCH":  x.Branch,
			"FERRY_RUN_ID":  x.Run,
			"FERRY_PROJECT": x.Project,
		},
		Secrets:       x.Secrets,
		Baseline:      x.Baseline,
		BaselineCases: x.BaselineCases,
		Observer:      x.Observer,
	})
}

// SecretNames lists the secrets the pipeline's steps ask for, in file order (a name may repeat).
func SecretNames(pl *pipeline.Pipeline) []string {
	var names []string
	for _, stage := range pl.Stages {
		for _, st := range stage.Steps {
			names = append(names, st.Secrets...)
		}
	}
	return names
}

// PlannedSteps returns the pipeline's steps as run's records, pending, in file order: the order of
// engine.StepRef's Index.
func PlannedSteps(run int64, pl *pipeline.Pipeline) []*store.Step {
	var steps []*store.Step
	for _, stage := range pl.Stages {
		for _, st := range stage.Steps {
			steps = append(steps, &store.Step{RunID: run, Index: len(steps), Stage: stage.Name, Name: st.Name, State: store.StepPending})
		}
	}
	return steps
}

package store

import (
	"context"

	"github.com/ferry-cd/ferry/internal/evals"
)

// CaseSet is the evaluation cases one step of a run reported, and the run they were compared with.
type CaseSet struct {
	RunID int64 `json:"run_id"`
	// Index is the step's Index in its run; Stage and Name are filled in by reads, from the run's steps.
	Index int    `json:"index"`
	Stage string `json:"stage,omitempty"`
	Name  string `json:"name,omitempty"`
	// BaselineRun is the run whose cases the gates compared with; 0 when there was none.
	BaselineRun int64        `json:"baseline_run,omitempty"`
	Cases       []evals.Case `json:"cases"`
}

// CaseStore keeps the evaluation cases of runs. Lists leave out the texts of cases (input, expected, output,
// reason), which can be large; GetCase returns one case whole.
type CaseStore interface {
	// PutCases replaces the cases of one step of a run (set.RunID, set.Index); ErrNotFound without such a run.
	PutCases(ctx context.Context, set *CaseSet) error
	// ListCases returns the case sets of a run in step order, their cases in the order they were put,
	// without texts; none for a run without cases.
	ListCases(ctx context.Context, runID int64) ([]*CaseSet, error)
	// GetCase returns one case of a step of a run, with its texts; ErrNotFound.
	GetCase(ctx context.Context, runID int64, index int, caseID string) (*evals.Case, error)
	// BaselineCases returns the cases, without texts, of stage/step in the newest passed run of project and
	// branch with an ID below beforeRun that has that step (the run BaselineMetrics reads); found is false
	// when there is none. A baseline step that reported no cases gives a set with none.
	BaselineCases(ctx context.Context, project, branch, stage, step string, beforeRun int64) (set *CaseSet, found bool, err error)
}

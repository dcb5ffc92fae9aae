package api

// CaseStatus is what became of an evaluation case against the baseline run.
type CaseStatus string

const (
	// CaseBroken passed in the baseline and fails now.
	CaseBroken CaseStatus = "broken"
	// CaseFixed failed in the baseline and passes now.
	CaseFixed CaseStatus = "fixed"
	// CaseStillFailing failed in both.
	CaseStillFailing CaseStatus = "still_failing"
	// CaseFlaky flipped between the attempts of this run's step or of the baseline's.
	CaseFlaky CaseStatus = "flaky"
	// CaseNew is not in the baseline, or there is none.
	CaseNew CaseStatus = "new"
	// CaseRemoved is in the baseline and not in this run.
	CaseRemoved CaseStatus = "removed"
	// CasePassing passed in both.
	CasePassing CaseStatus = "passing"
)

// CaseStatuses lists the statuses in the order changes are listed: what needs looking at first.
var CaseStatuses = []CaseStatus{CaseBroken, CaseFixed, CaseStillFailing, CaseFlaky, CaseNew, CaseRemoved, CasePassing}

// RunCases answers GET /api/v1/runs/{id}/cases: the evaluation cases of each step of a run that reported
// some, beside the baseline run's.
type RunCases struct {
	Run   int64       `json:"run"`
	Steps []StepCases `json:"steps"`
}

// StepCases is the cases one step reported, compared with the same step of BaselineRun (0: none).
type StepCases struct {
	Index       int    `json:"index"`
	Step        string `json:"step"` // stage/step
	BaselineRun int64  `json:"baseline_run,omitempty"`
	// Counts has the number of cases of each status that has any.
	Counts map[CaseStatus]int `json:"counts"`
	// Cases are in the order of CaseStatuses, and within a status in the step's order.
	Cases []CaseChange `json:"cases"`
}

// CaseChange is one case of the run beside the baseline's case of the same id.
type CaseChange struct {
	ID     string     `json:"id"`
	Status CaseStatus `json:"status"`
	Tags   []string   `json:"tags,omitempty"`
	// Pass and Scores are this run's (Pass is nil for a removed case); the Baseline ones the baseline's (nil
	// for a new case).
	Pass           *bool              `json:"pass,omitempty"`
	Flaky          bool               `json:"flaky,omitempty"`
	Scores         map[string]float64 `json:"scores,omitempty"`
	BaselinePass   *bool              `json:"baseline_pass,omitempty"`
	BaselineScores map[string]float64 `json:"baseline_scores,omitempty"`
}

// CaseView answers GET /api/v1/runs/{id}/steps/{index}/cases/{case}: one case whole, with the baseline's.
type CaseView struct {
	Run         int64      `json:"run"`
	Index       int        `json:"index"`
	Step        string     `json:"step"`
	Status      CaseStatus `json:"status"`
	BaselineRun int64      `json:"baseline_run,omitempty"`
	// Case is nil for a case removed since the baseline; Baseline is nil without one.
	Case     *Case `json:"case,omitempty"`
	Baseline *Case `json:"baseline,omitempty"`
}

// Case is one evaluation case of one run, as its step reported it (texts cut at 4 KiB each).
type Case struct {
	ID       string             `json:"id"`
	Tags     []string           `json:"tags,omitempty"`
	Scores   map[string]float64 `json:"scores,omitempty"`
	Pass     bool               `json:"pass"`
	Flaky    bool               `json:"flaky,omitempty"`
	Input    string             `json:"input,omitempty"`
	Expected string             `json:"expected,omitempty"`
	Output   string             `json:"output,omitempty"`
	Reason   string             `json:"reason,omitempty"`
}

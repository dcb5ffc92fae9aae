// Package gate owns metric gates: the metrics a step writes to $FERRY_METRICS, the bounds a pipeline puts on
// them (absolute and against a baseline), and the verdict table that explains a pass or a failure.
//
// It is pure: it imports no I/O package and never reads files itself.
package gate

// Direction says which way a metric improves. It labels a change as better or worse in the verdict table.
type Direction int

const (
	// Unspecified means the metric did not say; a change is shown without better/worse.
	Unspecified Direction = iota
	LowerIsBetter
	HigherIsBetter
)

// Metric is one measurement written by a step.
type Metric struct {
	Name      string    `json:"name"`
	Value     float64   `json:"value"`
	Unit      string    `json:"unit,omitempty"`
	Direction Direction `json:"direction,omitempty"`
}

// Change is a bound on the difference between the current value and the baseline: an absolute amount, or a
// percentage of the baseline when Percent is true (Value 10 with Percent means 10 %).
type Change struct {
	Value   float64 `json:"value"`
	Percent bool    `json:"percent,omitempty"`
}

// Gate is one check on one metric. Nil bounds are not checked. MaxIncrease and MaxDecrease compare with the
// same metric of the baseline (the last passed run of the branch); without a baseline they pass and say so.
type Gate struct {
	Metric      string   `json:"metric"`
	Min         *float64 `json:"min,omitempty"`
	Max         *float64 `json:"max,omitempty"`
	MaxIncrease *Change  `json:"max_increase,omitempty"`
	MaxDecrease *Change  `json:"max_decrease,omitempty"`
}

// Verdict is one row of the verdict table: what a gate found for one bound on one metric.
type Verdict struct {
	Metric   string   `json:"metric"`
	Bound    string   `json:"bound"` // as written: "max 50", "max_increase 10%"
	Baseline *float64 `json:"baseline,omitempty"`
	Current  *float64 `json:"current,omitempty"`
	// Change is the difference from the baseline as shown to users: "+4.1 (+10.0%, worse)"; empty without one.
	Change string `json:"change,omitempty"`
	Pass   bool   `json:"pass"`
	// Reason explains a failure or a pass without a baseline: "metric missing", "no baseline".
	Reason string `json:"reason,omitempty"`
}

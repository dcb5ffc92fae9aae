// Package gate owns metric gates: the metrics a step writes to $FERRY_METRICS, the bounds a pipeline puts on
// them (absolute and against a baseline), and the verdict table that explains a pass or a failure.
//
// It is pure: it imports no I/O package and never reads files itself.
package gate

import (
	"fmt"
	"strconv"
)

// Direction says which way a metric improves. It labels a change as better or worse in the verdict table.
type Direction int

const (
	// Unspecified means the metric did not say; a change is shown without better/worse.
	Unspecified Direction = iota
	LowerIsBetter
	HigherIsBetter
)

// directionNames are the words a metrics file and the API use; Unspecified is the empty string.
var directionNames = [...]string{Unspecified: "", LowerIsBetter: "lower_is_better", HigherIsBetter: "higher_is_better"}

// String returns "lower_is_better", "higher_is_better", or "" for Unspecified.
func (d Direction) String() string {
	if d < 0 || int(d) >= len(directionNames) {
		return "Direction(" + strconv.Itoa(int(d)) + ")"
	}
	return directionNames[d]
}

// ParseDirection reads the words String returns; the empty string is Unspecified.
func ParseDirection(s string) (Direction, error) {
	for d, name := range directionNames {
		if s == name {
			return Direction(d), nil
		}
	}
	return Unspecified, fmt.Errorf("unknown direction %q (want %q or %q)", s, directionNames[LowerIsBetter], directionNames[HigherIsBetter])
}

// MarshalText makes a Direction a JSON string.
func (d Direction) MarshalText() ([]byte, error) {
	if d < 0 || int(d) >= len(directionNames) {
		return nil, fmt.Errorf("unknown direction %d", int(d))
	}
	return []byte(directionNames[d]), nil
}

// UnmarshalText accepts what MarshalText writes.
func (d *Direction) UnmarshalText(b []byte) error {
	v, err := ParseDirection(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

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

// String returns the change as a user writes it in a bound: "10%" or "2".
func (c Change) String() string {
	if c.Percent {
		return formatNum(c.Value) + "%"
	}
	return formatNum(c.Value)
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

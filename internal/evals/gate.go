package evals

// Gate is one check over the cases of a step, or over those with Tag. Exactly one of NewFailures, Failures,
// PassRate and Score is set.
type Gate struct {
	// Tag restricts the gate to the cases that have it; "" is every case. A tag no case has fails the gate,
	// so that a misspelt tag is not a gate that always passes.
	Tag string `json:"tag,omitempty"`
	// NewFailures bounds the cases that passed in the baseline run and fail now (Broken; flaky ones are not
	// counted). Without a baseline it passes and says so.
	NewFailures *Count `json:"new_failures,omitempty"`
	// Failures bounds the failing cases: {max: 0} says every case must pass.
	Failures *Count `json:"failures,omitempty"`
	// PassRate bounds the share of passing cases, judged with a confidence interval.
	PassRate *Rate `json:"pass_rate,omitempty"`
	// Score bounds the mean of one score over the cases that have it.
	Score *Score `json:"score,omitempty"`
}

// Count is an upper bound on a number of cases.
type Count struct {
	Max int `json:"max"`
}

// Rate bounds a pass rate, a number from 0 to 1. Nil bounds are not checked; at least one is set. A bound
// fails only when the whole confidence interval is on its wrong side: Min when the Wilson interval of the pass
// rate lies below it, MaxDecrease when the interval of the fall from the baseline's rate lies above it.
type Rate struct {
	Min         *float64 `json:"min,omitempty"`
	MaxDecrease *float64 `json:"max_decrease,omitempty"`
	// Confidence is the interval's level, from 0.5 to 0.999; DefaultConfidence when zero.
	Confidence float64 `json:"confidence,omitempty"`
}

// DefaultConfidence is the level of a pass rate's interval when the pipeline sets none.
const DefaultConfidence = 0.95

// Score bounds the mean of the score Metric over the cases that have it. At least one of Min and Max is set.
type Score struct {
	Metric string   `json:"metric"`
	Min    *float64 `json:"min,omitempty"`
	Max    *float64 `json:"max,omitempty"`
}

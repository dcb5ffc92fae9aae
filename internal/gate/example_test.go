package gate_test

import (
	"fmt"
	"os"

	"github.com/ferry-cd/ferry/internal/gate"
)

func Example() {
	current, err := gate.ParseMetrics([]byte(`{"metrics": [
		{"name": "latency_p95_ms", "value": 55, "unit": "ms", "direction": "lower_is_better"},
		{"name": "pass_rate", "value": 0.97, "direction": "higher_is_better"}]}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	baseline, _ := gate.ParseMetrics([]byte(`{"latency_p95_ms": 50, "pass_rate": 0.98}`))
	maxLatency, minPassRate := 50.0, 0.95
	gates := []gate.Gate{
		{Metric: "latency_p95_ms", Max: &maxLatency, MaxIncrease: &gate.Change{Value: 10, Percent: true}},
		{Metric: "pass_rate", Min: &minPassRate, MaxDecrease: &gate.Change{Value: 0.02}},
	}

	verdicts := gate.Evaluate(gates, current, baseline, true)
	gate.FormatTable(os.Stdout, verdicts)
	fmt.Println(gate.Passed(verdicts), gate.Failures(verdicts))
	// Output:
	// METRIC          BOUND              BASELINE  CURRENT  CHANGE                VERDICT
	// latency_p95_ms  max 50             50        55       +5 (+10.0%, worse)    FAIL (55 > max 50)
	// latency_p95_ms  max_increase 10%   50        55       +5 (+10.0%, worse)    pass
	// pass_rate       min 0.95           0.98      0.97     -0.01 (-1.0%, worse)  pass
	// pass_rate       max_decrease 0.02  0.98      0.97     -0.01 (-1.0%, worse)  pass
	// false gate latency_p95_ms: 55 > max 50
}

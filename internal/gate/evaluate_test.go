package gate

import (
	"reflect"
	"testing"
)

func val(v float64) *float64 { return &v }

func TestEvaluate(t *testing.T) {
	lat := func(v float64) []Metric { return []Metric{{Name: "lat", Value: v, Direction: LowerIsBetter}} }
	rate := func(v float64) []Metric { return []Metric{{Name: "rate", Value: v, Direction: HigherIsBetter}} }
	plain := func(v float64) []Metric { return []Metric{{Name: "n", Value: v}} }
	abs := func(v float64) *Change { return &Change{Value: v} }
	pct := func(v float64) *Change { return &Change{Value: v, Percent: true} }

	tests := []struct {
		name          string
		gate          Gate
		current, base []Metric
		haveBase      bool
		want          []Verdict
	}{
		{"min pass at bound", Gate{Metric: "rate", Min: val(0.9)}, rate(0.9), nil, false,
			[]Verdict{{Metric: "rate", Bound: "min 0.9", Current: val(0.9), Pass: true}}},
		{"min fail", Gate{Metric: "rate", Min: val(0.9)}, rate(0.85), nil, false,
			[]Verdict{{Metric: "rate", Bound: "min 0.9", Current: val(0.85), Reason: "0.85 < min 0.9"}}},
		{"max pass at bound", Gate{Metric: "lat", Max: val(50)}, lat(50), nil, false,
			[]Verdict{{Metric: "lat", Bound: "max 50", Current: val(50), Pass: true}}},
		{"max fail", Gate{Metric: "lat", Max: val(50)}, lat(55), nil, false,
			[]Verdict{{Metric: "lat", Bound: "max 50", Current: val(55), Reason: "55 > max 50"}}},
		{"absolute increase pass at bound despite float rounding", Gate{Metric: "lat", MaxIncrease: abs(4.1)},
			lat(45.1), lat(41), true,
			[]Verdict{{Metric: "lat", Bound: "max_increase 4.1", Baseline: val(41), Current: val(45.1),
				Change: "+4.1 (+10.0%, worse)", Pass: true}}},
		{"absolute increase fail", Gate{Metric: "lat", MaxIncrease: abs(2)}, lat(45), lat(40), true,
			[]Verdict{{Metric: "lat", Bound: "max_increase 2", Baseline: val(40), Current: val(45),
				Change: "+5 (+12.5%, worse)", Reason: "increase 5 > max_increase 2"}}},
		{"percent increase pass at bound", Gate{Metric: "lat", MaxIncrease: pct(10)}, lat(44), lat(40), true,
			[]Verdict{{Metric: "lat", Bound: "max_increase 10%", Baseline: val(40), Current: val(44),
				Change: "+4 (+10.0%, worse)", Pass: true}}},
		{"percent increase fail", Gate{Metric: "lat", MaxIncrease: pct(10)}, lat(45), lat(40), true,
			[]Verdict{{Metric: "lat", Bound: "max_increase 10%", Baseline: val(40), Current: val(45),
				Change: "+5 (+12.5%, worse)", Reason: "increase 12.5% > max_increase 10%"}}},
		{"increase bound ignores a decrease", Gate{Metric: "lat", MaxIncrease: pct(0)}, lat(47), lat(50), true,
			[]Verdict{{Metric: "lat", Bound: "max_increase 0%", Baseline: val(50), Current: val(47),
				Change: "-3 (-6.0%, better)", Pass: true}}},
		{"absolute decrease pass at bound", Gate{Metric: "rate", MaxDecrease: abs(0.02)}, rate(0.95), rate(0.97), true,
			[]Verdict{{Metric: "rate", Bound: "max_decrease 0.02", Baseline: val(0.97), Current: val(0.95),
				Change: "-0.02 (-2.1%, worse)", Pass: true}}},
		{"absolute decrease fail", Gate{Metric: "rate", MaxDecrease: abs(0.01)}, rate(0.95), rate(0.97), true,
			[]Verdict{{Metric: "rate", Bound: "max_decrease 0.01", Baseline: val(0.97), Current: val(0.95),
				Change: "-0.02 (-2.1%, worse)", Reason: "decrease 0.02 > max_decrease 0.01"}}},
		{"percent decrease of a negative baseline", Gate{Metric: "n", MaxDecrease: pct(5)}, plain(-53), plain(-50), true,
			[]Verdict{{Metric: "n", Bound: "max_decrease 5%", Baseline: val(-50), Current: val(-53),
				Change: "-3 (-6.0%)", Reason: "decrease 6% > max_decrease 5%"}}},
		{"percent decrease pass, higher is better", Gate{Metric: "rate", MaxDecrease: pct(5)}, rate(0.99), rate(0.9), true,
			[]Verdict{{Metric: "rate", Bound: "max_decrease 5%", Baseline: val(0.9), Current: val(0.99),
				Change: "+0.09 (+10.0%, better)", Pass: true}}},
		{"zero baseline, percent, increase fails", Gate{Metric: "n", MaxIncrease: pct(10)}, plain(1), plain(0), true,
			[]Verdict{{Metric: "n", Bound: "max_increase 10%", Baseline: val(0), Current: val(1),
				Change: "+1", Reason: "increase 1 from baseline 0 > max_increase 10%"}}},
		{"zero baseline, percent, equal passes", Gate{Metric: "lat", MaxIncrease: pct(10)}, lat(0), lat(0), true,
			[]Verdict{{Metric: "lat", Bound: "max_increase 10%", Baseline: val(0), Current: val(0), Change: "+0", Pass: true}}},
		{"zero baseline, absolute", Gate{Metric: "lat", MaxIncrease: abs(2)}, lat(1), lat(0), true,
			[]Verdict{{Metric: "lat", Bound: "max_increase 2", Baseline: val(0), Current: val(1),
				Change: "+1 (worse)", Pass: true}}},
		{"no change", Gate{Metric: "lat", MaxIncrease: pct(0)}, lat(40), lat(40), true,
			[]Verdict{{Metric: "lat", Bound: "max_increase 0%", Baseline: val(40), Current: val(40),
				Change: "+0 (0.0%)", Pass: true}}},
		{"direction falls back to the baseline's", Gate{Metric: "n", MaxIncrease: abs(1)},
			plain(12), []Metric{{Name: "n", Value: 10, Direction: LowerIsBetter}}, true,
			[]Verdict{{Metric: "n", Bound: "max_increase 1", Baseline: val(10), Current: val(12),
				Change: "+2 (+20.0%, worse)", Reason: "increase 2 > max_increase 1"}}},
		{"no baseline run", Gate{Metric: "lat", Max: val(50), MaxIncrease: pct(10)}, lat(45), lat(10), false,
			[]Verdict{
				{Metric: "lat", Bound: "max 50", Current: val(45), Pass: true},
				{Metric: "lat", Bound: "max_increase 10%", Current: val(45), Pass: true, Reason: "no baseline"},
			}},
		{"metric absent from the baseline", Gate{Metric: "lat", MaxDecrease: abs(1)}, lat(45), rate(1), true,
			[]Verdict{{Metric: "lat", Bound: "max_decrease 1", Current: val(45), Pass: true, Reason: "no baseline"}}},
		{"metric missing fails every row, in bound order",
			Gate{Metric: "lat", Min: val(1), Max: val(50), MaxIncrease: pct(10), MaxDecrease: abs(2)}, rate(1), lat(40), true,
			[]Verdict{
				{Metric: "lat", Bound: "min 1", Baseline: val(40), Reason: "metric missing"},
				{Metric: "lat", Bound: "max 50", Baseline: val(40), Reason: "metric missing"},
				{Metric: "lat", Bound: "max_increase 10%", Baseline: val(40), Reason: "metric missing"},
				{Metric: "lat", Bound: "max_decrease 2", Baseline: val(40), Reason: "metric missing"},
			}},
		{"gate without bounds checks presence", Gate{Metric: "lat"}, lat(1), nil, false,
			[]Verdict{{Metric: "lat", Bound: "present", Current: val(1), Pass: true}}},
		{"gate without bounds, metric missing", Gate{Metric: "lat"}, nil, nil, false,
			[]Verdict{{Metric: "lat", Bound: "present", Reason: "metric missing"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Evaluate([]Gate{tt.gate}, tt.current, tt.base, tt.haveBase)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Evaluate:\ngot  %s\nwant %s", dump(got), dump(tt.want))
			}
		})
	}
}

func TestEvaluateOrderPassedFailures(t *testing.T) {
	gates := []Gate{
		{Metric: "lat", Max: val(50), MaxIncrease: &Change{Value: 10, Percent: true}},
		{Metric: "gone", Min: val(1), Max: val(2)},
		{Metric: "rate", Min: val(0.9)},
	}
	current := []Metric{{Name: "rate", Value: 0.97}, {Name: "lat", Value: 55}}
	vs := Evaluate(gates, current, []Metric{{Name: "lat", Value: 50}}, true)
	var bounds []string
	for _, v := range vs {
		bounds = append(bounds, v.Metric+" "+v.Bound)
	}
	if want := []string{"lat max 50", "lat max_increase 10%", "gone min 1", "gone max 2", "rate min 0.9"}; !reflect.DeepEqual(bounds, want) {
		t.Errorf("rows %q, want %q", bounds, want)
	}
	if Passed(vs) {
		t.Error("Passed = true, want false")
	}
	want := "gate lat: 55 > max 50; gate gone: metric missing"
	if got := Failures(vs); got != want {
		t.Errorf("Failures = %q, want %q", got, want)
	}
	if !Passed(vs[4:]) || !Passed(nil) {
		t.Error("Passed = false for passing rows or no rows, want true")
	}
	if got := Failures(vs[4:]); got != "" {
		t.Errorf("Failures of passing rows = %q, want empty", got)
	}
}

func TestChangeString(t *testing.T) {
	for c, want := range map[Change]string{{Value: 10, Percent: true}: "10%", {Value: 2}: "2", {Value: 0.5}: "0.5"} {
		if got := c.String(); got != want {
			t.Errorf("%#v.String() = %q, want %q", c, got, want)
		}
	}
}

func TestFormatNum(t *testing.T) {
	for v, want := range map[float64]string{
		0: "0", 41.2: "41.2", 45.1 - 41: "4.1", 0.97: "0.97", -3: "-3", 123456.7: "123457",
		1234567.89: "1234568", 0.0001: "0.0001", 1e-5: "1e-05", 1e22: "1e+22",
	} {
		if got := formatNum(v); got != want {
			t.Errorf("formatNum(%v) = %q, want %q", v, got, want)
		}
	}
}

func dump(vs []Verdict) string {
	s := ""
	for _, v := range vs {
		s += "\n  " + v.Metric + " | " + v.Bound + " | " + cellNum(v.Baseline) + " | " + cellNum(v.Current) + " | " +
			v.Change + " | " + map[bool]string{true: "pass", false: "FAIL"}[v.Pass] + " | " + v.Reason
	}
	return s
}

package chart_test

import (
	"fmt"
	"html"
	"html/template"
	"regexp"
	"time"

	"github.com/ferry-cd/ferry/internal/ui/chart"
)

var start = time.Date(2025, 3, 4, 12, 0, 0, 0, time.UTC)

func at(minutes int) time.Time { return start.Add(time.Duration(minutes) * time.Minute) }

// describe prints what a screen reader hears of a chart: its <desc>.
func describe(svg template.HTML) {
	escaped := regexp.MustCompile(`<desc id="[^"]*">(.*)</desc>`).FindStringSubmatch(string(svg))[1]
	fmt.Println(html.UnescapeString(escaped))
}

// A canary's error rate against the stable's, held to the analysis check's "max 1%". The dashboard puts the
// template.HTML straight into its page, {{.ErrorRate}}, and serves Stylesheet() among its CSS.
func ExampleLine() {
	svg := chart.Line(chart.LineChart{
		Title: "error rate",
		Series: []chart.Series{
			{Name: "canary", Points: []chart.Point{{T: at(0), V: 0.002}, {T: at(5), V: 0.011}, {T: at(10), V: 0.024}}},
			{Name: "stable", Points: []chart.Point{{T: at(0), V: 0.003}, {T: at(5), V: 0.002}, {T: at(10), V: 0.003}}},
		},
		Bounds: []chart.Bound{{Value: 0.01, Label: "max 1%"}},
		Unit:   chart.Percent,
	})
	describe(svg)
	// Output:
	// canary vs stable from 12:00:00 to 12:10:00; canary last 2.4%, highest 2.4%; stable last 0.3%, highest 0.3%; bound max 1%
}

// A canary rollout's weight, rolled back at its third step.
func ExampleStep() {
	svg := chart.Step(chart.StepChart{
		Title:  "traffic weight",
		Weight: []chart.Point{{T: at(0), V: 10}, {T: at(5), V: 50}, {T: at(9), V: 0}},
		Until:  at(15),
		Events: []chart.Event{
			{T: at(9), Label: "rolled back: error_rate 4.1% > max 1%", Kind: chart.EventFail},
		},
	})
	describe(svg)
	// Output:
	// weight from 12:00:00 to 12:15:00: 10% at 12:00:00, 50% at 12:05:00, 0% at 12:09:00; events: 1. 12:09:00 rolled back: error_rate 4.1% > max 1% (failure)
}

// Deployments in this window against the previous one.
func ExampleBars() {
	svg := chart.Bars(chart.BarChart{
		Title:  "deployments",
		Labels: []string{"deployments", "rollbacks"},
		Series: []chart.BarSeries{
			{Name: "last 30 days", Values: []float64{23, 1}},
			{Name: "previous 30 days", Values: []float64{17, 3}},
		},
	})
	describe(svg)
	// Output:
	// last 30 days vs previous 30 days; deployments: last 30 days 23, previous 30 days 17; rollbacks: last 30 days 1, previous 30 days 3
}

// The durations of a pipeline's last runs, in a table cell.
func ExampleSparkline() {
	svg := chart.Sparkline(chart.SparklineChart{
		Title:  "duration of the last 6 runs",
		Values: []float64{61, 58, 64, 90, 62, 63},
		Unit:   chart.Seconds,
	})
	describe(svg)
	// Output:
	// 6 values from 58s to 90s, last 63s
}

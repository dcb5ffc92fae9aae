package ui

import (
	"html/template"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/ferry-cd/ferry/internal/api"
	"github.com/ferry-cd/ferry/internal/pipeline"
	"github.com/ferry-cd/ferry/internal/ui/chart"
)

// rolloutView holds an environment page's charts of its rollout.
type rolloutView struct {
	Weight, ErrorRate, Latency template.HTML
}

// rolloutCharts draws a rollout's weight over time with its events, and canary against stable for the error
// rate and the p99 latency with the bounds the release's analysis holds them to.
func rolloutCharts(ro *api.RolloutView, rel *api.Release) rolloutView {
	var v rolloutView
	until := ro.FinishedAt
	if until.IsZero() {
		until = time.Now()
	}
	sc := chart.StepChart{Title: "traffic on the new release", Until: until}
	for _, ev := range ro.Events {
		sc.Weight = append(sc.Weight, chart.Point{T: ev.Time, V: float64(ev.Weight)})
		if kind, label := eventMark(ev); label != "" {
			sc.Events = append(sc.Events, chart.Event{T: ev.Time, Label: label, Kind: kind})
		}
	}
	v.Weight = chart.Step(sc)

	errs := chart.LineChart{Title: "error rate, canary against stable", Unit: chart.Percent}
	lat := chart.LineChart{Title: "p99 latency, canary against stable", Unit: chart.Seconds}
	byRole := map[string]int{}
	for _, s := range ro.Samples {
		i, ok := byRole[s.Role]
		if !ok {
			i = len(errs.Series)
			byRole[s.Role] = i
			errs.Series = append(errs.Series, chart.Series{Name: s.Role})
			lat.Series = append(lat.Series, chart.Series{Name: s.Role})
		}
		rate, p99 := math.NaN(), math.NaN() // no requests: a gap, not a zero
		if s.Requests > 0 {
			rate, p99 = float64(s.Errors)/float64(s.Requests), s.P99MS/1000
		}
		errs.Series[i].Points = append(errs.Series[i].Points, chart.Point{T: s.Time, V: rate})
		lat.Series[i].Points = append(lat.Series[i].Points, chart.Point{T: s.Time, V: p99})
	}
	if env := environmentSpec(rel, ro.Env); env != nil {
		for _, c := range env.Analysis.Checks {
			switch c.Metric {
			case "error_rate":
				errs.Bounds = append(errs.Bounds, bounds(c, chart.Percent)...)
			case "latency_p99":
				lat.Bounds = append(lat.Bounds, bounds(c, chart.Seconds)...)
			}
		}
	}
	if len(ro.Samples) > 0 { // a rollback measures nothing: no empty charts
		v.ErrorRate, v.Latency = chart.Line(errs), chart.Line(lat)
	}
	return v
}

// eventMark is how a rollout event shows on the weight chart: failures and the end, with their reasons.
func eventMark(ev api.RolloutEvent) (chart.EventKind, string) {
	switch {
	case ev.State == api.RolloutRolledBack || ev.State == api.RolloutAborted || ev.State == api.RolloutFailed:
		return chart.EventFail, string(ev.State) + ": " + ev.Reason
	case strings.HasPrefix(ev.Reason, "analysis failed"):
		return chart.EventFail, ev.Reason
	case ev.State == api.RolloutSucceeded:
		return chart.EventOK, "succeeded"
	case ev.State == api.RolloutPaused:
		return chart.EventInfo, "paused: " + ev.Reason
	}
	return 0, ""
}

func bounds(c pipeline.Check, unit func(float64) string) []chart.Bound {
	var bs []chart.Bound
	if c.Max != nil {
		bs = append(bs, chart.Bound{Value: *c.Max, Label: "max " + unit(*c.Max)})
	}
	if c.Min != nil {
		bs = append(bs, chart.Bound{Value: *c.Min, Label: "min " + unit(*c.Min)})
	}
	return bs
}

// environmentSpec is the environment as the release's pipeline file declares it, or nil.
func environmentSpec(rel *api.Release, env string) *pipeline.Environment {
	if rel == nil || rel.Pipeline == "" {
		return nil
	}
	p, err := pipeline.Parse(pipeline.FileName, []byte(rel.Pipeline))
	if err != nil {
		return nil
	}
	return p.Environment(env)
}

// runDurationChart draws how long the runs took, oldest first; runs still going or never started are gaps.
func runDurationChart(runs []*api.Run) template.HTML {
	c := chart.BarChart{Title: "run durations, oldest first", Unit: chart.Seconds, Height: 160}
	s := chart.BarSeries{Name: "duration"}
	for i := len(runs) - 1; i >= 0; i-- {
		r := runs[i]
		c.Labels = append(c.Labels, "#"+strconv.FormatInt(r.ID, 10))
		v := math.NaN()
		if !r.StartedAt.IsZero() && !r.FinishedAt.IsZero() {
			v = r.FinishedAt.Sub(r.StartedAt).Seconds()
		}
		s.Values = append(s.Values, v)
	}
	c.Series = []chart.BarSeries{s}
	return chart.Bars(c)
}

// doraCharts are one bar chart per DORA metric, a bar per week.
type doraCharts struct {
	Deployments, LeadTime, ChangeFailureRate, RecoveryTime, ReworkRate template.HTML
}

// weeklyDoraCharts draws weekly reports, oldest first; a metric not available in a week is a missing bar.
func weeklyDoraCharts(weeks []api.DoraReport) doraCharts {
	var labels []string
	series := make([][]float64, 5)
	for _, w := range weeks {
		end := w.To
		if end.IsZero() {
			labels = append(labels, "")
		} else {
			labels = append(labels, end.Add(-time.Nanosecond).UTC().Format("Jan 2"))
		}
		series[0] = append(series[0], float64(w.DeploymentFrequency.Deployments))
		series[1] = append(series[1], seconds(w.LeadTime.Median))
		series[2] = append(series[2], fraction(w.ChangeFailureRate.Rate))
		series[3] = append(series[3], seconds(w.RecoveryTime.Median))
		series[4] = append(series[4], fraction(w.ReworkRate.Rate))
	}
	bars := func(title, name string, values []float64, unit func(float64) string) template.HTML {
		return chart.Bars(chart.BarChart{Title: title + ", weekly", Labels: labels, Unit: unit, Height: 160,
			Series: []chart.BarSeries{{Name: name, Values: values}}})
	}
	return doraCharts{
		Deployments:       bars("deployments per week", "deployments", series[0], chart.Number),
		LeadTime:          bars("median lead time", "lead time", series[1], chart.Seconds),
		ChangeFailureRate: bars("change failure rate", "change failure rate", series[2], chart.Percent),
		RecoveryTime:      bars("median recovery time", "recovery time", series[3], chart.Seconds),
		ReworkRate:        bars("rework rate", "rework rate", series[4], chart.Percent),
	}
}

func seconds(d *api.DoraDuration) float64 {
	if d == nil {
		return math.NaN()
	}
	return d.MS / 1000
}

func fraction(f *float64) float64 {
	if f == nil {
		return math.NaN()
	}
	return *f
}

package chart

import (
	"flag"
	"html/template"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var preview = flag.String("preview", "", "write every sample chart to this HTML file, to look at in a browser")

// samples are charts that show what each kind looks like; the golden test and the preview draw them.
func samples() map[string]template.HTML {
	start := time.Date(2025, 3, 4, 12, 0, 0, 0, time.UTC)
	at := func(sec int) time.Time { return start.Add(time.Duration(sec) * time.Second) }
	var canary, stable []Point
	for i := 0; i <= 40; i++ {
		c := 0.002 + 0.0006*float64(i)
		if i == 17 || i == 18 {
			c = math.NaN() // the canary had no requests: a gap
		}
		canary = append(canary, Point{at(i * 30), c})
		stable = append(stable, Point{at(i * 30), 0.003 + 0.001*math.Sin(float64(i)/3)})
	}
	var p99 []Point
	for i := 0; i <= 48; i++ {
		p99 = append(p99, Point{start.Add(time.Duration(i) * 30 * time.Minute), 0.12 + 0.05*math.Cos(float64(i)/5)})
	}
	week := func(i int) string { return start.AddDate(0, 0, 7*(i-11)).Format("Jan 2") }
	var weeks []string
	var deploys []float64
	for i := range 12 {
		weeks = append(weeks, week(i))
		deploys = append(deploys, float64((i*7)%9+1))
	}
	return map[string]template.HTML{
		"line": Line(LineChart{
			Title:  "error rate",
			Series: []Series{{Name: "canary", Points: canary}, {Name: "stable", Points: stable}},
			Bounds: []Bound{{Value: 0.01, Label: "max 1%"}},
			Unit:   Percent,
		}),
		"line-day": Line(LineChart{
			Title:  "p99 latency",
			Series: []Series{{Name: "p99", Points: p99}},
			Bands:  []Band{{Low: 0.1, High: 0.15, Label: "usual"}},
			Unit:   Seconds,
		}),
		"step": Step(StepChart{
			Title: "traffic weight",
			Weight: []Point{
				{at(0), 0}, {at(60), 10}, {at(360), 25}, {at(660), 50}, {at(700), 0},
			},
			Until: at(900),
			Events: []Event{
				{T: at(60), Label: "step 1: weight 10%"},
				{T: at(660), Label: "analysis failed: error_rate 1.6% > max 1%", Kind: EventFail},
				{T: at(700), Label: "rolled back: error_rate 4.1% > max 1%", Kind: EventFail},
				{T: at(900), Label: "release 41 serves all traffic again", Kind: EventOK},
			},
		}),
		"bars": Bars(BarChart{
			Title:  "deployments per week",
			Labels: weeks,
			Series: []BarSeries{{Name: "deployments", Values: deploys}},
		}),
		"bars-compare": Bars(BarChart{
			Title:  "this window against the previous",
			Labels: []string{"deployments", "failures", "rollbacks"},
			Series: []BarSeries{{Name: "last 30 days", Values: []float64{23, 2, 1}}, {Name: "previous 30 days", Values: []float64{17, 4, 3}}},
		}),
		"sparkline": Sparkline(SparklineChart{
			Title:  "duration of the last 12 runs",
			Values: []float64{61, 58, 64, 90, 62, math.NaN(), 59, 57, 60, 71, 66, 63},
			Unit:   Seconds,
		}),
		"empty": Line(LineChart{Title: "error rate", Unit: Percent}),
	}
}

func TestPreview(t *testing.T) {
	if *preview == "" {
		t.Skip("no -preview directory")
	}
	head := "<!doctype html><meta charset=utf-8><style>" + Stylesheet() +
		"body{font-family:system-ui;margin:8px} .dark{background:#111;color:#ddd}</style>\n"
	for name, svg := range samples() {
		for _, theme := range []string{"light", "dark"} {
			page := head + `<body class="` + theme + `"><p>text ` + string(svg) + " text</p>\n"
			if err := os.WriteFile(filepath.Join(*preview, name+"-"+theme+".html"), []byte(page), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

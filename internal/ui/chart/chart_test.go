package chart

import (
	"flag"
	"html/template"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var t0 = time.Date(2025, 3, 4, 12, 0, 0, 0, time.UTC)

func minutes(m float64) time.Time { return t0.Add(time.Duration(m * float64(time.Minute))) }

func TestLineMapsValuesAndTimes(t *testing.T) {
	tests := []struct {
		name  string
		at    []float64 // minutes after t0
		vs    []float64 // ending on a round maximum, so that it is the top tick
		wantX []float64 // as fractions of the plot's width
	}{
		{"even", []float64{0, 1, 2, 3, 4}, []float64{0, 0.25, 0.5, 0.75, 1}, []float64{0, 0.25, 0.5, 0.75, 1}},
		{"uneven times", []float64{0, 1, 4}, []float64{0, 0.5, 1}, []float64{0, 0.25, 1}},
		{"percent", []float64{0, 10}, []float64{0, 0.02}, []float64{0, 1}},
		{"below zero", []float64{0, 3}, []float64{-10, 10}, []float64{0, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var points []Point
			for i, m := range tt.at {
				points = append(points, Point{minutes(m), tt.vs[i]})
			}
			nodes := parse(t, Line(LineChart{Title: "x", Series: []Series{{Name: "canary", Points: points}}}))
			left, right, top, bottom := plotArea(t, nodes)
			paths := find(nodes, "path", "series-0", "line")
			if len(paths) != 1 {
				t.Fatalf("%d series-0 paths, want 1", len(paths))
			}
			pts, _ := pathPoints(t, paths[0].attr["d"])
			if len(pts) != len(points) {
				t.Fatalf("path has %d points, want %d", len(pts), len(points))
			}
			lo, hi := slices.Min(tt.vs), slices.Max(tt.vs)
			for i, p := range pts {
				wantX := left + tt.wantX[i]*(right-left)
				wantY := bottom - (tt.vs[i]-lo)/(hi-lo)*(bottom-top)
				if math.Abs(p[0]-wantX) > 0.1 || math.Abs(p[1]-wantY) > 0.1 {
					t.Errorf("point %d (%v at %vm) at %v, want (%.1f, %.1f)", i, tt.vs[i], tt.at[i], p, wantX, wantY)
				}
			}
			// The maximum is at the top, the minimum at the bottom, and the last point is marked.
			if y := pts[slices.Index(tt.vs, hi)][1]; y != top {
				t.Errorf("max at y=%v, want the top, %v", y, top)
			}
			if y := pts[slices.Index(tt.vs, lo)][1]; y != bottom {
				t.Errorf("min at y=%v, want the bottom, %v", y, bottom)
			}
			last := find(nodes, "circle", "series-0", "last")
			if len(last) != 1 || last[0].num(t, "cx") != pts[len(pts)-1][0] || last[0].num(t, "cy") != pts[len(pts)-1][1] {
				t.Errorf("last-value dot %v, want one at %v", last, pts[len(pts)-1])
			}
		})
	}
}

// TestLineAxisCovers checks that the Y axis reaches every value and bound, and that bounds lie where their
// value maps.
func TestLineAxisCovers(t *testing.T) {
	tests := []struct {
		name    string
		vs      []float64
		bound   float64
		wantTop string // the label of the top tick
	}{
		{"bound above the data", []float64{0.001, 0.004, 0.002}, 0.01, "1%"},
		{"data above the bound", []float64{0.001, 0.024, 0.002}, 0.01, "3%"},
		{"all zero under a bound", []float64{0, 0, 0}, 0.01, "1%"},
		{"all zero", []float64{0, 0, 0}, math.NaN(), "100%"},
		{"all equal", []float64{0.02, 0.02}, math.NaN(), "2%"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var points []Point
			for i, v := range tt.vs {
				points = append(points, Point{minutes(float64(i)), v})
			}
			nodes := parse(t, Line(LineChart{
				Title:  "error rate",
				Series: []Series{{Name: "canary", Points: points}},
				Bounds: []Bound{{Value: tt.bound}},
				Unit:   Percent,
			}))
			_, _, top, bottom := plotArea(t, nodes)
			labels := find(nodes, "text", "axis")
			if got := labels[len(find(nodes, "line", "grid"))-1].text; got != tt.wantTop {
				t.Errorf("top tick %q, want %q", got, tt.wantTop)
			}
			path := find(nodes, "path", "series-0")
			pts, _ := pathPoints(t, path[0].attr["d"])
			for _, p := range pts {
				if p[1] < top || p[1] > bottom {
					t.Errorf("point %v outside the plot (%v to %v)", p, top, bottom)
				}
			}
			if slices.Min(tt.vs) == slices.Max(tt.vs) {
				for _, p := range pts {
					if p[1] != pts[0][1] {
						t.Errorf("equal values, yet the line is not flat: %v", pts)
					}
				}
			}
			bounds := find(nodes, "line", "bound")
			if math.IsNaN(tt.bound) {
				if len(bounds) != 0 {
					t.Errorf("a NaN bound is drawn")
				}
				return
			}
			if len(bounds) != 1 {
				t.Fatalf("%d bound lines, want 1", len(bounds))
			}
			if y := bounds[0].num(t, "y1"); y < top || y > bottom {
				t.Errorf("bound at y=%v outside the plot (%v to %v)", y, top, bottom)
			}
			if label := find(nodes, "text", "bound"); len(label) != 1 || label[0].text != Percent(tt.bound) {
				t.Errorf("bound label %v, want %q", label, Percent(tt.bound))
			}
		})
	}
}

func TestLineGaps(t *testing.T) {
	points := []Point{
		{minutes(0), 1}, {minutes(1), 2},
		{minutes(2), math.NaN()},
		{minutes(3), 3}, // alone between gaps: a dot
		{minutes(4), math.Inf(1)},
		{minutes(5), 2}, {minutes(6), 1},
	}
	nodes := parse(t, Line(LineChart{Title: "x", Series: []Series{{Name: "canary", Points: points}}}))
	path := find(nodes, "path", "series-0", "line")
	pts, moves := pathPoints(t, path[0].attr["d"])
	if len(pts) != 4 || moves != 2 {
		t.Errorf("path %q: %d points in %d stretches, want 4 in 2", path[0].attr["d"], len(pts), moves)
	}
	if alone := find(nodes, "circle", "series-0", "point"); len(alone) != 1 {
		t.Errorf("%d dots for points alone, want 1", len(alone))
	}
}

func TestLineSortsPoints(t *testing.T) {
	sorted := []Point{{minutes(0), 1}, {minutes(1), 2}, {minutes(2), 3}}
	shuffled := []Point{sorted[2], sorted[0], sorted[1]}
	a := Line(LineChart{Title: "x", Series: []Series{{Points: sorted}}})
	b := Line(LineChart{Title: "x", Series: []Series{{Points: shuffled}}})
	if a != b {
		t.Errorf("points out of order draw differently")
	}
	if shuffled[0] != sorted[2] {
		t.Errorf("Line reordered the caller's points")
	}
}

func TestEscaping(t *testing.T) {
	const evil = `<script>alert("x&y")</script>`
	charts := map[string]template.HTML{
		"line": Line(LineChart{
			Title: evil, Desc: evil,
			Series: []Series{{Name: evil, Points: []Point{{minutes(0), 1}, {minutes(1), 2}}}},
			Bounds: []Bound{{Value: 1, Label: evil}},
			Bands:  []Band{{Low: 0, High: 1, Label: evil}},
		}),
		"line desc from the data": Line(LineChart{
			Title:  evil,
			Series: []Series{{Name: evil, Points: []Point{{minutes(0), 1}}}},
		}),
		"step": Step(StepChart{
			Title:  evil,
			Weight: []Point{{minutes(0), 10}},
			Events: []Event{{T: minutes(1), Label: evil, Kind: EventFail}},
		}),
		"bars": Bars(BarChart{
			Title: evil, Labels: []string{evil},
			Series: []BarSeries{{Name: evil, Values: []float64{1}}},
		}),
		"sparkline":   Sparkline(SparklineChart{Title: evil, Values: []float64{1, 2}}),
		"placeholder": Line(LineChart{Title: evil}),
		"unit": Line(LineChart{
			Title:  "x",
			Series: []Series{{Points: []Point{{minutes(0), 1}}}},
			Unit:   func(float64) string { return evil },
		}),
	}
	for name, h := range charts {
		t.Run(name, func(t *testing.T) {
			nodes := parse(t, h)
			if strings.Contains(string(h), "<script") {
				t.Errorf("unescaped <script>:\n%s", h)
			}
			if !strings.Contains(string(h), "&lt;script&gt;") {
				t.Errorf("the escaped name is missing:\n%s", h)
			}
			if nodes[1].text != evil && name != "unit" {
				t.Errorf("title decodes to %q, want %q", nodes[1].text, evil)
			}
		})
	}
}

func TestInvalidXMLCharacters(t *testing.T) {
	h := Line(LineChart{Title: "a\x00b\x1b", Series: []Series{{Name: "\xff", Points: []Point{{minutes(0), 1}}}}})
	parse(t, h) // well-formed despite characters XML cannot hold
}

// TestOddInputs draws what the dashboard may well pass before it has data, and checks that each chart is
// well-formed, writes no NaN, and shows the placeholder exactly when there is nothing to draw.
func TestOddInputs(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	one := []Point{{minutes(0), 0.5}}
	tests := []struct {
		name        string
		html        template.HTML
		placeholder bool
	}{
		{"line: zero value", Line(LineChart{}), true},
		{"line: empty series", Line(LineChart{Series: []Series{{Name: "canary"}, {Name: "stable"}}}), true},
		{"line: only NaN and Inf", Line(LineChart{Series: []Series{{Points: []Point{{minutes(0), nan}, {minutes(1), inf}}}}}), true},
		{"line: only a bound", Line(LineChart{Bounds: []Bound{{Value: 1}}}), true},
		{"line: one point", Line(LineChart{Series: []Series{{Name: "canary", Points: one}}}), false},
		{"line: one point, one empty series", Line(LineChart{Series: []Series{{Name: "canary", Points: one}, {Name: "stable"}}}), false},
		{"line: all zero", Line(LineChart{Series: []Series{{Points: []Point{{minutes(0), 0}, {minutes(1), 0}}}}}), false},
		{"line: zero times", Line(LineChart{Series: []Series{{Points: []Point{{time.Time{}, 1}, {time.Time{}, 2}}}}}), false},
		{"line: negative", Line(LineChart{Series: []Series{{Points: []Point{{minutes(0), -3}, {minutes(1), -1}}}}}), false},
		{"line: huge", Line(LineChart{Series: []Series{{Points: []Point{{minutes(0), -1e300}, {minutes(1), 1e300}}}}}), false},
		{"line: extreme", Line(LineChart{Series: []Series{{Points: []Point{{minutes(0), -math.MaxFloat64}, {minutes(1), math.MaxFloat64}}}}}), false},
		{"line: tiny", Line(LineChart{Series: []Series{{Points: []Point{{minutes(0), 1e-12}, {minutes(1), 3e-12}}}}}), false},
		{"line: NaN bound and band", Line(LineChart{Series: []Series{{Points: one}},
			Bounds: []Bound{{Value: nan}}, Bands: []Band{{Low: inf, High: 1}}}), false},
		{"line: two years", Line(LineChart{Series: []Series{{Points: []Point{{minutes(0), 1}, {t0.AddDate(2, 0, 0), 2}}}}}), false},
		{"line: tiny size", Line(LineChart{Series: []Series{{Points: one}}, Width: 40, Height: 20}), false},
		{"step: zero value", Step(StepChart{}), true},
		{"step: only NaN", Step(StepChart{Weight: []Point{{minutes(0), nan}}}), true},
		{"step: one weight", Step(StepChart{Weight: []Point{{minutes(0), 10}}}), false},
		{"step: out of range", Step(StepChart{Weight: []Point{{minutes(0), -5}, {minutes(1), 150}}}), false},
		{"step: events only", Step(StepChart{Events: []Event{{T: minutes(0), Label: "queued"}}}), false},
		{"step: until before the data", Step(StepChart{Weight: []Point{{minutes(5), 10}}, Until: minutes(0)}), false},
		{"bars: zero value", Bars(BarChart{}), true},
		{"bars: labels only", Bars(BarChart{Labels: []string{"a", "b"}}), true},
		{"bars: only NaN", Bars(BarChart{Labels: []string{"a"}, Series: []BarSeries{{Values: []float64{nan}}}}), true},
		{"bars: one", Bars(BarChart{Labels: []string{"a"}, Series: []BarSeries{{Values: []float64{3}}}}), false},
		{"bars: all zero", Bars(BarChart{Labels: []string{"a", "b"}, Series: []BarSeries{{Values: []float64{0, 0}}}}), false},
		{"bars: negative", Bars(BarChart{Labels: []string{"a", "b"}, Series: []BarSeries{{Values: []float64{-2, 3}}}}), false},
		{"bars: more values than labels", Bars(BarChart{Labels: []string{"a"}, Series: []BarSeries{{Values: []float64{1, 2, 3}}}}), false},
		{"bars: uneven series", Bars(BarChart{Labels: []string{"a", "b"},
			Series: []BarSeries{{Name: "now", Values: []float64{1, 2}}, {Name: "before", Values: []float64{4}}}}), false},
		{"sparkline: nil", Sparkline(SparklineChart{}), true},
		{"sparkline: only NaN", Sparkline(SparklineChart{Values: []float64{nan, inf}}), true},
		{"sparkline: one", Sparkline(SparklineChart{Values: []float64{4}}), false},
		{"sparkline: all equal", Sparkline(SparklineChart{Values: []float64{4, 4, 4}}), false},
		{"sparkline: extreme", Sparkline(SparklineChart{Values: []float64{-math.MaxFloat64, math.MaxFloat64}}), false},
		{"bars: extreme", Bars(BarChart{Series: []BarSeries{{Values: []float64{-math.MaxFloat64, math.MaxFloat64}}}}), false},
		{"sparkline: gaps", Sparkline(SparklineChart{Values: []float64{1, nan, 3, inf, 2}}), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nodes := parse(t, tt.html)
			if got := nodes[2].text == noData; got != tt.placeholder {
				t.Errorf("placeholder: %v, want %v; desc %q", got, tt.placeholder, nodes[2].text)
			}
			if s := string(tt.html); strings.Contains(s, "NaN") || strings.Contains(s, "Inf") {
				t.Errorf("NaN or Inf written:\n%s", s)
			}
			checkNumbers(t, tt.html)
		})
	}
}

func TestSparklineFlat(t *testing.T) {
	nodes := parse(t, Sparkline(SparklineChart{Values: []float64{4, 4, 4}}))
	pts, _ := pathPoints(t, find(nodes, "path", "line")[0].attr["d"])
	if len(pts) != 3 || pts[0][1] != 12 || pts[1][1] != 12 || pts[2][1] != 12 {
		t.Errorf("equal values: %v, want three points across the middle, y=12", pts)
	}
	if root := nodes[0]; root.attr["width"] != "100" || root.attr["height"] != "24" {
		t.Errorf("sparkline sized %sx%s, want 100x24 pixels", root.attr["width"], root.attr["height"])
	}
}

var numericAttrs = map[string]bool{"x": true, "y": true, "x1": true, "y1": true, "x2": true, "y2": true,
	"cx": true, "cy": true, "r": true, "rx": true, "width": true, "height": true, "d": true, "font-size": true,
	"viewBox": true}

// numberRe matches the numbers of coordinates and paths.
var numberRe = regexp.MustCompile(`-?\d+(\.\d+)?(e[-+]?\d+)?`)

// checkNumbers checks that coordinates are written compactly: at most one decimal, no exponent, never -0.
func checkNumbers(t *testing.T, h template.HTML) {
	t.Helper()
	for _, n := range parse(t, h) {
		for name, v := range n.attr {
			if !numericAttrs[name] {
				continue
			}
			for _, num := range numberRe.FindAllString(v, -1) {
				if num == "-0" || strings.Contains(num, "e") || strings.Contains(num, ".") && len(strings.Split(num, ".")[1]) > 1 {
					t.Errorf("<%s %s=%q>: %q is not compact", n.name, name, v, num)
				}
			}
		}
	}
}

// listRowRe matches a row of a step chart's list of events: "2 12:12:00 analysis failed".
var listRowRe = regexp.MustCompile(`^\d+ \d\d:\d\d:\d\d `)

func TestStepEvents(t *testing.T) {
	long := "rolled back: error_rate 4.1% > max 1% on " + strings.Repeat("a very long reason ", 10)
	c := StepChart{
		Title:  "traffic weight",
		Weight: []Point{{minutes(0), 10}, {minutes(5), 50}, {minutes(12), 0}},
		Until:  minutes(20),
		Events: []Event{
			{T: minutes(12), Label: "analysis failed", Kind: EventFail},
			{T: minutes(0), Label: "step 1: weight 10%"},
			{T: minutes(12), Label: long, Kind: EventFail},
			{T: minutes(20), Label: "done", Kind: EventOK},
		},
	}
	h := Step(c)
	nodes := parse(t, h)
	root := nodes[0]
	if root.attr["viewBox"] != "0 0 640 "+coord(200+18*0.2+4*18*1.4) {
		t.Errorf("viewBox %q: want the height of the chart and four rows of events", root.attr["viewBox"])
	}
	// Events are numbered in time order; the two at 12 minutes share one number label.
	var marks []string
	for _, n := range find(nodes, "text", "event") {
		marks = append(marks, n.text)
	}
	if want := []string{"1", "2,3", "4"}; !slices.Equal(marks, want) {
		t.Errorf("event numbers %q, want %q", marks, want)
	}
	if n := len(find(nodes, "text", "event", "fail")); n != 1 {
		t.Errorf("%d fail labels, want 1 (the shared one)", n)
	}
	var list []string
	for _, n := range find(nodes, "text") {
		if n.attr["class"] == "" && listRowRe.MatchString(n.text) {
			list = append(list, n.text)
		}
	}
	want := []string{"1 12:00:00 step 1: weight 10%", "2 12:12:00 analysis failed", "3 12:12:00 rolled back", "4 12:20:00 done"}
	if len(list) != len(want) {
		t.Fatalf("event list %q, want %d rows", list, len(want))
	}
	for i := range want {
		if !strings.HasPrefix(list[i], want[i]) {
			t.Errorf("event row %d: %q, want it to begin %q", i+1, list[i], want[i])
		}
	}
	if !strings.HasSuffix(list[2], "…") || textWidth(list[2], 18) > 640 {
		t.Errorf("a long event is not clipped: %q", list[2])
	}
	if desc := nodes[2].text; !strings.Contains(desc, long) ||
		!strings.Contains(desc, "10% at 12:00:00, 50% at 12:05:00, 0% at 12:12:00") {
		t.Errorf("desc %q: want every weight and the events whole", desc)
	}
	// The staircase holds each weight until the next and the last until Until.
	left, right, top, bottom := plotArea(t, nodes)
	pts, _ := pathPoints(t, find(nodes, "path", "weight", "line")[0].attr["d"])
	x := func(m float64) float64 { return left + m/20*(right-left) }
	y := func(w float64) float64 { return bottom - w/100*(bottom-top) }
	wantPts := [][2]float64{{x(0), y(10)}, {x(5), y(10)}, {x(5), y(50)}, {x(12), y(50)}, {x(12), y(0)}, {x(20), y(0)}}
	near := func(a, b [2]float64) bool { return math.Abs(a[0]-b[0]) <= 0.11 && math.Abs(a[1]-b[1]) <= 0.11 }
	if !slices.EqualFunc(pts, wantPts, near) {
		t.Errorf("staircase %v, want %v", pts, wantPts)
	}
}

func TestBarsLayout(t *testing.T) {
	t.Run("values written when they fit", func(t *testing.T) {
		nodes := parse(t, Bars(BarChart{
			Labels: []string{"deployments", "failures"},
			Series: []BarSeries{{Name: "now", Values: []float64{23, 2}}, {Name: "before", Values: []float64{17, math.NaN()}}},
		}))
		if n := len(find(nodes, "rect", "bar")); n != 3 {
			t.Errorf("%d bars, want 3 (a NaN draws none)", n)
		}
		var values []string
		for _, n := range find(nodes, "text", "values") {
			values = append(values, n.text)
		}
		if want := []string{"23", "2", "17"}; !slices.Equal(values, want) {
			t.Errorf("values %q, want %q", values, want)
		}
		// Bars stand on zero, the bottom of the plot, and the taller value is the taller bar.
		_, _, _, bottom := plotArea(t, nodes)
		bars := find(nodes, "rect", "bar")
		for _, b := range bars {
			if got := b.num(t, "y") + b.num(t, "height"); math.Abs(got-bottom) > 0.11 {
				t.Errorf("bar ends at %v, want the bottom, %v", got, bottom)
			}
		}
		if bars[0].num(t, "height") <= bars[2].num(t, "height") {
			t.Errorf("23 is not taller than 17")
		}
		if tip := find(nodes, "title")[1].text; tip != "deployments: now 23" {
			t.Errorf("first bar's tooltip %q", tip)
		}
	})
	t.Run("crowded", func(t *testing.T) {
		var labels []string
		var values []float64
		for i := range 52 {
			labels = append(labels, minutes(0).AddDate(0, 0, 7*i).Format("Jan 2"))
			values = append(values, 1234.5+float64(i))
		}
		nodes := parse(t, Bars(BarChart{Labels: labels, Series: []BarSeries{{Values: values}}}))
		if n := len(find(nodes, "text", "values")); n != 0 {
			t.Errorf("%d value labels on 52 narrow bars, want none", n)
		}
		var written []string
		for _, n := range find(nodes, "text", "axis") {
			if !strings.ContainsAny(n.text[:1], "0123456789") {
				written = append(written, n.text)
			}
		}
		if len(written) == 0 || len(written) > 10 || written[0] != "Mar 4" {
			t.Errorf("category labels %q: want a few, from Mar 4", written)
		}
		for i := range written[1:] {
			if textWidth(written[i], 18) > 640/float64(len(written)) {
				t.Errorf("labels %q overlap", written)
			}
		}
	})
}

func TestDescriptions(t *testing.T) {
	tests := []struct {
		name string
		html template.HTML
		want string
	}{
		{"line", Line(LineChart{
			Series: []Series{
				{Name: "canary", Points: []Point{{minutes(0), 0.002}, {minutes(10), 0.026}, {minutes(20), 0.024}}},
				{Name: "stable", Points: []Point{{minutes(0), 0.003}, {minutes(20), math.NaN()}}},
			},
			Bounds: []Bound{{Value: 0.01, Label: "max 1%"}},
			Bands:  []Band{{Low: 0.001, High: 0.004, Label: "usual"}},
			Unit:   Percent,
		}), "canary vs stable from 12:00:00 to 12:20:00; canary last 2.4%, highest 2.6%; stable last 0.3%, highest 0.3%; " +
			"bound max 1%; band usual 0.1% to 0.4%"},
		{"line over days", Line(LineChart{
			Series: []Series{{Name: "p99", Points: []Point{{minutes(0), 0.2}, {minutes(3 * 24 * 60), 0.25}}}},
			Unit:   Seconds,
		}), "p99 from Mar 4 12:00 to Mar 7 12:00; p99 last 250ms, highest 250ms"},
		{"line with its own", Line(LineChart{Desc: "mine", Series: []Series{{Points: []Point{{minutes(0), 1}}}}}), "mine"},
		{"unnamed", Line(LineChart{Series: []Series{{Points: []Point{{minutes(0), 1}}}}}), "at 12:00:00; series 1 last 1, highest 1"},
		{"bars", Bars(BarChart{Labels: []string{"Mar 3", "Mar 10"}, Series: []BarSeries{{Values: []float64{4, 6}}}}),
			"Mar 3: 4, Mar 10: 6"},
		{"bars against", Bars(BarChart{Labels: []string{"deployments"},
			Series: []BarSeries{{Name: "now", Values: []float64{4}}, {Name: "before", Values: []float64{math.NaN()}}}}),
			"now vs before; deployments: now 4, before none"},
		{"sparkline", Sparkline(SparklineChart{Values: []float64{61, 58, math.NaN(), 90, 63}, Unit: Seconds}),
			"4 values from 58s to 90s, last 63s"},
		{"step", Step(StepChart{Weight: []Point{{minutes(0), 10}}, Until: minutes(5)}),
			"weight from 12:00:00 to 12:05:00: 10% at 12:00:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := parse(t, tt.html)[2].text; got != tt.want {
				t.Errorf("desc\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestIDsDiffer(t *testing.T) {
	a := parse(t, Sparkline(SparklineChart{Values: []float64{1, 2}}))
	b := parse(t, Sparkline(SparklineChart{Values: []float64{2, 1}}))
	if a[1].attr["id"] == b[1].attr["id"] {
		t.Errorf("two different charts share the id %q", a[1].attr["id"])
	}
}

func TestGolden(t *testing.T) {
	for name, h := range samples() {
		t.Run(name, func(t *testing.T) {
			checkNumbers(t, h)
			if again := samples()[name]; again != h {
				t.Fatalf("a second render differs")
			}
			golden := filepath.Join("testdata", name+".svg")
			if *update {
				if err := os.WriteFile(golden, []byte(h+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to write it)", err)
			}
			if string(h)+"\n" != string(want) {
				t.Errorf("%s differs from %s (go test -update rewrites it; look at it with -preview first):\n%s", name, golden, h)
			}
		})
	}
}

func TestStylesheet(t *testing.T) {
	css := Stylesheet()
	for _, want := range []string{
		".chart .series-0 { color: var(--chart-series-0); }",
		".chart .series-1 { color: var(--chart-series-1); }",
		".chart .event.fail { color: var(--chart-fail); }",
		".chart .event.ok { color: var(--chart-ok); }",
		".chart .event.info { color: var(--chart-info); }",
		"@media (prefers-color-scheme: dark)",
	} {
		if !strings.Contains(css, want) {
			t.Errorf("stylesheet lacks %q:\n%s", want, css)
		}
	}
	if strings.Count(css, "{") != strings.Count(css, "}") {
		t.Errorf("unbalanced braces:\n%s", css)
	}
}

// TestLegendWraps checks that a legend too wide for one row wraps, and that the plot starts below it.
func TestLegendWraps(t *testing.T) {
	var series []Series
	for _, name := range []string{"canary release 42", "stable release 41", "previous release 40", "baseline"} {
		series = append(series, Series{Name: name, Points: []Point{{minutes(0), 1}, {minutes(1), 2}}})
	}
	for _, h := range []template.HTML{
		Line(LineChart{Series: series, Width: 360}),
		Bars(BarChart{Labels: []string{"a"}, Series: []BarSeries{{Name: series[0].Name, Values: []float64{1}},
			{Name: series[1].Name, Values: []float64{2}}, {Name: series[2].Name, Values: []float64{3}}}, Width: 360}),
	} {
		nodes := parse(t, h)
		_, _, top, _ := plotArea(t, nodes)
		rows := map[float64]bool{}
		for _, n := range find(nodes, "text", "legend") {
			rows[n.num(t, "y")] = true
			if y := n.num(t, "y"); y >= top {
				t.Errorf("legend %q at y=%v, in the plot (top %v)", n.text, y, top)
			}
			if x := n.num(t, "x"); x+textWidth(n.text, 10) > 360 {
				t.Errorf("legend %q at x=%v overflows the chart", n.text, x)
			}
		}
		if len(rows) < 2 {
			t.Errorf("legend in %d row, want it wrapped", len(rows))
		}
	}
}

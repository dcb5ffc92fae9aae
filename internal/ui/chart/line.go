package chart

import (
	"cmp"
	"html/template"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// LineChart is values over time, one line per series: canary against stable, with the bound they are held to.
type LineChart struct {
	// Title names the chart to a screen reader and as a tooltip ("error rate"); the page writes its heading.
	Title string
	// Desc describes the data in words. Empty means one written from the data: the series, the time span,
	// each series' last and highest values, the bounds.
	Desc   string
	Series []Series
	Bounds []Bound
	Bands  []Band
	// Unit writes values on the axis, in the legend and in the description, such as Percent; nil means Number.
	Unit func(float64) string
	// Width and Height are in viewBox units; zero means DefaultWidth and DefaultHeight.
	Width, Height int
}

// Line draws c as an SVG line chart. Time runs along X; the Y axis always includes zero, so that heights
// compare honestly, and reaches at least to every value, bound and band, on round ticks. A missing value (NaN
// or infinite) breaks its series' line; a point alone between gaps shows as a dot. Each series' last value is
// marked and written in the legend. A chart with no value to draw says "no data yet".
func Line(c LineChart) template.HTML {
	w, h := size(c.Width, c.Height, DefaultWidth, DefaultHeight)
	unit := unitOr(c.Unit)

	series := make([][]Point, len(c.Series))
	var t0, t1 time.Time
	lo, hi := 0.0, 0.0
	found := false
	for i, s := range c.Series {
		series[i] = slices.SortedStableFunc(slices.Values(s.Points), func(a, b Point) int { return a.T.Compare(b.T) })
		for _, p := range series[i] {
			if !finite(p.V) {
				continue
			}
			if !found || p.T.Before(t0) {
				t0 = p.T
			}
			if !found || p.T.After(t1) {
				t1 = p.T
			}
			lo, hi, found = math.Min(lo, p.V), math.Max(hi, p.V), true
		}
	}
	if !found {
		return placeholder("line", c.Title, w, h)
	}
	for _, b := range c.Bounds {
		if finite(b.Value) {
			lo, hi = math.Min(lo, b.Value), math.Max(hi, b.Value)
		}
	}
	for _, b := range c.Bands {
		if finite(b.Low) && finite(b.High) {
			lo, hi = math.Min(lo, math.Min(b.Low, b.High)), math.Max(hi, math.Max(b.Low, b.High))
		}
	}
	d := &doc{kind: "line", w: w, h: h, fs: fontSize(w), title: c.Title, desc: c.Desc}
	fs := d.fs
	if d.desc == "" {
		d.desc = describeLine(c, series, t0, t1, unit)
	}
	if t0.Equal(t1) {
		// One instant: centre it in a minute so that it has an axis around it.
		t0, t1 = t0.Add(-30*time.Second), t1.Add(30*time.Second)
	}

	var items []legendItem
	for i, s := range c.Series {
		if s.Name == "" {
			continue
		}
		text := s.Name + " no data"
		if p, ok := last(series[i]); ok {
			text = s.Name + " " + unit(p.V)
		}
		items = append(items, legendItem{series: i, text: text})
	}
	// The legend goes last so that it is drawn over the plot; measure its rows first on a scratch doc.
	top := (&doc{fs: fs}).legend(items, legendLeft(fs), w, false)
	if top == 0 {
		top = fs * 0.8
	}
	bottom := h - fs*1.8
	ticks := niceTicks(lo, hi, yTickCount(bottom-top, fs))
	left := yLabelWidth(ticks, unit, fs)
	right := w - fs*0.8
	y := linear{ticks[0], ticks[len(ticks)-1], bottom, top}
	x := timeScale{t0, t1, left, right}

	d.yAxis(ticks, y, left, right, unit)
	for _, b := range c.Bands {
		if !finite(b.Low) || !finite(b.High) {
			continue
		}
		y0, y1 := y.at(math.Max(b.Low, b.High)), y.at(math.Min(b.Low, b.High))
		d.printf(`<g class="band">`)
		d.printf(`<rect x="%s" y="%s" width="%s" height="%s" fill="currentColor" fill-opacity="0.08"/>`,
			coord(left), coord(y0), coord(right-left), coord(y1-y0))
		if b.Label != "" {
			d.text(left+fs*0.3, y0+fs*1.05, "start", "", b.Label, ` fill-opacity="0.75"`)
		}
		d.printf(`</g>`)
	}
	xAxis(d, x, bottom)
	for i := range series {
		drawLine(d, i, series[i], x, y)
	}
	for _, b := range c.Bounds {
		if !finite(b.Value) {
			continue
		}
		label := boundText(b, unit)
		by := y.at(b.Value)
		ly := by - fs*0.35
		if ly-fs < top-fs*0.3 {
			ly = by + fs*1.05 // no room above: write it under the line
		}
		d.printf(`<g class="bound">`)
		d.printf(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="currentColor" stroke-width="1.5" stroke-dasharray="6 4"/>`,
			coord(left), coord(by), coord(right), coord(by))
		d.text(right, ly, "end", "", label, "")
		d.printf(`</g>`)
	}
	d.legend(items, legendLeft(fs), w, false)
	return d.html()
}

// drawLine writes series i: a path through its points that breaks at missing values, a dot for a point alone
// between gaps, and a larger dot on the last value.
func drawLine(d *doc, i int, points []Point, x timeScale, y linear) {
	lastPoint, ok := last(points)
	if !ok {
		return
	}
	class, color := seriesColor(i)
	var path strings.Builder
	var alone []Point
	for _, s := range stretches(points, func(p Point) bool { return finite(p.V) }) {
		if len(s) == 1 {
			alone = append(alone, s[0])
			continue
		}
		for j, p := range s {
			path.WriteString(cond(j == 0, "M", "L") + coord(x.at(p.T)) + " " + coord(y.at(p.V)))
		}
	}
	d.printf(`<g class="series %s" color="%s">`, class, color)
	if path.Len() > 0 {
		d.printf(`<path class="line" d="%s" fill="none" stroke="currentColor" stroke-width="2.5" stroke-linejoin="round" stroke-linecap="round"/>`,
			path.String())
	}
	for _, p := range alone {
		d.printf(`<circle class="point" cx="%s" cy="%s" r="%s" fill="currentColor"/>`,
			coord(x.at(p.T)), coord(y.at(p.V)), coord(d.fs*0.15))
	}
	d.printf(`<circle class="last" cx="%s" cy="%s" r="%s" fill="currentColor"/>`,
		coord(x.at(lastPoint.T)), coord(y.at(lastPoint.V)), coord(d.fs*0.25))
	d.printf(`</g>`)
}

// stretches splits xs into its runs of elements that are ok, dropping the others.
func stretches[T any](xs []T, ok func(T) bool) [][]T {
	var out [][]T
	start := -1
	for i, x := range xs {
		switch {
		case ok(x) && start < 0:
			start = i
		case !ok(x) && start >= 0:
			out, start = append(out, xs[start:i]), -1
		}
	}
	if start >= 0 {
		out = append(out, xs[start:])
	}
	return out
}

func cond(c bool, yes, no string) string {
	if c {
		return yes
	}
	return no
}

// xAxis writes the baseline of a plot at y = bottom and its times, ticked on round times.
func xAxis(d *doc, x timeScale, bottom float64) {
	fs := d.fs
	span := x.t1.Sub(x.t0)
	labelW := textWidth("Mar 22", fs)
	if span < time.Hour {
		labelW = textWidth("15:04:05", fs)
	}
	ticks, step := timeTicks(x.t0, x.t1, int((x.r1-x.r0)/(labelW+fs))+1)
	d.printf(`<g class="axis" fill-opacity="0.75">`)
	d.printf(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="currentColor" stroke-opacity="0.5"/>`,
		coord(x.r0), coord(bottom), coord(x.r1), coord(bottom))
	for _, t := range ticks {
		tx := x.at(t)
		d.printf(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="currentColor" stroke-opacity="0.5"/>`,
			coord(tx), coord(bottom), coord(tx), coord(bottom+fs*0.3))
		anchor := "middle"
		switch {
		case tx+labelW/2 > d.w:
			anchor = "end"
		case tx-labelW/2 < 0:
			anchor = "start"
		}
		d.text(tx, bottom+fs*1.35, anchor, "", tickLabel(t, span, step), "")
	}
	d.printf(`</g>`)
}

// last returns the last point with a value.
func last(points []Point) (Point, bool) {
	for i := len(points) - 1; i >= 0; i-- {
		if finite(points[i].V) {
			return points[i], true
		}
	}
	return Point{}, false
}

// describeLine writes what a line chart shows: "canary vs stable, 12:00 to 12:30; canary last 2.4%, highest
// 2.6%; stable last 0.3%, highest 0.4%; bound max 1%".
func describeLine(c LineChart, series [][]Point, t0, t1 time.Time, unit func(float64) string) string {
	var names []string
	for _, s := range c.Series {
		if s.Name != "" {
			names = append(names, s.Name)
		}
	}
	parts := []string{strings.TrimSpace(strings.Join(names, " vs ") + " " + describeSpan(t0, t1))}
	for i, s := range c.Series {
		p, ok := last(series[i])
		name := s.Name
		if name == "" {
			name = "series " + strconv.Itoa(i+1)
		}
		if !ok {
			parts = append(parts, name+" no data")
			continue
		}
		top := slices.MaxFunc(finitePoints(series[i]), func(a, b Point) int { return cmp.Compare(a.V, b.V) })
		parts = append(parts, name+" last "+unit(p.V)+", highest "+unit(top.V))
	}
	for _, b := range c.Bounds {
		if finite(b.Value) {
			parts = append(parts, "bound "+boundText(b, unit))
		}
	}
	for _, b := range c.Bands {
		if finite(b.Low) && finite(b.High) {
			parts = append(parts, strings.TrimSpace("band "+b.Label)+" "+unit(b.Low)+" to "+unit(b.High))
		}
	}
	return strings.Join(parts, "; ")
}

func boundText(b Bound, unit func(float64) string) string {
	if b.Label == "" {
		return unit(b.Value)
	}
	return b.Label
}

func finitePoints(points []Point) []Point {
	var out []Point
	for _, p := range points {
		if finite(p.V) {
			out = append(out, p)
		}
	}
	return out
}

// describeSpan writes the time from t0 to t1 as a description does: "from 12:00:00 to 12:30:00", with the
// date beyond a day.
func describeSpan(t0, t1 time.Time) string {
	layout := longLayout(t0, t1)
	if !t1.After(t0) {
		return "at " + t0.Format(layout)
	}
	return "from " + t0.Format(layout) + " to " + t1.Format(layout)
}

// longLayout is how words (not an axis) write a time between t0 and t1: as the axis does, with the time of
// day added to dates.
func longLayout(t0, t1 time.Time) string {
	if t1.Sub(t0) >= day {
		return "Jan 2 15:04"
	}
	return timeLayout(t1.Sub(t0))
}

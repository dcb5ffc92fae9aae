// Package chart draws the dashboard's charts as inline SVG, on the server, with nothing for the browser to
// run: Line (canary against stable over time, with bounds), Step (a rollout's traffic weight and its events),
// Bars (counts per period, against the previous window) and Sparkline (a tiny trend for a table cell).
//
// Every chart is an <svg role="img"> whose <title> is the chart's title and whose <desc> says in words what
// the data show, so a screen reader gets the numbers too. Charts scale to their container (a viewBox and
// width="100%"); their text is sized for a 640-unit-wide chart shown 360 pixels wide on a phone. Colours come
// from class names (series-0, series-1, bound, band, grid, axis, event ok/fail/info) with default colours
// written in as presentation attributes, so a chart reads well on its own and the page's CSS, Stylesheet
// included, sets the palette and its dark variant. No style attribute is written: the dashboard's
// Content-Security-Policy forbids inline styles.
//
// The output is template.HTML: the package escapes every text it writes (titles, labels, series names) and
// builds the rest from numbers. Output is deterministic: the same chart gives the same bytes.
//
// It owns drawing only: it imports no ferry package, reads no clock and does no I/O; the dashboard turns
// samples, rollout events and DORA figures into the types below.
package chart

import (
	"math"
	"time"
)

// Point is a value at a time. A V that is NaN or infinite is missing: Line breaks the series there.
type Point struct {
	T time.Time
	V float64
}

// Series is a named line. Its name is the legend's ("canary", "stable") and its position among the chart's
// series picks its class: the first is series-0, the second series-1 and so on.
type Series struct {
	Name   string
	Points []Point
}

// Bound is a horizontal line at Value, such as an analysis check's max. Label is written at its right end
// ("max 1%"); empty means the Value in the chart's unit.
type Bound struct {
	Value float64
	Label string
}

// Band is a shaded range of values, from Low to High, such as the range a metric is expected to stay in.
// Label, if any, is written at its top left.
type Band struct {
	Low, High float64
	Label     string
}

// Default sizes, in viewBox units. The page scales a chart to its container's width.
const (
	DefaultWidth  = 640
	DefaultHeight = 220
)

// noData is what a chart with nothing to draw says, visibly and in its description.
const noData = "no data yet"

// finite reports whether v can be drawn.
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// size returns w×h, or the defaults for zero or negative values.
func size(w, h, defW, defH int) (float64, float64) {
	if w <= 0 {
		w = defW
	}
	if h <= 0 {
		h = defH
	}
	return float64(w), float64(h)
}

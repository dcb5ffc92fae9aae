package chart

import (
	"html/template"
	"math"
	"strconv"
	"strings"
)

// SparklineChart is a short run of values for a table cell, such as the durations of a pipeline's last runs.
type SparklineChart struct {
	// Title names the sparkline to a screen reader and as a tooltip ("duration of the last 20 runs").
	Title string
	// Values are oldest first and evenly spaced; a NaN or infinite value is a gap.
	Values []float64
	// Unit writes values in the description; nil means Number.
	Unit func(float64) string
	// Width and Height are in pixels (a sparkline does not scale with its container); zero means 100×24.
	Width, Height int
}

// Sparkline draws c as a bare line, without axes or text, spanning its lowest value to its highest, with a dot
// on the last value. All-equal values draw a flat line across the middle. Its description gives the count,
// the range and the last value; with nothing to draw it is a faint dashed line described as "no data yet".
func Sparkline(c SparklineChart) template.HTML {
	w, h := size(c.Width, c.Height, 100, 24)
	unit := unitOr(c.Unit)
	title := c.Title
	if title == "" {
		title = "trend"
	}
	d := &doc{kind: "sparkline", w: w, h: h, fixed: true, title: title}

	lo, hi, count, lastI := math.Inf(1), math.Inf(-1), 0, -1
	for i, v := range c.Values {
		if finite(v) {
			lo, hi, count, lastI = math.Min(lo, v), math.Max(hi, v), count+1, i
		}
	}
	if count == 0 {
		d.desc = noData
		d.printf(`<line class="placeholder" x1="0" y1="%s" x2="%s" y2="%s" stroke="currentColor" stroke-opacity="0.3" stroke-dasharray="3 3"/>`,
			coord(h/2), coord(w), coord(h/2))
		return d.html()
	}
	d.desc = strconv.Itoa(count) + " values from " + unit(lo) + " to " + unit(hi) + ", last " + unit(c.Values[lastI])
	if count == 1 {
		d.desc = "1 value: " + unit(c.Values[lastI])
	}

	const pad = 2.5 // keeps the last dot inside
	x := linear{0, float64(len(c.Values) - 1), pad, w - pad}
	y := linear{lo, hi, h - pad, pad}
	type value struct {
		i int
		v float64
	}
	values := make([]value, len(c.Values))
	for i, v := range c.Values {
		values[i] = value{i, v}
	}
	var path strings.Builder
	var alone []value
	for _, s := range stretches(values, func(v value) bool { return finite(v.v) }) {
		if len(s) == 1 {
			alone = append(alone, s[0])
			continue
		}
		for j, v := range s {
			path.WriteString(cond(j == 0, "M", "L") + coord(x.at(float64(v.i))) + " " + coord(y.at(v.v)))
		}
	}
	d.printf(`<g class="spark">`)
	if path.Len() > 0 {
		d.printf(`<path class="line" d="%s" fill="none" stroke="currentColor" stroke-width="1.5" stroke-linejoin="round" stroke-linecap="round"/>`,
			path.String())
	}
	for _, v := range alone {
		d.printf(`<circle class="point" cx="%s" cy="%s" r="1" fill="currentColor"/>`, coord(x.at(float64(v.i))), coord(y.at(v.v)))
	}
	d.printf(`<circle class="last" cx="%s" cy="%s" r="2" fill="currentColor"/>`,
		coord(x.at(float64(lastI))), coord(y.at(c.Values[lastI])))
	d.printf(`</g>`)
	return d.html()
}

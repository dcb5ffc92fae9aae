package chart

import (
	"html/template"
	"math"
	"strings"
)

// BarChart is values per category, such as deployments per week, with an optional second series to compare
// them with, such as the previous window.
type BarChart struct {
	// Title names the chart to a screen reader and as a tooltip; the page writes its heading.
	Title string
	// Desc describes the data in words. Empty means one written from the data: every category's values.
	Desc string
	// Labels name the categories, left to right ("Mar 3", "Mar 10").
	Labels []string
	// Series are drawn side by side in each category: the first is series-0 (orange), the second series-1
	// (blue). Values[i] belongs to Labels[i]; a missing or NaN value draws no bar.
	Series []BarSeries
	// Unit writes values on the axis, above the bars and in the description; nil means Number.
	Unit func(float64) string
	// Width and Height are in viewBox units; zero means DefaultWidth and DefaultHeight.
	Width, Height int
}

// BarSeries is one value per category; its Name is the legend's ("this window", "previous window").
type BarSeries struct {
	Name   string
	Values []float64
}

// Bars draws c as vertical bars from zero. Each bar's value is written above it when every value fits its
// bar's width, and in a tooltip always; category labels are thinned to every second, third... when they do not
// fit. A chart with no value to draw says "no data yet".
func Bars(c BarChart) template.HTML {
	w, h := size(c.Width, c.Height, DefaultWidth, DefaultHeight)
	unit := unitOr(c.Unit)

	n := len(c.Labels)
	lo, hi, found := 0.0, 0.0, false
	for _, s := range c.Series {
		n = max(n, len(s.Values))
		for _, v := range s.Values {
			if finite(v) {
				lo, hi, found = math.Min(lo, v), math.Max(hi, v), true
			}
		}
	}
	if !found {
		return placeholder("bars", c.Title, w, h)
	}
	label := func(i int) string {
		if i < len(c.Labels) {
			return c.Labels[i]
		}
		return ""
	}
	value := func(s BarSeries, i int) (float64, bool) {
		if i < len(s.Values) && finite(s.Values[i]) {
			return s.Values[i], true
		}
		return 0, false
	}

	d := &doc{kind: "bars", w: w, h: h, fs: fontSize(w), title: c.Title, desc: c.Desc}
	fs := d.fs
	if d.desc == "" {
		d.desc = describeBars(c, n, label, value, unit)
	}
	var items []legendItem
	for i, s := range c.Series {
		if s.Name != "" {
			items = append(items, legendItem{series: i, text: s.Name})
		}
	}
	top := (&doc{fs: fs}).legend(items, legendLeft(fs), w, true) + fs*0.9 // and room for the values above the tallest bar
	bottom := h - fs*1.8
	ticks := niceTicks(lo, hi, yTickCount(bottom-top, fs))
	left := yLabelWidth(ticks, unit, fs)
	right := w - fs*0.5
	y := linear{ticks[0], ticks[len(ticks)-1], bottom, top}

	groupW := (right - left) / float64(n)
	k := max(len(c.Series), 1)
	barW := groupW * 0.8 / float64(k)
	valueFS := fs * 0.9
	showValues := true
	for _, s := range c.Series {
		for i := range n {
			if v, ok := value(s, i); ok && textWidth(unit(v), valueFS) > barW*1.15 {
				showValues = false
			}
		}
	}
	every := 1 // write every nth category label
	for i := range n {
		every = max(every, int(math.Ceil((textWidth(label(i), fs)+fs*0.5)/groupW)))
	}

	d.yAxis(ticks, y, left, right, unit)
	zero := y.at(0)
	for j, s := range c.Series {
		class, color := seriesColor(j)
		d.printf(`<g class="series %s" color="%s">`, class, color)
		for i := range n {
			v, ok := value(s, i)
			if !ok {
				continue
			}
			bx := left + float64(i)*groupW + groupW*0.1 + float64(j)*barW
			barTop, height := math.Min(y.at(v), zero), math.Abs(y.at(v)-zero)
			tip := unit(v)
			if s.Name != "" {
				tip = s.Name + " " + tip
			}
			if label(i) != "" {
				tip = label(i) + ": " + tip
			}
			d.printf(`<rect class="bar" x="%s" y="%s" width="%s" height="%s" fill="currentColor"><title>%s</title></rect>`,
				coord(bx+barW*0.05), coord(barTop), coord(barW*0.9), coord(height), esc(tip))
		}
		d.printf(`</g>`)
	}
	if showValues {
		d.printf(`<g class="values" font-size="%s">`, coord(valueFS))
		for j, s := range c.Series {
			for i := range n {
				v, ok := value(s, i)
				if !ok {
					continue
				}
				bx := left + float64(i)*groupW + groupW*0.1 + float64(j)*barW + barW/2
				ty := y.at(v) - valueFS*0.3
				if v < 0 {
					ty = y.at(v) + valueFS
				}
				d.text(bx, ty, "middle", "", unit(v), "")
			}
		}
		d.printf(`</g>`)
	}
	d.printf(`<g class="axis" fill-opacity="0.75">`)
	d.printf(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="currentColor" stroke-opacity="0.5"/>`,
		coord(left), coord(zero), coord(right), coord(zero))
	for i := 0; i < n; i += every {
		d.text(left+(float64(i)+0.5)*groupW, bottom+fs*1.35, "middle", "", label(i), "")
	}
	d.printf(`</g>`)
	d.legend(items, legendLeft(fs), w, true)
	return d.html()
}

// describeBars writes every category's values: "Mar 3: 4, Mar 10: 6" for one series, "Mar 3: this window 4,
// previous window 3; ..." for several.
func describeBars(c BarChart, n int, label func(int) string, value func(BarSeries, int) (float64, bool), unit func(float64) string) string {
	var names []string
	for _, s := range c.Series {
		if s.Name != "" {
			names = append(names, s.Name)
		}
	}
	var parts []string
	for i := range n {
		var vs []string
		for _, s := range c.Series {
			text := "none"
			if v, ok := value(s, i); ok {
				text = unit(v)
			}
			if len(c.Series) > 1 || s.Name != "" {
				text = strings.TrimSpace(s.Name + " " + text)
			}
			vs = append(vs, text)
		}
		name := label(i)
		if name == "" {
			name = "bar " + num(float64(i+1), 3)
		}
		parts = append(parts, name+": "+strings.Join(vs, ", "))
	}
	sep := ", "
	if len(c.Series) > 1 {
		sep = "; "
	}
	text := strings.Join(parts, sep)
	if len(names) > 0 {
		text = strings.Join(names, " vs ") + "; " + text
	}
	return text
}

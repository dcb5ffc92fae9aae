package chart

import (
	"encoding/xml"
	"fmt"
	"hash/fnv"
	"html/template"
	"math"
	"strings"
)

// doc is a chart being written: its body, one element a line, and what its <svg> element needs.
type doc struct {
	kind        string // line, step, bars or sparkline: the class chart-<kind>
	w, h        float64
	fs          float64 // font size; 0 for a chart without text
	fixed       bool    // sized in pixels (a sparkline) rather than to its container's width
	title, desc string
	body        strings.Builder
}

// fontSize is the size of a chart's text for its width: a 640-unit chart shown 360 pixels wide has
// 10-pixel text.
func fontSize(w float64) float64 { return math.Max(10, math.Round(w/36)) }

// textWidth estimates how wide s is written at font size fs, erring wide: the widths, in ems, are about those
// of DejaVu Sans, the widest of the usual system sans-serifs, which Linux falls back to.
func textWidth(s string, fs float64) float64 {
	w := 0.0
	for _, r := range s {
		switch {
		case strings.ContainsRune(" .,:;!|'ijlIft()[]", r):
			w += 0.35
		case strings.ContainsRune("mwMW%…", r):
			w += 1
		case r >= 'A' && r <= 'Z':
			w += 0.75
		default:
			w += 0.64
		}
	}
	return w * fs
}

// printf writes an element; its arguments must be numbers already written with coord or texts escaped with esc.
func (d *doc) printf(format string, args ...any) {
	fmt.Fprintf(&d.body, format, args...)
	d.body.WriteByte('\n')
}

// text writes a label at (x, y); anchor is start, middle or end. Extra holds further attributes, escaped.
func (d *doc) text(x, y float64, anchor, class, s, extra string) {
	attrs := ""
	if anchor != "start" {
		attrs += ` text-anchor="` + anchor + `"`
	}
	if class != "" {
		attrs += ` class="` + class + `"`
	}
	d.printf(`<text x="%s" y="%s"%s%s>%s</text>`, coord(x), coord(y), attrs, extra, esc(s))
}

// html wraps the body in its <svg> element, with the title and description that name and describe it to a
// screen reader. Their ids, needed by aria-labelledby, come from a hash of the chart, so that they are the
// same on every render and differ between the charts of a page.
func (d *doc) html() template.HTML {
	title, desc := esc(d.title), esc(d.desc)
	hash := fnv.New32a()
	fmt.Fprintf(hash, "%s\x00%s\x00%s\x00%s", d.kind, title, desc, d.body.String())
	id := fmt.Sprintf("chart-%08x", hash.Sum32())

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-%s" viewBox="0 0 %s %s"`,
		d.kind, coord(d.w), coord(d.h))
	if d.fixed {
		fmt.Fprintf(&b, ` width="%s" height="%s"`, coord(d.w), coord(d.h))
	} else {
		b.WriteString(` width="100%"`)
	}
	fmt.Fprintf(&b, ` role="img" aria-labelledby="%s-title %s-desc"`, id, id)
	if d.fs > 0 {
		fmt.Fprintf(&b, ` font-family="system-ui, sans-serif" font-size="%s"`, coord(d.fs))
	}
	b.WriteString(` fill="currentColor">` + "\n")
	fmt.Fprintf(&b, "<title id=\"%s-title\">%s</title>\n<desc id=\"%s-desc\">%s</desc>\n", id, title, id, desc)
	b.WriteString(d.body.String())
	b.WriteString("</svg>")
	return template.HTML(b.String()) // safe: every text in it went through esc
}

// placeholder is the chart that has nothing to draw yet: its frame and the words "no data yet".
func placeholder(kind, title string, w, h float64) template.HTML {
	d := &doc{kind: kind, w: w, h: h, fs: fontSize(w), title: title, desc: noData}
	d.printf(`<rect class="placeholder" x="0.5" y="0.5" width="%s" height="%s" rx="4" fill="none" `+
		`stroke="currentColor" stroke-opacity="0.2" stroke-dasharray="4 4"/>`, coord(w-1), coord(h-1))
	d.text(w/2, h/2+d.fs*0.35, "middle", "placeholder", noData, ` fill-opacity="0.6"`)
	return d.html()
}

// esc escapes s for XML text and attribute values. Characters XML cannot hold become U+FFFD.
func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s)) // a strings.Builder does not fail
	return b.String()
}

// clip shortens s to fit within width at font size fs, marking the cut with an ellipsis.
func clip(s string, width, fs float64) string {
	if textWidth(s, fs) <= width {
		return s
	}
	r := []rune(s)
	for len(r) > 0 && textWidth(string(r)+"…", fs) > width {
		r = r[:len(r)-1]
	}
	return string(r) + "…"
}

// seriesColor is the class of series i and its default colour, written in so that a chart is coloured even
// without Stylesheet; the stylesheet's rules win over it.
func seriesColor(i int) (class, color string) {
	i %= len(palette.series)
	return fmt.Sprintf("series-%d", i), palette.series[i].light
}

// legendItem is one entry of a legend: a swatch in a series' colour and its words.
type legendItem struct {
	series int
	text   string
}

// legend writes items in rows across the top of a chart from x = left to right and returns the height the
// rows take. A swatch is a short thick line for lines, a square for bars.
func (d *doc) legend(items []legendItem, left, right float64, square bool) float64 {
	if len(items) == 0 {
		return 0
	}
	fs := d.fs
	rowH := fs * 1.5
	x, row := left, 0
	for _, it := range items {
		iw := fs*1.3 + textWidth(it.text, fs)
		if x > left && x+iw > right {
			x, row = left, row+1
		}
		y := fs*1.2 + float64(row)*rowH // text baseline
		class, color := seriesColor(it.series)
		if square {
			d.printf(`<rect class="swatch %s" color="%s" x="%s" y="%s" width="%s" height="%s" fill="currentColor"/>`,
				class, color, coord(x), coord(y-fs*0.75), coord(fs*0.8), coord(fs*0.8))
		} else {
			d.printf(`<rect class="swatch %s" color="%s" x="%s" y="%s" width="%s" height="%s" rx="1" fill="currentColor"/>`,
				class, color, coord(x), coord(y-fs*0.45), coord(fs*0.9), coord(fs*0.25))
		}
		d.text(x+fs*1.2, y, "start", "legend", it.text, "")
		x += iw + fs
	}
	return float64(row+1)*rowH + fs*0.3
}

// legendLeft is where a legend starts: near the chart's left edge, since the plot's left edge depends on the
// axis labels, which depend on the room the legend leaves.
func legendLeft(fs float64) float64 { return fs * 0.3 }

// yAxis writes the horizontal grid lines and the labels of ticks, which the plot spans from left to right.
func (d *doc) yAxis(ticks []float64, y linear, left, right float64, unit func(float64) string) {
	d.printf(`<g class="grid" stroke="currentColor" stroke-opacity="0.15">`)
	for _, t := range ticks {
		d.printf(`<line x1="%s" y1="%s" x2="%s" y2="%s"/>`, coord(left), coord(y.at(t)), coord(right), coord(y.at(t)))
	}
	d.printf(`</g>`)
	d.printf(`<g class="axis" fill-opacity="0.75">`)
	for _, t := range ticks {
		d.text(left-d.fs*0.4, y.at(t)+d.fs*0.35, "end", "", unit(t), "")
	}
	d.printf(`</g>`)
}

// yLabelWidth is the width the labels of ticks need left of the plot.
func yLabelWidth(ticks []float64, unit func(float64) string, fs float64) float64 {
	w := 0.0
	for _, t := range ticks {
		w = math.Max(w, textWidth(unit(t), fs))
	}
	return w + fs*0.6
}

// yTickCount is how many intervals a Y axis of height h has room for.
func yTickCount(h, fs float64) int { return min(max(int(h/(fs*2.2)), 2), 8) }

package chart

import (
	"fmt"
	"html/template"
	"slices"
	"strconv"
	"strings"
	"time"
)

// EventKind says how an event reads: its class on the chart (event info, event ok, event fail) and its colour.
type EventKind int

const (
	EventInfo EventKind = iota // a step reached, a pause, a promotion
	EventOK                    // an analysis passed, the rollout succeeded
	EventFail                  // an analysis failed, a rollback
)

// String returns the kind's class name: "info", "ok" or "fail".
func (k EventKind) String() string {
	switch k {
	case EventOK:
		return "ok"
	case EventFail:
		return "fail"
	}
	return "info"
}

func (k EventKind) shade() shade {
	switch k {
	case EventOK:
		return palette.ok
	case EventFail:
		return palette.fail
	}
	return palette.info
}

// Event is something that happened to a rollout at T, such as "rolled back: error_rate 4.1% > max 1%".
type Event struct {
	T     time.Time
	Label string
	Kind  EventKind
}

// StepChart is a rollout's traffic weight over time, with its events.
type StepChart struct {
	// Title names the chart to a screen reader and as a tooltip; the page writes its heading.
	Title string
	// Desc describes the data in words. Empty means one written from the data: each weight and when it was
	// set, then each event.
	Desc string
	// Weight is the canary's share of traffic in percent, 0 to 100, each held from its T until the next.
	// Missing values (NaN or infinite) are skipped.
	Weight []Point
	// Until is where the last weight ends, such as now for a rollout in flight or when it finished. Zero means
	// the last weight's or event's time, whichever is later.
	Until  time.Time
	Events []Event
	// Width and Height are in viewBox units; zero means DefaultWidth and 200. The list of events below the
	// plot adds a line per event to the height.
	Width, Height int
}

// Step draws c as a staircase of the canary's weight from 0 to 100%, shaded beneath, with a dashed line
// numbered at the top for each event and, under the plot, the events in a numbered list coloured by kind.
// A chart with neither weights nor events says "no data yet".
func Step(c StepChart) template.HTML {
	w, h := size(c.Width, c.Height, DefaultWidth, 200)
	weights := slices.SortedStableFunc(slices.Values(finitePoints(c.Weight)), func(a, b Point) int { return a.T.Compare(b.T) })
	for i := range weights {
		weights[i].V = min(max(weights[i].V, 0), 100)
	}
	events := slices.SortedStableFunc(slices.Values(c.Events), func(a, b Event) int { return a.T.Compare(b.T) })
	if len(weights) == 0 && len(events) == 0 {
		return placeholder("step", c.Title, w, h)
	}

	var times []time.Time
	for _, p := range weights {
		times = append(times, p.T)
	}
	for _, e := range events {
		times = append(times, e.T)
	}
	t0 := slices.MinFunc(times, time.Time.Compare)
	t1 := slices.MaxFunc(times, time.Time.Compare)
	if c.Until.After(t1) {
		t1 = c.Until
	}
	end := t1 // where the last weight stops
	d := &doc{kind: "step", w: w, fs: fontSize(w), title: c.Title, desc: c.Desc}
	if d.desc == "" {
		d.desc = describeStep(weights, events, t0, t1)
	}
	if t0.Equal(t1) {
		t0, t1 = t0.Add(-30*time.Second), t1.Add(30*time.Second)
	}

	fs := d.fs
	top := fs * 1.5 // room for the events' numbers
	bottom := h - fs*1.8
	ticks := []float64{0, 25, 50, 75, 100}
	if (bottom-top)/4 < fs*1.5 {
		ticks = []float64{0, 50, 100}
	}
	percent := func(v float64) string { return num(v, 3) + "%" }
	left := yLabelWidth(ticks, percent, fs)
	right := w - fs*0.8
	y := linear{0, 100, bottom, top}
	x := timeScale{t0, t1, left, right}

	d.yAxis(ticks, y, left, right, percent)
	xAxis(d, x, bottom)
	if len(weights) > 0 {
		var path strings.Builder
		fmt.Fprintf(&path, "M%s %s", coord(x.at(weights[0].T)), coord(y.at(weights[0].V)))
		for _, p := range weights[1:] {
			fmt.Fprintf(&path, "H%sV%s", coord(x.at(p.T)), coord(y.at(p.V)))
		}
		fmt.Fprintf(&path, "H%s", coord(x.at(end)))
		lastW := weights[len(weights)-1]
		d.printf(`<g class="weight">`)
		d.printf(`<path class="area" d="%sV%sH%sZ" fill="currentColor" fill-opacity="0.12"/>`,
			path.String(), coord(bottom), coord(x.at(weights[0].T)))
		d.printf(`<path class="line" d="%s" fill="none" stroke="currentColor" stroke-width="2.5" stroke-linejoin="round"/>`,
			path.String())
		d.printf(`<circle class="last" cx="%s" cy="%s" r="%s" fill="currentColor"/>`,
			coord(x.at(end)), coord(y.at(lastW.V)), coord(fs*0.25))
		d.printf(`</g>`)
	}

	// Numbers of events closer than a label's width share one label ("2,3") so that they never overlap.
	type mark struct {
		x     float64
		label string
		kind  EventKind
	}
	var marks []mark
	for i, e := range events {
		ex := x.at(e.T)
		n := strconv.Itoa(i + 1)
		if k := len(marks) - 1; k >= 0 && ex-marks[k].x < textWidth(marks[k].label+","+n, fs) {
			marks[k].label += "," + n
			marks[k].kind = max(marks[k].kind, e.Kind) // fail over ok over info
			continue
		}
		marks = append(marks, mark{ex, n, e.Kind})
	}
	for i, e := range events {
		ex := x.at(e.T)
		d.printf(`<g class="event %s" color="%s">`, e.Kind, e.Kind.shade().light)
		d.printf(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="currentColor" stroke-width="1.5" stroke-dasharray="3 3"/>`,
			coord(ex), coord(top), coord(ex), coord(bottom))
		if v, ok := weightAt(weights, e.T); ok {
			d.printf(`<circle cx="%s" cy="%s" r="%s" fill="currentColor"/>`, coord(ex), coord(y.at(v)), coord(fs*0.25))
		}
		d.printf(`<title>%s</title>`, esc(strconv.Itoa(i+1)+". "+e.Label))
		d.printf(`</g>`)
	}
	for _, m := range marks {
		anchor := "middle"
		switch lw := textWidth(m.label, fs); {
		case m.x+lw/2 > w:
			anchor = "end"
		case m.x-lw/2 < 0:
			anchor = "start"
		}
		d.text(m.x, top-fs*0.4, anchor, "event "+m.kind.String(), m.label,
			` color="`+m.kind.shade().light+`" font-weight="bold"`)
	}

	// The list: "1  12:03:10  rolled back: error_rate 4.1% > max 1%", clipped to the chart's width; the
	// description has every label whole.
	rowH := fs * 1.4
	for i, e := range events {
		ty := h + fs + float64(i)*rowH
		n := strconv.Itoa(i + 1)
		when := e.T.Format(longLayout(t0, t1))
		room := w - left - textWidth(n+"  "+when+"  ", fs)
		d.printf(`<text x="%s" y="%s"><tspan class="event %s" color="%s" font-weight="bold">%s</tspan>`+
			`<tspan fill-opacity="0.75"> %s</tspan> %s</text>`,
			coord(left), coord(ty), e.Kind, e.Kind.shade().light, n, esc(when), esc(clip(e.Label, room, fs)))
	}
	d.h = h
	if len(events) > 0 {
		d.h = h + fs*0.2 + float64(len(events))*rowH
	}
	return d.html()
}

// weightAt returns the weight in force at t: the last one set at or before it.
func weightAt(weights []Point, t time.Time) (float64, bool) {
	v, ok := 0.0, false
	for _, p := range weights {
		if p.T.After(t) {
			break
		}
		v, ok = p.V, true
	}
	return v, ok
}

// describeStep writes what a step chart shows: "weight from 12:00:00 to 12:30:00: 10% at 12:00:00, 50% at
// 12:05:00, 0% at 12:12:00; events: 1. 12:12:00 rolled back: error_rate 4.1% > max 1%".
func describeStep(weights []Point, events []Event, t0, t1 time.Time) string {
	layout := longLayout(t0, t1)
	text := "weight " + describeSpan(t0, t1)
	if len(weights) == 0 {
		text += ": no weights"
	}
	for i, p := range weights {
		sep := ", "
		if i == 0 {
			sep = ": "
		}
		text += sep + num(p.V, 3) + "% at " + p.T.Format(layout)
	}
	for i, e := range events {
		sep := ", "
		if i == 0 {
			sep = "; events: "
		}
		text += sep + strconv.Itoa(i+1) + ". " + e.T.Format(layout) + " " + e.Label
		if e.Kind == EventFail {
			text += " (failure)"
		}
	}
	return text
}

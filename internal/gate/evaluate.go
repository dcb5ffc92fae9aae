package gate

import (
	"fmt"
	"math"
	"strings"
)

// Evaluate checks gates against the current metrics and, for max_increase and max_decrease, the baseline
// (haveBaseline is false when the branch has no passed run yet). It returns one Verdict per bound, in gate
// order and, within a gate, in the order min, max, max_increase, max_decrease; a gate without bounds gets one
// row, bound "present", that only checks the metric exists.
//
// A metric missing from current fails every row of its gate with "metric missing". A change bound passes with
// "no baseline" when there is no baseline run or the baseline lacks the metric. Bounds are inclusive; a change
// over its bound by less than a trillionth of the values still passes, so that float rounding in
// current-baseline never fails a metric sitting exactly on its bound.
func Evaluate(gates []Gate, current []Metric, baseline []Metric, haveBaseline bool) []Verdict {
	cur := byName(current)
	var base map[string]Metric
	if haveBaseline {
		base = byName(baseline)
	}
	var vs []Verdict
	for _, g := range gates {
		c, hasCur := cur[g.Metric]
		b, hasBase := base[g.Metric]
		dir := c.Direction
		if dir == Unspecified {
			dir = b.Direction
		}
		for _, chk := range checks(g) {
			v := Verdict{Metric: g.Metric, Bound: chk.bound}
			if hasBase {
				v.Baseline = ptr(b.Value)
			}
			if !hasCur {
				v.Reason = "metric missing"
				vs = append(vs, v)
				continue
			}
			v.Current = ptr(c.Value)
			if hasBase {
				v.Change = describeChange(c.Value, b.Value, dir)
			}
			if chk.change != nil && !hasBase {
				v.Pass, v.Reason = true, "no baseline"
			} else {
				v.Reason = chk.fail(c.Value, b.Value)
				v.Pass = v.Reason == ""
			}
			vs = append(vs, v)
		}
	}
	return vs
}

// Passed reports whether every row passed; no rows pass.
func Passed(vs []Verdict) bool {
	for _, v := range vs {
		if !v.Pass {
			return false
		}
	}
	return true
}

// Failures sums up the failing rows on one line, as a step's failure reason:
// "gate latency_p95_ms: 55 > max 50; gate pass_rate: metric missing". It is empty when all passed.
func Failures(vs []Verdict) string {
	var out []string
	seen := make(map[string]bool)
	for _, v := range vs {
		if v.Pass {
			continue
		}
		reason := v.Reason
		if reason == "" {
			reason = "failed " + v.Bound
		}
		// A missing metric fails each bound of its gate with the same words; say it once.
		if s := "gate " + v.Metric + ": " + reason; !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return strings.Join(out, "; ")
}

// check is one bound of a gate. fail returns why the bound fails, or "" when it holds.
type check struct {
	bound  string
	change *Change // set for max_increase and max_decrease, which need a baseline
	fail   func(cur, base float64) string
}

func checks(g Gate) []check {
	var cs []check
	if g.Min != nil {
		lo := *g.Min
		cs = append(cs, check{bound: "min " + formatNum(lo), fail: func(cur, _ float64) string {
			if cur < lo {
				return fmt.Sprintf("%s < min %s", formatNum(cur), formatNum(lo))
			}
			return ""
		}})
	}
	if g.Max != nil {
		hi := *g.Max
		cs = append(cs, check{bound: "max " + formatNum(hi), fail: func(cur, _ float64) string {
			if cur > hi {
				return fmt.Sprintf("%s > max %s", formatNum(cur), formatNum(hi))
			}
			return ""
		}})
	}
	if c := g.MaxIncrease; c != nil {
		bound := "max_increase " + c.String()
		cs = append(cs, check{bound: bound, change: c, fail: func(cur, base float64) string {
			return moved("increase", cur-base, cur, base, *c, bound)
		}})
	}
	if c := g.MaxDecrease; c != nil {
		bound := "max_decrease " + c.String()
		cs = append(cs, check{bound: bound, change: c, fail: func(cur, base float64) string {
			return moved("decrease", base-cur, cur, base, *c, bound)
		}})
	}
	if len(cs) == 0 {
		cs = append(cs, check{bound: "present", fail: func(float64, float64) string { return "" }})
	}
	return cs
}

// moved checks how far a metric moved in the bound's direction (negative when it moved the other way)
// against the change the bound allows, and says why it fails: "increase 12.5% > max_increase 10%".
func moved(word string, delta, cur, base float64, c Change, bound string) string {
	allowed := c.Value
	if c.Percent {
		// Compare amounts, not percentages: it avoids dividing by the baseline, which may be 0.
		allowed = c.Value / 100 * math.Abs(base)
	}
	scale := max(math.Abs(cur), math.Abs(base), math.Abs(allowed))
	if delta-allowed <= 1e-12*scale {
		return ""
	}
	switch {
	case !c.Percent:
		return fmt.Sprintf("%s %s > %s", word, formatNum(delta), bound)
	case base == 0:
		return fmt.Sprintf("%s %s from baseline 0 > %s", word, formatNum(delta), bound)
	}
	return fmt.Sprintf("%s %s%% > %s", word, formatNum(delta/math.Abs(base)*100), bound)
}

// describeChange shows current-baseline for the verdict table: "+4.1 (+10.0%, worse)", "+0 (0.0%)".
// The percentage is left out when the baseline is 0, the label when the direction is unspecified.
func describeChange(cur, base float64, dir Direction) string {
	delta := cur - base
	var notes []string
	if base != 0 {
		if pct := delta / math.Abs(base) * 100; delta == 0 {
			notes = append(notes, "0.0%")
		} else {
			notes = append(notes, fmt.Sprintf("%+.1f%%", pct))
		}
	}
	switch {
	case delta == 0 || dir == Unspecified:
	case (delta > 0) == (dir == HigherIsBetter):
		notes = append(notes, "better")
	default:
		notes = append(notes, "worse")
	}
	s := formatNum(delta)
	if delta >= 0 {
		s = "+" + s
	}
	if len(notes) > 0 {
		s += " (" + strings.Join(notes, ", ") + ")"
	}
	return s
}

// byName indexes metrics; with repeated names the first wins.
func byName(ms []Metric) map[string]Metric {
	idx := make(map[string]Metric, len(ms))
	for _, m := range ms {
		if _, ok := idx[m.Name]; !ok {
			idx[m.Name] = m
		}
	}
	return idx
}

func ptr(v float64) *float64 { return &v }

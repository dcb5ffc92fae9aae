package evals

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/ferry-cd/ferry/internal/gate"
)

// MaxNamed is how many case ids a failing gate names in its reason; the rest are counted.
const MaxNamed = 20

// Evaluate checks gates against a step's cases and, for new_failures and pass_rate's max_decrease, the
// baseline's (haveBaseline is false when the branch has no passed run with this step yet). It returns one
// verdict row per bound, in gate order, in the shape of metric gates' rows so that one verdict table shows
// both. Its Metric names what was counted and, in brackets, the tag: "new_failures", "failures[safety]",
// "pass_rate", "mean similarity[accuracy]". A failing row's reason names the cases behind it.
func Evaluate(gates []Gate, current, baseline []Case, haveBaseline bool) []gate.Verdict {
	var vs []gate.Verdict
	for _, g := range gates {
		cur := withTag(current, g.Tag)
		var base []Case
		if haveBaseline {
			base = withTag(baseline, g.Tag)
		}
		row := func(what string) gate.Verdict {
			v := gate.Verdict{Metric: what}
			if g.Tag != "" {
				v.Metric += "[" + g.Tag + "]"
			}
			return v
		}
		switch {
		case len(cur) == 0:
			v := row(gateName(g))
			v.Bound = bounds(g)
			v.Reason = "no cases"
			if g.Tag != "" {
				v.Reason = "no case has tag " + strconv.Quote(g.Tag)
			}
			vs = append(vs, v)
		case g.NewFailures != nil:
			vs = append(vs, newFailures(row("new_failures"), *g.NewFailures, current, baseline, g.Tag, haveBaseline))
		case g.Failures != nil:
			vs = append(vs, failures(row("failures"), *g.Failures, cur))
		case g.PassRate != nil:
			vs = append(vs, passRate(row, *g.PassRate, cur, base, haveBaseline)...)
		case g.Score != nil:
			vs = append(vs, score(row("mean "+g.Score.Metric), *g.Score, cur, base)...)
		}
	}
	return vs
}

func gateName(g Gate) string {
	switch {
	case g.Failures != nil:
		return "failures"
	case g.PassRate != nil:
		return "pass_rate"
	case g.Score != nil:
		return "mean " + g.Score.Metric
	}
	return "new_failures"
}

func bounds(g Gate) string {
	var b []string
	switch {
	case g.NewFailures != nil:
		b = append(b, "max "+strconv.Itoa(g.NewFailures.Max))
	case g.Failures != nil:
		b = append(b, "max "+strconv.Itoa(g.Failures.Max))
	case g.PassRate != nil:
		if g.PassRate.Min != nil {
			b = append(b, "min "+num(*g.PassRate.Min))
		}
		if g.PassRate.MaxDecrease != nil {
			b = append(b, "max_decrease "+num(*g.PassRate.MaxDecrease))
		}
	case g.Score != nil:
		if g.Score.Min != nil {
			b = append(b, "min "+num(*g.Score.Min))
		}
		if g.Score.Max != nil {
			b = append(b, "max "+num(*g.Score.Max))
		}
	}
	return strings.Join(b, ", ")
}

func newFailures(v gate.Verdict, c Count, current, baseline []Case, tag string, haveBaseline bool) gate.Verdict {
	v.Bound = "max " + strconv.Itoa(c.Max)
	if !haveBaseline {
		v.Pass, v.Reason = true, "no baseline"
		return v
	}
	var broken, flaky []string
	for _, ch := range Compare(current, baseline) {
		if ch.Current == nil || !ch.Current.HasTag(tag) {
			continue
		}
		switch {
		case ch.Status == Broken:
			broken = append(broken, ch.ID)
		case ch.Status == Flaky && ch.Baseline.Pass && !ch.Current.Pass:
			flaky = append(flaky, ch.ID)
		}
	}
	v.Current = ptr(float64(len(broken)))
	v.Pass = len(broken) <= c.Max
	if !v.Pass {
		v.Reason = fmt.Sprintf("%d > max %d: %s", len(broken), c.Max, names(broken))
	}
	if len(flaky) > 0 {
		v.Reason = joinReason(v.Reason, fmt.Sprintf("flaky, not counted: %s", names(flaky)))
	}
	return v
}

func failures(v gate.Verdict, c Count, cur []Case) gate.Verdict {
	v.Bound = "max " + strconv.Itoa(c.Max)
	var failed []string
	for _, x := range cur {
		if !x.Pass {
			failed = append(failed, x.ID)
		}
	}
	v.Current = ptr(float64(len(failed)))
	v.Pass = len(failed) <= c.Max
	if !v.Pass {
		v.Reason = fmt.Sprintf("%d > max %d: %s", len(failed), c.Max, names(failed))
	}
	return v
}

func passRate(row func(string) gate.Verdict, r Rate, cur, base []Case, haveBaseline bool) []gate.Verdict {
	conf := r.Confidence
	if conf == 0 {
		conf = DefaultConfidence
	}
	level := num(conf*100) + "%"
	passed, n := countPassed(cur)
	bp, bn := countPassed(base)
	p := rate(passed, n)
	var vs []gate.Verdict
	if r.Min != nil {
		v := row("pass_rate")
		v.Bound = fmt.Sprintf("min %s (%s Wilson)", num(*r.Min), level)
		v.Current = ptr(p)
		if bn > 0 {
			v.Baseline = ptr(rate(bp, bn))
			v.Change = signed(p - rate(bp, bn))
		}
		ci := Wilson(passed, n, conf)
		ciText := fmt.Sprintf("%d/%d passed, %s CI %s..%s", passed, n, level, num(ci.Lo), num(ci.Hi))
		// The rate is judged below the bound only when even the interval's top is.
		v.Pass = ci.Hi >= *r.Min
		switch {
		case !v.Pass:
			v.Reason = fmt.Sprintf("%s, all below min %s: %s", ciText, num(*r.Min), failingNames(cur))
		case p < *r.Min:
			v.Reason = ciText + ": below min within noise"
		default:
			v.Reason = ciText
		}
		vs = append(vs, v)
	}
	if r.MaxDecrease != nil {
		v := row("pass_rate")
		v.Bound = fmt.Sprintf("max_decrease %s (%s Wilson)", num(*r.MaxDecrease), level)
		v.Current = ptr(p)
		switch {
		case !haveBaseline || bn == 0:
			v.Pass, v.Reason = true, "no baseline"
		default:
			v.Baseline = ptr(rate(bp, bn))
			d, ci := Decrease(bp, bn, passed, n, conf)
			v.Change = signed(-d)
			ciText := fmt.Sprintf("%d/%d passed against %d/%d, decrease %s CI %s..%s", passed, n, bp, bn, level, num(ci.Lo), num(ci.Hi))
			// Worse beyond noise: even the least decrease the interval allows is more than the bound.
			v.Pass = ci.Lo <= *r.MaxDecrease
			switch {
			case !v.Pass:
				v.Reason = fmt.Sprintf("%s, all above max_decrease %s", ciText, num(*r.MaxDecrease))
			case d > *r.MaxDecrease:
				v.Reason = ciText + ": above max_decrease within noise"
			default:
				v.Reason = ciText
			}
		}
		vs = append(vs, v)
	}
	return vs
}

func score(v gate.Verdict, s Score, cur, base []Case) []gate.Verdict {
	mean, n := meanScore(cur, s.Metric)
	bmean, bn := meanScore(base, s.Metric)
	var vs []gate.Verdict
	check := func(bound string, limit float64, fails func(m float64) bool, word string) {
		r := v
		r.Bound = bound + " " + num(limit)
		if bn > 0 {
			r.Baseline = ptr(bmean)
		}
		if n == 0 {
			r.Reason = "no case has score " + strconv.Quote(s.Metric)
			vs = append(vs, r)
			return
		}
		r.Current = ptr(mean)
		if bn > 0 {
			r.Change = signed(mean - bmean)
		}
		r.Pass = !fails(mean)
		if !r.Pass {
			r.Reason = fmt.Sprintf("mean of %d cases %s %s %s %s", n, num(mean), word, bound, num(limit))
		}
		vs = append(vs, r)
	}
	if s.Min != nil {
		check("min", *s.Min, func(m float64) bool { return m < *s.Min }, "<")
	}
	if s.Max != nil {
		check("max", *s.Max, func(m float64) bool { return m > *s.Max }, ">")
	}
	return vs
}

func withTag(cs []Case, tag string) []Case {
	if tag == "" {
		return cs
	}
	var out []Case
	for _, c := range cs {
		if c.HasTag(tag) {
			out = append(out, c)
		}
	}
	return out
}

func countPassed(cs []Case) (passed, n int) {
	for _, c := range cs {
		if c.Pass {
			passed++
		}
	}
	return passed, len(cs)
}

func meanScore(cs []Case, metric string) (float64, int) {
	sum, n := 0.0, 0
	for _, c := range cs {
		if v, ok := c.Scores[metric]; ok {
			sum += v
			n++
		}
	}
	if n == 0 {
		return 0, 0
	}
	return sum / float64(n), n
}

func failingNames(cs []Case) string {
	var failed []string
	for _, c := range cs {
		if !c.Pass {
			failed = append(failed, c.ID)
		}
	}
	return "failing " + names(failed)
}

// names lists case ids for a reason, the first MaxNamed of them.
func names(ids []string) string {
	if len(ids) <= MaxNamed {
		return strings.Join(ids, ", ")
	}
	return strings.Join(ids[:MaxNamed], ", ") + fmt.Sprintf(" and %d more", len(ids)-MaxNamed)
}

func joinReason(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// num shows a rate or score compactly: up to 4 significant digits.
func num(v float64) string {
	if v == 0 || math.Abs(v) < 1e-12 {
		return "0"
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

func signed(v float64) string {
	if v >= 0 || math.Abs(v) < 1e-12 {
		return "+" + num(v)
	}
	return num(v)
}

func ptr(v float64) *float64 { return &v }

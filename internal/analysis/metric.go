package analysis

import (
	"fmt"
	"time"

	"github.com/ferry-cd/ferry/internal/pipeline"
	"github.com/ferry-cd/ferry/internal/proxy"
)

// EvaluateMetric judges a check of a built-in metric (c.Metric is set) on the canary's figures, and for
// max_over_stable on the difference canary minus stable over the same span.
//
// error_rate and the latencies need at least minRequests requests, and at least one, to be judged; with fewer
// the row is inconclusive. max_over_stable needs as many of the stable release too. request_rate is judged on
// any count: a canary that gets no traffic is what a min bound is for. Bounds are inclusive.
func EvaluateMetric(c pipeline.Check, canary, stable proxy.Summary, minRequests int) Result {
	return evaluateMetric(c, proxy.Canary, canary, &stable, minRequests)
}

// evaluateMetric is EvaluateMetric for the release that has the role subject (the words of the reasons) and
// an optional baseline: without one, max_over_stable passes and says there was nothing to compare with.
func evaluateMetric(c pipeline.Check, subject proxy.Role, cur proxy.Summary, base *proxy.Summary, minRequests int) Result {
	u := unitOf(c.Metric)
	b := bounds(u, c.Min, c.Max, c.MaxOverStable)
	r := Result{Check: c.Metric + " " + b, Verdict: Pass, Bound: b}
	v, ok := metricValue(c.Metric, cur)
	if !ok {
		r.Verdict, r.Reason = Fail, fmt.Sprintf("unknown metric %q", c.Metric)
		return r
	}
	need := max(minRequests, 1)
	// judge records the verdict of one bound: the first failure explains the row, else the first doubt.
	judge := func(v Verdict, reason string) {
		switch {
		case worse(r.Verdict, v) != r.Verdict:
			r.Verdict, r.Reason = v, reason
		case v == r.Verdict && r.Reason == "":
			r.Reason = reason
		}
	}
	enough := true
	switch {
	case c.Metric == "request_rate" && cur.Span <= 0:
		enough = false
		judge(Inconclusive, fmt.Sprintf("no time measured for %s", subject))
	case c.Metric == "request_rate":
	case cur.Requests == 0:
		enough = false
		judge(Inconclusive, fmt.Sprintf("no %s requests over %s", subject, span(cur.Span)))
	case cur.Requests < int64(need):
		enough = false
		judge(Inconclusive, fmt.Sprintf("only %d %s requests over %s (min_requests %d)",
			cur.Requests, subject, span(cur.Span), minRequests))
	}
	if c.Metric == "request_rate" && cur.Span > 0 || cur.Requests > 0 {
		r.Value = u.value(v, c.Min, c.Max)
	}
	where := fmt.Sprintf("(%s, %d requests over %s)", subject, cur.Requests, span(cur.Span))
	if enough && c.Min != nil && above(*c.Min, v) {
		judge(Fail, fmt.Sprintf("%s %s < min %s %s", c.Metric, r.Value, u.format(*c.Min, boundDigits), where))
	}
	if enough && c.Max != nil && above(v, *c.Max) {
		judge(Fail, fmt.Sprintf("%s %s > max %s %s", c.Metric, r.Value, u.format(*c.Max, boundDigits), where))
	}
	if c.MaxOverStable == nil {
		return r
	}
	bound := u.format(*c.MaxOverStable, boundDigits)
	if base == nil {
		judge(Pass, "max_over_stable: no stable release to compare with")
		return r
	}
	bv, _ := metricValue(c.Metric, *base)
	if base.Requests > 0 {
		r.Stable = u.format(bv, valueDigits)
	}
	switch {
	case base.Requests == 0:
		judge(Inconclusive, fmt.Sprintf("no stable requests over %s to compare with", span(base.Span)))
		return r
	case base.Requests < int64(need):
		judge(Inconclusive, fmt.Sprintf("only %d stable requests over %s (min_requests %d)",
			base.Requests, span(base.Span), minRequests))
		return r
	case !enough:
		return r
	}
	d := v - bv
	if above(d, *c.MaxOverStable) {
		judge(Fail, fmt.Sprintf("%s %s %s - stable %s = %s > max_over_stable %s (%d and %d requests over %s)",
			c.Metric, subject, r.Value, r.Stable, u.value(d, c.MaxOverStable), bound,
			cur.Requests, base.Requests, span(cur.Span)))
	}
	return r
}

// metricValue is the figure of s that metric names, in the metric's base unit.
func metricValue(metric string, s proxy.Summary) (float64, bool) {
	switch metric {
	case "error_rate":
		return s.ErrorRate(), true
	case "latency_p50":
		return s.P50, true
	case "latency_p90":
		return s.P90, true
	case "latency_p95":
		return s.P95, true
	case "latency_p99":
		return s.P99, true
	case "request_rate":
		return s.RequestRate(), true
	}
	return 0, false
}

// span writes a summary's span as a duration a person reads: "5s", "1.5s".
func span(d time.Duration) string { return d.Round(time.Millisecond).String() }

package analysis

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/ferry-cd/ferry/internal/pipeline"
)

// Variant checks judge a flag's variant by the users it was served: a prometheus query templated with
// {{ .Variant }} is rendered for the variant rolled out and, for max_over_control and max_under_control, for
// its control as well, both evaluated at the same instant so that they measure the same window: the
// canary-against-stable comparison of a release rollout, for a flag.

// variantCheck evaluates a variant check of the analyzer's flag rollout at now.
func (a *Analyzer) variantCheck(ctx context.Context, c pipeline.PrometheusCheck, now time.Time) Result {
	if a.Variant == nil {
		return Result{Check: variantName(c), Verdict: Pass, Bound: variantBounds(c),
			Reason: "a variant check: it judges flag rollouts, not releases"}
	}
	prom := a.Prometheus
	if prom == nil {
		prom = &Prometheus{}
	}
	v := *a.Variant
	query, err := c.RenderQuery(v)
	if err != nil {
		return Result{Check: variantName(c), Verdict: Fail, Reason: err.Error()}
	}
	compare := c.MaxOverControl != nil || c.MaxUnderControl != nil
	var control float64
	var controlErr error
	var wg sync.WaitGroup
	if compare {
		cv := v
		cv.Variant = v.Control
		cq, err := c.RenderQuery(cv)
		if err != nil {
			return Result{Check: variantName(c), Verdict: Fail, Reason: err.Error()}
		}
		wg.Go(func() { control, controlErr = prom.QueryAt(ctx, c.URL, cq, now) })
	}
	value, err := prom.QueryAt(ctx, c.URL, query, now)
	wg.Wait()
	return judgeVariant(c, v, value, err, control, controlErr)
}

// judgeVariant judges a variant check: value and err are the variant's answer, control and controlErr the
// control's (unused without a comparison). No data, NaN and an unavailable server are inconclusive; any
// other error fails; bounds are inclusive.
func judgeVariant(c pipeline.PrometheusCheck, v pipeline.VariantValues, value float64, err error, control float64, controlErr error) Result {
	r := EvaluatePrometheus(c, value, err)
	r.Check, r.Bound = variantName(c)+" "+variantBounds(c), variantBounds(c)
	if r.Verdict == Fail {
		r.Reason = fmt.Sprintf("%s %s: %s", v.Flag, v.Variant, r.Reason)
	}
	if r.Verdict != Pass || (c.MaxOverControl == nil && c.MaxUnderControl == nil) {
		return r
	}
	switch {
	case errors.Is(controlErr, ErrNoData) || errors.Is(controlErr, ErrUnavailable):
		r.Verdict, r.Reason = Inconclusive, fmt.Sprintf("control %s: %v", v.Control, controlErr)
		return r
	case controlErr != nil:
		r.Verdict, r.Reason = Fail, fmt.Sprintf("control %s: %v", v.Control, controlErr)
		return r
	case math.IsNaN(control):
		r.Verdict, r.Reason = Inconclusive, fmt.Sprintf("control %s: query returned NaN", v.Control)
		return r
	}
	r.Stable = plain.format(control, 4)
	vs := fmt.Sprintf("%s %s %s against %s %s", v.Flag, v.Variant, plain.format(value, 4), v.Control, r.Stable)
	switch {
	case c.MaxOverControl != nil && above(value-control, *c.MaxOverControl):
		r.Verdict, r.Reason = Fail, fmt.Sprintf("%s: %s over control > max_over_control %s", vs,
			plain.format(value-control, 4), plain.format(*c.MaxOverControl, boundDigits))
	case c.MaxUnderControl != nil && above(control-value, *c.MaxUnderControl):
		r.Verdict, r.Reason = Fail, fmt.Sprintf("%s: %s under control > max_under_control %s", vs,
			plain.format(control-value, 4), plain.format(*c.MaxUnderControl, boundDigits))
	default:
		r.Reason = vs
	}
	return r
}

// variantName names a variant check as users read it.
func variantName(c pipeline.PrometheusCheck) string { return "prometheus " + clip(c.Query, 80) }

// variantBounds writes a variant check's bounds: "min 0.8 max_under_control 0.05".
func variantBounds(c pipeline.PrometheusCheck) string {
	b := bounds(plain, c.Min, c.Max, nil)
	if c.MaxOverControl != nil {
		b = joinBound(b, "max_over_control "+plain.format(*c.MaxOverControl, boundDigits))
	}
	if c.MaxUnderControl != nil {
		b = joinBound(b, "max_under_control "+plain.format(*c.MaxUnderControl, boundDigits))
	}
	return b
}

func joinBound(a, b string) string {
	if a == "" {
		return b
	}
	return a + " " + b
}

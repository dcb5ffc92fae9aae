package analysis

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/ferry-cd/ferry/internal/pipeline"
	"github.com/ferry-cd/ferry/internal/proxy"
)

// Figures gives the proxy's figures of the version that has a role over the last span. DataPlane is the
// implementation over the data plane's socket API.
type Figures interface {
	Summary(ctx context.Context, version proxy.Role, span time.Duration) (proxy.Summary, error)
}

// Analyzer evaluates the analysis checks of one environment during a rollout. Build one per rollout (it
// remembers the last answer of each http check) and call Evaluate once per analysis interval. Evaluate is
// safe for concurrent use, though a rollout has no reason to overlap evaluations.
type Analyzer struct {
	Checks []pipeline.Check
	// MinRequests is the environment's min_requests; 0 still needs one request to judge a rate or latency.
	MinRequests int
	// Figures is needed by metric checks; without it they are inconclusive.
	Figures Figures
	// Prober is needed by http checks; without it they are inconclusive.
	Prober *Prober
	// Prometheus answers prometheus checks; nil means a &Prometheus{}.
	Prometheus *Prometheus
	// Now tells the time; nil means time.Now.
	Now func() time.Time
	// Variant is the flag rollout a flag rollout's analyzer judges: its variant checks (prometheus queries
	// templated with {{ .Variant }}) are rendered for it. Nil for a release's analysis, which passes them,
	// saying they judge flag rollouts.
	Variant *pipeline.VariantValues

	mu     sync.Mutex
	probes map[probeKey]probe
}

// probeKey is an http check (its index in Checks) sent to one version: the new release changes role when it
// is promoted, and an answer of the canary must not stand for the stable release.
type probeKey struct {
	check int
	role  proxy.Role
}

type probe struct {
	at     time.Time
	result Result
}

// Evaluate runs every check once and combines their rows in the order of Checks.
//
// subject is the role of the release under analysis: proxy.Canary during canary steps and for a blue_green
// release reached before it takes traffic, proxy.Stable once it has all the traffic (bake). baseline is the
// role of the release it is compared with for max_over_stable, normally proxy.Stable beside a canary; ""
// means there is none (after promotion), and max_over_stable bounds then pass, saying so. Metric checks read
// the figures over the last span, normally the analysis interval.
//
// An http check is sent at most once per evaluation and only when its every has passed since the last one
// (within a tenth, since evaluations tick at about the interval); in between, its last row stands. Http and
// Prometheus checks run concurrently; Evaluate returns when all have answered.
func (a *Analyzer) Evaluate(ctx context.Context, span time.Duration, subject, baseline proxy.Role) Evaluation {
	now := a.now()
	rows := make([]Result, len(a.Checks))
	metrics := a.metricRows(ctx, span, subject, baseline)
	var wg sync.WaitGroup
	for i, c := range a.Checks {
		switch {
		case c.Metric != "":
			rows[i] = metrics(c)
		case c.HTTP != nil:
			if r, ok := a.lastProbe(i, subject, c.HTTP.Every, now); ok {
				rows[i] = r
				continue
			}
			wg.Go(func() { rows[i] = a.probe(ctx, i, *c.HTTP, subject, now) })
		case c.Prometheus != nil && c.Prometheus.Templated:
			wg.Go(func() { rows[i] = a.variantCheck(ctx, *c.Prometheus, now) })
		case c.Prometheus != nil:
			wg.Go(func() {
				prom := a.Prometheus
				if prom == nil {
					prom = &Prometheus{}
				}
				v, err := prom.Query(ctx, c.Prometheus.URL, c.Prometheus.Query)
				rows[i] = EvaluatePrometheus(*c.Prometheus, v, err)
			})
		default:
			rows[i] = Result{Check: fmt.Sprintf("check at line %d", c.Pos.Line), Verdict: Fail,
				Reason: "check has no metric, http or prometheus"}
		}
	}
	wg.Wait()
	return combine(rows, now)
}

func (a *Analyzer) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// metricRows reads the figures the metric checks need, once for them all, and returns how to judge one.
func (a *Analyzer) metricRows(ctx context.Context, span time.Duration, subject, baseline proxy.Role) func(pipeline.Check) Result {
	needCur, needBase := false, false
	for _, c := range a.Checks {
		needCur = needCur || c.Metric != ""
		needBase = needBase || c.Metric != "" && c.MaxOverStable != nil
	}
	if !needCur {
		return nil
	}
	doubt := func(reason string) func(pipeline.Check) Result {
		return func(c pipeline.Check) Result {
			b := bounds(unitOf(c.Metric), c.Min, c.Max, c.MaxOverStable)
			return Result{Check: c.Metric + " " + b, Verdict: Inconclusive, Bound: b, Reason: reason}
		}
	}
	if a.Figures == nil {
		return doubt("no figures of the proxy to judge by")
	}
	cur, err := a.Figures.Summary(ctx, subject, span)
	if err != nil {
		return doubt(fmt.Sprintf("figures of %s: %v", subject, err))
	}
	var base *proxy.Summary
	var baseErr error
	if needBase && baseline != "" {
		s, err := a.Figures.Summary(ctx, baseline, span)
		base, baseErr = &s, err
	}
	return func(c pipeline.Check) Result {
		if c.MaxOverStable != nil && baseErr != nil {
			r := evaluateMetric(c, subject, cur, nil, a.MinRequests)
			if r.Verdict != Fail {
				r.Verdict, r.Reason = Inconclusive, fmt.Sprintf("figures of %s: %v", baseline, baseErr)
			}
			return r
		}
		return evaluateMetric(c, subject, cur, base, a.MinRequests)
	}
}

// lastProbe returns the last row of http check i sent to role when it is too recent to send again.
func (a *Analyzer) lastProbe(i int, role proxy.Role, every time.Duration, now time.Time) (Result, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	p, ok := a.probes[probeKey{i, role}]
	if !ok || now.Sub(p.at) >= every-every/10 {
		return Result{}, false
	}
	return p.result, true
}

// probe sends http check i to role and remembers the row, unless the analysis stopped while it was out.
func (a *Analyzer) probe(ctx context.Context, i int, c pipeline.HTTPCheck, role proxy.Role, now time.Time) Result {
	if a.Prober == nil {
		return Result{Check: httpLabel(c), Bound: httpBound(c), Verdict: Inconclusive,
			Reason: "no address to send http checks to"}
	}
	r := a.Prober.Probe(ctx, c, role)
	if ctx.Err() != nil {
		return r
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.probes == nil {
		a.probes = map[probeKey]probe{}
	}
	a.probes[probeKey{i, role}] = probe{at: now, result: r}
	return r
}

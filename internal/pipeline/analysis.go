package pipeline

import (
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

var (
	analysisKeys   = []string{"interval", "failure_limit", "min_requests", "on_inconclusive", "checks"}
	checkKeys      = []string{"metric", "min", "max", "max_over_stable", "http", "prometheus"}
	checkKinds     = []string{"metric", "http", "prometheus"}
	metricBounds   = []string{"min", "max", "max_over_stable"}
	httpKeys       = []string{"path", "method", "expect_status", "every", "timeout", "body", "expect_body", "url"}
	prometheusKeys = []string{"url", "query", "min", "max", "max_over_control", "max_under_control"}

	// metrics are the measures ferry's proxy takes of each release; Check says the unit of each.
	metrics = []string{"error_rate", "latency_p50", "latency_p90", "latency_p95", "latency_p99", "request_rate"}
	methods = []string{"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"}
)

const (
	defaultAnalysisInterval = 5 * time.Second
	// minAnalysisInterval keeps evaluations, and the requests of HTTP checks, from flooding a release.
	minAnalysisInterval = 100 * time.Millisecond
	maxFailureLimit     = 100
	defaultMinRequests  = 20
	maxMinRequests      = 1_000_000
	defaultHTTPTimeout  = 2 * time.Second
)

// analysis reads the "analysis" among the fields of an environment over the defaults. On target kubernetes
// there is no ferry proxy to measure the built-in metrics, and Prometheus queries are templates.
// kube is the environment's kubernetes block (nil when it has none, or it could not be read).
func (p *parser) analysis(env map[string]field, target string, kube *KubernetesTarget) Analysis {
	a := Analysis{Interval: defaultAnalysisInterval, MinRequests: defaultMinRequests}
	f, ok := env["analysis"]
	if !ok {
		return a
	}
	m := p.section(f.Val, "analysis", analysisKeys)
	if f, ok := m["interval"]; ok {
		if d, ok := p.duration(f.Val, `"interval"`, minAnalysisInterval); ok {
			a.Interval = d
		}
	}
	if f, ok := m["failure_limit"]; ok {
		a.FailureLimit, _ = p.integer(f.Val, `"failure_limit"`, 0, maxFailureLimit)
	}
	if f, ok := m["min_requests"]; ok {
		a.MinRequests, _ = p.integer(f.Val, `"min_requests"`, 0, maxMinRequests)
	}
	if f, ok := m["on_inconclusive"]; ok {
		i, _ := p.choice(f.Val, `"on_inconclusive"`, inconclusiveNames)
		a.OnInconclusive = OnInconclusive(i)
	}
	if f, ok := m["checks"]; ok {
		items, _ := p.Sequence(f.Val, `"checks"`)
		for _, item := range items {
			if c, ok := p.check(item, a.Interval, target, kube); ok {
				a.Checks = append(a.Checks, c)
			}
		}
	}
	return a
}

// check reads one analysis check of an environment with target (and kube, its kubernetes block); every is
// the analysis interval, the default pace of an HTTP check.
func (p *parser) check(item *yaml.Node, every time.Duration, target string, kube *KubernetesTarget) (Check, bool) {
	n := resolve(item)
	m := p.mapping(n, "check", checkKeys)
	if m == nil {
		return Check{}, false
	}
	kinds := present(m, checkKinds)
	switch len(kinds) {
	case 0:
		p.errorf(n, `check has no "metric", "http" or "prometheus"; add one, like metric: error_rate`)
		return Check{}, false
	case 1:
	default:
		p.errorf(kinds[1].Key, "check has both %q and %q; give each its own check", kinds[0].Key.Value, kinds[1].Key.Value)
		return Check{}, false
	}
	c := Check{Pos: pos(n)}
	switch kinds[0].Key.Value {
	case "metric":
		if target == TargetKubernetes {
			p.errorf(kinds[0].Key, `metric checks are measured by ferry's proxy, which target kubernetes does not have; `+
				`use a prometheus check instead, like prometheus: {url: ..., query: '...{version="{{ .Version }}"}...', max: 0.01}`)
			return Check{}, false
		}
		p.metricCheck(n, m, &c)
		return c, true
	case "http":
		c.HTTP = p.httpCheck(kinds[0].Val, every)
		p.checkURL(kinds[0], target, kube)
	case "prometheus":
		c.Prometheus = p.prometheusCheck(kinds[0].Val, target == TargetKubernetes)
	}
	for _, k := range metricBounds {
		if f, ok := m[k]; ok {
			hint := "an http check passes on its status and body"
			if kinds[0].Key.Value == "prometheus" {
				hint = `put min and max inside "prometheus"`
			}
			p.errorf(f.Key, "%q is only for metric checks; %s", k, hint)
		}
	}
	return c, true
}

// metricCheck reads a check of a built-in metric and its bounds, in the metric's base unit.
func (p *parser) metricCheck(n *yaml.Node, m map[string]field, c *Check) {
	i, ok := p.choice(m["metric"].Val, `"metric"`, metrics)
	if !ok {
		return
	}
	c.Metric = metrics[i]
	c.Min = p.measure(m, "min", c.Metric)
	c.Max = p.measure(m, "max", c.Metric)
	if f, ok := m["max_over_stable"]; ok && c.Metric == "request_rate" {
		p.errorf(f.Key, `"max_over_stable" does not apply to request_rate, which follows the traffic weight; `+
			`use it with error_rate or a latency`)
	} else {
		c.MaxOverStable = p.measure(m, "max_over_stable", c.Metric)
	}
	if len(present(m, metricBounds)) == 0 {
		bounds := "min, max or max_over_stable"
		if c.Metric == "request_rate" {
			bounds = "min or max"
		}
		p.errorf(n, "check of %s checks nothing; add %s", c.Metric, bounds)
	}
	p.ordered(m, c.Min, c.Max)
}

// measure reads the bound key of a check of metric, in the metric's base unit, or nil when it is not set.
func (p *parser) measure(m map[string]field, key, metric string) *float64 {
	f, ok := m[key]
	if !ok {
		return nil
	}
	n := resolve(f.Val)
	what := fmt.Sprintf("%q of %s", key, metric)
	var v float64
	switch {
	case metric == "error_rate":
		v, ok = p.fraction(n, what)
	case strings.HasPrefix(metric, "latency_"):
		v, ok = p.seconds(n, what)
	default:
		v, ok = p.number(n, what)
		if ok && v < 0 {
			p.errorf(n, "%s must not be negative, not %s", what, describe(n))
			ok = false
		}
	}
	if !ok {
		return nil
	}
	return &v
}

// fraction reads a fraction from 0 to 1, written as one (0.01) or as a percentage ("1%").
func (p *parser) fraction(n *yaml.Node, what string) (float64, bool) {
	v, ok := 0.0, false
	if n.Kind == yaml.ScalarNode {
		switch n.ShortTag() {
		case "!!int", "!!float":
			ok = n.Decode(&v) == nil
		case "!!str":
			if num, percent := strings.CutSuffix(strings.TrimSpace(n.Value), "%"); percent {
				f, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
				v, ok = f/100, err == nil
			}
		}
	}
	switch {
	case !ok || math.IsNaN(v) || math.IsInf(v, 0):
		p.errorf(n, `%s must be a fraction like 0.01 or a percentage like "1%%", not %s`, what, describe(n))
	case v < 0 || v > 1:
		p.errorf(n, "%s must be from 0 to 1 (0%% to 100%%), not %s", what, describe(n))
	default:
		return v, true
	}
	return 0, false
}

// seconds reads a duration ("300ms") as seconds. A bare number other than 0 is refused: 300 could be
// milliseconds, or seconds as Prometheus counts them.
func (p *parser) seconds(n *yaml.Node, what string) (float64, bool) {
	if n.Kind == yaml.ScalarNode && (n.ShortTag() == "!!int" || n.ShortTag() == "!!float") {
		if n.Value == "0" {
			return 0, true
		}
		p.errorf(n, "%s has no unit; write %q or %q, not %s", what, n.Value+"ms", n.Value+"s", n.Value)
		return 0, false
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" {
		d, err := time.ParseDuration(n.Value)
		switch {
		case err == nil && d >= 0:
			return d.Seconds(), true
		case err == nil:
			p.errorf(n, "%s must not be negative, not %s", what, describe(n))
			return 0, false
		}
	}
	p.errorf(n, `%s must be a duration like "300ms", not %s`, what, describe(n))
	return 0, false
}

// ordered reports a min above the max of the same check, which no value can pass.
func (p *parser) ordered(m map[string]field, lo, hi *float64) {
	if lo != nil && hi != nil && *lo > *hi {
		l, h := resolve(m["min"].Val), resolve(m["max"].Val)
		p.errorf(l, "min %s is more than max %s; no value can pass", l.Value, h.Value)
	}
}

// httpCheck reads a synthetic transaction; every is its default pace.
func (p *parser) httpCheck(n *yaml.Node, every time.Duration) *HTTPCheck {
	h := &HTTPCheck{Method: "GET", ExpectStatus: 200, Every: every, Timeout: defaultHTTPTimeout}
	m := p.section(n, "http", httpKeys)
	if m == nil {
		return h
	}
	if f, ok := m["url"]; ok {
		h.URL = p.gatewayURL(f.Val)
	}
	if f, ok := m["path"]; !ok {
		p.errorf(resolve(n), `http check has no "path"; add the path to request, like path: /checkout`)
	} else if s, ok := p.urlPath(f.Val, "/checkout"); ok {
		h.Path = s
	}
	if f, ok := m["method"]; ok {
		if i, ok := p.choice(f.Val, `"method"`, methods); ok {
			h.Method = methods[i]
		}
	}
	if f, ok := m["expect_status"]; ok {
		h.ExpectStatus, _ = p.integer(f.Val, `"expect_status"`, 100, 599)
	}
	if f, ok := m["every"]; ok {
		h.Every, _ = p.duration(f.Val, `"every"`, minAnalysisInterval)
	}
	if f, ok := m["timeout"]; ok {
		h.Timeout, _ = p.duration(f.Val, `"timeout"`, positive)
	}
	if f, ok := m["body"]; ok {
		h.Body, _ = p.text(f.Val, `"body"`)
	}
	if f, ok := m["expect_body"]; ok {
		h.ExpectBody, _ = p.text(f.Val, `"expect_body"`)
	}
	return h
}

// prometheusCheck reads a PromQL query and the bounds of its result; templated says whether the query is a
// template over QueryVars.
func (p *parser) prometheusCheck(n *yaml.Node, templated bool) *PrometheusCheck {
	pc := &PrometheusCheck{}
	m := p.section(n, "prometheus", prometheusKeys)
	if m == nil {
		return pc
	}
	n = resolve(n)
	if f, ok := m["url"]; !ok {
		p.errorf(n, `prometheus check has no "url"; add the Prometheus server, like url: http://127.0.0.1:9090`)
	} else if s, ok := p.text(f.Val, `"url"`); ok {
		if u, err := url.Parse(s); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
			p.errorf(resolve(f.Val), `invalid "url" %q: give an http or https URL with a host, like http://127.0.0.1:9090`, s)
		} else {
			pc.URL = s
		}
	}
	if f, ok := m["query"]; !ok {
		p.errorf(n, `prometheus check has no "query"; add a PromQL query that returns one number`)
	} else if s, ok := p.text(f.Val, `"query"`); ok && strings.TrimSpace(s) == "" {
		p.errorf(resolve(f.Val), `"query" is empty; give a PromQL query that returns one number`)
	} else if ok && templated {
		// A kubernetes environment's query is a template over QueryVars (its releases' versions).
		if p.queryTemplate(resolve(f.Val), s) {
			pc.Query = s
		}
	} else if ok {
		// Elsewhere a query may be a variant template, for flag rollouts judged per variant.
		pc.Query = s
		pc.Templated = p.variantTemplate(resolve(f.Val), s)
	}
	pc.Min = p.bound(m, "min")
	pc.Max = p.bound(m, "max")
	pc.MaxOverControl = p.bound(m, "max_over_control")
	pc.MaxUnderControl = p.bound(m, "max_under_control")
	for _, b := range []struct {
		k string
		v *float64
	}{{"max_over_control", pc.MaxOverControl}, {"max_under_control", pc.MaxUnderControl}} {
		k, v := b.k, b.v
		if f, ok := m[k]; ok && pc.Query != "" && !strings.Contains(pc.Query, ".Variant") {
			p.errorf(f.Key, `%q compares the variant with its control, but the query does not name the variant; `+
				`template it, like rate(answers_bad_total{variant="{{ .Variant }}"}[5m])`, k)
		}
		if v != nil && *v < 0 {
			p.errorf(resolve(m[k].Val), "%q must not be negative, not %s", k, describe(resolve(m[k].Val)))
		}
	}
	if len(present(m, []string{"min", "max", "max_over_control", "max_under_control"})) == 0 {
		p.errorf(n, "prometheus check checks nothing; add min, max, max_over_control or max_under_control")
	}
	p.ordered(m, pc.Min, pc.Max)
	return pc
}

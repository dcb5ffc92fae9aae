package dataplane

import (
	"github.com/prometheus/client_golang/prometheus"
)

var (
	descRequests = prometheus.NewDesc("ferry_proxy_requests_total",
		"Requests the proxy answered for a release of an environment.", []string{"env", "release", "role"}, nil)
	descErrors = prometheus.NewDesc("ferry_proxy_errors_total",
		"Requests answered with a 5xx (the instance's or the proxy's own 502/503).", []string{"env", "release", "role"}, nil)
	descLatency = prometheus.NewDesc("ferry_proxy_request_duration_seconds",
		"Time from a request's arrival to the end of its answer, as the proxy saw it.", []string{"env", "release", "role"}, nil)
	descWeight = prometheus.NewDesc("ferry_route_weight_percent",
		"Share of clients routed to the release.", []string{"env", "release", "role"}, nil)
	descInstances = prometheus.NewDesc("ferry_instances",
		"Instances of a release by state.", []string{"env", "release", "state"}, nil)
)

// Collector exposes the plane's figures to Prometheus. It reads them at scrape time, so the proxy's hot path
// pays nothing for it.
func (p *Plane) Collector() prometheus.Collector { return planeCollector{p} }

type planeCollector struct{ p *Plane }

func (c planeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descRequests, descErrors, descLatency, descWeight, descInstances} {
		ch <- d
	}
}

func (c planeCollector) Collect(ch chan<- prometheus.Metric) {
	p := c.p
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, run := range p.envs {
		env := run.spec.Name
		route := run.spec.Route
		for _, r := range run.spec.Releases {
			role, weight := "", 0
			switch r.ID {
			case route.Stable:
				role, weight = "stable", 100-route.CanaryWeight
			case route.Canary:
				role, weight = "canary", route.CanaryWeight
			}
			ch <- prometheus.MustNewConstMetric(descWeight, prometheus.GaugeValue, float64(weight), env, r.ID, role)
			if w := run.proxy.Stats(r.ID); w != nil {
				cum := w.Cumulative()
				ch <- prometheus.MustNewConstMetric(descRequests, prometheus.CounterValue, float64(cum.Requests), env, r.ID, role)
				ch <- prometheus.MustNewConstMetric(descErrors, prometheus.CounterValue, float64(cum.Errors), env, r.ID, role)
				ch <- prometheus.MustNewConstHistogram(descLatency, uint64(cum.Requests), cum.Sum, cum.Buckets, env, r.ID, role)
			}
			if s := run.sets[r.ID]; s != nil {
				counts := map[InstanceState]int{}
				for _, st := range s.Statuses() {
					counts[st.State]++
				}
				for _, state := range []InstanceState{InstanceStarting, InstanceHealthy, InstanceUnhealthy, InstanceExited} {
					ch <- prometheus.MustNewConstMetric(descInstances, prometheus.GaugeValue, float64(counts[state]), env, r.ID, string(state))
				}
			}
		}
	}
}

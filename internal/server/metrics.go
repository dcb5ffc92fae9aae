package server

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ferry-cd/ferry/internal/store"
)

var (
	descRunsActive = prometheus.NewDesc("ferry_runs_running", "Runs executing now, by project.", []string{"project"}, nil)
	descRollouts   = prometheus.NewDesc("ferry_rollouts_in_flight", "Rollouts pending, progressing or paused, by project and environment.", []string{"project", "env", "state"}, nil)
	descQueue      = prometheus.NewDesc("ferry_runs_queued", "Runs waiting for a slot, by project.", []string{"project"}, nil)
)

// counters are the control plane's own figures, counted as things happen.
type counters struct {
	reg         *prometheus.Registry
	runs        *prometheus.CounterVec
	steps       *prometheus.HistogramVec
	stages      *prometheus.HistogramVec
	webhooks    *prometheus.CounterVec
	rollouts    *prometheus.CounterVec
	evaluations *prometheus.CounterVec
}

func newCounters(s *Server) *counters {
	c := &counters{
		reg: prometheus.NewRegistry(),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ferry_runs_total",
			Help: "Runs that ended, by project and final state."}, []string{"project", "state"}),
		steps: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "ferry_step_duration_seconds",
			Help:    "Duration of steps that ran, by project, stage and final state.",
			Buckets: prometheus.ExponentialBuckets(0.01, 4, 10)}, []string{"project", "stage", "state"}),
		stages: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "ferry_stage_duration_seconds",
			Help:    "Duration of stages that ran, from their first step's start to their last step's end, by project and stage.",
			Buckets: prometheus.ExponentialBuckets(0.01, 4, 10)}, []string{"project", "stage"}),
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ferry_webhook_deliveries_total",
			Help: "Webhook deliveries by project and outcome (queued, ignored, duplicate, refused, bad)."}, []string{"project", "outcome"}),
		rollouts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ferry_rollouts_total",
			Help: "Rollouts that ended, by project, environment, final state and, for the ones that did not succeed, why (analysis, human, unhealthy)."},
			[]string{"project", "env", "state", "reason"}),
		evaluations: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ferry_analysis_evaluations_total",
			Help: "Analysis evaluations by project, environment and verdict."}, []string{"project", "env", "verdict"}),
	}
	c.reg.MustRegister(serverCollector{s}, c.runs, c.steps, c.stages, c.webhooks, c.rollouts, c.evaluations)
	return c
}

// stagesEnded observes each stage of a finished run that ran at least one step.
func (c *counters) stagesEnded(project string, steps []*store.Step) {
	type span struct{ from, to time.Time }
	spans := map[string]*span{}
	var order []string
	for _, st := range steps {
		if st.StartedAt.IsZero() || st.FinishedAt.IsZero() {
			continue
		}
		sp, ok := spans[st.Stage]
		if !ok {
			sp = &span{from: st.StartedAt, to: st.FinishedAt}
			spans[st.Stage] = sp
			order = append(order, st.Stage)
		}
		if st.StartedAt.Before(sp.from) {
			sp.from = st.StartedAt
		}
		if st.FinishedAt.After(sp.to) {
			sp.to = st.FinishedAt
		}
	}
	for _, stage := range order {
		c.stages.WithLabelValues(project, stage).Observe(spans[stage].to.Sub(spans[stage].from).Seconds())
	}
}

// rolloutEnded counts a rollout that reached a final state.
func (c *counters) rolloutEnded(r *store.Rollout) {
	why := ""
	switch {
	case r.State == store.RolloutSucceeded || r.State == store.RolloutSuperseded:
	case strings.HasPrefix(r.Reason, "analysis failed"):
		why = "analysis"
	case strings.Contains(r.Reason, " by "):
		why = "human"
	default:
		why = "unhealthy"
	}
	c.rollouts.WithLabelValues(r.Project, r.Env, string(r.State), why).Inc()
}

type serverCollector struct{ s *Server }

func (c serverCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descRunsActive
	ch <- descRollouts
	ch <- descQueue
}

func (c serverCollector) Collect(ch chan<- prometheus.Metric) {
	for p, n := range c.s.runs.Running() {
		ch <- prometheus.MustNewConstMetric(descRunsActive, prometheus.GaugeValue, float64(n), p)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if queued, err := c.s.store.RunsInState(ctx, store.RunQueued); err == nil {
		depth := map[string]int{}
		for _, r := range queued {
			depth[r.Project]++
		}
		for p, n := range depth {
			ch <- prometheus.MustNewConstMetric(descQueue, prometheus.GaugeValue, float64(n), p)
		}
	}
	rs, err := c.s.store.RolloutsInState(ctx, store.RolloutPending, store.RolloutProgressing, store.RolloutPaused)
	if err != nil {
		return
	}
	for _, r := range rs {
		ch <- prometheus.MustNewConstMetric(descRollouts, prometheus.GaugeValue, 1, r.Project, r.Env, string(r.State))
	}
}

// handleMetrics serves the Prometheus exposition: the control plane's own figures, then the data plane's
// (per environment and release: requests, 5xx, latency histogram, route weight, instances by state).
func (s *Server) handleMetrics() http.Handler {
	own := promhttp.HandlerFor(s.counters.reg, promhttp.HandlerOpts{DisableCompression: true})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Plain text only, so the data plane's exposition can follow the control plane's in one answer.
		r.Header.Del("Accept")
		rec := &bufferedWriter{header: http.Header{}}
		own.ServeHTTP(rec, r)
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		w.Write(rec.buf.Bytes())
		if c, _ := s.dataplane.get(r.Context(), false); c != nil {
			c.Metrics(r.Context(), w)
		}
	})
}

type bufferedWriter struct {
	header http.Header
	buf    bytes.Buffer
}

func (b *bufferedWriter) Header() http.Header         { return b.header }
func (b *bufferedWriter) Write(p []byte) (int, error) { return b.buf.Write(p) }
func (b *bufferedWriter) WriteHeader(int)             {}

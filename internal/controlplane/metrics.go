package controlplane

import (
	"context"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/ferry-cd/ferry/internal/runs"
	"github.com/ferry-cd/ferry/internal/store"
)

var (
	descRunsActive = prometheus.NewDesc("ferry_runs_running", "Runs executing now, by project.", []string{"project"}, nil)
	descRollouts   = prometheus.NewDesc("ferry_rollouts_in_flight", "Rollouts pending, progressing or paused, by project and environment.", []string{"project", "env", "state"}, nil)
	descQueue      = prometheus.NewDesc("ferry_runs_queued", "Runs waiting for a slot, by project.", []string{"project"}, nil)
)

// counters are the control plane's own figures, counted as things happen. The server serves reg on /metrics
// and adds its own (webhook deliveries) to it.
type counters struct {
	reg         *prometheus.Registry
	runs        *prometheus.CounterVec
	steps       *prometheus.HistogramVec
	stages      *prometheus.HistogramVec
	rollouts    *prometheus.CounterVec
	evaluations *prometheus.CounterVec
}

func newCounters(rm *runs.Manager, st store.Store) *counters {
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
		rollouts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ferry_rollouts_total",
			Help: "Rollouts that ended, by project, environment, final state and, for the ones that did not succeed, why (analysis, human, unhealthy)."},
			[]string{"project", "env", "state", "reason"}),
		evaluations: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ferry_analysis_evaluations_total",
			Help: "Analysis evaluations by project, environment and verdict."}, []string{"project", "env", "verdict"}),
	}
	c.reg.MustRegister(gauges{rm, st}, c.runs, c.steps, c.stages, c.rollouts, c.evaluations,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return c
}

// stepEnded observes a step that ran.
func (c *counters) stepEnded(project string, st *store.Step) {
	if !st.StartedAt.IsZero() {
		c.steps.WithLabelValues(project, st.Stage, string(st.State)).Observe(st.FinishedAt.Sub(st.StartedAt).Seconds())
	}
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

// gauges are read from the run lifecycle and the store at each scrape.
type gauges struct {
	runs  *runs.Manager
	store store.Store
}

func (c gauges) Describe(ch chan<- *prometheus.Desc) {
	ch <- descRunsActive
	ch <- descRollouts
	ch <- descQueue
}

func (c gauges) Collect(ch chan<- prometheus.Metric) {
	for p, n := range c.runs.Running() {
		ch <- prometheus.MustNewConstMetric(descRunsActive, prometheus.GaugeValue, float64(n), p)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if queued, err := c.store.RunsInState(ctx, store.RunQueued); err == nil {
		depth := map[string]int{}
		for _, r := range queued {
			depth[r.Project]++
		}
		for p, n := range depth {
			ch <- prometheus.MustNewConstMetric(descQueue, prometheus.GaugeValue, float64(n), p)
		}
	}
	rs, err := c.store.RolloutsInState(ctx, store.RolloutPending, store.RolloutProgressing, store.RolloutPaused)
	if err != nil {
		return
	}
	for _, r := range rs {
		ch <- prometheus.MustNewConstMetric(descRollouts, prometheus.GaugeValue, 1, r.Project, r.Env, string(r.State))
	}
}

package server

import (
	"bytes"
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ferry-cd/ferry/internal/store"
)

var (
	descRunsActive = prometheus.NewDesc("ferry_runs_running", "Runs executing now, by project.", []string{"project"}, nil)
	descRollouts   = prometheus.NewDesc("ferry_rollouts_in_flight", "Rollouts pending, progressing or paused, by project and environment.", []string{"project", "env", "state"}, nil)
)

type serverCollector struct{ s *Server }

func (c serverCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descRunsActive
	ch <- descRollouts
}

func (c serverCollector) Collect(ch chan<- prometheus.Metric) {
	c.s.mu.Lock()
	byProject := map[string]int{}
	for _, a := range c.s.active {
		byProject[a.project]++
	}
	c.s.mu.Unlock()
	for p, n := range byProject {
		ch <- prometheus.MustNewConstMetric(descRunsActive, prometheus.GaugeValue, float64(n), p)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
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
	reg := prometheus.NewRegistry()
	reg.MustRegister(serverCollector{s})
	own := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
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

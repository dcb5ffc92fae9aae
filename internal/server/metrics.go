package server

import (
	"bytes"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// newWebhookCounter counts webhook deliveries, the figure the server itself measures, in reg.
func newWebhookCounter(reg *prometheus.Registry) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ferry_webhook_deliveries_total",
		Help: "Webhook deliveries by project and outcome (queued, ignored, duplicate, refused, bad)."}, []string{"project", "outcome"})
	reg.MustRegister(c)
	return c
}

// handleMetrics serves the Prometheus exposition: the control plane's own figures, then the target's (the
// local data plane's: per environment and release, requests, 5xx, latency histogram, route weight, instances
// by state).
func (s *Server) handleMetrics() http.Handler {
	own := promhttp.HandlerFor(s.cfg.Metrics, promhttp.HandlerOpts{DisableCompression: true})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Plain text only, so the target's exposition can follow the control plane's in one answer.
		r.Header.Del("Accept")
		rec := &bufferedWriter{header: http.Header{}}
		own.ServeHTTP(rec, r)
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		w.Write(rec.buf.Bytes())
		if s.target != nil {
			s.target.Metrics(r.Context(), w)
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

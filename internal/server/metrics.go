package server

import (
	"bytes"
	"net/http"
	"sort"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"google.golang.org/protobuf/proto"
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
// by state; and its own Go runtime and process figures).
//
// Both processes report go_* and process_* families. One exposition may hold a family once, so the target's
// samples of a family the server also has join the server's, labelled component="dataplane".
func (s *Server) handleMetrics() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		own, err := s.cfg.Metrics.Gather()
		if err != nil && len(own) == 0 {
			http.Error(w, "gather metrics: "+err.Error(), http.StatusInternalServerError)
			return
		}
		fams := own
		if s.target != nil {
			var buf bytes.Buffer
			if s.target.Metrics(r.Context(), &buf) == nil {
				fams = mergeFamilies(own, buf.Bytes())
			}
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		enc := expfmt.NewEncoder(w, expfmt.NewFormat(expfmt.TypeTextPlain))
		for _, f := range fams {
			enc.Encode(f)
		}
	})
}

// mergeFamilies adds the families of the text exposition other to own. A family own has too gets other's
// samples with the label component="dataplane".
func mergeFamilies(own []*dto.MetricFamily, other []byte) []*dto.MetricFamily {
	parser := expfmt.NewTextParser(model.UTF8Validation)
	theirs, err := parser.TextToMetricFamilies(bytes.NewReader(other))
	if err != nil {
		return own
	}
	byName := map[string]*dto.MetricFamily{}
	for _, f := range own {
		byName[f.GetName()] = f
	}
	out := own
	for name, f := range theirs {
		mine, clash := byName[name]
		if !clash {
			out = append(out, f)
			continue
		}
		if mine.GetType() != f.GetType() {
			continue // not the same figure; the server's own stands
		}
		for _, m := range f.Metric {
			m.Label = append(m.Label, &dto.LabelPair{Name: proto.String("component"), Value: proto.String("dataplane")})
			mine.Metric = append(mine.Metric, m)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].GetName() < out[j].GetName() })
	return out
}

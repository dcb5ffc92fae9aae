package controlplane

import (
	"bytes"
	"context"
	"net/http"
	"path/filepath"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/ferry-cd/ferry/internal/dataplane"
)

// TestMetricsHaveBothProcessesRuntimeFigures scrapes the server's /metrics with a real data plane running on
// the data folder's socket: the Go runtime and process families are there for both processes, once each in
// one valid exposition, the data plane's labelled component="dataplane".
func TestMetricsHaveBothProcessesRuntimeFigures(t *testing.T) {
	dir := t.TempDir()
	plane := &dataplane.Plane{DataDir: dir}
	l, err := dataplane.Listen(filepath.Join(dir, "dataplane.sock"))
	if err != nil {
		t.Fatal(err)
	}
	ps := &http.Server{Handler: plane.Handler(nil)}
	go ps.Serve(l)
	t.Cleanup(func() { ps.Close(); plane.Close() })

	// The data plane's own /metrics, on its socket.
	var direct bytes.Buffer
	if err := dataplane.NewClient(filepath.Join(dir, "dataplane.sock")).Metrics(context.Background(), &direct); err != nil {
		t.Fatal(err)
	}
	fams := parseExposition(t, direct.Bytes())
	for _, name := range []string{"go_goroutines", "process_resident_memory_bytes", "process_open_fds"} {
		if fams[name] == nil {
			t.Errorf("the data plane's /metrics has no %s", name)
		}
	}

	_, url, tok := serveControlPlane(t, dir)
	body := getMetrics(t, url, tok)
	fams = parseExposition(t, body)
	for _, name := range []string{"go_goroutines", "process_resident_memory_bytes"} {
		var server, data bool
		if fams[name] != nil {
			for _, m := range fams[name].Metric {
				dp := false
				for _, lp := range m.Label {
					dp = dp || lp.GetName() == "component" && lp.GetValue() == "dataplane"
				}
				server, data = server || !dp, data || dp
			}
		}
		if !server || !data {
			t.Errorf("the server's /metrics has %s for the server %v and for the data plane %v, want both:\n%s", name, server, data, body)
		}
	}
}

// parseExposition parses a text exposition as Prometheus would; a family given twice is an error.
func parseExposition(t *testing.T, b []byte) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("the exposition does not parse: %v\n%s", err, b)
	}
	return fams
}

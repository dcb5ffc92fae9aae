package analysis

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ferry-cd/ferry/internal/analysis/promtest"
	"github.com/ferry-cd/ferry/internal/pipeline"
)

// answers are Prometheus API answers in the shapes a real server gives (see TestQueryRealPrometheus, which
// checks the same parsing against one), by query.
var answers = map[string]struct {
	status int
	body   string
}{
	"scalar":   {200, `{"status":"success","data":{"resultType":"scalar","result":[1700000000.123,"0.13"]}}`},
	"one":      {200, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000.123,"7"]}]}}`},
	"none":     {200, `{"status":"success","data":{"resultType":"vector","result":[]}}`},
	"several":  {200, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"up","job":"a"},"value":[1700000000,"1"]},{"metric":{"__name__":"up","job":"b"},"value":[1700000000,"0"]}]}}`},
	"matrix":   {200, `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"up"},"values":[[1700000000,"1"],[1700000015,"1"]]}]}}`},
	"string":   {200, `{"status":"success","data":{"resultType":"string","result":[1700000000,"hello"]}}`},
	"nan":      {200, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000,"NaN"]}]}}`},
	"inf":      {200, `{"status":"success","data":{"resultType":"scalar","result":[1700000000,"+Inf"]}}`},
	"bad":      {400, `{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:5: parse error: unclosed left parenthesis"}`},
	"busy":     {503, `{"status":"error","errorType":"unavailable","error":"too many queries"}`},
	"gateway":  {502, "<html><body>Bad Gateway</body></html>"},
	"notfound": {404, "404 page not found\n"},
	"garbled":  {200, `{"status":"success","data":{"resultType":"scalar","result":[1700000000,"seven"]}}`},
}

// recorded serves answers under the path prefix /prom, as a Prometheus behind a reverse proxy would.
func recorded(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, ok := answers[r.URL.Query().Get("query")]
		if r.URL.Path != "/prom/api/v1/query" || r.Method != http.MethodGet || !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(a.status)
		io.WriteString(w, a.body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/prom/"
}

func TestQueryAnswers(t *testing.T) {
	base := recorded(t)
	tests := []struct {
		query       string
		value       float64
		unavailable bool   // the error wraps ErrUnavailable
		err         string // a part of the error; "" for none
	}{
		{query: "scalar", value: 0.13},
		{query: "one", value: 7},
		{query: "nan", value: math.NaN()},
		{query: "inf", value: math.Inf(1)},
		{query: "none", err: "query returned no data"},
		{query: "several", err: `query returned 2 series (up{job="a"}, up{job="b"}), not one number; aggregate them`},
		{query: "matrix", err: "query returned a range vector, not one number"},
		{query: "string", err: "query returned a string, not a number"},
		{query: "bad", err: "HTTP 400, Prometheus bad_data (124 bytes"},
		{query: "busy", unavailable: true, err: "prometheus unavailable: HTTP 503, Prometheus unavailable (71 bytes"},
		{query: "gateway", unavailable: true, err: "HTTP 502, not a Prometheus API answer"},
		{query: "notfound", err: `HTTP 404, not a Prometheus API answer (19 bytes)`},
		{query: "garbled", err: `read sample value: not a number (5 bytes)`},
	}
	p := &Prometheus{}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			v, err := p.Query(t.Context(), base, tt.query)
			switch {
			case tt.err == "" && err != nil:
				t.Fatalf("Query: %v", err)
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
				t.Fatalf("Query = %v, %v; want an error containing %q", v, err, tt.err)
			case err != nil && errors.Is(err, ErrUnavailable) != tt.unavailable:
				t.Errorf("errors.Is(%v, ErrUnavailable) = %v", err, !tt.unavailable)
			case err != nil && !strings.HasPrefix(err.Error(), "prometheus "+base+": "):
				t.Errorf("error %q does not name the server", err)
			case err == nil && !(v == tt.value || math.IsNaN(v) && math.IsNaN(tt.value)):
				t.Errorf("Query = %v, want %v", v, tt.value)
			}
		})
	}
	if _, err := p.Query(t.Context(), base, "none"); !errors.Is(err, ErrNoData) {
		t.Errorf("no samples: %v, want ErrNoData", err)
	}
}

func TestQueryUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + l.Addr().String()
	l.Close()
	_, err = (&Prometheus{}).Query(t.Context(), base, "up")
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("Query = %v, want ErrUnavailable for a refused connection", err)
	}
}

func TestQueryTimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	t.Cleanup(srv.Close)
	_, err := (&Prometheus{Timeout: 50 * time.Millisecond}).Query(t.Context(), srv.URL, "up")
	if !errors.Is(err, ErrUnavailable) {
		t.Errorf("Query = %v, want ErrUnavailable after the timeout", err)
	}
}

func TestEvaluatePrometheus(t *testing.T) {
	c := pipeline.PrometheusCheck{URL: "http://127.0.0.1:9090", Query: "sum(rate(app_errors_total[1m]))", Max: ptr(0.1)}
	label := "prometheus sum(rate(app_errors_total[1m])) max 0.1"
	tests := []struct {
		name  string
		check pipeline.PrometheusCheck
		value float64
		err   error
		want  Result
	}{
		{"within max", c, 0.05, nil, Result{Check: label, Verdict: Pass, Value: "0.05", Bound: "max 0.1"}},
		{"on max", c, 0.1, nil, Result{Check: label, Verdict: Pass, Value: "0.1", Bound: "max 0.1"}},
		{"over max", c, 0.13, nil, Result{Check: label, Verdict: Fail, Value: "0.13", Bound: "max 0.1", Reason: "0.13 > max 0.1"}},
		{"just over max", c, 0.1000001, nil,
			Result{Check: label, Verdict: Fail, Value: "0.1000001", Bound: "max 0.1", Reason: "0.1000001 > max 0.1"}},
		{"under min", pipeline.PrometheusCheck{Query: "up", Min: ptr(1)}, 0, nil,
			Result{Check: "prometheus up min 1", Verdict: Fail, Value: "0", Bound: "min 1", Reason: "0 < min 1"}},
		{"infinite", c, math.Inf(1), nil,
			Result{Check: label, Verdict: Fail, Value: "+Inf", Bound: "max 0.1", Reason: "+Inf > max 0.1"}},
		{"NaN", c, math.NaN(), nil,
			Result{Check: label, Verdict: Inconclusive, Value: "NaN", Bound: "max 0.1", Reason: "query returned NaN"}},
		{"no data", c, 0, fmt.Errorf("prometheus x: %w", ErrNoData),
			Result{Check: label, Verdict: Inconclusive, Bound: "max 0.1", Reason: "prometheus x: query returned no data"}},
		{"unavailable", c, 0, fmt.Errorf("prometheus x: %w: refused", ErrUnavailable),
			Result{Check: label, Verdict: Inconclusive, Bound: "max 0.1", Reason: "prometheus x: prometheus unavailable: refused"}},
		{"bad query", c, 0, errors.New("prometheus x: bad_data: parse error"),
			Result{Check: label, Verdict: Fail, Bound: "max 0.1", Reason: "prometheus x: bad_data: parse error"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := EvaluatePrometheus(tt.check, tt.value, tt.err); got != tt.want {
				t.Errorf("EvaluatePrometheus:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// TestQueryRealPrometheus runs a Prometheus server that scrapes a counter from a test app, and reads it back
// with Query: the shapes above are what a real server answers.
func TestQueryRealPrometheus(t *testing.T) {
	t.Parallel() // Prometheus 2.42 hands new targets to its scrapers on a 5s tick: most of this test is waiting
	start := time.Now()
	base := startPrometheus(t)
	t.Logf("prometheus ready after %s", time.Since(start).Round(time.Millisecond))
	p := &Prometheus{}
	ctx := t.Context()

	// Wait for the first scrape: until then the sum has no data.
	deadline := time.Now().Add(30 * time.Second)
	var v float64
	var err error
	for {
		v, err = p.Query(ctx, base, "sum(test_counter_total)")
		if !errors.Is(err, ErrNoData) || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("first scrape seen after %s", time.Since(start).Round(time.Millisecond))
	if err != nil || v != 7 {
		t.Fatalf("sum(test_counter_total) = %v, %v; want 7", v, err)
	}

	if v, err := p.Query(ctx, base, `test_counter_total{path="/a"}`); err != nil || v != 3 {
		t.Errorf("one series = %v, %v; want 3", v, err)
	}
	if v, err := p.Query(ctx, base, "scalar(sum(test_counter_total)) * 2"); err != nil || v != 14 {
		t.Errorf("scalar = %v, %v; want 14", v, err)
	}
	if v, err := p.Query(ctx, base, "sum(test_counter_total) / 0 * 0"); err != nil || !math.IsNaN(v) {
		t.Errorf("NaN = %v, %v; want NaN", v, err)
	}
	for query, want := range map[string]string{
		"absent_metric_total":    "query returned no data",
		"test_counter_total":     "query returned 2 series",
		"test_counter_total[1m]": "query returned a range vector",
		"sum(test_counter_total": "Prometheus bad_data (",
		`"text"`:                 "query returned a string",
		"test_counter_total + on() test_counter_total": "Prometheus execution (",
	} {
		if _, err := p.Query(ctx, base, query); err == nil || !strings.Contains(err.Error(), want) ||
			errors.Is(err, ErrUnavailable) {
			t.Errorf("Query(%s) = %v, want an error containing %q", query, err, want)
		}
	}

	// And through an Analyzer, as a rollout uses it.
	a := &Analyzer{Checks: []pipeline.Check{
		{Prometheus: &pipeline.PrometheusCheck{URL: base, Query: "sum(test_counter_total)", Max: ptr(5)}},
		{Prometheus: &pipeline.PrometheusCheck{URL: base, Query: "sum(absent_metric_total)", Max: ptr(5)}},
	}}
	e := a.Evaluate(ctx, 5*time.Second, "canary", "stable")
	if e.Verdict != Fail || e.Results[0].Reason != "7 > max 5" || e.Results[1].Verdict != Inconclusive {
		t.Errorf("Evaluate = %+v", e)
	}
}

// startPrometheus starts a Prometheus server that scrapes, every 200ms, an app exposing test_counter_total
// with two series (3 and 4), and returns its URL once it is ready.
func startPrometheus(t *testing.T) string {
	t.Helper()
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		io.WriteString(w, "# HELP test_counter_total Requests seen by the test app.\n"+
			"# TYPE test_counter_total counter\n"+
			"test_counter_total{path=\"/a\"} 3\n"+
			"test_counter_total{path=\"/b\"} 4\n")
	}))
	t.Cleanup(app.Close)
	return promtest.Start(t, app.URL)
}

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

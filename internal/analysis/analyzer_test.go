package analysis

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-cd/ferry/internal/pipeline"
	"github.com/ferry-cd/ferry/internal/proxy"
)

// fakeFigures is a fake of the Figures boundary (the real one is the data plane, tested there): fixed
// summaries or errors by role, and a count of calls.
type fakeFigures struct {
	mu    sync.Mutex
	by    map[proxy.Role]proxy.Summary
	err   map[proxy.Role]error
	calls map[proxy.Role]int
}

func (f *fakeFigures) Summary(_ context.Context, role proxy.Role, span time.Duration) (proxy.Summary, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.calls == nil {
		f.calls = map[proxy.Role]int{}
	}
	f.calls[role]++
	if err := f.err[role]; err != nil {
		return proxy.Summary{}, err
	}
	s := f.by[role]
	s.Span = span
	return s, nil
}

// clock is a fake time for the pace of http checks.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }
func verdicts(e Evaluation) []Verdict {
	var vs []Verdict
	for _, r := range e.Results {
		vs = append(vs, r.Verdict)
	}
	return vs
}

var (
	errorRateMax  = pipeline.Check{Metric: "error_rate", Max: ptr(0.01)}
	latencyMax    = pipeline.Check{Metric: "latency_p99", Max: ptr(0.3)}
	overStable    = pipeline.Check{Metric: "error_rate", MaxOverStable: ptr(0.005)}
	goodCanary    = proxy.Summary{Requests: 400, Errors: 1, P99: 0.1}
	badCanary     = proxy.Summary{Requests: 400, Errors: 40, P99: 0.1}
	quietCanary   = proxy.Summary{Requests: 3, P99: 0.1}
	healthyStable = proxy.Summary{Requests: 4000, Errors: 4, P99: 0.1}
)

func TestEvaluateCombines(t *testing.T) {
	srv := newVersionServer(t)
	prom := recorded(t)
	checkout := pipeline.Check{HTTP: &pipeline.HTTPCheck{Path: "/checkout", Method: "GET", ExpectStatus: 200,
		Every: time.Second, Timeout: time.Second}}
	promWithin := pipeline.Check{Prometheus: &pipeline.PrometheusCheck{URL: prom, Query: "scalar", Max: ptr(1)}}
	promNoData := pipeline.Check{Prometheus: &pipeline.PrometheusCheck{URL: prom, Query: "none", Max: ptr(1)}}

	tests := []struct {
		name    string
		checks  []pipeline.Check
		canary  proxy.Summary
		broken  bool
		verdict Verdict
		rows    []Verdict
		summary string
	}{
		{"all pass", []pipeline.Check{errorRateMax, latencyMax, overStable, checkout, promWithin}, goodCanary, false,
			Pass, []Verdict{Pass, Pass, Pass, Pass, Pass}, "pass: all 5 checks passed"},
		{"a failure wins over a doubt", []pipeline.Check{errorRateMax, latencyMax, checkout, promNoData}, badCanary, true,
			Fail, []Verdict{Fail, Pass, Fail, Inconclusive},
			"fail: error_rate max 1%: error_rate 10% > max 1% (canary, 400 requests over 5s); " +
				"http GET /checkout expect 200: status 503, want 200; " +
				"inconclusive: prometheus none max 1: prometheus " + prom + ": query returned no data"},
		{"a doubt wins over passes", []pipeline.Check{errorRateMax, checkout}, quietCanary, false,
			Inconclusive, []Verdict{Inconclusive, Pass},
			"inconclusive: error_rate max 1%: only 3 canary requests over 5s (min_requests 20)"},
		{"no checks", nil, goodCanary, false, Pass, nil, "pass: no checks"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv.broken.Store(tt.broken)
			figures := &fakeFigures{by: map[proxy.Role]proxy.Summary{proxy.Canary: tt.canary, proxy.Stable: healthyStable}}
			at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
			a := &Analyzer{Checks: tt.checks, MinRequests: 20, Figures: figures, Prober: &Prober{Addr: srv.addr()},
				Now: func() time.Time { return at }}
			e := a.Evaluate(t.Context(), 5*time.Second, proxy.Canary, proxy.Stable)
			if e.Verdict != tt.verdict || !equal(verdicts(e), tt.rows) || e.Summary() != tt.summary || !e.At.Equal(at) {
				t.Errorf("Evaluate = %s %v\n%s\nwant %s %v\n%s", e.Verdict, verdicts(e), e.Summary(), tt.verdict, tt.rows, tt.summary)
			}
			if e.Results == nil {
				t.Error("Results is nil; want an empty list, which JSON writes as []")
			}
			// Figures are read once per role, however many checks use them.
			if n := figures.calls[proxy.Canary]; n > 1 {
				t.Errorf("canary figures read %d times", n)
			}
		})
	}
}

func equal(a, b []Verdict) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// After promotion the new release is the stable one and has no baseline: reasons name it stable, and
// max_over_stable passes saying it had nothing to compare with.
func TestEvaluateAfterPromotion(t *testing.T) {
	figures := &fakeFigures{by: map[proxy.Role]proxy.Summary{proxy.Stable: badCanary}}
	a := &Analyzer{Checks: []pipeline.Check{errorRateMax, overStable}, MinRequests: 20, Figures: figures}
	e := a.Evaluate(t.Context(), 5*time.Second, proxy.Stable, "")
	if e.Verdict != Fail || e.Results[0].Reason != "error_rate 10% > max 1% (stable, 400 requests over 5s)" {
		t.Errorf("max row = %+v", e.Results[0])
	}
	if r := e.Results[1]; r.Verdict != Pass || r.Reason != "max_over_stable: no stable release to compare with" {
		t.Errorf("max_over_stable row = %+v", r)
	}
	if figures.calls[proxy.Canary] != 0 {
		t.Errorf("figures of the canary read without a canary")
	}
}

func TestEvaluateFiguresErrors(t *testing.T) {
	down := errors.New("data plane: connection refused")
	t.Run("canary", func(t *testing.T) {
		figures := &fakeFigures{err: map[proxy.Role]error{proxy.Canary: down}}
		a := &Analyzer{Checks: []pipeline.Check{errorRateMax, overStable}, MinRequests: 20, Figures: figures}
		e := a.Evaluate(t.Context(), 5*time.Second, proxy.Canary, proxy.Stable)
		for _, r := range e.Results {
			if r.Verdict != Inconclusive || r.Reason != "figures of canary: data plane: connection refused" {
				t.Errorf("row = %+v", r)
			}
		}
	})
	t.Run("stable", func(t *testing.T) {
		figures := &fakeFigures{by: map[proxy.Role]proxy.Summary{proxy.Canary: badCanary},
			err: map[proxy.Role]error{proxy.Stable: down}}
		both := pipeline.Check{Metric: "error_rate", Max: ptr(0.01), MaxOverStable: ptr(0.005)}
		a := &Analyzer{Checks: []pipeline.Check{overStable, both, latencyMax}, MinRequests: 20, Figures: figures}
		e := a.Evaluate(t.Context(), 5*time.Second, proxy.Canary, proxy.Stable)
		if got := verdicts(e); !equal(got, []Verdict{Inconclusive, Fail, Pass}) {
			t.Errorf("verdicts = %v; rows %+v", got, e.Results)
		}
		if r := e.Results[0].Reason; r != "figures of stable: data plane: connection refused" {
			t.Errorf("reason = %q", r)
		}
	})
	t.Run("none", func(t *testing.T) {
		a := &Analyzer{Checks: []pipeline.Check{errorRateMax, {HTTP: &pipeline.HTTPCheck{Path: "/", Method: "GET", ExpectStatus: 200}}}}
		e := a.Evaluate(t.Context(), 5*time.Second, proxy.Canary, proxy.Stable)
		if got := verdicts(e); !equal(got, []Verdict{Inconclusive, Inconclusive}) {
			t.Errorf("without Figures and Prober: %+v", e.Results)
		}
	})
}

// An http check is sent at its own pace: between two sends its last row stands.
func TestEvaluateHTTPPace(t *testing.T) {
	srv := newVersionServer(t)
	c := &clock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	checkout := pipeline.Check{HTTP: &pipeline.HTTPCheck{Path: "/checkout", Method: "GET", ExpectStatus: 200,
		Every: 2 * time.Second, Timeout: time.Second}}
	a := &Analyzer{Checks: []pipeline.Check{checkout}, Prober: &Prober{Addr: srv.addr()}, Now: c.now}
	steps := []struct {
		after  time.Duration
		role   proxy.Role
		broken bool
		hits   int64
		want   Verdict
	}{
		{0, proxy.Canary, false, 1, Pass},
		{time.Second, proxy.Canary, true, 1, Pass},            // not due: the last row stands though the canary broke
		{900 * time.Millisecond, proxy.Canary, true, 2, Fail}, // 1.9s: due, within a tenth of every
		{time.Second, proxy.Canary, false, 2, Fail},
		{0, proxy.Stable, false, 3, Pass}, // promoted: the canary's row does not stand for the stable release
		{2 * time.Second, proxy.Canary, false, 4, Pass},
	}
	for i, s := range steps {
		c.advance(s.after)
		srv.broken.Store(s.broken)
		e := a.Evaluate(t.Context(), time.Second, s.role, "")
		if e.Verdict != s.want || srv.hits.Load() != s.hits {
			t.Fatalf("step %d: verdict %s after %d requests, want %s after %d; %+v", i, e.Verdict, srv.hits.Load(),
				s.want, s.hits, e.Results)
		}
	}
}

// A check stopped by the end of the analysis is not remembered: the next evaluation sends it again.
func TestEvaluateCanceledProbeNotKept(t *testing.T) {
	srv := newVersionServer(t)
	slow := pipeline.Check{HTTP: &pipeline.HTTPCheck{Path: "/slow", Method: "GET", ExpectStatus: 200,
		Every: time.Hour, Timeout: 5 * time.Second}}
	a := &Analyzer{Checks: []pipeline.Check{slow}, Prober: &Prober{Addr: srv.addr()}}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if e := a.Evaluate(ctx, time.Second, proxy.Canary, proxy.Stable); e.Verdict != Inconclusive {
		t.Fatalf("canceled: %+v", e)
	}
	if _, ok := a.lastProbe(0, proxy.Canary, time.Hour, time.Now()); ok {
		t.Error("a canceled probe was kept")
	}
}

func TestEvaluationJSON(t *testing.T) {
	figures := &fakeFigures{by: map[proxy.Role]proxy.Summary{proxy.Canary: badCanary, proxy.Stable: healthyStable}}
	a := &Analyzer{Checks: []pipeline.Check{overStable}, MinRequests: 20, Figures: figures,
		Now: func() time.Time { return time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC) }}
	e := a.Evaluate(t.Context(), 5*time.Second, proxy.Canary, proxy.Stable)
	data, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"verdict":"fail","results":[{"check":"error_rate max_over_stable 0.5%","verdict":"fail","value":"10%",` +
		`"stable":"0.1%","bound":"max_over_stable 0.5%","reason":"error_rate canary 10% - stable 0.1% = 9.9% \u003e ` +
		`max_over_stable 0.5% (400 and 4000 requests over 5s)"}],"at":"2025-03-01T12:00:00Z"}`
	if string(data) != want {
		t.Errorf("JSON:\n got %s\nwant %s", data, want)
	}
	var back Evaluation
	if err := json.Unmarshal(data, &back); err != nil || back.Summary() != e.Summary() {
		t.Errorf("round trip: %v, %q", err, back.Summary())
	}
	if empty, _ := json.Marshal((&Analyzer{}).Evaluate(t.Context(), time.Second, proxy.Canary, "")); !strings.Contains(string(empty), `"results":[]`) {
		t.Errorf("no checks: %s", empty)
	}
}

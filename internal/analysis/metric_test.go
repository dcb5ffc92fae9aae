package analysis

import (
	"testing"
	"time"

	"github.com/ferry-cd/ferry/internal/pipeline"
	"github.com/ferry-cd/ferry/internal/proxy"
)

func ptr(v float64) *float64 { return &v }

// over5s is a summary of requests and errors over 5s with the given p99 (other quantiles below it).
func over5s(requests, errors int64, p99 float64) proxy.Summary {
	return proxy.Summary{Requests: requests, Errors: errors, P50: p99 / 4, P90: p99 / 2, P95: p99 * 3 / 4, P99: p99,
		Span: 5 * time.Second}
}

func TestEvaluateMetric(t *testing.T) {
	healthy := over5s(2000, 10, 0.2) // 0.5 % errors
	tests := []struct {
		name           string
		check          pipeline.Check
		canary, stable proxy.Summary
		minRequests    int
		want           Result
	}{
		{
			name:   "error_rate over max",
			check:  pipeline.Check{Metric: "error_rate", Max: ptr(0.01)},
			canary: over5s(340, 8, 0.1), stable: healthy, minRequests: 20,
			want: Result{Check: "error_rate max 1%", Verdict: Fail, Value: "2.35%", Bound: "max 1%",
				Reason: "error_rate 2.35% > max 1% (canary, 340 requests over 5s)"},
		},
		{
			name:   "error_rate exactly on max passes",
			check:  pipeline.Check{Metric: "error_rate", Max: ptr(0.01)},
			canary: over5s(1000, 10, 0.1), stable: healthy, minRequests: 20,
			want: Result{Check: "error_rate max 1%", Verdict: Pass, Value: "1%", Bound: "max 1%"},
		},
		{
			name:   "error_rate just over max shows enough digits to differ",
			check:  pipeline.Check{Metric: "error_rate", Max: ptr(0.01)},
			canary: over5s(100000, 1001, 0.1), stable: healthy, minRequests: 20,
			want: Result{Check: "error_rate max 1%", Verdict: Fail, Value: "1.001%", Bound: "max 1%",
				Reason: "error_rate 1.001% > max 1% (canary, 100000 requests over 5s)"},
		},
		{
			name:   "error_rate under min",
			check:  pipeline.Check{Metric: "error_rate", Min: ptr(0.001), Max: ptr(0.05)},
			canary: over5s(500, 0, 0.1), stable: healthy, minRequests: 20,
			want: Result{Check: "error_rate min 0.1% max 5%", Verdict: Fail, Value: "0%", Bound: "min 0.1% max 5%",
				Reason: "error_rate 0% < min 0.1% (canary, 500 requests over 5s)"},
		},
		{
			name:   "latency_p50 within max",
			check:  pipeline.Check{Metric: "latency_p50", Max: ptr(0.1)},
			canary: over5s(500, 0, 0.2), stable: healthy, minRequests: 20,
			want: Result{Check: "latency_p50 max 100ms", Verdict: Pass, Value: "50ms", Bound: "max 100ms"},
		},
		{
			name:   "latency_p90 over max",
			check:  pipeline.Check{Metric: "latency_p90", Max: ptr(0.1)},
			canary: over5s(500, 0, 0.5), stable: healthy, minRequests: 20,
			want: Result{Check: "latency_p90 max 100ms", Verdict: Fail, Value: "250ms", Bound: "max 100ms",
				Reason: "latency_p90 250ms > max 100ms (canary, 500 requests over 5s)"},
		},
		{
			name:   "latency_p95 under min",
			check:  pipeline.Check{Metric: "latency_p95", Min: ptr(0.001)},
			canary: over5s(500, 0, 0.0004), stable: healthy, minRequests: 20,
			want: Result{Check: "latency_p95 min 1ms", Verdict: Fail, Value: "300µs", Bound: "min 1ms",
				Reason: "latency_p95 300µs < min 1ms (canary, 500 requests over 5s)"},
		},
		{
			name:   "latency_p99 over max",
			check:  pipeline.Check{Metric: "latency_p99", Max: ptr(0.3)},
			canary: over5s(340, 0, 0.4123), stable: healthy, minRequests: 20,
			want: Result{Check: "latency_p99 max 300ms", Verdict: Fail, Value: "412ms", Bound: "max 300ms",
				Reason: "latency_p99 412ms > max 300ms (canary, 340 requests over 5s)"},
		},
		{
			name:   "latency in seconds",
			check:  pipeline.Check{Metric: "latency_p99", Max: ptr(1.5)},
			canary: over5s(340, 0, 2.5), stable: healthy, minRequests: 20,
			want: Result{Check: "latency_p99 max 1.5s", Verdict: Fail, Value: "2.5s", Bound: "max 1.5s",
				Reason: "latency_p99 2.5s > max 1.5s (canary, 340 requests over 5s)"},
		},
		{
			name:   "one request short of min_requests",
			check:  pipeline.Check{Metric: "error_rate", Max: ptr(0.01)},
			canary: over5s(19, 19, 0.1), stable: healthy, minRequests: 20,
			want: Result{Check: "error_rate max 1%", Verdict: Inconclusive, Value: "100%", Bound: "max 1%",
				Reason: "only 19 canary requests over 5s (min_requests 20)"},
		},
		{
			name:   "exactly min_requests is judged",
			check:  pipeline.Check{Metric: "error_rate", Max: ptr(0.01)},
			canary: over5s(20, 1, 0.1), stable: healthy, minRequests: 20,
			want: Result{Check: "error_rate max 1%", Verdict: Fail, Value: "5%", Bound: "max 1%",
				Reason: "error_rate 5% > max 1% (canary, 20 requests over 5s)"},
		},
		{
			name:   "zero requests",
			check:  pipeline.Check{Metric: "latency_p99", Max: ptr(0.3)},
			canary: over5s(0, 0, 0), stable: healthy, minRequests: 20,
			want: Result{Check: "latency_p99 max 300ms", Verdict: Inconclusive, Bound: "max 300ms",
				Reason: "no canary requests over 5s"},
		},
		{
			name:   "zero requests with min_requests 0 still has no latency",
			check:  pipeline.Check{Metric: "latency_p99", Max: ptr(0.3)},
			canary: over5s(0, 0, 0), stable: healthy, minRequests: 0,
			want: Result{Check: "latency_p99 max 300ms", Verdict: Inconclusive, Bound: "max 300ms",
				Reason: "no canary requests over 5s"},
		},
		{
			name:   "request_rate under min needs no min_requests",
			check:  pipeline.Check{Metric: "request_rate", Min: ptr(5)},
			canary: over5s(10, 0, 0.1), stable: healthy, minRequests: 20,
			want: Result{Check: "request_rate min 5/s", Verdict: Fail, Value: "2/s", Bound: "min 5/s",
				Reason: "request_rate 2/s < min 5/s (canary, 10 requests over 5s)"},
		},
		{
			name:   "request_rate of no requests",
			check:  pipeline.Check{Metric: "request_rate", Min: ptr(0.5)},
			canary: over5s(0, 0, 0), stable: healthy, minRequests: 20,
			want: Result{Check: "request_rate min 0.5/s", Verdict: Fail, Value: "0/s", Bound: "min 0.5/s",
				Reason: "request_rate 0/s < min 0.5/s (canary, 0 requests over 5s)"},
		},
		{
			name:   "request_rate within bounds",
			check:  pipeline.Check{Metric: "request_rate", Min: ptr(1), Max: ptr(1000)},
			canary: over5s(62, 0, 0.1), stable: healthy, minRequests: 20,
			want: Result{Check: "request_rate min 1/s max 1000/s", Verdict: Pass, Value: "12.4/s", Bound: "min 1/s max 1000/s"},
		},
		{
			name:   "request_rate without a span",
			check:  pipeline.Check{Metric: "request_rate", Min: ptr(1)},
			canary: proxy.Summary{}, stable: healthy, minRequests: 20,
			want: Result{Check: "request_rate min 1/s", Verdict: Inconclusive, Bound: "min 1/s",
				Reason: "no time measured for canary"},
		},
		{
			name:   "error_rate over stable by more than max_over_stable",
			check:  pipeline.Check{Metric: "error_rate", MaxOverStable: ptr(0.005)},
			canary: over5s(340, 8, 0.1), stable: healthy, minRequests: 20,
			want: Result{Check: "error_rate max_over_stable 0.5%", Verdict: Fail, Value: "2.35%", Stable: "0.5%",
				Bound:  "max_over_stable 0.5%",
				Reason: "error_rate canary 2.35% - stable 0.5% = 1.85% > max_over_stable 0.5% (340 and 2000 requests over 5s)"},
		},
		{
			name:   "max_over_stable exactly on the bound passes despite float rounding",
			check:  pipeline.Check{Metric: "error_rate", MaxOverStable: ptr(0.005)},
			canary: over5s(2000, 30, 0.1), stable: over5s(2000, 20, 0.1), minRequests: 20,
			want: Result{Check: "error_rate max_over_stable 0.5%", Verdict: Pass, Value: "1.5%", Stable: "1%",
				Bound: "max_over_stable 0.5%"},
		},
		{
			name:   "canary better than stable",
			check:  pipeline.Check{Metric: "latency_p99", MaxOverStable: ptr(0.05)},
			canary: over5s(500, 0, 0.1), stable: over5s(2000, 0, 0.4), minRequests: 20,
			want: Result{Check: "latency_p99 max_over_stable 50ms", Verdict: Pass, Value: "100ms", Stable: "400ms",
				Bound: "max_over_stable 50ms"},
		},
		{
			name:   "latency over stable",
			check:  pipeline.Check{Metric: "latency_p99", MaxOverStable: ptr(0.05)},
			canary: over5s(500, 0, 0.5), stable: over5s(2000, 0, 0.2), minRequests: 20,
			want: Result{Check: "latency_p99 max_over_stable 50ms", Verdict: Fail, Value: "500ms", Stable: "200ms",
				Bound:  "max_over_stable 50ms",
				Reason: "latency_p99 canary 500ms - stable 200ms = 300ms > max_over_stable 50ms (500 and 2000 requests over 5s)"},
		},
		{
			name:   "max_over_stable needs min_requests of stable too",
			check:  pipeline.Check{Metric: "error_rate", MaxOverStable: ptr(0.005)},
			canary: over5s(340, 8, 0.1), stable: over5s(19, 0, 0.1), minRequests: 20,
			want: Result{Check: "error_rate max_over_stable 0.5%", Verdict: Inconclusive, Value: "2.35%", Stable: "0%",
				Bound: "max_over_stable 0.5%", Reason: "only 19 stable requests over 5s (min_requests 20)"},
		},
		{
			name:   "max_over_stable without stable requests",
			check:  pipeline.Check{Metric: "error_rate", MaxOverStable: ptr(0.005)},
			canary: over5s(340, 8, 0.1), stable: over5s(0, 0, 0), minRequests: 20,
			want: Result{Check: "error_rate max_over_stable 0.5%", Verdict: Inconclusive, Value: "2.35%",
				Bound: "max_over_stable 0.5%", Reason: "no stable requests over 5s to compare with"},
		},
		{
			name:   "max_over_stable needs min_requests of the canary",
			check:  pipeline.Check{Metric: "error_rate", MaxOverStable: ptr(0.005)},
			canary: over5s(5, 5, 0.1), stable: healthy, minRequests: 20,
			want: Result{Check: "error_rate max_over_stable 0.5%", Verdict: Inconclusive, Value: "100%", Stable: "0.5%",
				Bound: "max_over_stable 0.5%", Reason: "only 5 canary requests over 5s (min_requests 20)"},
		},
		{
			name:   "a failed max outweighs a stable too quiet to compare with",
			check:  pipeline.Check{Metric: "error_rate", Max: ptr(0.01), MaxOverStable: ptr(0.005)},
			canary: over5s(340, 8, 0.1), stable: over5s(3, 0, 0.1), minRequests: 20,
			want: Result{Check: "error_rate max 1% max_over_stable 0.5%", Verdict: Fail, Value: "2.35%", Stable: "0%",
				Bound:  "max 1% max_over_stable 0.5%",
				Reason: "error_rate 2.35% > max 1% (canary, 340 requests over 5s)"},
		},
		{
			name:   "unknown metric",
			check:  pipeline.Check{Metric: "cpu", Max: ptr(1)},
			canary: healthy, stable: healthy, minRequests: 20,
			want: Result{Check: "cpu max 1", Verdict: Fail, Bound: "max 1", Reason: `unknown metric "cpu"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := EvaluateMetric(tt.check, tt.canary, tt.stable, tt.minRequests)
			if got != tt.want {
				t.Errorf("EvaluateMetric:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// Without a baseline (after promotion) max_over_stable has nothing to compare with: it passes and says so,
// and the reasons name the role the new release has.
func TestEvaluateMetricWithoutBaseline(t *testing.T) {
	c := pipeline.Check{Metric: "error_rate", Max: ptr(0.01), MaxOverStable: ptr(0.005)}
	got := evaluateMetric(c, proxy.Stable, over5s(1000, 1, 0.1), nil, 20)
	want := Result{Check: "error_rate max 1% max_over_stable 0.5%", Verdict: Pass, Value: "0.1%",
		Bound: "max 1% max_over_stable 0.5%", Reason: "max_over_stable: no stable release to compare with"}
	if got != want {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	got = evaluateMetric(c, proxy.Stable, over5s(1000, 50, 0.1), nil, 20)
	if got.Verdict != Fail || got.Reason != "error_rate 5% > max 1% (stable, 1000 requests over 5s)" {
		t.Errorf("got %+v", got)
	}
}

func TestFormat(t *testing.T) {
	tests := []struct {
		u    unit
		v    float64
		want string
	}{
		{fraction, 0.0235, "2.35%"},
		{fraction, 0.005, "0.5%"},
		{fraction, 1, "100%"},
		{fraction, 0.000012, "0.0012%"},
		{seconds, 0, "0s"},
		{seconds, 0.000050, "50µs"},
		{seconds, 0.41234, "412ms"},
		{seconds, 0.3, "300ms"},
		{seconds, 12.345, "12.3s"},
		{seconds, 1234, "1230s"},
		{perSecond, 12.4, "12.4/s"},
		{plain, 0.13, "0.13"},
		{plain, 123456, "123000"},
		{plain, 2e20, "2e+20"},
		{plain, -0.5, "-0.5"},
	}
	for _, tt := range tests {
		if got := tt.u.format(tt.v, valueDigits); got != tt.want {
			t.Errorf("format(%d, %g) = %q, want %q", tt.u, tt.v, got, tt.want)
		}
	}
}

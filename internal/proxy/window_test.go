package proxy

import (
	"math"
	"testing"
	"time"
)

// t0 is a whole second, so that offsets in the tables below name seconds exactly.
var t0 = time.Unix(1_800_000_000, 0)

func sec(n int) time.Time { return t0.Add(time.Duration(n) * time.Second) }

type rec struct {
	at   int // second relative to t0
	code int
	d    time.Duration
	n    int
}

func TestWindowSince(t *testing.T) {
	ms := time.Millisecond
	cases := []struct {
		name             string
		recs             []rec
		since, now       time.Time
		requests, errors int64
		errorRate, rate  float64
		span             time.Duration
		p50, p90, p99    time.Duration // 0: no check
	}{
		{
			name: "empty", since: sec(-10), now: sec(0), span: 10 * time.Second,
		},
		{
			name:  "errors are 5xx only",
			recs:  []rec{{0, 200, ms, 6}, {0, 404, ms, 1}, {-1, 500, ms, 2}, {-2, 503, ms, 1}},
			since: sec(-10), now: sec(0),
			requests: 10, errors: 3, errorRate: 0.3, rate: 1, span: 10 * time.Second,
		},
		{
			name:  "quantiles",
			recs:  []rec{{0, 200, 2 * ms, 90}, {-3, 200, 100 * ms, 9}, {-4, 200, 2 * time.Second, 1}},
			since: sec(-5), now: sec(0).Add(500 * ms),
			requests: 100, rate: 100 / 5.5, span: 5500 * ms,
			p50: 2 * ms, p90: 2 * ms, p99: 100 * ms,
		},
		{
			name:  "slots before since are left out",
			recs:  []rec{{-30, 500, ms, 5}, {-11, 500, ms, 5}, {-10, 200, ms, 1}, {0, 200, ms, 1}},
			since: sec(-10), now: sec(0),
			requests: 2, rate: 0.2, span: 10 * time.Second,
		},
		{
			name: "a slot last written two minutes ago is stale",
			// sec(-125) shares its slot with sec(-5), sec(-120) with sec(0).
			recs:  []rec{{-125, 500, ms, 7}, {-120, 500, ms, 3}, {-1, 200, ms, 1}},
			since: sec(-10), now: sec(0),
			requests: 1, rate: 0.1, span: 10 * time.Second,
		},
		{
			name:  "a slot is reset when its second comes round again",
			recs:  []rec{{-120, 500, ms, 3}, {0, 200, ms, 2}},
			since: sec(-119), now: sec(0),
			requests: 2, rate: 2.0 / 119, span: 119 * time.Second,
		},
		{
			name: "spans over two minutes are clamped to the window",
			// One request a second over the last 120 seconds, and some older ones the window forgot.
			recs:  append([]rec{{-200, 500, ms, 50}}, everySecond(-119, 0, 200, ms)...),
			since: sec(-600), now: sec(0),
			requests: 120, rate: 1, span: 120 * time.Second,
		},
		{
			name:  "since after now",
			recs:  []rec{{0, 200, ms, 1}},
			since: sec(1), now: sec(0),
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := NewWindow()
			for _, r := range tc.recs {
				for range r.n {
					w.Record(sec(r.at), r.code, r.d)
				}
			}
			s := w.Since(tc.since, tc.now)
			if s.Requests != tc.requests || s.Errors != tc.errors {
				t.Errorf("%d requests, %d errors; want %d, %d", s.Requests, s.Errors, tc.requests, tc.errors)
			}
			if !near(s.ErrorRate(), tc.errorRate) {
				t.Errorf("ErrorRate() = %v, want %v", s.ErrorRate(), tc.errorRate)
			}
			if tc.span != 0 && s.Span != tc.span {
				t.Errorf("Span = %v, want %v", s.Span, tc.span)
			}
			if tc.rate != 0 && !near(s.RequestRate(), tc.rate) {
				t.Errorf("RequestRate() = %v, want %v", s.RequestRate(), tc.rate)
			}
			if tc.requests == 0 && (s.P50 != 0 || s.P99 != 0) {
				t.Errorf("quantiles without requests: p50 %v p99 %v", s.P50, s.P99)
			}
			for _, q := range []struct {
				name string
				got  float64
				want time.Duration
			}{{"p50", s.P50, tc.p50}, {"p90", s.P90, tc.p90}, {"p99", s.P99, tc.p99}} {
				if q.want != 0 && !inBucketOf(q.got, q.want) {
					t.Errorf("%s = %vs, want the upper bound of the bucket holding %v", q.name, q.got, q.want)
				}
			}
			if s.Requests > 0 && !(s.P50 <= s.P90 && s.P90 <= s.P95 && s.P95 <= s.P99) {
				t.Errorf("quantiles out of order: %v %v %v %v", s.P50, s.P90, s.P95, s.P99)
			}
		})
	}
}

func everySecond(from, to, code int, d time.Duration) []rec {
	var rs []rec
	for s := from; s <= to; s++ {
		rs = append(rs, rec{s, code, d, 1})
	}
	return rs
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

// inBucketOf reports whether q is a bucket's upper bound no lower than d and less than one bucket above it.
func inBucketOf(q float64, d time.Duration) bool {
	s := d.Seconds()
	return q >= s && q < s*math.Exp2(0.25)*(1+1e-9)
}

func TestWindowTotal(t *testing.T) {
	w := NewWindow()
	if got := w.Total(); got != (Summary{}) {
		t.Fatalf("new window Total() = %+v", got)
	}
	// Total keeps counting what the rolling slots forget.
	w.Record(sec(-1000), 500, time.Millisecond)
	w.Record(sec(-120), 200, time.Millisecond)
	w.Record(sec(0), 200, time.Millisecond)
	w.Record(sec(0), 502, time.Millisecond)
	w.Record(sec(0), 499, time.Millisecond)
	got := w.Total()
	if got.Requests != 5 || got.Errors != 2 {
		t.Errorf("Total() = %d requests, %d errors; want 5, 2", got.Requests, got.Errors)
	}
	if s := w.Since(sec(-10), sec(0)); s.Requests != 3 || s.Errors != 1 {
		t.Errorf("Since last 10 s = %d requests, %d errors; want 3, 1", s.Requests, s.Errors)
	}
}

func TestSummaryRates(t *testing.T) {
	for _, tc := range []struct {
		s                Summary
		errRate, reqRate float64
	}{
		{Summary{}, 0, 0},
		{Summary{Requests: 10, Errors: 5, Span: 5 * time.Second}, 0.5, 2},
		{Summary{Requests: 10, Span: 0}, 0, 0},
		{Summary{Requests: 10, Span: -time.Second}, 0, 0},
		{Summary{Requests: 3, Errors: 3, Span: 500 * time.Millisecond}, 1, 6},
	} {
		if got := tc.s.ErrorRate(); !near(got, tc.errRate) {
			t.Errorf("%+v ErrorRate() = %v, want %v", tc.s, got, tc.errRate)
		}
		if got := tc.s.RequestRate(); !near(got, tc.reqRate) {
			t.Errorf("%+v RequestRate() = %v, want %v", tc.s, got, tc.reqRate)
		}
	}
}

func TestLatencyBuckets(t *testing.T) {
	for i := 1; i < latencyBuckets; i++ {
		if !(bucketUpper(i) > bucketUpper(i-1)) {
			t.Fatalf("bucketUpper(%d) = %v not above bucketUpper(%d) = %v", i, bucketUpper(i), i-1, bucketUpper(i-1))
		}
	}
	if got := bucketUpper(latencyBuckets - 2); got < 60 {
		t.Errorf("the second last bucket ends at %vs, want the buckets to reach a minute", got)
	}
	for _, d := range []time.Duration{-time.Second, 0, 1, time.Microsecond, 50 * time.Microsecond} {
		if b := latencyBucket(d); b != 0 {
			t.Errorf("latencyBucket(%v) = %d, want 0", d, b)
		}
	}
	if b := latencyBucket(time.Hour); b != latencyBuckets-1 {
		t.Errorf("latencyBucket(1h) = %d, want the last bucket", b)
	}
	prev := 0
	// Durations from 1µs to about 2 minutes, about 1 % apart, and the bucket bounds themselves.
	var ds []time.Duration
	for d := time.Microsecond; d < 2*time.Minute; d += d/100 + 1 {
		ds = append(ds, d)
	}
	for d := range ds {
		b := latencyBucket(ds[d])
		if b < prev {
			t.Fatalf("latencyBucket(%v) = %d, below %d for a shorter duration", ds[d], b, prev)
		}
		prev = b
		s := ds[d].Seconds()
		if b < latencyBuckets-1 && s > bucketUpper(b)*(1+1e-12) {
			t.Fatalf("%v lands in bucket %d whose upper bound is %vs", ds[d], b, bucketUpper(b))
		}
		if b > 0 && s <= bucketUpper(b-1)*(1-1e-12) {
			t.Fatalf("%v lands in bucket %d, but bucket %d (up to %vs) holds it", ds[d], b, b-1, bucketUpper(b-1))
		}
	}
}

func TestWindowConcurrentRecord(t *testing.T) {
	w := NewWindow()
	done := make(chan struct{})
	for g := range 8 {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range 500 {
				code := 200
				if (g+i)%10 == 0 {
					code = 500
				}
				w.Record(sec(i%5), code, time.Duration(i)*time.Microsecond)
			}
		}()
	}
	for range 8 {
		<-done
	}
	if got := w.Total(); got.Requests != 4000 || got.Errors != 400 {
		t.Errorf("Total() = %+v, want 4000 requests, 400 errors", got)
	}
	if s := w.Since(sec(0), sec(4)); s.Requests != 4000 || s.Errors != 400 {
		t.Errorf("Since = %d requests, %d errors; want 4000, 400", s.Requests, s.Errors)
	}
}

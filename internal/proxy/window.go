package proxy

import (
	"math"
	"sync"
	"time"
)

// windowSeconds is how far back a Window remembers, one slot per second.
const windowSeconds = 120

// Latency buckets: 4 per doubling from 50 µs up, so a quantile is within about 19 % of the true value; the
// last bucket holds everything above about 60 s.
const (
	latencyBuckets = 84
	firstBucketSec = 50e-6
)

func latencyBucket(d time.Duration) int {
	s := d.Seconds()
	if s <= firstBucketSec {
		return 0
	}
	i := int(math.Ceil(math.Log2(s/firstBucketSec) * 4))
	return min(i, latencyBuckets-1)
}

// bucketUpper is the upper bound of bucket i in seconds.
func bucketUpper(i int) float64 { return firstBucketSec * math.Exp2(float64(i)/4) }

type slot struct {
	second   int64 // unix second the slot holds; another means stale
	requests int64
	errors   int64 // 5xx answers, including the proxy's own 502 and 503
	latency  [latencyBuckets]int64
}

// Window keeps one version's requests, server errors and latencies per second for the last two minutes.
// Record is safe for concurrent use; its cost is one short critical section.
type Window struct {
	mu    sync.Mutex
	slots [windowSeconds]slot
	total Summary // since the window was made
	hist  [latencyBuckets]int64
	sum   float64 // seconds, since the window was made
}

// NewWindow returns an empty window.
func NewWindow() *Window { return &Window{} }

// Record counts one request that started at start, answered code and took d.
func (w *Window) Record(start time.Time, code int, d time.Duration) {
	sec := start.Unix()
	b := latencyBucket(d)
	w.mu.Lock()
	s := &w.slots[sec%windowSeconds]
	if s.second != sec {
		*s = slot{second: sec}
	}
	s.requests++
	s.latency[b]++
	w.total.Requests++
	w.hist[b]++
	w.sum += d.Seconds()
	if code >= 500 {
		s.errors++
		w.total.Errors++
	}
	w.mu.Unlock()
}

// Summary is what a window saw over a span.
type Summary struct {
	Requests int64
	Errors   int64
	// Latency quantiles in seconds (upper bounds of histogram buckets); zero without requests.
	P50, P90, P95, P99 float64
	// Span is the time the summary covers.
	Span time.Duration
}

// ErrorRate is Errors/Requests, or 0 without requests.
func (s Summary) ErrorRate() float64 {
	if s.Requests == 0 {
		return 0
	}
	return float64(s.Errors) / float64(s.Requests)
}

// RequestRate is requests per second over the span.
func (s Summary) RequestRate() float64 {
	if s.Span <= 0 {
		return 0
	}
	return float64(s.Requests) / s.Span.Seconds()
}

// Since summarises the whole seconds from since up to now (at most two minutes back).
func (w *Window) Since(since, now time.Time) Summary {
	from, to := since.Unix(), now.Unix()
	if to-from >= windowSeconds {
		from = to - windowSeconds + 1
	}
	var sum Summary
	var hist [latencyBuckets]int64
	w.mu.Lock()
	for sec := from; sec <= to; sec++ {
		s := &w.slots[sec%windowSeconds]
		if s.second != sec {
			continue
		}
		sum.Requests += s.requests
		sum.Errors += s.errors
		for i, n := range s.latency {
			hist[i] += n
		}
	}
	w.mu.Unlock()
	sum.Span = min(now.Sub(since), windowSeconds*time.Second) // what the slots cover
	if sum.Requests > 0 {
		sum.P50 = quantile(&hist, sum.Requests, 0.50)
		sum.P90 = quantile(&hist, sum.Requests, 0.90)
		sum.P95 = quantile(&hist, sum.Requests, 0.95)
		sum.P99 = quantile(&hist, sum.Requests, 0.99)
	}
	return sum
}

// Total returns the counts since the window was made.
func (w *Window) Total() Summary {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.total
}

func quantile(hist *[latencyBuckets]int64, n int64, q float64) float64 {
	rank := int64(math.Ceil(q * float64(n)))
	var seen int64
	for i, c := range hist {
		seen += c
		if seen >= rank {
			return bucketUpper(i)
		}
	}
	return bucketUpper(latencyBuckets - 1)
}

// Cumulative is everything a window counted since it was made, as a Prometheus histogram wants it.
type Cumulative struct {
	Requests, Errors int64
	// Sum is the total latency in seconds.
	Sum float64
	// Buckets maps each bucket's upper bound in seconds to the requests at or below it.
	Buckets map[float64]uint64
}

// Cumulative returns the counts since the window was made.
func (w *Window) Cumulative() Cumulative {
	w.mu.Lock()
	defer w.mu.Unlock()
	c := Cumulative{Requests: w.total.Requests, Errors: w.total.Errors, Sum: w.sum, Buckets: make(map[float64]uint64, latencyBuckets)}
	var acc uint64
	for i, n := range w.hist {
		acc += uint64(n)
		c.Buckets[bucketUpper(i)] = acc
	}
	return c
}

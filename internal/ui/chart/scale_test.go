package chart

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestNiceTicks(t *testing.T) {
	tests := []struct {
		lo, hi float64
		n      int
		want   []float64
	}{
		{0, 1, 4, []float64{0, 0.5, 1}},
		{0, 0.024, 4, []float64{0, 0.01, 0.02, 0.03}},
		{0, 0.01, 4, []float64{0, 0.005, 0.01}},
		{0, 0.3, 3, []float64{0, 0.1, 0.2, 0.3}},                     // 0.3/0.1 is 2.9999999999999996
		{0, 0.7, 7, []float64{0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7}}, // 0.7/0.1 is 7.000000000000001
		{0, 1234, 4, []float64{0, 500, 1000, 1500}},
		{-3, 7, 5, []float64{-4, -2, 0, 2, 4, 6, 8}},
		{0, 0, 4, []float64{0, 0.5, 1}},  // all zero: 0 to 1
		{5, 5, 4, []float64{0, 2, 4, 6}}, // all equal: from zero
		{-5, -5, 4, []float64{-6, -4, -2, 0}},
		{1, 0, 2, []float64{0, 0.5, 1}}, // reversed
		{0, 0.004, 4, []float64{0, 0.001, 0.002, 0.003, 0.004}},
		{0, 1e-9, 2, []float64{0, 5e-10, 1e-9}},
	}
	for _, tt := range tests {
		if got := niceTicks(tt.lo, tt.hi, tt.n); !slices.Equal(got, tt.want) {
			t.Errorf("niceTicks(%v, %v, %d) = %v, want %v", tt.lo, tt.hi, tt.n, got, tt.want)
		}
	}
}

// TestNiceTicksCover checks, over many ranges, that ticks cover the range, are evenly spaced by 1, 2 or 5 times
// a power of ten, are not too many, and write short.
func TestNiceTicksCover(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 5000 {
		scale := math.Pow(10, float64(r.IntN(16)-8))
		lo, hi := 0.0, r.Float64()*scale
		if r.IntN(3) == 0 {
			lo = -r.Float64() * scale
		}
		n := 2 + r.IntN(7)
		ticks := niceTicks(lo, hi, n)
		if ticks[0] > lo || ticks[len(ticks)-1] < hi {
			t.Fatalf("niceTicks(%v, %v, %d) = %v: does not cover", lo, hi, n, ticks)
		}
		if len(ticks) > n+3 {
			t.Fatalf("niceTicks(%v, %v, %d) = %v: too many", lo, hi, n, ticks)
		}
		step := ticks[1] - ticks[0]
		exp := math.Floor(math.Log10(step) + 1e-9)
		if m := math.Round(step / math.Pow(10, exp)); m != 1 && m != 2 && m != 5 {
			t.Fatalf("niceTicks(%v, %v, %d) = %v: step %v is not 1, 2 or 5 times a power of ten", lo, hi, n, ticks, step)
		}
		for i, v := range ticks {
			if math.Abs(v-(ticks[0]+float64(i)*step)) > step*1e-6 {
				t.Fatalf("niceTicks(%v, %v, %d) = %v: not evenly spaced", lo, hi, n, ticks)
			}
			if s := Number(v); len(s) > 12 {
				t.Fatalf("niceTicks(%v, %v, %d): tick %v writes as %q", lo, hi, n, v, s)
			}
		}
	}
}

func TestLinear(t *testing.T) {
	y := linear{d0: 0, d1: 0.02, r0: 200, r1: 20} // the bottom is y=200
	for _, tt := range []struct{ v, want float64 }{{0, 200}, {0.02, 20}, {0.01, 110}, {0.005, 155}} {
		if got := y.at(tt.v); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("y.at(%v) = %v, want %v", tt.v, got, tt.want)
		}
	}
	t0 := time.Date(2025, 3, 4, 12, 0, 0, 0, time.UTC)
	x := timeScale{t0: t0, t1: t0.Add(10 * time.Minute), r0: 40, r1: 640}
	for _, tt := range []struct {
		t    time.Duration
		want float64
	}{{0, 40}, {10 * time.Minute, 640}, {5 * time.Minute, 340}, {time.Minute, 100}, {-time.Minute, -20}} {
		if got := x.at(t0.Add(tt.t)); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("x.at(t0%+v) = %v, want %v", tt.t, got, tt.want)
		}
	}
	if got := (timeScale{t0: t0, t1: t0, r0: 0, r1: 100}).at(t0); got != 50 {
		t.Errorf("empty time scale: %v, want the middle, 50", got)
	}
}

func TestTimeTicks(t *testing.T) {
	utc := func(h, m, s int) time.Time { return time.Date(2025, 3, 4, h, m, s, 0, time.UTC) }
	india := time.FixedZone("IST", 5*3600+1800)
	tests := []struct {
		name     string
		t0, t1   time.Time
		maxTicks int
		want     []time.Time
		step     time.Duration
	}{
		{"minutes", utc(12, 0, 7), utc(12, 20, 0), 6,
			[]time.Time{utc(12, 5, 0), utc(12, 10, 0), utc(12, 15, 0), utc(12, 20, 0)}, 5 * time.Minute},
		{"seconds", utc(12, 0, 0), utc(12, 0, 40), 5,
			[]time.Time{utc(12, 0, 0), utc(12, 0, 10), utc(12, 0, 20), utc(12, 0, 30), utc(12, 0, 40)}, 10 * time.Second},
		{"whole local hours half an hour off UTC",
			time.Date(2025, 3, 4, 9, 10, 0, 0, india), time.Date(2025, 3, 4, 12, 0, 0, 0, india), 4,
			[]time.Time{time.Date(2025, 3, 4, 10, 0, 0, 0, india), time.Date(2025, 3, 4, 11, 0, 0, 0, india),
				time.Date(2025, 3, 4, 12, 0, 0, 0, india)}, time.Hour},
		{"days at midnight", utc(15, 0, 0), utc(15, 0, 0).AddDate(0, 0, 3), 5,
			[]time.Time{utc(0, 0, 0).AddDate(0, 0, 1), utc(0, 0, 0).AddDate(0, 0, 2), utc(0, 0, 0).AddDate(0, 0, 3)}, day},
		{"weeks on Mondays", utc(0, 0, 0), utc(0, 0, 0).AddDate(0, 0, 30), 5, // March 4th 2025 is a Tuesday
			[]time.Time{utc(0, 0, 0).AddDate(0, 0, 6), utc(0, 0, 0).AddDate(0, 0, 13), utc(0, 0, 0).AddDate(0, 0, 20),
				utc(0, 0, 0).AddDate(0, 0, 27)}, week},
		{"empty span", utc(12, 0, 0), utc(12, 0, 0), 5, nil, 0},
		{"before 1970", time.Date(1969, 12, 31, 23, 59, 50, 0, time.UTC), time.Date(1970, 1, 1, 0, 0, 10, 0, time.UTC), 3,
			[]time.Time{time.Date(1969, 12, 31, 23, 59, 50, 0, time.UTC), time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC),
				time.Date(1970, 1, 1, 0, 0, 10, 0, time.UTC)}, 10 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, step := timeTicks(tt.t0, tt.t1, tt.maxTicks)
			if !slices.EqualFunc(got, tt.want, time.Time.Equal) || step != tt.step {
				t.Errorf("timeTicks = %v, %v\nwant %v, %v", got, step, tt.want, tt.step)
			}
		})
	}
}

func TestTimeTicksBounded(t *testing.T) {
	t0 := time.Date(2025, 3, 4, 12, 0, 0, 123, time.UTC)
	for _, span := range []time.Duration{3 * time.Second, 47 * time.Second, 13 * time.Minute, 5 * time.Hour,
		31 * time.Hour, 9 * day, 100 * day, 800 * day} {
		for maxTicks := 2; maxTicks <= 8; maxTicks++ {
			ticks, _ := timeTicks(t0, t0.Add(span), maxTicks)
			if len(ticks) > maxTicks {
				t.Errorf("span %v, max %d: %d ticks", span, maxTicks, len(ticks))
			}
			for _, tick := range ticks {
				if tick.Before(t0) || tick.After(t0.Add(span)) {
					t.Errorf("span %v, max %d: tick %v outside", span, maxTicks, tick)
				}
			}
		}
	}
}

func TestTickLabel(t *testing.T) {
	at := time.Date(2025, 3, 5, 12, 5, 0, 0, time.UTC)
	midnight := time.Date(2025, 3, 5, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		t          time.Time
		span, step time.Duration
		want       string
	}{
		{at, 20 * time.Minute, 5 * time.Minute, "12:05:00"},
		{at, 6 * time.Hour, time.Hour, "12:05"},
		{midnight, 6 * time.Hour, time.Hour, "Mar 5"},
		{at, 30 * time.Hour, 6 * time.Hour, "12:05"},
		{midnight, 30 * time.Hour, 6 * time.Hour, "Mar 5"},
		{midnight, 10 * day, day, "Mar 5"},
	}
	for _, tt := range tests {
		if got := tickLabel(tt.t, tt.span, tt.step); got != tt.want {
			t.Errorf("tickLabel(%v, span %v, step %v) = %q, want %q", tt.t, tt.span, tt.step, got, tt.want)
		}
	}
}

package chart

import (
	"math"
	"strconv"
	"time"
)

// linear maps the domain [d0, d1] onto the range [r0, r1]. For a Y axis r0 is the bottom of the plot and r1
// its top, since SVG's y grows downwards.
type linear struct{ d0, d1, r0, r1 float64 }

func (s linear) at(v float64) float64 {
	if s.d1 == s.d0 {
		return (s.r0 + s.r1) / 2
	}
	// Halving first (exact) keeps the difference of two huge values finite.
	return s.r0 + (v/2-s.d0/2)/(s.d1/2-s.d0/2)*(s.r1-s.r0)
}

// timeScale maps [t0, t1] onto [r0, r1].
type timeScale struct {
	t0, t1 time.Time
	r0, r1 float64
}

func (s timeScale) at(t time.Time) float64 {
	span := s.t1.Sub(s.t0)
	if span <= 0 {
		return (s.r0 + s.r1) / 2
	}
	return s.r0 + float64(t.Sub(s.t0))/float64(span)*(s.r1-s.r0)
}

// niceTicks returns round values (1, 2 or 5 times a power of ten apart) from at or below lo to at or above hi,
// about n intervals. An empty range is widened to include zero, or to [0, 1] when it is zero itself.
func niceTicks(lo, hi float64, n int) []float64 {
	if lo > hi {
		lo, hi = hi, lo
	}
	if lo == hi {
		switch {
		case lo > 0:
			lo = 0
		case lo < 0:
			hi = 0
		default:
			hi = 1
		}
	}
	n = max(n, 1)
	step, decimals := niceStep((hi - lo) / float64(n))
	if !finite(hi-lo) || (hi-lo)/step > 1000 {
		return []float64{lo, hi} // beyond float precision: no round values to find
	}
	// A small tolerance keeps float noise (0.7/0.1 = 7.000000000000001) from adding a tick; the loops after
	// it make sure the ticks still cover [lo, hi].
	first := math.Floor(lo/step + 1e-9)
	last := math.Ceil(hi/step - 1e-9)
	for i := 0; i < 3 && round(first*step, decimals) > lo; i++ {
		first--
	}
	for i := 0; i < 3 && round(last*step, decimals) < hi; i++ {
		last++
	}
	ticks := make([]float64, 0, int(last-first)+1)
	for i := first; i <= last; i++ {
		ticks = append(ticks, round(i*step, decimals))
	}
	return ticks
}

// niceStep returns the smallest of 1, 2 and 5 times a power of ten that is at least raw, and the decimals it
// needs.
func niceStep(raw float64) (float64, int) {
	if !(raw > 0) || !finite(raw) {
		return 1, 0
	}
	exp := math.Floor(math.Log10(raw))
	mag := math.Pow(10, exp)
	for _, m := range []float64{1, 2, 5, 10} {
		if m*mag >= raw*(1-1e-12) {
			if m == 10 {
				exp++
			}
			return round(m*mag, max(0, int(-exp))), max(0, int(-exp))
		}
	}
	panic("unreachable")
}

// round rounds x to decimals places, giving the float nearest its decimal writing (0.30000000000000004 is
// 0.3), and never -0.
func round(x float64, decimals int) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(x, 'f', decimals, 64), 64)
	return v + 0
}

// timeSteps are the intervals a time axis ticks at, shortest first; beyond the last, whole weeks.
var timeSteps = []time.Duration{
	time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second, 30 * time.Second,
	time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour,
	day, 2 * day, week, 2 * week, 4 * week,
}

const (
	day  = 24 * time.Hour
	week = 7 * day
)

// timeLayout is how a time axis spanning span writes its times: with seconds under an hour, hours and
// minutes under a day, the date beyond.
func timeLayout(span time.Duration) string {
	switch {
	case span < time.Hour:
		return "15:04:05"
	case span < day:
		return "15:04"
	}
	return "Jan 2"
}

// tickLabel writes the tick t of an axis spanning span with ticks step apart, in timeLayout(span), except
// that ticks less than a day apart on an axis of an hour or more write their time of day and, at midnight,
// the date: "18:00", "Mar 5", "06:00".
func tickLabel(t time.Time, span, step time.Duration) string {
	if span < time.Hour || step >= day {
		return t.Format(timeLayout(span))
	}
	if t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 {
		return t.Format("Jan 2")
	}
	return t.Format("15:04")
}

// timeTicks returns at most maxTicks round times within [t0, t1], in t0's location, and the interval between
// them: on whole minutes, hours, midnights or Mondays as the interval calls for.
func timeTicks(t0, t1 time.Time, maxTicks int) ([]time.Time, time.Duration) {
	span := t1.Sub(t0)
	if span <= 0 || maxTicks < 1 {
		return nil, 0
	}
	step := time.Duration(0)
	for _, s := range timeSteps {
		if int64(span/s)+1 <= int64(maxTicks) {
			step = s
			break
		}
	}
	if step == 0 {
		weeks := int64(span/week)/int64(max(maxTicks-1, 1)) + 1
		step = time.Duration(weeks) * week
	}

	var ticks []time.Time
	if step < day {
		// Align in local time so that a zone half an hour off UTC still ticks on its whole hours.
		_, offset := t0.Zone()
		sec := int64(step / time.Second)
		local := t0.Unix() + int64(offset)
		if t0.Nanosecond() > 0 {
			local++
		}
		first := (local + sec - 1) / sec * sec
		if local < 0 {
			first = local / sec * sec
		}
		for u := first - int64(offset); ; u += sec {
			t := time.Unix(u, 0).In(t0.Location())
			if t.After(t1) {
				break
			}
			ticks = append(ticks, t)
		}
		return ticks, step
	}
	days := int(step / day)
	y, m, d := t0.Date()
	t := time.Date(y, m, d, 0, 0, 0, 0, t0.Location())
	if t.Before(t0) {
		t = t.AddDate(0, 0, 1)
	}
	if days%7 == 0 {
		for t.Weekday() != time.Monday {
			t = t.AddDate(0, 0, 1)
		}
	}
	for ; !t.After(t1); t = t.AddDate(0, 0, days) {
		ticks = append(ticks, t)
	}
	return ticks, step
}

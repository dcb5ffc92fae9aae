package evals

import "math"

// Interval is a confidence interval [Lo, Hi].
type Interval struct {
	Lo, Hi float64
}

// z is the two-sided standard normal quantile of a confidence level: 1.96 for 0.95.
func z(confidence float64) float64 {
	return math.Sqrt2 * math.Erfinv(confidence)
}

// Wilson returns the Wilson score interval of a pass rate: passed cases out of n at the given confidence
// (0.95 for 95 %). It is used rather than the normal approximation (p ± z·√(p(1-p)/n)) because golden sets are
// small and pass rates sit near 1, where that one collapses to a width of zero at 100 % and spills past 1;
// Wilson's stays inside [0, 1], is never empty, and covers close to its nominal level from a few dozen cases
// on. n of 0 gives [0, 1]: nothing is known.
func Wilson(passed, n int, confidence float64) Interval {
	if n <= 0 {
		return Interval{0, 1}
	}
	p := float64(passed) / float64(n)
	zz := z(confidence)
	z2 := zz * zz
	nf := float64(n)
	denom := 1 + z2/nf
	center := (p + z2/(2*nf)) / denom
	half := zz / denom * math.Sqrt(p*(1-p)/nf+z2/(4*nf*nf))
	lo, hi := center-half, center+half
	// At 0 and n the interval touches its end exactly; rounding must not leave it a hair inside.
	if passed == 0 {
		lo = 0
	}
	if passed == n {
		hi = 1
	}
	return Interval{Lo: max(0, lo), Hi: min(1, hi)}
}

// Decrease returns a confidence interval of how much a pass rate fell from the baseline's (base minus
// current, positive when worse), by Newcombe's hybrid score method: it combines the two rates' Wilson
// intervals, and so keeps their good behaviour near 0 and 1. It treats the two runs as independent samples;
// the same golden set run twice is positively correlated, which makes the interval wider than it need be:
// a decrease it calls real is real, at the price of missing some small ones.
func Decrease(basePassed, baseN, curPassed, curN int, confidence float64) (float64, Interval) {
	pb, pc := rate(basePassed, baseN), rate(curPassed, curN)
	wb, wc := Wilson(basePassed, baseN, confidence), Wilson(curPassed, curN, confidence)
	d := pb - pc
	return d, Interval{
		Lo: d - math.Hypot(pb-wb.Lo, wc.Hi-pc),
		Hi: d + math.Hypot(wb.Hi-pb, pc-wc.Lo),
	}
}

func rate(passed, n int) float64 {
	if n == 0 {
		return 0
	}
	return float64(passed) / float64(n)
}

package analysis

import (
	"math"
	"strconv"
	"strings"
)

// unit is how a check's values read.
type unit int

const (
	plain     unit = iota // a bare number: Prometheus results
	fraction              // error_rate: shown as a percentage
	seconds               // latencies
	perSecond             // request_rate
)

func unitOf(metric string) unit {
	switch {
	case metric == "error_rate":
		return fraction
	case strings.HasPrefix(metric, "latency_"):
		return seconds
	case metric == "request_rate":
		return perSecond
	}
	return plain
}

// boundDigits shows bounds as written (a user's "0.125%" stays so); values are rounded to valueDigits.
const (
	boundDigits = 6
	valueDigits = 3
)

// format writes v in the unit with digits significant digits: "2.35%", "412ms", "12.5/s", "0.13".
func (u unit) format(v float64, digits int) string {
	switch u {
	case fraction:
		return num(v*100, digits) + "%"
	case seconds:
		a := math.Abs(v)
		switch {
		case a == 0:
			return "0s"
		case a < 1e-3:
			return num(v*1e6, digits) + "µs"
		case a < 1:
			return num(v*1e3, digits) + "ms"
		}
		return num(v, digits) + "s"
	case perSecond:
		return num(v, digits) + "/s"
	}
	return num(v, digits)
}

// value writes a measured v so that it never reads the same as a bound it differs from: 1.0004% against a
// "max 1%" that it fails shows as "1.0004%", not "1%".
func (u unit) value(v float64, bounds ...*float64) string {
	s := u.format(v, valueDigits)
	for digits := valueDigits + 1; digits <= 17; digits++ {
		clash := false
		for _, b := range bounds {
			if b != nil && *b != v && u.format(*b, boundDigits) == s {
				clash = true
			}
		}
		if !clash {
			break
		}
		s = u.format(v, digits)
	}
	return s
}

// num writes x with at most digits significant digits and no exponent unless x is huge or tiny.
func num(x float64, digits int) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	s := strconv.FormatFloat(x, 'g', digits, 64)
	if a := math.Abs(x); strings.ContainsRune(s, 'e') && a >= 1e-6 && a < 1e15 {
		f, _ := strconv.ParseFloat(s, 64)
		s = strconv.FormatFloat(f, 'f', -1, 64)
	}
	return s
}

// bounds writes the bounds set among min, max and max_over_stable: "min 5/s max 100/s".
func bounds(u unit, lo, hi, overStable *float64) string {
	var parts []string
	for _, b := range []struct {
		name string
		v    *float64
	}{{"min", lo}, {"max", hi}, {"max_over_stable", overStable}} {
		if b.v != nil {
			parts = append(parts, b.name+" "+u.format(*b.v, boundDigits))
		}
	}
	return strings.Join(parts, " ")
}

// above says whether v is over bound by more than float rounding: bounds are inclusive, and a difference of
// two figures sitting exactly on its bound must not fail by a trillionth.
func above(v, bound float64) bool {
	if math.IsInf(v, 0) || math.IsInf(bound, 0) {
		return v > bound
	}
	return v-bound > 1e-12*math.Max(1, math.Max(math.Abs(v), math.Abs(bound)))
}

// clip shortens s to at most n runes, marking the cut.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

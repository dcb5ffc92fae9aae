package chart

import (
	"math"
	"strconv"
	"strings"
)

// The unit formatters below write a value as ferry writes it elsewhere (analysis verdicts, the CLI), with at
// most three significant digits. They are what a chart's Unit field takes; nil means Number.

// Number writes v as a plain number: "0.25", "12", "1230".
func Number(v float64) string { return num(v, 3) }

// Percent writes a fraction as a percentage: 0.024 is "2.4%".
func Percent(v float64) string { return num(v*100, 3) + "%" }

// Seconds writes a duration in seconds: "0s", "850µs", "412ms", "1.2s".
func Seconds(v float64) string {
	switch a := math.Abs(v); {
	case !finite(v):
		return num(v, 3)
	case a == 0:
		return "0s"
	case a < 1e-3:
		return num(v*1e6, 3) + "µs"
	case a < 1:
		return num(v*1e3, 3) + "ms"
	}
	return num(v, 3) + "s"
}

// Millis writes a duration in milliseconds as Seconds does: 412 is "412ms", 1200 is "1.2s".
func Millis(v float64) string { return Seconds(v / 1000) }

// PerSecond writes a rate: "12.5/s".
func PerSecond(v float64) string { return num(v, 3) + "/s" }

// num writes x with at most digits significant digits, without an exponent for the sizes a dashboard shows,
// and never as "-0".
func num(x float64, digits int) string {
	if !finite(x) {
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	s := strconv.FormatFloat(x, 'g', digits, 64)
	if a := math.Abs(x); strings.ContainsRune(s, 'e') && a >= 1e-6 && a < 1e15 {
		f, _ := strconv.ParseFloat(s, 64)
		s = strconv.FormatFloat(f, 'f', -1, 64)
	}
	if s == "-0" {
		return "0"
	}
	return s
}

// coord writes a coordinate with one decimal at most: "12", "12.5", never "-0".
func coord(x float64) string {
	s := strconv.FormatFloat(math.Round(x*10)/10, 'f', -1, 64)
	if s == "-0" {
		return "0"
	}
	return s
}

// unitOr returns f, or Number when f is nil.
func unitOr(f func(float64) string) func(float64) string {
	if f == nil {
		return Number
	}
	return f
}

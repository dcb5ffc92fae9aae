package chart

import (
	"math"
	"testing"
)

func TestUnits(t *testing.T) {
	tests := []struct {
		name string
		f    func(float64) string
		v    float64
		want string
	}{
		{"Number", Number, 0.1 + 0.2, "0.3"},
		{"Number", Number, 1234, "1230"},
		{"Number", Number, 12, "12"},
		{"Number", Number, math.Copysign(0, -1), "0"},
		{"Number", Number, -0.0001, "-0.0001"},
		{"Number", Number, math.NaN(), "NaN"},
		{"Percent", Percent, 0.024, "2.4%"},
		{"Percent", Percent, 0.005, "0.5%"},
		{"Percent", Percent, 0.07, "7%"}, // 0.07*100 is 7.000000000000001
		{"Percent", Percent, 0, "0%"},
		{"Percent", Percent, 0.02346, "2.35%"},
		{"Seconds", Seconds, 0, "0s"},
		{"Seconds", Seconds, 0.00085, "850µs"},
		{"Seconds", Seconds, 0.412, "412ms"},
		{"Seconds", Seconds, 1.2, "1.2s"},
		{"Seconds", Seconds, 95, "95s"},
		{"Millis", Millis, 412, "412ms"},
		{"Millis", Millis, 1200, "1.2s"},
		{"PerSecond", PerSecond, 12.5, "12.5/s"},
	}
	for _, tt := range tests {
		if got := tt.f(tt.v); got != tt.want {
			t.Errorf("%s(%v) = %q, want %q", tt.name, tt.v, got, tt.want)
		}
	}
}

func TestCoord(t *testing.T) {
	for _, tt := range []struct {
		v    float64
		want string
	}{{12, "12"}, {12.34, "12.3"}, {12.35, "12.4"}, {-0.04, "0"}, {math.Copysign(0, -1), "0"}, {-3.25, "-3.3"}, {0.05, "0.1"}} {
		if got := coord(tt.v); got != tt.want {
			t.Errorf("coord(%v) = %q, want %q", tt.v, got, tt.want)
		}
	}
}

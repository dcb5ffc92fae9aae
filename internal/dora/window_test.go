package dora

import (
	"strings"
	"testing"
	"time"
)

func TestParseWindow(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"30d", 30 * day},
		{"7d", 7 * day},
		{"90d", 90 * day},
		{"1.5d", 36 * time.Hour},
		{"2w", 14 * day},
		{"12h", 12 * time.Hour},
		{"90m", 90 * time.Minute},
		{"1h30m", 90 * time.Minute},
		{" 30d ", 30 * day},
	}
	for _, tt := range tests {
		got, err := ParseWindow(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseWindow(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestParseWindowErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", `window "": time: invalid duration "" (want a length such as 30d, 2w or 12h)`},
		{"0d", `window "0d": must be positive`},
		{"0", `window "0": must be positive`},
		{"0s", `window "0s": must be positive`},
		{"-3d", `window "-3d": must be positive`},
		{"-1h", `window "-1h": must be positive`},
		{"d", `window "d": "" is not a number`},
		{"w", `window "w": "" is not a number`},
		{"1h2d", `window "1h2d": "1h2" is not a number`},
		{"1.2.3d", `window "1.2.3d": "1.2.3" is not a number`},
		{"thirty days", `window "thirty days": time: invalid duration`},
		{"30", `window "30": time: missing unit in duration "30"`},
		{"30y", `window "30y": time: unknown unit "y"`},
		{"99999999999w", `window "99999999999w": too long`},
		{"20000w", `window "20000w": too long`},
		{"100000000d", `window "100000000d": too long`},
	}
	for _, tt := range tests {
		_, err := ParseWindow(tt.in)
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("ParseWindow(%q) error = %v, want it to start with %q", tt.in, err, tt.want)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"},
		{-time.Hour, "0s"},
		{250 * time.Millisecond, "250ms"},
		{42 * time.Second, "42s"},
		{42*time.Second + 600*time.Millisecond, "43s"},
		{4*time.Minute + 5*time.Second, "4m 5s"},
		{2 * time.Hour, "2h"},
		{90 * time.Minute, "1h 30m"},
		{59*time.Minute + 59*time.Second + 600*time.Millisecond, "1h"}, // rounding carries into hours
		{26*time.Hour + 20*time.Minute, "1d 2h"},
		{23*time.Hour + 59*time.Minute + 40*time.Second, "1d"},
		{47*time.Hour + 31*time.Minute, "2d"},
		{30 * day, "30d"},
	}
	for _, tt := range tests {
		if got := FormatDuration(tt.d); got != tt.want {
			t.Errorf("FormatDuration(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

package dora

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// ParseWindow reads the length of a report window: a number of days ("30d", "7d", "1.5d"), of weeks ("2w"),
// or any Go duration ("12h", "90m", "1h30m"). A zero or negative window is an error, as is anything else.
func ParseWindow(s string) (time.Duration, error) {
	d, err := parseWindow(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("window %q: %w (want a length such as 30d, 2w or 12h)", s, err)
	}
	if d <= 0 {
		return 0, fmt.Errorf("window %q: must be positive (want a length such as 30d, 2w or 12h)", s)
	}
	return d, nil
}

func parseWindow(s string) (time.Duration, error) {
	var unit time.Duration
	switch {
	case strings.HasSuffix(s, "d"):
		unit = day
	case strings.HasSuffix(s, "w"):
		unit = week
	default:
		return time.ParseDuration(s)
	}
	num := s[:len(s)-1]
	if !decimal(num) {
		return 0, fmt.Errorf("%q is not a number", num)
	}
	// Reading the number as hours lets ParseDuration do the decimal arithmetic and its overflow checks.
	// num is a valid number, so ParseDuration can only fail on overflow.
	hours, err := time.ParseDuration(num + "h")
	mult := time.Duration(unit / time.Hour)
	if err != nil || hours > math.MaxInt64/mult || hours < math.MinInt64/mult {
		return 0, errors.New("too long")
	}
	return hours * mult, nil
}

// decimal reports whether s is an optionally signed decimal number: "30", "1.5", ".5", "-2".
func decimal(s string) bool {
	s = strings.TrimLeft(s, "+-")
	digits, dots := 0, 0
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c == '.':
			dots++
		default:
			return false
		}
	}
	return digits > 0 && dots <= 1 && len(s) == digits+dots
}

// units are the units FormatDuration writes, largest first.
var units = []struct {
	d    time.Duration
	name string
}{{day, "d"}, {time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}}

// FormatDuration writes d in the short form Report uses: its two largest units, the smaller one rounded
// ("1d 2h", "1h 30m", "4m 5s", "30d"), a single unit when the second is zero ("2h"), milliseconds below a
// second ("250ms"), and "0s" for zero or less.
func FormatDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return "0s"
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	}
	i := 0
	for i < len(units)-1 && d < units[i].d {
		i++
	}
	if i < len(units)-1 {
		d = d.Round(units[i+1].d)
		if i > 0 && d >= units[i-1].d { // rounding carried into the next larger unit: 59m 59.6s is 1h
			i--
		}
	} else {
		d = d.Round(time.Second)
	}
	big := units[i]
	text := fmt.Sprintf("%d%s", d/big.d, big.name)
	if i < len(units)-1 {
		small := units[i+1]
		if n := (d % big.d) / small.d; n > 0 {
			text += fmt.Sprintf(" %d%s", n, small.name)
		}
	}
	return text
}

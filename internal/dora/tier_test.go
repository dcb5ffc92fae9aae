package dora

import (
	"testing"
	"time"
)

func TestFrequencyTier(t *testing.T) {
	tests := []struct {
		deployments int
		window      time.Duration
		want        Tier
	}{
		{31, 30 * day, Elite}, // more than once a day
		{30, 30 * day, High},  // exactly once a day: "between once per day and once per week"
		{2, 1 * day, Elite},
		{1, 1 * day, High},
		{5, 30 * day, High}, // 5 a month is more than once a week
		{1, 7 * day, High},  // exactly once a week
		{4, 30 * day, Medium},
		{1, 8 * day, Medium},
		{1, 30 * day, Medium}, // exactly once a month
		{1, 30*day + time.Second, Low},
		{2, 90 * day, Low},
		{0, 30 * day, Low}, // never is the least often
	}
	for _, tt := range tests {
		if got := frequencyTier(tt.deployments, tt.window); got != tt.want {
			t.Errorf("%d deployments in %s: %s, want %s", tt.deployments, FormatDuration(tt.window), got, tt.want)
		}
	}
}

func TestLeadTimeTier(t *testing.T) {
	tests := []struct {
		median time.Duration
		want   Tier
	}{
		{0, Elite},
		{day - time.Second, Elite},
		{day, High}, // "less than one day" is elite; one day starts "between one day and one week"
		{week, High},
		{week + time.Second, Medium},
		{month, Medium},
		{month + time.Second, Low},
		{365 * day, Low}, // beyond the report's six months: still low
	}
	for _, tt := range tests {
		if got := leadTimeTier(tt.median); got != tt.want {
			t.Errorf("lead time %v: %s, want %s", tt.median, got, tt.want)
		}
	}
}

func TestFailureRateTier(t *testing.T) {
	tests := []struct {
		failures, deployments int
		want                  Tier
	}{
		{0, 1, Elite},
		{1, 20, Elite}, // exactly 5 %
		{1, 19, High},
		{1, 10, High}, // 10 %, medium's typical rate: still high, since a lower rate never gets a worse tier
		{1, 5, High},  // exactly 20 %
		{21, 100, Low},
		{2, 5, Low}, // 40 %
		{1, 1, Low},
	}
	for _, tt := range tests {
		if got := failureRateTier(tt.failures, tt.deployments); got != tt.want {
			t.Errorf("%d/%d: %s, want %s", tt.failures, tt.deployments, got, tt.want)
		}
	}
}

func TestRecoveryTier(t *testing.T) {
	tests := []struct {
		median time.Duration
		want   Tier
	}{
		{0, Elite},
		{time.Hour - time.Second, Elite},
		{time.Hour, High},
		{day - time.Second, High},
		{day, Low}, // no cluster between one day and one week: the only one beyond a day is low
		{3 * day, Low},
		{60 * day, Low},
	}
	for _, tt := range tests {
		if got := recoveryTier(tt.median); got != tt.want {
			t.Errorf("recovery %v: %s, want %s", tt.median, got, tt.want)
		}
	}
}

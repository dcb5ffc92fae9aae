package dora

import (
	"testing"
	"time"
)

func TestFirstFailure(t *testing.T) {
	start := at(4, 9, 0)
	sec := func(n int) time.Time { return start.Add(time.Duration(n) * time.Second) }
	tests := []struct {
		name    string
		samples []Sample
		want    time.Time // zero: no failure seen
	}{
		{"no samples", nil, time.Time{}},
		{"only clean samples", []Sample{{Time: sec(10), Span: 10 * time.Second, Role: RoleCanary}}, time.Time{}},
		{"errors of the old release are not the new one's", []Sample{
			{Time: sec(10), Span: 10 * time.Second, Role: RoleCanary},
			{Time: sec(10), Span: 10 * time.Second, Role: RoleStable, Errors: 3}}, time.Time{}},
		{"first canary sample with errors: the start of its span", []Sample{
			{Time: sec(30), Span: 10 * time.Second, Role: RoleCanary, Errors: 1},
			{Time: sec(30), Span: 10 * time.Second, Role: RoleStable},
			{Time: sec(40), Span: 10 * time.Second, Role: RoleCanary, Errors: 9}}, sec(20)},
		{"samples out of order", []Sample{
			{Time: sec(40), Span: 10 * time.Second, Role: RoleCanary, Errors: 9},
			{Time: sec(30), Span: 10 * time.Second, Role: RoleCanary, Errors: 1}}, sec(20)},
		{"a clean sample covering the span's start moves it up", []Sample{
			{Time: sec(20), Span: 30 * time.Second, Role: RoleCanary},
			{Time: sec(30), Span: 30 * time.Second, Role: RoleCanary, Errors: 2}}, sec(20)},
		{"a clean sample that does not reach back leaves it", []Sample{
			{Time: sec(25), Span: 2 * time.Second, Role: RoleCanary},
			{Time: sec(30), Span: 10 * time.Second, Role: RoleCanary, Errors: 2}}, sec(20)},
		{"never before the rollout started", []Sample{
			{Time: sec(2), Span: 30 * time.Second, Role: RoleCanary, Errors: 2}}, start},
		{"the new release alone is measured as stable", []Sample{
			{Time: sec(10), Span: 2 * time.Second, Role: RoleStable, Errors: 5}}, sec(8)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := FirstFailure(Rollout{Started: start, Samples: tt.samples})
			if ok != !tt.want.IsZero() || !got.Equal(tt.want) {
				t.Errorf("FirstFailure = %v, %v; want %v", got, ok, tt.want)
			}
		})
	}
}

// TestRecoveryTimeFromFirstFailure: users got 500s for 2 s before analysis caught the canary and rolled it back
// in the same instant. The recovery time is those 2 s, not 0; from detection it is 0.
func TestRecoveryTimeFromFirstFailure(t *testing.T) {
	detected := at(4, 9, 1)
	instant := func(id int64, samples ...Sample) Rollout {
		return Rollout{ID: id, Release: id, State: StateRolledBack, Started: at(4, 9, 0), Ended: detected,
			FailureDetected: detected, Samples: samples}
	}
	secs := func(d *Duration) string {
		if d == nil {
			return "n/a"
		}
		return d.Duration().String()
	}
	tests := []struct {
		name           string
		rollouts       []Rollout
		median, detect string
		count, seen    int
	}{
		{"500s for 2 s before an instant rollback", []Rollout{deploy(1, at(3, 9, 0)),
			instant(2, Sample{Time: detected, Span: 2 * time.Second, Role: RoleCanary, Errors: 40},
				Sample{Time: detected, Span: 2 * time.Second, Role: RoleStable})}, "2s", "0s", 1, 1},
		{"no error seen: from detection", []Rollout{deploy(1, at(3, 9, 0)),
			instant(2, Sample{Time: detected, Span: 2 * time.Second, Role: RoleCanary})}, "0s", "0s", 1, 0},
		{"detection unknown, errors seen: counted from them", []Rollout{deploy(1, at(3, 9, 0)),
			{ID: 2, Release: 2, State: StateAborted, Started: at(4, 9, 0), Ended: detected,
				Samples: []Sample{{Time: detected.Add(-time.Second), Span: 4 * time.Second, Role: RoleCanary, Errors: 1}}}},
			"5s", "n/a", 1, 1},
		{"detected before the first error sample: from detection", []Rollout{deploy(1, at(3, 9, 0)),
			failing(2, StateRolledBack, at(4, 9, 0), 1),
		}, "4m0s", "4m0s", 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt := Compute(tt.rollouts, now, 0).RecoveryTime
			if rt.Count != tt.count || secs(rt.Median) != tt.median || secs(rt.FromDetection) != tt.detect ||
				rt.FirstFailureSeen != tt.seen {
				t.Errorf("recovery time: count %d, median %s, from detection %s, first failure seen %d; want %d, %s, %s, %d",
					rt.Count, secs(rt.Median), secs(rt.FromDetection), rt.FirstFailureSeen, tt.count, tt.median, tt.detect, tt.seen)
			}
		})
	}
}

func withSamples(r Rollout, samples ...Sample) Rollout {
	r.Samples = samples
	return r
}

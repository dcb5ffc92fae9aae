package flagruntime

import (
	"testing"
	"time"

	"github.com/ferry-cd/ferry/internal/analysis"
	"github.com/ferry-cd/ferry/internal/flags"
	"github.com/ferry-cd/ferry/internal/store"
)

func TestPlanFlagRollout(t *testing.T) {
	p := flags.Progressive{Variant: "on", Steps: []int{100, 1000, 10000}, Interval: time.Minute}
	spec := ProgressiveSpec(p)
	if spec != "on 1%,10%,100% every 1m0s" {
		t.Fatalf("spec %q", spec)
	}
	running := &store.FlagRollout{Spec: spec, State: store.FlagProgressing}
	done := &store.FlagRollout{Spec: spec, State: store.FlagSucceeded}
	reverted := &store.FlagRollout{Spec: spec, State: store.FlagReverted}
	otherRunning := &store.FlagRollout{Spec: "on 50%,100% every 1m0s", State: store.FlagProgressing}
	otherDone := &store.FlagRollout{Spec: "on 50%,100% every 1m0s", State: store.FlagSucceeded}
	tests := []struct {
		name     string
		latest   *store.FlagRollout
		declared *flags.Progressive
		want     flagRolloutPlan
	}{
		{"declared, never started: start", nil, &p, flagRolloutPlan{Start: true}},
		{"declared and running: drive", running, &p, flagRolloutPlan{Drive: true}},
		{"declared and succeeded: carried on, nothing to do", done, &p, flagRolloutPlan{}},
		{"declared and reverted: stays reverted", reverted, &p, flagRolloutPlan{}},
		{"another spec running: supersede and start", otherRunning, &p, flagRolloutPlan{Supersede: true, Reason: "release 7 declares " + spec, Start: true}},
		{"another spec finished: start", otherDone, &p, flagRolloutPlan{Start: true}},
		{"no longer declared, running: supersede", running, nil, flagRolloutPlan{Supersede: true, Reason: "release 7 declares no progressive rollout of this flag"}},
		{"no longer declared, finished: nothing", done, nil, flagRolloutPlan{}},
		{"never declared: nothing", nil, nil, flagRolloutPlan{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := ""
			if tt.declared != nil {
				want = ProgressiveSpec(*tt.declared)
			}
			if got := planFlagRollout(tt.latest, tt.declared, want, 7); got != tt.want {
				t.Errorf("planFlagRollout = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestAdvanceFlagRollout(t *testing.T) {
	p := flags.Progressive{Variant: "on", Steps: []int{100, 1000, 10000}, Interval: time.Minute}
	t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	first := newFlagRollout("shop", "production", "beta", 7, p, t0)
	if first.Step != 1 || first.Steps != 3 || first.Share != 100 || first.State != store.FlagProgressing || first.Reason != "step 1 of 3: 1% of on" {
		t.Fatalf("new flag rollout %+v", first)
	}
	at := func(step, share int) store.FlagRollout {
		r := first
		r.Step, r.Share = step, share
		return r
	}
	tests := []struct {
		name    string
		r       store.FlagRollout
		verdict analysis.Verdict
		elapsed time.Duration
		want    store.FlagRollout // compared on state, step, share and reason
		changed bool
	}{
		{"pass before the interval: hold", at(1, 100), analysis.Pass, 30 * time.Second, at(1, 100), false},
		{"no analysis due: hold", at(1, 100), "", 2 * time.Minute, at(1, 100), false},
		{"inconclusive: hold", at(1, 100), analysis.Inconclusive, 2 * time.Minute, at(1, 100), false},
		{"pass after the interval: next step", at(1, 100), analysis.Pass, time.Minute,
			store.FlagRollout{State: store.FlagProgressing, Step: 2, Share: 1000, Reason: "step 2 of 3: 10% of on"}, true},
		{"pass on the last step: succeeded", at(3, 10000), analysis.Pass, time.Minute,
			store.FlagRollout{State: store.FlagSucceeded, Step: 3, Share: 10000, Reason: "on has 100% of beta"}, true},
		{"fail at once, whatever the interval: reverted to 0", at(2, 1000), analysis.Fail, time.Second,
			store.FlagRollout{State: store.FlagReverted, Step: 2, Share: 0, Reason: "analysis failed: error_rate 4% > max 1%"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := tt.r
			got, changed := advanceFlagRollout(tt.r, p, tt.verdict, "error_rate 4% > max 1%", t0.Add(tt.elapsed))
			if changed != tt.changed || got.State != tt.want.State || got.Step != tt.want.Step || got.Share != tt.want.Share ||
				(tt.changed && got.Reason != tt.want.Reason) {
				t.Errorf("advanceFlagRollout = %+v, %v; want %+v, %v", got, changed, tt.want, tt.changed)
			}
			if !changed && got != before {
				t.Errorf("advanceFlagRollout changed the flag rollout while reporting no change: %+v", got)
			}
			if got.State.Done() != got.FinishedAt.Equal(t0.Add(tt.elapsed)) {
				t.Errorf("FinishedAt %v for state %s", got.FinishedAt, got.State)
			}
			if tt.want.Step > tt.r.Step && !got.StepSince.Equal(t0.Add(tt.elapsed)) {
				t.Errorf("a new step since %v, want %v", got.StepSince, t0.Add(tt.elapsed))
			}
		})
	}
}

package cli

import (
	"strings"
	"testing"

	"github.com/ferry-cd/ferry/internal/api"
)

func TestVersionFlagTakesSevenOrV7(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{{"7", 7}, {"v7", 7}, {"v12", 12}, {"x", 0}, {"v0", 0}, {"-3", 0}, {"7.0", 0}} {
		var v versionValue
		err := v.Set(tc.in)
		if int64(v) != tc.want || (err == nil) != (tc.want != 0) {
			t.Errorf("--to %s: %d, %v; want %d", tc.in, v, err, tc.want)
		}
		if err != nil && !strings.Contains(err.Error(), "7 or v7") {
			t.Errorf("--to %s: %v does not say what to give", tc.in, err)
		}
	}
}

// The watch names releases by version, never by the store's id (here 12 and 9).
func TestWatchNamesReleasesByVersion(t *testing.T) {
	got := renderRollout(&api.EnvStatus{Name: "production", Rollout: &api.Rollout{ID: 4, ReleaseID: 12, FromReleaseID: 9,
		ReleaseVersion: 3, FromReleaseVersion: 2, Strategy: api.StrategyCanary, State: api.RolloutProgressing, Step: 1, Steps: 2,
		Weight: 25, Reason: "release v3 healthy; step 1 of 2: 25% of traffic"}})
	want := "production  rollout 4  release v3 ← release v2  canary  PROGRESSING\n" +
		"  [██████████······························]  25% on release v3   step 1/2\n" +
		"  release v3 healthy; step 1 of 2: 25% of traffic\n"
	if got != want {
		t.Errorf("watch shows\n%s\nwant\n%s", got, want)
	}
}

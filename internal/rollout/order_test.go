package rollout

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/ferry-cd/ferry/internal/store"
)

// linearHistory stands in for git at the controller's boundary: the fixture's release n has commit n (40
// digits), on one line of history, so a is an ancestor of b when a <= b. The real ancestry is tested end to end.
func linearHistory(_ context.Context, _ string, a, b string) bool {
	x, _ := strconv.ParseInt(strings.TrimLeft(a, "0")+"0", 10, 64)
	y, _ := strconv.ParseInt(strings.TrimLeft(b, "0")+"0", 10, 64)
	return x <= y
}

func TestOlderReleaseNeverDeploysOverNewer(t *testing.T) {
	f := newFixture(t)
	f.ctl.IsAncestor = linearHistory
	ctx := context.Background()
	env := envAt(f.listen, "r")
	r1, r2, r3, r4 := f.release(1, env), f.release(2, env), f.release(3, env), f.release(4, env)
	ro, _ := f.ctl.Enqueue(ctx, "shop", "production", r2)
	if got := f.drive(f.ctl, ro.ID); got.State != store.RolloutSucceeded || f.live() != r2 {
		t.Fatalf("deploy of release 2: %s %q", got.State, got.Reason)
	}

	for _, tt := range []struct {
		name    string
		release int64
		want    string
	}{
		{"older commit than live", r1, "is not newer than commit 0000000000000000000000000000000000000002"},
		{"same release as live", r2, "already live"},
	} {
		ro, err := f.ctl.Enqueue(ctx, "shop", "production", tt.release)
		if err != nil {
			t.Fatal(err)
		}
		if ro.State != store.RolloutSuperseded || !strings.Contains(ro.Reason, tt.want) {
			t.Errorf("%s: %s %q, want superseded with %q", tt.name, ro.State, ro.Reason, tt.want)
		}
	}

	// A newer release queued, then an older (but newer than live) one arriving late: the late one is superseded,
	// not the queued newer one.
	// (recorded directly: the controller is not stepping, so it stays queued)
	newer := &store.Rollout{Project: "shop", Env: "production", ReleaseID: r4, Strategy: "direct", State: store.RolloutPending}
	if err := f.st.CreateRollout(ctx, newer); err != nil {
		t.Fatal(err)
	}
	late, _ := f.ctl.Enqueue(ctx, "shop", "production", r3)
	rel4, err := f.st.GetRelease(ctx, r4)
	if err != nil {
		t.Fatal(err)
	}
	if late.State != store.RolloutSuperseded || !strings.Contains(late.Reason, "of release v"+strconv.FormatInt(rel4.Version, 10)+", queued") {
		t.Errorf("late older release: %s %q", late.State, late.Reason)
	}
	if got := f.drive(f.ctl, newer.ID); got.State != store.RolloutSucceeded || f.live() != r4 {
		t.Fatalf("queued newer release: %s %q, live %d", got.State, got.Reason, f.live())
	}

	// A human can still go back: rollbacks are exempt.
	rb, err := f.ctl.Rollback(ctx, "shop", "production", r1, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if got := f.drive(f.ctl, rb.ID); got.State != store.RolloutSucceeded || f.live() != r1 {
		t.Fatalf("rollback to release 1: %s %q, live %d", got.State, got.Reason, f.live())
	}
}

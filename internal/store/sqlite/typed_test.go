package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/ferry-cd/ferry/internal/store"
)

// TestTypedColumnsKeepTheirText: a rollout's strategy and a notification's state are typed in Go and stored
// as the same text as when they were plain strings, so databases written before read back the same.
func TestTypedColumnsKeepTheirText(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ferry.db")
	db := open(t, path)
	defer db.Close()
	if err := db.CreateProject(ctx, &store.Project{Name: "web", Repo: "r"}); err != nil {
		t.Fatal(err)
	}
	rel := &store.Release{Project: "web"}
	if err := db.CreateRelease(ctx, rel); err != nil {
		t.Fatal(err)
	}
	for _, strategy := range []store.RolloutStrategy{store.StrategyDirect, store.StrategyBlueGreen, store.StrategyCanary, store.StrategyRollback} {
		r := &store.Rollout{Project: "web", Env: "production", ReleaseID: rel.ID, Strategy: strategy, State: store.RolloutPending}
		if err := db.CreateRollout(ctx, r); err != nil {
			t.Fatal(err)
		}
		var text string
		if err := rawDB(t, path).QueryRow("SELECT strategy FROM rollouts WHERE id = ?", r.ID).Scan(&text); err != nil {
			t.Fatal(err)
		}
		got, err := db.GetRollout(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if text != string(strategy) || got.Strategy != strategy {
			t.Errorf("strategy %q: stored as %q, read back as %q", strategy, text, got.Strategy)
		}
	}

	n := &store.Notification{Sink: "webhook", URL: "http://x/hook", Event: "run.failed", Project: "web", Payload: []byte(`{}`),
		State: store.NotificationPending, NextAt: time.Now()}
	if err := db.AddNotification(ctx, n); err != nil {
		t.Fatal(err)
	}
	for _, state := range []store.NotificationState{store.NotificationPending, store.NotificationFailed, store.NotificationDelivered} {
		n.State = state
		if err := db.UpdateNotification(ctx, n); err != nil {
			t.Fatal(err)
		}
		var text string
		if err := rawDB(t, path).QueryRow("SELECT state FROM notifications WHERE id = ?", n.ID).Scan(&text); err != nil {
			t.Fatal(err)
		}
		list, err := db.ListNotifications(ctx, "web", 1)
		if err != nil || len(list) != 1 {
			t.Fatalf("list: %v, %v", list, err)
		}
		if text != string(state) || list[0].State != state {
			t.Errorf("state %q: stored as %q, read back as %q", state, text, list[0].State)
		}
	}
}

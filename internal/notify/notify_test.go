package notify

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ferry-cd/ferry/internal/store"
	"github.com/ferry-cd/ferry/internal/store/sqlite"
)

func openStore(t *testing.T) store.Store {
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "ferry.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestSlackGetsTextAndWebhookGetsSignedJSON(t *testing.T) {
	var mu sync.Mutex
	got := map[string]*http.Request{}
	bodies := map[string]string{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got[r.URL.Path], bodies[r.URL.Path] = r, string(b)
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	st := openStore(t)
	s := &Sender{Store: st, Secret: "k", Sinks: []Sink{{Kind: "slack", URL: srv.URL + "/slack"}, {Kind: "webhook", URL: srv.URL + "/hook"}}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	s.Notify(ctx, Event{Event: "rollout.rolled_back", Project: "shop", Text: "production: release 3 rolled_back: analysis failed"})
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("not delivered")
		}
		time.Sleep(10 * time.Millisecond)
	}
	var slack map[string]string
	json.Unmarshal([]byte(bodies["/slack"]), &slack)
	if slack["text"] != "[shop] production: release 3 rolled_back: analysis failed" || len(slack) != 1 {
		t.Errorf("slack body %q", bodies["/slack"])
	}
	if got["/slack"].Header.Get("X-Ferry-Signature-256") != "" {
		t.Error("the slack request carries ferry's signature")
	}
	h := got["/hook"].Header
	if h.Get("X-Ferry-Event") != "rollout.rolled_back" || h.Get("X-Ferry-Signature-256") != "sha256="+Sign("k", []byte(bodies["/hook"])) {
		t.Errorf("webhook headers %v", h)
	}
	var ev Event
	if err := json.Unmarshal([]byte(bodies["/hook"]), &ev); err != nil || ev.Project != "shop" || ev.Time.IsZero() {
		t.Errorf("webhook body %q: %v", bodies["/hook"], err)
	}
}

func TestRetriesBackOffThenGiveUp(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", http.StatusServiceUnavailable) }))
	t.Cleanup(srv.Close)
	st := openStore(t)
	s := &Sender{Store: st, Sinks: []Sink{{Kind: "webhook", URL: srv.URL}}, MinBackoff: time.Millisecond}
	ctx := context.Background()
	s.Notify(ctx, Event{Event: "run.failed", Project: "p"})
	due, _ := st.DueNotifications(ctx, time.Now(), 10)
	n := due[0]
	for i := 0; i < MaxAttempts; i++ {
		before := time.Now()
		s.attempt(ctx, n)
		// The next try waits at least the backoff of this attempt count, counted from when it ended.
		if n.State == store.NotificationPending && n.NextAt.Before(before.Add(s.backoff(n.Attempts))) {
			t.Errorf("attempt %d: next at %v, before %v + %v", n.Attempts, n.NextAt, before, s.backoff(n.Attempts))
		}
	}
	if n.State != store.NotificationFailed || n.Attempts != MaxAttempts || n.LastError != "HTTP 503" {
		t.Fatalf("after %d attempts: %+v", MaxAttempts, n)
	}
	if s.backoff(1) != time.Millisecond || s.backoff(4) != 8*time.Millisecond || (&Sender{}).backoff(30) != 5*time.Minute {
		t.Errorf("backoff: %v %v %v", s.backoff(1), s.backoff(4), (&Sender{}).backoff(30))
	}
	if list, _ := st.ListNotifications(ctx, "p", 0); list[0].State != store.NotificationFailed {
		t.Errorf("stored state %s", list[0].State)
	}
}

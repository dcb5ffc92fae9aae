// Package notify owns outgoing notifications: each event is stored once per sink, then delivered by a loop that
// retries with backoff until the sink accepts it or ferry gives up, so delivery survives a restart and every
// attempt is visible. Sinks: a generic JSON webhook signed with HMAC-SHA256, and a Slack-compatible incoming
// webhook.
//
// It must not import server or cli.
package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/ferry-cd/ferry/internal/store"
)

// Sink is where notifications go.
type Sink struct {
	// Kind is "webhook" (ferry's JSON, signed) or "slack" (an incoming webhook: {"text": ...}).
	Kind string
	URL  string
}

// Event is what happened, as the webhook sink sends it.
type Event struct {
	Event   string    `json:"event"` // run.failed, gate.failed, run.recovered, rollout.succeeded, rollout.rolled_back, rollout.failed
	Project string    `json:"project"`
	Time    time.Time `json:"time"`
	// Text is one line for people; Slack shows it.
	Text string `json:"text"`
	// Details are the event's facts: run id, commit, step, environment, release, reason.
	Details map[string]any `json:"details,omitempty"`
}

// MaxAttempts is how many times a notification is tried before it is marked failed.
const MaxAttempts = 10

// Sender queues and delivers notifications.
type Sender struct {
	Store store.NotificationStore
	// Sinks get every project's notifications; ProjectSinks, when set, adds a project's own.
	Sinks        []Sink
	ProjectSinks func(ctx context.Context, project string) []Sink
	// Secret signs webhook bodies (X-Ferry-Signature-256: sha256=HEX); empty sends them unsigned.
	Secret string
	Client *http.Client
	Logger *slog.Logger
	// MinBackoff is the wait after the first failed attempt, doubling up to 5 minutes; 1 s when zero.
	MinBackoff time.Duration

	once sync.Once
	kick chan struct{}
}

func (s *Sender) init() { s.once.Do(func() { s.kick = make(chan struct{}, 1) }) }

func (s *Sender) log() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// Notify stores the event for every sink, the server's and the project's; the loop delivers it.
func (s *Sender) Notify(ctx context.Context, ev Event) {
	sinks := s.Sinks
	if s.ProjectSinks != nil {
		sinks = append(slices.Clip(sinks), s.ProjectSinks(ctx, ev.Project)...)
	}
	if len(sinks) == 0 {
		return
	}
	if ev.Time.IsZero() {
		ev.Time = time.Now().UTC()
	}
	body, err := json.Marshal(ev)
	if err != nil {
		s.log().Error("notification", "event", ev.Event, "err", err)
		return
	}
	for _, sink := range sinks {
		n := &store.Notification{Sink: sink.Kind, URL: sink.URL, Event: ev.Event, Project: ev.Project, Payload: body,
			State: store.NotificationPending, NextAt: ev.Time}
		if err := s.Store.AddNotification(ctx, n); err != nil {
			s.log().Error("queue notification", "event", ev.Event, "err", err)
		}
	}
	s.wake()
}

func (s *Sender) wake() {
	s.init()
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// Run delivers due notifications until ctx is done.
func (s *Sender) Run(ctx context.Context) {
	s.init()
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		due, err := s.Store.DueNotifications(ctx, time.Now(), 50)
		if err != nil && ctx.Err() == nil {
			s.log().Error("due notifications", "err", err)
		}
		for _, n := range due {
			s.attempt(ctx, n)
		}
		select {
		case <-ctx.Done():
			return
		case <-s.kick:
		case <-t.C:
		}
	}
}

// attempt sends n once and records the outcome.
func (s *Sender) attempt(ctx context.Context, n *store.Notification) {
	err := s.send(ctx, n)
	n.Attempts++
	n.UpdatedAt = time.Now().UTC()
	switch {
	case err == nil:
		n.State, n.LastError = store.NotificationDelivered, ""
	case n.Attempts >= MaxAttempts:
		n.State, n.LastError = store.NotificationFailed, err.Error()
	default:
		n.LastError = err.Error()
		n.NextAt = time.Now().Add(s.backoff(n.Attempts)).UTC()
	}
	if err != nil {
		s.log().Warn("notification not delivered", "event", n.Event, "project", n.Project, "sink", n.Sink, "attempt", n.Attempts, "err", err)
	}
	if uerr := s.Store.UpdateNotification(context.WithoutCancel(ctx), n); uerr != nil {
		s.log().Error("record notification", "id", n.ID, "err", uerr)
	}
}

func (s *Sender) backoff(attempts int) time.Duration {
	d := s.MinBackoff
	if d <= 0 {
		d = time.Second
	}
	for i := 1; i < attempts && d < 5*time.Minute; i++ {
		d *= 2
	}
	return min(d, 5*time.Minute)
}

func (s *Sender) send(ctx context.Context, n *store.Notification) error {
	body := n.Payload
	if n.Sink == "slack" {
		var ev Event
		if err := json.Unmarshal(n.Payload, &ev); err != nil {
			return fmt.Errorf("payload: %w", err)
		}
		body, _ = json.Marshal(map[string]string{"text": fmt.Sprintf("[%s] %s", ev.Project, ev.Text)})
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "POST", n.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if n.Sink == "webhook" {
		req.Header.Set("X-Ferry-Event", n.Event)
		req.Header.Set("X-Ferry-Delivery", fmt.Sprint(n.ID))
		if s.Secret != "" {
			req.Header.Set("X-Ferry-Signature-256", "sha256="+Sign(s.Secret, body))
		}
	}
	client := s.Client
	if client == nil {
		client = &http.Client{}
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return nil
}

// Sign returns the hex HMAC-SHA256 of body under secret, as X-Ferry-Signature-256 carries it after "sha256=".
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/ferry-cd/ferry/internal/notify"
	"github.com/ferry-cd/ferry/internal/store"
)

// runEnded sends the notifications a finished run calls for: a failure (a gate's own when a gate failed it),
// or a recovery when the branch passes again after a failure.
func (s *Server) runEnded(ctx context.Context, r *store.Run) {
	details := map[string]any{"run": r.ID, "commit": r.Commit, "branch": r.Branch}
	switch r.State {
	case store.RunFailed, store.RunError:
		event := "run.failed"
		if strings.Contains(r.Reason, ": gate ") {
			event = "gate.failed"
		}
		details["step"], details["reason"] = r.FailedStep, r.Reason
		s.notifier.Notify(ctx, notify.Event{Event: event, Project: r.Project, Details: details,
			Text: fmt.Sprintf("run %d of %.7s %s: %s", r.ID, r.Commit, r.State, r.Reason)})
	case store.RunPassed:
		runs, err := s.store.ListRuns(ctx, r.Project, 20)
		if err != nil {
			return
		}
		for _, prev := range runs { // newest first
			if prev.ID >= r.ID || prev.Branch != r.Branch || !prev.State.Done() || prev.State == store.RunSuperseded || prev.State == store.RunCanceled {
				continue
			}
			if prev.State == store.RunFailed || prev.State == store.RunError {
				s.notifier.Notify(ctx, notify.Event{Event: "run.recovered", Project: r.Project, Details: details,
					Text: fmt.Sprintf("%s passes again: run %d of %.7s (run %d had failed)", r.Branch, r.ID, r.Commit, prev.ID)})
			}
			return
		}
	}
}

// projectSinks are the project's own notification sinks.
func (s *Server) projectSinks(ctx context.Context, project string) []notify.Sink {
	p, err := s.store.GetProject(ctx, project)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			s.log.Error("the project's notification sinks: its events go to the server's sinks only", "project", project, "err", err)
		}
		return nil
	}
	sinks := make([]notify.Sink, 0, len(p.Notify))
	for _, n := range p.Notify {
		sinks = append(sinks, notify.Sink{Kind: n.Kind, URL: n.URL})
	}
	return sinks
}

// rolloutEnded counts a finished rollout and notifies its outcome.
func (s *Server) rolloutEnded(r *store.Rollout) {
	s.counters.rolloutEnded(r)
	// The environment's flags are the live release's: a succeeded rollout brings its flags live.
	if r.State == store.RolloutSucceeded {
		s.flagRuntime.ClearMatchedOverrides(context.WithoutCancel(s.ctx), r.Project, r.Env)
	}
	event := ""
	switch r.State {
	case store.RolloutSucceeded:
		event = "rollout.succeeded"
	case store.RolloutRolledBack, store.RolloutAborted:
		event = "rollout.rolled_back"
	case store.RolloutFailed:
		event = "rollout.failed"
	default:
		return
	}
	s.notifier.Notify(context.WithoutCancel(s.ctx), notify.Event{Event: event, Project: r.Project,
		Text:    fmt.Sprintf("%s: release %d %s: %s", r.Env, r.ReleaseID, r.State, r.Reason),
		Details: map[string]any{"env": r.Env, "release": r.ReleaseID, "rollout": r.ID, "state": string(r.State), "reason": r.Reason}})
}

func (s *Server) handleListNotifications(w http.ResponseWriter, r *http.Request) {
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	if limit <= 0 {
		limit = 100
	}
	ns, err := s.store.ListNotifications(r.Context(), r.URL.Query().Get("project"), limit)
	if err != nil {
		writeStoreError(w, err, "notifications")
		return
	}
	for _, n := range ns {
		n.URL = redactURL(n.URL)
	}
	writeJSON(w, http.StatusOK, viewAll(ns, viewNotification))
}

// redactURL keeps a sink's scheme and host: the path of an incoming webhook (Slack's above all) is its key,
// which anyone who can read the API must not learn.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "(hidden)"
	}
	if u.Path == "" || u.Path == "/" {
		return u.Scheme + "://" + u.Host + "/"
	}
	return u.Scheme + "://" + u.Host + "/…"
}

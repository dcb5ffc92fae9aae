package controlplane

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ferry-cd/ferry/internal/notify"
	"github.com/ferry-cd/ferry/internal/store"
)

// What the control plane notifies: failed and recovered runs, ended rollouts, reverted flag rollouts. The
// notify.Sender stores each notification and delivers it to the server's and the project's sinks.

// runEnded sends the notifications a finished run calls for: a failure (a gate's own when a gate failed it),
// or a recovery when the branch passes again after a failure.
func (cp *ControlPlane) runEnded(ctx context.Context, r *store.Run) {
	cp.retainer.Wake()
	details := map[string]any{"run": r.ID, "commit": r.Commit, "branch": r.Branch}
	switch r.State {
	case store.RunFailed, store.RunError:
		event := "run.failed"
		if strings.Contains(r.Reason, ": gate ") {
			event = "gate.failed"
		}
		details["step"], details["reason"] = r.FailedStep, r.Reason
		cp.notifier.Notify(ctx, notify.Event{Event: event, Project: r.Project, Details: details,
			Text: fmt.Sprintf("run %d of %.7s %s: %s", r.ID, r.Commit, r.State, r.Reason)})
	case store.RunPassed:
		runs, err := cp.store.ListRuns(ctx, r.Project, 20)
		if err != nil {
			return
		}
		for _, prev := range runs { // newest first
			if prev.ID >= r.ID || prev.Branch != r.Branch || !prev.State.Done() || prev.State == store.RunSuperseded || prev.State == store.RunCanceled {
				continue
			}
			if prev.State == store.RunFailed || prev.State == store.RunError {
				cp.notifier.Notify(ctx, notify.Event{Event: "run.recovered", Project: r.Project, Details: details,
					Text: fmt.Sprintf("%s passes again: run %d of %.7s (run %d had failed)", r.Branch, r.ID, r.Commit, prev.ID)})
			}
			return
		}
	}
}

// projectSinks are the project's own notification sinks.
func (cp *ControlPlane) projectSinks(ctx context.Context, project string) []notify.Sink {
	p, err := cp.store.GetProject(ctx, project)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			cp.log.Error("the project's notification sinks: its events go to the server's sinks only", "project", project, "err", err)
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
func (cp *ControlPlane) rolloutEnded(r *store.Rollout) {
	cp.counters.rolloutEnded(r)
	cp.retainer.Wake()
	// The environment's flags are the live release's: a succeeded rollout brings its flags live.
	if r.State == store.RolloutSucceeded {
		cp.flags.ClearMatchedOverrides(context.WithoutCancel(cp.ctx), r.Project, r.Env)
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
	ctx := context.WithoutCancel(cp.ctx)
	version := cp.releaseVersion(ctx, r.ReleaseID)
	cp.notifier.Notify(ctx, notify.Event{Event: event, Project: r.Project,
		Text: fmt.Sprintf("%s: release v%d %s: %s", r.Env, version, r.State, r.Reason),
		Details: map[string]any{"env": r.Env, "release": version, "release_id": r.ReleaseID, "rollout": r.ID,
			"state": string(r.State), "reason": r.Reason}})
}

// flagRolloutReverted notifies flag.reverted.
func (cp *ControlPlane) flagRolloutReverted(ctx context.Context, r *store.FlagRollout) {
	cp.notifier.Notify(ctx, notify.Event{Event: "flag.reverted", Project: r.Project,
		Text:    fmt.Sprintf("%s: flag %s back to its previous split: %s", r.Env, r.Flag, r.Reason),
		Details: map[string]any{"env": r.Env, "flag": r.Flag, "rollout": r.ID, "reason": r.Reason}})
}

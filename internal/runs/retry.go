package runs

import (
	"context"
	"fmt"
	"strings"

	"github.com/ferry-cd/ferry/internal/store"
)

// A run that a shutdown or a crash of the server interrupted is recorded as error, and its commit is queued
// again, so the branch head does not stay unbuilt until someone triggers it. The new run's trigger names the
// run it retries; a retry is never retried itself, so a commit whose run takes the server down is tried twice,
// not forever.

const retryTriggerPrefix = "retry of run "

func retryTrigger(run int64) string {
	return fmt.Sprintf("%s%d after restart", retryTriggerPrefix, run)
}

func isRetry(r *store.Run) bool { return strings.HasPrefix(r.Trigger, retryTriggerPrefix) }

// retryInterrupted queues a new run of r's commit, unless r was a retry already or a later run of the project
// builds that commit or one that contains it (then retrying could only deploy an older commit).
func (m *Manager) retryInterrupted(ctx context.Context, r *store.Run) {
	log := m.log.With("project", r.Project, "run", r.ID)
	if isRetry(r) {
		log.Warn("interrupted run not retried: it was a retry already", "trigger", r.Trigger)
		return
	}
	if later, err := m.laterRunOf(ctx, r); err != nil {
		log.Error("retry interrupted run", "err", err)
		return
	} else if later != nil {
		log.Info("interrupted run not retried: a later run builds its commit", "later", later.ID)
		return
	}
	n, err := m.Enqueue(ctx, r.Project, r.Commit, retryTrigger(r.ID))
	if err != nil {
		log.Error("retry interrupted run", "err", err)
		return
	}
	log.Info("interrupted run retried", "retry", n.ID)
}

// laterRunOf returns a run of r's project and branch, created after r, whose commit is r's or contains it.
func (m *Manager) laterRunOf(ctx context.Context, r *store.Run) (*store.Run, error) {
	p, err := m.store.GetProject(ctx, r.Project)
	if err != nil {
		return nil, err
	}
	runs, err := m.store.ListRuns(ctx, r.Project, 100)
	if err != nil {
		return nil, err
	}
	unlock := m.LockMirror(p.Name)
	defer unlock()
	mr := m.Mirror(ctx, p)
	for _, later := range runs { // newest first
		if later.ID <= r.ID {
			break
		}
		if later.Branch == r.Branch && (later.Commit == r.Commit || mr.IsAncestor(ctx, r.Commit, later.Commit)) {
			return later, nil
		}
	}
	return nil, nil
}

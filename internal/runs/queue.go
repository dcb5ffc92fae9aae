package runs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/ferry-cd/ferry/internal/source"
	"github.com/ferry-cd/ferry/internal/store"
)

// Enqueue records a queued run of commit (empty: the branch head) for the project, after fetching it into the
// project's mirror, and supersedes the project's queued runs of commits it contains.
func (m *Manager) Enqueue(ctx context.Context, project, commit, trigger string) (*store.Run, error) {
	p, err := m.store.GetProject(ctx, project)
	if err != nil {
		return nil, err
	}
	mr := m.Mirror(ctx, p)
	unlock := m.LockMirror(p.Name)
	defer unlock()
	full := ""
	if commit != "" {
		full, _ = mr.Resolve(ctx, commit)
	}
	if full == "" {
		if err := mr.Fetch(ctx); err != nil {
			return nil, fmt.Errorf("fetch %s: %w", source.Redact(p.Repo), err)
		}
		if full, err = mr.Resolve(ctx, commit); err != nil {
			return nil, err
		}
	}
	r := &store.Run{Project: p.Name, Branch: p.Branch, Commit: full, Trigger: trigger, State: store.RunQueued, CreatedAt: time.Now().UTC()}
	if err := m.store.CreateRun(ctx, r); err != nil {
		return nil, err
	}
	queued, err := m.store.RunsInState(ctx, store.RunQueued)
	if err != nil {
		return nil, err
	}
	for _, q := range queued {
		if q.Project != p.Name || q.ID >= r.ID || !mr.IsAncestor(ctx, q.Commit, full) {
			continue
		}
		// A later run of a commit that contains this one makes building it pointless.
		if ok, err := m.finishQueued(ctx, q.ID, store.RunSuperseded, fmt.Sprintf("superseded by run %d (%.7s)", r.ID, full)); err != nil {
			return nil, err
		} else if ok {
			m.log.Info("run superseded", "project", p.Name, "run", q.ID, "by", r.ID)
		}
	}
	m.log.Info("run queued", "project", p.Name, "run", r.ID, "commit", full, "trigger", trigger)
	m.events.RunQueued(r)
	m.wake()
	return r, nil
}

// finishQueued ends a run that is still queued; it reports false when the run had already left the queue.
func (m *Manager) finishQueued(ctx context.Context, id int64, state store.RunState, reason string) (bool, error) {
	// Under mu: dispatch takes a queued run under it too, so a run is either taken or finished, never both.
	m.mu.Lock()
	defer m.mu.Unlock()
	r, err := m.store.GetRun(ctx, id)
	if err != nil {
		return false, err
	}
	if r.State != store.RunQueued {
		return false, nil
	}
	r.State, r.Reason, r.FinishedAt = state, reason, time.Now().UTC()
	return true, m.store.UpdateRun(ctx, r)
}

// Cancel cancels a queued or running run. It returns the run as it is after the request.
func (m *Manager) Cancel(ctx context.Context, id int64) (*store.Run, error) {
	if _, err := m.finishQueued(ctx, id, store.RunCanceled, "canceled by user"); err != nil {
		return nil, err
	}
	m.mu.Lock()
	if a, ok := m.active[id]; ok {
		a.cancel(errors.New("canceled by user"))
	}
	m.mu.Unlock()
	return m.store.GetRun(ctx, id)
}

// DeleteProject cancels the project's active runs, then removes it with its records, its steps' cache and its
// mirror.
func (m *Manager) DeleteProject(ctx context.Context, name string) error {
	m.mu.Lock()
	for _, a := range m.active {
		if a.project == name {
			a.cancel(errors.New("project removed"))
		}
	}
	m.mu.Unlock()
	if err := m.store.DeleteProject(ctx, name); err != nil {
		return err
	}
	m.NotePoll(name, nil) // a project added again under the name starts clean
	unlock := m.LockMirror(name)
	defer unlock()
	os.RemoveAll(m.cacheDir(name))
	return os.RemoveAll(m.mirrorDir(name))
}

package runs

import (
	"context"
	"fmt"

	"github.com/ferry-cd/ferry/internal/store"
)

// NoteHead queues a run when head is a commit the project has not seen at the tip of its branch, and records
// it as the project's head. Pollers and webhooks both report here, so a push seen by both runs once. The head
// only moves forward (see moveHead); when it does not move, ignored says why. The head is recorded only once
// its run is queued, so a failed fetch is tried again at the next poll or delivery.
func (m *Manager) NoteHead(ctx context.Context, p *store.Project, head, trigger string) (run *store.Run, ignored string, err error) {
	unlock := m.heads.lock(p.Name)
	defer unlock()
	cur, err := m.store.GetProject(ctx, p.Name)
	if err != nil {
		return nil, "", err
	}
	if cur.Head == head {
		return nil, "commit already seen", nil
	}
	if why, err := m.moveHead(ctx, cur, head); err != nil {
		m.log.Error("check new head", "project", p.Name, "commit", head, "err", err)
		return nil, "", err
	} else if why != "" {
		m.log.Warn("head not moved", "project", p.Name, "commit", head, "head", cur.Head, "trigger", trigger, "reason", why)
		return nil, why, nil
	}
	r, err := m.Enqueue(ctx, p.Name, head, trigger)
	if err != nil {
		m.log.Error("queue run", "project", p.Name, "commit", head, "err", err)
		return nil, "", err
	}
	if err := m.store.SetProjectHead(ctx, p.Name, head); err != nil {
		return nil, "", err
	}
	return r, "", nil
}

// moveHead decides whether commit may become the project's recorded head. It returns "" when it may, and
// otherwise why not. The head only moves forward: to a commit that descends from the recorded one. The one
// exception is a force push: when the recorded head is no longer on the branch as the remote has it now, and
// commit is, the branch was rewritten and commit is its new history. A replayed or late push of an older
// commit (one the head contains, or one of a history the branch left) is ignored.
func (m *Manager) moveHead(ctx context.Context, p *store.Project, commit string) (string, error) {
	old := p.Head
	if old == "" {
		return "", nil
	}
	mr := m.Mirror(ctx, p)
	unlock := m.LockMirror(p.Name)
	defer unlock()
	if have, err := mr.Resolve(ctx, commit); err == nil && mr.IsAncestor(ctx, old, have) {
		return "", nil // forward, and the commit is here already
	}
	// Anything else needs the branch as the remote has it now.
	if err := mr.Fetch(ctx); err != nil {
		return "", fmt.Errorf("fetch branch %s: %w", p.Branch, err)
	}
	full, err := mr.Resolve(ctx, commit)
	if err != nil {
		return "", err
	}
	if mr.IsAncestor(ctx, old, full) {
		return "", nil
	}
	tip, err := mr.Resolve(ctx, "")
	if err != nil {
		return "", err
	}
	if !mr.IsAncestor(ctx, old, tip) && mr.IsAncestor(ctx, full, tip) {
		m.log.Warn("branch was force-pushed; head follows it", "project", p.Name, "head", old, "commit", full)
		return "", nil
	}
	if mr.IsAncestor(ctx, full, old) {
		return fmt.Sprintf("commit %.12s is older than the project's head %.12s", full, old), nil
	}
	return fmt.Sprintf("commit %.12s does not descend from the project's head %.12s, which is still on branch %s", full, old, p.Branch), nil
}

// IsAncestor reports whether commit a is an ancestor of, or the same as, commit b in the project's mirror. It
// reads the mirror without its lock: git writes objects before it moves refs, so a concurrent fetch cannot
// make a read wrong, and a rollout decision never waits for a slow fetch.
func (m *Manager) IsAncestor(ctx context.Context, project, a, b string) bool {
	p, err := m.store.GetProject(ctx, project)
	if err != nil {
		return false
	}
	return m.Mirror(ctx, p).IsAncestor(ctx, a, b)
}

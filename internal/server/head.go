package server

import (
	"context"
	"fmt"

	"github.com/ferry-cd/ferry/internal/store"
)

// moveHead decides whether commit may become the project's recorded head. It returns "" when it may, and
// otherwise why not. The head only moves forward: to a commit that descends from the recorded one. The one
// exception is a force push: when the recorded head is no longer on the branch as the remote has it now, and
// commit is, the branch was rewritten and commit is its new history. A replayed or late push of an older
// commit (one the head contains, or one of a history the branch left) is ignored.
func (s *Server) moveHead(ctx context.Context, p *store.Project, commit string) (string, error) {
	old := p.Head
	if old == "" {
		return "", nil
	}
	m := s.mirror(p)
	unlock := s.lockMirror(p.Name)
	defer unlock()
	if have, err := m.Resolve(ctx, commit); err == nil && m.IsAncestor(ctx, old, have) {
		return "", nil // forward, and the commit is here already
	}
	// Anything else needs the branch as the remote has it now.
	if err := m.Fetch(ctx); err != nil {
		return "", fmt.Errorf("fetch branch %s: %w", p.Branch, err)
	}
	full, err := m.Resolve(ctx, commit)
	if err != nil {
		return "", err
	}
	if m.IsAncestor(ctx, old, full) {
		return "", nil
	}
	tip, err := m.Resolve(ctx, "")
	if err != nil {
		return "", err
	}
	if !m.IsAncestor(ctx, old, tip) && m.IsAncestor(ctx, full, tip) {
		s.log.Warn("branch was force-pushed; head follows it", "project", p.Name, "head", old, "commit", full)
		return "", nil
	}
	if m.IsAncestor(ctx, full, old) {
		return fmt.Sprintf("commit %.12s is older than the project's head %.12s", full, old), nil
	}
	return fmt.Sprintf("commit %.12s does not descend from the project's head %.12s, which is still on branch %s", full, old, p.Branch), nil
}

// isAncestor reports whether commit a is an ancestor of, or the same as, commit b in the project's mirror. It
// reads the mirror without its lock: git writes objects before it moves refs, so a concurrent fetch cannot
// make a read wrong, and a rollout decision never waits for a slow fetch.
func (s *Server) isAncestor(ctx context.Context, project, a, b string) bool {
	p, err := s.store.GetProject(ctx, project)
	if err != nil {
		return false
	}
	return s.mirror(p).IsAncestor(ctx, a, b)
}

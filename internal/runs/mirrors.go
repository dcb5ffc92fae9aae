package runs

import (
	"context"
	"path/filepath"
	"sync"

	"github.com/ferry-cd/ferry/internal/source"
	"github.com/ferry-cd/ferry/internal/store"
)

// Mirror is the project's git mirror, with its repository credentials; without them (or when they cannot be
// read, which is logged) a private repository answers its own error. Git operations on it take LockMirror.
func (m *Manager) Mirror(ctx context.Context, p *store.Project) *source.Mirror {
	mr := &source.Mirror{Dir: m.mirrorDir(p.Name), URL: p.Repo, Branch: p.Branch}
	if m.cfg.Credentials == nil {
		return mr
	}
	// Credentials are read even for a caller whose context ends: the git command then fails on its own.
	c, err := m.cfg.Credentials(context.WithoutCancel(ctx), p.Name)
	if err != nil {
		m.log.Warn("read repository credentials", "project", p.Name, "err", err)
	}
	mr.Cred = c
	return mr
}

// LockMirror serialises git operations on one project's mirror.
func (m *Manager) LockMirror(project string) (unlock func()) { return m.mirrors.lock(project) }

func (m *Manager) mirrorDir(project string) string {
	return filepath.Join(m.cfg.DataDir, "mirrors", project+".git")
}

// keyedMutex is a mutex per key. The zero value is ready to use.
type keyedMutex struct {
	mu    sync.Mutex
	locks map[string]*sync.Mutex
}

func (k *keyedMutex) lock(key string) (unlock func()) {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = map[string]*sync.Mutex{}
	}
	m, ok := k.locks[key]
	if !ok {
		m = &sync.Mutex{}
		k.locks[key] = m
	}
	k.mu.Unlock()
	m.Lock()
	return m.Unlock
}

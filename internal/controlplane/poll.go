package controlplane

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/ferry-cd/ferry/internal/runs"
	"github.com/ferry-cd/ferry/internal/store"
)

// poller asks each polled project's remote for its branch head at the project's interval and reports it to
// the run lifecycle, which queues a run when the head moved. The first poll of a new project queues its
// current head, so adding a project shows a run.
type poller struct {
	store store.Store
	runs  *runs.Manager
	log   *slog.Logger

	mu      sync.Mutex
	polling map[string]bool // projects whose poll is under way
}

// Run polls until ctx is done, then waits for the polls under way.
func (p *poller) Run(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	next := map[string]time.Time{}
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		projects, err := p.store.ListProjects(ctx)
		if err != nil {
			continue
		}
		now := time.Now()
		for _, pr := range projects {
			if pr.Poll <= 0 || now.Before(next[pr.Name]) {
				continue
			}
			next[pr.Name] = now.Add(pr.Poll)
			p.mu.Lock()
			if p.polling == nil {
				p.polling = map[string]bool{}
			}
			busy := p.polling[pr.Name]
			p.polling[pr.Name] = true
			p.mu.Unlock()
			if busy {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { p.mu.Lock(); delete(p.polling, pr.Name); p.mu.Unlock() }()
				p.poll(ctx, pr)
			}()
		}
	}
}

func (p *poller) poll(ctx context.Context, pr *store.Project) {
	ctx, cancel := context.WithTimeout(ctx, max(pr.Poll, 30*time.Second))
	defer cancel()
	head, err := p.runs.Mirror(ctx, pr).RemoteHead(ctx)
	if err != nil {
		p.log.Warn("poll", "project", pr.Name, "err", err)
	} else {
		_, _, err = p.runs.NoteHead(ctx, pr, head, "poll") // which logs its own errors
	}
	// Shown with the project (API, project list, dashboard) until a poll succeeds; a poll cut short by the
	// server stopping says nothing about the repository.
	if context.Cause(ctx) != context.Canceled || err == nil {
		p.runs.NotePoll(pr.Name, err)
	}
}

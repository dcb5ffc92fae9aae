package server

import (
	"context"
	"time"

	"github.com/ferry-cd/ferry/internal/store"
)

// pollLoop asks each polled project's remote for its branch head at the project's interval and queues a run
// when the head moved. The first poll of a new project queues its current head, so adding a project shows a run.
func (s *Server) pollLoop() {
	next := map[string]time.Time{}
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		}
		projects, err := s.store.ListProjects(s.ctx)
		if err != nil {
			continue
		}
		now := time.Now()
		for _, p := range projects {
			if p.Poll <= 0 || now.Before(next[p.Name]) {
				continue
			}
			next[p.Name] = now.Add(p.Poll)
			s.mu.Lock()
			busy := s.polling[p.Name]
			s.polling[p.Name] = true
			s.mu.Unlock()
			if busy {
				continue
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer func() { s.mu.Lock(); delete(s.polling, p.Name); s.mu.Unlock() }()
				s.poll(p)
			}()
		}
	}
}

func (s *Server) poll(p *store.Project) {
	ctx, cancel := context.WithTimeout(s.ctx, max(p.Poll, 30*time.Second))
	defer cancel()
	head, err := s.mirror(p).RemoteHead(ctx)
	if err != nil {
		s.log.Warn("poll", "project", p.Name, "err", err)
		return
	}
	s.runs.NoteHead(ctx, p, head, "poll")
}

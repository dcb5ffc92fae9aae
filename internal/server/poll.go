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
	s.noteHead(ctx, p, head, "poll")
}

// noteHead queues a run when head is a commit the project has not seen at the tip of its branch, and records
// it as the project's head. Pollers and webhooks both report here, so a push seen by both runs once. The head
// only moves forward (see moveHead); when it does not move, ignored says why. The head is recorded only once
// its run is queued, so a failed fetch is tried again at the next poll or delivery.
func (s *Server) noteHead(ctx context.Context, p *store.Project, head, trigger string) (run *store.Run, ignored string, err error) {
	unlock := s.heads.lock(p.Name)
	defer unlock()
	cur, err := s.store.GetProject(ctx, p.Name)
	if err != nil {
		return nil, "", err
	}
	if cur.Head == head {
		return nil, "commit already seen", nil
	}
	if why, err := s.moveHead(ctx, cur, head); err != nil {
		s.log.Error("check new head", "project", p.Name, "commit", head, "err", err)
		return nil, "", err
	} else if why != "" {
		s.log.Warn("head not moved", "project", p.Name, "commit", head, "head", cur.Head, "trigger", trigger, "reason", why)
		return nil, why, nil
	}
	r, err := s.Enqueue(ctx, p.Name, head, trigger)
	if err != nil {
		s.log.Error("queue run", "project", p.Name, "commit", head, "err", err)
		return nil, "", err
	}
	if err := s.store.SetProjectHead(ctx, p.Name, head); err != nil {
		return nil, "", err
	}
	return r, "", nil
}

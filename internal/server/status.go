package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/ferry-cd/ferry/internal/source"
	"github.com/ferry-cd/ferry/internal/store"
)

// StatusTokenSecret is the project secret that holds the forge token for commit statuses.
const StatusTokenSecret = "FERRY_STATUS_TOKEN"

var statusClient = &http.Client{Timeout: 10 * time.Second}

type statusJob struct {
	project *store.Project
	run     int64
	commit  string
	status  source.CommitStatus
}

// reportStatus queues a report of a run's state to the project's forge. One worker sends them in order, so a
// forge never sees "running" after "success"; each gets three attempts, then a warning in the log. Nothing is
// reported when the project has no status target.
func (s *Server) reportStatus(r *store.Run, state, description string) {
	p, err := s.store.GetProject(context.WithoutCancel(s.ctx), r.Project)
	if err != nil || p.Status.Provider == "" {
		return
	}
	select {
	case s.statuses <- statusJob{project: p, run: r.ID, commit: r.Commit, status: source.CommitStatus{State: state, Description: description}}:
	default:
		s.log.Warn("commit status dropped: too many waiting", "project", p.Name, "run", r.ID)
	}
}

// statusLoop sends queued commit statuses until the server stops.
func (s *Server) statusLoop() {
	for {
		select {
		case <-s.ctx.Done():
			return
		case j := <-s.statuses:
			if err := s.sendStatus(s.ctx, j.project, j.commit, j.status); err != nil {
				s.log.Warn("commit status not reported", "project", j.project.Name, "run", j.run, "err", err)
			}
		}
	}
}

func (s *Server) sendStatus(ctx context.Context, p *store.Project, commit string, st source.CommitStatus) error {
	sealed, err := s.store.SecretValues(ctx, p.Name, []string{StatusTokenSecret})
	if err != nil {
		return err
	}
	if sealed[StatusTokenSecret] == nil {
		return errors.New("no token: ferry secret set " + p.Name + " " + StatusTokenSecret)
	}
	token, err := s.sealer.Open(p.Name, StatusTokenSecret, sealed[StatusTokenSecret])
	if err != nil {
		return err
	}
	for attempt := 1; ; attempt++ {
		err = source.ReportStatus(ctx, statusClient, p.Status.Provider, p.Status.API, p.Status.Repo, string(token), commit, st)
		if err == nil || attempt == 3 {
			return err
		}
		select {
		case <-time.After(time.Duration(attempt) * time.Second):
		case <-s.ctx.Done():
			return err
		}
	}
}

// runStatus is how a run's state shows on the forge.
func runStatus(r *store.Run) (state, description string) {
	switch r.State {
	case store.RunQueued:
		return "pending", fmt.Sprintf("run %d queued", r.ID)
	case store.RunRunning:
		return "running", fmt.Sprintf("run %d running", r.ID)
	case store.RunPassed:
		return "success", fmt.Sprintf("run %d passed", r.ID)
	case store.RunFailed:
		return "failure", fmt.Sprintf("run %d failed: %s", r.ID, r.Reason)
	case store.RunCanceled, store.RunSuperseded:
		return "canceled", fmt.Sprintf("run %d %s", r.ID, r.State)
	}
	return "error", fmt.Sprintf("run %d: %s", r.ID, r.Reason)
}

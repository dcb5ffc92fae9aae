package controlplane

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/ferry-cd/ferry/internal/source"
	"github.com/ferry-cd/ferry/internal/store"
)

// StatusTokenSecret is the project secret that holds the forge token for commit statuses.
const StatusTokenSecret = "FERRY_STATUS_TOKEN"

var forgeStatusClient = &http.Client{Timeout: 10 * time.Second}

// forgeStatuses reports runs' states to their project's forge as commit statuses. One worker sends them in
// order, so a forge never sees "running" after "success"; each gets three attempts, then a warning in the
// log.
type forgeStatuses struct {
	store   store.Store
	secrets projectSecrets
	log     *slog.Logger
	jobs    chan forgeStatusJob
}

type forgeStatusJob struct {
	project *store.Project
	run     int64
	commit  string
	status  source.CommitStatus
}

func newForgeStatuses(st store.Store, secrets projectSecrets, log *slog.Logger) *forgeStatuses {
	return &forgeStatuses{store: st, secrets: secrets, log: log, jobs: make(chan forgeStatusJob, 1024)}
}

// report queues a report of a run's state to the project's forge. Nothing is reported when the project has
// no status target.
func (f *forgeStatuses) report(ctx context.Context, r *store.Run, state, description string) {
	p, err := f.store.GetProject(context.WithoutCancel(ctx), r.Project)
	if err != nil || p.Status.Provider == "" {
		return
	}
	select {
	case f.jobs <- forgeStatusJob{project: p, run: r.ID, commit: r.Commit, status: source.CommitStatus{State: state, Description: description}}:
	default:
		f.log.Warn("commit status dropped: too many waiting", "project", p.Name, "run", r.ID)
	}
}

// Run sends queued commit statuses until ctx is done.
func (f *forgeStatuses) Run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case j := <-f.jobs:
			if err := f.send(ctx, j.project, j.commit, j.status); err != nil {
				f.log.Warn("commit status not reported", "project", j.project.Name, "run", j.run, "err", err)
			}
		}
	}
}

func (f *forgeStatuses) send(ctx context.Context, p *store.Project, commit string, st source.CommitStatus) error {
	token, ok, err := f.secrets.forgeToken(ctx, p.Name)
	if err != nil {
		return err
	}
	if !ok {
		return errors.New("no token: ferry secret set " + p.Name + " " + StatusTokenSecret)
	}
	for attempt := 1; ; attempt++ {
		err = source.ReportStatus(ctx, forgeStatusClient, p.Status.Provider, p.Status.API, p.Status.Repo, string(token), commit, st)
		if err == nil || attempt == 3 {
			return err
		}
		select {
		case <-time.After(time.Duration(attempt) * time.Second):
		case <-ctx.Done():
			return err
		}
	}
}

// forgeState is how a run's state shows on the forge.
func forgeState(r *store.Run) (state, description string) {
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

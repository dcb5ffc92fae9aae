package runs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ferry-cd/ferry/internal/store"
)

// Run starts queued runs, oldest first, while each project has room under its concurrency, until ctx is done;
// then it cancels the runs it started and returns once each has recorded its end. A run that ctx's end
// interrupts is recorded as error and its commit queued again (see retryInterrupted). Call Run once.
func (m *Manager) Run(ctx context.Context) {
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		for _, j := range m.take(ctx) {
			m.wg.Add(1)
			go func() {
				defer m.wg.Done()
				m.execute(ctx, j)
			}()
		}
		select {
		case <-ctx.Done():
			m.mu.Lock()
			for _, a := range m.active {
				a.cancel(errors.New("server shutting down"))
			}
			m.mu.Unlock()
			m.wg.Wait()
			return
		case <-m.kick:
		case <-t.C:
		}
	}
}

// A job is a run taken from the queue: recorded running, with its log open, ready to execute.
type job struct {
	project *store.Project
	run     *store.Run
	ctx     context.Context // the run's own: canceled by Cancel, DeleteProject, a log that cannot be written
	active  *activeRun
}

// take takes the queued runs that may start now, oldest first, and records each as running before anything of
// it runs.
func (m *Manager) take(ctx context.Context) []*job {
	queued, err := m.store.RunsInState(ctx, store.RunQueued)
	if err != nil {
		m.log.Error("list queued runs", "err", err)
		return nil
	}
	var jobs []*job
	for _, r := range queued {
		p, err := m.store.GetProject(ctx, r.Project)
		if err != nil {
			continue
		}
		if j := m.takeRun(ctx, p, r.ID); j != nil {
			jobs = append(jobs, j)
		}
	}
	return jobs
}

// takeRun records run id running when it is still queued and its project has room, and opens its log.
func (m *Manager) takeRun(ctx context.Context, p *store.Project, id int64) *job {
	m.mu.Lock()
	running := 0
	for _, a := range m.active {
		if a.project == p.Name {
			running++
		}
	}
	if running >= max(p.Concurrency, 1) || ctx.Err() != nil {
		m.mu.Unlock()
		return nil
	}
	// Record, then act: the run is running in the store before anything runs.
	cur, err := m.store.GetRun(ctx, id)
	if err != nil || cur.State != store.RunQueued {
		m.mu.Unlock()
		return nil
	}
	cur.State, cur.StartedAt = store.RunRunning, time.Now().UTC()
	if err := m.store.UpdateRun(ctx, cur); err != nil {
		m.mu.Unlock()
		m.log.Error("start run", "run", id, "err", err)
		return nil
	}
	rctx, cancel := context.WithCancelCause(ctx)
	rl, err := openRunLog(m.LogPath(id))
	if err != nil {
		m.mu.Unlock()
		cancel(nil)
		m.endRun(ctx, cur, store.RunError, fmt.Sprintf("open log: %v", err), "")
		return nil
	}
	rl.limit = m.logLimit()
	// A run whose log cannot be written (a full disk) is stopped rather than left printing into nothing.
	rl.failed = func(err error) { cancel(fmt.Errorf("write run log: %w", err)) }
	a := &activeRun{cancel: cancel, log: rl, project: p.Name}
	m.active[id] = a
	m.mu.Unlock()
	return &job{project: p, run: cur, ctx: rctx, active: a}
}

package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/ferry-cd/ferry/internal/engine"
	"github.com/ferry-cd/ferry/internal/flags"
	"github.com/ferry-cd/ferry/internal/gate"
	"github.com/ferry-cd/ferry/internal/pipeline"
	"github.com/ferry-cd/ferry/internal/source"
	"github.com/ferry-cd/ferry/internal/store"
)

// Enqueue records a queued run of commit (empty: the branch head) for the project, after fetching it into the
// project's mirror, and supersedes the project's queued runs of commits it contains.
func (s *Server) Enqueue(ctx context.Context, project, commit, trigger string) (*store.Run, error) {
	p, err := s.store.GetProject(ctx, project)
	if err != nil {
		return nil, err
	}
	m := s.mirror(p)
	unlock := s.lockMirror(p.Name)
	defer unlock()
	full := ""
	if commit != "" {
		full, _ = m.Resolve(ctx, commit)
	}
	if full == "" {
		if err := m.Fetch(ctx); err != nil {
			return nil, fmt.Errorf("fetch %s: %w", source.Redact(p.Repo), err)
		}
		if full, err = m.Resolve(ctx, commit); err != nil {
			return nil, err
		}
	}
	r := &store.Run{Project: p.Name, Branch: p.Branch, Commit: full, Trigger: trigger, State: store.RunQueued, CreatedAt: time.Now().UTC()}
	if err := s.store.CreateRun(ctx, r); err != nil {
		return nil, err
	}
	queued, err := s.store.RunsInState(ctx, store.RunQueued)
	if err != nil {
		return nil, err
	}
	for _, q := range queued {
		if q.Project != p.Name || q.ID >= r.ID || !m.IsAncestor(ctx, q.Commit, full) {
			continue
		}
		// A later run of a commit that contains this one makes building it pointless.
		if ok, err := s.finishQueued(ctx, q.ID, store.RunSuperseded, fmt.Sprintf("superseded by run %d (%.7s)", r.ID, full)); err != nil {
			return nil, err
		} else if ok {
			s.log.Info("run superseded", "project", p.Name, "run", q.ID, "by", r.ID)
		}
	}
	s.log.Info("run queued", "project", p.Name, "run", r.ID, "commit", full, "trigger", trigger)
	s.reportStatus(r, "pending", fmt.Sprintf("run %d queued", r.ID))
	s.wake()
	return r, nil
}

// finishQueued ends a run that is still queued; it reports false when the run had already left the queue.
func (s *Server) finishQueued(ctx context.Context, id int64, state store.RunState, reason string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.store.GetRun(ctx, id)
	if err != nil {
		return false, err
	}
	if r.State != store.RunQueued {
		return false, nil
	}
	r.State, r.Reason, r.FinishedAt = state, reason, time.Now().UTC()
	return true, s.store.UpdateRun(ctx, r)
}

// Cancel cancels a queued or running run. It returns the run as it is after the request.
func (s *Server) Cancel(ctx context.Context, id int64) (*store.Run, error) {
	if _, err := s.finishQueued(ctx, id, store.RunCanceled, "canceled by user"); err != nil {
		return nil, err
	}
	s.mu.Lock()
	if a, ok := s.active[id]; ok {
		a.cancel(errors.New("canceled by user"))
	}
	s.mu.Unlock()
	return s.store.GetRun(ctx, id)
}

// DeleteProject cancels the project's active runs, then removes it with its records and its mirror.
func (s *Server) DeleteProject(ctx context.Context, name string) error {
	s.mu.Lock()
	for _, a := range s.active {
		if a.project == name {
			a.cancel(errors.New("project removed"))
		}
	}
	s.mu.Unlock()
	if err := s.store.DeleteProject(ctx, name); err != nil {
		return err
	}
	unlock := s.lockMirror(name)
	defer unlock()
	os.RemoveAll(s.cacheDir(name))
	return os.RemoveAll(filepath.Join(s.cfg.DataDir, "mirrors", name+".git"))
}

// dispatchLoop starts queued runs, oldest first, while each project has room under its concurrency.
func (s *Server) dispatchLoop() {
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		s.dispatch()
		select {
		case <-s.ctx.Done():
			return
		case <-s.kick:
		case <-t.C:
		}
	}
}

func (s *Server) dispatch() {
	queued, err := s.store.RunsInState(s.ctx, store.RunQueued)
	if err != nil {
		s.log.Error("list queued runs", "err", err)
		return
	}
	for _, r := range queued {
		p, err := s.store.GetProject(s.ctx, r.Project)
		if err != nil {
			continue
		}
		s.mu.Lock()
		running := 0
		for _, a := range s.active {
			if a.project == r.Project {
				running++
			}
		}
		limit := max(p.Concurrency, 1)
		if running >= limit || s.ctx.Err() != nil {
			s.mu.Unlock()
			continue
		}
		// Record, then act: the run is running in the store before anything runs.
		cur, err := s.store.GetRun(s.ctx, r.ID)
		if err != nil || cur.State != store.RunQueued {
			s.mu.Unlock()
			continue
		}
		cur.State, cur.StartedAt = store.RunRunning, time.Now().UTC()
		if err := s.store.UpdateRun(s.ctx, cur); err != nil {
			s.mu.Unlock()
			s.log.Error("start run", "run", r.ID, "err", err)
			continue
		}
		ctx, cancel := context.WithCancelCause(s.ctx)
		rl, err := openRunLog(s.logPath(r.ID))
		if err != nil {
			s.mu.Unlock()
			cancel(nil)
			s.endRun(cur, store.RunError, fmt.Sprintf("open log: %v", err), "")
			continue
		}
		rl.limit = s.runLogLimit()
		// A run whose log cannot be written (a full disk) is stopped rather than left printing into nothing.
		rl.failed = func(err error) { cancel(fmt.Errorf("write run log: %w", err)) }
		a := &activeRun{cancel: cancel, log: rl, project: r.Project}
		s.active[r.ID] = a
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.execute(ctx, p, cur, a)
		}()
	}
}

// execute runs one run to its end and records every step of the way.
func (s *Server) execute(ctx context.Context, p *store.Project, r *store.Run, a *activeRun) {
	defer func() {
		a.cancel(nil)
		a.log.close()
		s.mu.Lock()
		delete(s.active, r.ID)
		s.mu.Unlock()
		s.cleanup(r.ID)
		s.wake()
	}()
	log := s.log.With("project", p.Name, "run", r.ID)
	log.Info("run started", "commit", r.Commit)
	s.reportStatus(r, "running", fmt.Sprintf("run %d running", r.ID))
	sysLog := func(format string, args ...any) {
		a.log.note("ferry", []engine.Line{{Time: time.Now(), Text: fmt.Sprintf(format, args...)}})
	}
	// end records the run's end, and says in its log why a run that never reached its steps ended.
	end := func(state store.RunState, reason, failedStep string) {
		if state == store.RunError {
			sysLog("run error: %s", reason)
		}
		s.endRun(r, state, reason, failedStep)
	}

	ws, tmp, cache := s.workspace(r.ID), s.tempDir(r.ID), s.cacheDir(p.Name)
	os.RemoveAll(ws)
	for _, d := range []string{tmp, cache} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			end(store.RunError, fmt.Sprintf("create run folders: %v", err), "")
			return
		}
	}
	m := s.mirror(p)
	unlock := s.lockMirror(p.Name)
	err := m.Checkout(ctx, r.Commit, ws)
	unlock()
	if err != nil {
		if ctx.Err() != nil {
			end(store.RunCanceled, context.Cause(ctx).Error(), "")
			return
		}
		end(store.RunError, err.Error(), "")
		return
	}
	sysLog("checked out %s at %s", source.Redact(p.Repo), r.Commit)
	// The commit controls the checkout: its pipeline file may be a symlink out of it, a FIFO or /dev/zero.
	data, ok, err := source.ReadRepoFile(ws, pipeline.FileName)
	if err != nil {
		end(store.RunError, fmt.Sprintf("read pipeline file: %v", err), "")
		return
	}
	if !ok {
		end(store.RunError, fmt.Sprintf("%s: no pipeline file at commit %.7s (create one with: ferry init)", pipeline.FileName, r.Commit), "")
		return
	}
	pl, err := pipeline.Parse(pipeline.FileName, data)
	if err != nil {
		end(store.RunError, err.Error(), "")
		return
	}
	if flagsData, ok, err := source.ReadRepoFile(ws, pipeline.FlagsFile); err != nil {
		end(store.RunError, fmt.Sprintf("%s: %v", pipeline.FlagsFile, err), "")
		return
	} else if ok {
		if err := pl.AddFlagsFile(flagsData); err != nil {
			end(store.RunError, err.Error(), "")
			return
		}
	}

	var steps []*store.Step
	for _, stage := range pl.Stages {
		for _, st := range stage.Steps {
			steps = append(steps, &store.Step{RunID: r.ID, Index: len(steps), Stage: stage.Name, Name: st.Name, State: store.StepPending})
		}
	}
	if err := s.store.PutSteps(ctx, r.ID, steps); err != nil {
		end(store.RunError, fmt.Sprintf("record steps: %v", err), "")
		return
	}
	secrets, err := s.secretsFor(context.WithoutCancel(ctx), p.Name, pl)
	if err != nil {
		end(store.RunError, err.Error(), "")
		return
	}
	obs := &storeObserver{s: s, project: p.Name, steps: steps, log: a.log, logger: log}
	job := &engine.Job{
		Pipeline:  pl,
		Workspace: ws,
		TempDir:   tmp,
		CacheDir:  cache,
		Vars: map[string]string{
			"FERRY_COMMIT":  r.Commit,
			"FERRY_BRANCH":  r.Branch,
			"FERRY_RUN_ID":  strconv.FormatInt(r.ID, 10),
			"FERRY_PROJECT": p.Name,
		},
		Secrets: secrets,
		Baseline: func(stage, step string) ([]gate.Metric, bool) {
			ms, found, err := s.store.BaselineMetrics(context.WithoutCancel(ctx), p.Name, r.Branch, stage, step, r.ID)
			if err != nil {
				log.Error("baseline metrics", "err", err)
			}
			return ms, found
		},
		Observer: obs,
	}
	res := s.engine.Run(ctx, job)
	s.counters.stagesEnded(p.Name, steps)
	if err := a.log.failure(); err != nil {
		end(store.RunError, fmt.Sprintf("write run log: %v", err), "")
		return
	}
	if res.State != store.RunPassed {
		end(res.State, res.Reason, res.FailedStep)
		return
	}
	rel, err := s.makeRelease(context.WithoutCancel(ctx), p, r, steps, data, pl.Flags)
	if err != nil {
		end(store.RunError, fmt.Sprintf("record release: %v", err), "")
		return
	}
	r.ReleaseID = rel.ID
	sysLog("release %d recorded: bundle %s", rel.Version, rel.Bundle)
	end(store.RunPassed, "", "")
	if len(pl.Environments) > 0 {
		s.deployRelease(context.WithoutCancel(ctx), pl, rel)
	}
}

func (s *Server) endRun(r *store.Run, state store.RunState, reason, failedStep string) {
	interrupted := state == store.RunCanceled && s.ctx.Err() != nil
	if interrupted {
		// Nobody canceled the run: the server is stopping under it.
		state, reason = store.RunError, "interrupted by server shutdown"
	}
	r.State, r.Reason, r.FailedStep, r.FinishedAt = state, reason, failedStep, time.Now().UTC()
	// The run's own context may be canceled; the record must still be written.
	if err := s.store.UpdateRun(context.WithoutCancel(s.ctx), r); err != nil {
		s.log.Error("record run end", "run", r.ID, "err", err)
	}
	if interrupted {
		// Queued now, dispatched by the next server.
		s.retryInterrupted(context.WithoutCancel(s.ctx), r)
	}
	s.counters.runs.WithLabelValues(r.Project, string(r.State)).Inc()
	s.runEnded(context.WithoutCancel(s.ctx), r)
	{
		state, desc := runStatus(r)
		s.reportStatus(r, state, desc)
	}
	s.log.Info("run finished", "project", r.Project, "run", r.ID, "state", state, "reason", reason)
}

// secretsFor opens the project secrets the pipeline's steps ask for.
func (s *Server) secretsFor(ctx context.Context, project string, pl *pipeline.Pipeline) (map[string]string, error) {
	var names []string
	for _, stage := range pl.Stages {
		for _, st := range stage.Steps {
			names = append(names, st.Secrets...)
		}
	}
	if len(names) == 0 {
		return nil, nil
	}
	for _, n := range names {
		if reservedSecret(n) {
			return nil, fmt.Errorf("secret %s is for fetching the repository: no step can read it", n)
		}
	}
	sealed, err := s.store.SecretValues(ctx, project, names)
	if err != nil {
		return nil, fmt.Errorf("read secrets: %w", err)
	}
	out := make(map[string]string, len(sealed))
	for name, v := range sealed {
		plain, err := s.sealer.Open(project, name, v)
		if err != nil {
			return nil, err
		}
		out[name] = string(plain)
	}
	return out, nil
}

func (s *Server) makeRelease(ctx context.Context, p *store.Project, r *store.Run, steps []*store.Step, pipelineFile []byte, fl *flags.Set) (*store.Release, error) {
	var flagsJSON []byte
	if fl != nil {
		var err error
		if flagsJSON, err = json.Marshal(fl); err != nil {
			return nil, err
		}
	}
	var files []store.Artifact
	for _, st := range steps {
		files = append(files, st.Artifacts...)
	}
	bundle, err := s.artifacts.PutBundle(files, pipelineFile)
	if err != nil {
		return nil, err
	}
	unlock := s.lockMirror(p.Name)
	c, err := s.mirror(p).Describe(ctx, r.Commit)
	unlock()
	if err != nil {
		return nil, err
	}
	rel := &store.Release{
		Project: p.Name, RunID: r.ID, Branch: r.Branch, Commit: r.Commit,
		Message: c.Message, Author: c.Author, CommitTime: c.Time.UTC(),
		Bundle: bundle, Pipeline: string(pipelineFile), Flags: string(flagsJSON), CreatedAt: time.Now().UTC(),
	}
	if err := s.store.CreateRelease(ctx, rel); err != nil {
		return nil, err
	}
	return rel, nil
}

// storeObserver records step progress in the store and the run's log file.
type storeObserver struct {
	s       *Server
	project string
	steps   []*store.Step
	log     *runLog
	logger  interface {
		Error(msg string, args ...any)
	}
}

func (o *storeObserver) update(st *store.Step) {
	if err := o.s.store.UpdateStep(context.WithoutCancel(o.s.ctx), st); err != nil {
		o.logger.Error("record step", "step", st.FullName(), "err", err)
	}
}

func (o *storeObserver) StepStarted(ref engine.StepRef, attempt int, pid int) {
	st := o.steps[ref.Index]
	st.State, st.Attempts, st.PID = store.StepRunning, attempt, pid
	if attempt == 1 {
		st.StartedAt = time.Now().UTC()
	}
	o.update(st)
}

func (o *storeObserver) Log(ref engine.StepRef, lines []engine.Line) {
	o.log.write(ref.FullName(), lines)
}

func (o *storeObserver) StepFinished(ref engine.StepRef, res engine.StepResult) {
	st := o.steps[ref.Index]
	st.State, st.Attempts, st.ExitCode, st.Reason = res.State, res.Attempts, res.ExitCode, res.Reason
	st.Metrics, st.Verdicts, st.Artifacts, st.PID = res.Metrics, res.Verdicts, res.Artifacts, 0
	if !res.StartedAt.IsZero() {
		st.StartedAt = res.StartedAt.UTC()
	}
	st.FinishedAt = time.Now().UTC()
	o.update(st)
	if !st.StartedAt.IsZero() {
		o.s.counters.steps.WithLabelValues(o.project, st.Stage, string(st.State)).Observe(st.FinishedAt.Sub(st.StartedAt).Seconds())
	}
	if res.Reason != "" && res.State != store.StepPassed {
		o.log.note(ref.FullName(), []engine.Line{{Time: time.Now(), Text: fmt.Sprintf("ferry: step %s: %s", res.State, res.Reason)}})
	}
}

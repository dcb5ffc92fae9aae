package runs

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/ferry-cd/ferry/internal/engine"
	"github.com/ferry-cd/ferry/internal/evals"
	"github.com/ferry-cd/ferry/internal/flags"
	"github.com/ferry-cd/ferry/internal/gate"
	"github.com/ferry-cd/ferry/internal/pipeline"
	"github.com/ferry-cd/ferry/internal/source"
	"github.com/ferry-cd/ferry/internal/store"
)

// execute runs a taken job to its end and records every step of the way. stop is the context of the
// dispatcher: when it is done, a canceled run was interrupted, not canceled (see endRun).
func (m *Manager) execute(stop context.Context, j *job) {
	ctx, p, r, a := j.ctx, j.project, j.run, j.active
	defer func() {
		a.cancel(nil)
		a.log.close()
		m.mu.Lock()
		delete(m.active, r.ID)
		m.mu.Unlock()
		m.cleanup(r.ID)
		m.wake()
	}()
	log := m.log.With("project", p.Name, "run", r.ID)
	log.Info("run started", "commit", r.Commit)
	m.events.RunStarted(r)
	sysLog := func(format string, args ...any) {
		a.log.note("ferry", []engine.Line{{Time: time.Now(), Text: fmt.Sprintf(format, args...)}})
	}
	// end records the run's end, and says in its log why a run that never reached its steps ended.
	end := func(state store.RunState, reason, failedStep string) {
		if state == store.RunError {
			sysLog("run error: %s", reason)
		}
		m.endRun(stop, r, state, reason, failedStep)
	}

	ws, tmp, cache := m.workspace(r.ID), m.tempDir(r.ID), m.cacheDir(p.Name)
	os.RemoveAll(ws)
	for _, d := range []string{tmp, cache} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			end(store.RunError, fmt.Sprintf("create run folders: %v", err), "")
			return
		}
	}
	mr := m.Mirror(ctx, p)
	unlock := m.LockMirror(p.Name)
	err := mr.Checkout(ctx, r.Commit, ws)
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

	if check := m.cfg.CheckEnvironments; check != nil {
		if err := check(ctx, p.Name, pl); err != nil {
			end(store.RunError, err.Error(), "")
			return
		}
	}

	steps := PlannedSteps(r.ID, pl)
	if err := m.store.PutSteps(ctx, r.ID, steps); err != nil {
		end(store.RunError, fmt.Sprintf("record steps: %v", err), "")
		return
	}
	secrets, err := m.secretsFor(context.WithoutCancel(ctx), p.Name, pl)
	if err != nil {
		end(store.RunError, err.Error(), "")
		return
	}
	obs := &storeObserver{m: m, ctx: context.WithoutCancel(ctx), project: p.Name, steps: steps, log: a.log, logger: log}
	x := &Execution{
		Pipeline: pl, Workspace: ws, TempDir: tmp, CacheDir: cache,
		Project: p.Name, Branch: r.Branch, Commit: r.Commit, Run: strconv.FormatInt(r.ID, 10),
		Secrets: secrets,
		Baseline: func(stage, step string) ([]gate.Metric, bool) {
			ms, found, err := m.store.BaselineMetrics(context.WithoutCancel(ctx), p.Name, r.Branch, stage, step, r.ID)
			if err != nil {
				log.Error("baseline metrics", "err", err)
			}
			return ms, found
		},
		BaselineCases: func(stage, step string) (int64, []evals.Case, bool) {
			set, found, err := m.store.BaselineCases(context.WithoutCancel(ctx), p.Name, r.Branch, stage, step, r.ID)
			if err != nil {
				log.Error("baseline cases", "err", err)
			}
			if !found || err != nil {
				return 0, nil, false
			}
			return set.RunID, set.Cases, true
		},
		Observer: obs,
	}
	res := x.Execute(ctx, m.cfg.Engine)
	m.events.StepsEnded(p.Name, steps)
	if err := a.log.failure(); err != nil {
		end(store.RunError, fmt.Sprintf("write run log: %v", err), "")
		return
	}
	if res.State != store.RunPassed {
		end(res.State, res.Reason, res.FailedStep)
		return
	}
	contents, err := m.releaseContents(pl, ws, obs.imagesInOrder())
	if err != nil {
		end(store.RunFailed, err.Error(), "")
		return
	}
	rel, err := m.makeRelease(context.WithoutCancel(ctx), p, r, steps, data, pl.Flags, contents)
	if err != nil {
		end(store.RunError, fmt.Sprintf("record release: %v", err), "")
		return
	}
	r.ReleaseID = rel.ID
	sysLog("release v%d recorded: bundle %s", rel.Version, rel.Bundle)
	// Its rollouts are queued before the run is recorded passed: whoever sees the run pass finds them.
	m.events.RunPassed(context.WithoutCancel(ctx), pl, rel)
	end(store.RunPassed, "", "")
}

// endRun records r's end. A run canceled because stop is done was interrupted by a shutdown: it becomes error
// and its commit is queued again.
func (m *Manager) endRun(stop context.Context, r *store.Run, state store.RunState, reason, failedStep string) {
	interrupted := state == store.RunCanceled && stop.Err() != nil
	if interrupted {
		// Nobody canceled the run: the server is stopping under it.
		state, reason = store.RunError, "interrupted by server shutdown"
	}
	r.State, r.Reason, r.FailedStep, r.FinishedAt = state, reason, failedStep, time.Now().UTC()
	// The run's own context may be canceled; the record must still be written.
	ctx := context.WithoutCancel(stop)
	if err := m.store.UpdateRun(ctx, r); err != nil {
		m.log.Error("record run end", "run", r.ID, "err", err)
	}
	if interrupted {
		// Queued now, dispatched by the next server.
		m.retryInterrupted(ctx, r)
	}
	m.events.RunEnded(ctx, r)
	m.log.Info("run finished", "project", r.Project, "run", r.ID, "state", state, "reason", reason)
}

// secretsFor opens the project secrets the pipeline's steps ask for.
func (m *Manager) secretsFor(ctx context.Context, project string, pl *pipeline.Pipeline) (map[string]string, error) {
	names := SecretNames(pl)
	if len(names) == 0 {
		return nil, nil
	}
	if m.cfg.Secrets == nil {
		return nil, fmt.Errorf("read secrets: this server keeps none")
	}
	return m.cfg.Secrets(ctx, project, names)
}

// releaseContents are what a release of a pipeline with kubernetes environments carries besides its
// bundle: the images its steps reported, and each kubernetes environment's manifests rendered from the
// checkout as the steps left it, stored as blobs. A manifest that does not render fails the run: a release
// that cannot be applied must not exist.
func (m *Manager) releaseContents(pl *pipeline.Pipeline, ws string, images []string) (*store.Release, error) {
	out := &store.Release{Images: images}
	for _, env := range pl.Environments {
		if env.Kubernetes == nil {
			continue
		}
		if m.cfg.RenderManifests == nil {
			return nil, fmt.Errorf("environment %s has target kubernetes, which this server cannot render", env.Name)
		}
		data, err := m.cfg.RenderManifests(ws, env.Kubernetes.Manifests)
		if err != nil {
			return nil, fmt.Errorf("environment %s: %w", env.Name, err)
		}
		digest, _, err := m.cfg.Artifacts.Put(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("environment %s: store manifests: %w", env.Name, err)
		}
		if out.Manifests == nil {
			out.Manifests = map[string]string{}
		}
		out.Manifests[env.Name] = digest
	}
	return out, nil
}

func (m *Manager) makeRelease(ctx context.Context, p *store.Project, r *store.Run, steps []*store.Step, pipelineFile []byte, fl *flags.Set, contents *store.Release) (*store.Release, error) {
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
	bundle, err := m.cfg.Artifacts.PutBundle(files, pipelineFile)
	if err != nil {
		return nil, err
	}
	unlock := m.LockMirror(p.Name)
	c, err := m.Mirror(ctx, p).Describe(ctx, r.Commit)
	unlock()
	if err != nil {
		return nil, err
	}
	rel := &store.Release{
		Project: p.Name, RunID: r.ID, Branch: r.Branch, Commit: r.Commit,
		Message: c.Message, Author: c.Author, CommitTime: c.Time.UTC(),
		Bundle: bundle, Pipeline: string(pipelineFile), Flags: string(flagsJSON), CreatedAt: time.Now().UTC(),
		Images: contents.Images, Manifests: contents.Manifests,
	}
	if err := m.store.CreateRelease(ctx, rel); err != nil {
		return nil, err
	}
	return rel, nil
}

func (m *Manager) cleanup(run int64) {
	if !m.cfg.KeepWorkspaces {
		os.RemoveAll(m.workspace(run))
	}
	os.RemoveAll(m.tempDir(run))
}

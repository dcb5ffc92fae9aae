package rollout

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/ferry-cd/ferry/internal/analysis"
	"github.com/ferry-cd/ferry/internal/deploy"
	"github.com/ferry-cd/ferry/internal/pipeline"
	"github.com/ferry-cd/ferry/internal/proxy"
	"github.com/ferry-cd/ferry/internal/store"
)

// AnalysisSubject names what an analysis looks at: an environment and the releases in it, as its target
// knows them. (Not a target: a target is where releases run.)
type AnalysisSubject struct {
	// Rollout is the rollout's ID.
	Rollout int64
	// Key is the environment.
	Key      store.EnvKey
	Listen   string
	New, Old string // release ids; Old is "" without a previous release
}

// Evaluation is an analysis verdict, a one-line summary, and the full result as JSON for the store.
type Evaluation struct {
	Verdict analysis.Verdict
	Summary string
	JSON    []byte
}

// AnalyzeFunc evaluates an environment's checks over the last span, with the new release in role newRole.
type AnalyzeFunc func(ctx context.Context, spec pipeline.Analysis, t AnalysisSubject, span time.Duration, newRole proxy.Role) Evaluation

// Controller drives every environment's rollouts. Create it with its fields set, then Run it.
type Controller struct {
	Store store.Store
	// Target runs the releases and moves their traffic; the controller never knows which implementation.
	Target  deploy.Target
	Analyze AnalyzeFunc
	Logger  *slog.Logger
	// Tick is how often the controller looks at every rollout; 100 ms when zero.
	Tick time.Duration
	// HealthTimeout bounds how long a new release may take to become healthy; 2 minutes when zero.
	HealthTimeout time.Duration
	// OnSucceeded is called after a rollout succeeded (the server promotes to the next environments).
	OnSucceeded func(ctx context.Context, r *store.Rollout)
	// OnEnded is called with every rollout that reached a final state, under the controller's lock.
	OnEnded func(r *store.Rollout)
	// OnSwitch is called when an environment's live release changed, under the controller's lock.
	OnSwitch func(project, env string)
	// IsAncestor reports whether commit a is an ancestor of, or the same as, commit b in the project's
	// repository. A release whose commit an environment's live or newer release contains is never deployed
	// there (rollbacks aside). Nil: only the same commit counts.
	IsAncestor func(ctx context.Context, project, a, b string) bool
	// Secrets opens the project secrets a release's service names (pipeline.Service.Secrets), for its
	// instances; a name the project has no secret for is left out of the answer. Nil: no project has any.
	Secrets func(ctx context.Context, project string, names []string) (map[string]string, error)

	once        sync.Once
	mu          sync.Mutex
	pipelines   map[int64]*pipeline.Pipeline // by release id
	lastEval    map[int64]time.Time          // by rollout id
	lastVerdict map[int64]analysis.Verdict
	after       []func() // run once the lock is released
	state       *deploy.Status
	lastRefusal map[store.EnvKey]string // so a refusal is logged once
	appliedEnvs map[store.EnvKey]desiredEnv
	routed      map[store.EnvKey]string  // what each environment was last routed with (routeKey)
	refusedAt   map[store.EnvKey]refusal // when the target last refused an environment, and its desired state then
	kick        chan struct{}
}

// MaxRestarts is how many restarts of a new release's instances count as a crash loop.
const MaxRestarts = 3

func (c *Controller) log() *slog.Logger {
	if c.Logger != nil {
		return c.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func (c *Controller) init() {
	c.once.Do(func() {
		c.kick = make(chan struct{}, 1)
		c.pipelines = map[int64]*pipeline.Pipeline{}
		c.lastEval = map[int64]time.Time{}
		c.lastVerdict = map[int64]analysis.Verdict{}
	})
}

// Wake makes the controller look at its rollouts now.
func (c *Controller) Wake() {
	c.init()
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// Run drives rollouts until ctx is done.
func (c *Controller) Run(ctx context.Context) {
	c.init()
	tick := c.Tick
	if tick <= 0 {
		tick = 100 * time.Millisecond
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		if err := c.Step(ctx); err != nil && ctx.Err() == nil {
			c.log().Error("rollout controller", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-c.kick:
		case <-t.C:
		}
	}
}

// Step looks at every rollout once: starts pending ones, advances or rolls back the others, then brings the
// target to the desired state the store now describes.
func (c *Controller) Step(ctx context.Context) error {
	c.mu.Lock()
	defer c.unlock()
	c.init()
	st, err := c.Target.Status(ctx)
	if err != nil {
		return fmt.Errorf("target status: %w", err)
	}
	c.state = st
	active, err := c.Store.RolloutsInState(ctx, store.RolloutPending, store.RolloutProgressing, store.RolloutPaused)
	if err != nil {
		return err
	}
	busy := map[store.EnvKey]bool{}
	for _, r := range active {
		if r.State != store.RolloutPending {
			busy[r.Key()] = true
		}
	}
	// One rollout's error is logged and the others go on: an environment never waits on another.
	var errs []error
	for _, r := range active {
		key := r.Key()
		if r.State == store.RolloutPending {
			if busy[key] {
				continue
			}
			busy[key] = true
			if err := c.start(ctx, r); err != nil {
				errs = append(errs, fmt.Errorf("start rollout %d of %s: %w", r.ID, key, err))
			}
			continue
		}
		if err := c.advance(ctx, r); err != nil {
			errs = append(errs, fmt.Errorf("rollout %d of %s: %w", r.ID, key, err))
		}
	}
	return errors.Join(append(errs, c.apply(ctx))...)
}

// record writes a transition of r, then the caller acts on it.
func (c *Controller) record(ctx context.Context, r *store.Rollout, to store.RolloutState, reason string) error {
	if !CanTransition(r.State, to) {
		return &ErrTransition{From: r.State, To: to}
	}
	now := time.Now().UTC()
	r.State, r.Reason, r.UpdatedAt = to, reason, now
	if to.Done() {
		r.FinishedAt = now
	}
	if err := c.Store.UpdateRollout(ctx, r, store.RolloutEvent{Time: now, State: to, Step: r.Step, Weight: r.Weight, Reason: reason}); err != nil {
		return fmt.Errorf("record rollout %d: %w", r.ID, err)
	}
	if to.Done() && c.OnEnded != nil {
		c.OnEnded(r)
	}
	c.log().Info("rollout", "project", r.Project, "env", r.Env, "rollout", r.ID, "release", c.version(ctx, r.ReleaseID), "release_id", r.ReleaseID, "state", to, "step", r.Step, "weight", r.Weight, "reason", reason)
	return nil
}

// maxCachedPipelines bounds the parsed pipelines kept by release id.
const maxCachedPipelines = 64

func (c *Controller) pipelineOf(ctx context.Context, releaseID int64) (*pipeline.Pipeline, *store.Release, error) {
	rel, err := c.Store.GetRelease(ctx, releaseID)
	if err != nil {
		return nil, nil, err
	}
	if pl, ok := c.pipelines[releaseID]; ok {
		return pl, rel, nil
	}
	pl, err := pipeline.Parse(pipeline.FileName, []byte(rel.Pipeline))
	if err != nil {
		return nil, nil, fmt.Errorf("release %d: %w", releaseID, err)
	}
	if len(c.pipelines) >= maxCachedPipelines {
		clear(c.pipelines) // parsed again on demand: the cache must not grow with every release ever made
	}
	c.pipelines[releaseID] = pl
	return pl, rel, nil
}

func (c *Controller) envSpec(ctx context.Context, r *store.Rollout) (*pipeline.Environment, error) {
	pl, _, err := c.pipelineOf(ctx, r.ReleaseID)
	if err != nil {
		return nil, err
	}
	env := pl.Environment(r.Env)
	if env == nil {
		return nil, fmt.Errorf("%s has no environment %s", c.name(ctx, r.ReleaseID), r.Env)
	}
	return env, nil
}

// start begins a pending rollout: the same step's apply prepares the new release beside the live one.
func (c *Controller) start(ctx context.Context, r *store.Rollout) error {
	env, err := c.envSpec(ctx, r)
	if err != nil {
		return c.record(ctx, r, store.RolloutAborted, err.Error())
	}
	if why, err := c.outdated(ctx, r); err != nil {
		return err
	} else if why != "" {
		return c.record(ctx, r, store.RolloutSuperseded, why)
	}
	if _, err := c.secrets(ctx, r.Project, r.ReleaseID, env); err != nil {
		if m := asMissing(err); m != nil {
			return c.record(ctx, r, store.RolloutFailed, m.Error())
		}
		return err
	}
	live := int64(0)
	if e, err := c.Store.GetEnvironment(ctx, r.Project, r.Env); err == nil {
		live = e.LiveReleaseID
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	r.FromReleaseID = live
	r.Step, r.Weight, r.Failures, r.Baking = 0, 0, 0, false
	if kind(r, env) == pipeline.Canary {
		r.Steps = len(env.Strategy.Steps)
	} else {
		r.Steps = 1
	}
	r.StepSince = time.Now().UTC()
	return c.record(ctx, r, store.RolloutProgressing, fmt.Sprintf("starting %d instance(s) of %s", env.Service.Instances, c.name(ctx, r.ReleaseID)))
}

// releaseStatus finds a release of an environment in the target's last status.
func (c *Controller) releaseStatus(env store.EnvKey, id int64) *deploy.ReleaseStatus {
	return c.state.Env(env).Release(releaseName(id))
}

// releaseName is a release's id as targets name it.
func releaseName(id int64) string { return strconv.FormatInt(id, 10) }

// recordedStrategy is how a rollout's record names its environment's strategy: by the name .ferry.yaml uses.
func recordedStrategy(k pipeline.StrategyKind) store.RolloutStrategy {
	return store.RolloutStrategy(k.String())
}

// kind is the strategy a rollout follows: the environment's, except for rollbacks (direct).
func kind(r *store.Rollout, env *pipeline.Environment) pipeline.StrategyKind {
	if r.Strategy == store.StrategyRollback {
		return pipeline.Direct
	}
	return env.Strategy.Kind
}

// advance moves a progressing or paused rollout one decision further.
func (c *Controller) advance(ctx context.Context, r *store.Rollout) error {
	env, err := c.envSpec(ctx, r)
	if err != nil {
		return c.rollback(ctx, r, store.RolloutAborted, err.Error())
	}
	now := time.Now()
	if r.Step == 0 {
		return c.waitHealthy(ctx, r, env, now)
	}
	if r.Step > r.Steps && !r.Baking {
		// The switch to the new release was applied at the end of the last tick: now it has succeeded.
		return c.succeed(ctx, r, c.name(ctx, r.ReleaseID)+" is live")
	}

	// Analysis every interval, from the first step on, through the bake.
	if len(env.Analysis.Checks) > 0 && now.Sub(c.lastEval[r.ID]) >= env.Analysis.Interval && c.Analyze != nil {
		c.lastEval[r.ID] = now
		role := proxy.Canary
		if r.Baking || kind(r, env) == pipeline.Direct {
			role = proxy.Stable
		}
		span := min(env.Analysis.Interval, now.Sub(r.StepSince))
		ev := c.Analyze(ctx, env.Analysis, c.analysisSubject(r, env), max(span, time.Second), role)
		// A blue-green preview has no traffic yet: only its synthetic and Prometheus checks can speak.
		if ev.Verdict == analysis.Inconclusive && kind(r, env) == pipeline.BlueGreen && !r.Baking {
			ev.Verdict = analysis.Pass
		}
		switch ev.Verdict {
		case analysis.Inconclusive:
			switch env.Analysis.OnInconclusive {
			case pipeline.InconclusivePromote:
				ev.Verdict = analysis.Pass
			case pipeline.InconclusiveRollback:
				ev.Verdict = analysis.Fail
			}
		}
		c.lastVerdict[r.ID] = ev.Verdict
		r.Analysis = ev.JSON
		if ev.Verdict != analysis.Fail {
			// Kept for status and the dashboard, which can do without it; a failure is recorded with its event
			// below.
			if err := c.Store.SetRolloutAnalysis(ctx, r.ID, r.Analysis); err != nil {
				c.log().Warn("keep the latest analysis", "project", r.Project, "env", r.Env, "rollout", r.ID, "err", err)
			}
		}
		if ev.Verdict == analysis.Fail {
			r.Failures++
			if r.Failures > env.Analysis.FailureLimit {
				return c.rollback(ctx, r, store.RolloutRolledBack, "analysis failed: "+ev.Summary)
			}
			if err := c.record(ctx, r, r.State, fmt.Sprintf("analysis failed (%d of %d allowed): %s", r.Failures, env.Analysis.FailureLimit, ev.Summary)); err != nil {
				return err
			}
		}
	}
	if r.State == store.RolloutPaused {
		return nil
	}
	if r.Baking {
		if now.Sub(r.StepSince) >= env.Bake {
			return c.succeed(ctx, r, fmt.Sprintf("baked %s on %s", env.Bake, c.name(ctx, r.ReleaseID)))
		}
		return nil
	}
	// Move on once the step's pause is over and the analysis, if any, has passed since the step began.
	pause := time.Duration(0)
	if kind(r, env) == pipeline.Canary && r.Step <= len(env.Strategy.Steps) {
		pause = env.Strategy.Steps[r.Step-1].Pause
	}
	if now.Sub(r.StepSince) < pause {
		return nil
	}
	if len(env.Analysis.Checks) > 0 && (c.lastVerdict[r.ID] != analysis.Pass || c.lastEval[r.ID].Before(r.StepSince)) {
		return nil
	}
	if kind(r, env) == pipeline.Canary && r.Step < len(env.Strategy.Steps) {
		r.Step++
		r.Weight = env.Strategy.Steps[r.Step-1].Weight
		r.StepSince = now.UTC()
		delete(c.lastVerdict, r.ID)
		return c.record(ctx, r, store.RolloutProgressing, fmt.Sprintf("step %d of %d: %d%% of traffic on %s", r.Step, r.Steps, r.Weight, c.name(ctx, r.ReleaseID)))
	}
	return c.switchAll(ctx, r, env, "all traffic on "+c.name(ctx, r.ReleaseID))
}

// waitHealthy waits for the new release's instances; it fails the rollout on a crash loop, a release the target
// says cannot run, or a timeout.
func (c *Controller) waitHealthy(ctx context.Context, r *store.Rollout, env *pipeline.Environment, now time.Time) error {
	rs := c.releaseStatus(r.Key(), r.ReleaseID)
	if rs != nil && rs.Healthy {
		r.StepSince = now.UTC()
		switch {
		case r.FromReleaseID == 0 || kind(r, env) == pipeline.Direct:
			// Nothing to compare with, or nothing asked for: switch at once.
			return c.switchAll(ctx, r, env, c.name(ctx, r.ReleaseID)+" healthy; all traffic on it")
		case kind(r, env) == pipeline.BlueGreen:
			r.Step, r.Weight = 1, 0
			return c.record(ctx, r, store.RolloutProgressing, c.name(ctx, r.ReleaseID)+" healthy; preview through X-Ferry-Version: canary")
		default:
			r.Step, r.Weight = 1, env.Strategy.Steps[0].Weight
			return c.record(ctx, r, store.RolloutProgressing, fmt.Sprintf("%s healthy; step 1 of %d: %d%% of traffic", c.name(ctx, r.ReleaseID), r.Steps, r.Weight))
		}
	}
	restarts, why := 0, ""
	if rs != nil {
		restarts = rs.Restarts
		if w := rs.Why(); w != "" {
			why = ": " + w
		} else if rs.Reason != "" {
			why = ": " + rs.Reason // the target's own words: a pod the cluster cannot schedule, say
		}
	}
	timeout := c.HealthTimeout
	if timeout <= 0 {
		timeout = 2 * time.Minute
	}
	switch {
	case rs != nil && rs.Failed:
		return c.rollback(ctx, r, store.RolloutFailed, fmt.Sprintf("%s cannot run: %s; it got no traffic", c.name(ctx, r.ReleaseID), rs.Reason))
	case restarts > MaxRestarts:
		return c.rollback(ctx, r, store.RolloutFailed, fmt.Sprintf("%s is crash-looping (%d restarts)%s; it got no traffic", c.name(ctx, r.ReleaseID), restarts, why))
	case now.Sub(r.StepSince) > timeout:
		return c.rollback(ctx, r, store.RolloutFailed, fmt.Sprintf("%s did not become healthy within %s%s; it got no traffic", c.name(ctx, r.ReleaseID), timeout, why))
	}
	return nil
}

// switchAll puts all traffic on the new release. With a bake the previous release stays warm and analysis
// goes on; without one the rollout has succeeded.
func (c *Controller) switchAll(ctx context.Context, r *store.Rollout, env *pipeline.Environment, reason string) error {
	e := &store.Environment{Project: r.Project, Name: r.Env, LiveReleaseID: r.ReleaseID, PreviousReleaseID: r.FromReleaseID}
	// Past the last step: the rollout succeeds at the next tick, once the switch is applied (or the bake ends).
	r.Step = r.Steps + 1
	r.Weight, r.StepSince = 100, time.Now().UTC()
	delete(c.lastVerdict, r.ID)
	if env.Bake > 0 && r.FromReleaseID != 0 && r.Strategy != store.StrategyRollback {
		r.Baking = true
		reason += fmt.Sprintf("; baking %s with %s kept warm", env.Bake, c.name(ctx, r.FromReleaseID))
	}
	if err := c.record(ctx, r, store.RolloutProgressing, reason); err != nil {
		return err
	}
	if err := c.Store.PutEnvironment(ctx, e); err != nil {
		return err
	}
	c.switched(r.Project, r.Env)
	return nil
}

// switched tells OnSwitch that an environment's live release changed.
func (c *Controller) switched(project, env string) {
	if c.OnSwitch != nil {
		c.OnSwitch(project, env)
	}
}

func (c *Controller) succeed(ctx context.Context, r *store.Rollout, reason string) error {
	r.Baking = false
	if err := c.record(ctx, r, store.RolloutSucceeded, reason); err != nil {
		return err
	}
	c.forget(r.ID)
	if c.OnSucceeded != nil {
		// The callback queues more rollouts, which takes the lock this caller holds: run it after.
		done := *r
		c.after = append(c.after, func() { c.OnSucceeded(context.WithoutCancel(ctx), &done) })
	}
	return nil
}

// unlock releases the controller's lock, then runs what had to wait for it.
func (c *Controller) unlock() {
	after := c.after
	c.after = nil
	c.mu.Unlock()
	for _, f := range after {
		f()
	}
}

// rollback ends a rollout with all traffic back on the release that was live before it.
func (c *Controller) rollback(ctx context.Context, r *store.Rollout, to store.RolloutState, reason string) error {
	wasLive := r.Baking || r.Step > r.Steps
	r.Weight, r.Baking = 0, false
	if err := c.record(ctx, r, to, reason); err != nil {
		return err
	}
	c.forget(r.ID)
	if wasLive && r.FromReleaseID != 0 {
		if err := c.Store.PutEnvironment(ctx, &store.Environment{Project: r.Project, Name: r.Env, LiveReleaseID: r.FromReleaseID, PreviousReleaseID: r.ReleaseID}); err != nil {
			return err
		}
		c.switched(r.Project, r.Env)
	}
	return nil
}

func (c *Controller) forget(id int64) {
	delete(c.lastEval, id)
	delete(c.lastVerdict, id)
}

func (c *Controller) analysisSubject(r *store.Rollout, env *pipeline.Environment) AnalysisSubject {
	t := AnalysisSubject{Rollout: r.ID, Key: r.Key(), Listen: env.Service.Listen, New: strconv.FormatInt(r.ReleaseID, 10)}
	if r.FromReleaseID != 0 {
		t.Old = strconv.FormatInt(r.FromReleaseID, 10)
	}
	return t
}

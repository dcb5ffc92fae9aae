package flagruntime

import (
	"context"
	"fmt"
	"time"

	"github.com/ferry-cd/ferry/internal/analysis"
	"github.com/ferry-cd/ferry/internal/flags"
	"github.com/ferry-cd/ferry/internal/pipeline"
	"github.com/ferry-cd/ferry/internal/store"
)

// Flag rollouts. A flag that declares `progressive:` gives its variant to a growing share of the users no rule
// picked, one step per interval, while the environment's analysis passes; a failed analysis takes the share
// back to 0, the split the flag had before, and records why. A flag rollout belongs to the spec that declared
// it: a later release declaring the same spec carries it on, one declaring another spec starts a new one.

// Run drives every environment's flag rollouts, once per Tick, until ctx is done.
func (r *Runtime) Run(ctx context.Context) {
	tick := r.Tick
	if tick <= 0 {
		tick = defaultTick
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	lastEval := map[int64]time.Time{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := r.driveFlagRollouts(ctx, lastEval); err != nil && ctx.Err() == nil {
			r.log().Error("flag rollouts", "err", err)
		}
	}
}

// driveFlagRollouts takes one step in every environment with a live release. lastEval holds when each flag
// rollout was last analysed, by flag rollout ID.
func (r *Runtime) driveFlagRollouts(ctx context.Context, lastEval map[int64]time.Time) error {
	projects, err := r.Store.ListProjects(ctx)
	if err != nil {
		return err
	}
	for _, p := range projects {
		envs, err := r.Store.ListEnvironments(ctx, p.Name)
		if err != nil {
			return err
		}
		for _, e := range envs {
			if e.LiveReleaseID == 0 {
				continue
			}
			if err := r.driveEnvironment(ctx, p.Name, e.Name, lastEval); err != nil {
				r.log().Error("flag rollouts", "project", p.Name, "env", e.Name, "err", err)
			}
		}
	}
	return nil
}

// flagRolloutPlan is what a flag's flag rollout needs when the live release is looked at.
type flagRolloutPlan struct {
	// Supersede ends the latest flag rollout, which the live release no longer declares, with Reason.
	Supersede bool
	Reason    string
	// Start begins a new flag rollout at the first step of the declared spec.
	Start bool
	// Drive lets the latest flag rollout go on: it is the declared spec's and not finished.
	Drive bool
}

// planFlagRollout compares a flag's latest flag rollout (nil: none) with what the live release declares (nil:
// no progressive rollout; spec is its text).
func planFlagRollout(latest *store.FlagRollout, declared *flags.Progressive, spec string, release int64) flagRolloutPlan {
	var p flagRolloutPlan
	running := latest != nil && !latest.State.Done()
	switch {
	case declared == nil && running:
		p.Supersede, p.Reason = true, fmt.Sprintf("release %d declares no progressive rollout of this flag", release)
	case declared == nil:
	case latest == nil:
		p.Start = true
	case latest.Spec != spec:
		p.Start = true
		if running {
			p.Supersede, p.Reason = true, fmt.Sprintf("release %d declares %s", release, spec)
		}
	case running:
		p.Drive = true
	}
	return p
}

// newFlagRollout is a flag's flag rollout at the first step of p.
func newFlagRollout(project, env, key string, release int64, p flags.Progressive, now time.Time) store.FlagRollout {
	reason := fmt.Sprintf("step 1 of %d: %s of %s", len(p.Steps), percent(p.Steps[0]), p.Variant)
	if p.Experiment {
		reason = fmt.Sprintf("experiment: %s of %s", percent(p.Steps[0]), p.Variant)
	}
	return store.FlagRollout{Project: project, Env: env, Flag: key, ReleaseID: release, Variant: p.Variant,
		Spec: ProgressiveSpec(p), Step: 1, Steps: len(p.Steps), Share: p.Steps[0], State: store.FlagProgressing,
		Reason: reason, StepSince: now, CreatedAt: now}
}

// advanceFlagRollout is a running flag rollout's next state given the analysis verdict of this tick ("" when
// none was due; Pass when the environment has no checks). A failure reverts at once, with why; a step ends
// after its interval on a passing analysis; after the last step the flag rollout succeeds. An experiment
// never advances: it holds its split until it fails or a release declares something else. It returns fr
// unchanged and false when nothing happens.
func advanceFlagRollout(fr store.FlagRollout, p flags.Progressive, verdict analysis.Verdict, why string, now time.Time) (store.FlagRollout, bool) {
	switch {
	case verdict == analysis.Fail:
		fr.State, fr.Share, fr.FinishedAt, fr.Reason = store.FlagReverted, 0, now, "analysis failed: "+why
	case p.Experiment || verdict != analysis.Pass || now.Sub(fr.StepSince) < p.Interval:
		return fr, false
	case fr.Step >= fr.Steps:
		fr.State, fr.FinishedAt = store.FlagSucceeded, now
		fr.Reason = fmt.Sprintf("%s has %s of %s", p.Variant, percent(fr.Share), fr.Flag)
	default:
		fr.Step++
		fr.Share, fr.StepSince = p.Steps[fr.Step-1], now
		fr.Reason = fmt.Sprintf("step %d of %d: %s of %s", fr.Step, fr.Steps, percent(fr.Share), p.Variant)
	}
	return fr, true
}

// driveEnvironment starts, advances, completes, reverts or supersedes the flag rollouts of one environment.
func (r *Runtime) driveEnvironment(ctx context.Context, project, env string, lastEval map[int64]time.Time) error {
	l, err := r.Live(ctx, project, env)
	if err != nil {
		return err
	}
	changed := false
	defer func() {
		if changed {
			r.Invalidate(project, env)
		}
	}()
	// Every flag the live release declares progressive, and every flag with a flag rollout.
	keys := map[string]*flags.Progressive{}
	for key := range l.FlagRollouts {
		keys[key] = nil
	}
	for _, key := range l.Set.Keys() {
		f, _ := l.Set.Flag(key)
		if p, ok := f.Progressive(); ok {
			keys[key] = &p
		}
	}
	var spec *pipeline.Environment
	for key, declared := range keys {
		latest := l.FlagRollouts[key]
		want := ""
		if declared != nil {
			want = ProgressiveSpec(*declared)
		}
		plan := planFlagRollout(latest, declared, want, l.Release)
		now := r.now().UTC()
		if plan.Supersede {
			fr := *latest
			fr.State, fr.FinishedAt, fr.Reason = store.FlagSuperseded, now, plan.Reason
			if err := r.recordFlagRollout(ctx, &fr); err != nil {
				return err
			}
			changed = true
		}
		if plan.Start {
			fr := newFlagRollout(project, env, key, l.Release, *declared, now)
			if err := r.Store.CreateFlagRollout(ctx, &fr); err != nil {
				return err
			}
			r.log().Info("flag rollout", "project", project, "env", env, "flag", key, "release", l.ReleaseVersion, "release_id", l.Release, "state", fr.State, "share", fr.Share)
			changed = true
		}
		if !plan.Drive {
			continue
		}
		if spec == nil {
			if spec, err = r.environmentSpec(ctx, l.Release, env); err != nil {
				return err
			}
		}
		f, _ := l.Set.Flag(key)
		subject := VariantSubject{Flag: key, Variant: declared.Variant, Control: f.Default()}
		verdict, why := r.verdict(ctx, project, env, l.Release, spec, subject, latest, lastEval)
		fr, ok := advanceFlagRollout(*latest, *declared, verdict, why, now)
		if !ok {
			continue
		}
		if err := r.recordFlagRollout(ctx, &fr); err != nil {
			return err
		}
		changed = true
		if fr.State == store.FlagReverted && r.OnReverted != nil {
			r.OnReverted(context.WithoutCancel(ctx), &fr)
		}
	}
	return nil
}

// verdict is this tick's analysis of a running flag rollout: Pass when the environment declares no checks, ""
// when none is due (one per analysis interval), and an inconclusive analysis counts as a pass when the
// environment says so.
func (r *Runtime) verdict(ctx context.Context, project, env string, release int64, spec *pipeline.Environment,
	subject VariantSubject, fr *store.FlagRollout, lastEval map[int64]time.Time) (analysis.Verdict, string) {
	if len(spec.Analysis.Checks) == 0 {
		return analysis.Pass, ""
	}
	if r.since(lastEval[fr.ID]) < spec.Analysis.Interval || r.Analyze == nil {
		return "", ""
	}
	lastEval[fr.ID] = r.now()
	span := max(min(spec.Analysis.Interval, r.since(fr.StepSince)), time.Second)
	verdict, why := r.Analyze(ctx, AnalysisRequest{Key: store.EnvKey{Project: project, Env: env}, Release: release,
		Listen: spec.Service.Listen, Analysis: spec.Analysis, Span: span, Subject: subject})
	if verdict == analysis.Inconclusive && spec.Analysis.OnInconclusive == pipeline.InconclusivePromote {
		verdict = analysis.Pass
	}
	return verdict, why
}

// recordFlagRollout writes a flag rollout's transition, with its event.
func (r *Runtime) recordFlagRollout(ctx context.Context, fr *store.FlagRollout) error {
	fr.UpdatedAt = time.Time{}
	err := r.Store.UpdateFlagRollout(ctx, fr, store.FlagRolloutEvent{State: fr.State, Step: fr.Step, Share: fr.Share, Reason: fr.Reason})
	if err == nil {
		r.log().Info("flag rollout", "project", fr.Project, "env", fr.Env, "flag", fr.Flag, "state", fr.State, "step", fr.Step, "share", fr.Share, "reason", fr.Reason)
	}
	return err
}

// environmentSpec is the environment as the release's pipeline file declares it.
func (r *Runtime) environmentSpec(ctx context.Context, release int64, env string) (*pipeline.Environment, error) {
	rel, err := r.Store.GetRelease(ctx, release)
	if err != nil {
		return nil, err
	}
	pl, err := pipeline.Parse(pipeline.FileName, []byte(rel.Pipeline))
	if err != nil {
		return nil, fmt.Errorf("release %d: %w", release, err)
	}
	e := pl.Environment(env)
	if e == nil {
		return nil, fmt.Errorf("release %d has no environment %s", release, env)
	}
	return e, nil
}

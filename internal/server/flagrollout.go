package server

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ferry-cd/ferry/internal/analysis"
	"github.com/ferry-cd/ferry/internal/flags"
	"github.com/ferry-cd/ferry/internal/notify"
	"github.com/ferry-cd/ferry/internal/pipeline"
	"github.com/ferry-cd/ferry/internal/proxy"
	"github.com/ferry-cd/ferry/internal/rollout"
	"github.com/ferry-cd/ferry/internal/store"
)

// Progressive flag rollouts. A flag that declares `progressive:` gives its variant to a growing share of the
// users no rule picked, one step per interval, while the environment's analysis passes; a failed analysis
// takes the share back to 0, the split the flag had before, and records why. A rollout belongs to the spec
// that declared it: a later release declaring the same spec carries it on, one declaring another spec starts
// a new one.

// flagTick is how often flag rollouts are looked at.
const flagTick = 250 * time.Millisecond

// flagLoop drives every environment's progressive flag rollouts until the server stops.
func (s *Server) flagLoop() {
	t := time.NewTicker(flagTick)
	defer t.Stop()
	lastEval := map[int64]time.Time{}
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		}
		if err := s.flagRollouts(s.ctx, lastEval); err != nil && s.ctx.Err() == nil {
			s.log.Error("flag rollouts", "err", err)
		}
	}
}

func (s *Server) flagRollouts(ctx context.Context, lastEval map[int64]time.Time) error {
	projects, err := s.store.ListProjects(ctx)
	if err != nil {
		return err
	}
	for _, p := range projects {
		envs, err := s.store.ListEnvironments(ctx, p.Name)
		if err != nil {
			return err
		}
		for _, e := range envs {
			if e.LiveReleaseID == 0 {
				continue
			}
			if err := s.flagEnvironment(ctx, p.Name, e.Name, lastEval); err != nil {
				s.log.Error("flag rollouts", "project", p.Name, "env", e.Name, "err", err)
			}
		}
	}
	return nil
}

// flagPlan is what a flag's progressive rollout needs when the live release is looked at.
type flagPlan struct {
	// Supersede ends the latest rollout, which the live release no longer declares, with Reason.
	Supersede bool
	Reason    string
	// Start begins a new rollout at the first step of the declared spec.
	Start bool
	// Drive lets the latest rollout go on: it is the declared spec's and not finished.
	Drive bool
}

// planFlag compares a flag's latest rollout (nil: none) with what the live release declares (nil: no
// progressive rollout; spec is its text).
func planFlag(latest *store.FlagRollout, declared *flags.Progressive, spec string, release int64) flagPlan {
	var p flagPlan
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

// newFlagRollout is a flag's rollout at the first step of p.
func newFlagRollout(project, env, key string, release int64, p flags.Progressive, now time.Time) store.FlagRollout {
	return store.FlagRollout{Project: project, Env: env, Flag: key, ReleaseID: release, Variant: p.Variant,
		Spec: progressiveSpec(p), Step: 1, Steps: len(p.Steps), Share: p.Steps[0], State: store.FlagProgressing,
		Reason: fmt.Sprintf("step 1 of %d: %s of %s", len(p.Steps), percent(p.Steps[0]), p.Variant), StepSince: now, CreatedAt: now}
}

// advanceFlag is a running rollout's next state given the analysis verdict of this tick ("" when none was
// due; Pass when the environment has no checks). A failure reverts at once, with why; a step ends after its
// interval on a passing analysis; after the last step the rollout succeeds. It returns r unchanged and false
// when nothing happens.
func advanceFlag(r store.FlagRollout, p flags.Progressive, verdict analysis.Verdict, why string, now time.Time) (store.FlagRollout, bool) {
	switch {
	case verdict == analysis.Fail:
		r.State, r.Share, r.FinishedAt, r.Reason = store.FlagReverted, 0, now, "analysis failed: "+why
	case verdict != analysis.Pass || now.Sub(r.StepSince) < p.Interval:
		return r, false
	case r.Step >= r.Steps:
		r.State, r.FinishedAt = store.FlagSucceeded, now
		r.Reason = fmt.Sprintf("%s has %s of %s", p.Variant, percent(r.Share), r.Flag)
	default:
		r.Step++
		r.Share, r.StepSince = p.Steps[r.Step-1], now
		r.Reason = fmt.Sprintf("step %d of %d: %s of %s", r.Step, r.Steps, percent(r.Share), p.Variant)
	}
	return r, true
}

// flagEnvironment starts, advances, completes, reverts or supersedes the progressive rollouts of one
// environment.
func (s *Server) flagEnvironment(ctx context.Context, project, env string, lastEval map[int64]time.Time) error {
	l, err := s.liveFlags(ctx, project, env)
	if err != nil {
		return err
	}
	changed := false
	defer func() {
		if changed {
			s.invalidateFlags(project, env)
		}
	}()
	// Every flag the live release declares progressive, and every flag with a rollout.
	keys := map[string]*flags.Progressive{}
	for key := range l.rollouts {
		keys[key] = nil
	}
	for _, key := range l.set.Keys() {
		f, _ := l.set.Flag(key)
		if p, ok := f.Progressive(); ok {
			keys[key] = &p
		}
	}
	var spec *pipeline.Environment
	for key, declared := range keys {
		latest := l.rollouts[key]
		want := ""
		if declared != nil {
			want = progressiveSpec(*declared)
		}
		plan := planFlag(latest, declared, want, l.release)
		now := time.Now().UTC()
		if plan.Supersede {
			r := *latest
			r.State, r.FinishedAt, r.Reason = store.FlagSuperseded, now, plan.Reason
			if err := s.recordFlag(ctx, &r); err != nil {
				return err
			}
			changed = true
		}
		if plan.Start {
			r := newFlagRollout(project, env, key, l.release, *declared, now)
			if err := s.store.CreateFlagRollout(ctx, &r); err != nil {
				return err
			}
			s.log.Info("flag rollout", "project", project, "env", env, "flag", key, "release", l.release, "state", r.State, "share", r.Share)
			changed = true
		}
		if !plan.Drive {
			continue
		}
		if spec == nil {
			if spec, err = s.environmentSpec(ctx, l.release, env); err != nil {
				return err
			}
		}
		verdict, why := analysis.Pass, ""
		if len(spec.Analysis.Checks) > 0 {
			verdict = ""
			if time.Since(lastEval[latest.ID]) >= spec.Analysis.Interval {
				lastEval[latest.ID] = time.Now()
				span := max(min(spec.Analysis.Interval, time.Since(latest.StepSince)), time.Second)
				t := rollout.Target{Project: project, Env: env, Key: project + "/" + env, Listen: spec.Service.Listen,
					New: strconv.FormatInt(l.release, 10)}
				ev := s.analyze(ctx, spec.Analysis, t, span, proxy.Stable)
				verdict, why = analysis.Verdict(ev.Verdict), ev.Summary
				if verdict == analysis.Inconclusive && spec.Analysis.OnInconclusive == pipeline.InconclusivePromote {
					verdict = analysis.Pass
				}
			}
		}
		r, ok := advanceFlag(*latest, *declared, verdict, why, now)
		if !ok {
			continue
		}
		if err := s.recordFlag(ctx, &r); err != nil {
			return err
		}
		changed = true
		if r.State == store.FlagReverted {
			s.notifier.Notify(context.WithoutCancel(ctx), notify.Event{Event: "flag.reverted", Project: project,
				Text:    fmt.Sprintf("%s: flag %s back to its previous split: %s", env, key, r.Reason),
				Details: map[string]any{"env": env, "flag": key, "rollout": r.ID, "reason": r.Reason}})
		}
	}
	return nil
}

// recordFlag writes a flag rollout's transition, with its event.
func (s *Server) recordFlag(ctx context.Context, r *store.FlagRollout) error {
	r.UpdatedAt = time.Time{}
	err := s.store.UpdateFlagRollout(ctx, r, store.FlagRolloutEvent{State: r.State, Step: r.Step, Share: r.Share, Reason: r.Reason})
	if err == nil {
		s.log.Info("flag rollout", "project", r.Project, "env", r.Env, "flag", r.Flag, "state", r.State, "step", r.Step, "share", r.Share, "reason", r.Reason)
	}
	return err
}

// environmentSpec is the environment as the release's pipeline file declares it.
func (s *Server) environmentSpec(ctx context.Context, release int64, env string) (*pipeline.Environment, error) {
	rel, err := s.store.GetRelease(ctx, release)
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

// clearMatchedOverrides removes the overrides that the environment's new live release agrees with: once Git
// serves everyone the overridden variant, the override has done its work.
func (s *Server) clearMatchedOverrides(ctx context.Context, project, env string) {
	s.invalidateFlags(project, env)
	l, err := s.liveFlags(ctx, project, env)
	if err != nil {
		s.log.Error("flag overrides after a release", "project", project, "env", env, "err", err)
		return
	}
	for _, o := range l.overrides {
		if gitVariant(l.set, o.Flag) != o.Variant {
			continue
		}
		// Only the override as read: one set again meanwhile is a new decision and stays.
		if err := s.store.DeleteFlagOverrideIfUnchanged(ctx, o); err != nil {
			if !errors.Is(err, store.ErrNotFound) {
				s.log.Error("clear flag override", "project", project, "env", env, "flag", o.Flag, "err", err)
			}
			continue
		}
		e := &store.AuditEntry{Time: time.Now().UTC(), Actor: "ferry", Action: "flag.clear", Project: project,
			Target: env + "/" + o.Flag, Detail: fmt.Sprintf("release %d serves %s: the override of %s matches Git", l.release, o.Variant, o.Actor)}
		if err := s.store.AddAudit(ctx, e); err != nil {
			s.log.Error("record audit entry", "action", e.Action, "err", err)
		}
	}
	s.invalidateFlags(project, env)
}

// percent writes basis points as a percentage: 1000 is "10%", 1 is "0.01%".
func percent(bp int) string {
	return strings.TrimSuffix(strings.TrimRight(strconv.FormatFloat(float64(bp)/100, 'f', 2, 64), "0"), ".") + "%"
}

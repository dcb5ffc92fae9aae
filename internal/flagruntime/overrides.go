package flagruntime

import (
	"context"
	"errors"
	"fmt"

	"github.com/ferry-cd/ferry/internal/store"
)

// A NotLiveError says an override names a flag the environment's live release does not declare.
type NotLiveError struct {
	Flag    string
	Key     store.EnvKey // the environment
	Release int64        // the live release's version (v7)
}

func (e *NotLiveError) Error() string {
	return fmt.Sprintf("flag %s is not live in %s (live release v%d)", e.Flag, e.Key, e.Release)
}

// AuditTarget is how the audit log names a flag of an environment, "env/flag": the project has a column of
// its own.
func AuditTarget(env, flag string) string { return env + "/" + flag }

// CheckOverride reports whether variant may override the flag key in l's environment of project: a
// *NotLiveError when the live release does not declare the flag, the flag's own error when variant is not one
// of its variants.
func (l *LiveFlags) CheckOverride(project, env, key, variant string) error {
	if _, ok := l.Set.Flag(key); !ok {
		return &NotLiveError{Flag: key, Key: store.EnvKey{Project: project, Env: env}, Release: l.ReleaseVersion}
	}
	return l.Set.CheckOverride(key, variant)
}

// SetOverride stores o, which CheckOverride accepted against a fresh Load, and serves it at once.
func (r *Runtime) SetOverride(ctx context.Context, o *store.FlagOverride) error {
	if err := r.Store.SetFlagOverride(ctx, o); err != nil {
		return err
	}
	r.Invalidate(o.Project, o.Env)
	return nil
}

// ClearOverride removes the override of a flag (store.ErrNotFound when there is none) and serves what Git
// says at once.
func (r *Runtime) ClearOverride(ctx context.Context, project, env, flag string) error {
	if err := r.Store.DeleteFlagOverride(ctx, project, env, flag); err != nil {
		return err
	}
	r.Invalidate(project, env)
	return nil
}

// ClearMatchedOverrides removes the overrides that the environment's new live release agrees with: once Git
// serves everyone the overridden variant, the override has done its work. Each removal is audited as ferry's;
// failures are logged, never returned: the release is live whatever happens here.
func (r *Runtime) ClearMatchedOverrides(ctx context.Context, project, env string) {
	r.Invalidate(project, env)
	l, err := r.Live(ctx, project, env)
	if err != nil {
		r.log().Error("flag overrides after a release", "project", project, "env", env, "err", err)
		return
	}
	for _, o := range l.Overrides {
		if GitVariant(l.Set, o.Flag) != o.Variant {
			continue
		}
		// Only the override as read: one set again meanwhile is a new decision and stays.
		if err := r.Store.DeleteFlagOverrideIfUnchanged(ctx, o); err != nil {
			if !errors.Is(err, store.ErrNotFound) {
				r.log().Error("clear flag override", "project", project, "env", env, "flag", o.Flag, "err", err)
			}
			continue
		}
		e := &store.AuditEntry{Time: r.now().UTC(), Actor: "ferry", Action: "flag.clear", Project: project,
			Target: AuditTarget(env, o.Flag), Detail: fmt.Sprintf("release v%d serves %s: the override of %s matches Git", l.ReleaseVersion, o.Variant, o.Actor)}
		if err := r.Store.AddAudit(ctx, e); err != nil {
			r.log().Error("record audit entry", "action", e.Action, "err", err)
		}
	}
	r.Invalidate(project, env)
}

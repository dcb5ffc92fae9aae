package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/ferry-cd/ferry/internal/store"
)

// SetFlagOverride creates or replaces the override of o's flag; a zero o.Time is set to now, on o too. The
// project must exist (store.ErrNotFound).
func (db *DB) SetFlagOverride(ctx context.Context, o *store.FlagOverride) error {
	o.Time = orNow(o.Time, now())
	err := db.tx(ctx, func(tx *sql.Tx) error {
		if err := projectExists(ctx, tx, o.Project); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO flag_overrides (project, env, flag, variant, actor, time) VALUES (?, ?, ?, ?, ?, ?)
	ON CONFLICT (project, env, flag) DO UPDATE SET variant = excluded.variant, actor = excluded.actor, time = excluded.time`,
			o.Project, o.Env, o.Flag, o.Variant, o.Actor, nanos(o.Time))
		return err
	})
	if err != nil {
		return fmt.Errorf("override flag %s of %s/%s: %w", o.Flag, o.Project, o.Env, err)
	}
	return nil
}

// DeleteFlagOverride removes the override; store.ErrNotFound when there is none.
func (db *DB) DeleteFlagOverride(ctx context.Context, project, env, flag string) error {
	err := checkAffected(db.db.ExecContext(ctx, "DELETE FROM flag_overrides WHERE project = ? AND env = ? AND flag = ?", project, env, flag))
	if err != nil {
		return fmt.Errorf("clear override of flag %s of %s/%s: %w", flag, project, env, err)
	}
	return nil
}

// DeleteFlagOverrideIfUnchanged removes o only while its variant, actor and time are as given; store.ErrNotFound
// otherwise.
func (db *DB) DeleteFlagOverrideIfUnchanged(ctx context.Context, o store.FlagOverride) error {
	err := checkAffected(db.db.ExecContext(ctx, `DELETE FROM flag_overrides
	WHERE project = ? AND env = ? AND flag = ? AND variant = ? AND actor = ? AND time = ?`,
		o.Project, o.Env, o.Flag, o.Variant, o.Actor, nanos(o.Time)))
	if err != nil {
		return fmt.Errorf("clear override of flag %s of %s/%s: %w", o.Flag, o.Project, o.Env, err)
	}
	return nil
}

// FlagOverrides returns the environment's overrides ordered by flag.
func (db *DB) FlagOverrides(ctx context.Context, project, env string) ([]store.FlagOverride, error) {
	os, err := list(ctx, db.db, func(row rowScanner) (store.FlagOverride, error) {
		var (
			o  store.FlagOverride
			tm sql.NullInt64
		)
		err := row.Scan(&o.Project, &o.Env, &o.Flag, &o.Variant, &o.Actor, &tm)
		o.Time = fromNanos(tm)
		return o, err
	}, "SELECT project, env, flag, variant, actor, time FROM flag_overrides WHERE project = ? AND env = ? ORDER BY flag", project, env)
	if err != nil {
		return nil, fmt.Errorf("list flag overrides of %s/%s: %w", project, env, err)
	}
	return os, nil
}

const flagRolloutColumns = `id, project, env, flag, release_id, variant, spec, step, steps, share, state, reason, step_since,
	created_at, updated_at, finished_at`

// CreateFlagRollout stores r with a new ID, set on r, and records its first event at r.CreatedAt. Zero
// CreatedAt and UpdatedAt are set to now, on r too. The project must exist (store.ErrNotFound).
func (db *DB) CreateFlagRollout(ctx context.Context, r *store.FlagRollout) error {
	n := now()
	r.CreatedAt, r.UpdatedAt = orNow(r.CreatedAt, n), orNow(r.UpdatedAt, n)
	err := db.tx(ctx, func(tx *sql.Tx) error {
		if err := projectExists(ctx, tx, r.Project); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, "INSERT INTO flag_rollouts ("+flagRolloutColumns+`)
	VALUES (NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, r.Project, r.Env, r.Flag, r.ReleaseID, r.Variant, r.Spec, r.Step,
			r.Steps, r.Share, string(r.State), r.Reason, nanos(r.StepSince), nanos(r.CreatedAt), nanos(r.UpdatedAt),
			nanos(r.FinishedAt))
		if err != nil {
			return err
		}
		if r.ID, err = res.LastInsertId(); err != nil {
			return err
		}
		return insertFlagEvent(ctx, tx, r.ID, store.FlagRolloutEvent{Time: r.CreatedAt, State: r.State, Step: r.Step,
			Share: r.Share, Reason: r.Reason})
	})
	if err != nil {
		return fmt.Errorf("create rollout of flag %s in %s/%s: %w", r.Flag, r.Project, r.Env, err)
	}
	return nil
}

// UpdateFlagRollout writes r's changing fields and appends ev in one transaction; a zero r.UpdatedAt or ev.Time
// is now. store.ErrNotFound if the flag rollout does not exist, and then nothing is written.
func (db *DB) UpdateFlagRollout(ctx context.Context, r *store.FlagRollout, ev store.FlagRolloutEvent) error {
	n := now()
	r.UpdatedAt, ev.Time = orNow(r.UpdatedAt, n), orNow(ev.Time, n)
	err := db.tx(ctx, func(tx *sql.Tx) error {
		err := checkAffected(tx.ExecContext(ctx, `UPDATE flag_rollouts SET step = ?, steps = ?, share = ?, state = ?,
	reason = ?, step_since = ?, updated_at = ?, finished_at = ? WHERE id = ?`, r.Step, r.Steps, r.Share, string(r.State),
			r.Reason, nanos(r.StepSince), nanos(r.UpdatedAt), nanos(r.FinishedAt), r.ID))
		if err != nil {
			return err
		}
		return insertFlagEvent(ctx, tx, r.ID, ev)
	})
	if err != nil {
		return fmt.Errorf("update flag rollout %d: %w", r.ID, err)
	}
	return nil
}

func insertFlagEvent(ctx context.Context, tx *sql.Tx, id int64, ev store.FlagRolloutEvent) error {
	_, err := tx.ExecContext(ctx, "INSERT INTO flag_rollout_events (rollout_id, time, state, step, share, reason) VALUES (?, ?, ?, ?, ?, ?)",
		id, nanos(ev.Time), string(ev.State), ev.Step, ev.Share, ev.Reason)
	return err
}

// FlagRollouts returns the environment's flag rollouts, newest first; limit 0 means all.
func (db *DB) FlagRollouts(ctx context.Context, project, env string, limit int) ([]*store.FlagRollout, error) {
	if limit <= 0 {
		limit = -1
	}
	rs, err := list(ctx, db.db, scanFlagRollout,
		"SELECT "+flagRolloutColumns+" FROM flag_rollouts WHERE project = ? AND env = ? ORDER BY id DESC LIMIT ?", project, env, limit)
	if err != nil {
		return nil, fmt.Errorf("list flag rollouts of %s/%s: %w", project, env, err)
	}
	return rs, nil
}

// LatestFlagRollouts returns the newest flag rollout of each flag of the environment, ordered by flag.
func (db *DB) LatestFlagRollouts(ctx context.Context, project, env string) ([]*store.FlagRollout, error) {
	rs, err := list(ctx, db.db, scanFlagRollout, "SELECT "+flagRolloutColumns+` FROM flag_rollouts WHERE id IN
	(SELECT MAX(id) FROM flag_rollouts WHERE project = ? AND env = ? GROUP BY flag) ORDER BY flag`, project, env)
	if err != nil {
		return nil, fmt.Errorf("list latest flag rollouts of %s/%s: %w", project, env, err)
	}
	return rs, nil
}

func scanFlagRollout(row rowScanner) (*store.FlagRollout, error) {
	var (
		r                                     store.FlagRollout
		stepSince, created, updated, finished sql.NullInt64
	)
	err := row.Scan(&r.ID, &r.Project, &r.Env, &r.Flag, &r.ReleaseID, &r.Variant, &r.Spec, &r.Step, &r.Steps, &r.Share,
		&r.State, &r.Reason, &stepSince, &created, &updated, &finished)
	r.StepSince, r.CreatedAt, r.UpdatedAt, r.FinishedAt = fromNanos(stepSince), fromNanos(created), fromNanos(updated), fromNanos(finished)
	return &r, err
}

// FlagRolloutEvents returns the flag rollout's events, oldest first; none for an unknown one.
func (db *DB) FlagRolloutEvents(ctx context.Context, id int64) ([]store.FlagRolloutEvent, error) {
	evs, err := list(ctx, db.db, func(row rowScanner) (store.FlagRolloutEvent, error) {
		var (
			ev store.FlagRolloutEvent
			tm sql.NullInt64
		)
		err := row.Scan(&tm, &ev.State, &ev.Step, &ev.Share, &ev.Reason)
		ev.Time = fromNanos(tm)
		return ev, err
	}, "SELECT time, state, step, share, reason FROM flag_rollout_events WHERE rollout_id = ? ORDER BY id", id)
	if err != nil {
		return nil, fmt.Errorf("list events of flag rollout %d: %w", id, err)
	}
	return evs, nil
}

package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/ferry-cd/ferry/internal/store"
)

const rolloutColumns = `id, project, env, release_id, from_release_id, strategy, state, step, steps, weight, baking,
	failures, reason, analysis, step_since, created_at, updated_at, finished_at`

const eventColumns = "rollout_id, time, state, step, weight, reason"

// CreateRollout stores r with a new ID, set on r, and records its first event: r's State, Step, Weight and
// Reason at r.CreatedAt. A zero CreatedAt or UpdatedAt is set to now, on r too. The project must exist
// (store.ErrNotFound).
func (db *DB) CreateRollout(ctx context.Context, r *store.Rollout) error {
	n := now()
	created, updated := orNow(r.CreatedAt, n), orNow(r.UpdatedAt, n)
	var id int64
	err := db.tx(ctx, func(tx *sql.Tx) error {
		if err := projectExists(ctx, tx, r.Project); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, "INSERT INTO rollouts ("+rolloutColumns+`)
	VALUES (NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.Project, r.Env, r.ReleaseID, r.FromReleaseID, string(r.Strategy), string(r.State), r.Step, r.Steps, r.Weight,
			r.Baking, r.Failures, r.Reason, blob(r.Analysis), nanos(r.StepSince), nanos(created), nanos(updated),
			nanos(r.FinishedAt))
		if err != nil {
			return err
		}
		if id, err = res.LastInsertId(); err != nil {
			return err
		}
		return insertEvent(ctx, tx, store.RolloutEvent{RolloutID: id, Time: created, State: r.State, Step: r.Step,
			Weight: r.Weight, Reason: r.Reason})
	})
	if err != nil {
		return fmt.Errorf("create rollout of project %q to %s: %w", r.Project, r.Env, err)
	}
	r.ID, r.CreatedAt, r.UpdatedAt = id, created, updated
	return nil
}

// UpdateRollout writes every field of r but ID, Project, Env, ReleaseID and CreatedAt, which a rollout keeps
// for life, and appends ev in the same transaction, so a kill -9 never leaves a transition without its event or
// an event without its transition.
// A zero r.UpdatedAt is set to now, on r too; ev.RolloutID is taken from r.ID and a zero ev.Time is now.
// store.ErrNotFound if the rollout does not exist, and then nothing is written.
func (db *DB) UpdateRollout(ctx context.Context, r *store.Rollout, ev store.RolloutEvent) error {
	n := now()
	updated := orNow(r.UpdatedAt, n)
	ev.RolloutID, ev.Time = r.ID, orNow(ev.Time, n)
	err := db.tx(ctx, func(tx *sql.Tx) error {
		err := checkAffected(tx.ExecContext(ctx, `UPDATE rollouts SET from_release_id = ?, strategy = ?, state = ?,
	step = ?, steps = ?, weight = ?, baking = ?, failures = ?, reason = ?, analysis = ?, step_since = ?,
	updated_at = ?, finished_at = ? WHERE id = ?`,
			r.FromReleaseID, string(r.Strategy), string(r.State), r.Step, r.Steps, r.Weight, r.Baking, r.Failures, r.Reason,
			blob(r.Analysis), nanos(r.StepSince), nanos(updated), nanos(r.FinishedAt), r.ID))
		if err != nil {
			return err
		}
		return insertEvent(ctx, tx, ev)
	})
	if err != nil {
		return fmt.Errorf("update rollout %d: %w", r.ID, err)
	}
	r.UpdatedAt = updated
	return nil
}

func insertEvent(ctx context.Context, tx *sql.Tx, ev store.RolloutEvent) error {
	_, err := tx.ExecContext(ctx, "INSERT INTO rollout_events ("+eventColumns+") VALUES (?, ?, ?, ?, ?, ?)",
		ev.RolloutID, nanos(ev.Time), string(ev.State), ev.Step, ev.Weight, ev.Reason)
	if err != nil {
		return fmt.Errorf("append event: %w", err)
	}
	return nil
}

func scanRollout(row rowScanner) (*store.Rollout, error) {
	var (
		r                                     store.Rollout
		stepSince, created, updated, finished sql.NullInt64
	)
	if err := row.Scan(&r.ID, &r.Project, &r.Env, &r.ReleaseID, &r.FromReleaseID, &r.Strategy, &r.State, &r.Step,
		&r.Steps, &r.Weight, &r.Baking, &r.Failures, &r.Reason, &r.Analysis, &stepSince, &created, &updated,
		&finished); err != nil {
		return nil, err
	}
	r.StepSince, r.CreatedAt, r.UpdatedAt, r.FinishedAt = fromNanos(stepSince), fromNanos(created), fromNanos(updated),
		fromNanos(finished)
	return &r, nil
}

// GetRollout returns the rollout or store.ErrNotFound.
func (db *DB) GetRollout(ctx context.Context, id int64) (*store.Rollout, error) {
	r, err := scanRollout(db.db.QueryRowContext(ctx, "SELECT "+rolloutColumns+" FROM rollouts WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get rollout %d: %w", id, err)
	}
	return r, nil
}

// ListRollouts returns the project's newest rollouts first, to env only unless env is "", at most limit
// (0: all).
func (db *DB) ListRollouts(ctx context.Context, project, env string, limit int) ([]*store.Rollout, error) {
	query, args := "SELECT "+rolloutColumns+" FROM rollouts WHERE project = ?", []any{project}
	if env != "" {
		query, args = query+" AND env = ?", append(args, env)
	}
	rs, err := list(ctx, db.db, scanRollout, query+" ORDER BY id DESC LIMIT ?", append(args, limitArg(limit))...)
	if err != nil {
		return nil, fmt.Errorf("list rollouts of project %q to %q: %w", project, env, err)
	}
	return rs, nil
}

// RolloutsInState returns the rollouts of any project in one of the states, oldest first; none for no states.
func (db *DB) RolloutsInState(ctx context.Context, states ...store.RolloutState) ([]*store.Rollout, error) {
	if len(states) == 0 {
		return []*store.Rollout{}, nil
	}
	marks, args := inList(states)
	rs, err := list(ctx, db.db, scanRollout, "SELECT "+rolloutColumns+" FROM rollouts WHERE state IN ("+marks+") ORDER BY id", args...)
	if err != nil {
		return nil, fmt.Errorf("list rollouts in states %v: %w", states, err)
	}
	return rs, nil
}

// RolloutEvents returns a rollout's events, oldest first; none for an unknown rollout.
func (db *DB) RolloutEvents(ctx context.Context, id int64) ([]store.RolloutEvent, error) {
	evs, err := list(ctx, db.db, func(row rowScanner) (store.RolloutEvent, error) {
		var (
			ev store.RolloutEvent
			tm sql.NullInt64
		)
		err := row.Scan(&ev.RolloutID, &tm, &ev.State, &ev.Step, &ev.Weight, &ev.Reason)
		ev.Time = fromNanos(tm)
		return ev, err
	}, "SELECT "+eventColumns+" FROM rollout_events WHERE rollout_id = ? ORDER BY id", id)
	if err != nil {
		return nil, fmt.Errorf("list events of rollout %d: %w", id, err)
	}
	return evs, nil
}

// blob binds b as a BLOB, or NULL when it is empty, so an empty value reads back as nil.
func blob(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// AddRolloutSamples appends samples to the rollout's in one transaction; a zero Time is now. store.ErrNotFound
// if the rollout does not exist, and then nothing is written.
func (db *DB) AddRolloutSamples(ctx context.Context, rolloutID int64, samples []store.RolloutSample) error {
	err := db.tx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, "SELECT 1 FROM rollouts WHERE id = ?", rolloutID).Scan(new(int)); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return store.ErrNotFound
			}
			return err
		}
		for _, s := range samples {
			_, err := tx.ExecContext(ctx, `INSERT INTO rollout_samples (rollout_id, time, role, requests, errors, p99, span)
	VALUES (?, ?, ?, ?, ?, ?, ?)`, rolloutID, nanos(orNow(s.Time, now())), s.Role, s.Requests, s.Errors, s.P99, int64(s.Span))
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("add samples of rollout %d: %w", rolloutID, err)
	}
	return nil
}

// RolloutSamples returns the rollout's samples, oldest first.
func (db *DB) RolloutSamples(ctx context.Context, rolloutID int64) ([]store.RolloutSample, error) {
	ss, err := list(ctx, db.db, func(row rowScanner) (store.RolloutSample, error) {
		var (
			s    store.RolloutSample
			tm   sql.NullInt64
			span int64
		)
		err := row.Scan(&tm, &s.Role, &s.Requests, &s.Errors, &s.P99, &span)
		s.Time, s.Span = fromNanos(tm), time.Duration(span)
		return s, err
	}, "SELECT time, role, requests, errors, p99, span FROM rollout_samples WHERE rollout_id = ? ORDER BY id", rolloutID)
	if err != nil {
		return nil, fmt.Errorf("list samples of rollout %d: %w", rolloutID, err)
	}
	return ss, nil
}

// SetRolloutAnalysis writes the rollout's analysis and nothing else; store.ErrNotFound if it does not exist.
func (db *DB) SetRolloutAnalysis(ctx context.Context, id int64, analysis []byte) error {
	if err := checkAffected(db.db.ExecContext(ctx, "UPDATE rollouts SET analysis = ? WHERE id = ?", blob(analysis), id)); err != nil {
		return fmt.Errorf("set analysis of rollout %d: %w", id, err)
	}
	return nil
}

package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/ferry-cd/ferry/internal/store"
)

const runColumns = "id, project, branch, commit_sha, trigger_kind, state, reason, failed_step, release_id, created_at, started_at, finished_at"

// CreateRun stores r with a new ID, set on r, and sets r.CreatedAt to now when it is zero. The project must
// exist (store.ErrNotFound).
func (db *DB) CreateRun(ctx context.Context, r *store.Run) error {
	created := r.CreatedAt
	if created.IsZero() {
		created = now()
	}
	var id int64
	err := db.tx(ctx, func(tx *sql.Tx) error {
		if err := projectExists(ctx, tx, r.Project); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, "INSERT INTO runs ("+runColumns+") VALUES (NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			r.Project, r.Branch, r.Commit, r.Trigger, string(r.State), r.Reason, r.FailedStep, r.ReleaseID,
			nanos(created), nanos(r.StartedAt), nanos(r.FinishedAt))
		if err != nil {
			return err
		}
		id, err = res.LastInsertId()
		return err
	})
	if err != nil {
		return fmt.Errorf("create run of project %q: %w", r.Project, err)
	}
	r.ID, r.CreatedAt = id, created
	return nil
}

func scanRun(row rowScanner) (*store.Run, error) {
	var (
		r                          store.Run
		created, started, finished sql.NullInt64
	)
	if err := row.Scan(&r.ID, &r.Project, &r.Branch, &r.Commit, &r.Trigger, &r.State, &r.Reason, &r.FailedStep,
		&r.ReleaseID, &created, &started, &finished); err != nil {
		return nil, err
	}
	r.CreatedAt, r.StartedAt, r.FinishedAt = fromNanos(created), fromNanos(started), fromNanos(finished)
	return &r, nil
}

// GetRun returns the run or store.ErrNotFound.
func (db *DB) GetRun(ctx context.Context, id int64) (*store.Run, error) {
	r, err := scanRun(db.db.QueryRowContext(ctx, "SELECT "+runColumns+" FROM runs WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get run %d: %w", id, err)
	}
	return r, nil
}

// ListRuns returns the project's newest runs first, at most limit (0: all).
func (db *DB) ListRuns(ctx context.Context, project string, limit int) ([]*store.Run, error) {
	rs, err := list(ctx, db.db, scanRun, "SELECT "+runColumns+" FROM runs WHERE project = ? ORDER BY id DESC LIMIT ?",
		project, limitArg(limit))
	if err != nil {
		return nil, fmt.Errorf("list runs of project %q: %w", project, err)
	}
	return rs, nil
}

// RunsInState returns runs of any project in one of the states, oldest first; none for no states.
func (db *DB) RunsInState(ctx context.Context, states ...store.RunState) ([]*store.Run, error) {
	if len(states) == 0 {
		return []*store.Run{}, nil
	}
	marks, args := inList(states)
	rs, err := list(ctx, db.db, scanRun, "SELECT "+runColumns+" FROM runs WHERE state IN ("+marks+") ORDER BY id", args...)
	if err != nil {
		return nil, fmt.Errorf("list runs in states %v: %w", states, err)
	}
	return rs, nil
}

// UpdateRun writes every field of r but ID, Project and CreatedAt; store.ErrNotFound if the run does not exist.
func (db *DB) UpdateRun(ctx context.Context, r *store.Run) error {
	err := checkAffected(db.db.ExecContext(ctx, `UPDATE runs SET branch = ?, commit_sha = ?, trigger_kind = ?, state = ?,
	reason = ?, failed_step = ?, release_id = ?, started_at = ?, finished_at = ? WHERE id = ?`,
		r.Branch, r.Commit, r.Trigger, string(r.State), r.Reason, r.FailedStep, r.ReleaseID,
		nanos(r.StartedAt), nanos(r.FinishedAt), r.ID))
	if err != nil {
		return fmt.Errorf("update run %d: %w", r.ID, err)
	}
	return nil
}

package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/ferry-cd/ferry/internal/store"
)

const environmentColumns = "project, name, live_release_id, previous_release_id, updated_at"

// GetEnvironment returns the project's environment or store.ErrNotFound.
func (db *DB) GetEnvironment(ctx context.Context, project, name string) (*store.Environment, error) {
	e, err := scanEnvironment(db.db.QueryRowContext(ctx, "SELECT "+environmentColumns+" FROM environments WHERE project = ? AND name = ?",
		project, name))
	if errors.Is(err, sql.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get environment %s of project %q: %w", name, project, err)
	}
	return e, nil
}

// PutEnvironment creates or replaces the environment's record, setting e.UpdatedAt to now when it is zero. The
// project must exist (store.ErrNotFound).
func (db *DB) PutEnvironment(ctx context.Context, e *store.Environment) error {
	updated := orNow(e.UpdatedAt, now())
	err := db.tx(ctx, func(tx *sql.Tx) error {
		if err := projectExists(ctx, tx, e.Project); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, "INSERT INTO environments ("+environmentColumns+`) VALUES (?, ?, ?, ?, ?)
	ON CONFLICT (project, name) DO UPDATE SET live_release_id = excluded.live_release_id,
	previous_release_id = excluded.previous_release_id, updated_at = excluded.updated_at`,
			e.Project, e.Name, e.LiveReleaseID, e.PreviousReleaseID, nanos(updated))
		return err
	})
	if err != nil {
		return fmt.Errorf("put environment %s of project %q: %w", e.Name, e.Project, err)
	}
	e.UpdatedAt = updated
	return nil
}

// ListEnvironments returns the project's environments by name.
func (db *DB) ListEnvironments(ctx context.Context, project string) ([]*store.Environment, error) {
	es, err := list(ctx, db.db, scanEnvironment, "SELECT "+environmentColumns+" FROM environments WHERE project = ? ORDER BY name", project)
	if err != nil {
		return nil, fmt.Errorf("list environments of project %q: %w", project, err)
	}
	return es, nil
}

func scanEnvironment(row rowScanner) (*store.Environment, error) {
	var (
		e       store.Environment
		updated sql.NullInt64
	)
	if err := row.Scan(&e.Project, &e.Name, &e.LiveReleaseID, &e.PreviousReleaseID, &updated); err != nil {
		return nil, err
	}
	e.UpdatedAt = fromNanos(updated)
	return &e, nil
}

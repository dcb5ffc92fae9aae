package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/ferry-cd/ferry/internal/store"
)

// SetSecret creates or replaces a project's secret with its sealed value. The project must exist
// (store.ErrNotFound).
func (db *DB) SetSecret(ctx context.Context, project, name string, sealed []byte) error {
	if sealed == nil {
		sealed = []byte{} // the column is NOT NULL; nil binds as NULL
	}
	err := db.tx(ctx, func(tx *sql.Tx) error {
		if err := projectExists(ctx, tx, project); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO secrets (project, name, sealed, updated_at) VALUES (?, ?, ?, ?)
	ON CONFLICT (project, name) DO UPDATE SET sealed = excluded.sealed, updated_at = excluded.updated_at`,
			project, name, sealed, nanos(now()))
		return err
	})
	if err != nil {
		return fmt.Errorf("set secret %s of project %q: %w", name, project, err)
	}
	return nil
}

// ListSecrets names the project's secrets in name order, without their values.
func (db *DB) ListSecrets(ctx context.Context, project string) ([]store.Secret, error) {
	ss, err := list(ctx, db.db, func(row rowScanner) (store.Secret, error) {
		var (
			s       store.Secret
			updated sql.NullInt64
		)
		err := row.Scan(&s.Name, &updated)
		s.UpdatedAt = fromNanos(updated)
		return s, err
	}, "SELECT name, updated_at FROM secrets WHERE project = ? ORDER BY name", project)
	if err != nil {
		return nil, fmt.Errorf("list secrets of project %q: %w", project, err)
	}
	return ss, nil
}

// SecretValues returns the sealed values of the named secrets that exist; names that do not are left out.
func (db *DB) SecretValues(ctx context.Context, project string, names []string) (map[string][]byte, error) {
	values := make(map[string][]byte, len(names))
	if len(names) == 0 {
		return values, nil
	}
	marks, args := inList(names)
	rows, err := db.db.QueryContext(ctx, "SELECT name, sealed FROM secrets WHERE project = ? AND name IN ("+marks+")", append([]any{project}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("read secrets of project %q: %w", project, err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			name   string
			sealed []byte
		)
		if err := rows.Scan(&name, &sealed); err != nil {
			return nil, fmt.Errorf("read secrets of project %q: %w", project, err)
		}
		values[name] = sealed
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read secrets of project %q: %w", project, err)
	}
	return values, nil
}

// DeleteSecret removes a project's secret; store.ErrNotFound if there is no such secret.
func (db *DB) DeleteSecret(ctx context.Context, project, name string) error {
	err := checkAffected(db.db.ExecContext(ctx, "DELETE FROM secrets WHERE project = ? AND name = ?", project, name))
	if err != nil {
		return fmt.Errorf("delete secret %s of project %q: %w", name, project, err)
	}
	return nil
}

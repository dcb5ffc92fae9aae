package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/ferry-cd/ferry/internal/store"
)

// CreateToken stores t with a new ID, set on t, and sets t.CreatedAt to now when it is zero. A token with the
// same Hash or the same Name is store.ErrExists.
func (db *DB) CreateToken(ctx context.Context, t *store.Token) error {
	created := t.CreatedAt
	if created.IsZero() {
		created = now()
	}
	role := t.Role
	if role == "" {
		role = store.RoleAdmin
	}
	origins, err := toJSON(len(t.Origins), t.Origins)
	if err != nil {
		return fmt.Errorf("create token %q: %w", t.Name, err)
	}
	res, err := db.db.ExecContext(ctx, "INSERT INTO tokens (name, hash, created_at, role, project, env, origins) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
		t.Name, t.Hash, nanos(created), role, t.Project, t.Env, origins)
	var id, n int64
	if err == nil {
		n, err = res.RowsAffected()
	}
	if err == nil && n == 0 {
		err = store.ErrExists
	}
	if err == nil {
		id, err = res.LastInsertId()
	}
	if err != nil {
		return fmt.Errorf("create token %q: %w", t.Name, err)
	}
	t.ID, t.CreatedAt, t.Role = id, created, role
	return nil
}

// TokenByHash returns the token whose SHA-256 is hash, or store.ErrNotFound.
func (db *DB) TokenByHash(ctx context.Context, hash string) (*store.Token, error) {
	var (
		t       store.Token
		created sql.NullInt64
		origins sql.NullString
	)
	err := db.db.QueryRowContext(ctx, "SELECT id, name, hash, created_at, role, project, env, origins FROM tokens WHERE hash = ?", hash).
		Scan(&t.ID, &t.Name, &t.Hash, &created, &t.Role, &t.Project, &t.Env, &origins)
	if errors.Is(err, sql.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err == nil {
		err = fromJSON(origins, &t.Origins)
	}
	if err != nil {
		// The hash is a credential's fingerprint: keep it out of error messages and logs.
		return nil, fmt.Errorf("get token by hash: %w", err)
	}
	t.CreatedAt = fromNanos(created)
	return &t, nil
}

// CountTokens returns how many tokens exist.
func (db *DB) CountTokens(ctx context.Context) (int, error) {
	var n int
	if err := db.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM tokens").Scan(&n); err != nil {
		return 0, fmt.Errorf("count tokens: %w", err)
	}
	return n, nil
}

// ListTokens returns every token, oldest first, without their hashes.
func (db *DB) ListTokens(ctx context.Context) ([]*store.Token, error) {
	rows, err := db.db.QueryContext(ctx, "SELECT id, name, created_at, role, project, env, origins FROM tokens ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	defer rows.Close()
	var out []*store.Token
	for rows.Next() {
		var (
			t       store.Token
			created sql.NullInt64
			origins sql.NullString
		)
		if err := rows.Scan(&t.ID, &t.Name, &created, &t.Role, &t.Project, &t.Env, &origins); err != nil {
			return nil, fmt.Errorf("list tokens: %w", err)
		}
		if err := fromJSON(origins, &t.Origins); err != nil {
			return nil, fmt.Errorf("list tokens: origins of %s: %w", t.Name, err)
		}
		t.CreatedAt = fromNanos(created)
		out = append(out, &t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	return out, nil
}

// DeleteToken removes the token named name, or returns store.ErrNotFound.
func (db *DB) DeleteToken(ctx context.Context, name string) error {
	res, err := db.db.ExecContext(ctx, "DELETE FROM tokens WHERE name = ?", name)
	var n int64
	if err == nil {
		n, err = res.RowsAffected()
	}
	if err == nil && n == 0 {
		err = store.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("delete token %q: %w", name, err)
	}
	return nil
}

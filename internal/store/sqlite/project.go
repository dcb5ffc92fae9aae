package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/ferry-cd/ferry/internal/store"
)

const projectColumns = "name, repo, branch, poll, webhook_secret, concurrency, head, created_at, status_provider, status_api, status_repo, notify"

// CreateProject stores p, setting p.CreatedAt to now when it is zero. A project with the same name is
// store.ErrExists.
func (db *DB) CreateProject(ctx context.Context, p *store.Project) error {
	created := p.CreatedAt
	if created.IsZero() {
		created = now()
	}
	sinks := ""
	if len(p.Notify) > 0 {
		b, err := json.Marshal(p.Notify)
		if err != nil {
			return fmt.Errorf("create project %q: %w", p.Name, err)
		}
		sinks = string(b)
	}
	res, err := db.db.ExecContext(ctx, "INSERT INTO projects ("+projectColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
		p.Name, p.Repo, p.Branch, int64(p.Poll), p.WebhookSecret, p.Concurrency, p.Head, nanos(created),
		p.Status.Provider, p.Status.API, p.Status.Repo, sinks)
	if err == nil {
		var n int64
		if n, err = res.RowsAffected(); err == nil && n == 0 {
			err = store.ErrExists
		}
	}
	if err != nil {
		return fmt.Errorf("create project %q: %w", p.Name, err)
	}
	p.CreatedAt = created
	return nil
}

func scanProject(row rowScanner) (*store.Project, error) {
	var (
		p       store.Project
		poll    int64
		created sql.NullInt64
		sinks   string
	)
	if err := row.Scan(&p.Name, &p.Repo, &p.Branch, &poll, &p.WebhookSecret, &p.Concurrency, &p.Head, &created,
		&p.Status.Provider, &p.Status.API, &p.Status.Repo, &sinks); err != nil {
		return nil, err
	}
	if sinks != "" {
		if err := json.Unmarshal([]byte(sinks), &p.Notify); err != nil {
			return nil, fmt.Errorf("notification sinks of project %q: %w", p.Name, err)
		}
	}
	p.Poll = time.Duration(poll)
	p.CreatedAt = fromNanos(created)
	return &p, nil
}

// GetProject returns the named project or store.ErrNotFound.
func (db *DB) GetProject(ctx context.Context, name string) (*store.Project, error) {
	p, err := scanProject(db.db.QueryRowContext(ctx, "SELECT "+projectColumns+" FROM projects WHERE name = ?", name))
	if errors.Is(err, sql.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get project %q: %w", name, err)
	}
	return p, nil
}

// ListProjects returns every project by name.
func (db *DB) ListProjects(ctx context.Context) ([]*store.Project, error) {
	ps, err := list(ctx, db.db, scanProject, "SELECT "+projectColumns+" FROM projects ORDER BY name")
	if err != nil {
		return nil, fmt.Errorf("list projects: %w", err)
	}
	return ps, nil
}

// SetProjectHead records the last commit seen on the project's branch.
func (db *DB) SetProjectHead(ctx context.Context, name, commit string) error {
	err := checkAffected(db.db.ExecContext(ctx, "UPDATE projects SET head = ? WHERE name = ?", commit, name))
	if err != nil {
		return fmt.Errorf("set head of project %q: %w", name, err)
	}
	return nil
}

// DeleteProject removes the project with its runs, steps, releases, secrets, rollouts, rollout events,
// environments, flag overrides and rollouts, and the flags tokens that read it (a later project of the same
// name must not be readable with them); store.ErrNotFound if there is no such project.
func (db *DB) DeleteProject(ctx context.Context, name string) error {
	// The foreign keys cascade to everything the project owns, in the same statement; tokens name it.
	err := db.tx(ctx, func(tx *sql.Tx) error {
		if err := checkAffected(tx.ExecContext(ctx, "DELETE FROM projects WHERE name = ?", name)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, "DELETE FROM tokens WHERE role = ? AND project = ?", store.RoleFlags, name)
		return err
	})
	if err != nil {
		return fmt.Errorf("delete project %q: %w", name, err)
	}
	return nil
}

// projectExists returns store.ErrNotFound, naming the project, when it does not exist. Records that belong to a
// project check this first so a missing project reads as such, not as a foreign key failure.
func projectExists(ctx context.Context, tx *sql.Tx, name string) error {
	var one int
	err := tx.QueryRowContext(ctx, "SELECT 1 FROM projects WHERE name = ?", name).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("project %q: %w", name, store.ErrNotFound)
	}
	return err
}

// list runs a query and scans every row.
func list[T any](ctx context.Context, db *sql.DB, scan func(rowScanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []T{} // not nil: an empty list encodes as [] in the API
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

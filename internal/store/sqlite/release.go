package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/ferry-cd/ferry/internal/store"
)

const releaseColumns = "id, project, version, run_id, branch, commit_sha, message, author, commit_time, bundle, pipeline, created_at, flags, images, manifests"

// CreateRelease stores rel with a new ID and the project's next Version, both set on rel, and sets
// rel.CreatedAt to now when it is zero. The project must exist (store.ErrNotFound).
func (db *DB) CreateRelease(ctx context.Context, rel *store.Release) error {
	created := rel.CreatedAt
	if created.IsZero() {
		created = now()
	}
	var id, version int64
	// The version is read and used in one write transaction, so concurrent releases of a project get
	// consecutive versions; UNIQUE (project, version) guards it anyway.
	err := db.tx(ctx, func(tx *sql.Tx) error {
		if err := projectExists(ctx, tx, rel.Project); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) + 1 FROM releases WHERE project = ?",
			rel.Project).Scan(&version); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, "INSERT INTO releases ("+releaseColumns+") VALUES (NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			rel.Project, version, rel.RunID, rel.Branch, rel.Commit, rel.Message, rel.Author, nanos(rel.CommitTime),
			rel.Bundle, rel.Pipeline, nanos(created), rel.Flags, jsonOrNull(len(rel.Images), rel.Images), jsonOrNull(len(rel.Manifests), rel.Manifests))
		if err != nil {
			return err
		}
		id, err = res.LastInsertId()
		return err
	})
	if err != nil {
		return fmt.Errorf("create release of project %q: %w", rel.Project, err)
	}
	rel.ID, rel.Version, rel.CreatedAt = id, version, created
	return nil
}

func scanRelease(row rowScanner) (*store.Release, error) {
	var (
		r                   store.Release
		commitTime, created sql.NullInt64
		images, manifests   sql.NullString
	)
	if err := row.Scan(&r.ID, &r.Project, &r.Version, &r.RunID, &r.Branch, &r.Commit, &r.Message, &r.Author,
		&commitTime, &r.Bundle, &r.Pipeline, &created, &r.Flags, &images, &manifests); err != nil {
		return nil, err
	}
	if images.Valid {
		if err := json.Unmarshal([]byte(images.String), &r.Images); err != nil {
			return nil, fmt.Errorf("release %d: images: %w", r.ID, err)
		}
	}
	if manifests.Valid {
		if err := json.Unmarshal([]byte(manifests.String), &r.Manifests); err != nil {
			return nil, fmt.Errorf("release %d: manifests: %w", r.ID, err)
		}
	}
	r.CommitTime, r.CreatedAt = fromNanos(commitTime), fromNanos(created)
	return &r, nil
}

// GetRelease returns the release or store.ErrNotFound.
func (db *DB) GetRelease(ctx context.Context, id int64) (*store.Release, error) {
	r, err := scanRelease(db.db.QueryRowContext(ctx, "SELECT "+releaseColumns+" FROM releases WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get release %d: %w", id, err)
	}
	return r, nil
}

// ReleaseByVersion returns the release of project with version or store.ErrNotFound.
func (db *DB) ReleaseByVersion(ctx context.Context, project string, version int64) (*store.Release, error) {
	r, err := scanRelease(db.db.QueryRowContext(ctx, "SELECT "+releaseColumns+" FROM releases WHERE project = ? AND version = ?", project, version))
	if errors.Is(err, sql.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get release v%d of project %q: %w", version, project, err)
	}
	return r, nil
}

// ListReleases returns the project's newest releases first, at most limit (0: all).
func (db *DB) ListReleases(ctx context.Context, project string, limit int) ([]*store.Release, error) {
	rs, err := list(ctx, db.db, scanRelease, "SELECT "+releaseColumns+" FROM releases WHERE project = ? ORDER BY version DESC LIMIT ?",
		project, limitArg(limit))
	if err != nil {
		return nil, fmt.Errorf("list releases of project %q: %w", project, err)
	}
	return rs, nil
}

// jsonOrNull is v as JSON, or NULL when v has no element (n).
func jsonOrNull(n int, v any) any {
	if n == 0 {
		return nil
	}
	data, _ := json.Marshal(v)
	return string(data)
}

package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/ferry-cd/ferry/internal/store"
)

// AddAudit records a human action.
func (db *DB) AddAudit(ctx context.Context, e *store.AuditEntry) error {
	if e.Time.IsZero() {
		e.Time = now()
	}
	res, err := db.db.ExecContext(ctx, "INSERT INTO audit (time, actor, action, project, target, detail) VALUES (?, ?, ?, ?, ?, ?)",
		nanos(e.Time), e.Actor, e.Action, e.Project, e.Target, e.Detail)
	if err == nil {
		e.ID, err = res.LastInsertId()
	}
	if err != nil {
		return fmt.Errorf("add audit entry %s: %w", e.Action, err)
	}
	return nil
}

// ListAudit returns the newest entries first.
func (db *DB) ListAudit(ctx context.Context, project string, limit int) ([]store.AuditEntry, error) {
	q, args := "SELECT id, time, actor, action, project, target, detail FROM audit", []any{}
	if project != "" {
		q += " WHERE project = ?"
		args = append(args, project)
	}
	q += " ORDER BY id DESC"
	if limit > 0 {
		q += " LIMIT ?"
		args = append(args, limit)
	}
	rows, err := db.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list audit: %w", err)
	}
	defer rows.Close()
	out := []store.AuditEntry{}
	for rows.Next() {
		var e store.AuditEntry
		var t sql.NullInt64
		if err := rows.Scan(&e.ID, &t, &e.Actor, &e.Action, &e.Project, &e.Target, &e.Detail); err != nil {
			return nil, fmt.Errorf("list audit: %w", err)
		}
		e.Time = fromNanos(t)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list audit: %w", err)
	}
	return out, nil
}

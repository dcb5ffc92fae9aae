package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/ferry-cd/ferry/internal/store"
)

const notificationColumns = "id, sink, url, event, project, payload, state, attempts, last_error, next_at, created_at, updated_at"

// AddNotification stores a notification to send.
func (db *DB) AddNotification(ctx context.Context, n *store.Notification) error {
	t := now()
	if n.CreatedAt.IsZero() {
		n.CreatedAt = t
	}
	if n.UpdatedAt.IsZero() {
		n.UpdatedAt = t
	}
	res, err := db.db.ExecContext(ctx, "INSERT INTO notifications (sink, url, event, project, payload, state, attempts, last_error, next_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		n.Sink, n.URL, n.Event, n.Project, n.Payload, string(n.State), n.Attempts, n.LastError, nanos(n.NextAt), nanos(n.CreatedAt), nanos(n.UpdatedAt))
	if err == nil {
		n.ID, err = res.LastInsertId()
	}
	if err != nil {
		return fmt.Errorf("add notification %s: %w", n.Event, err)
	}
	return nil
}

// DueNotifications returns the pending notifications due by now, oldest first.
func (db *DB) DueNotifications(ctx context.Context, at time.Time, limit int) ([]*store.Notification, error) {
	return db.queryNotifications(ctx, "SELECT "+notificationColumns+" FROM notifications WHERE state = ? AND (next_at IS NULL OR next_at <= ?) ORDER BY id LIMIT ?",
		string(store.NotificationPending), nanos(at), max(limit, 1))
}

// UpdateNotification writes n's state, attempts, error and times.
func (db *DB) UpdateNotification(ctx context.Context, n *store.Notification) error {
	if n.UpdatedAt.IsZero() {
		n.UpdatedAt = now()
	}
	err := checkAffected(db.db.ExecContext(ctx, "UPDATE notifications SET state = ?, attempts = ?, last_error = ?, next_at = ?, updated_at = ? WHERE id = ?",
		string(n.State), n.Attempts, n.LastError, nanos(n.NextAt), nanos(n.UpdatedAt), n.ID))
	if err != nil {
		return fmt.Errorf("update notification %d: %w", n.ID, err)
	}
	return nil
}

// ListNotifications returns the newest first.
func (db *DB) ListNotifications(ctx context.Context, project string, limit int) ([]*store.Notification, error) {
	q, args := "SELECT "+notificationColumns+" FROM notifications", []any{}
	if project != "" {
		q += " WHERE project = ?"
		args = append(args, project)
	}
	q += " ORDER BY id DESC"
	if limit > 0 {
		q += " LIMIT ?"
		args = append(args, limit)
	}
	return db.queryNotifications(ctx, q, args...)
}

func (db *DB) queryNotifications(ctx context.Context, q string, args ...any) ([]*store.Notification, error) {
	rows, err := db.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list notifications: %w", err)
	}
	defer rows.Close()
	out := []*store.Notification{}
	for rows.Next() {
		var n store.Notification
		var next, created, updated sql.NullInt64
		if err := rows.Scan(&n.ID, &n.Sink, &n.URL, &n.Event, &n.Project, &n.Payload, &n.State, &n.Attempts, &n.LastError, &next, &created, &updated); err != nil {
			return nil, fmt.Errorf("list notifications: %w", err)
		}
		n.NextAt, n.CreatedAt, n.UpdatedAt = fromNanos(next), fromNanos(created), fromNanos(updated)
		out = append(out, &n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list notifications: %w", err)
	}
	return out, nil
}

package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// AddDelivery records a webhook delivery id of a project, and forgets the project's oldest ids beyond keep.
// It reports false when the id was recorded already.
func (db *DB) AddDelivery(ctx context.Context, project, id string, at time.Time, keep int) (bool, error) {
	fresh := false
	err := db.tx(ctx, func(tx *sql.Tx) error {
		if err := projectExists(ctx, tx, project); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, "INSERT INTO webhook_deliveries (project, delivery_id, received_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
			project, id, at.UnixNano())
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil || n == 0 {
			return err
		}
		fresh = true
		if keep <= 0 {
			return nil
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM webhook_deliveries WHERE project = ? AND seq <= (
	SELECT seq FROM webhook_deliveries WHERE project = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)`, project, project, keep)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("record delivery %q of %q: %w", id, project, err)
	}
	return fresh, nil
}

// RemoveDelivery forgets a delivery id; forgetting one that is not recorded is no error.
func (db *DB) RemoveDelivery(ctx context.Context, project, id string) error {
	if _, err := db.db.ExecContext(ctx, "DELETE FROM webhook_deliveries WHERE project = ? AND delivery_id = ?", project, id); err != nil {
		return fmt.Errorf("forget delivery %q of %q: %w", id, project, err)
	}
	return nil
}

package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/ferry-cd/ferry/internal/gate"
	"github.com/ferry-cd/ferry/internal/store"
)

const stepColumns = "run_id, idx, stage, name, state, attempts, exit_code, reason, pid, metrics, verdicts, artifacts, started_at, finished_at"

// PutSteps replaces the steps of a run, setting RunID on each; store.ErrNotFound if the run does not exist.
func (db *DB) PutSteps(ctx context.Context, runID int64, steps []*store.Step) error {
	err := db.tx(ctx, func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, "SELECT 1 FROM runs WHERE id = ?", runID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrNotFound
		} else if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM steps WHERE run_id = ?", runID); err != nil {
			return err
		}
		stmt, err := tx.PrepareContext(ctx, "INSERT INTO steps ("+stepColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, s := range steps {
			metrics, verdicts, artifacts, err := stepJSON(s)
			if err != nil {
				return fmt.Errorf("step %s: %w", s.FullName(), err)
			}
			if _, err := stmt.ExecContext(ctx, runID, s.Index, s.Stage, s.Name, string(s.State), s.Attempts, s.ExitCode,
				s.Reason, s.PID, metrics, verdicts, artifacts, nanos(s.StartedAt), nanos(s.FinishedAt)); err != nil {
				return fmt.Errorf("step %s: %w", s.FullName(), err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("put steps of run %d: %w", runID, err)
	}
	for _, s := range steps {
		s.RunID = runID
	}
	return nil
}

// UpdateStep writes every field of s but RunID and Index, which name the step; store.ErrNotFound if there is
// no such step.
func (db *DB) UpdateStep(ctx context.Context, s *store.Step) error {
	metrics, verdicts, artifacts, err := stepJSON(s)
	if err == nil {
		err = checkAffected(db.db.ExecContext(ctx, `UPDATE steps SET stage = ?, name = ?, state = ?, attempts = ?,
	exit_code = ?, reason = ?, pid = ?, metrics = ?, verdicts = ?, artifacts = ?, started_at = ?, finished_at = ?
	WHERE run_id = ? AND idx = ?`,
			s.Stage, s.Name, string(s.State), s.Attempts, s.ExitCode, s.Reason, s.PID, metrics, verdicts, artifacts,
			nanos(s.StartedAt), nanos(s.FinishedAt), s.RunID, s.Index))
	}
	if err != nil {
		return fmt.Errorf("update step %d of run %d (%s): %w", s.Index, s.RunID, s.FullName(), err)
	}
	return nil
}

// ListSteps returns the steps of a run in Index order; none for an unknown run.
func (db *DB) ListSteps(ctx context.Context, runID int64) ([]*store.Step, error) {
	ss, err := list(ctx, db.db, scanStep, "SELECT "+stepColumns+" FROM steps WHERE run_id = ? ORDER BY idx", runID)
	if err != nil {
		return nil, fmt.Errorf("list steps of run %d: %w", runID, err)
	}
	return ss, nil
}

// BaselineMetrics returns the metrics of stage/step in the newest passed run of project and branch with an ID
// below beforeRun that has that step. found is true whenever such a step exists, even with no metrics.
func (db *DB) BaselineMetrics(ctx context.Context, project, branch, stage, step string, beforeRun int64) ([]gate.Metric, bool, error) {
	var metrics sql.NullString
	err := db.db.QueryRowContext(ctx, `SELECT s.metrics FROM steps s JOIN runs r ON r.id = s.run_id
	WHERE r.project = ? AND r.branch = ? AND r.state = ? AND r.id < ? AND s.stage = ? AND s.name = ?
	ORDER BY r.id DESC LIMIT 1`, project, branch, string(store.RunPassed), beforeRun, stage, step).Scan(&metrics)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	var m []gate.Metric
	if err == nil {
		err = fromJSON(metrics, &m)
	}
	if err != nil {
		return nil, false, fmt.Errorf("baseline of %s/%s on %s@%s before run %d: %w", stage, step, project, branch, beforeRun, err)
	}
	return m, true, nil
}

func scanStep(row rowScanner) (*store.Step, error) {
	var (
		s                            store.Step
		metrics, verdicts, artifacts sql.NullString
		started, finished            sql.NullInt64
	)
	if err := row.Scan(&s.RunID, &s.Index, &s.Stage, &s.Name, &s.State, &s.Attempts, &s.ExitCode, &s.Reason, &s.PID,
		&metrics, &verdicts, &artifacts, &started, &finished); err != nil {
		return nil, err
	}
	if err := errors.Join(fromJSON(metrics, &s.Metrics), fromJSON(verdicts, &s.Verdicts), fromJSON(artifacts, &s.Artifacts)); err != nil {
		return nil, fmt.Errorf("step %d of run %d: %w", s.Index, s.RunID, err)
	}
	s.StartedAt, s.FinishedAt = fromNanos(started), fromNanos(finished)
	return &s, nil
}

// stepJSON encodes the list fields of s; an empty list is NULL.
func stepJSON(s *store.Step) (metrics, verdicts, artifacts any, err error) {
	metrics, err1 := toJSON(len(s.Metrics), s.Metrics)
	verdicts, err2 := toJSON(len(s.Verdicts), s.Verdicts)
	artifacts, err3 := toJSON(len(s.Artifacts), s.Artifacts)
	return metrics, verdicts, artifacts, errors.Join(err1, err2, err3)
}

func toJSON(n int, v any) (any, error) {
	if n == 0 {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

// fromJSON decodes a list column into v, leaving v nil for NULL.
func fromJSON(col sql.NullString, v any) error {
	if !col.Valid {
		return nil
	}
	return json.Unmarshal([]byte(col.String), v)
}

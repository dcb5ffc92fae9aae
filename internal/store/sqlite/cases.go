package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/ferry-cd/ferry/internal/evals"
	"github.com/ferry-cd/ferry/internal/store"
)

// PutCases replaces the cases of one step of a run in one transaction; store.ErrNotFound without the run.
func (db *DB) PutCases(ctx context.Context, set *store.CaseSet) error {
	err := db.tx(ctx, func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, "SELECT 1 FROM runs WHERE id = ?", set.RunID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrNotFound
		} else if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM case_sets WHERE run_id = ? AND idx = ?", set.RunID, set.Index); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO case_sets (run_id, idx, baseline_run) VALUES (?, ?, ?)",
			set.RunID, set.Index, set.BaselineRun); err != nil {
			return err
		}
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO cases (run_id, idx, pos, case_id, tags, scores, pass, flaky,
	input, expected, output, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for i, c := range set.Cases {
			tags, err1 := toJSON(len(c.Tags), c.Tags)
			scores, err2 := toJSON(len(c.Scores), c.Scores)
			if err := errors.Join(err1, err2); err != nil {
				return fmt.Errorf("case %d: %w", i+1, err)
			}
			if _, err := stmt.ExecContext(ctx, set.RunID, set.Index, i, c.ID, tags, scores, c.Pass, c.Flaky,
				c.Input, c.Expected, c.Output, c.Reason); err != nil {
				return fmt.Errorf("case %d: %w", i+1, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("put cases of step %d of run %d: %w", set.Index, set.RunID, err)
	}
	return nil
}

// ListCases returns the case sets of a run in step order, without the cases' texts.
func (db *DB) ListCases(ctx context.Context, runID int64) ([]*store.CaseSet, error) {
	sets, err := list(ctx, db.db, scanCaseSet, `SELECT cs.run_id, cs.idx, COALESCE(s.stage, ''), COALESCE(s.name, ''), cs.baseline_run
	FROM case_sets cs LEFT JOIN steps s ON s.run_id = cs.run_id AND s.idx = cs.idx
	WHERE cs.run_id = ? ORDER BY cs.idx`, runID)
	if err == nil {
		for _, set := range sets {
			if set.Cases, err = db.caseSummaries(ctx, set.RunID, set.Index); err != nil {
				break
			}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("list cases of run %d: %w", runID, err)
	}
	return sets, nil
}

// GetCase returns one case with its texts; store.ErrNotFound.
func (db *DB) GetCase(ctx context.Context, runID int64, index int, caseID string) (*evals.Case, error) {
	var (
		c            evals.Case
		tags, scores sql.NullString
	)
	err := db.db.QueryRowContext(ctx, `SELECT case_id, tags, scores, pass, flaky, input, expected, output, reason
	FROM cases WHERE run_id = ? AND idx = ? AND case_id = ?`, runID, index, caseID).Scan(
		&c.ID, &tags, &scores, &c.Pass, &c.Flaky, &c.Input, &c.Expected, &c.Output, &c.Reason)
	if errors.Is(err, sql.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err == nil {
		err = errors.Join(fromJSON(tags, &c.Tags), fromJSON(scores, &c.Scores))
	}
	if err != nil {
		return nil, fmt.Errorf("get case of step %d of run %d: %w", index, runID, err)
	}
	return &c, nil
}

// BaselineCases returns the cases of stage/step in the run BaselineMetrics reads.
func (db *DB) BaselineCases(ctx context.Context, project, branch, stage, step string, beforeRun int64) (*store.CaseSet, bool, error) {
	set := &store.CaseSet{Stage: stage, Name: step}
	err := db.db.QueryRowContext(ctx, `SELECT s.run_id, s.idx FROM steps s JOIN runs r ON r.id = s.run_id
	WHERE r.project = ? AND r.branch = ? AND r.state = ? AND r.id < ? AND s.stage = ? AND s.name = ?
	ORDER BY r.id DESC LIMIT 1`, project, branch, string(store.RunPassed), beforeRun, stage, step).Scan(&set.RunID, &set.Index)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err == nil {
		set.Cases, err = db.caseSummaries(ctx, set.RunID, set.Index)
	}
	if err != nil {
		return nil, false, fmt.Errorf("baseline cases of %s/%s on %s@%s before run %d: %w", stage, step, project, branch, beforeRun, err)
	}
	return set, true, nil
}

func (db *DB) caseSummaries(ctx context.Context, runID int64, index int) ([]evals.Case, error) {
	return list(ctx, db.db, scanCaseSummary, `SELECT case_id, tags, scores, pass, flaky FROM cases
	WHERE run_id = ? AND idx = ? ORDER BY pos`, runID, index)
}

func scanCaseSet(row rowScanner) (*store.CaseSet, error) {
	var s store.CaseSet
	err := row.Scan(&s.RunID, &s.Index, &s.Stage, &s.Name, &s.BaselineRun)
	return &s, err
}

func scanCaseSummary(row rowScanner) (evals.Case, error) {
	var (
		c            evals.Case
		tags, scores sql.NullString
	)
	if err := row.Scan(&c.ID, &tags, &scores, &c.Pass, &c.Flaky); err != nil {
		return c, err
	}
	return c, errors.Join(fromJSON(tags, &c.Tags), fromJSON(scores, &c.Scores))
}

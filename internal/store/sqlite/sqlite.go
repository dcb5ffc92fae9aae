// Package sqlite implements store.Store on one SQLite file: ferry's default store, for a single control plane.
//
// It imports store and the records store keeps, and nothing that acts on them.
package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/ferry-cd/ferry/internal/store"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// DB is a store.Store backed by an SQLite database file. It is safe for concurrent use.
type DB struct {
	db   *sql.DB
	path string
}

var _ store.Store = (*DB)(nil)

// Open opens the database file at path, creating it if needed, and migrates its schema to the one this binary
// knows. A database written by a newer ferry is refused with ErrNewerSchema. Close releases it.
func Open(path string) (*DB, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	sqldb, err := sql.Open("sqlite", dsn(abs))
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	// One connection for reads and writes. SQLite admits one writer at a time anyway, so a pool would only
	// turn in-process contention into SQLITE_BUSY waits; with a single connection database/sql queues callers
	// instead, and every caller sees every committed write. ferry's control plane writes a few rows per step
	// and reads small pages, so the lost read parallelism is not worth a second code path. busy_timeout still
	// covers another process (a CLI command) opening the same file.
	sqldb.SetMaxOpenConns(1)
	sqldb.SetMaxIdleConns(1)
	sqldb.SetConnMaxLifetime(0)
	sqldb.SetConnMaxIdleTime(0)

	db := &DB{db: sqldb, path: abs}
	if err := db.init(context.Background()); err != nil {
		sqldb.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	return db, nil
}

// dsn builds the driver's connection string. Pragmas go in the DSN so that any connection the pool opens
// (including a replacement after an error) gets them:
//
//   - journal_mode=WAL: readers do not block the writer, and a commit appends to the log instead of rewriting
//     pages.
//   - synchronous=NORMAL: in WAL mode a commit is written to the log before COMMIT returns, but fsync happens
//     only at checkpoints. The write is then in the operating system's cache, which a kill -9 of ferry cannot
//     lose; only a power cut or kernel crash can, and then the database still opens consistent, missing the
//     last transactions, which the controllers reconcile like any restart. That is the store.Store promise,
//     without an fsync per step update on the engine's hot path.
//   - busy_timeout=5000: wait for another process's write lock instead of failing at once.
//   - foreign_keys=ON: deleting a project cascades to its runs, steps, releases, secrets, rollouts (with their
//     events) and environments.
//   - _txlock=immediate: a transaction takes the write lock at BEGIN, so two processes never both read and
//     then deadlock upgrading to write (which busy_timeout cannot resolve).
func dsn(path string) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(5000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(ON)")
	q.Set("_txlock", "immediate")
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(path), RawQuery: q.Encode()}
	return u.String()
}

// init checks that the pragmas took effect and migrates the schema.
func (db *DB) init(ctx context.Context) error {
	var mode string
	if err := db.db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return fmt.Errorf("read journal mode: %w", err)
	}
	// SQLite silently keeps the old mode where WAL is impossible (some network file systems).
	if mode != "wal" {
		return fmt.Errorf("journal mode is %q, want wal: put the database on a local file system", mode)
	}
	return migrate(ctx, db.db, migrations)
}

// Close closes the database. Calls after the first do nothing.
func (db *DB) Close() error {
	if err := db.db.Close(); err != nil {
		return fmt.Errorf("close store %s: %w", db.path, err)
	}
	return nil
}

// tx runs fn in a transaction and commits it if fn returns nil. fn must use tx only: the pool has one
// connection, which tx holds.
func (db *DB) tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// rowScanner is a *sql.Row or *sql.Rows.
type rowScanner interface {
	Scan(dest ...any) error
}

// nanos stores t as Unix nanoseconds; the zero time is NULL.
func nanos(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixNano()
}

// fromNanos is the inverse of nanos, in UTC.
func fromNanos(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.Unix(0, n.Int64).UTC()
}

// now is the time the store records for CreatedAt and UpdatedAt when the caller leaves them zero.
func now() time.Time {
	return time.Now().UTC().Round(0)
}

// orNow is t, or n when t is zero: n comes from one call to now, so the defaults a write sets agree.
func orNow(t, n time.Time) time.Time {
	if t.IsZero() {
		return n
	}
	return t
}

// checkAffected turns an UPDATE or DELETE that touched no row into store.ErrNotFound.
func checkAffected(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// limitArg is the LIMIT for a list: SQLite reads a negative LIMIT as no limit.
func limitArg(limit int) int {
	if limit <= 0 {
		return -1
	}
	return limit
}

// inList returns the placeholders and arguments of an SQL "IN (...)" over values.
func inList[S ~string](values []S) (marks string, args []any) {
	args = make([]any, len(values))
	for i, v := range values {
		args[i] = string(v)
	}
	return strings.Repeat(", ?", len(values))[2:], args
}

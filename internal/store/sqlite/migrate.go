package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ErrNewerSchema is returned by Open for a database migrated by a newer ferry than this one.
var ErrNewerSchema = errors.New("database schema is newer than this ferry")

// migrations are applied in order, each in its own transaction; migration i brings the schema to version i+1.
// Never edit one that has shipped: append a new one.
//
// Times are Unix nanoseconds (NULL for the zero time), durations nanoseconds, lists JSON text, booleans 0 or 1.
var migrations = []string{
	// 1: the first schema.
	`
CREATE TABLE projects (
	name           TEXT PRIMARY KEY,
	repo           TEXT NOT NULL,
	branch         TEXT NOT NULL,
	poll           INTEGER NOT NULL,
	webhook_secret TEXT NOT NULL,
	concurrency    INTEGER NOT NULL,
	head           TEXT NOT NULL,
	created_at     INTEGER
) STRICT;

CREATE TABLE runs (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	project      TEXT NOT NULL REFERENCES projects (name) ON DELETE CASCADE,
	branch       TEXT NOT NULL,
	commit_sha   TEXT NOT NULL,
	trigger_kind TEXT NOT NULL,
	state        TEXT NOT NULL,
	reason       TEXT NOT NULL,
	failed_step  TEXT NOT NULL,
	release_id   INTEGER NOT NULL,
	created_at   INTEGER,
	started_at   INTEGER,
	finished_at  INTEGER
) STRICT;
CREATE INDEX runs_project ON runs (project, id);
CREATE INDEX runs_state ON runs (state, id);

CREATE TABLE steps (
	run_id      INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
	idx         INTEGER NOT NULL,
	stage       TEXT NOT NULL,
	name        TEXT NOT NULL,
	state       TEXT NOT NULL,
	attempts    INTEGER NOT NULL,
	exit_code   INTEGER NOT NULL,
	reason      TEXT NOT NULL,
	pid         INTEGER NOT NULL,
	metrics     TEXT,
	verdicts    TEXT,
	artifacts   TEXT,
	started_at  INTEGER,
	finished_at INTEGER,
	PRIMARY KEY (run_id, idx)
) STRICT;

CREATE TABLE releases (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	project     TEXT NOT NULL REFERENCES projects (name) ON DELETE CASCADE,
	version     INTEGER NOT NULL,
	run_id      INTEGER NOT NULL,
	branch      TEXT NOT NULL,
	commit_sha  TEXT NOT NULL,
	message     TEXT NOT NULL,
	author      TEXT NOT NULL,
	commit_time INTEGER,
	bundle      TEXT NOT NULL,
	pipeline    TEXT NOT NULL,
	created_at  INTEGER,
	UNIQUE (project, version)
) STRICT;

CREATE TABLE secrets (
	project    TEXT NOT NULL REFERENCES projects (name) ON DELETE CASCADE,
	name       TEXT NOT NULL,
	sealed     BLOB NOT NULL,
	updated_at INTEGER,
	PRIMARY KEY (project, name)
) STRICT;

CREATE TABLE tokens (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	name       TEXT NOT NULL,
	hash       TEXT NOT NULL UNIQUE,
	created_at INTEGER
) STRICT;
`,
	// 2: rollouts, their events and environments. Release IDs are plain integers, as in runs: releases go only
	// with their project, which takes its rollouts and environments along, and 0 means "none".
	`
CREATE TABLE rollouts (
	id              INTEGER PRIMARY KEY AUTOINCREMENT,
	project         TEXT NOT NULL REFERENCES projects (name) ON DELETE CASCADE,
	env             TEXT NOT NULL,
	release_id      INTEGER NOT NULL,
	from_release_id INTEGER NOT NULL,
	strategy        TEXT NOT NULL,
	state           TEXT NOT NULL,
	step            INTEGER NOT NULL,
	steps           INTEGER NOT NULL,
	weight          INTEGER NOT NULL,
	baking          INTEGER NOT NULL,
	failures        INTEGER NOT NULL,
	reason          TEXT NOT NULL,
	analysis        BLOB,
	step_since      INTEGER,
	created_at      INTEGER,
	updated_at      INTEGER,
	finished_at     INTEGER
) STRICT;
CREATE INDEX rollouts_env ON rollouts (project, env, id);
CREATE INDEX rollouts_state ON rollouts (state, id);

CREATE TABLE rollout_events (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	rollout_id INTEGER NOT NULL REFERENCES rollouts (id) ON DELETE CASCADE,
	time       INTEGER,
	state      TEXT NOT NULL,
	step       INTEGER NOT NULL,
	weight     INTEGER NOT NULL,
	reason     TEXT NOT NULL
) STRICT;
CREATE INDEX rollout_events_rollout ON rollout_events (rollout_id, id);

CREATE TABLE environments (
	project             TEXT NOT NULL REFERENCES projects (name) ON DELETE CASCADE,
	name                TEXT NOT NULL,
	live_release_id     INTEGER NOT NULL,
	previous_release_id INTEGER NOT NULL,
	updated_at          INTEGER,
	PRIMARY KEY (project, name)
) STRICT;
`,
	// 3: token roles, and the audit log of human actions. Audit entries outlive their project on purpose: the
	// trail must show who removed it.
	`
ALTER TABLE tokens ADD COLUMN role TEXT NOT NULL DEFAULT 'admin';

CREATE TABLE audit (
	id      INTEGER PRIMARY KEY AUTOINCREMENT,
	time    INTEGER NOT NULL,
	actor   TEXT NOT NULL,
	action  TEXT NOT NULL,
	project TEXT NOT NULL,
	target  TEXT NOT NULL,
	detail  TEXT NOT NULL
) STRICT;
CREATE INDEX audit_project ON audit (project, id);
`,
	// 4: notifications, kept until delivered or given up.
	`
CREATE TABLE notifications (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	sink       TEXT NOT NULL,
	url        TEXT NOT NULL,
	event      TEXT NOT NULL,
	project    TEXT NOT NULL,
	payload    BLOB NOT NULL,
	state      TEXT NOT NULL,
	attempts   INTEGER NOT NULL,
	last_error TEXT NOT NULL,
	next_at    INTEGER,
	created_at INTEGER,
	updated_at INTEGER
) STRICT;
CREATE INDEX notifications_due ON notifications (state, next_at);
`,
	// 5: where a project reports commit statuses (its token is the project secret FERRY_STATUS_TOKEN).
	`
ALTER TABLE projects ADD COLUMN status_provider TEXT NOT NULL DEFAULT '';
ALTER TABLE projects ADD COLUMN status_api TEXT NOT NULL DEFAULT '';
ALTER TABLE projects ADD COLUMN status_repo TEXT NOT NULL DEFAULT '';
`,
	// 6: what the analysis measured of each release of a rollout, for the dashboard's charts.
	`
CREATE TABLE rollout_samples (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	rollout_id INTEGER NOT NULL REFERENCES rollouts (id) ON DELETE CASCADE,
	time       INTEGER NOT NULL,
	role       TEXT NOT NULL,
	requests   INTEGER NOT NULL,
	errors     INTEGER NOT NULL,
	p99        REAL NOT NULL,
	span       INTEGER NOT NULL
) STRICT;
CREATE INDEX rollout_samples_rollout ON rollout_samples (rollout_id, id);
`,
	// 7: a project's own notification sinks, as JSON.
	`
ALTER TABLE projects ADD COLUMN notify TEXT NOT NULL DEFAULT '';
`,
	// 8: feature flags: each release's flags, tokens scoped to an environment, overrides and progressive rollouts.
	`
ALTER TABLE releases ADD COLUMN flags TEXT NOT NULL DEFAULT '';
ALTER TABLE tokens ADD COLUMN project TEXT NOT NULL DEFAULT '';
ALTER TABLE tokens ADD COLUMN env TEXT NOT NULL DEFAULT '';

CREATE TABLE flag_overrides (
	project TEXT NOT NULL REFERENCES projects (name) ON DELETE CASCADE,
	env     TEXT NOT NULL,
	flag    TEXT NOT NULL,
	variant TEXT NOT NULL,
	actor   TEXT NOT NULL,
	time    INTEGER NOT NULL,
	PRIMARY KEY (project, env, flag)
) STRICT;

CREATE TABLE flag_rollouts (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	project     TEXT NOT NULL REFERENCES projects (name) ON DELETE CASCADE,
	env         TEXT NOT NULL,
	flag        TEXT NOT NULL,
	release_id  INTEGER NOT NULL,
	variant     TEXT NOT NULL,
	spec        TEXT NOT NULL,
	step        INTEGER NOT NULL,
	steps       INTEGER NOT NULL,
	share       INTEGER NOT NULL,
	state       TEXT NOT NULL,
	reason      TEXT NOT NULL,
	step_since  INTEGER,
	created_at  INTEGER,
	updated_at  INTEGER,
	finished_at INTEGER
) STRICT;
CREATE INDEX flag_rollouts_env ON flag_rollouts (project, env, id);

CREATE TABLE flag_rollout_events (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	rollout_id INTEGER NOT NULL REFERENCES flag_rollouts (id) ON DELETE CASCADE,
	time       INTEGER NOT NULL,
	state      TEXT NOT NULL,
	step       INTEGER NOT NULL,
	share      INTEGER NOT NULL,
	reason     TEXT NOT NULL
) STRICT;
CREATE INDEX flag_rollout_events_rollout ON flag_rollout_events (rollout_id, id);
`,
	// 9: the webhook delivery ids each project has seen, so a delivery sent again starts nothing.
	`
CREATE TABLE webhook_deliveries (
	seq         INTEGER PRIMARY KEY AUTOINCREMENT,
	project     TEXT NOT NULL REFERENCES projects (name) ON DELETE CASCADE,
	delivery_id TEXT NOT NULL,
	received_at INTEGER NOT NULL,
	UNIQUE (project, delivery_id)
) STRICT;
CREATE INDEX webhook_deliveries_project ON webhook_deliveries (project, seq);
`,
	// 10: token names are unique, so that a token can be revoked by its name. Older duplicates keep the first
	// token's name; the others get their id appended.
	`
UPDATE tokens SET name = name || '-' || id WHERE id NOT IN (SELECT MIN(id) FROM tokens GROUP BY name);
CREATE UNIQUE INDEX tokens_name ON tokens (name);
`,
	// 11: the web origins a flags token lets call OFREP from a browser (CORS): a JSON list, NULL for none.
	`
ALTER TABLE tokens ADD COLUMN origins TEXT;
`,
	// 12: the evaluation cases of each step of a run (issue 13), and the run they were compared with.
	`
CREATE TABLE case_sets (
	run_id       INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
	idx          INTEGER NOT NULL,
	baseline_run INTEGER NOT NULL,
	PRIMARY KEY (run_id, idx)
) STRICT;

CREATE TABLE cases (
	run_id   INTEGER NOT NULL,
	idx      INTEGER NOT NULL,
	pos      INTEGER NOT NULL,
	case_id  TEXT NOT NULL,
	tags     TEXT,
	scores   TEXT,
	pass     INTEGER NOT NULL,
	flaky    INTEGER NOT NULL,
	input    TEXT NOT NULL,
	expected TEXT NOT NULL,
	output   TEXT NOT NULL,
	reason   TEXT NOT NULL,
	PRIMARY KEY (run_id, idx, pos),
	UNIQUE (run_id, idx, case_id),
	FOREIGN KEY (run_id, idx) REFERENCES case_sets (run_id, idx) ON DELETE CASCADE
) STRICT;
`,
	// 13: a release's images (pinned by digest, a JSON list) and its rendered Kubernetes manifests (a JSON
	// object of environment to blob digest), issue 10; NULL for none.
	`
ALTER TABLE releases ADD COLUMN images TEXT;
ALTER TABLE releases ADD COLUMN manifests TEXT;
`,
}

// migrate brings the schema to len(ms), applying ms (migrations, or a prefix of it in tests). Each step re-reads
// the version inside its transaction, so two processes opening a new file at once apply every migration once.
func migrate(ctx context.Context, db *sql.DB, ms []string) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    INTEGER PRIMARY KEY,
	applied_at INTEGER NOT NULL
) STRICT`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	have, err := schemaVersion(ctx, db)
	if err != nil {
		return err
	}
	if have > len(ms) {
		return fmt.Errorf("%w: the database is at version %d, this ferry knows up to %d: run the newer ferry",
			ErrNewerSchema, have, len(ms))
	}
	for i, m := range ms {
		if err := apply(ctx, db, i+1, m); err != nil {
			return fmt.Errorf("migrate schema to version %d: %w", i+1, err)
		}
	}
	return nil
}

// apply runs migration m as version v unless the schema already has it.
func apply(ctx context.Context, db *sql.DB, v int, m string) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	have, err := schemaVersion(ctx, tx)
	if err != nil || have >= v {
		return err
	}
	if _, err := tx.ExecContext(ctx, m); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
		v, time.Now().UnixNano()); err != nil {
		return err
	}
	return tx.Commit()
}

// schemaVersion is the highest migration applied, 0 for a new database.
func schemaVersion(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}) (int, error) {
	var v int
	if err := q.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&v); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return v, nil
}

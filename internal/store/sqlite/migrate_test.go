package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/ferry-cd/ferry/internal/store"
)

// TestUpgradeKeepsData migrates a database written at each earlier schema version, holding a project and a
// run, to the current one.
func TestUpgradeKeepsData(t *testing.T) {
	ctx := context.Background()
	for v := 1; v < len(migrations); v++ {
		path := filepath.Join(t.TempDir(), "ferry.db")
		raw, err := sql.Open("sqlite", dsn(path))
		if err != nil {
			t.Fatal(err)
		}
		if err := migrate(ctx, raw, migrations[:v]); err != nil {
			t.Fatalf("migrate to version %d: %v", v, err)
		}
		// Columns of the first schema, which later migrations must keep.
		if _, err := raw.Exec(`INSERT INTO projects (name, repo, branch, poll, webhook_secret, concurrency, head, created_at)
	VALUES ('web', 'r', 'main', 0, '', 1, '', 1);
INSERT INTO runs (project, branch, commit_sha, trigger_kind, state, reason, failed_step, release_id, created_at)
	VALUES ('web', 'main', 'abc', 'manual', 'passed', '', '', 0, 2)`); err != nil {
			t.Fatalf("version %d: %v", v, err)
		}
		raw.Close()

		db, err := Open(path)
		if err != nil {
			t.Fatalf("open a version %d database: %v", v, err)
		}
		if runs, err := db.ListRuns(ctx, "web", 0); err != nil || len(runs) != 1 || runs[0].Commit != "abc" {
			t.Errorf("from version %d: runs %+v, %v; want the run written before", v, runs, err)
		}
		// The newest tables are there and the project's foreign keys reach them.
		if err := db.CreateRollout(ctx, &store.Rollout{Project: "web", Env: "production"}); err != nil {
			t.Errorf("from version %d: %v", v, err)
		}
		if err := db.DeleteProject(ctx, "web"); err != nil {
			t.Errorf("from version %d: %v", v, err)
		}
		if rs, err := db.ListRollouts(ctx, "web", "", 0); err != nil || len(rs) != 0 {
			t.Errorf("from version %d: %d rollouts left after delete, %v", v, len(rs), err)
		}
		var have int
		if err := db.db.QueryRow("SELECT MAX(version) FROM schema_migrations").Scan(&have); err != nil || have != len(migrations) {
			t.Errorf("from version %d: schema at version %d, %v; want %d", v, have, err, len(migrations))
		}
		db.Close()
	}
}

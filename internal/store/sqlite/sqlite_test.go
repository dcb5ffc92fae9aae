package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-cd/ferry/internal/store"
	"github.com/ferry-cd/ferry/internal/store/sqlite"
	"github.com/ferry-cd/ferry/internal/store/storetest"
)

// killEnv names the database a re-executed test binary writes to before it kills itself (TestSurvivesKill).
const killEnv = "FERRY_SQLITE_KILL_DB"

func TestMain(m *testing.M) {
	if path := os.Getenv(killEnv); path != "" {
		writeAndDie(path)
	}
	os.Exit(m.Run())
}

func open(t *testing.T, path string) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return open(t, filepath.Join(t.TempDir(), "ferry.db"))
	})
}

func TestReopenKeepsData(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ferry.db")
	db := open(t, path)
	if err := db.CreateProject(ctx, &store.Project{Name: "web", Repo: "r"}); err != nil {
		t.Fatal(err)
	}
	rel := &store.Release{Project: "web"}
	if err := db.CreateRelease(ctx, rel); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	// Opening again finds every migration applied and applies none twice.
	for range 2 {
		db = open(t, path)
		if _, err := db.GetProject(ctx, "web"); err != nil {
			t.Errorf("after reopen: %v", err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
	db = open(t, path)
	defer db.Close()
	next := &store.Release{Project: "web"}
	if err := db.CreateRelease(ctx, next); err != nil {
		t.Fatal(err)
	}
	if next.Version != 2 || next.ID <= rel.ID {
		t.Errorf("release after reopen: ID %d Version %d, want ID > %d and Version 2", next.ID, next.Version, rel.ID)
	}
	raw := rawDB(t, path)
	var versions, applied int
	if err := raw.QueryRow("SELECT COUNT(*), COUNT(DISTINCT version) FROM schema_migrations").Scan(&versions, &applied); err != nil {
		t.Fatal(err)
	}
	if versions == 0 || versions != applied {
		t.Errorf("schema_migrations has %d rows for %d versions", versions, applied)
	}
}

func TestRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ferry.db")
	open(t, path).Close()
	raw := rawDB(t, path)
	if _, err := raw.Exec("INSERT INTO schema_migrations (version, applied_at) VALUES (1000, 0)"); err != nil {
		t.Fatal(err)
	}
	raw.Close()

	db, err := sqlite.Open(path)
	if err == nil {
		db.Close()
		t.Fatal("Open accepted a database from a newer ferry")
	}
	if !errors.Is(err, sqlite.ErrNewerSchema) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "1000") {
		t.Errorf("error %q, want ErrNewerSchema naming the file and version 1000", err)
	}
}

func TestPathNeedingEscapes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a dir?with#odd%chars")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "ferry.db")
	open(t, path).Close()
	if _, err := os.Stat(path); err != nil {
		t.Errorf("database not created at %s: %v", path, err)
	}
}

// TestSurvivesKill checks the store.Store promise directly: writes a killed process saw succeed are there.
func TestSurvivesKill(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ferry.db")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), killEnv+"="+path)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Exited() {
		t.Fatalf("child should die by a signal; got %v\n%s", err, out)
	}
	db := open(t, path)
	defer db.Close()
	runs, err := db.ListRuns(context.Background(), "web", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != killRuns {
		t.Errorf("after kill -9: %d runs, want %d", len(runs), killRuns)
	}
}

const killRuns = 50

// writeAndDie runs in the child process of TestSurvivesKill.
func writeAndDie(path string) {
	ctx := context.Background()
	db, err := sqlite.Open(path)
	if err == nil {
		err = db.CreateProject(ctx, &store.Project{Name: "web"})
	}
	for i := 0; err == nil && i < killRuns; i++ {
		err = db.CreateRun(ctx, &store.Run{Project: "web", State: store.RunQueued})
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	p, _ := os.FindProcess(os.Getpid())
	p.Kill() // SIGKILL: no deferred function, no Close
	select {}
}

// rawDB opens the file with the driver directly, bypassing migrations.
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	return raw
}

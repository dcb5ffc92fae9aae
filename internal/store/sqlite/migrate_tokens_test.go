package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"slices"
	"testing"
)

// TestUpgradeRenamesDuplicateTokenNames opens a database from before token names were unique, holding two
// tokens of one name: the upgrade keeps both working and gives the second a name of its own.
func TestUpgradeRenamesDuplicateTokenNames(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ferry.db")
	raw, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		t.Fatal(err)
	}
	if err := migrate(ctx, raw, migrations[:9]); err != nil { // the schema before migration 10 made names unique
		t.Fatal(err)
	}
	if _, err := raw.Exec(`INSERT INTO tokens (name, hash, created_at) VALUES ('ci', 'h1', 1), ('ci', 'h2', 2), ('admin', 'h3', 3)`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	db, err := Open(path)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer db.Close()
	list, err := db.ListTokens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tok := range list {
		names = append(names, tok.Name)
	}
	if want := []string{"ci", "ci-2", "admin"}; !slices.Equal(names, want) {
		t.Errorf("tokens after upgrade = %v, want %v", names, want)
	}
	for _, h := range []string{"h1", "h2", "h3"} {
		if _, err := db.TokenByHash(ctx, h); err != nil {
			t.Errorf("token %s after upgrade: %v", h, err)
		}
	}
}

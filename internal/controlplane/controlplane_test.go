package controlplane

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferry-cd/ferry/internal/secret"
	"github.com/ferry-cd/ferry/internal/server"
	"github.com/ferry-cd/ferry/internal/store"
	"github.com/ferry-cd/ferry/internal/store/sqlite"
)

func openStore(t *testing.T, dir string) store.Store {
	t.Helper()
	db, err := sqlite.Open(filepath.Join(dir, "ferry.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// serveControlPlane opens the control plane on dir as ferry serve does, starts its loops and serves its API
// with one registry for the control plane's figures and the server's; it returns the store, the API's URL
// and an admin token. The end of the test stops them.
func serveControlPlane(t *testing.T, dir string) (db store.Store, url, token string) {
	t.Helper()
	db = openStore(t, dir)
	cp, err := Open(Config{DataDir: dir, Store: db})
	if err != nil {
		t.Fatal(err)
	}
	if err := cp.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cp.Close() })
	tok, err := cp.EnsureAdminToken(context.Background())
	if err != nil || tok == "" {
		t.Fatalf("admin token %q, %v", tok, err)
	}
	ts := httptest.NewServer(cp.Handler())
	t.Cleanup(ts.Close)
	return db, ts.URL, tok
}

// getMetrics reads the API's /metrics at url with the token.
func getMetrics(t *testing.T, url, token string) []byte {
	t.Helper()
	req, _ := http.NewRequest("GET", url+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return body
}

// TestOpenStartServeClose builds the control plane as ferry serve does, starts its loops, serves the API
// with one registry for the control plane's figures and the server's, and stops.
func TestOpenStartServeClose(t *testing.T) {
	db, url, tok := serveControlPlane(t, t.TempDir())
	if err := db.CreateProject(context.Background(), &store.Project{Name: "web", Repo: "https://git.example/web.git",
		Branch: "main", Concurrency: 1, WebhookSecret: "s", CreatedAt: time.Now().UTC()}); err != nil {
		t.Fatal(err)
	}
	// A delivery without a provider's header is bad: the server counts it in the control plane's registry.
	resp, err := http.Post(url+"/api/v1/projects/web/webhook", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	body := getMetrics(t, url, tok)
	if want := `ferry_webhook_deliveries_total{outcome="bad",project="web"} 1`; !strings.Contains(string(body), want) {
		t.Errorf("/metrics has no %s:\n%s", want, body)
	}
}

func TestStepsNeverReadTheRepositorysSecrets(t *testing.T) {
	dir := t.TempDir()
	db := openStore(t, dir)
	sealer, err := secret.LoadSealer(filepath.Join(dir, secret.KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := db.CreateProject(ctx, &store.Project{Name: "web", Repo: "https://git.example/web.git", Branch: "main",
		Concurrency: 1, CreatedAt: time.Now().UTC()}); err != nil {
		t.Fatal(err)
	}
	ps := projectSecrets{store: db, sealer: sealer}
	for name, value := range map[string]string{server.RepoTokenSecret: "tok", server.RepoUserSecret: "bot", "API_KEY": "k"} {
		if err := db.SetSecret(ctx, "web", name, sealer.Seal("web", name, []byte(value))); err != nil {
			t.Fatal(err)
		}
	}
	got, err := ps.forSteps(ctx, "web", []string{"API_KEY"})
	if err != nil || got["API_KEY"] != "k" {
		t.Errorf("forSteps(API_KEY) = %v, %v", got, err)
	}
	for _, name := range []string{server.RepoTokenSecret, server.RepoUserSecret} {
		if _, err := ps.forSteps(ctx, "web", []string{"API_KEY", name}); err == nil {
			t.Errorf("a step read %s", name)
		}
	}
	c, err := ps.repoCredentials(ctx, "web")
	if err != nil || c.Password != "tok" || c.Username != "bot" {
		t.Errorf("repoCredentials = %+v, %v", c, err)
	}
	if _, ok, err := ps.forgeToken(ctx, "web"); ok || err != nil {
		t.Errorf("forgeToken of a project without one: ok %v, %v", ok, err)
	}
}

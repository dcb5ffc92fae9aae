package server

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferry-cd/ferry/internal/artifact"
	"github.com/ferry-cd/ferry/internal/flagruntime"
	"github.com/ferry-cd/ferry/internal/rollout"
	"github.com/ferry-cd/ferry/internal/runs"
	"github.com/ferry-cd/ferry/internal/secret"
	"github.com/ferry-cd/ferry/internal/store"
	"github.com/ferry-cd/ferry/internal/store/sqlite"
)

// apiFixture is the API over a real store in a temporary data folder, with its parts built as
// internal/controlplane builds them but not started: the error answers need no loop running.
type apiFixture struct {
	url   string
	store store.Store
	// tokens by role: admin, read, flags.
	tokens map[string]string
}

func newAPIFixture(t *testing.T) *apiFixture {
	t.Helper()
	dir := t.TempDir()
	db, err := sqlite.Open(filepath.Join(dir, "ferry.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	sealer, err := secret.LoadSealer(filepath.Join(dir, secret.KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	arts := &artifact.Store{Dir: filepath.Join(dir, "blobs")}
	rm := runs.New(runs.Config{DataDir: dir, Store: db, Artifacts: arts})
	flags := &flagruntime.Runtime{Store: db}
	s := New(Config{Store: db, Runs: rm, Sealer: sealer, Artifacts: arts, Flags: flags,
		Rollouts: &rollout.Controller{Store: db}})
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)

	ctx := context.Background()
	if err := db.CreateProject(ctx, &store.Project{Name: "web", Repo: "https://git.example/web.git", Branch: "main",
		Concurrency: 1, CreatedAt: time.Now().UTC()}); err != nil {
		t.Fatal(err)
	}
	f := &apiFixture{url: ts.URL, store: db, tokens: map[string]string{}}
	for _, tok := range []store.Token{{Name: "root", Role: store.RoleAdmin}, {Name: "reader", Role: store.RoleRead},
		{Name: "app", Role: store.RoleFlags, Project: "web", Env: "production"}} {
		value := newToken()
		tok.Hash = hashToken(value)
		if err := db.CreateToken(ctx, &tok); err != nil {
			t.Fatal(err)
		}
		f.tokens[tok.Role] = value
	}
	return f
}

// do sends a request with the role's token and returns the status and the body as sent.
func (f *apiFixture) do(t *testing.T, role, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, f.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if role != "" {
		req.Header.Set("Authorization", "Bearer "+f.tokens[role])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(data)
}

// errorBody is an error answer exactly as the API writes it.
func errorBody(text string) string { return "{\n  \"error\": \"" + text + "\"\n}\n" }

// TestErrorAnswers checks the error answers of the endpoints handle and handleInProject serve, byte for byte:
// the order of the checks (project before body, body before project) decides which error a request with two
// faults gets, so the cases with two faults pin it.
func TestErrorAnswers(t *testing.T) {
	f := newAPIFixture(t)
	for _, c := range []struct {
		name, role, method, path, body string
		status                         int
		want                           string
	}{
		{"bad body", "admin", "POST", "/api/v1/projects", `{"nope": 1}`,
			400, errorBody(`bad request body: json: unknown field \"nope\"`)},
		{"body not JSON", "admin", "POST", "/api/v1/tokens", `{`,
			400, errorBody(`bad request body: unexpected EOF`)},
		{"invalid project name", "admin", "POST", "/api/v1/projects", `{"name": "Web"}`,
			400, errorBody(`invalid project name \"Web\": use lower-case letters, digits, '-', '_' or '.', starting with a letter or digit`)},
		{"unknown project", "admin", "GET", "/api/v1/projects/ghost", "",
			404, errorBody("project ghost not found")},
		{"unknown project's runs", "read", "GET", "/api/v1/projects/ghost/runs", "",
			404, errorBody("project ghost not found")},
		{"unknown project's status", "read", "GET", "/api/v1/projects/ghost/status", "",
			404, errorBody("project ghost not found")},
		{"unknown project before a bad body", "admin", "POST", "/api/v1/projects/ghost/environments/production/promote", `{"nope": 1}`,
			404, errorBody("project ghost not found")},
		{"unknown project before a bad override", "admin", "PUT", "/api/v1/projects/ghost/environments/production/flags/f/override", `{`,
			404, errorBody("project ghost not found")},
		{"bad body before unknown project", "admin", "POST", "/api/v1/projects/ghost/trigger", `{"nope": 1}`,
			400, errorBody(`bad request body: json: unknown field \"nope\"`)},
		{"bad commit before unknown project", "admin", "POST", "/api/v1/projects/ghost/trigger", `{"commit": "xyz"}`,
			400, errorBody(`invalid commit \"xyz\": give a hexadecimal commit id`)},
		{"unknown action", "admin", "POST", "/api/v1/projects/web/environments/production/jump", "",
			404, errorBody(`no action \"jump\": use promote, pause, resume, abort or rollback`)},
		{"nothing in flight", "admin", "POST", "/api/v1/projects/web/environments/production/pause", "",
			409, errorBody("pause: no rollout in flight in production")},
		{"bad id", "read", "GET", "/api/v1/runs/x", "",
			400, errorBody(`invalid id \"x\": give the number ferry shows`)},
		{"unknown run", "read", "GET", "/api/v1/runs/7", "",
			404, errorBody("run 7 not found")},
		{"unknown rollout", "read", "GET", "/api/v1/rollouts/7", "",
			404, errorBody("rollout 7 not found")},
		{"unknown release", "read", "GET", "/api/v1/releases/7", "",
			404, errorBody("release id 7 not found")},
		{"unknown release version", "read", "GET", "/api/v1/projects/web/releases/v7", "",
			404, errorBody("project web has no release v7 (it has no release yet)")},
		{"bad release version", "read", "GET", "/api/v1/projects/web/releases/7x", "",
			400, errorBody(`release \"7x\": give the release's version within its project, as 7 or v7`)},
		{"rollback to a version the project lacks", "admin", "POST", "/api/v1/projects/web/environments/production/rollback", `{"to": 7}`,
			404, errorBody("project web has no release v7 (it has no release yet)")},
		{"rollback to a negative version", "admin", "POST", "/api/v1/projects/web/environments/production/rollback", `{"to": -1}`,
			400, errorBody("rollback: to -1: give a release's version (7 for v7), or 0 for the previous one")},
		{"bad window", "read", "GET", "/api/v1/projects/web/dora?window=soon", "",
			400, errorBody(`invalid window \"soon\": window \"soon\": time: invalid duration \"soon\" (want a length such as 30d, 2w or 12h)`)},
		{"read-only token", "read", "POST", "/api/v1/projects", `{"name": "api"}`,
			403, errorBody("token reader is read-only")},
		{"read-only token, unknown project", "read", "DELETE", "/api/v1/projects/ghost", "",
			403, errorBody("token reader is read-only")},
		{"flags token", "flags", "GET", "/api/v1/projects", "",
			403, errorBody("token app only reads the flags of web/production, over OFREP (/ofrep/v1)")},
		{"tokens are for admins", "read", "GET", "/api/v1/tokens", "",
			403, errorBody("token reader is not an admin token: only admins list and revoke tokens")},
		{"token exists", "admin", "POST", "/api/v1/tokens", `{"name": "reader", "role": "read"}`,
			409, errorBody("token reader already exists: pick another name, or revoke it first (ferry token revoke reader)")},
		{"flags token of an unknown project", "admin", "POST", "/api/v1/tokens", `{"name": "x", "role": "flags", "project": "ghost", "env": "production"}`,
			404, errorBody("project ghost not found")},
		{"last admin", "admin", "DELETE", "/api/v1/tokens/root", "",
			409, errorBody("token root is the last admin token: create another admin token first (ferry token create NAME)")},
		{"no token", "", "GET", "/api/v1/projects", "",
			401, errorBody("missing bearer token (set FERRY_TOKEN or --token)")},
		{"no endpoint", "read", "GET", "/api/v1/nowhere", "",
			404, errorBody("no such endpoint: GET /api/v1/nowhere")},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, body := f.do(t, c.role, c.method, c.path, c.body)
			if status != c.status || body != c.want {
				t.Errorf("%s %s: %d %q, want %d %q", c.method, c.path, status, body, c.status, c.want)
			}
		})
	}
}

// TestAnswers checks the success answers' statuses, and that 204 has no body.
func TestAnswers(t *testing.T) {
	f := newAPIFixture(t)
	for _, c := range []struct {
		name, role, method, path, body string
		status                         int
		want                           string // "" checks the status alone
	}{
		{"whoami", "read", "GET", "/api/v1/whoami", "", 200, "{\n  \"name\": \"reader\",\n  \"role\": \"read\"\n}\n"},
		{"runs of a project", "read", "GET", "/api/v1/projects/web/runs", "", 200, "[]\n"},
		{"releases of a project", "read", "GET", "/api/v1/projects/web/releases?limit=3", "", 200, "[]\n"},
		{"rollouts of a project", "read", "GET", "/api/v1/projects/web/rollouts", "", 200, "[]\n"},
		{"secrets of a project", "read", "GET", "/api/v1/projects/web/secrets", "", 200, "[]\n"},
		{"status", "read", "GET", "/api/v1/projects/web/status", "", 200, "{\n  \"project\": \"web\",\n  \"environments\": []\n}\n"},
		{"token created", "admin", "POST", "/api/v1/tokens", `{"name": "ci", "role": "read"}`, 201, ""},
		{"token revoked", "admin", "DELETE", "/api/v1/tokens/ci", "", 204, ""},
		{"secret deleted", "admin", "DELETE", "/api/v1/projects/web/secrets/NOPE", "", 404, errorBody("secret NOPE not found")},
		{"project deleted", "admin", "DELETE", "/api/v1/projects/web", "", 204, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, body := f.do(t, c.role, c.method, c.path, c.body)
			if status != c.status || (c.want != "" && body != c.want) || (status == http.StatusNoContent && body != "") {
				t.Errorf("%s %s: %d %q, want %d %q", c.method, c.path, status, body, c.status, c.want)
			}
		})
	}
}

package e2e

import (
	"crypto/subtle"
	"fmt"
	"io"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// newPrivateRemote is newRemote whose smart HTTP asks for basic auth with user and password, as a forge does
// for a private repository. Pushes from the test's clone go to the bare repository directly.
func newPrivateRemote(t *testing.T, user, password string) *remote {
	t.Helper()
	root := t.TempDir()
	bare := filepath.Join(root, "srv", "app.git")
	work := filepath.Join(root, "work")
	os.MkdirAll(bare, 0o755)
	git(t, bare, "init", "--quiet", "--bare", "--initial-branch=main")
	git(t, root, "init", "--quiet", "--initial-branch=main", work)
	git(t, work, "remote", "add", "origin", bare)
	backend := "/usr/lib/git-core/git-http-backend"
	if p, err := exec.Command("git", "--exec-path").Output(); err == nil {
		backend = filepath.Join(strings.TrimSpace(string(p)), "git-http-backend")
	}
	cgiHandler := &cgi.Handler{
		Path: backend,
		Env:  []string{"GIT_PROJECT_ROOT=" + filepath.Join(root, "srv"), "GIT_HTTP_EXPORT_ALL=1"},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok || subtle.ConstantTimeCompare([]byte(u), []byte(user)) != 1 || subtle.ConstantTimeCompare([]byte(p), []byte(password)) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="forge"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		cgiHandler.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return &remote{t: t, URL: srv.URL + "/app.git", bare: bare, work: work}
}

// A repository token is a credential to the team's code: it must never show to a read-only token, in the
// audit log, in the server's log or in a run's reason, and a step must not be able to ask for it. Given as a
// project secret (or written into the URL, from which it is moved into one), the mirror clones with it.
func TestRepositoryTokenNeverShows(t *testing.T) {
	const token = "ghp_R3p0T0k3nV4lu3ThatMustNeverShow"
	const urlToken = "glpat-UrlT0k3nTh4tMustN3v3rShow"
	repo := newPrivateRemote(t, "ferry-bot", token)
	other := newPrivateRemote(t, "oauth2", urlToken)
	files := map[string]string{".ferry.yaml": passingPipeline}
	repo.commit("main", "first", files)
	other.commit("main", "first", files)
	f := startFerry(t)

	// Without credentials the forge refuses, and says so: at add time, with what to do, and at the trigger.
	if _, errOut, code := f.cli("", "project", "add", "nocred", "--repo", repo.URL, "--poll", "0"); code == 0 ||
		!strings.Contains(errOut, "is unreachable") || !strings.Contains(errOut, "--no-check") || !strings.Contains(errOut, "FERRY_REPO_TOKEN") {
		t.Errorf("project add of a private repository without credentials: exit %d %s", code, errOut)
	}
	f.addProject("nocred", repo.URL, "--poll", "0", "--no-check")
	if _, errOut, code := f.cli("", "trigger", "nocred"); code == 0 {
		t.Errorf("a private repository fetched without credentials: %s", errOut)
	}

	// The token as project secrets, set after the project is added unchecked: the URL stays clean.
	f.addProject("secret", repo.URL, "--poll", "0", "--no-check")
	if _, errOut, code := f.cli(token, "secret", "set", "secret", "FERRY_REPO_TOKEN"); code != 0 {
		t.Fatalf("secret set: %s", errOut)
	}
	if _, errOut, code := f.cli("ferry-bot", "secret", "set", "secret", "FERRY_REPO_USER"); code != 0 {
		t.Fatalf("secret set: %s", errOut)
	}
	if r := f.waitRun(f.trigger("secret")); r.State != "passed" {
		t.Fatalf("run with the repository secret: %s %s", r.State, r.Reason)
	}

	// The token written into the URL, as older setups do: it is moved into the project's secrets.
	withToken := strings.Replace(other.URL, "http://", "http://oauth2:"+urlToken+"@", 1)
	f.addProject("inurl", withToken, "--poll", "0")
	if r := f.waitRun(f.trigger("inurl")); r.State != "passed" {
		t.Fatalf("run with the token in the URL: %s %s", r.State, r.Reason)
	}
	if secrets := f.mustCLI("secret", "list", "inurl"); !strings.Contains(secrets, "FERRY_REPO_TOKEN") || !strings.Contains(secrets, "FERRY_REPO_USER") {
		t.Errorf("the URL's credentials did not become the project's secrets:\n%s", secrets)
	}

	// A wrong token: the run cannot be queued, and the error quotes no token.
	wrong := strings.Replace(repo.URL, "http://", "http://ferry-bot:"+urlToken+"@", 1)
	_, addErr, code := f.cli("", "project", "add", "wrong", "--repo", wrong, "--poll", "0")
	if code == 0 || !strings.Contains(addErr, "Authentication failed") {
		t.Errorf("project add with a wrong token: exit %d %s", code, addErr)
	}
	f.addProject("wrong", wrong, "--poll", "0", "--no-check")
	_, wrongErr, code := f.cli("", "trigger", "wrong")
	if code == 0 {
		t.Errorf("a wrong token fetched the repository")
	}

	// A commit asking for the token in a step gets an error, not the token.
	repo.commit("main", "steal", map[string]string{".ferry.yaml": `version: 1
stages:
  - name: build
    steps:
      - name: steal
        secrets: [FERRY_REPO_TOKEN]
        run: echo "$FERRY_REPO_TOKEN"
`})
	steal := f.waitRun(f.trigger("secret"))
	// The pipeline refuses FERRY_* secret names; the scheduler refuses the repository's secrets as well.
	if steal.State == "passed" || !strings.Contains(steal.Reason, "FERRY_REPO_TOKEN") {
		t.Errorf("a step asking for the repository token: %s %q", steal.State, steal.Reason)
	}

	var reasons strings.Builder
	for _, p := range []string{"nocred", "secret", "inurl"} {
		for _, r := range f.runs(p) {
			reasons.WriteString(r.Reason + "\n")
			reasons.WriteString(f.mustCLI("logs", fmt.Sprint(r.ID)))
		}
	}
	// A read-only token sees projects, audit and runs.
	ro := *f
	ro.token = strings.TrimSpace(strings.Split(f.mustCLI("token", "create", "viewer", "--read-only"), "FERRY_TOKEN=")[1])
	seen := map[string]string{
		"project list --json":        ro.mustCLI("project", "list", "--json"),
		"project list":               ro.mustCLI("project", "list"),
		"audit --json":               ro.mustCLI("audit", "--json"),
		"run reasons and logs":       reasons.String(),
		"trigger error":              wrongErr,
		"project add error":          addErr,
		"server log":                 f.logs.String(),
		"GET /api/v1/projects/inurl": func() string { _, out := getAs(t, f, "/api/v1/projects/inurl"); return out }(),
	}
	for where, text := range seen {
		for _, secret := range []string{token, urlToken} {
			if strings.Contains(text, secret) {
				t.Errorf("%s shows the repository token:\n%s", where, text)
			}
		}
	}
	if !strings.Contains(seen["project list --json"], other.URL) {
		t.Errorf("project list does not show the repository URL without its credentials:\n%s", seen["project list --json"])
	}
}

// getAs GETs path with f's token and returns the status and body.
func getAs(t *testing.T, f *ferry, path string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", f.url(path), nil)
	req.Header.Set("Authorization", "Bearer "+f.token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

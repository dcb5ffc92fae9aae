package e2e

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// project add asks the repository first: a repository that is not there or a branch it does not have is a
// clear error that adds nothing; an empty repository is accepted with a note.
func TestProjectAddChecksTheRepository(t *testing.T) {
	repo := newRemote(t)
	repo.commit("main", "first", map[string]string{".ferry.yaml": passingPipeline})
	repo.commit("develop", "second", nil)
	f := startFerry(t)

	_, errOut, code := f.cli("", "project", "add", "app", "--repo", repo.URL, "--branch", "mian")
	if code == 0 || !strings.Contains(errOut, `has no branch "mian" (did you mean "main"?): its branches are develop, main`) ||
		!strings.Contains(errOut, "--no-check") {
		t.Errorf("project add with a misspelt branch: exit %d %s", code, errOut)
	}
	nowhere := filepath.Join(t.TempDir(), "nowhere.git")
	_, errOut, code = f.cli("", "project", "add", "app", "--repo", nowhere)
	if code == 0 || !strings.Contains(errOut, "repository "+nowhere+" is unreachable: '"+nowhere+"' does not appear to be a git repository") {
		t.Errorf("project add of a repository that does not exist: exit %d %s", code, errOut)
	}
	if out := f.mustCLI("project", "list"); strings.Contains(out, "app") {
		t.Errorf("a refused project was added:\n%s", out)
	}

	if out := f.mustCLI("project", "add", "app", "--repo", repo.URL, "--branch", "develop", "--poll", "0"); strings.Contains(out, "note:") {
		t.Errorf("project add of a good branch: %s", out)
	}
	// A flags token is for an app: printed as what it is, never as a FERRY_TOKEN to paste into a shell.
	out, errOut, code := f.cli("", "token", "create", "checkout-app", "--flags", "app/production")
	if code != 0 || !strings.Contains(out, "\n  FERRY_FLAGS_TOKEN=ferry_") || strings.Contains(out, "FERRY_TOKEN") || !strings.Contains(out, "not to the ferry CLI") {
		t.Errorf("token create --flags: exit %d\n%s%s", code, out, errOut)
	}
	if out := f.mustCLI("token", "create", "ci"); !strings.Contains(out, "export FERRY_TOKEN=ferry_") {
		t.Errorf("token create of an admin token:\n%s", out)
	}

	empty := newRemote(t)
	if out := f.mustCLI("project", "add", "new", "--repo", empty.URL, "--poll", "0"); !strings.Contains(out, "note: the repository has no branch yet: its first push to main will run") {
		t.Errorf("project add of an empty repository: %s", out)
	}
}

// A project whose polls fail shows the last error and when, in project list, the API and the dashboard,
// until a poll succeeds.
func TestPollErrorsAreShown(t *testing.T) {
	repo := newRemote(t)
	repo.commit("main", "first", map[string]string{".ferry.yaml": passingPipeline})
	f := startFerry(t)
	f.addProject("app", repo.URL, "--branch", "feature", "--poll", "1s", "--no-check")

	type view struct {
		PollError *struct {
			Message string
			At      time.Time
		} `json:"poll_error"`
	}
	var v view
	waitFor(t, 30*time.Second, "a poll error", func() bool {
		v = view{}
		f.api("GET", "/api/v1/projects/app", nil, &v)
		return v.PollError != nil
	})
	if !strings.Contains(v.PollError.Message, "branch feature not found in "+repo.URL) || time.Since(v.PollError.At) > time.Minute {
		t.Errorf("poll error %+v", *v.PollError)
	}
	if out := f.mustCLI("project", "list"); !strings.Contains(out, "POLL ERROR") || !strings.Contains(out, "ago: branch feature not found") {
		t.Errorf("project list does not show the poll error:\n%s", out)
	}
	page := dashboardPage(t, f, "/ui/projects/app")
	if !strings.Contains(page, "Polling feature fails: branch feature not found in "+repo.URL) {
		t.Errorf("the project page does not show the poll error:\n%s", page)
	}

	// The branch appears: the next poll succeeds, clears the error and runs its head.
	repo.commit("feature", "the branch", nil)
	waitFor(t, 30*time.Second, "the poll error to clear", func() bool {
		v = view{}
		f.api("GET", "/api/v1/projects/app", nil, &v)
		return v.PollError == nil
	})
	if out := f.mustCLI("project", "list"); strings.Contains(out, "not found") {
		t.Errorf("project list still shows the poll error:\n%s", out)
	}
	if runs := f.runs("app"); len(runs) == 0 {
		t.Errorf("no run after the branch appeared")
	}
}

// dashboardPage signs in to the dashboard with the admin token and returns a page's HTML.
func dashboardPage(t *testing.T, f *ferry, path string) string {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.PostForm(f.url("/ui/signin"), url.Values{"token": {f.token}, "next": {"/ui/"}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	res, err = c.Get(f.url(path))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s\n%s", path, res.Status, b)
	}
	return string(b)
}

package e2e

import (
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestOneReleaseNumberEverywhere: two projects release in turn, so a release's store id and its version within
// its project differ (alpha's v3 is release id 5). The CLI, the API, the dashboard and the server's log name
// alpha's releases by their versions alone; --to and --release take a version (7 or v7) of the project; a
// version the project does not have is an error that changes nothing.
func TestOneReleaseNumberEverywhere(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Fatal("this test deploys python3's http.server (Debian package python3): ", err)
	}
	listen := freeAddr(t)
	alphaPipeline := fmt.Sprintf(`version: 1
stages:
  - name: build
    steps:
      - name: site
        run: mkdir -p site && echo "$FERRY_COMMIT" > site/index.html
        artifacts: [site]
environments:
  - name: production
    service: {run: "cd site && exec python3 -m http.server \"$PORT\" --bind 127.0.0.1", listen: "%s", health: {path: /, interval: 100ms}}
`, listen)
	betaPipeline := "version: 1\nstages:\n  - name: build\n    steps:\n      - {name: noop, run: \"true\"}\n"
	alpha, beta := newRemote(t), newRemote(t)
	f := startFerry(t)
	f.addProject("alpha", alpha.URL, "--poll", "0")
	f.addProject("beta", beta.URL, "--poll", "0")

	// alpha v1 (id 1), beta v1 (id 2), alpha v2 (id 3), beta v2 (id 4), alpha v3 (id 5).
	var alphaRuns []*run
	for i := range 5 {
		project, repo, pl := "alpha", alpha, alphaPipeline
		if i%2 == 1 {
			project, repo, pl = "beta", beta, betaPipeline
		}
		repo.commit("main", fmt.Sprint(project, " ", i), map[string]string{".ferry.yaml": pl})
		r := f.waitRun(f.trigger(project))
		if r.State != "passed" {
			t.Fatalf("run %d of %s: %s %s", i, project, r.State, r.Reason)
		}
		if project == "alpha" {
			if ro := f.waitRollout("alpha", "production", r.ReleaseID); ro.State != "succeeded" {
				t.Fatalf("rollout of alpha's run %d: %+v", r.ID, ro)
			}
			alphaRuns = append(alphaRuns, r)
		}
	}
	for i, r := range alphaRuns {
		if r.ReleaseVersion != int64(i+1) || r.ReleaseID != int64(2*i+1) {
			t.Fatalf("alpha's release %d: id %d, version %d; want id %d, version %d", i, r.ReleaseID, r.ReleaseVersion, 2*i+1, i+1)
		}
	}
	live := alphaRuns[2] // v3, id 5

	// The API: the ids for machines, each beside its version.
	e := f.envStatus("alpha", "production")
	if e.LiveReleaseID != live.ReleaseID || e.LiveReleaseVersion != 3 || e.Rollout == nil || e.Rollout.ReleaseVersion != 3 ||
		e.Rollout.FromReleaseVersion != 2 {
		t.Fatalf("status: %+v, rollout %+v", e, e.Rollout)
	}
	var rel struct {
		Release struct {
			ID      int64 `json:"id"`
			Version int64 `json:"version"`
		} `json:"release"`
	}
	if code := f.api("GET", "/api/v1/projects/alpha/releases/v3", nil, &rel); code != 200 || rel.Release.ID != 5 || rel.Release.Version != 3 {
		t.Errorf("GET /api/v1/projects/alpha/releases/v3: HTTP %d %+v", code, rel)
	}
	var fl struct {
		ReleaseVersion int64 `json:"release_version"`
	}
	if code := f.api("GET", "/api/v1/projects/alpha/environments/production/flags", nil, &fl); code != 200 || fl.ReleaseVersion != 3 {
		t.Errorf("flags of alpha/production: HTTP %d %+v", code, fl)
	}
	if code := f.api("GET", "/api/v1/projects/beta/releases/3", nil, nil); code != 404 {
		t.Errorf("beta has no v3: HTTP %d", code)
	}

	// The CLI says v3 wherever it names the release, and never its id.
	id := regexp.MustCompile(`release 5\b|release #5\b`)
	for _, args := range [][]string{{"status", "alpha"}, {"rollout", "list", "alpha"}, {"releases", "alpha"},
		{"run", "show", fmt.Sprint(live.ID)}, {"rollout", "show", fmt.Sprint(f.envStatus("alpha", "production").Rollout.ID)},
		{"release", "show", "alpha", "3"}, {"release", "show", "alpha", "v3"}} {
		out := f.mustCLI(args...)
		if !strings.Contains(out, "v3") || id.MatchString(out) {
			t.Errorf("ferry %s does not name the release v3:\n%s", strings.Join(args, " "), out)
		}
	}
	if out := f.mustCLI("status", "alpha"); !strings.Contains(out, "release v3") {
		t.Errorf("ferry status:\n%s", out)
	}
	// The dashboard shows the same number.
	if page := dashboardPage(t, f, "/ui/projects/alpha/environments/production"); !strings.Contains(page, "<b>v3</b>") ||
		!strings.Contains(page, "v2 → v3") {
		t.Errorf("the environment page does not show v3 live, from v2")
	}
	// The server's log: key release is the version, release_id the store's id.
	if logs := f.logs.String(); !strings.Contains(logs, "project=alpha env=production") ||
		!regexp.MustCompile(`msg=rollout project=alpha env=production rollout=\d+ release=3 release_id=5 `).MatchString(logs) {
		t.Errorf("the server log does not name alpha's v3 as release=3:\n%s", logs)
	}
	// What the instances printed, by version.
	if _, stderr, code := f.cli("", "logs", "--env", "alpha/production", "--release", "v2"); code != 0 {
		t.Errorf("logs --release v2: exit %d: %s", code, stderr)
	}

	// A version alpha does not have: an error naming what it has, and nothing changes.
	before := len(f.rollouts("alpha"))
	for _, to := range []string{"v9", "4"} {
		_, stderr, code := f.cli("", "rollback", "alpha", "production", "--to", to)
		if code == 0 || !strings.Contains(stderr, "project alpha has no release v") || !strings.Contains(stderr, "v3, v2, v1") {
			t.Errorf("rollback --to %s: exit %d: %s", to, code, stderr)
		}
	}
	for _, to := range []string{"x", "v0", "-1"} {
		if _, stderr, code := f.cli("", "rollback", "alpha", "production", "--to", to); code == 0 || !strings.Contains(stderr, "7 or v7") {
			t.Errorf("rollback --to %s: exit %d: %s", to, code, stderr)
		}
	}
	if e := f.envStatus("alpha", "production"); e.LiveReleaseVersion != 3 || len(f.rollouts("alpha")) != before {
		t.Fatalf("a refused rollback changed something: live v%d, %d rollouts (was %d)", e.LiveReleaseVersion, len(f.rollouts("alpha")), before)
	}

	// --to v1 and --to 2 pick alpha's versions 1 and 2 (ids 1 and 3), not the releases with ids 1 and 2.
	for _, tc := range []struct {
		to          string
		version, id int64
	}{{"v1", 1, 1}, {"2", 2, 3}} {
		out := f.mustCLI("rollback", "alpha", "production", "--to", tc.to)
		if !strings.Contains(out, fmt.Sprintf("release v%d", tc.version)) {
			t.Errorf("rollback --to %s: %s", tc.to, out)
		}
		waitFor(t, 30*time.Second, "the rollback to "+tc.to, func() bool {
			e := f.envStatus("alpha", "production")
			return e.LiveReleaseVersion == tc.version && e.LiveReleaseID == tc.id && e.Rollout != nil && e.Rollout.State == "succeeded"
		})
	}
}

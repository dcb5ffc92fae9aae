package e2e

import (
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// envApp is a repository whose service answers /env/NAME with its variable NAME, built by the pipeline.
func envApp(pipeline string) map[string]string {
	return map[string]string{
		".ferry.yaml": pipeline,
		"go.mod":      "module envapp\n\ngo 1.22\n",
		"main.go": `package main

import (
	"fmt"
	"net/http"
	"os"
)

func main() {
	http.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	http.HandleFunc("/env/{name}", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, os.Getenv(r.PathValue("name"))) })
	http.ListenAndServe("127.0.0.1:"+os.Getenv("PORT"), nil)
}
`,
	}
}

func getBody(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestServiceSecretsReachInstancesOnly: a service names a project secret. Without it the rollout fails with
// the command that sets it; with it, the instances get it (and the FERRY_ variables saying what runs), and a
// data plane that stopped gets it again from the next server. The value is in no file of the data folder (the
// database holds it sealed), in no log, and not in the data plane's state.
func TestServiceSecretsReachInstancesOnly(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Fatal("this test builds its app with go")
	}
	const value = "Hunter2-db-Passw0rd-e2e"
	listen := freeAddr(t)
	repo := newRemote(t)
	commit := repo.commit("main", "app", envApp(fmt.Sprintf(`version: 1
stages:
  - name: build
    steps:
      - name: compile
        run: mkdir -p dist && CGO_ENABLED=0 go build -o dist/envapp .
        artifacts: [dist]
environments:
  - name: production
    service:
      run: ./dist/envapp
      listen: "%s"
      secrets: [DB_PASSWORD]
      health: {path: /healthz, interval: 100ms}
`, listen)))
	f := startFerry(t, buildsGo)
	f.addProject("shop", repo.URL, "--poll", "0")

	r := f.waitRun(f.trigger("shop"))
	if r.State != "passed" {
		t.Fatalf("run: %s %s", r.State, r.Reason)
	}
	ro := f.waitRollout("shop", "production", r.ReleaseID)
	if ro.State != "failed" || !strings.Contains(ro.Reason, "needs secret DB_PASSWORD") ||
		!strings.Contains(ro.Reason, "ferry secret set shop DB_PASSWORD") {
		t.Fatalf("rollout without the secret: %+v", ro)
	}

	if out, errOut, code := f.cli(value, "secret", "set", "shop", "DB_PASSWORD"); code != 0 {
		t.Fatalf("secret set: %s%s", out, errOut)
	}
	r = f.waitRun(f.trigger("shop"))
	if ro := f.waitRollout("shop", "production", r.ReleaseID); ro.State != "succeeded" {
		t.Fatalf("rollout with the secret: %+v\n%s", ro, f.logs)
	}
	base := "http://" + listen + "/env/"
	for name, want := range map[string]string{"DB_PASSWORD": value, "FERRY_PROJECT": "shop", "FERRY_ENVIRONMENT": "production",
		"FERRY_RELEASE": fmt.Sprint(r.ReleaseVersion), "FERRY_RELEASE_ID": fmt.Sprint(r.ReleaseID), "FERRY_COMMIT": commit} {
		if got := getBody(t, base+name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}

	// Both processes stop; the next server starts a data plane, which restores the release without its
	// secret, and gives it again.
	logs := f.logs.String()
	f.stop()
	f.mustStopDataPlane()
	f.start()
	waitFor(t, 60*time.Second, "the release to answer with its secret after the restart", func() bool {
		resp, err := http.Get(base + "DB_PASSWORD")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b) == value
	})

	f.stop()
	f.mustStopDataPlane()
	if strings.Contains(logs+f.logs.String(), value) {
		t.Errorf("the server's log holds the secret")
	}
	filepath.WalkDir(f.data, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		if b, err := os.ReadFile(p); err == nil && strings.Contains(string(b), value) {
			t.Errorf("%s holds the secret's value", p)
		}
		return nil
	})
}

// mustStopDataPlane stops the data folder's data plane and its instances.
func (f *ferry) mustStopDataPlane() {
	f.t.Helper()
	if out, err := exec.Command(ferryBin, "dataplane", "stop", "--data", f.data).CombinedOutput(); err != nil {
		f.t.Fatalf("dataplane stop: %v\n%s", err, out)
	}
}

// TestRetentionKeepsTheNewestReleases deploys five releases with --keep-releases 1: the data folder keeps the
// live, the previous and the newest release's files and blobs, a failed run's blob goes, and a rollback to a
// release whose files are gone fails at once saying so.
func TestRetentionKeepsTheNewestReleases(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Fatal("this test deploys python3's http.server (Debian package python3): ", err)
	}
	listen := freeAddr(t)
	pl := fmt.Sprintf(`version: 1
stages:
  - name: build
    steps:
      - name: site
        run: mkdir -p site && echo "$FERRY_COMMIT" > site/index.html
        artifacts: [site]
  - name: check
    steps:
      - {name: check, run: "test ! -f fail"}
environments:
  - name: production
    service: {run: "cd site && exec python3 -m http.server \"$PORT\" --bind 127.0.0.1", listen: "%s", health: {path: /, interval: 100ms}}
`, listen)
	repo := newRemote(t)
	f := startFerry(t, "--keep-releases", "1")
	f.addProject("site", repo.URL, "--poll", "0")
	var releases, versions []int64
	for i := range 5 {
		repo.commit("main", fmt.Sprint("v", i), map[string]string{".ferry.yaml": pl})
		r := f.waitRun(f.trigger("site"))
		if r.State != "passed" {
			t.Fatalf("run %d: %s %s", i, r.State, r.Reason)
		}
		if ro := f.waitRollout("site", "production", r.ReleaseID); ro.State != "succeeded" {
			t.Fatalf("rollout %d: %+v", i, ro)
		}
		releases, versions = append(releases, r.ReleaseID), append(versions, r.ReleaseVersion)
	}
	// A run that fails after its build kept its artifact: that blob goes too.
	repo.commit("main", "broken", map[string]string{".ferry.yaml": pl, "fail": "x"})
	if r := f.waitRun(f.trigger("site")); r.State != "failed" {
		t.Fatalf("the broken run: %s %s", r.State, r.Reason)
	}
	released := func() []string {
		entries, _ := os.ReadDir(filepath.Join(f.data, "releases", "site"))
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		return names
	}
	want := fmt.Sprint([]string{fmt.Sprint(releases[3]), fmt.Sprint(releases[4])})
	blobs := func() int {
		n := 0
		filepath.WalkDir(filepath.Join(f.data, "blobs", "sha256"), func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() {
				n++
			}
			return nil
		})
		return n
	}
	// Each kept release: its manifest and its index.html, and the pipeline file they share.
	waitFor(t, 10*time.Second, "the sweep after the failed run", func() bool { return fmt.Sprint(released()) == want && blobs() == 5 })

	out, stderr, code := f.cli("", "rollback", "site", "production", "--to", fmt.Sprint(versions[0]))
	if code != 0 {
		t.Logf("rollback --to a removed release: exit %d: %s%s", code, out, stderr)
	}
	waitFor(t, 30*time.Second, "the rollback to fail", func() bool {
		ro := f.envStatus("site", "production").Rollout
		return ro != nil && ro.ReleaseID == releases[0] && ro.State == "failed" && strings.Contains(ro.Reason, "no longer kept")
	})
	if got := getBody(t, "http://"+listen+"/"); strings.TrimSpace(got) == "" {
		t.Error("production stopped serving")
	}
}

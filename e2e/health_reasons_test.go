package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// probeApp is a service that has only /healthz and / (anything else is 404) and says what it does on stdout.
const probeApp = `package main

import (
	"fmt"
	"net/http"
	"os"
)

func main() {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Println("served", r.URL.Path)
		fmt.Fprintln(w, "hello")
	})
	fmt.Println("probe app listening on", os.Getenv("PORT"))
	if err := http.ListenAndServe("127.0.0.1:"+os.Getenv("PORT"), mux); err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
}
`

func probeAppPipeline(listen, healthPath string) string {
	return fmt.Sprintf(`version: 1
stages:
  - name: build
    steps:
      - name: compile
        run: mkdir -p dist && CGO_ENABLED=0 go build -o dist/app ./app
        artifacts: [dist]
environments:
  - name: production
    service: {run: "cd dist && exec ./app", listen: "%s", instances: 1, health: {path: %s, interval: 100ms}}
    strategy: direct
`, listen, healthPath)
}

// A release whose health path answers 404 fails with the 404 in its reason (the harness serves with
// --health-timeout 5s), and `ferry logs --env` shows what the live release printed.
func TestHealthReasonAndAppLogs(t *testing.T) {
	repo := newRemote(t)
	production := freeAddr(t)
	f := startFerry(t, buildsGo)
	f.addProject("probe", repo.URL, "--poll", "0")
	files := map[string]string{"go.mod": "module example.com/probe\n\ngo 1.22\n", "app/main.go": probeApp}

	files[".ferry.yaml"] = probeAppPipeline(production, "/healthz")
	repo.commit("main", "v1", files)
	r1 := f.waitRun(f.trigger("probe"))
	if r1.State != "passed" {
		t.Fatalf("run %s: %s", r1.State, r1.Reason)
	}
	if ro := f.waitRollout("probe", "production", r1.ReleaseID); ro.State != "succeeded" {
		t.Fatalf("v1: %+v", ro)
	}
	if got := versionAt(production); got != "hello" {
		t.Fatalf("production answers %q", got)
	}
	waitFor(t, 10*time.Second, "the request in the app's output", func() bool {
		out, _, _ := f.cli("", "logs", "--env", "probe/production")
		return strings.Contains(out, "[0] served /")
	})
	out := f.mustCLI("logs", "--env", "probe/production", "--lines", "5")
	if !strings.Contains(out, "[0] probe app listening on") {
		t.Errorf("ferry logs --env lacks the app's first line:\n%s", out)
	}
	if _, errOut, code := f.cli("", "logs", "--env", "probe/nope"); code == 0 || !strings.Contains(errOut, `environment "nope" of project probe does not exist (environments: [production])`) {
		t.Errorf("logs of an unknown environment: exit %d, %s", code, errOut)
	}

	files[".ferry.yaml"] = probeAppPipeline(production, "/ready")
	repo.commit("main", "v2: a health path the app does not have", files)
	r2 := f.waitRun(f.trigger("probe"))
	if r2.State != "passed" {
		t.Fatalf("run %s: %s", r2.State, r2.Reason)
	}
	ro := f.waitRollout("probe", "production", r2.ReleaseID)
	want := "did not become healthy within 5s: GET /ready answered 404 (instance 0)"
	if ro.State != "failed" || !strings.Contains(ro.Reason, want) {
		t.Fatalf("v2 rollout %s: %q, want %q", ro.State, ro.Reason, want)
	}
	if out := f.mustCLI("status", "probe"); !strings.Contains(out, want) {
		t.Errorf("ferry status lacks the reason:\n%s", out)
	}
	// Its instances' output stays readable by release.
	if out := f.mustCLI("logs", "--env", "probe/production", "--release", fmt.Sprintf("v%d", r2.ReleaseVersion)); !strings.Contains(out, "[0] probe app listening on") {
		t.Errorf("logs of the failed release:\n%s", out)
	}
}

// A step that runs a command that does not exist fails with "not found" in its reason, in `ferry runs` and
// `ferry run show`.
func TestStepReasonShowsItsLastLines(t *testing.T) {
	repo := newRemote(t)
	repo.commit("main", "typo", map[string]string{".ferry.yaml": `version: 1
stages:
  - name: test
    steps:
      - name: unit
        run: |
          echo running the tests
          nonexistent-cmd --all
`})
	f := startFerry(t)
	f.addProject("app", repo.URL, "--poll", "0")
	id := f.trigger("app")
	r := f.waitRun(id)
	if r.State != "failed" || !strings.Contains(r.Reason, "test/unit: exit status 127: ") || !strings.Contains(r.Reason, "nonexistent-cmd: not found") {
		t.Fatalf("run %s: %q", r.State, r.Reason)
	}
	if out := f.mustCLI("runs", "app"); !strings.Contains(out, "nonexistent-cmd: not found") {
		t.Errorf("ferry runs lacks the step's last line:\n%s", out)
	}
	out := f.mustCLI("run", "show", fmt.Sprint(id))
	for _, want := range []string{"exit status 127: ", "last lines of output:", "  running the tests"} {
		if !strings.Contains(out, want) {
			t.Errorf("ferry run show lacks %q:\n%s", want, out)
		}
	}
}

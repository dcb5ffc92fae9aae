package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// watchPipeline ships the prebuilt app to production once the test opens the gate (a URL the build step
// waits for), so that a run is in flight for as long as the test needs. fail makes the build fail after it.
const watchPipeline = `version: 1
stages:
  - name: build
    steps:
      - name: package
        run: |
          until curl -sf %s >/dev/null; do sleep 0.1; done
          test %q != fail
          mkdir -p dist
          cp bin/app dist/app
        artifacts: [dist]
environments:
  - name: production
    service: {run: "cd dist && exec ./app", listen: "%s", instances: 1, health: {path: /healthz, interval: 100ms}}
    strategy: direct
`

// rollout watch started right after a push follows the rollout that push makes, not the one before it, and
// ends with the run when the run fails; an environment the project does not have is named as such.
func TestRolloutWatchWaitsForThePush(t *testing.T) {
	var open atomic.Bool
	open.Store(true)
	gate := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if !open.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(gate.Close)
	repo := newRemote(t)
	addr := freeAddr(t)
	app := buildApp(t)
	pipeline := func(mode string) string { return fmt.Sprintf(watchPipeline, gate.URL, mode, addr) }
	repo.commit("main", "one", map[string]string{".ferry.yaml": pipeline("ok"), "bin/app": app})
	f := startFerry(t)
	f.addProject("app", repo.URL, "--poll", "0")
	f.waitRun(f.trigger("app"))
	f.settle("app")
	first := f.rollouts("app")[0]

	_, errOut, code := f.cli("", "rollout", "watch", "app", "prod")
	if code == 0 || !strings.Contains(errOut, `environment "prod" of project app does not exist: its environments are production`) {
		t.Errorf("rollout watch of an environment that does not exist: exit %d %s", code, errOut)
	}

	// A push: its run waits at the gate while the watch starts.
	open.Store(false)
	repo.commit("main", "two", map[string]string{"two.txt": "2"})
	run := f.trigger("app")
	watch, out := startWatch(t, f, "app", "production")
	waitOutput(t, out, "waiting for a new rollout in app/production (run")
	if strings.Contains(out.String(), fmt.Sprintf("rollout %d ", first.ID)) {
		t.Errorf("the watch showed the previous rollout:\n%s", out)
	}
	open.Store(true)
	if err := watch.Wait(); err != nil {
		t.Fatalf("rollout watch: %v\n%s", err, out)
	}
	second := f.rollouts("app")[0]
	if r := f.getRun(run); second.ID == first.ID || second.ReleaseID != r.ReleaseID || !strings.Contains(out.String(), fmt.Sprintf("rollout %d ", second.ID)) ||
		!strings.Contains(out.String(), "SUCCEEDED") {
		t.Errorf("the watch did not follow the new rollout %+v of run %d:\n%s", second, run, out)
	}

	// A push whose run fails: the watch says so and exits 1.
	open.Store(false)
	repo.commit("main", "three", map[string]string{".ferry.yaml": pipeline("fail")})
	run = f.trigger("app")
	watch, out = startWatch(t, f, "app", "production")
	waitOutput(t, out, "waiting for a new rollout")
	open.Store(true)
	err := watch.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(out.String(), fmt.Sprintf("run %d of commit", run)) ||
		!strings.Contains(out.String(), "failed") {
		t.Errorf("rollout watch of a failing push: %v\n%s", err, out)
	}
}

// startWatch starts `ferry rollout watch` against f and returns it with its output (stdout and stderr).
func startWatch(t *testing.T, f *ferry, project, env string, args ...string) (*exec.Cmd, *lockedWriter) {
	t.Helper()
	cmd := exec.Command(ferryBin, append([]string{"rollout", "watch", project, env}, args...)...)
	cmd.Env = append(cmd.Environ(), "FERRY_SERVER=http://"+f.addr, "FERRY_TOKEN="+f.token)
	out := &lockedWriter{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	return cmd, out
}

// waitOutput waits until a watch's output holds want.
func waitOutput(t *testing.T, out *lockedWriter, want string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(out.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("the watch never printed %q:\n%s", want, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

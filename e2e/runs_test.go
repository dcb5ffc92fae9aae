package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const passingPipeline = `version: 1
env:
  GREETING: hello
stages:
  - name: build
    steps:
      - name: compile
        run: |
          mkdir -p dist
          printf '#!/bin/sh\necho "%s from %s"\n' "$GREETING" "$FERRY_COMMIT" > dist/app
          chmod +x dist/app
          echo "built on branch $FERRY_BRANCH in run $FERRY_RUN_ID"
        artifacts: [dist/app]
  - name: test
    steps:
      - name: unit
        run: ./dist/app | grep -q hello && echo unit ok
      - name: env
        run: |
          test -z "$FERRY_TOKEN" || { echo "server token leaked into the step"; exit 1; }
          test "$FERRY_WORKSPACE" = "$(pwd)"
          echo env ok
`

func TestPassingRunLeavesRelease(t *testing.T) {
	repo := newRemote(t)
	sha := repo.commit("main", "first", map[string]string{".ferry.yaml": passingPipeline})
	f := startFerry(t)
	f.addProject("app", repo.URL, "--poll", "0")
	id := f.trigger("app")
	r := f.waitRun(id)
	if r.State != "passed" {
		t.Fatalf("run %s: %s\n%s", r.State, r.Reason, f.mustCLI("logs", fmt.Sprint(id)))
	}
	if r.Commit != sha {
		t.Errorf("run commit %s, want %s", r.Commit, sha)
	}
	if r.ReleaseID == 0 {
		t.Fatal("passed run has no release")
	}
	if got := r.step("build/compile").Artifacts; len(got) != 1 || got[0].Path != "dist/app" || !strings.HasPrefix(got[0].Digest, "sha256:") {
		t.Errorf("artifacts = %+v", got)
	}

	var rel struct {
		Release struct {
			Version int64  `json:"version"`
			Commit  string `json:"commit"`
			Message string `json:"message"`
			Author  string `json:"author"`
			Bundle  string `json:"bundle"`
		} `json:"release"`
		Files []struct{ Path, Digest string } `json:"files"`
	}
	if code := f.api("GET", fmt.Sprintf("/api/v1/releases/%d", r.ReleaseID), nil, &rel); code != 200 {
		t.Fatalf("get release: HTTP %d", code)
	}
	if rel.Release.Version != 1 || rel.Release.Commit != sha || rel.Release.Message != "first" ||
		rel.Release.Author != "Test Author <author@example.com>" || !strings.HasPrefix(rel.Release.Bundle, "sha256:") {
		t.Errorf("release = %+v", rel.Release)
	}
	if len(rel.Files) != 1 || rel.Files[0].Path != "dist/app" {
		t.Errorf("release files = %+v", rel.Files)
	}
	// The stored artifact is the file the step built, at the exact commit.
	blob := filepath.Join(f.data, "blobs", "sha256", rel.Files[0].Digest[7:9], rel.Files[0].Digest[7:])
	data, err := os.ReadFile(blob)
	if err != nil || !strings.Contains(string(data), "hello from "+sha) {
		t.Errorf("artifact blob %s = %q, %v", blob, data, err)
	}

	logs := f.mustCLI("logs", fmt.Sprint(id))
	for _, want := range []string{"[build/compile] built on branch main in run " + fmt.Sprint(id), "[test/unit] unit ok", "[test/env] env ok"} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
	onlyUnit := f.mustCLI("logs", fmt.Sprint(id), "--step", "unit")
	if !strings.Contains(onlyUnit, "unit ok") || strings.Contains(onlyUnit, "env ok") {
		t.Errorf("logs --step unit:\n%s", onlyUnit)
	}
	// A step the run does not have is an error naming those it has, not an empty log.
	if out, errOut, code := f.cli("", "logs", fmt.Sprint(id), "--step", "unti"); code == 0 || out != "" ||
		!strings.Contains(errOut, `run `+fmt.Sprint(id)+` has no step "unti" (did you mean "test/unit"?): its steps are build/compile, test/unit, test/env`) {
		t.Errorf("logs --step unti: exit %d\n%s%s", code, out, errOut)
	}
	show := f.mustCLI("run", "show", fmt.Sprint(id))
	if !strings.Contains(show, "PASSED") || !strings.Contains(show, "test/unit") {
		t.Errorf("run show:\n%s", show)
	}
	if out := f.mustCLI("releases", "app"); !strings.Contains(out, sha[:7]) {
		t.Errorf("releases:\n%s", out)
	}
	// The run's checkout is removed once it ends.
	if _, err := os.Stat(filepath.Join(f.data, "work", fmt.Sprint(id))); !os.IsNotExist(err) {
		t.Errorf("workspace left behind: %v", err)
	}
}

func TestFailingStepSkipsLaterStages(t *testing.T) {
	repo := newRemote(t)
	repo.commit("main", "broken", map[string]string{".ferry.yaml": `version: 1
stages:
  - name: build
    steps:
      - {name: compile, run: echo compiled}
  - name: test
    steps:
      - name: unit
        run: |
          echo "FAIL: TestAdd: got 5, want 4"
          exit 3
  - name: deploy-checks
    steps:
      - {name: smoke, run: echo should never run}
`})
	f := startFerry(t)
	f.addProject("app", repo.URL, "--poll", "0")
	r := f.waitRun(f.trigger("app"))
	if r.State != "failed" || r.FailedStep != "test/unit" || !strings.Contains(r.Reason, "exit status 3") {
		t.Fatalf("run = %s %q %q", r.State, r.FailedStep, r.Reason)
	}
	if s := r.step("build/compile"); s.State != "passed" {
		t.Errorf("build/compile %s", s.State)
	}
	if s := r.step("test/unit"); s.State != "failed" || s.ExitCode != 3 {
		t.Errorf("test/unit = %+v", s)
	}
	if s := r.step("deploy-checks/smoke"); s.State != "skipped" {
		t.Errorf("deploy-checks/smoke %s, want skipped", s.State)
	}
	if logs := f.mustCLI("logs", fmt.Sprint(r.ID)); strings.Contains(logs, "should never run") || !strings.Contains(logs, "FAIL: TestAdd") {
		t.Errorf("logs:\n%s", logs)
	}
	if r.ReleaseID != 0 {
		t.Error("failed run has a release")
	}
}

func TestRetriesShowAttempts(t *testing.T) {
	repo := newRemote(t)
	shared := t.TempDir()
	marker := filepath.Join(shared, "tried")
	repo.commit("main", "flaky", map[string]string{".ferry.yaml": fmt.Sprintf(`version: 1
stages:
  - name: test
    steps:
      - name: flaky
        retries: 2
        run: |
          if [ ! -f %[1]s ]; then touch %[1]s; echo "first attempt fails"; exit 1; fi
          echo "second attempt passes"
`, marker)})
	f := startFerry(t, "--sandbox-bind", shared)
	f.addProject("app", repo.URL, "--poll", "0")
	r := f.waitRun(f.trigger("app"))
	if r.State != "passed" || r.step("test/flaky").Attempts != 2 {
		t.Fatalf("run %s, attempts %d", r.State, r.step("test/flaky").Attempts)
	}
	if logs := f.mustCLI("logs", fmt.Sprint(r.ID)); !strings.Contains(logs, "attempt 1 of 3 failed") {
		t.Errorf("logs do not show the retry:\n%s", logs)
	}
}

func TestTimeoutKillsChildProcesses(t *testing.T) {
	repo := newRemote(t)
	// The step's processes live in its sandbox's PID namespace: the test finds them by their command lines.
	repo.commit("main", "slow", map[string]string{".ferry.yaml": `version: 1
stages:
  - name: test
    steps:
      - name: hang
        timeout: 2s
        run: |
          sleep 3011 &
          sh -c 'sleep 3012' &
          wait
`})
	f := startFerry(t)
	f.addProject("app", repo.URL, "--poll", "0")
	id := f.trigger("app")
	waitFor(t, 30*time.Second, "the step's processes", func() bool {
		return liveProcesses("sleep 3011") > 0 && liveProcesses("sleep 3012") > 0
	})
	r := f.waitRun(id)
	if r.State != "failed" || !strings.Contains(r.step("test/hang").Reason, "timed out after 2s") {
		t.Fatalf("run %s, step %+v", r.State, r.step("test/hang"))
	}
	for _, m := range []string{"sleep 3011", "sleep 3012"} {
		if n := liveProcesses(m); n > 0 {
			t.Errorf("%d processes %q of the timed-out step are still alive", n, m)
		}
	}
}

func TestParallelStepsOverlap(t *testing.T) {
	repo := newRemote(t)
	dir := t.TempDir()
	// Each step waits for the other's marker: they pass only if they run at the same time.
	wait := func(me, other string) string {
		return fmt.Sprintf(`touch %[1]s/%[2]s; i=0; while [ ! -f %[1]s/%[3]s ]; do i=$((i+1)); [ $i -lt 300 ] || exit 1; sleep 0.05; done`, dir, me, other)
	}
	repo.commit("main", "parallel", map[string]string{".ferry.yaml": fmt.Sprintf(`version: 1
stages:
  - name: test
    steps:
      - {name: a, run: '%s'}
      - {name: b, run: '%s'}
`, wait("a", "b"), wait("b", "a"))})
	f := startFerry(t, "--sandbox-bind", dir)
	f.addProject("app", repo.URL, "--poll", "0")
	r := f.waitRun(f.trigger("app"))
	if r.State != "passed" {
		t.Fatalf("steps of one stage did not run in parallel: %s %s", r.State, r.Reason)
	}
}

func TestCancelKillsRun(t *testing.T) {
	repo := newRemote(t)
	repo.commit("main", "long", map[string]string{".ferry.yaml": `version: 1
stages:
  - name: test
    steps:
      - name: long
        run: |
          sleep 3021 &
          wait
  - name: later
    steps:
      - {name: after, run: echo after}
`})
	f := startFerry(t)
	f.addProject("app", repo.URL, "--poll", "0")
	id := f.trigger("app")
	waitFor(t, 30*time.Second, "the step to start", func() bool { return liveProcesses("sleep 3021") > 0 })
	f.mustCLI("run", "cancel", fmt.Sprint(id))
	r := f.waitRun(id)
	if r.State != "canceled" || r.step("test/long").State != "canceled" || r.step("later/after").State != "skipped" {
		t.Fatalf("run %s; steps %+v", r.State, r.Steps)
	}
	waitFor(t, 5*time.Second, "the canceled step's processes to be gone", func() bool { return liveProcesses("sleep 3021") == 0 })
	// Canceling a finished run changes nothing.
	out := f.mustCLI("run", "cancel", fmt.Sprint(id))
	if !strings.Contains(out, "canceled") {
		t.Errorf("second cancel: %s", out)
	}
}

func TestBurstOfPushesSupersedesQueuedRuns(t *testing.T) {
	repo := newRemote(t)
	shared := t.TempDir()
	gateFile := filepath.Join(shared, "open")
	pipeline := fmt.Sprintf(`version: 1
stages:
  - name: test
    steps:
      - name: wait
        run: |
          i=0; while [ ! -f %s ]; do i=$((i+1)); [ $i -lt 600 ] || exit 1; sleep 0.05; done
          echo "built $FERRY_COMMIT"
`, gateFile)
	repo.commit("main", "c0", map[string]string{".ferry.yaml": pipeline})
	f := startFerry(t, "--sandbox-bind", shared)
	f.addProject("app", repo.URL, "--poll", "0", "--concurrency", "1")
	first := f.trigger("app")
	waitFor(t, 30*time.Second, "the first run to start", func() bool { return f.getRun(first).State == "running" })
	var ids []int64
	var last string
	for i := 1; i <= 8; i++ {
		last = repo.commit("main", fmt.Sprintf("c%d", i), map[string]string{"n.txt": fmt.Sprint(i)})
		ids = append(ids, f.trigger("app", "--commit", last))
	}
	os.WriteFile(gateFile, nil, 0o644)
	if r := f.waitRun(first); r.State != "passed" {
		t.Fatalf("first run %s: %s", r.State, r.Reason)
	}
	for _, id := range ids[:len(ids)-1] {
		if r := f.waitRun(id); r.State != "superseded" || !strings.Contains(r.Reason, "superseded by run") {
			t.Errorf("run %d: %s %q, want superseded", id, r.State, r.Reason)
		}
	}
	r := f.waitRun(ids[len(ids)-1])
	if r.State != "passed" || r.Commit != last {
		t.Errorf("newest run %s at %s, want passed at %s", r.State, r.Commit, last)
	}
	var listed []run
	json.Unmarshal([]byte(f.mustCLI("runs", "app", "--json")), &listed)
	superseded := 0
	for _, r := range listed {
		if r.State == "superseded" {
			superseded++
		}
	}
	if superseded != len(ids)-1 {
		t.Errorf("ferry runs --json lists %d superseded runs, want %d", superseded, len(ids)-1)
	}
}

func TestInvalidPipelineIsAnError(t *testing.T) {
	repo := newRemote(t)
	repo.commit("main", "typo", map[string]string{".ferry.yaml": "version: 1\nstages:\n  - name: build\n    steps:\n      - name: compile\n        run: make\n        timout: 5m\n"})
	f := startFerry(t)
	f.addProject("app", repo.URL, "--poll", "0")
	r := f.waitRun(f.trigger("app"))
	if r.State != "error" || !strings.HasPrefix(r.Reason, ".ferry.yaml:7:9: ") || !strings.Contains(r.Reason, "timout") {
		t.Fatalf("run %s: %q", r.State, r.Reason)
	}
}

func TestPollingRunsNewCommits(t *testing.T) {
	repo := newRemote(t)
	repo.commit("main", "one", map[string]string{".ferry.yaml": passingPipeline})
	f := startFerry(t)
	f.addProject("app", repo.URL, "--poll", "1s")
	waitFor(t, 30*time.Second, "the first poll to queue a run", func() bool { return len(f.runs("app")) == 1 })
	first := f.runs("app")[0]
	if first.Trigger != "poll" {
		t.Errorf("trigger %s", first.Trigger)
	}
	f.waitRun(first.ID)
	second := repo.commit("main", "two", map[string]string{"README": "two"})
	waitFor(t, 30*time.Second, "the push to be polled", func() bool { return len(f.runs("app")) == 2 })
	if r := f.waitRun(f.runs("app")[0].ID); r.Commit != second || r.State != "passed" {
		t.Errorf("second run %s at %s", r.State, r.Commit)
	}
	// A push to another branch starts nothing.
	repo.commit("feature", "elsewhere", map[string]string{"README": "feature"})
	time.Sleep(2500 * time.Millisecond)
	if n := len(f.runs("app")); n != 2 {
		t.Errorf("%d runs after a push to another branch, want 2", n)
	}
	var ps []map[string]any
	json.Unmarshal([]byte(f.mustCLI("project", "list", "--json")), &ps)
	if len(ps) != 1 || ps[0]["head"] != second {
		t.Errorf("project list: %v", ps)
	}
}

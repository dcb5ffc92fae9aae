package runs

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/ferry-cd/ferry/internal/store"
)

func TestEnqueueSupersedesQueuedAncestors(t *testing.T) {
	f := newFixture(t, nil)
	c1 := f.repo.commit(pipelineOf("echo one"), "one")
	c2 := f.repo.commit(pipelineOf("echo two"), "two")
	c3 := f.repo.commit(pipelineOf("echo three"), "three")

	// No dispatcher runs: every run stays queued unless a later run supersedes it.
	r2 := f.enqueue(c2, "manual")
	r1 := f.enqueue(c1, "manual") // older than the queued run: it supersedes nothing
	if got := f.run(r2.ID).State; got != store.RunQueued {
		t.Fatalf("run of %.7s after a run of its parent queued: %s, want queued", c2, got)
	}
	r3 := f.enqueue("", "poll") // the branch head, c3, contains both
	if r3.Commit != c3 {
		t.Fatalf("run of the head builds %s, want %s", r3.Commit, c3)
	}
	for _, r := range []*store.Run{r1, r2} {
		got := f.run(r.ID)
		want := fmt.Sprintf("superseded by run %d (%.7s)", r3.ID, c3)
		if got.State != store.RunSuperseded || got.Reason != want || got.FinishedAt.IsZero() {
			t.Errorf("run %d: %s %q, want superseded %q", r.ID, got.State, got.Reason, want)
		}
	}
	if got := f.run(r3.ID).State; got != store.RunQueued {
		t.Errorf("superseding run: %s, want queued", got)
	}
	if want := []int64{r2.ID, r1.ID, r3.ID}; fmt.Sprint(f.ev.queued) != fmt.Sprint(want) {
		t.Errorf("queued events %v, want %v", f.ev.queued, want)
	}
}

func TestPassingRunMakesARelease(t *testing.T) {
	f := newFixture(t, nil)
	sha := f.repo.commit(`version: 1
stages:
  - name: build
    steps:
      - name: compile
        run: |
          mkdir -p dist && echo app > dist/app
          echo "run $FERRY_RUN_ID of $FERRY_PROJECT at $FERRY_COMMIT on $FERRY_BRANCH"
        artifacts: [dist/app]
  - name: test
    steps:
      - {name: unit, run: test -f dist/app}
`, "first")
	stop := f.start()
	r := f.waitEnd(f.enqueue(sha, "manual").ID)
	stop() // the run's execution has returned, its folders cleaned up
	if r.State != store.RunPassed || r.ReleaseID == 0 {
		t.Fatalf("run %s %q, release %d\n%s", r.State, r.Reason, r.ReleaseID, f.logText(r.ID))
	}
	rel, err := f.db.GetRelease(context.Background(), r.ReleaseID)
	if err != nil {
		t.Fatal(err)
	}
	if rel.Commit != sha || rel.RunID != r.ID || rel.Message != "first" || !strings.Contains(rel.Author, "Ada Lovelace") ||
		!strings.Contains(rel.Pipeline, "dist/app") || rel.Bundle == "" {
		t.Errorf("release %+v", rel)
	}
	if got := f.ev.passed(); len(got) != 1 || got[0].ID != rel.ID {
		t.Errorf("releases passed to the events: %v", got)
	}
	steps := f.steps(r.ID)
	if len(steps) != 2 || steps[0].State != store.StepPassed || steps[1].State != store.StepPassed ||
		len(steps[0].Artifacts) != 1 || steps[0].Artifacts[0].Path != "dist/app" {
		t.Errorf("steps %+v", steps)
	}
	log := f.logText(r.ID)
	for _, want := range []string{
		"ferry: checked out ",
		fmt.Sprintf("build/compile: run %d of app at %s on main", r.ID, sha),
		fmt.Sprintf("ferry: release v%d recorded: bundle %s", rel.Version, rel.Bundle),
	} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	// The checkout and the scratch folder are gone; the log stays.
	for _, dir := range []string{f.m.workspace(r.ID), f.m.tempDir(r.ID)} {
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("%s left behind (%v)", dir, err)
		}
	}
}

func TestFailingStepFailsTheRun(t *testing.T) {
	f := newFixture(t, nil)
	sha := f.repo.commit(`version: 1
stages:
  - name: test
    steps:
      - name: unit
        run: |
          echo "FAIL: TestAdd"
          exit 3
  - name: later
    steps:
      - {name: smoke, run: echo never}
`, "broken")
	f.start()
	r := f.waitEnd(f.enqueue(sha, "manual").ID)
	if r.State != store.RunFailed || r.FailedStep != "test/unit" || r.ReleaseID != 0 {
		t.Fatalf("run %s %q (step %q, release %d)", r.State, r.Reason, r.FailedStep, r.ReleaseID)
	}
	steps := f.steps(r.ID)
	if steps[0].State != store.StepFailed || steps[0].ExitCode != 3 || steps[1].State != store.StepSkipped {
		t.Errorf("steps: %s exit %d, %s", steps[0].State, steps[0].ExitCode, steps[1].State)
	}
	log := f.logText(r.ID)
	if !strings.Contains(log, "test/unit: FAIL: TestAdd") || !strings.Contains(log, "test/unit: ferry: step failed: ") ||
		strings.Contains(log, "never") {
		t.Errorf("log:\n%s", log)
	}
	if got := f.ev.passed(); len(got) != 0 {
		t.Errorf("a failed run made releases %v", got)
	}
}

func TestBrokenPipelineFileIsARunError(t *testing.T) {
	f := newFixture(t, nil)
	sha := f.repo.commit("version: 1\nstages:\n  - name: test\n    stepz: []\n", "broken file")
	f.start()
	r := f.waitEnd(f.enqueue(sha, "manual").ID)
	if r.State != store.RunError || !strings.HasPrefix(r.Reason, ".ferry.yaml:") {
		t.Fatalf("run %s %q, want error naming the file", r.State, r.Reason)
	}
	if log := f.logText(r.ID); !strings.Contains(log, "ferry: run error: .ferry.yaml:") {
		t.Errorf("log:\n%s", log)
	}
}

func TestCancel(t *testing.T) {
	f := newFixture(t, nil)
	sha := f.repo.commit(pipelineOf("echo started\nsleep 60"), "slow")

	// A queued run is canceled at once.
	queued := f.enqueue(sha, "manual")
	if got, err := f.m.Cancel(context.Background(), queued.ID); err != nil || got.State != store.RunCanceled || got.Reason != "canceled by user" {
		t.Fatalf("cancel queued: %+v, %v", got, err)
	}

	// A running run is stopped, its step's processes with it.
	stop := f.start()
	r := f.enqueue(sha, "manual")
	f.waitLog(r.ID, "started")
	if n := f.m.Running()["app"]; n != 1 {
		t.Errorf("%d runs active, want 1", n)
	}
	if _, err := f.m.Cancel(context.Background(), r.ID); err != nil {
		t.Fatal(err)
	}
	end := f.waitEnd(r.ID)
	if end.State != store.RunCanceled || end.Reason != "canceled by user" {
		t.Fatalf("run %s %q, want canceled by user", end.State, end.Reason)
	}
	stop() // the run's execution has returned
	if n := f.m.Running()["app"]; n != 0 {
		t.Errorf("%d runs still active", n)
	}
	// The run's end is the user's: nothing retries it.
	if queued, _ := f.db.RunsInState(context.Background(), store.RunQueued); len(queued) != 0 {
		t.Errorf("canceled run queued again: %+v", queued[0])
	}
}

func TestShutdownInterruptsAndRetriesOnce(t *testing.T) {
	f := newFixture(t, nil)
	sha := f.repo.commit(pipelineOf("echo started\nsleep 60"), "slow")
	stop := f.start()
	r := f.enqueue(sha, "manual")
	f.waitLog(r.ID, "started")
	stop() // returns once the run recorded its end
	got := f.run(r.ID)
	if got.State != store.RunError || got.Reason != "interrupted by server shutdown" {
		t.Fatalf("run %s %q, want error: interrupted by server shutdown", got.State, got.Reason)
	}
	queued, err := f.db.RunsInState(context.Background(), store.RunQueued)
	if err != nil {
		t.Fatal(err)
	}
	if len(queued) != 1 || queued[0].Commit != sha || queued[0].Trigger != retryTrigger(r.ID) {
		t.Fatalf("queued after shutdown: %+v", queued)
	}
}

func TestRecoverEndsInterruptedRunsAndRetriesOnce(t *testing.T) {
	f := newFixture(t, nil)
	sha := f.repo.commit(pipelineOf("echo ok"), "first")
	ctx := context.Background()
	// What a server killed in the middle of a run leaves behind: the run running, one step running, one pending.
	crashed := func(trigger string) *store.Run {
		r := &store.Run{Project: "app", Branch: "main", Commit: sha, Trigger: trigger, State: store.RunRunning}
		if err := f.db.CreateRun(ctx, r); err != nil {
			t.Fatal(err)
		}
		if err := f.db.PutSteps(ctx, r.ID, []*store.Step{
			{RunID: r.ID, Index: 0, Stage: "test", Name: "unit", State: store.StepRunning},
			{RunID: r.ID, Index: 1, Stage: "test", Name: "vet", State: store.StepPending},
		}); err != nil {
			t.Fatal(err)
		}
		return r
	}
	first := crashed("manual")
	if err := f.m.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	if got := f.run(first.ID); got.State != store.RunError || got.Reason != "interrupted by server restart" {
		t.Fatalf("crashed run: %s %q", got.State, got.Reason)
	}
	if steps := f.steps(first.ID); steps[0].State != store.StepError || steps[1].State != store.StepSkipped {
		t.Errorf("steps of the crashed run: %s, %s", steps[0].State, steps[1].State)
	}
	queued, _ := f.db.RunsInState(ctx, store.RunQueued)
	if len(queued) != 1 || queued[0].Trigger != "retry of run "+fmt.Sprint(first.ID)+" after restart" {
		t.Fatalf("queued after recovery: %+v", queued)
	}

	// The retry crashes the server too: it is ended, and not tried a third time.
	retry := queued[0]
	retry.State = store.RunRunning
	if err := f.db.UpdateRun(ctx, retry); err != nil {
		t.Fatal(err)
	}
	if err := f.m.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	if got := f.run(retry.ID); got.State != store.RunError {
		t.Errorf("crashed retry: %s", got.State)
	}
	if queued, _ := f.db.RunsInState(ctx, store.RunQueued); len(queued) != 0 {
		t.Errorf("a retry was retried: %+v", queued[0])
	}

	// A crashed run whose commit a later run builds is not retried either.
	later := crashed("manual")
	f.enqueue(sha, "poll")
	if err := f.m.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	queued, _ = f.db.RunsInState(ctx, store.RunQueued)
	if len(queued) != 1 || queued[0].Trigger != "poll" {
		t.Errorf("queued after recovering run %d, which a later run builds: %+v", later.ID, queued)
	}
}

func TestManagerCutsTheLogAtItsLimit(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.LogLimit = 4 << 10 })
	sha := f.repo.commit(pipelineOf("i=0; while [ $i -lt 2000 ]; do echo \"line $i of much output\"; i=$((i+1)); done"), "noisy")
	f.start()
	r := f.waitEnd(f.enqueue(sha, "manual").ID)
	// The steps go on past the limit, and the run passes: the log keeps what fits and says it was cut.
	if r.State != store.RunPassed {
		t.Fatalf("run %s %q", r.State, r.Reason)
	}
	log := f.logText(r.ID)
	if !strings.Contains(log, "test/unit: line 0 of much output") || strings.Contains(log, "line 1999 of") {
		t.Errorf("log kept the wrong lines:\n%.2000s", log)
	}
	if !strings.Contains(log, "ferry: log cut at 4KiB (ferry serve --run-log-limit)") {
		t.Errorf("log does not say it was cut:\n%.2000s", log)
	}
	if !strings.Contains(log, "ferry: release v1 recorded") {
		t.Error("ferry's own lines were held back by the limit")
	}
}

func TestNoteHeadMovesForwardOnly(t *testing.T) {
	f := newFixture(t, nil)
	c1 := f.repo.commit(pipelineOf("echo one"), "one")
	c2 := f.repo.commit(pipelineOf("echo two"), "two")
	ctx := context.Background()
	p, err := f.db.GetProject(ctx, "app")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		commit, ignored string
		queued          bool
	}{
		{c2, "", true},
		{c2, "commit already seen", false},
		{c1, fmt.Sprintf("commit %.12s is older than the project's head %.12s", c1, c2), false},
	} {
		run, ignored, err := f.m.NoteHead(ctx, p, c.commit, "webhook")
		if err != nil || ignored != c.ignored || (run != nil) != c.queued {
			t.Errorf("note %.7s: run %v, ignored %q, %v; want ignored %q, queued %v", c.commit, run, ignored, err, c.ignored, c.queued)
		}
	}
	if p, _ := f.db.GetProject(ctx, "app"); p.Head != c2 {
		t.Errorf("head %s, want %s", p.Head, c2)
	}
	if !f.m.IsAncestor(ctx, "app", c1, c2) || f.m.IsAncestor(ctx, "app", c2, c1) {
		t.Error("IsAncestor has the history the wrong way round")
	}
}

package engine

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ferry-cd/ferry/internal/artifact"
	"github.com/ferry-cd/ferry/internal/gate"
	"github.com/ferry-cd/ferry/internal/pipeline"
	"github.com/ferry-cd/ferry/internal/store"
)

// event is one Observer call, as the recorder saw it.
type event struct {
	kind    string // "started", "finished"
	step    string // stage/step
	attempt int
}

// recorder is an Observer that keeps what it hears. It is safe for concurrent use.
type recorder struct {
	mu       sync.Mutex
	events   []event
	lines    map[string][]string
	pids     map[string][]int
	finished map[string]StepResult
	// With countOnly set, lines are counted instead of kept.
	countOnly bool
	lineCount int
	byteCount int
	longest   int
}

var _ Observer = (*recorder)(nil)

func newRecorder() *recorder {
	return &recorder{lines: map[string][]string{}, pids: map[string][]int{}, finished: map[string]StepResult{}}
}

func (r *recorder) StepStarted(ref StepRef, attempt int, pid int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, event{kind: "started", step: ref.FullName(), attempt: attempt})
	r.pids[ref.FullName()] = append(r.pids[ref.FullName()], pid)
}

func (r *recorder) Log(ref StepRef, lines []Line) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, l := range lines {
		if r.countOnly {
			r.lineCount++
			r.byteCount += len(l.Text)
			r.longest = max(r.longest, len(l.Text))
			continue
		}
		r.lines[ref.FullName()] = append(r.lines[ref.FullName()], l.Text)
	}
}

func (r *recorder) StepFinished(ref StepRef, res StepResult) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, event{kind: "finished", step: ref.FullName()})
	if _, dup := r.finished[ref.FullName()]; dup {
		panic("StepFinished called twice for " + ref.FullName())
	}
	r.finished[ref.FullName()] = res
}

func (r *recorder) result(t *testing.T, step string) StepResult {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	res, ok := r.finished[step]
	if !ok {
		t.Fatalf("no StepFinished for %s", step)
	}
	return res
}

func (r *recorder) log(step string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.lines[step])
}

// index returns the position of the first event of kind for step, or -1.
func (r *recorder) index(kind, step string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.IndexFunc(r.events, func(e event) bool { return e.kind == kind && e.step == step })
}

// steps builds a stage from name/script pairs.
func stage(name string, steps ...pipeline.Step) pipeline.Stage {
	return pipeline.Stage{Name: name, Steps: steps}
}

func step(name, run string) pipeline.Step { return pipeline.Step{Name: name, Run: run} }

// testEngine returns an engine whose steps see only PATH from the test's environment.
func testEngine() *Engine {
	return &Engine{
		BaseEnv:   []string{"PATH=" + os.Getenv("PATH")},
		KillGrace: 200 * time.Millisecond,
	}
}

func testJob(t *testing.T, stages ...pipeline.Stage) (*Job, *recorder) {
	t.Helper()
	rec := newRecorder()
	return &Job{
		Pipeline:  &pipeline.Pipeline{Version: 1, Stages: stages},
		Workspace: t.TempDir(),
		TempDir:   t.TempDir(),
		Observer:  rec,
	}, rec
}

// waitFor is a shell loop that waits until file exists in the workspace.
func waitFor(file string) string {
	return "while [ ! -e " + file + " ]; do sleep 0.01; done; "
}

// readPID reads a process id a step wrote to a file in dir.
func readPID(t *testing.T, dir, file string) int {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		t.Fatalf("the step did not write %s: %v", file, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return pid
}

// processGone reports whether pid no longer runs. A killed process whose parent died stays a zombie until
// init reaps it; a zombie runs nothing, so it counts as gone.
func processGone(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// The state follows the command name, which is in parentheses and may itself hold spaces.
	rest := stat[bytes.LastIndexByte(stat, ')')+1:]
	fields := strings.Fields(string(rest))
	return len(fields) > 0 && (fields[0] == "Z" || fields[0] == "X")
}

// assertKilled checks that the process ends. SIGKILL is delivered asynchronously, so it polls; the deadline
// only bounds a failing test.
func assertKilled(t *testing.T, what string, pid int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !processGone(pid) {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Errorf("%s (pid %d) still runs after the step ended", what, pid)
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRunStagesInOrder(t *testing.T) {
	job, rec := testJob(t,
		stage("build", step("compile", "echo compiled >> order"), step("lint", "echo linted")),
		stage("test", step("unit", "cat order; echo tested")),
	)
	res := testEngine().Run(context.Background(), job)

	if res.State != store.RunPassed || res.Reason != "" || res.FailedStep != "" {
		t.Fatalf("result = %+v, want passed", res)
	}
	for i, name := range []string{"build/compile", "build/lint", "test/unit"} {
		r := rec.result(t, name)
		if r.State != store.StepPassed || r.Attempts != 1 || r.ExitCode != 0 {
			t.Errorf("%s: state %s, attempts %d, exit %d; want passed after 1 attempt with exit 0", name, r.State, r.Attempts, r.ExitCode)
		}
		if res.Steps[i].State != store.StepPassed {
			t.Errorf("Result.Steps[%d] = %s, want passed", i, res.Steps[i].State)
		}
		if r.StartedAt.IsZero() || r.FinishedAt.Before(r.StartedAt) {
			t.Errorf("%s: started %v, finished %v", name, r.StartedAt, r.FinishedAt)
		}
	}
	started := rec.index("started", "test/unit")
	for _, name := range []string{"build/compile", "build/lint"} {
		if done := rec.index("finished", name); done < 0 || done > started {
			t.Errorf("test/unit started (event %d) before %s finished (event %d)", started, name, done)
		}
	}
	if got := rec.log("test/unit"); !slices.Equal(got, []string{"compiled", "tested"}) {
		t.Errorf("test/unit log = %q, want the file the earlier stage wrote, then tested", got)
	}
}

func TestRunStepsOfAStageOverlap(t *testing.T) {
	// Each step waits for the other to start: they pass only if they run at the same time. The timeout fails
	// the test, rather than hanging it, if the engine ran them one after the other.
	a := step("a", "touch a.started; "+waitFor("b.started"))
	b := step("b", "touch b.started; "+waitFor("a.started"))
	c := step("c", "touch c.started; "+waitFor("a.started")+waitFor("b.started"))
	for _, st := range []*pipeline.Step{&a, &b, &c} {
		st.Timeout = time.Minute
	}
	job, rec := testJob(t, stage("test", a, b, c))
	res := testEngine().Run(context.Background(), job)
	if res.State != store.RunPassed {
		t.Fatalf("result = %+v, want passed: the steps of a stage must run in parallel", res)
	}
	for _, name := range []string{"test/a", "test/b", "test/c"} {
		if r := rec.result(t, name); r.State != store.StepPassed {
			t.Errorf("%s = %s (%s), want passed", name, r.State, r.Reason)
		}
	}
}

func TestRunMaxParallel(t *testing.T) {
	// With one slot, a step that finds another running fails.
	script := "if ! mkdir running; then echo overlap; exit 1; fi; sleep 0.1; rmdir running"
	job, rec := testJob(t, stage("test", step("a", script), step("b", script), step("c", script)))
	e := testEngine()
	e.MaxParallel = 1
	if res := e.Run(context.Background(), job); res.State != store.RunPassed {
		t.Fatalf("result = %+v, want passed with MaxParallel 1; logs: %q %q %q", res,
			rec.log("test/a"), rec.log("test/b"), rec.log("test/c"))
	}
}

func TestRunFailFast(t *testing.T) {
	job, rec := testJob(t,
		stage("test",
			step("slow", "touch slow.started; sleep 1000 & echo $! > sleep.pid; wait"),
			step("bad", waitFor("sleep.pid")+"echo boom; exit 3"),
		),
		stage("deploy", step("ship", "touch shipped")),
	)
	res := testEngine().Run(context.Background(), job)

	if res.State != store.RunFailed {
		t.Errorf("state = %s, want failed", res.State)
	}
	if res.FailedStep != "test/bad" {
		t.Errorf("FailedStep = %q, want test/bad", res.FailedStep)
	}
	if want := "test/bad: exit status 3: boom"; res.Reason != want {
		t.Errorf("Reason = %q, want %q", res.Reason, want)
	}
	bad := rec.result(t, "test/bad")
	if bad.State != store.StepFailed || bad.ExitCode != 3 {
		t.Errorf("test/bad = %s exit %d, want failed exit 3", bad.State, bad.ExitCode)
	}
	if got := rec.log("test/bad"); !slices.Equal(got, []string{"boom"}) {
		t.Errorf("test/bad log = %q, want [boom]", got)
	}
	slow := rec.result(t, "test/slow")
	if slow.State != store.StepCanceled {
		t.Errorf("test/slow = %s, want canceled when its sibling failed", slow.State)
	}
	if !strings.Contains(slow.Reason, "test/bad failed") {
		t.Errorf("test/slow reason = %q, want it to name test/bad", slow.Reason)
	}
	assertKilled(t, "the sibling's sleep", readPID(t, job.Workspace, "sleep.pid"))

	ship := rec.result(t, "deploy/ship")
	if ship.State != store.StepSkipped || ship.Reason == "" {
		t.Errorf("deploy/ship = %s (%q), want skipped with a reason", ship.State, ship.Reason)
	}
	if rec.index("started", "deploy/ship") >= 0 {
		t.Error("deploy/ship started after its stage's predecessor failed")
	}
	if _, err := os.Stat(filepath.Join(job.Workspace, "shipped")); err == nil {
		t.Error("deploy/ship ran after test/bad failed")
	}
	if res.Steps[2].State != store.StepSkipped {
		t.Errorf("Result.Steps[2] = %s, want skipped", res.Steps[2].State)
	}
}

func TestRunRetries(t *testing.T) {
	// flaky passes on its third attempt.
	flaky := step("flaky", `n=$(cat count 2>/dev/null || echo 0); n=$((n+1)); echo $n > count; echo "try $n"; [ $n -ge 3 ]`)
	flaky.Retries = 2
	job, rec := testJob(t, stage("test", flaky))
	res := testEngine().Run(context.Background(), job)

	if res.State != store.RunPassed {
		t.Fatalf("result = %+v, want passed on the third attempt", res)
	}
	r := rec.result(t, "test/flaky")
	if r.State != store.StepPassed || r.Attempts != 3 {
		t.Errorf("test/flaky = %s after %d attempts, want passed after 3", r.State, r.Attempts)
	}
	var attempts []int
	for _, e := range rec.events {
		if e.kind == "started" {
			attempts = append(attempts, e.attempt)
		}
	}
	if !slices.Equal(attempts, []int{1, 2, 3}) {
		t.Errorf("StepStarted attempts = %v, want [1 2 3]", attempts)
	}
	want := []string{
		"try 1", "ferry: attempt 1 of 3 failed (exit status 1: try 1); retrying",
		"try 2", "ferry: attempt 2 of 3 failed (exit status 1: try 2); retrying",
		"try 3",
	}
	if got := rec.log("test/flaky"); !slices.Equal(got, want) {
		t.Errorf("log = %q, want %q", got, want)
	}
}

func TestRunRetriesExhausted(t *testing.T) {
	broken := step("broken", "exit 2")
	broken.Retries = 1
	job, rec := testJob(t, stage("test", broken))
	res := testEngine().Run(context.Background(), job)

	r := rec.result(t, "test/broken")
	if r.State != store.StepFailed || r.Attempts != 2 || r.ExitCode != 2 {
		t.Errorf("test/broken = %s after %d attempts exit %d, want failed after 2 with exit 2", r.State, r.Attempts, r.ExitCode)
	}
	if want := "exit status 2 (after 2 attempts)"; r.Reason != want {
		t.Errorf("reason = %q, want %q", r.Reason, want)
	}
	if res.State != store.RunFailed || res.Reason != "test/broken: "+r.Reason {
		t.Errorf("result = %s %q, want failed with the step's reason", res.State, res.Reason)
	}
}

func TestRunTimeoutKillsProcessGroup(t *testing.T) {
	// The background child ignores SIGTERM, so only the SIGKILL after KillGrace stops it.
	slow := step("slow", `sleep 1000 & echo $! > sleep.pid
sh -c 'trap "" TERM; echo $$ > stubborn.pid; while :; do sleep 1; done' &
`+waitFor("stubborn.pid")+`touch ready; wait`)
	slow.Timeout = 2 * time.Second
	job, rec := testJob(t, stage("test", slow))
	res := testEngine().Run(context.Background(), job)

	r := rec.result(t, "test/slow")
	if r.State != store.StepFailed {
		t.Errorf("state = %s, want failed", r.State)
	}
	if want := "timed out after 2s"; r.Reason != want {
		t.Errorf("reason = %q, want %q", r.Reason, want)
	}
	if res.State != store.RunFailed || res.FailedStep != "test/slow" {
		t.Errorf("result = %s, failed step %q; want failed at test/slow", res.State, res.FailedStep)
	}
	if _, err := os.Stat(filepath.Join(job.Workspace, "ready")); err != nil {
		t.Fatalf("the script did not get going before its timeout: %v", err)
	}
	assertKilled(t, "background sleep", readPID(t, job.Workspace, "sleep.pid"))
	assertKilled(t, "background shell ignoring SIGTERM", readPID(t, job.Workspace, "stubborn.pid"))
	if pids := rec.pids["test/slow"]; len(pids) != 1 || !processGone(pids[0]) {
		t.Errorf("step process %v still runs", pids)
	}
}

func TestRunCanceled(t *testing.T) {
	job, rec := testJob(t,
		stage("test", step("wait", "sleep 1000 & echo $! > sleep.pid; wait")),
		stage("deploy", step("ship", "touch shipped")),
	)
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	go func() {
		for {
			if _, err := os.Stat(filepath.Join(job.Workspace, "sleep.pid")); err == nil {
				cancel(errors.New("canceled by alice"))
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	res := testEngine().Run(ctx, job)

	if res.State != store.RunCanceled || res.Reason != "canceled by alice" {
		t.Errorf("result = %s %q, want canceled with the cause as reason", res.State, res.Reason)
	}
	if res.FailedStep != "" {
		t.Errorf("FailedStep = %q, want none for a canceled run", res.FailedStep)
	}
	r := rec.result(t, "test/wait")
	if r.State != store.StepCanceled || r.Reason != "canceled by alice" {
		t.Errorf("test/wait = %s %q, want canceled by alice", r.State, r.Reason)
	}
	assertKilled(t, "the step's sleep", readPID(t, job.Workspace, "sleep.pid"))
	if ship := rec.result(t, "deploy/ship"); ship.State != store.StepSkipped {
		t.Errorf("deploy/ship = %s, want skipped", ship.State)
	}
	if _, err := os.Stat(filepath.Join(job.Workspace, "shipped")); err == nil {
		t.Error("deploy/ship ran after the run was canceled")
	}
}

func TestRunCanceledWithoutCause(t *testing.T) {
	job, rec := testJob(t, stage("test", step("a", "touch a")))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res := testEngine().Run(ctx, job)
	if res.State != store.RunCanceled || res.Reason != ErrCanceled.Error() {
		t.Errorf("result = %s %q, want canceled %q", res.State, res.Reason, ErrCanceled.Error())
	}
	if r := rec.result(t, "test/a"); r.State == store.StepPassed {
		t.Errorf("test/a = %s in a run canceled before it began", r.State)
	}
	if _, err := os.Stat(filepath.Join(job.Workspace, "a")); err == nil {
		t.Error("test/a ran in a run canceled before it began")
	}
}

// readEnv parses the output of `env` a step wrote to file in dir.
func readEnv(t *testing.T, dir, file string) map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, file))
	if err != nil {
		t.Fatalf("the step did not write %s: %v", file, err)
	}
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			env[k] = v
		}
	}
	return env
}

func TestRunEnv(t *testing.T) {
	t.Setenv("FERRY_TOKEN", "server-token")
	t.Setenv("SOME_SECRET", "from-the-server-process")

	st := step("show", "env > env.txt")
	st.Env = map[string]string{"STEP_OVER": "step", "VAR_OVER": "step", "FERRY_WORKSPACE": "/step/wrong"}
	job, _ := testJob(t, stage("test", st))
	job.Pipeline.Env = map[string]string{"SHARED": "pipeline", "STEP_OVER": "pipeline", "PIPE_ONLY": "pipeline"}
	job.Vars = map[string]string{"FERRY_COMMIT": "abc123", "VAR_OVER": "var", "FERRY_METRICS": "/var/wrong"}
	e := testEngine()
	e.BaseEnv = append(e.BaseEnv, "BASE_ONLY=base", "SHARED=base", "HAS_EQUALS=a=b")

	if res := e.Run(context.Background(), job); res.State != store.RunPassed {
		t.Fatalf("result = %+v, want passed", res)
	}
	env := readEnv(t, job.Workspace, "env.txt")
	want := map[string]string{
		"BASE_ONLY":       "base",
		"HAS_EQUALS":      "a=b",
		"SHARED":          "pipeline",
		"PIPE_ONLY":       "pipeline",
		"STEP_OVER":       "step",
		"VAR_OVER":        "var",
		"FERRY_COMMIT":    "abc123",
		"FERRY_WORKSPACE": job.Workspace,
		"FERRY_METRICS":   filepath.Join(job.TempDir, "metrics-0.json"),
		"FERRY_STAGE":     "test",
		"FERRY_STEP":      "show",
		"TMPDIR":          job.TempDir,
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("%s = %q, want %q", k, env[k], v)
		}
	}
	for _, k := range []string{"FERRY_TOKEN", "SOME_SECRET", "HOME"} {
		if v, ok := env[k]; ok {
			t.Errorf("%s = %q reached the step; BaseEnv must replace the process environment", k, v)
		}
	}
}

func TestRunDefaultBaseEnv(t *testing.T) {
	t.Setenv("FERRY_TOKEN", "server-token")
	t.Setenv("GOFLAGS", "-mod=mod")
	job, _ := testJob(t, stage("test", step("show", "env > env.txt")))
	e := testEngine()
	e.BaseEnv = nil
	if res := e.Run(context.Background(), job); res.State != store.RunPassed {
		t.Fatalf("result = %+v, want passed", res)
	}
	env := readEnv(t, job.Workspace, "env.txt")
	if _, ok := env["FERRY_TOKEN"]; ok {
		t.Error("FERRY_TOKEN reached the step from ferry's environment")
	}
	if env["GOFLAGS"] != "-mod=mod" || env["PATH"] != os.Getenv("PATH") {
		t.Errorf("GOFLAGS = %q, PATH = %q; want them inherited", env["GOFLAGS"], env["PATH"])
	}
}

func TestBaseEnviron(t *testing.T) {
	t.Setenv("FERRY_TOKEN", "server-token")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "aws")
	t.Setenv("HOME", "/home/ferry")
	env := BaseEnviron()
	if !slices.Contains(env, "HOME=/home/ferry") {
		t.Errorf("BaseEnviron() = %q, want HOME", env)
	}
	for _, kv := range env {
		if strings.HasPrefix(kv, "FERRY_TOKEN=") || strings.HasPrefix(kv, "AWS_SECRET_ACCESS_KEY=") {
			t.Errorf("BaseEnviron() passes %s on", kv)
		}
	}
}

func TestRunSecrets(t *testing.T) {
	st := step("deploy", `env > env.txt; echo "key=$DEPLOY_KEY"; echo "other=other-value-9"; echo short=ab`)
	st.Secrets = []string{"DEPLOY_KEY"}
	job, rec := testJob(t, stage("test", st))
	job.Secrets = map[string]string{"DEPLOY_KEY": "hunter2-xyz", "OTHER": "other-value-9", "SHORT": "ab"}

	if res := testEngine().Run(context.Background(), job); res.State != store.RunPassed {
		t.Fatalf("result = %+v, want passed", res)
	}
	env := readEnv(t, job.Workspace, "env.txt")
	if env["DEPLOY_KEY"] != "hunter2-xyz" {
		t.Errorf("DEPLOY_KEY = %q, want the requested secret", env["DEPLOY_KEY"])
	}
	for _, k := range []string{"OTHER", "SHORT"} {
		if _, ok := env[k]; ok {
			t.Errorf("unrequested secret %s reached the step", k)
		}
	}
	// Every secret of the job is masked, requested or not; values too short to mask are left.
	want := []string{"key=***", "other=***", "short=ab"}
	if got := rec.log("test/deploy"); !slices.Equal(got, want) {
		t.Errorf("log = %q, want %q", got, want)
	}
}

func TestRunMissingSecret(t *testing.T) {
	st := step("deploy", "touch ran")
	st.Secrets = []string{"NOPE", "DEPLOY_KEY", "ALSO_MISSING"}
	job, rec := testJob(t, stage("test", st))
	job.Secrets = map[string]string{"DEPLOY_KEY": "hunter2-xyz"}
	res := testEngine().Run(context.Background(), job)

	r := rec.result(t, "test/deploy")
	if r.State != store.StepFailed {
		t.Errorf("state = %s, want failed", r.State)
	}
	for _, name := range []string{"NOPE", "ALSO_MISSING"} {
		if !strings.Contains(r.Reason, name) {
			t.Errorf("reason %q does not name the missing secret %s", r.Reason, name)
		}
	}
	if strings.Contains(r.Reason, "DEPLOY_KEY") || strings.Contains(r.Reason, "hunter2") {
		t.Errorf("reason %q names a secret that is set", r.Reason)
	}
	if res.State != store.RunFailed || res.FailedStep != "test/deploy" {
		t.Errorf("result = %s at %q, want failed at test/deploy", res.State, res.FailedStep)
	}
	if rec.index("started", "test/deploy") >= 0 {
		t.Error("the step started without its secret")
	}
	if _, err := os.Stat(filepath.Join(job.Workspace, "ran")); err == nil {
		t.Error("the step ran without its secret")
	}
}

func ptr(v float64) *float64 { return &v }

func TestRunGates(t *testing.T) {
	metrics := `echo '{"latency_ms": 55, "pass_rate": 0.99}' > "$FERRY_METRICS"`
	fast := step("fast", metrics)
	fast.Gates = []gate.Gate{{Metric: "pass_rate", Min: ptr(0.95)}}
	slow := step("slow", metrics)
	slow.Gates = []gate.Gate{{Metric: "latency_ms", Max: ptr(50)}, {Metric: "pass_rate", Min: ptr(0.95)}, {Metric: "missing", Max: ptr(1)}}
	job, rec := testJob(t, stage("fast", fast), stage("slow", slow))
	res := testEngine().Run(context.Background(), job)

	f := rec.result(t, "fast/fast")
	if f.State != store.StepPassed {
		t.Errorf("fast/fast = %s (%s), want passed", f.State, f.Reason)
	}
	wantMetrics := []gate.Metric{{Name: "latency_ms", Value: 55}, {Name: "pass_rate", Value: 0.99}}
	if !slices.Equal(f.Metrics, wantMetrics) {
		t.Errorf("metrics = %+v, want %+v", f.Metrics, wantMetrics)
	}
	if len(f.Verdicts) != 1 || !f.Verdicts[0].Pass || f.Verdicts[0].Metric != "pass_rate" {
		t.Errorf("verdicts = %+v, want one passing pass_rate verdict", f.Verdicts)
	}

	s := rec.result(t, "slow/slow")
	if s.State != store.StepFailed {
		t.Errorf("slow/slow = %s, want failed", s.State)
	}
	if len(s.Verdicts) != 3 || s.Verdicts[0].Pass || !s.Verdicts[1].Pass || s.Verdicts[2].Pass {
		t.Errorf("verdicts = %+v, want latency failing, pass_rate passing, missing failing", s.Verdicts)
	}
	if want := gate.Failures(s.Verdicts); s.Reason != want || want == "" {
		t.Errorf("reason = %q, want gate.Failures: %q", s.Reason, want)
	}
	for _, part := range []string{"latency_ms", "missing"} {
		if !strings.Contains(s.Reason, part) {
			t.Errorf("reason %q does not name %s", s.Reason, part)
		}
	}
	if res.State != store.RunFailed || res.FailedStep != "slow/slow" {
		t.Errorf("result = %s at %q, want failed at slow/slow", res.State, res.FailedStep)
	}
}

func TestRunGatesBaseline(t *testing.T) {
	st := step("bench", `echo '{"latency_ms": 55}' > "$FERRY_METRICS"`)
	st.Gates = []gate.Gate{{Metric: "latency_ms", MaxIncrease: &gate.Change{Value: 10, Percent: true}}}

	t.Run("regression against the baseline fails", func(t *testing.T) {
		job, rec := testJob(t, stage("perf", st))
		var mu sync.Mutex
		var asked []string
		job.Baseline = func(stage, step string) ([]gate.Metric, bool) {
			mu.Lock()
			defer mu.Unlock()
			asked = append(asked, stage+"/"+step)
			return []gate.Metric{{Name: "latency_ms", Value: 40}}, true
		}
		testEngine().Run(context.Background(), job)
		r := rec.result(t, "perf/bench")
		if r.State != store.StepFailed {
			t.Errorf("state = %s (%s), want failed: 55 is more than 10%% over 40", r.State, r.Reason)
		}
		if len(r.Verdicts) != 1 || r.Verdicts[0].Baseline == nil || *r.Verdicts[0].Baseline != 40 {
			t.Errorf("verdicts = %+v, want one with baseline 40", r.Verdicts)
		}
		if r.Reason != gate.Failures(r.Verdicts) {
			t.Errorf("reason = %q, want %q", r.Reason, gate.Failures(r.Verdicts))
		}
		if !slices.Equal(asked, []string{"perf/bench"}) {
			t.Errorf("Baseline asked for %q, want [perf/bench]", asked)
		}
	})
	t.Run("no baseline passes", func(t *testing.T) {
		job, rec := testJob(t, stage("perf", st))
		testEngine().Run(context.Background(), job)
		if r := rec.result(t, "perf/bench"); r.State != store.StepPassed {
			t.Errorf("state = %s (%s), want passed without a baseline", r.State, r.Reason)
		}
	})
}

func TestRunBadMetricsFile(t *testing.T) {
	st := step("bench", `echo 'not json' > "$FERRY_METRICS"`)
	job, rec := testJob(t, stage("perf", st))
	testEngine().Run(context.Background(), job)
	r := rec.result(t, "perf/bench")
	if r.State != store.StepFailed || !strings.Contains(r.Reason, "$FERRY_METRICS") {
		t.Errorf("step = %s %q, want failed naming $FERRY_METRICS", r.State, r.Reason)
	}
}

func TestRunRetryStartsWithEmptyMetrics(t *testing.T) {
	// The first attempt writes a failing metric; the second writes none. A stale file would be read again.
	st := step("bench", `if [ ! -e once ]; then touch once; echo '{"errors": 5}' > "$FERRY_METRICS"; fi`)
	st.Retries = 1
	st.Gates = []gate.Gate{{Metric: "errors", Max: ptr(0)}}
	job, rec := testJob(t, stage("perf", st))
	testEngine().Run(context.Background(), job)
	r := rec.result(t, "perf/bench")
	if r.Attempts != 2 || r.State != store.StepFailed {
		t.Fatalf("step = %s after %d attempts, want failed after 2", r.State, r.Attempts)
	}
	if len(r.Metrics) != 0 || !strings.Contains(r.Reason, "metric missing") {
		t.Errorf("second attempt saw metrics %+v (reason %q); want none: the file starts empty each attempt", r.Metrics, r.Reason)
	}
}

func sha256Digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "sha256:" + hex.EncodeToString(sum[:])
}

func TestRunArtifacts(t *testing.T) {
	build := step("build", "mkdir -p dist; printf 'binary' > dist/app; chmod 755 dist/app; printf 'notes' > dist/notes.txt; chmod 644 dist/notes.txt")
	build.Artifacts = []string{"dist"}
	job, rec := testJob(t, stage("build", build))
	e := testEngine()
	e.Artifacts = &artifact.Store{Dir: t.TempDir()}
	if res := e.Run(context.Background(), job); res.State != store.RunPassed {
		t.Fatalf("result = %+v, want passed", res)
	}
	r := rec.result(t, "build/build")
	want := []store.Artifact{
		{Path: "dist/app", Digest: sha256Digest("binary"), Size: 6, Mode: 0o755},
		{Path: "dist/notes.txt", Digest: sha256Digest("notes"), Size: 5, Mode: 0o644},
	}
	if !slices.Equal(r.Artifacts, want) {
		t.Errorf("artifacts = %+v, want %+v", r.Artifacts, want)
	}
	f, err := e.Artifacts.Open(want[0].Digest)
	if err != nil {
		t.Fatalf("the store does not hold dist/app: %v", err)
	}
	f.Close()
}

func TestRunMissingArtifact(t *testing.T) {
	build := step("build", "touch present")
	build.Artifacts = []string{"present", "dist/missing"}
	job, rec := testJob(t, stage("build", build), stage("deploy", step("ship", "true")))
	e := testEngine()
	e.Artifacts = &artifact.Store{Dir: t.TempDir()}
	res := e.Run(context.Background(), job)
	r := rec.result(t, "build/build")
	if r.State != store.StepFailed || !strings.Contains(r.Reason, "dist/missing") {
		t.Errorf("step = %s %q, want failed naming dist/missing", r.State, r.Reason)
	}
	if res.State != store.RunFailed {
		t.Errorf("run = %s, want failed", res.State)
	}
}

func TestRunArtifactsWithoutStore(t *testing.T) {
	build := step("build", "touch app")
	build.Artifacts = []string{"app"}
	job, rec := testJob(t, stage("build", build))
	testEngine().Run(context.Background(), job)
	if r := rec.result(t, "build/build"); r.State != store.StepError {
		t.Errorf("step = %s %q, want error when the engine keeps no artifacts", r.State, r.Reason)
	}
}

func TestRunLargeOutput(t *testing.T) {
	const total = 20_000_000
	tests := []struct{ name, run string }{
		{name: "no newlines", run: "head -c 20000000 /dev/zero | tr '\\0' 'x'"},
		{name: "long lines", run: "head -c 20000000 /dev/zero | tr '\\0' 'x' | fold -w 100000"},
		{name: "short lines", run: "yes 0123456789abcdefghijklmnopqrstuvwxyz | head -c 20000000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := exec.Command("sh", "-c", tt.run+" | tr -cd '\\n' | wc -c").Output()
			if err != nil {
				t.Fatal(err)
			}
			newlines, _ := strconv.Atoi(strings.TrimSpace(string(out)))
			printed := total
			if tt.name == "long lines" {
				printed += newlines // fold adds them
			}

			job, rec := testJob(t, stage("test", step("loud", tt.run)))
			rec.countOnly = true
			if res := testEngine().Run(context.Background(), job); res.State != store.RunPassed {
				t.Fatalf("result = %+v, want passed", res)
			}
			if rec.longest > MaxLineBytes {
				t.Errorf("longest line is %d bytes, more than MaxLineBytes (%d)", rec.longest, MaxLineBytes)
			}
			if min := (printed - newlines) / MaxLineBytes; rec.lineCount < min {
				t.Errorf("%d lines for %d bytes; want at least %d", rec.lineCount, printed-newlines, min)
			}
			if rec.byteCount != printed-newlines {
				t.Errorf("observer got %d bytes in %d lines, want %d: all output but the newlines", rec.byteCount, rec.lineCount, printed-newlines)
			}
		})
	}
}

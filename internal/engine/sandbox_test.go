package engine

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferry-cd/ferry/internal/sandbox"
	"github.com/ferry-cd/ferry/internal/store"
)

// sandboxedJob lays a job out as the server does: checkout, scratch and cache inside one data folder, which the
// sandbox hides.
func sandboxedJob(t *testing.T, steps ...string) (*Engine, *Job, *recorder, string) {
	t.Helper()
	data := t.TempDir()
	if err := os.WriteFile(filepath.Join(data, "secret.key"), []byte("KEY-OF-THE-SERVER"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(data, "work", "2"), 0o700); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(data, "work", "2", "private"), []byte("ANOTHER-RUN"), 0o600)
	job, rec := testJob(t)
	job.Workspace = filepath.Join(data, "work", "1")
	job.TempDir = filepath.Join(data, "tmp", "1")
	job.CacheDir = filepath.Join(data, "cache", "p")
	for _, d := range []string{job.Workspace, job.TempDir, job.CacheDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	for i, s := range steps {
		job.Pipeline.Stages = append(job.Pipeline.Stages, stage("s"+string(rune('a'+i)), step("t", s)))
	}
	e := testEngine()
	e.Sandbox = &sandbox.Sandbox{Hide: []string{data}}
	return e, job, rec, data
}

func TestSandboxedStepSeesItsFoldersOnly(t *testing.T) {
	e, job, rec, _ := sandboxedJob(t, `
echo built > artifact.txt
echo '{"metrics":[{"name":"m","value":1}]}' > "$FERRY_METRICS"
mkdir -p "$GOCACHE" && echo cached > "$GOCACHE/entry"
echo scratch > "$TMPDIR/x"
if cat ../../secret.key; then echo LEAK; fi
if [ "$(ls -A ../../work)" != 1 ] || cat ../2/private; then echo LEAK; fi
`)
	res := e.Run(context.Background(), job)
	if res.State != store.RunPassed {
		t.Fatalf("run = %s %q\n%s", res.State, res.Reason, strings.Join(rec.log("sa/t"), "\n"))
	}
	out := strings.Join(rec.log("sa/t"), "\n")
	if strings.Contains(out, "KEY-OF-THE-SERVER") || strings.Contains(out, "ANOTHER-RUN") || strings.Contains(out, "LEAK") {
		t.Errorf("the step reached ferry's data:\n%s", out)
	}
	if ms := rec.result(t, "sa/t").Metrics; len(ms) != 1 || ms[0].Name != "m" {
		t.Errorf("metrics through the sandbox = %+v", ms)
	}
	for _, f := range []string{filepath.Join(job.Workspace, "artifact.txt"), filepath.Join(job.CacheDir, "go-build", "entry")} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("the step's write did not land: %v", err)
		}
	}
}

func TestSandboxedStepTimeoutKillsWhatItLeftBehind(t *testing.T) {
	marker := "sleep 4242"
	e, job, rec, _ := sandboxedJob(t, marker+` & sh -c 'trap "" TERM; while :; do sleep 1; done' & touch ready; wait`)
	job.Pipeline.Stages[0].Steps[0].Timeout = time.Second
	done := make(chan Result, 1)
	go func() { done <- e.Run(context.Background(), job) }()
	var res Result
	select {
	case res = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("a timed-out sandboxed step did not end")
	}
	if r := rec.result(t, "sa/t"); r.State != store.StepFailed || r.Reason != "timed out after 1s" {
		t.Errorf("step = %s %q, want failed: timed out after 1s", r.State, r.Reason)
	}
	if res.State != store.RunFailed {
		t.Errorf("run = %s", res.State)
	}
	if n := countProcesses(marker); n != 0 {
		t.Errorf("%d processes of the step outlived it", n)
	}
}

func countProcesses(cmdline string) int {
	n := 0
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && strings.Contains(strings.ReplaceAll(string(b), "\x00", " "), cmdline) {
			n++
		}
	}
	return n
}

func TestMain(m *testing.M) {
	sandbox.ServeLauncher() // this test binary launches the steps of sandboxed jobs
	os.Exit(m.Run())
}

// The steps of one run share their sandbox (its /tmp is the run's), unless each is asked to have its own; both
// see only the run's folders.
func TestStepsOfARunShareOneSandbox(t *testing.T) {
	var workspaces []string
	for _, perStep := range []bool{false, true} {
		e, job, rec, _ := sandboxedJob(t, `echo first > /tmp/left-by-a`, `cat /tmp/left-by-a 2>&1 || echo "not shared"`)
		workspaces = append(workspaces, job.Workspace)
		e.Sandbox.PerCommand = perStep
		if res := e.Run(context.Background(), job); res.State != store.RunPassed {
			t.Fatalf("per step %v: run = %s %q", perStep, res.State, res.Reason)
		}
		out := strings.Join(rec.log("sb/t"), "\n")
		if want := map[bool]string{false: "first", true: "not shared"}[perStep]; !strings.Contains(out, want) {
			t.Errorf("per step %v: the second step printed %q, want %q", perStep, out, want)
		}
	}
	// Other tests' runs may have launchers of their own: these runs' carry their workspace in their environment.
	for _, ws := range workspaces {
		if n := countLaunchers(ws); n != 0 {
			t.Errorf("%d processes of the sandbox of the run in %s outlived it", n, ws)
		}
	}
}

// countLaunchers counts the processes of the sandbox (bubblewrap and the launcher) of the run whose workspace is ws.
func countLaunchers(ws string) int {
	n := 0
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		cmd, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !strings.Contains(string(cmd), "ferry-sandbox-launcher") {
			continue
		}
		if env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ")); err == nil &&
			strings.Contains(string(env), "FERRY_WORKSPACE="+ws+"\x00") {
			n++
		}
	}
	return n
}

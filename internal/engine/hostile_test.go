package engine

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferry-cd/ferry/internal/artifact"
	"github.com/ferry-cd/ferry/internal/store"
)

// runWithin runs the job and fails the test if it has not ended after a minute: the defences below are
// against steps that hang or exhaust the server, so a hang is the failure, not a slow machine.
func runWithin(t *testing.T, e *Engine, ctx context.Context, job *Job) Result {
	t.Helper()
	done := make(chan Result, 1)
	go func() { done <- e.Run(ctx, job) }()
	select {
	case res := <-done:
		return res
	case <-time.After(time.Minute):
		t.Fatal("the run never ended")
		return Result{}
	}
}

func TestRunHostileMetricsFile(t *testing.T) {
	tests := []struct {
		name   string
		script string
		want   string
	}{
		{"symlink to /dev/zero", `ln -sf /dev/zero "$FERRY_METRICS"`,
			"$FERRY_METRICS: the step replaced the file with a symlink; write the metrics into the file itself"},
		{"fifo", `rm "$FERRY_METRICS"; mkfifo "$FERRY_METRICS"`,
			"$FERRY_METRICS: the step replaced the file with something that is not a regular file"},
		{"endless", `head -c 2000000 /dev/zero | tr '\0' ' ' > "$FERRY_METRICS"`, "$FERRY_METRICS: the file is larger than 1MiB"},
		{"removed", `rm "$FERRY_METRICS"`, "$FERRY_METRICS: the step removed the file; write the metrics into it"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			job, rec := testJob(t, stage("perf", step("bench", tt.script)))
			res := runWithin(t, testEngine(), context.Background(), job)
			r := rec.result(t, "perf/bench")
			if r.State != store.StepFailed || r.Reason != tt.want || res.State != store.RunFailed {
				t.Errorf("step = %s %q (run %s), want failed %q", r.State, r.Reason, res.State, tt.want)
			}
		})
	}
}

// A step that swaps its metrics file for a symlink to a file of the server's and then fails must not make the
// next attempt truncate that file.
func TestRunRetryDoesNotFollowMetricsSymlink(t *testing.T) {
	victim := filepath.Join(t.TempDir(), "ferry.db")
	if err := os.WriteFile(victim, []byte("precious"), 0o600); err != nil {
		t.Fatal(err)
	}
	st := step("bench", `ln -sf `+victim+` "$FERRY_METRICS"; exit 1`)
	st.Retries = 1
	job, rec := testJob(t, stage("perf", st))
	runWithin(t, testEngine(), context.Background(), job)
	if r := rec.result(t, "perf/bench"); r.Attempts != 2 || r.State != store.StepFailed {
		t.Errorf("step = %s after %d attempts, want failed after 2", r.State, r.Attempts)
	}
	if data, _ := os.ReadFile(victim); string(data) != "precious" {
		t.Errorf("the file behind the symlink now holds %q", data)
	}
}

func TestRunMetricNamedBySecret(t *testing.T) {
	const secret = "ghp_Sup3rS3cretT0ken"
	tests := []struct {
		name, metrics, want string
	}{
		{"secret as a valid name", `{"` + secret + `": 1}`,
			"$FERRY_METRICS: metric 1 holds the value of a secret; metrics are shown to every reader of the project"},
		{"secret in the unit", `{"metrics": [{"name": "a", "value": 1, "unit": "x` + secret[:10] + `"}]}`, "$FERRY_METRICS: metric 1 holds the value of a secret"},
		{"secret in a bad name", `{"` + secret + ` !": 1}`, "$FERRY_METRICS: metrics: metric 1: name is not valid"},
		{"secret as an unknown field", `{"metrics": [{"name": "a", "value": 1, "` + secret + `": 2}]}`,
			`$FERRY_METRICS: metrics[0]: unknown field "***"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := step("bench", `printf '%s' '`+tt.metrics+`' > "$FERRY_METRICS"`)
			job, rec := testJob(t, stage("perf", st))
			job.Secrets = map[string]string{"TOKEN": secret, "SHORT_PART": secret[:10]}
			runWithin(t, testEngine(), context.Background(), job)
			r := rec.result(t, "perf/bench")
			if r.State != store.StepFailed || !strings.HasPrefix(r.Reason, tt.want) {
				t.Errorf("step = %s %q, want failed %q", r.State, r.Reason, tt.want)
			}
			if strings.Contains(r.Reason, secret[:10]) || len(r.Metrics) != 0 {
				t.Errorf("the secret reached the step's result: %q %+v", r.Reason, r.Metrics)
			}
		})
	}
}

// An artifact that is a FIFO used to hang the run forever, cancel included.
func TestRunFIFOArtifact(t *testing.T) {
	build := step("build", "mkdir -p dist; echo app > dist/app; mkfifo dist/pipe")
	build.Artifacts = []string{"dist"}
	job, rec := testJob(t, stage("build", build), stage("deploy", step("ship", "true")))
	e := testEngine()
	e.Artifacts = &artifact.Store{Dir: t.TempDir()}
	res := runWithin(t, e, context.Background(), job)
	r := rec.result(t, "build/build")
	if want := "artifact dist/pipe: not a regular file or a directory (a FIFO)"; r.State != store.StepFailed || r.Reason != want {
		t.Errorf("step = %s %q, want failed %q", r.State, r.Reason, want)
	}
	if res.State != store.RunFailed {
		t.Errorf("run = %s, want failed", res.State)
	}
}

package e2e

// Hostile commits that tried to crash or wedge the server (issue 9, part 2): each ends with a clear reason on
// the run, and the server keeps serving.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// commitSymlink commits name as a symlink to target, with files as in commit.
func (r *remote) commitSymlink(branch, msg, name, target string, files map[string]string) string {
	r.t.Helper()
	p := filepath.Join(r.work, name)
	os.Remove(p)
	if err := os.Symlink(target, p); err != nil {
		r.t.Fatal(err)
	}
	return r.commit(branch, msg, files)
}

// assertServing fails the test unless the server still answers and still runs a good pipeline.
func assertServing(t *testing.T, f *ferry, repo *remote) {
	t.Helper()
	os.Remove(filepath.Join(repo.work, ".ferry.yaml"))
	repo.commit("main", "good again", map[string]string{".ferry.yaml": passingPipeline})
	if r := f.waitRun(f.trigger("app")); r.State != "passed" {
		t.Errorf("the server no longer runs a good pipeline: %s %s\n%s", r.State, r.Reason, f.logs)
	}
}

func TestHostilePipelineFile(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "outside.yaml")
	if err := os.WriteFile(secret, []byte("version: 1\nstages: [TOP-SECRET-OF-THE-SERVER]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fifoRepo := filepath.Join(t.TempDir(), "fifo")
	tests := []struct {
		name, target, want string
	}{
		{"symlink to /dev/zero", "/dev/zero", "read pipeline file: .ferry.yaml is a symlink that leads out of its folder"},
		{"symlink out of the checkout", secret, "read pipeline file: .ferry.yaml is a symlink that leads out of its folder"},
		{"relative symlink out", "../../../../../../../../../../.." + secret, "read pipeline file: .ferry.yaml is a symlink that leads out of its folder"},
		{"symlink to a FIFO outside", fifoRepo, "read pipeline file: .ferry.yaml is a symlink that leads out of its folder"},
	}
	if err := exec.Command("mkfifo", fifoRepo).Run(); err != nil {
		t.Fatal(err)
	}
	repo := newRemote(t)
	repo.commit("main", "first", map[string]string{"README": "x"})
	f := startFerry(t)
	f.addProject("app", repo.URL, "--poll", "0")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			repo.commitSymlink("main", tt.name, ".ferry.yaml", tt.target, nil)
			r := f.waitRun(f.trigger("app"))
			if r.State != "error" || r.Reason != tt.want {
				t.Errorf("run = %s %q, want error %q", r.State, r.Reason, tt.want)
			}
			logs := f.mustCLI("logs", fmt.Sprint(r.ID))
			if strings.Contains(r.Reason+logs, "TOP-SECRET") {
				t.Errorf("the file outside the checkout leaked:\n%s\n%s", r.Reason, logs)
			}
		})
	}
	// ferry validate and ferry exec read a checkout as the server does.
	if _, errOut, code := f.cli("", "validate", filepath.Join(repo.work, ".ferry.yaml")); code == 0 || !strings.Contains(errOut, "leads out of its folder") {
		t.Errorf("ferry validate of a symlink out: exit %d\n%s", code, errOut)
	}
	if _, errOut, code := f.cli("", "exec", repo.work); code == 0 || !strings.Contains(errOut, "leads out of its folder") || strings.Contains(errOut, "TOP-SECRET") {
		t.Errorf("ferry exec of a symlink out: exit %d\n%s", code, errOut)
	}
	assertServing(t, f, repo)
}

func TestHostileMetricsFile(t *testing.T) {
	repo := newRemote(t)
	repo.commit("main", "zero", map[string]string{".ferry.yaml": `version: 1
stages:
  - name: perf
    steps:
      - name: bench
        run: ln -sf /dev/zero "$FERRY_METRICS"
`})
	f := startFerry(t)
	f.addProject("app", repo.URL, "--poll", "0")
	r := f.waitRun(f.trigger("app"))
	want := "perf/bench: $FERRY_METRICS: the step replaced the file with a symlink; write the metrics into the file itself"
	if r.State != "failed" || r.Reason != want {
		t.Errorf("run = %s %q, want failed %q", r.State, r.Reason, want)
	}
	assertServing(t, f, repo)
}

func TestHostileMetricNamedBySecret(t *testing.T) {
	const secret = "ghp_e2eSecretToken42"
	repo := newRemote(t)
	repo.commit("main", "leak", map[string]string{".ferry.yaml": `version: 1
stages:
  - name: perf
    steps:
      - name: bench
        secrets: [API_KEY]
        run: |
          printf '{"%s": 1}' "$API_KEY" > "$FERRY_METRICS"
`})
	f := startFerry(t)
	f.addProject("app", repo.URL, "--poll", "0")
	if _, errOut, code := f.cli(secret+"\n", "secret", "set", "app", "API_KEY"); code != 0 {
		t.Fatalf("secret set: %s", errOut)
	}
	id := f.trigger("app")
	r := f.waitRun(id)
	if r.State != "failed" || !strings.Contains(r.Reason, "holds the value of a secret") {
		t.Errorf("run = %s %q, want failed: a metric holds a secret", r.State, r.Reason)
	}
	// Everything a read-only token can see of the run.
	var raw map[string]any
	f.api("GET", fmt.Sprintf("/api/v1/runs/%d", id), nil, &raw)
	show := f.mustCLI("run", "show", fmt.Sprint(id))
	logs := f.mustCLI("logs", fmt.Sprint(id))
	if all := fmt.Sprint(raw) + show + logs; strings.Contains(all, secret) {
		t.Errorf("the secret reached the run's record:\n%s", all)
	}
}

func TestHostileArtifactFIFO(t *testing.T) {
	repo := newRemote(t)
	repo.commit("main", "fifo", map[string]string{".ferry.yaml": `version: 1
stages:
  - name: build
    steps:
      - name: compile
        run: mkdir -p dist && echo app > dist/app && mkfifo dist/pipe
        artifacts: [dist]
`})
	f := startFerry(t)
	f.addProject("app", repo.URL, "--poll", "0")
	r := f.waitRun(f.trigger("app"))
	want := "build/compile: artifact dist/pipe: not a regular file or a directory (a FIFO)"
	if r.State != "failed" || r.Reason != want {
		t.Errorf("run = %s %q, want failed %q", r.State, r.Reason, want)
	}
	assertServing(t, f, repo)
}

func TestHostileEndlessOutput(t *testing.T) {
	repo := newRemote(t)
	repo.commit("main", "flood", map[string]string{".ferry.yaml": `version: 1
stages:
  - name: test
    steps:
      - name: flood
        run: |
          echo before-the-flood
          yes flooding-the-log | head -c 5000000
          echo after-the-flood
      - name: quiet
        run: sleep 1; echo from-another-step
`})
	f := startFerry(t, "--run-log-limit", "256KiB")
	f.addProject("app", repo.URL, "--poll", "0")
	id := f.trigger("app")
	r := f.waitRun(id)
	if r.State != "passed" {
		t.Fatalf("run = %s %q: a cut log must not fail the steps", r.State, r.Reason)
	}
	info, err := os.Stat(filepath.Join(f.data, "logs", fmt.Sprintf("%d.log", id)))
	if err != nil || info.Size() > 260<<10 {
		t.Fatalf("run log: %v, want at most about 256KiB", info.Size())
	}
	logs := f.mustCLI("logs", fmt.Sprint(id))
	if !strings.Contains(logs, "before-the-flood") || strings.Contains(logs, "after-the-flood") || strings.Contains(logs, "from-another-step") {
		t.Errorf("the log kept output past its limit, or lost what came before")
	}
	if n := strings.Count(logs, "ferry: log cut at 256KiB (ferry serve --run-log-limit); further output of this run is not kept"); n != 1 {
		t.Errorf("the log says %d times that it was cut, want once", n)
	}
}

// TestHostileDiskFull puts the data folder on a real, small disk (a tmpfs; the test runs as root) and lets a
// step print until it is full.
func TestHostileDiskFull(t *testing.T) {
	disk := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", disk).CombinedOutput(); err != nil {
		t.Fatalf("mount a tmpfs (the test needs root): %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", disk).Run() })
	repo := newRemote(t)
	repo.commit("main", "flood", map[string]string{".ferry.yaml": `version: 1
stages:
  - name: test
    steps:
      - {name: flood, run: yes filling-the-disk}
`})
	f := &ferry{t: t, data: filepath.Join(disk, "data"), args: []string{"--run-log-limit", "1GiB"}}
	f.start()
	t.Cleanup(f.stop)
	f.addProject("app", repo.URL, "--poll", "0")
	id := f.trigger("app")
	r := f.waitRun(id)
	want := fmt.Sprintf("write run log: write %s: no space left on device", filepath.Join(f.data, "logs", fmt.Sprintf("%d.log", id)))
	if r.State != "error" || r.Reason != want {
		t.Fatalf("run = %s %q, want error %q", r.State, r.Reason, want)
	}
	if s := r.step("test/flood"); s.State != "canceled" && s.State != "error" {
		t.Errorf("step = %+v, want it stopped", s)
	}
	logs := f.mustCLI("logs", fmt.Sprint(id))
	if !strings.HasSuffix(strings.TrimSpace(logs), "ferry: log cut: write "+filepath.Join(f.data, "logs", fmt.Sprintf("%d.log", id))+": no space left on device") {
		t.Errorf("the log does not end saying why:\n%.300s", logs[max(len(logs)-300, 0):])
	}
	if code := f.api("GET", "/api/v1/projects/app/runs", nil, nil); code != 200 {
		t.Errorf("the server stopped serving: HTTP %d", code)
	}
}

func TestRetryAfterShutdownIsBounded(t *testing.T) {
	repo := newRemote(t)
	dir := t.TempDir()
	sha := repo.commit("main", "long", map[string]string{".ferry.yaml": fmt.Sprintf(`version: 1
stages:
  - name: test
    steps:
      - name: long
        run: |
          echo started >> %[1]s/starts
          sleep 300
`, dir)})
	starts := func() int {
		data, _ := os.ReadFile(filepath.Join(dir, "starts"))
		return strings.Count(string(data), "started")
	}
	f := startFerry(t, "--sandbox-bind", dir)
	f.addProject("app", repo.URL, "--poll", "0")
	id := f.trigger("app")
	waitFor(t, 30*time.Second, "the long step", func() bool { return starts() == 1 })

	// A graceful shutdown interrupts the run; the next server runs its commit again.
	f.stop()
	f.start()
	if r := f.getRun(id); r.State != "error" || r.Reason != "interrupted by server shutdown" {
		t.Errorf("run after shutdown: %s %q", r.State, r.Reason)
	}
	waitFor(t, 30*time.Second, "the retry's long step", func() bool { return starts() == 2 })
	retry := f.getRun(id + 1)
	if retry.Commit != sha || retry.Trigger != fmt.Sprintf("retry of run %d after restart", id) || retry.State != "running" {
		t.Fatalf("retry = %+v", retry)
	}

	// The retry dies with the server too: it is recorded, and not retried again.
	f.kill9()
	f.start()
	if r := f.getRun(retry.ID); r.State != "error" || r.Reason != "interrupted by server restart" {
		t.Errorf("retry after kill -9: %s %q", r.State, r.Reason)
	}
	if runs := f.runs("app"); len(runs) != 2 {
		t.Errorf("%d runs after the retry was interrupted, want 2: a retry is never retried", len(runs))
	}
	if !strings.Contains(f.logs.String(), "interrupted run not retried: it was a retry already") {
		t.Errorf("the server log does not say why the retry was not retried:\n%s", f.logs)
	}
}

// A retry never builds an older commit after a newer one: when a later run of the branch builds a commit that
// contains the interrupted one, the interrupted commit is not queued again.
func TestNoRetryWhenANewerCommitIsQueued(t *testing.T) {
	repo := newRemote(t)
	dir := t.TempDir()
	old := repo.commit("main", "long", map[string]string{".ferry.yaml": fmt.Sprintf(`version: 1
stages:
  - name: test
    steps:
      - {name: long, run: "touch %s/started; sleep 300"}
`, dir)})
	f := startFerry(t, "--sandbox-bind", dir)
	f.addProject("app", repo.URL, "--poll", "0", "--concurrency", "1")
	id := f.trigger("app")
	waitFor(t, 30*time.Second, "the long step", func() bool { _, err := os.Stat(filepath.Join(dir, "started")); return err == nil })
	newer := repo.commit("main", "quick", map[string]string{".ferry.yaml": passingPipeline})
	queued := f.trigger("app")

	f.kill9()
	f.start()
	if r := f.waitRun(queued); r.State != "passed" || r.Commit != newer {
		t.Errorf("the newer run = %s %.7s, want passed %.7s", r.State, r.Commit, newer)
	}
	for _, r := range f.runs("app") {
		if r.ID != id && r.Commit == old {
			t.Errorf("run %d (%s) builds the interrupted commit after a newer one was queued", r.ID, r.Trigger)
		}
	}
	if !strings.Contains(f.logs.String(), "interrupted run not retried: a later run builds its commit") {
		t.Errorf("the server log does not say why the run was not retried:\n%s", f.logs)
	}
}

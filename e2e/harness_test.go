// Package e2e drives a real `ferry serve` (the built binary) through its API and CLI, with repositories made by
// the git CLI and served over smart HTTP by `git http-backend`.
package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var ferryBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ferry-e2e-bin-")
	if err != nil {
		panic(err)
	}
	ferryBin = filepath.Join(dir, "ferry")
	// A race-enabled binary sleeps a second at exit (the race runtime's atexit_sleep_ms) unless told not to:
	// every CLI call would take a second.
	os.Setenv("GORACE", "atexit_sleep_ms=0")
	build := exec.Command("go", "build", "-race", "-o", ferryBin, "../cmd/ferry")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build ferry:", err)
		os.Exit(1)
	}
	code := m.Run()
	removePromptfoo()
	os.RemoveAll(dir)
	os.Exit(code)
}

// gitEnv gives commits a fixed identity whatever the machine's git config says.
var gitEnv = []string{
	"GIT_AUTHOR_NAME=Test Author", "GIT_AUTHOR_EMAIL=author@example.com",
	"GIT_COMMITTER_NAME=Test Author", "GIT_COMMITTER_EMAIL=author@example.com",
	"GIT_CONFIG_NOSYSTEM=1", "HOME=" + os.TempDir(),
}

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), gitEnv...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// remote is a bare repository served over smart HTTP, with a working clone to commit from.
type remote struct {
	t    *testing.T
	URL  string // http://127.0.0.1:PORT/app.git
	bare string
	work string
}

func newRemote(t *testing.T) *remote {
	t.Helper()
	root := t.TempDir()
	bare := filepath.Join(root, "srv", "app.git")
	work := filepath.Join(root, "work")
	os.MkdirAll(bare, 0o755)
	git(t, bare, "init", "--quiet", "--bare", "--initial-branch=main")
	git(t, root, "init", "--quiet", "--initial-branch=main", work)
	git(t, work, "remote", "add", "origin", bare)
	backend := "/usr/lib/git-core/git-http-backend"
	if p, err := exec.Command("git", "--exec-path").Output(); err == nil {
		backend = filepath.Join(strings.TrimSpace(string(p)), "git-http-backend")
	}
	srv := httptest.NewServer(&cgi.Handler{
		Path: backend,
		Env:  []string{"GIT_PROJECT_ROOT=" + filepath.Join(root, "srv"), "GIT_HTTP_EXPORT_ALL=1"},
	})
	t.Cleanup(srv.Close)
	return &remote{t: t, URL: srv.URL + "/app.git", bare: bare, work: work}
}

// commit writes files (path → content; "" deletes), commits them and pushes to branch; it returns the commit.
func (r *remote) commit(branch, msg string, files map[string]string) string {
	r.t.Helper()
	for name, content := range files {
		p := filepath.Join(r.work, name)
		if content == "" {
			os.Remove(p)
			continue
		}
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o755); err != nil {
			r.t.Fatal(err)
		}
	}
	git(r.t, r.work, "add", "-A")
	git(r.t, r.work, "commit", "--quiet", "--allow-empty", "-m", msg)
	git(r.t, r.work, "push", "--quiet", "origin", "HEAD:refs/heads/"+branch)
	return git(r.t, r.work, "rev-parse", "HEAD")
}

// ferry is a started `ferry serve`.
type ferry struct {
	t     *testing.T
	data  string
	addr  string
	token string
	cmd   *exec.Cmd
	args  []string
	done  chan struct{}
	logs  *lockedWriter
}

// buildsGo is for servers whose pipelines build the sample Go service: its steps use the machine's Go caches,
// as ferry demo's do, instead of a cold cache per project that compiles the standard library again in every
// test (tens of seconds each on two busy cores). The per-project caches are tested where they matter.
const buildsGo = "--shared-tool-caches"

// startFerry starts a server on a fresh data folder; args are extra flags for ferry serve.
func startFerry(t *testing.T, args ...string) *ferry {
	f := &ferry{t: t, data: filepath.Join(t.TempDir(), "data"), args: args}
	// The data plane outlives ferry serve on purpose; the test's ends with the test (this runs after f.stop).
	t.Cleanup(func() { exec.Command(ferryBin, "dataplane", "stop", "--data", f.data).Run() })
	f.start()
	t.Cleanup(f.stop)
	return f
}

// start runs `ferry serve` on f.data and waits until it answers. The first start reads the admin token.
func (f *ferry) start() {
	t := f.t
	t.Helper()
	addr := f.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	cmd := exec.Command(ferryBin, append([]string{"serve", "--listen", addr, "--data", f.data, "--health-timeout", "5s"}, f.args...)...)
	cmd.Env = append(os.Environ(), "FERRY_TOKEN=", "FERRY_SERVER=")
	stdout, _ := cmd.StdoutPipe()
	f.logs = &lockedWriter{}
	cmd.Stderr = f.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	f.cmd = cmd
	f.done = make(chan struct{})
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			if tok, ok := strings.CutPrefix(strings.TrimSpace(line), "export FERRY_TOKEN="); ok {
				f.token = tok
			}
			if rest, ok := strings.CutPrefix(line, "ferry: serving on http://"); ok {
				a, _, _ := strings.Cut(rest, " ")
				ready <- a
			}
		}
	}()
	go func() { cmd.Wait(); close(f.done) }()
	select {
	case a := <-ready:
		f.addr = a
	case <-f.done:
		t.Fatalf("ferry serve exited early:\n%s", f.logs)
	case <-time.After(30 * time.Second):
		t.Fatalf("ferry serve did not start:\n%s", f.logs)
	}
	if f.token == "" {
		t.Fatal("ferry serve printed no admin token")
	}
}

func (f *ferry) stop() {
	if f.cmd == nil {
		return
	}
	f.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-f.done:
	case <-time.After(20 * time.Second):
		f.cmd.Process.Kill()
		<-f.done
	}
	f.cmd = nil
}

// kill9 kills the server the hard way.
func (f *ferry) kill9() {
	f.cmd.Process.Signal(syscall.SIGKILL)
	<-f.done
	f.cmd = nil
}

func (f *ferry) url(path string) string { return "http://" + f.addr + path }

// api calls the API with the admin token; out may be nil. It returns the status code.
func (f *ferry) api(method, path string, in, out any) int {
	f.t.Helper()
	var body io.Reader
	if in != nil {
		data, _ := json.Marshal(in)
		body = bytes.NewReader(data)
	}
	req, _ := http.NewRequest(method, f.url(path), body)
	req.Header.Set("Authorization", "Bearer "+f.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(data, out); err != nil {
			f.t.Fatalf("%s %s: decode %q: %v", method, path, data, err)
		}
	}
	return resp.StatusCode
}

// cli runs the ferry binary against the server and returns stdout, stderr and the exit code.
func (f *ferry) cli(stdin string, args ...string) (string, string, int) {
	f.t.Helper()
	cmd := exec.Command(ferryBin, args...)
	cmd.Env = append(os.Environ(), "FERRY_SERVER=http://"+f.addr, "FERRY_TOKEN="+f.token)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		f.t.Fatal(err)
	}
	return stdout.String(), stderr.String(), code
}

// mustCLI runs the CLI and fails the test unless it exits 0.
func (f *ferry) mustCLI(args ...string) string {
	f.t.Helper()
	out, errOut, code := f.cli("", args...)
	if code != 0 {
		f.t.Fatalf("ferry %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

type step struct {
	Stage    string `json:"stage"`
	Name     string `json:"name"`
	State    string `json:"state"`
	Attempts int    `json:"attempts"`
	ExitCode int    `json:"exit_code"`
	Reason   string `json:"reason"`
	Verdicts []struct {
		Metric   string   `json:"metric"`
		Bound    string   `json:"bound"`
		Baseline *float64 `json:"baseline"`
		Current  *float64 `json:"current"`
		Pass     bool     `json:"pass"`
		Reason   string   `json:"reason"`
	} `json:"verdicts"`
	Artifacts []struct {
		Path   string `json:"path"`
		Digest string `json:"digest"`
	} `json:"artifacts"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"`
}

type run struct {
	ID         int64     `json:"id"`
	Project    string    `json:"project"`
	Commit     string    `json:"commit"`
	Trigger    string    `json:"trigger"`
	State      string    `json:"state"`
	Reason     string    `json:"reason"`
	FailedStep string    `json:"failed_step"`
	ReleaseID  int64     `json:"release_id"`
	CreatedAt  time.Time `json:"created_at"`
	Steps      []step    `json:"steps"`
	// ReleaseVersion is the number users see (v7): the release's version within the project.
	ReleaseVersion int64 `json:"release_version"`
}

func (r *run) step(full string) step {
	for _, s := range r.Steps {
		if s.Stage+"/"+s.Name == full {
			return s
		}
	}
	return step{}
}

func (f *ferry) getRun(id int64) *run {
	f.t.Helper()
	var r run
	if code := f.api("GET", fmt.Sprintf("/api/v1/runs/%d", id), nil, &r); code != 200 {
		f.t.Fatalf("get run %d: HTTP %d", id, code)
	}
	return &r
}

func (f *ferry) runs(project string) []run {
	f.t.Helper()
	var rs []run
	if code := f.api("GET", "/api/v1/projects/"+project+"/runs", nil, &rs); code != 200 {
		f.t.Fatalf("list runs: HTTP %d", code)
	}
	return rs
}

// waitRun waits until run id is in a final state and returns it.
func (f *ferry) waitRun(id int64) *run {
	f.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		r := f.getRun(id)
		switch r.State {
		case "passed", "failed", "canceled", "superseded", "error":
			return r
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("run %d still %s after 90s\nserver log:\n%s", id, r.State, f.logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// addProject adds a project through the CLI.
func (f *ferry) addProject(name, repo string, extra ...string) {
	f.t.Helper()
	args := append([]string{"project", "add", name, "--repo", repo}, extra...)
	f.mustCLI(args...)
}

// trigger queues a run through the CLI and returns its id.
func (f *ferry) trigger(project string, extra ...string) int64 {
	f.t.Helper()
	out := f.mustCLI(append([]string{"trigger", project, "--json"}, extra...)...)
	var r run
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		f.t.Fatalf("trigger output %q: %v", out, err)
	}
	return r.ID
}

// processAlive reports whether pid exists and is not a zombie.
func processAlive(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the command name in parentheses.
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// readPIDs reads whitespace-separated process ids from a file.
func readPIDs(t *testing.T, path string) []int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read pid file: %v", err)
	}
	var pids []int
	for _, f := range strings.Fields(string(data)) {
		var pid int
		fmt.Sscan(f, &pid)
		pids = append(pids, pid)
	}
	return pids
}

// lockedWriter collects the server's log for failure messages.
type lockedWriter struct {
	mu sync.Mutex
	w  bytes.Buffer
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.String()
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

package runs

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-cd/ferry/internal/artifact"
	"github.com/ferry-cd/ferry/internal/engine"
	"github.com/ferry-cd/ferry/internal/pipeline"
	"github.com/ferry-cd/ferry/internal/store"
	"github.com/ferry-cd/ferry/internal/store/sqlite"
)

// gitEnv isolates git from the user's and the system's configuration. It uses t.Setenv, so tests calling it
// cannot run in parallel.
func gitEnv(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	t.Setenv("HOME", t.TempDir())
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	t.Setenv("GIT_CONFIG_GLOBAL", os.DevNull)
	t.Setenv("GIT_AUTHOR_NAME", "Ada Lovelace")
	t.Setenv("GIT_AUTHOR_EMAIL", "ada@example.com")
	t.Setenv("GIT_COMMITTER_NAME", "Ada Lovelace")
	t.Setenv("GIT_COMMITTER_EMAIL", "ada@example.com")
}

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// repo is a working repository with a main branch, which projects fetch from by its path.
type repo struct {
	t   *testing.T
	dir string
}

func newRepo(t *testing.T) *repo {
	t.Helper()
	gitEnv(t)
	r := &repo{t: t, dir: t.TempDir()}
	git(t, r.dir, "init", "--quiet", "--initial-branch=main")
	return r
}

// commit commits a pipeline file with the given text on the current branch and returns the commit id.
func (r *repo) commit(pipelineText, message string) string {
	r.t.Helper()
	if err := os.WriteFile(filepath.Join(r.dir, pipeline.FileName), []byte(pipelineText), 0o644); err != nil {
		r.t.Fatal(err)
	}
	git(r.t, r.dir, "add", pipeline.FileName)
	git(r.t, r.dir, "commit", "--quiet", "--allow-empty", "-m", message)
	return git(r.t, r.dir, "rev-parse", "HEAD")
}

// pipelineOf is a pipeline of one stage "test" with one step "unit" running script.
func pipelineOf(script string) string {
	return "version: 1\nstages:\n  - name: test\n    steps:\n      - name: unit\n        run: |\n          " +
		strings.ReplaceAll(script, "\n", "\n          ") + "\n"
}

// recorder hears the manager's events: the runs that ended and the releases passed runs made.
type recorder struct {
	mu       sync.Mutex
	ended    chan *store.Run
	releases []*store.Release
	queued   []int64
}

func (r *recorder) RunQueued(run *store.Run) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.queued = append(r.queued, run.ID)
}
func (r *recorder) RunStarted(*store.Run)            {}
func (r *recorder) StepEnded(string, *store.Step)    {}
func (r *recorder) StepsEnded(string, []*store.Step) {}
func (r *recorder) RunEnded(_ context.Context, run *store.Run) {
	c := *run
	r.ended <- &c
}
func (r *recorder) RunPassed(_ context.Context, _ *pipeline.Pipeline, rel *store.Release) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.releases = append(r.releases, rel)
}

func (r *recorder) passed() []*store.Release {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*store.Release(nil), r.releases...)
}

// fixture is a manager over a real SQLite store in a temporary data folder, with project "app" following
// repo's main branch.
type fixture struct {
	t    *testing.T
	m    *Manager
	db   store.Store
	repo *repo
	ev   *recorder
	dir  string
}

func newFixture(t *testing.T, tweak func(*Config)) *fixture {
	t.Helper()
	rp := newRepo(t)
	dir := t.TempDir()
	db, err := sqlite.Open(filepath.Join(dir, "ferry.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx := context.Background()
	if err := db.CreateProject(ctx, &store.Project{Name: "app", Repo: rp.dir, Branch: "main", CreatedAt: time.Now().UTC()}); err != nil {
		t.Fatal(err)
	}
	ev := &recorder{ended: make(chan *store.Run, 100)}
	arts := &artifact.Store{Dir: filepath.Join(dir, "blobs")}
	cfg := Config{DataDir: dir, Store: db, Engine: &engine.Engine{Artifacts: arts}, Artifacts: arts, Events: ev}
	if tweak != nil {
		tweak(&cfg)
	}
	return &fixture{t: t, m: New(cfg), db: db, repo: rp, ev: ev, dir: dir}
}

// start runs the manager's dispatcher until the test ends; stop ends it earlier and waits for it.
func (f *fixture) start() (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); f.m.Run(ctx) }()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	f.t.Cleanup(stop)
	return stop
}

func (f *fixture) enqueue(commit, trigger string) *store.Run {
	f.t.Helper()
	r, err := f.m.Enqueue(context.Background(), "app", commit, trigger)
	if err != nil {
		f.t.Fatal(err)
	}
	return r
}

// waitEnd waits for run id to end; the minute is a guard against a hang, not a measure.
func (f *fixture) waitEnd(id int64) *store.Run {
	f.t.Helper()
	deadline := time.After(time.Minute)
	for {
		select {
		case r := <-f.ev.ended:
			if r.ID == id {
				return r
			}
		case <-deadline:
			f.t.Fatalf("run %d did not end", id)
		}
	}
}

func (f *fixture) run(id int64) *store.Run {
	f.t.Helper()
	r, err := f.db.GetRun(context.Background(), id)
	if err != nil {
		f.t.Fatal(err)
	}
	return r
}

func (f *fixture) steps(id int64) []*store.Step {
	f.t.Helper()
	steps, err := f.db.ListSteps(context.Background(), id)
	if err != nil {
		f.t.Fatal(err)
	}
	return steps
}

// logText is the run's whole log, one "step: text" per line.
func (f *fixture) logText(id int64) string {
	f.t.Helper()
	var b strings.Builder
	err := f.m.FollowLog(context.Background(), id, "", false, func(ln LogLine) error {
		b.WriteString(ln.Step + ": " + ln.Text + "\n")
		return nil
	}, func() {})
	if err != nil {
		f.t.Fatal(err)
	}
	return b.String()
}

// waitLog follows run id's log until a line of it contains text.
func (f *fixture) waitLog(id int64, text string) {
	f.t.Helper()
	found := errors.New("found")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := f.m.FollowLog(ctx, id, "", true, func(ln LogLine) error {
		if strings.Contains(ln.Text, text) {
			return found
		}
		return nil
	}, func() {})
	if err != found {
		f.t.Fatalf("log of run %d never said %q (%v)", id, text, err)
	}
}

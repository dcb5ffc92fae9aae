package rollout

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-cd/ferry/internal/testapp"

	"github.com/ferry-cd/ferry/internal/analysis"
	"github.com/ferry-cd/ferry/internal/artifact"
	"github.com/ferry-cd/ferry/internal/dataplane"
	"github.com/ferry-cd/ferry/internal/deploy/local"
	"github.com/ferry-cd/ferry/internal/pipeline"
	"github.com/ferry-cd/ferry/internal/proxy"
	"github.com/ferry-cd/ferry/internal/store"
	"github.com/ferry-cd/ferry/internal/store/sqlite"
)

var appBinary string

func TestMain(m *testing.M) { testapp.Main(m, &appBinary) }

// serve serves the plane's socket API in dir and returns a client of it: the controller drives the data plane
// through the local target, as in ferry serve.
func serve(t *testing.T, p *dataplane.Plane, dir string) *dataplane.Client {
	t.Helper()
	sock := filepath.Join(dir, "dataplane.sock")
	l, err := dataplane.Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: p.Handler(nil)}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return dataplane.NewClient(sock)
}

type fixture struct {
	t      *testing.T
	st     store.Store
	arts   *artifact.Store
	plane  *dataplane.Plane
	target *local.Target
	ctl    *Controller
	listen string
	ws     string

	mu      sync.Mutex
	verdict analysis.Verdict // what the fake analysis answers
}

func newFixture(t *testing.T) *fixture {
	dir := t.TempDir()
	db, err := sqlite.Open(filepath.Join(dir, "ferry.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.CreateProject(context.Background(), &store.Project{Name: "shop", Repo: "x", Branch: "main", Concurrency: 1}); err != nil {
		t.Fatal(err)
	}
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	listen := l.Addr().String()
	l.Close()
	f := &fixture{t: t, st: db, arts: &artifact.Store{Dir: filepath.Join(dir, "blobs")}, listen: listen, ws: t.TempDir(), verdict: analysis.Pass}
	f.plane = &dataplane.Plane{DataDir: filepath.Join(dir, "dp"), StopGrace: time.Second}
	os.MkdirAll(f.plane.DataDir, 0o755)
	t.Cleanup(f.plane.Close)
	f.target = &local.Target{DataPlane: serve(t, f.plane, f.plane.DataDir), Artifacts: f.arts, DataDir: dir}
	f.ctl = f.controller()
	return f
}

func (f *fixture) controller() *Controller {
	return &Controller{Store: f.st, Target: f.target, Tick: 20 * time.Millisecond,
		HealthTimeout: 5 * time.Second,
		Analyze: func(ctx context.Context, spec pipeline.Analysis, t AnalysisSubject, span time.Duration, role proxy.Role) Evaluation {
			f.mu.Lock()
			defer f.mu.Unlock()
			// A fake at the controller's own boundary: the real analysis is tested in its package and end to end.
			return Evaluation{Verdict: f.verdict, Summary: "error_rate " + string(f.verdict), JSON: []byte(`{"verdict":"` + string(f.verdict) + `"}`)}
		}}
}

func (f *fixture) setVerdict(v analysis.Verdict) {
	f.mu.Lock()
	f.verdict = v
	f.mu.Unlock()
}

// release records a release whose bundle holds the test app and whose pipeline has the given environment.
func (f *fixture) release(n int, envYAML string) int64 {
	f.t.Helper()
	return f.releaseOf("shop", n, envYAML)
}

// releaseOf records a release of project (which must exist) whose commit is n, zero-padded to 40 digits.
func (f *fixture) releaseOf(project string, n int, envYAML string) int64 {
	f.t.Helper()
	data, _ := os.ReadFile(appBinary)
	os.WriteFile(filepath.Join(f.ws, "app"), data, 0o755)
	files, err := f.arts.Collect(f.ws, []string{"app"})
	if err != nil {
		f.t.Fatal(err)
	}
	pl := "version: 1\nstages:\n  - name: b\n    steps:\n      - {name: s, run: 'true'}\nenvironments:\n" + envYAML
	if _, err := pipeline.Parse(".ferry.yaml", []byte(pl)); err != nil {
		f.t.Fatalf("pipeline: %v\n%s", err, pl)
	}
	bundle, err := f.arts.PutBundle(files, []byte(pl))
	if err != nil {
		f.t.Fatal(err)
	}
	rel := &store.Release{Project: project, RunID: int64(n), Branch: "main", Commit: fmt.Sprintf("%040d", n), Bundle: bundle, Pipeline: pl}
	if err := f.st.CreateRelease(context.Background(), rel); err != nil {
		f.t.Fatal(err)
	}
	return rel.ID
}

func (f *fixture) env(mode, strategy string, extra string) string {
	return fmt.Sprintf(`  - name: production
    service: {run: ./app, listen: "%s", instances: 2, env: {MODE: "%s", RELEASE: "r"}, health: {path: /healthz, interval: 50ms}}
    strategy: %s
%s`, f.listen, mode, strategy, extra)
}

// drive runs controller steps until the rollout is final.
func (f *fixture) drive(ctl *Controller, id int64) *store.Rollout {
	f.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if err := ctl.Step(context.Background()); err != nil {
			f.t.Fatal(err)
		}
		r, err := f.st.GetRollout(context.Background(), id)
		if err != nil {
			f.t.Fatal(err)
		}
		if r.State.Done() {
			ctl.Step(context.Background()) // apply the final desired state
			return r
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("rollout %d still %s at step %d: %s", id, r.State, r.Step, r.Reason)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (f *fixture) live() int64 {
	e, err := f.st.GetEnvironment(context.Background(), "shop", "production")
	if err != nil {
		return 0
	}
	return e.LiveReleaseID
}

func (f *fixture) get(header string) string {
	req, _ := http.NewRequest("GET", "http://"+f.listen+"/", nil)
	if header != "" {
		req.Header.Set(proxy.VersionHeader, header)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return fmt.Sprintf("%d %s", resp.StatusCode, b)
}

func (f *fixture) running(id int64) bool {
	for _, e := range f.plane.State().Environments {
		for _, r := range e.Releases {
			if r.ID == fmt.Sprint(id) {
				return true
			}
		}
	}
	return false
}

const canary = "\n      canary:\n        steps: [{weight: 20, pause: 0s}, {weight: 60, pause: 0s}]"
const checks = "    analysis: {interval: 100ms, checks: [{metric: error_rate, max: 1%}]}\n"

func TestRolloutsEndToEndThroughTheController(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()

	// First deploy: nothing to compare with, so it switches once healthy.
	r1 := f.release(1, f.env("", "direct", ""))
	ro, err := f.ctl.Enqueue(ctx, "shop", "production", r1)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.drive(f.ctl, ro.ID); got.State != store.RolloutSucceeded || f.live() != r1 {
		t.Fatalf("first deploy: %s %q, live %d", got.State, got.Reason, f.live())
	}
	if b := f.get(""); !strings.HasPrefix(b, "200 hello from r") {
		t.Fatalf("live answer %q", b)
	}

	// A canary that passes analysis goes through every step.
	r2 := f.release(2, f.env("", canary, checks))
	ro2, _ := f.ctl.Enqueue(ctx, "shop", "production", r2)
	got := f.drive(f.ctl, ro2.ID)
	if got.State != store.RolloutSucceeded || f.live() != r2 {
		t.Fatalf("canary: %s %q, live %d", got.State, got.Reason, f.live())
	}
	evs, _ := f.st.RolloutEvents(ctx, ro2.ID)
	var weights []int
	for _, e := range evs {
		weights = append(weights, e.Weight)
	}
	// queued, starting, step 1, step 2, switched, succeeded
	if fmt.Sprint(weights) != "[0 0 20 60 100 100]" {
		t.Errorf("canary weights over its events %v", weights)
	}
	if e, _ := f.st.GetEnvironment(ctx, "shop", "production"); e.PreviousReleaseID != r1 {
		t.Errorf("previous release %d, want %d", e.PreviousReleaseID, r1)
	}
	waitFor(t, func() bool { return !f.running(r1) }, "r1 stopped after the canary succeeded")

	// A canary whose analysis fails is rolled back; the live release never stopped serving.
	f.setVerdict(analysis.Fail)
	r3 := f.release(3, f.env("", canary, checks))
	ro3, _ := f.ctl.Enqueue(ctx, "shop", "production", r3)
	got = f.drive(f.ctl, ro3.ID)
	if got.State != store.RolloutRolledBack || !strings.Contains(got.Reason, "analysis failed: error_rate fail") || f.live() != r2 {
		t.Fatalf("failing canary: %s %q, live %d", got.State, got.Reason, f.live())
	}
	waitFor(t, func() bool { return !f.running(r3) }, "r3 stopped after rollback")
	f.setVerdict(analysis.Pass)

	// A release that never becomes healthy fails, says what its health check saw, and never gets traffic.
	r4 := f.release(4, f.env("sick", canary, checks))
	ro4, _ := f.ctl.Enqueue(ctx, "shop", "production", r4)
	got = f.drive(f.ctl, ro4.ID)
	if got.State != store.RolloutFailed || !strings.Contains(got.Reason, "did not become healthy within 5s: GET /healthz answered 500 (instance ") ||
		got.Weight != 0 || f.live() != r2 {
		t.Fatalf("sick release: %s %q weight %d, live %d", got.State, got.Reason, got.Weight, f.live())
	}

	// Queued releases: only the newest deploys.
	r5 := f.release(5, f.env("", canary, checks))
	r6 := f.release(6, f.env("", canary, checks))
	ro5, _ := f.ctl.Enqueue(ctx, "shop", "production", r5)
	ro6, _ := f.ctl.Enqueue(ctx, "shop", "production", r6)
	if r, _ := f.st.GetRollout(ctx, ro5.ID); r.State != store.RolloutSuperseded {
		t.Errorf("older queued rollout %s", r.State)
	}
	if got := f.drive(f.ctl, ro6.ID); got.State != store.RolloutSucceeded || f.live() != r6 {
		t.Fatalf("newest queued: %s %q", got.State, got.Reason)
	}

	// Rollback goes straight back to the previous release.
	rb, err := f.ctl.Rollback(ctx, "shop", "production", 0, "test")
	if err != nil {
		t.Fatal(err)
	}
	if got := f.drive(f.ctl, rb.ID); got.State != store.RolloutSucceeded || f.live() != r2 {
		t.Fatalf("rollback: %s %q, live %d", got.State, got.Reason, f.live())
	}
}

func TestRolloutResumesWithANewController(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	r1 := f.release(1, f.env("", "direct", ""))
	ro, _ := f.ctl.Enqueue(ctx, "shop", "production", r1)
	f.drive(f.ctl, ro.ID)

	slow := "\n      canary:\n        steps: [{weight: 30, pause: 1h}]"
	r2 := f.release(2, f.env("", slow, checks))
	ro2, _ := f.ctl.Enqueue(ctx, "shop", "production", r2)
	for {
		f.ctl.Step(ctx)
		r, _ := f.st.GetRollout(ctx, ro2.ID)
		if r.Step == 1 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The control plane "dies"; a new controller picks the rollout up where the store says it is.
	ctl2 := f.controller()
	ctl2.Step(ctx)
	r, _ := f.st.GetRollout(ctx, ro2.ID)
	if r.State != store.RolloutProgressing || r.Step != 1 || r.Weight != 30 {
		t.Fatalf("after a new controller: %s step %d weight %d", r.State, r.Step, r.Weight)
	}
	if b := f.get("canary"); !strings.HasPrefix(b, "200 hello") {
		t.Errorf("canary answer %q", b)
	}
	// Pause, resume, then promote skips the hour-long pause.
	if _, err := ctl2.Pause(ctx, "shop", "production", "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := ctl2.Resume(ctx, "shop", "production", "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := ctl2.Promote(ctx, "shop", "production", "test"); err != nil {
		t.Fatal(err)
	}
	if got := f.drive(ctl2, ro2.ID); got.State != store.RolloutSucceeded || f.live() != r2 {
		t.Fatalf("promoted: %s %q", got.State, got.Reason)
	}
	evs, _ := f.st.RolloutEvents(ctx, ro2.ID)
	var reasons []string
	for _, e := range evs {
		reasons = append(reasons, e.Reason)
	}
	if all := strings.Join(reasons, "|"); !strings.Contains(all, "paused by test|resumed by test|promoted by test") {
		t.Errorf("events: %s", all)
	}
	// Abort with nothing in flight says so.
	if _, err := ctl2.Abort(ctx, "shop", "production", "test"); err != ErrNoRollout {
		t.Errorf("abort without a rollout: %v", err)
	}
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestBreachDuringBakeSwitchesBackToTheWarmRelease(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	r1 := f.release(1, f.env("", "direct", ""))
	ro, _ := f.ctl.Enqueue(ctx, "shop", "production", r1)
	f.drive(f.ctl, ro.ID)

	baked := f.env("", canary, checks) + "    bake: 1h\n"
	r2 := f.release(2, baked)
	ro2, _ := f.ctl.Enqueue(ctx, "shop", "production", r2)
	// Step until the canary has all the traffic and bakes with r1 kept warm.
	deadline := time.Now().Add(30 * time.Second)
	for {
		f.ctl.Step(ctx)
		r, _ := f.st.GetRollout(ctx, ro2.ID)
		if r.Baking {
			break
		}
		if time.Now().After(deadline) || r.State.Done() {
			t.Fatalf("never baked: %s %q", r.State, r.Reason)
		}
		time.Sleep(20 * time.Millisecond)
	}
	f.ctl.Step(ctx)
	if f.live() != r2 || !f.running(r1) {
		t.Fatalf("baking: live %d, r1 running %v", f.live(), f.running(r1))
	}
	r1pids := []int{}
	for _, e := range f.plane.State().Environments {
		for _, r := range e.Releases {
			if r.ID == fmt.Sprint(r1) {
				for _, in := range r.Instances {
					r1pids = append(r1pids, in.PID)
				}
			}
		}
	}
	f.setVerdict(analysis.Fail)
	got := f.drive(f.ctl, ro2.ID)
	if got.State != store.RolloutRolledBack || f.live() != r1 {
		t.Fatalf("breach during bake: %s %q, live %d", got.State, got.Reason, f.live())
	}
	// The same r1 instances that were kept warm take the traffic back: nothing had to start.
	for _, e := range f.plane.State().Environments {
		for _, r := range e.Releases {
			if r.ID == fmt.Sprint(r1) {
				for i, in := range r.Instances {
					if in.PID != r1pids[i] {
						t.Errorf("r1 instance %d restarted (%d → %d)", i, r1pids[i], in.PID)
					}
				}
			}
		}
	}
	if b := f.get(""); !strings.HasPrefix(b, "200 hello") {
		t.Errorf("after switching back: %q", b)
	}
}

func TestInconclusiveAnalysisFollowsOnInconclusive(t *testing.T) {
	for _, tc := range []struct {
		policy string
		want   store.RolloutState
	}{
		{"rollback", store.RolloutRolledBack},
		{"promote", store.RolloutSucceeded},
		{"wait", store.RolloutProgressing},
	} {
		t.Run(tc.policy, func(t *testing.T) {
			f := newFixture(t)
			ctx := context.Background()
			r1 := f.release(1, f.env("", "direct", ""))
			ro, _ := f.ctl.Enqueue(ctx, "shop", "production", r1)
			f.drive(f.ctl, ro.ID)
			f.setVerdict(analysis.Inconclusive)
			spec := "    analysis: {interval: 100ms, on_inconclusive: " + tc.policy + ", checks: [{metric: error_rate, max: 1%}]}\n"
			r2 := f.release(2, f.env("", canary, spec))
			ro2, _ := f.ctl.Enqueue(ctx, "shop", "production", r2)
			if tc.want != store.RolloutProgressing {
				if got := f.drive(f.ctl, ro2.ID); got.State != tc.want {
					t.Fatalf("%s: %s %q", tc.policy, got.State, got.Reason)
				}
				return
			}
			// wait: the rollout holds its first step for as long as the analysis cannot tell.
			deadline := time.Now().Add(3 * time.Second)
			for time.Now().Before(deadline) {
				f.ctl.Step(ctx)
				time.Sleep(20 * time.Millisecond)
			}
			r, _ := f.st.GetRollout(ctx, ro2.ID)
			if r.State != store.RolloutProgressing || r.Step != 1 || r.Weight != 20 {
				t.Fatalf("wait: %s step %d weight %d", r.State, r.Step, r.Weight)
			}
		})
	}
}

// TestRecordedStrategy: the record names each strategy of .ferry.yaml by one of the store's strategies, so
// readers of the record (the API, DORA) see the names they know.
func TestRecordedStrategy(t *testing.T) {
	for _, tt := range []struct {
		kind pipeline.StrategyKind
		want store.RolloutStrategy
	}{
		{pipeline.Direct, store.StrategyDirect},
		{pipeline.BlueGreen, store.StrategyBlueGreen},
		{pipeline.Canary, store.StrategyCanary},
	} {
		if got := recordedStrategy(tt.kind); got != tt.want {
			t.Errorf("recordedStrategy(%v) = %q, want %q", tt.kind, got, tt.want)
		}
	}
}

// Package storetest is the contract every store.Store implementation passes: call Run from the
// implementation's tests.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ferry-cd/ferry/internal/gate"
	"github.com/ferry-cd/ferry/internal/store"
)

// Run runs the contract as subtests. open returns a new, empty store for one subtest; Run closes it when the
// subtest ends.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Projects", testProjects},
		{"Runs", testRuns},
		{"RunsInState", testRunsInState},
		{"Steps", testSteps},
		{"BaselineMetrics", testBaselineMetrics},
		{"Cases", testCases},
		{"Releases", testReleases},
		{"Secrets", testSecrets},
		{"Tokens", testTokens},
		{"DeleteProject", testDeleteProject},
		{"ConcurrentWrites", testConcurrentWrites},
		{"Rollouts", testRollouts},
		{"UpdateRollout", testUpdateRollout},
		{"ListRollouts", testListRollouts},
		{"RolloutsInState", testRolloutsInState},
		{"Environments", testEnvironments},
		{"ConcurrentRollouts", testConcurrentRollouts},
		{"AuditAndTokenRoles", testAudit},
		{"Notifications", testNotifications},
		{"RolloutSamples", testRolloutSamples},
		{"FlagOverrides", testFlagOverrides},
		{"FlagRollouts", testFlagRollouts},
		{"Deliveries", testDeliveries},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("close: %v", err)
				}
			})
			tt.fn(t, s)
		})
	}
}

// A time in a zone other than UTC, with nanoseconds, to show both survive.
var t0 = time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.FixedZone("CET", 3600))

func at(d time.Duration) time.Time { return t0.Add(d) }

// utc copies a record with its time.Time fields in UTC and without a monotonic reading, so records compare
// with reflect.DeepEqual whatever zone they were written in.
func utc[T any](p *T) T {
	c := *p
	v := reflect.ValueOf(&c).Elem()
	for i := range v.NumField() {
		if f := v.Field(i); f.Type() == reflect.TypeFor[time.Time]() {
			f.Set(reflect.ValueOf(f.Interface().(time.Time).UTC().Round(0)))
		}
	}
	return c
}

// same fails the test unless got and want hold the same record.
func same[T any](t *testing.T, what string, got, want *T) {
	t.Helper()
	if g, w := utc(got), utc(want); !reflect.DeepEqual(g, w) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, g, w)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: error %v, want %v", what, err, target)
	}
}

// recent fails unless tm was set by the store between before and now.
func recent(t *testing.T, what string, tm, before time.Time) {
	t.Helper()
	if tm.Before(before.Add(-time.Second)) || tm.After(time.Now().Add(time.Second)) {
		t.Errorf("%s = %v, want about now (%v)", what, tm, before)
	}
}

func newProject(t *testing.T, s store.Store, name string) *store.Project {
	t.Helper()
	p := &store.Project{Name: name, Repo: "https://git.example/" + name + ".git", Branch: "main", CreatedAt: t0}
	must(t, s.CreateProject(context.Background(), p))
	return p
}

func newRun(t *testing.T, s store.Store, project, branch string, state store.RunState) *store.Run {
	t.Helper()
	r := &store.Run{Project: project, Branch: branch, Commit: "c0ffee", Trigger: "manual", State: state, CreatedAt: t0}
	must(t, s.CreateRun(context.Background(), r))
	return r
}

func testProjects(t *testing.T, s store.Store) {
	ctx := context.Background()
	p := &store.Project{Name: "web", Repo: "https://git.example/web.git", Branch: "main", Poll: 90 * time.Second,
		WebhookSecret: "hush", Concurrency: 3, Head: "abc123", CreatedAt: t0,
		Notify: []store.NotifySink{{Kind: "webhook", URL: "https://hooks.example/a"}, {Kind: "slack", URL: "https://hooks.slack.example/b"}}}
	must(t, s.CreateProject(ctx, p))
	got, err := s.GetProject(ctx, "web")
	must(t, err)
	same(t, "project", got, p)

	wantErr(t, "create duplicate", s.CreateProject(ctx, &store.Project{Name: "web", Repo: "x"}), store.ErrExists)
	_, err = s.GetProject(ctx, "nope")
	wantErr(t, "get missing", err, store.ErrNotFound)

	// Zero values round-trip, except a zero CreatedAt, which the store sets.
	before := time.Now()
	api := &store.Project{Name: "api"}
	must(t, s.CreateProject(ctx, api))
	recent(t, "CreatedAt set on create", api.CreatedAt, before)
	got, err = s.GetProject(ctx, "api")
	must(t, err)
	same(t, "zero project", got, api)

	newProject(t, s, "cli")
	ps, err := s.ListProjects(ctx)
	must(t, err)
	var names []string
	for _, p := range ps {
		names = append(names, p.Name)
	}
	if want := []string{"api", "cli", "web"}; !reflect.DeepEqual(names, want) {
		t.Errorf("ListProjects = %v, want %v", names, want)
	}

	must(t, s.SetProjectHead(ctx, "web", "def456"))
	got, err = s.GetProject(ctx, "web")
	must(t, err)
	if p.Head = "def456"; !reflect.DeepEqual(utc(got), utc(p)) {
		t.Errorf("after SetProjectHead: %+v, want %+v", got, p)
	}
	wantErr(t, "SetProjectHead missing", s.SetProjectHead(ctx, "nope", "x"), store.ErrNotFound)
}

func testRuns(t *testing.T, s store.Store) {
	ctx := context.Background()
	newProject(t, s, "web")
	newProject(t, s, "api")

	r := &store.Run{Project: "web", Branch: "main", Commit: "abc", Trigger: "webhook", State: store.RunFailed,
		Reason: "step test/unit failed", FailedStep: "test/unit", ReleaseID: 42,
		CreatedAt: at(0), StartedAt: at(time.Second), FinishedAt: at(time.Minute + time.Nanosecond)}
	must(t, s.CreateRun(ctx, r))
	if r.ID == 0 {
		t.Fatal("CreateRun left ID 0")
	}
	got, err := s.GetRun(ctx, r.ID)
	must(t, err)
	same(t, "run", got, r)

	// Zero times stay zero; a zero CreatedAt is set by the store.
	before := time.Now()
	z := &store.Run{Project: "web", State: store.RunQueued}
	must(t, s.CreateRun(ctx, z))
	recent(t, "CreatedAt set on create", z.CreatedAt, before)
	if z.ID <= r.ID {
		t.Errorf("second run ID %d, want > %d", z.ID, r.ID)
	}
	got, err = s.GetRun(ctx, z.ID)
	must(t, err)
	same(t, "zero run", got, z)

	_, err = s.GetRun(ctx, 9999)
	wantErr(t, "get missing", err, store.ErrNotFound)
	wantErr(t, "create for missing project", s.CreateRun(ctx, &store.Run{Project: "nope"}), store.ErrNotFound)

	// UpdateRun writes every field but ID, Project and CreatedAt, and can clear times.
	z.Branch, z.Commit, z.Trigger, z.State = "dev", "def", "poll", store.RunRunning
	z.Reason, z.FailedStep, z.ReleaseID, z.StartedAt = "r", "a/b", 7, at(time.Hour)
	must(t, s.UpdateRun(ctx, z))
	got, err = s.GetRun(ctx, z.ID)
	must(t, err)
	same(t, "updated run", got, z)
	z.StartedAt, z.ReleaseID = time.Time{}, 0
	must(t, s.UpdateRun(ctx, z))
	got, err = s.GetRun(ctx, z.ID)
	must(t, err)
	same(t, "run with cleared time", got, z)
	wantErr(t, "update missing", s.UpdateRun(ctx, &store.Run{ID: 9999, Project: "web"}), store.ErrNotFound)

	// ListRuns: newest first, limited, one project only.
	ids := []int64{r.ID, z.ID}
	for range 3 {
		ids = append(ids, newRun(t, s, "web", "main", store.RunQueued).ID)
		newRun(t, s, "api", "main", store.RunQueued)
	}
	for _, tc := range []struct {
		limit int
		want  []int64
	}{
		{0, []int64{ids[4], ids[3], ids[2], ids[1], ids[0]}},
		{2, []int64{ids[4], ids[3]}},
		{10, []int64{ids[4], ids[3], ids[2], ids[1], ids[0]}},
	} {
		rs, err := s.ListRuns(ctx, "web", tc.limit)
		must(t, err)
		if got := runIDs(rs); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ListRuns(web, %d) = %v, want %v", tc.limit, got, tc.want)
		}
	}
	rs, err := s.ListRuns(ctx, "web", 0)
	must(t, err)
	same(t, "listed run", rs[len(rs)-1], r)
	rs, err = s.ListRuns(ctx, "nope", 0)
	must(t, err)
	if len(rs) != 0 {
		t.Errorf("ListRuns of a missing project = %v, want none", runIDs(rs))
	}
}

func runIDs(rs []*store.Run) []int64 {
	ids := []int64{}
	for _, r := range rs {
		ids = append(ids, r.ID)
	}
	return ids
}

func testRunsInState(t *testing.T, s store.Store) {
	ctx := context.Background()
	newProject(t, s, "web")
	newProject(t, s, "api")
	q1 := newRun(t, s, "web", "main", store.RunQueued)
	r1 := newRun(t, s, "api", "main", store.RunRunning)
	newRun(t, s, "web", "main", store.RunPassed)
	q2 := newRun(t, s, "api", "main", store.RunQueued)
	r2 := newRun(t, s, "web", "main", store.RunRunning)
	newRun(t, s, "web", "main", store.RunError)

	for _, tc := range []struct {
		states []store.RunState
		want   []int64
	}{
		{[]store.RunState{store.RunQueued}, []int64{q1.ID, q2.ID}},
		{[]store.RunState{store.RunRunning, store.RunQueued}, []int64{q1.ID, r1.ID, q2.ID, r2.ID}},
		{[]store.RunState{store.RunCanceled}, []int64{}},
		{nil, []int64{}},
	} {
		rs, err := s.RunsInState(ctx, tc.states...)
		must(t, err)
		if got := runIDs(rs); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("RunsInState(%v) = %v, want %v", tc.states, got, tc.want)
		}
	}
	rs, err := s.RunsInState(ctx, store.RunRunning)
	must(t, err)
	if len(rs) == 2 {
		same(t, "run in state", rs[0], r1)
	}
}

func float(v float64) *float64 { return &v }

func fullSteps(runID int64) []*store.Step {
	return []*store.Step{
		{RunID: runID, Index: 0, Stage: "build", Name: "compile", State: store.StepPassed, Attempts: 2, ExitCode: 0,
			PID: 4242, StartedAt: at(0), FinishedAt: at(3*time.Second + 7),
			Metrics: []gate.Metric{
				{Name: "binary_size", Value: 12.5, Unit: "MB", Direction: gate.LowerIsBetter},
				{Name: "coverage", Value: 81, Direction: gate.HigherIsBetter},
				{Name: "count", Value: -3},
			},
			Verdicts: []gate.Verdict{
				{Metric: "binary_size", Bound: "max_increase 10%", Baseline: float(11), Current: float(12.5),
					Change: "+1.5 (+13.6%, worse)", Pass: false, Reason: "over by 3.6%"},
				{Metric: "coverage", Bound: "min 80", Current: float(81), Pass: true},
			},
			Artifacts: []store.Artifact{
				{Path: "bin/app", Digest: "sha256:0123", Size: 1 << 33, Mode: 0o755},
				{Path: "report.html", Digest: "sha256:4567", Size: 0, Mode: 0o644},
			}},
		{RunID: runID, Index: 1, Stage: "test", Name: "unit", State: store.StepFailed, Attempts: 1, ExitCode: 3,
			Reason: "exit status 3", StartedAt: at(4 * time.Second)},
		{RunID: runID, Index: 2, Stage: "test", Name: "lint", State: store.StepPending},
	}
}

func testSteps(t *testing.T, s store.Store) {
	ctx := context.Background()
	newProject(t, s, "web")
	run := newRun(t, s, "web", "main", store.RunRunning)
	other := newRun(t, s, "web", "main", store.RunRunning)

	steps := fullSteps(0) // PutSteps sets RunID
	must(t, s.PutSteps(ctx, run.ID, steps))
	must(t, s.PutSteps(ctx, other.ID, fullSteps(0)[:1]))
	got, err := s.ListSteps(ctx, run.ID)
	must(t, err)
	if len(got) != len(steps) {
		t.Fatalf("ListSteps returned %d steps, want %d", len(got), len(steps))
	}
	for i := range steps {
		if steps[i].RunID != run.ID {
			t.Errorf("PutSteps left RunID %d, want %d", steps[i].RunID, run.ID)
		}
		same(t, fmt.Sprintf("step %d", i), got[i], steps[i])
	}

	// UpdateStep by (RunID, Index); it can clear lists and times.
	st := steps[1]
	st.State, st.Attempts, st.ExitCode, st.Reason, st.PID = store.StepPassed, 2, 0, "", 99
	st.Metrics, st.FinishedAt = []gate.Metric{{Name: "p99_ms", Value: 0.25, Unit: "ms"}}, at(time.Minute)
	must(t, s.UpdateStep(ctx, st))
	steps[0].Metrics, steps[0].Verdicts, steps[0].Artifacts, steps[0].StartedAt = nil, nil, nil, time.Time{}
	must(t, s.UpdateStep(ctx, steps[0]))
	got, err = s.ListSteps(ctx, run.ID)
	must(t, err)
	for i := range steps {
		same(t, fmt.Sprintf("updated step %d", i), got[i], steps[i])
	}
	wantErr(t, "update missing index", s.UpdateStep(ctx, &store.Step{RunID: run.ID, Index: 9}), store.ErrNotFound)
	wantErr(t, "update missing run", s.UpdateStep(ctx, &store.Step{RunID: 9999}), store.ErrNotFound)

	// PutSteps replaces, and leaves other runs alone.
	repl := []*store.Step{{Index: 0, Stage: "deploy", Name: "ship", State: store.StepPending}}
	must(t, s.PutSteps(ctx, run.ID, repl))
	got, err = s.ListSteps(ctx, run.ID)
	must(t, err)
	if len(got) != 1 {
		t.Fatalf("after replace: %d steps, want 1", len(got))
	}
	same(t, "replaced step", got[0], repl[0])
	got, err = s.ListSteps(ctx, other.ID)
	must(t, err)
	if len(got) != 1 || got[0].Name != "compile" {
		t.Errorf("steps of another run changed: %+v", got)
	}
	must(t, s.PutSteps(ctx, other.ID, nil))
	got, err = s.ListSteps(ctx, other.ID)
	must(t, err)
	if len(got) != 0 {
		t.Errorf("PutSteps(nil) left %d steps", len(got))
	}
	wantErr(t, "put for missing run", s.PutSteps(ctx, 9999, repl), store.ErrNotFound)
}

func testBaselineMetrics(t *testing.T, s store.Store) {
	ctx := context.Background()
	newProject(t, s, "web")
	newProject(t, s, "api")
	// run adds a run of project/branch in state whose bench/load step reported value (no step when value < 0).
	run := func(project, branch string, state store.RunState, value float64) int64 {
		r := newRun(t, s, project, branch, state)
		steps := []*store.Step{{Index: 0, Stage: "build", Name: "compile", State: store.StepPassed}}
		if value >= 0 {
			var m []gate.Metric
			if value > 0 {
				m = []gate.Metric{{Name: "rps", Value: value, Unit: "req/s", Direction: gate.HigherIsBetter}}
			}
			steps = append(steps, &store.Step{Index: 1, Stage: "bench", Name: "load", State: store.StepPassed, Metrics: m})
		}
		must(t, s.PutSteps(ctx, r.ID, steps))
		return r.ID
	}
	r1 := run("web", "main", store.RunPassed, 100)
	r2 := run("web", "main", store.RunPassed, -1) // passed, without the step
	r3 := run("web", "main", store.RunFailed, 300)
	r4 := run("web", "dev", store.RunPassed, 400)
	r5 := run("api", "main", store.RunPassed, 500)
	r6 := run("web", "main", store.RunPassed, 0) // the step, without metrics
	r7 := run("web", "main", store.RunPassed, 700)
	r8 := run("web", "main", store.RunRunning, 800)

	for _, tc := range []struct {
		name                         string
		project, branch, stage, step string
		before                       int64
		want                         float64 // 0: found without metrics; -1: not found
	}{
		{"first run has no baseline", "web", "main", "bench", "load", r1, -1},
		{"previous passed run, not later ones", "web", "main", "bench", "load", r2, 100},
		{"skips a passed run without the step", "web", "main", "bench", "load", r3, 100},
		{"skips failed runs", "web", "main", "bench", "load", r4, 100},
		{"skips other branches and projects", "web", "main", "bench", "load", r6, 100},
		{"step without metrics is found", "web", "main", "bench", "load", r7, 0},
		{"newest passed before a running run", "web", "main", "bench", "load", r8, 700},
		{"not counting itself or running runs", "web", "main", "bench", "load", r8 + 100, 700},
		{"other branch", "web", "dev", "bench", "load", r8 + 1, 400},
		{"other project", "api", "main", "bench", "load", r8 + 1, 500},
		{"other project, before its run", "api", "main", "bench", "load", r5, -1},
		{"unknown step", "web", "main", "bench", "soak", r8 + 1, -1},
		{"same name, other stage", "web", "main", "build", "load", r8 + 1, -1},
		{"unknown branch", "web", "nope", "bench", "load", r8 + 1, -1},
	} {
		m, found, err := s.BaselineMetrics(ctx, tc.project, tc.branch, tc.stage, tc.step, tc.before)
		must(t, err)
		switch {
		case tc.want < 0:
			if found || m != nil {
				t.Errorf("%s: found=%v metrics=%v, want not found", tc.name, found, m)
			}
		case tc.want == 0:
			if !found || len(m) != 0 {
				t.Errorf("%s: found=%v metrics=%v, want found without metrics", tc.name, found, m)
			}
		default:
			want := []gate.Metric{{Name: "rps", Value: tc.want, Unit: "req/s", Direction: gate.HigherIsBetter}}
			if !found || !reflect.DeepEqual(m, want) {
				t.Errorf("%s: found=%v metrics=%v, want %v", tc.name, found, m, want)
			}
		}
	}
}

func testReleases(t *testing.T, s store.Store) {
	ctx := context.Background()
	newProject(t, s, "web")
	newProject(t, s, "api")
	run := newRun(t, s, "web", "main", store.RunPassed)

	rel := &store.Release{Project: "web", RunID: run.ID, Branch: "main", Commit: "abc", Message: "fix: the thing\n\nBody.",
		Author: "Ada <ada@example.com>", CommitTime: at(-time.Hour), Bundle: "sha256:beef",
		Pipeline: "stages:\n  - name: build\n", Flags: `{"new-checkout":{"default":"off"}}`, CreatedAt: at(0), Version: 99, ID: 99,
		Images:    []string{"registry.example.com/web@sha256:abababababababababababababababababababababababababababababababab"},
		Manifests: map[string]string{"production": "sha256:cafe"}}
	must(t, s.CreateRelease(ctx, rel))
	if rel.Version != 1 {
		t.Errorf("first release Version = %d, want 1", rel.Version)
	}
	got, err := s.GetRelease(ctx, rel.ID)
	must(t, err)
	same(t, "release", got, rel)

	// Versions count per project; zero times round-trip, except CreatedAt, which the store sets.
	before := time.Now()
	var api0 *store.Release
	for i := range 4 {
		a := &store.Release{Project: "api"}
		must(t, s.CreateRelease(ctx, a))
		if i == 0 {
			api0 = a
		}
		if a.Version != int64(i+1) {
			t.Errorf("api release %d: Version = %d, want %d", i, a.Version, i+1)
		}
		w := &store.Release{Project: "web"}
		must(t, s.CreateRelease(ctx, w))
		if w.Version != int64(i+2) {
			t.Errorf("web release %d: Version = %d, want %d", i, w.Version, i+2)
		}
		recent(t, "CreatedAt set on create", w.CreatedAt, before)
	}
	got, err = s.GetRelease(ctx, api0.ID)
	must(t, err)
	same(t, "zero release", got, api0)

	_, err = s.GetRelease(ctx, 9999)
	wantErr(t, "get missing", err, store.ErrNotFound)

	// A version is a project's: web's v1 is rel, api's v1 another release; v9 is neither's.
	got, err = s.ReleaseByVersion(ctx, "web", 1)
	must(t, err)
	same(t, "web v1", got, rel)
	got, err = s.ReleaseByVersion(ctx, "api", 1)
	must(t, err)
	same(t, "api v1", got, api0)
	_, err = s.ReleaseByVersion(ctx, "web", 9)
	wantErr(t, "missing version", err, store.ErrNotFound)
	_, err = s.ReleaseByVersion(ctx, "nope", 1)
	wantErr(t, "version of missing project", err, store.ErrNotFound)
	wantErr(t, "create for missing project", s.CreateRelease(ctx, &store.Release{Project: "nope"}), store.ErrNotFound)

	for _, tc := range []struct {
		project string
		limit   int
		want    []int64 // versions
	}{
		{"web", 0, []int64{5, 4, 3, 2, 1}},
		{"web", 2, []int64{5, 4}},
		{"api", 3, []int64{4, 3, 2}},
		{"api", 100, []int64{4, 3, 2, 1}},
		{"nope", 0, []int64{}},
	} {
		rs, err := s.ListReleases(ctx, tc.project, tc.limit)
		must(t, err)
		versions := []int64{}
		for _, r := range rs {
			if r.Project != tc.project {
				t.Errorf("ListReleases(%s) returned a release of %s", tc.project, r.Project)
			}
			versions = append(versions, r.Version)
		}
		if !reflect.DeepEqual(versions, tc.want) {
			t.Errorf("ListReleases(%s, %d) versions = %v, want %v", tc.project, tc.limit, versions, tc.want)
		}
	}
	rs, err := s.ListReleases(ctx, "web", 0)
	must(t, err)
	same(t, "listed release", rs[len(rs)-1], rel)
}

func testSecrets(t *testing.T, s store.Store) {
	ctx := context.Background()
	newProject(t, s, "web")
	newProject(t, s, "api")

	before := time.Now()
	must(t, s.SetSecret(ctx, "web", "TOKEN", []byte{0, 1, 2, 0xff}))
	must(t, s.SetSecret(ctx, "web", "API_KEY", []byte("sealed-a")))
	must(t, s.SetSecret(ctx, "api", "TOKEN", []byte("api-token")))
	wantErr(t, "set for missing project", s.SetSecret(ctx, "nope", "X", []byte("x")), store.ErrNotFound)

	list := func(project string) []string {
		t.Helper()
		ss, err := s.ListSecrets(ctx, project)
		must(t, err)
		names := []string{}
		for _, sec := range ss {
			recent(t, "secret UpdatedAt", sec.UpdatedAt, before)
			names = append(names, sec.Name)
		}
		return names
	}
	if got, want := list("web"), []string{"API_KEY", "TOKEN"}; !reflect.DeepEqual(got, want) {
		t.Errorf("ListSecrets(web) = %v, want %v", got, want)
	}

	ss, err := s.ListSecrets(ctx, "web")
	must(t, err)
	firstSet := ss[1].UpdatedAt
	time.Sleep(2 * time.Millisecond)
	must(t, s.SetSecret(ctx, "web", "TOKEN", []byte("rotated")))
	ss, err = s.ListSecrets(ctx, "web")
	must(t, err)
	if len(ss) != 2 || !ss[1].UpdatedAt.After(firstSet) {
		t.Errorf("after overwrite: %+v, want 2 secrets and TOKEN updated after %v", ss, firstSet)
	}

	vals, err := s.SecretValues(ctx, "web", []string{"TOKEN", "API_KEY", "MISSING"})
	must(t, err)
	if want := map[string][]byte{"TOKEN": []byte("rotated"), "API_KEY": []byte("sealed-a")}; !reflect.DeepEqual(vals, want) {
		t.Errorf("SecretValues(web) = %q, want %q", vals, want)
	}
	vals, err = s.SecretValues(ctx, "api", []string{"TOKEN"})
	must(t, err)
	if want := map[string][]byte{"TOKEN": []byte("api-token")}; !reflect.DeepEqual(vals, want) {
		t.Errorf("SecretValues(api) = %q, want %q", vals, want)
	}
	for _, names := range [][]string{nil, {"MISSING"}} {
		vals, err = s.SecretValues(ctx, "web", names)
		must(t, err)
		if len(vals) != 0 {
			t.Errorf("SecretValues(web, %v) = %q, want none", names, vals)
		}
	}

	must(t, s.DeleteSecret(ctx, "web", "TOKEN"))
	wantErr(t, "delete again", s.DeleteSecret(ctx, "web", "TOKEN"), store.ErrNotFound)
	wantErr(t, "delete in missing project", s.DeleteSecret(ctx, "nope", "TOKEN"), store.ErrNotFound)
	if got, want := list("web"), []string{"API_KEY"}; !reflect.DeepEqual(got, want) {
		t.Errorf("after delete: ListSecrets(web) = %v, want %v", got, want)
	}
	if got, want := list("api"), []string{"TOKEN"}; !reflect.DeepEqual(got, want) {
		t.Errorf("deleting web's TOKEN changed api: %v, want %v", got, want)
	}
	if got := list("nope"); len(got) != 0 {
		t.Errorf("ListSecrets of a missing project = %v", got)
	}
}

func testTokens(t *testing.T, s store.Store) {
	ctx := context.Background()
	n, err := s.CountTokens(ctx)
	must(t, err)
	if n != 0 {
		t.Errorf("CountTokens on an empty store = %d", n)
	}
	newProject(t, s, "web")
	tok := &store.Token{Name: "ci", Hash: "sha256-of-ci", CreatedAt: at(0)}
	flagsTok := &store.Token{Name: "web-prod-flags", Hash: "sha256-of-flags", Role: store.RoleFlags, Project: "web", Env: "production",
		Origins: []string{"https://shop.example", "http://localhost:3000"}}
	must(t, s.CreateToken(ctx, flagsTok))
	if got, err := s.TokenByHash(ctx, "sha256-of-flags"); err != nil || got.Role != store.RoleFlags || got.Project != "web" || got.Env != "production" ||
		!slices.Equal(got.Origins, flagsTok.Origins) {
		t.Errorf("flags token read back as %+v, %v", got, err)
	}
	if list, err := s.ListTokens(ctx); err != nil || len(list) != 1 || !slices.Equal(list[0].Origins, flagsTok.Origins) {
		t.Errorf("ListTokens with the flags token = %+v, %v; want its origins", list, err)
	}
	must(t, s.CreateToken(ctx, tok))
	before := time.Now()
	zero := &store.Token{Name: "laptop", Hash: "sha256-of-laptop"}
	must(t, s.CreateToken(ctx, zero))
	recent(t, "CreatedAt set on create", zero.CreatedAt, before)
	if tok.ID == 0 || zero.ID == tok.ID {
		t.Errorf("token IDs %d and %d, want distinct and non-zero", tok.ID, zero.ID)
	}
	for _, want := range []*store.Token{tok, zero} {
		got, err := s.TokenByHash(ctx, want.Hash)
		must(t, err)
		same(t, "token", got, want)
	}
	wantErr(t, "duplicate hash", s.CreateToken(ctx, &store.Token{Name: "other", Hash: "sha256-of-ci"}), store.ErrExists)
	// Names are unique: a token is revoked by its name, which must say which one.
	wantErr(t, "duplicate name", s.CreateToken(ctx, &store.Token{Name: "ci", Hash: "sha256-of-another"}), store.ErrExists)
	_, err = s.TokenByHash(ctx, "unknown")
	wantErr(t, "unknown hash", err, store.ErrNotFound)
	n, err = s.CountTokens(ctx)
	must(t, err)
	if n != 3 {
		t.Errorf("CountTokens = %d, want 3", n)
	}
	// A project's flags tokens go with it; other tokens stay.
	must(t, s.DeleteProject(ctx, "web"))
	if _, err := s.TokenByHash(ctx, "sha256-of-flags"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the flags token of a deleted project: %v, want not found", err)
	}
	if n, err = s.CountTokens(ctx); err != nil || n != 2 {
		t.Errorf("CountTokens after deleting the project = %d, %v; want 2", n, err)
	}

	// Listing shows names and roles, oldest first, never a hash.
	list, err := s.ListTokens(ctx)
	must(t, err)
	var names []string
	for _, got := range list {
		names = append(names, got.Name+"/"+got.Role)
		if got.Hash != "" {
			t.Errorf("ListTokens gave token %s its hash", got.Name)
		}
	}
	if want := []string{"ci/admin", "laptop/admin"}; !slices.Equal(names, want) {
		t.Errorf("ListTokens = %v, want %v", names, want)
	}
	// Revoking: the token authenticates nothing any more; the name can be used again.
	must(t, s.DeleteToken(ctx, "ci"))
	if _, err := s.TokenByHash(ctx, "sha256-of-ci"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("revoked token: %v, want not found", err)
	}
	wantErr(t, "revoke twice", s.DeleteToken(ctx, "ci"), store.ErrNotFound)
	must(t, s.CreateToken(ctx, &store.Token{Name: "ci", Hash: "sha256-of-new-ci"}))
}

func testDeleteProject(t *testing.T, s store.Store) {
	ctx := context.Background()
	// fill gives a project two runs with steps, a release, a secret, a rollout with two events and an
	// environment.
	fill := func(name string) (runs []*store.Run, rel *store.Release, ro *store.Rollout, events []store.RolloutEvent) {
		newProject(t, s, name)
		for range 2 {
			r := newRun(t, s, name, "main", store.RunQueued)
			must(t, s.PutSteps(ctx, r.ID, fullSteps(0)))
			runs = append(runs, r)
		}
		rel = &store.Release{Project: name, RunID: runs[0].ID}
		must(t, s.CreateRelease(ctx, rel))
		must(t, s.SetSecret(ctx, name, "TOKEN", []byte(name)))
		ro = &store.Rollout{Project: name, Env: "production", ReleaseID: rel.ID, State: store.RolloutPending}
		must(t, s.CreateRollout(ctx, ro))
		events = append(events, firstEvent(ro))
		ro.State = store.RolloutProgressing
		ev := store.RolloutEvent{Time: at(time.Minute), State: store.RolloutProgressing, Step: 1, Weight: 100}
		must(t, s.UpdateRollout(ctx, ro, ev))
		ev.RolloutID = ro.ID
		must(t, s.PutEnvironment(ctx, &store.Environment{Project: name, Name: "production", LiveReleaseID: rel.ID}))
		return runs, rel, ro, append(events, ev)
	}
	webRuns, webRel, webRollout, _ := fill("web")
	apiRuns, apiRel, apiRollout, apiEvents := fill("api")

	must(t, s.DeleteProject(ctx, "web"))
	wantErr(t, "delete again", s.DeleteProject(ctx, "web"), store.ErrNotFound)
	_, err := s.GetProject(ctx, "web")
	wantErr(t, "get deleted project", err, store.ErrNotFound)
	for _, r := range webRuns {
		_, err := s.GetRun(ctx, r.ID)
		wantErr(t, "get run of deleted project", err, store.ErrNotFound)
		steps, err := s.ListSteps(ctx, r.ID)
		must(t, err)
		if len(steps) != 0 {
			t.Errorf("run %d of a deleted project kept %d steps", r.ID, len(steps))
		}
	}
	_, err = s.GetRelease(ctx, webRel.ID)
	wantErr(t, "get release of deleted project", err, store.ErrNotFound)
	if rs, err := s.ListRuns(ctx, "web", 0); err != nil || len(rs) != 0 {
		t.Errorf("ListRuns of deleted project = %d runs, %v", len(rs), err)
	}
	if rs, err := s.ListReleases(ctx, "web", 0); err != nil || len(rs) != 0 {
		t.Errorf("ListReleases of deleted project = %d releases, %v", len(rs), err)
	}
	if ss, err := s.ListSecrets(ctx, "web"); err != nil || len(ss) != 0 {
		t.Errorf("ListSecrets of deleted project = %v, %v", ss, err)
	}
	queued, err := s.RunsInState(ctx, store.RunQueued)
	must(t, err)
	if got, want := runIDs(queued), []int64{apiRuns[0].ID, apiRuns[1].ID}; !reflect.DeepEqual(got, want) {
		t.Errorf("queued runs after delete = %v, want only api's %v", got, want)
	}
	_, err = s.GetRollout(ctx, webRollout.ID)
	wantErr(t, "get rollout of deleted project", err, store.ErrNotFound)
	sameEvents(t, s, webRollout.ID)
	if rs, err := s.ListRollouts(ctx, "web", "", 0); err != nil || len(rs) != 0 {
		t.Errorf("ListRollouts of deleted project = %d rollouts, %v", len(rs), err)
	}
	progressing, err := s.RolloutsInState(ctx, store.RolloutProgressing)
	must(t, err)
	if got, want := rolloutIDs(progressing), []int64{apiRollout.ID}; !reflect.DeepEqual(got, want) {
		t.Errorf("progressing rollouts after delete = %v, want only api's %v", got, want)
	}
	_, err = s.GetEnvironment(ctx, "web", "production")
	wantErr(t, "get environment of deleted project", err, store.ErrNotFound)
	if es, err := s.ListEnvironments(ctx, "web"); err != nil || len(es) != 0 {
		t.Errorf("ListEnvironments of deleted project = %d environments, %v", len(es), err)
	}

	// The other project is untouched.
	for _, r := range apiRuns {
		steps, err := s.ListSteps(ctx, r.ID)
		must(t, err)
		if len(steps) != 3 {
			t.Errorf("api run %d has %d steps, want 3", r.ID, len(steps))
		}
	}
	if _, err := s.GetRelease(ctx, apiRel.ID); err != nil {
		t.Errorf("api release: %v", err)
	}
	if vals, err := s.SecretValues(ctx, "api", []string{"TOKEN"}); err != nil || string(vals["TOKEN"]) != "api" {
		t.Errorf("api secret = %q, %v", vals, err)
	}
	if r, err := s.GetRollout(ctx, apiRollout.ID); err != nil {
		t.Errorf("api rollout: %v", err)
	} else {
		same(t, "api rollout", r, apiRollout)
	}
	sameEvents(t, s, apiRollout.ID, apiEvents...)
	if e, err := s.GetEnvironment(ctx, "api", "production"); err != nil || e.LiveReleaseID != apiRel.ID {
		t.Errorf("api environment = %+v, %v", e, err)
	}

	// A project created again under the name starts afresh, without reusing IDs.
	newProject(t, s, "web")
	if vals, err := s.SecretValues(ctx, "web", []string{"TOKEN"}); err != nil || len(vals) != 0 {
		t.Errorf("recreated project sees old secrets: %q, %v", vals, err)
	}
	rel := &store.Release{Project: "web"}
	must(t, s.CreateRelease(ctx, rel))
	if rel.Version != 1 {
		t.Errorf("recreated project's first release Version = %d, want 1", rel.Version)
	}
	if r := newRun(t, s, "web", "main", store.RunQueued); r.ID <= apiRuns[1].ID {
		t.Errorf("run ID %d reused, want > %d", r.ID, apiRuns[1].ID)
	}
	if es, err := s.ListEnvironments(ctx, "web"); err != nil || len(es) != 0 {
		t.Errorf("recreated project sees old environments: %d, %v", len(es), err)
	}
	if r := newRollout(t, s, "web", "production", store.RolloutPending); r.ID <= apiRollout.ID {
		t.Errorf("rollout ID %d reused, want > %d", r.ID, apiRollout.ID)
	} else {
		sameEvents(t, s, r.ID, firstEvent(r))
	}
}

func testConcurrentWrites(t *testing.T, s store.Store) {
	ctx := context.Background()
	newProject(t, s, "web")
	newProject(t, s, "api")
	const workers, each = 8, 10
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			project := []string{"web", "api"}[w%2]
			for i := range each {
				if err := concurrentWrite(ctx, s, project, w, i); err != nil {
					t.Errorf("worker %d, write %d: %v", w, i, err)
					return
				}
			}
		})
	}
	wg.Wait()

	for _, project := range []string{"web", "api"} {
		rs, err := s.ListRuns(ctx, project, 0)
		must(t, err)
		if len(rs) != workers/2*each {
			t.Errorf("%s has %d runs, want %d", project, len(rs), workers/2*each)
		}
		rels, err := s.ListReleases(ctx, project, 0)
		must(t, err)
		for i, rel := range rels {
			if want := int64(len(rels) - i); rel.Version != want {
				t.Errorf("%s release %d has Version %d, want %d: versions must be 1..n without gaps", project, rel.ID, rel.Version, want)
			}
		}
		if len(rels) != workers/2*each {
			t.Errorf("%s has %d releases, want %d", project, len(rels), workers/2*each)
		}
		ss, err := s.ListSecrets(ctx, project)
		must(t, err)
		if len(ss) != workers/2 {
			t.Errorf("%s has %d secrets, want %d", project, len(ss), workers/2)
		}
	}
	n, err := s.CountTokens(ctx)
	must(t, err)
	if n != workers*each {
		t.Errorf("CountTokens = %d, want %d", n, workers*each)
	}
}

// concurrentWrite is one worker's unit of work: a run through its life, a release, a secret and a token.
func concurrentWrite(ctx context.Context, s store.Store, project string, w, i int) error {
	r := &store.Run{Project: project, Branch: "main", State: store.RunQueued}
	if err := s.CreateRun(ctx, r); err != nil {
		return err
	}
	steps := []*store.Step{{Index: 0, Stage: "test", Name: "unit", State: store.StepPending}}
	if err := s.PutSteps(ctx, r.ID, steps); err != nil {
		return err
	}
	steps[0].State, steps[0].Metrics = store.StepPassed, []gate.Metric{{Name: "n", Value: float64(i)}}
	if err := s.UpdateStep(ctx, steps[0]); err != nil {
		return err
	}
	if _, _, err := s.BaselineMetrics(ctx, project, "main", "test", "unit", r.ID); err != nil {
		return err
	}
	rel := &store.Release{Project: project, RunID: r.ID}
	if err := s.CreateRelease(ctx, rel); err != nil {
		return err
	}
	r.State, r.ReleaseID = store.RunPassed, rel.ID
	if err := s.UpdateRun(ctx, r); err != nil {
		return err
	}
	if err := s.SetSecret(ctx, project, fmt.Sprintf("W%d", w), []byte{byte(i)}); err != nil {
		return err
	}
	return s.CreateToken(ctx, &store.Token{Name: fmt.Sprintf("t-%d-%d", w, i), Hash: fmt.Sprintf("hash-%d-%d", w, i)})
}

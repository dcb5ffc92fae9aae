package flagruntime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/ferry-cd/ferry/internal/analysis"
	"github.com/ferry-cd/ferry/internal/flags"
	"github.com/ferry-cd/ferry/internal/pipeline"
	"github.com/ferry-cd/ferry/internal/store"
	"github.com/ferry-cd/ferry/internal/store/sqlite"
)

// fixture is a runtime over a real SQLite store, with a clock the test moves and an analysis whose verdict the
// test sets: the real analysis needs a data plane and is tested in its package and end to end.
type fixture struct {
	t        *testing.T
	ctx      context.Context
	st       *sqlite.DB
	rt       *Runtime
	now      time.Time
	verdict  analysis.Verdict
	asked    []AnalysisRequest
	reverted []*store.FlagRollout
	lastEval map[int64]time.Time
	releases int
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "ferry.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f := &fixture{t: t, ctx: context.Background(), st: db, now: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC),
		verdict: analysis.Pass, lastEval: map[int64]time.Time{}}
	if err := db.CreateProject(f.ctx, &store.Project{Name: "shop", Repo: "x", Branch: "main", Concurrency: 1}); err != nil {
		t.Fatal(err)
	}
	f.rt = &Runtime{Store: db, Now: func() time.Time { return f.now },
		Analyze: func(ctx context.Context, req AnalysisRequest) (analysis.Verdict, string) {
			f.asked = append(f.asked, req)
			return f.verdict, "error_rate 4% > max 1%"
		},
		OnReverted: func(ctx context.Context, r *store.FlagRollout) { f.reverted = append(f.reverted, r) }}
	return f
}

// release records a release of shop whose flags file is flagsYAML and whose production environment has the
// given analysis section (none when "").
func (f *fixture) release(flagsYAML, analysisYAML string) int64 {
	f.t.Helper()
	f.releases++
	set, err := flags.Parse(pipeline.FlagsFile, []byte(flagsYAML))
	if err != nil {
		f.t.Fatalf("flags: %v", err)
	}
	js, err := json.Marshal(set)
	if err != nil {
		f.t.Fatal(err)
	}
	pl := "version: 1\nstages:\n  - name: b\n    steps:\n      - {name: s, run: 'true'}\nenvironments:\n" +
		"  - name: production\n    service: {run: ./app, listen: \"127.0.0.1:9\"}\n" + analysisYAML
	if _, err := pipeline.Parse(pipeline.FileName, []byte(pl)); err != nil {
		f.t.Fatalf("pipeline: %v\n%s", err, pl)
	}
	rel := &store.Release{Project: "shop", RunID: int64(f.releases), Branch: "main", Commit: fmt.Sprintf("%040d", f.releases),
		Pipeline: pl, Flags: string(js), CreatedAt: f.now}
	if err := f.st.CreateRelease(f.ctx, rel); err != nil {
		f.t.Fatal(err)
	}
	return rel.ID
}

// goLive makes release the live one of production, as the release rollout controller records it, without
// telling the runtime.
func (f *fixture) goLive(release int64) {
	f.t.Helper()
	if err := f.st.PutEnvironment(f.ctx, &store.Environment{Project: "shop", Name: "production", LiveReleaseID: release}); err != nil {
		f.t.Fatal(err)
	}
}

// serves evaluates key for a subject as production serves it now.
func (f *fixture) serves(key string) string {
	f.t.Helper()
	l, err := f.rt.Live(f.ctx, "shop", "production")
	if err != nil {
		f.t.Fatal(err)
	}
	return l.Set.Evaluate(key, map[string]any{flags.TargetingKey: "user-1"}, l.State).Variant
}

// tick is one turn of the flag rollout loop.
func (f *fixture) tick() {
	f.t.Helper()
	if err := f.rt.driveFlagRollouts(f.ctx, f.lastEval); err != nil {
		f.t.Fatal(err)
	}
}

// flagRollout is the latest flag rollout of key in production.
func (f *fixture) flagRollout(key string) *store.FlagRollout {
	f.t.Helper()
	l, err := f.rt.Load(f.ctx, "shop", "production")
	if err != nil {
		f.t.Fatal(err)
	}
	return l.FlagRollouts[key]
}

const checkoutFlags = "flags:\n  checkout:\n    variants: {on: true, off: false}\n    default: off\n"

func TestLiveFlagsCacheIsInvalidatedByOverrides(t *testing.T) {
	f := newFixture(t)
	f.goLive(f.release(checkoutFlags, ""))
	if got := f.serves("checkout"); got != "off" {
		t.Fatalf("serves %q, want off", got)
	}
	before, _ := f.rt.Live(f.ctx, "shop", "production")

	// Another process sets an override: the cached copy is served until it is a second old.
	other := &store.FlagOverride{Project: "shop", Env: "production", Flag: "checkout", Variant: "on", Actor: "other"}
	if err := f.st.SetFlagOverride(f.ctx, other); err != nil {
		t.Fatal(err)
	}
	if got := f.serves("checkout"); got != "off" {
		t.Errorf("within a second of loading: serves %q, want the cached off", got)
	}
	f.now = f.now.Add(refresh)
	if got := f.serves("checkout"); got != "on" {
		t.Errorf("a second later: serves %q, want on", got)
	}
	after, _ := f.rt.Live(f.ctx, "shop", "production")
	if after.Version == before.Version {
		t.Errorf("version %s did not change with an override", after.Version)
	}

	// Through the runtime, a change is served at once, the clock standing still.
	if err := f.rt.ClearOverride(f.ctx, "shop", "production", "checkout"); err != nil {
		t.Fatal(err)
	}
	if got := f.serves("checkout"); got != "off" {
		t.Errorf("after ClearOverride: serves %q, want off", got)
	}
	if err := f.rt.SetOverride(f.ctx, &store.FlagOverride{Project: "shop", Env: "production", Flag: "checkout", Variant: "on", Actor: "alice"}); err != nil {
		t.Fatal(err)
	}
	if got := f.serves("checkout"); got != "on" {
		t.Errorf("after SetOverride: serves %q, want on", got)
	}
	if err := f.rt.ClearOverride(f.ctx, "shop", "production", "checkout"); err != nil {
		t.Fatal(err)
	}
	if err := f.rt.ClearOverride(f.ctx, "shop", "production", "checkout"); err == nil {
		t.Error("clearing an override that is gone: no error, want store.ErrNotFound")
	}
}

func TestLiveFlagsCacheIsInvalidatedByReleaseSwitch(t *testing.T) {
	f := newFixture(t)
	r1 := f.release(checkoutFlags, "")
	r2 := f.release("flags:\n  checkout:\n    variants: {on: true, off: false}\n    default: on\n", "")
	f.goLive(r1)
	if got := f.serves("checkout"); got != "off" {
		t.Fatalf("release 1 serves %q, want off", got)
	}
	f.goLive(r2)
	if got := f.serves("checkout"); got != "off" {
		t.Errorf("switched but not told: serves %q, want the cached off", got)
	}
	f.rt.Invalidate("shop", "production") // what the release rollout controller's OnSwitch does
	if got := f.serves("checkout"); got != "on" {
		t.Errorf("after the switch: serves %q, want release 2's on", got)
	}
	if l, _ := f.rt.Live(f.ctx, "shop", "production"); l.Release != r2 {
		t.Errorf("live release %d, want %d", l.Release, r2)
	}
}

// duringLoad is the real store, calling a function once in the middle of the runtime's next load.
type duringLoad struct {
	store.Store
	do func()
}

func (d *duringLoad) LatestFlagRollouts(ctx context.Context, project, env string) ([]*store.FlagRollout, error) {
	if do := d.do; do != nil {
		d.do = nil
		do()
	}
	return d.Store.LatestFlagRollouts(ctx, project, env)
}

// A load that read the store before an invalidation must not be cached after it: the change would then be
// served late, or (with the clock standing still, as here) never.
func TestLoadOverlappingAnInvalidationIsNotCached(t *testing.T) {
	f := newFixture(t)
	f.goLive(f.release(checkoutFlags, ""))
	d := &duringLoad{Store: f.st}
	f.rt.Store = d
	d.do = func() {
		// The load has read the overrides already.
		if err := f.rt.SetOverride(f.ctx, &store.FlagOverride{Project: "shop", Env: "production", Flag: "checkout", Variant: "on", Actor: "alice"}); err != nil {
			t.Error(err)
		}
	}
	if got := f.serves("checkout"); got != "off" {
		t.Fatalf("the overlapping load serves %q, want off (it read the store before the override)", got)
	}
	if got := f.serves("checkout"); got != "on" {
		t.Errorf("the next evaluation serves %q, want on", got)
	}
}

// Run drives flag rollouts until its context ends.
func TestRunDrivesFlagRolloutsUntilCanceled(t *testing.T) {
	f := newFixture(t)
	f.goLive(f.release(progressiveFlags, ""))
	f.rt.Now, f.rt.Tick = nil, 10*time.Millisecond
	ctx, cancel := context.WithCancel(f.ctx)
	done := make(chan struct{})
	go func() { defer close(done); f.rt.Run(ctx) }()
	for deadline := time.Now().Add(10 * time.Second); f.flagRollout("checkout") == nil; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no flag rollout started in 10 s")
		}
	}
	cancel()
	<-done
}

func TestClearMatchedOverridesWhenAReleaseGoesLive(t *testing.T) {
	f := newFixture(t)
	two := "flags:\n  checkout:\n    variants: {on: true, off: false}\n    default: %s\n  banner:\n    variants: {a: a, b: b}\n    default: a\n"
	f.goLive(f.release(fmt.Sprintf(two, "off"), ""))
	for flag, variant := range map[string]string{"checkout": "on", "banner": "b"} {
		if err := f.rt.SetOverride(f.ctx, &store.FlagOverride{Project: "shop", Env: "production", Flag: flag, Variant: variant, Actor: "alice"}); err != nil {
			t.Fatal(err)
		}
	}
	// The new release serves checkout's overridden variant from Git, and banner's default still differs.
	f.goLive(f.release(fmt.Sprintf(two, "on"), ""))
	f.rt.ClearMatchedOverrides(f.ctx, "shop", "production")
	overrides, err := f.st.FlagOverrides(f.ctx, "shop", "production")
	if err != nil {
		t.Fatal(err)
	}
	if len(overrides) != 1 || overrides[0].Flag != "banner" {
		t.Errorf("overrides %+v, want banner's alone", overrides)
	}
	if got := f.serves("checkout"); got != "on" {
		t.Errorf("checkout serves %q, want on from Git", got)
	}
	audit, err := f.st.ListAudit(f.ctx, "shop", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(audit) != 1 || audit[0].Actor != "ferry" || audit[0].Action != "flag.clear" || audit[0].Target != "production/checkout" ||
		audit[0].Detail != "release v2 serves on: the override of alice matches Git" {
		t.Errorf("audit %+v", audit)
	}
}

func TestCheckOverride(t *testing.T) {
	f := newFixture(t)
	f.goLive(f.release(checkoutFlags, ""))
	l, err := f.rt.Load(f.ctx, "shop", "production")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		flag, variant string
		notLive, bad  bool
	}{
		{"checkout", "on", false, false},
		{"checkout", "maybe", false, true},
		{"nope", "on", true, false},
	}
	for _, tt := range tests {
		err := l.CheckOverride("shop", "production", tt.flag, tt.variant)
		_, notLive := errors.AsType[*NotLiveError](err)
		if notLive != tt.notLive || (err != nil && !notLive) != tt.bad {
			t.Errorf("CheckOverride(%s, %s) = %v", tt.flag, tt.variant, err)
		}
	}
	if err := l.CheckOverride("shop", "production", "nope", "on"); err == nil || err.Error() != "flag nope is not live in shop/production (live release v1)" {
		t.Errorf("not live: %v", err)
	}
}

const progressiveFlags = checkoutFlags + "    progressive: {variant: on, steps: [10%, 50%, 100%], interval: 1m}\n"

func TestFlagRolloutStepsUntilItSucceeds(t *testing.T) {
	f := newFixture(t)
	f.goLive(f.release(progressiveFlags, ""))
	f.tick()
	fr := f.flagRollout("checkout")
	if fr == nil || fr.State != store.FlagProgressing || fr.Step != 1 || fr.Share != 1000 {
		t.Fatalf("after the first tick: %+v, want step 1 at 10%%", fr)
	}
	if l, _ := f.rt.Live(f.ctx, "shop", "production"); l.State.Progress["checkout"] != 1000 {
		t.Errorf("served progress %v, want 1000 at once", l.State.Progress)
	}
	f.tick() // within the interval: no change
	if got := f.flagRollout("checkout"); got.Step != 1 {
		t.Errorf("within the interval: step %d", got.Step)
	}
	for _, want := range []struct{ step, share int }{{2, 5000}, {3, 10000}} {
		f.now = f.now.Add(time.Minute)
		f.tick()
		fr := f.flagRollout("checkout")
		if fr.State != store.FlagProgressing || fr.Step != want.step || fr.Share != want.share {
			t.Fatalf("a minute later: %+v, want step %d at %d", fr, want.step, want.share)
		}
		if l, _ := f.rt.Live(f.ctx, "shop", "production"); l.State.Progress["checkout"] != want.share {
			t.Errorf("served progress %v, want %d", l.State.Progress, want.share)
		}
	}
	f.now = f.now.Add(time.Minute)
	f.tick()
	fr = f.flagRollout("checkout")
	if fr.State != store.FlagSucceeded || fr.Reason != "on has 100% of checkout" {
		t.Fatalf("after the last step: %+v", fr)
	}
	if got := f.serves("checkout"); got != "on" {
		t.Errorf("serves %q, want on to everyone", got)
	}
	events, err := f.st.FlagRolloutEvents(f.ctx, fr.ID)
	if err != nil {
		t.Fatal(err)
	}
	var states []string
	for _, e := range events {
		states = append(states, fmt.Sprintf("%s/%d", e.State, e.Share))
	}
	if fmt.Sprint(states) != "[progressing/1000 progressing/5000 progressing/10000 succeeded/10000]" {
		t.Errorf("events %v", states)
	}
	if len(f.asked) != 0 {
		t.Errorf("an environment without checks was analysed: %+v", f.asked)
	}
}

func TestFlagRolloutRevertsOnAFailedAnalysis(t *testing.T) {
	f := newFixture(t)
	checks := "    analysis: {interval: 10s, checks: [{metric: error_rate, max: 1%}]}\n"
	rel := f.release(progressiveFlags, checks)
	f.goLive(rel)
	f.tick() // starts at step 1; the flag rollout is analysed from the next tick on
	f.now = f.now.Add(time.Minute)
	f.tick()
	if fr := f.flagRollout("checkout"); fr.Step != 2 || fr.Share != 5000 {
		t.Fatalf("after a passing analysis: %+v, want step 2", fr)
	}
	if n := len(f.asked); n != 1 {
		t.Fatalf("%d analyses, want 1", n)
	}
	req := f.asked[0]
	if req.Key != (store.EnvKey{Project: "shop", Env: "production"}) || req.Release != rel || req.Listen != "127.0.0.1:9" || req.Span != 10*time.Second {
		t.Errorf("analysis request %+v", req)
	}

	f.verdict = analysis.Fail
	f.now = f.now.Add(5 * time.Second)
	f.tick() // no analysis due yet: holds
	if fr := f.flagRollout("checkout"); fr.State != store.FlagProgressing || len(f.asked) != 1 {
		t.Fatalf("before the analysis interval: %+v after %d analyses", fr, len(f.asked))
	}
	f.now = f.now.Add(5 * time.Second)
	f.tick()
	fr := f.flagRollout("checkout")
	if fr.State != store.FlagReverted || fr.Share != 0 || fr.Reason != "analysis failed: error_rate 4% > max 1%" {
		t.Fatalf("after a failed analysis: %+v", fr)
	}
	if len(f.reverted) != 1 || f.reverted[0].ID != fr.ID || f.reverted[0].Reason != fr.Reason {
		t.Errorf("OnReverted got %+v", f.reverted)
	}
	if got := f.serves("checkout"); got != "off" {
		t.Errorf("serves %q, want off: the split before the flag rollout", got)
	}
	// A reverted flag rollout stays reverted while the release declares the same spec.
	f.verdict = analysis.Pass
	f.now = f.now.Add(time.Hour)
	f.tick()
	if got := f.flagRollout("checkout"); got.ID != fr.ID || got.State != store.FlagReverted {
		t.Errorf("an hour later: %+v, want the same reverted flag rollout", got)
	}
}

func TestFlagRolloutSupersededByAReleaseWithAnotherSpec(t *testing.T) {
	f := newFixture(t)
	f.goLive(f.release(progressiveFlags, ""))
	f.tick()
	first := f.flagRollout("checkout")
	f.goLive(f.release(checkoutFlags+"    progressive: {variant: on, steps: [50%, 100%], interval: 1m}\n", ""))
	f.rt.Invalidate("shop", "production")
	f.tick()
	second := f.flagRollout("checkout")
	if second.ID == first.ID || second.State != store.FlagProgressing || second.Share != 5000 {
		t.Fatalf("after the switch: %+v, want a new flag rollout at 50%%", second)
	}
	all, err := f.st.FlagRollouts(f.ctx, "shop", "production", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[1].State != store.FlagSuperseded || all[1].Reason != "release 2 declares on 50%,100% every 1m0s" {
		t.Errorf("flag rollouts %+v", all)
	}
}

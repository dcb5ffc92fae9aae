// Package deploytest is the contract every deploy.Target passes: prepare a release, route all traffic to it,
// split traffic between two, report health (healthy, or not with a reason) and traffic figures, stop releases,
// report drift, refuse what it cannot run, and be adopted by a new Target after a restart. An implementation's
// test calls Run with a Harness that gives the suite its target and the few things only it knows how to do
// (make a release of the test app, send a request to an environment, break an instance behind its back).
//
// Waits poll Status until a condition holds, bounded by Harness.Wait only so a broken target fails rather than
// hangs: nothing here measures time.
package deploytest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ferry-cd/ferry/internal/deploy"
)

// Harness is what the suite needs of one implementation.
type Harness struct {
	// Target is the implementation under test.
	Target deploy.Target
	// Reopen returns a new Target over the same place, as a restarted control plane makes one.
	Reopen func(t *testing.T) deploy.Target
	// Env returns an environment no other test uses, that runs nothing yet.
	Env func(t *testing.T) deploy.Environment
	// Release returns a release of the test app for env, whose instances answer "hello from NAME" (and
	// anything after a space) on every path. A release made with healthy false starts and never becomes ready (its health check fails).
	Release func(t *testing.T, env deploy.Environment, name string, healthy bool) deploy.Release
	// Crashing returns a release for env whose instances exit as soon as they start.
	Crashing func(t *testing.T, env deploy.Environment, name string) deploy.Release
	// Get sends one request to env's entry (the local proxy's address, the Gateway), as a new client, and
	// returns the answer's body.
	Get func(t *testing.T, env deploy.Environment) (string, error)
	// Disturb changes what runs behind the target's back: one instance of release dies (a process killed
	// with SIGKILL, a pod deleted).
	Disturb func(t *testing.T, env deploy.Environment, release string)
	// Unrunnable returns an environment and a release in it that the target must refuse (an address another
	// process holds, a namespace that does not exist).
	Unrunnable func(t *testing.T) (deploy.Environment, deploy.Release)
	// MeasuresTraffic is set when Figures reports what the target served; without it every Figures call must
	// answer ErrNoFigures.
	MeasuresTraffic bool
	// SelfHealing is set when the target puts a disturbed instance back by itself (the local data plane
	// restarts it); without it the suite only checks that the drift is reported.
	SelfHealing bool
	// Wait bounds each wait for the target to converge; 60 s when zero.
	Wait time.Duration
}

// Run runs the contract against the implementation newHarness makes, one fresh harness per subtest.
func Run(t *testing.T, newHarness func(t *testing.T) *Harness) {
	tests := []struct {
		name string
		run  func(*testing.T, *Harness)
	}{
		{"PrepareThenRouteAllTraffic", testPrepareThenRoute},
		{"SplitBetweenTwoReleases", testSplit},
		{"NotHealthyWithAReason", testNotHealthy},
		{"CrashLoopCountsRestarts", testCrashLoop},
		{"Figures", testFigures},
		{"Stop", testStop},
		{"DriftIsReported", testDrift},
		{"RefusesWhatItCannotRun", testRefused},
		{"NewTargetAdoptsWhatRuns", testAdopt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, newHarness(t)) })
	}
}

func (h *Harness) wait() time.Duration {
	if h.Wait > 0 {
		return h.Wait
	}
	return 60 * time.Second
}

// eventually polls the target's status of env until cond holds, and fails with what it last saw.
func (h *Harness) eventually(t *testing.T, tg deploy.Target, env deploy.Environment, what string, cond func(*deploy.EnvStatus) bool) *deploy.EnvStatus {
	t.Helper()
	deadline := time.Now().Add(h.wait())
	for {
		st, err := tg.Status(context.Background())
		if err != nil {
			t.Fatalf("status: %v", err)
		}
		es := st.Env(env.Key)
		if cond(es) {
			return es
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s; last status of %s: %s", what, env.Key, describe(es))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func describe(es *deploy.EnvStatus) string {
	if es == nil {
		return "not running"
	}
	return fmt.Sprintf("%+v", *es)
}

func healthy(id string) func(*deploy.EnvStatus) bool {
	return func(es *deploy.EnvStatus) bool { r := es.Release(id); return r != nil && r.Healthy }
}

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// answers sends n requests to env and counts the answers by the release named in them.
// twoHealthy prepares two healthy releases of env, "one" and "two", and waits until both are.
func (h *Harness) twoHealthy(t *testing.T, env deploy.Environment) (r1, r2 deploy.Release) {
	t.Helper()
	ctx := context.Background()
	r1, r2 = h.Release(t, env, "one", true), h.Release(t, env, "two", true)
	must(t, "prepare", h.Target.Prepare(ctx, env, r1))
	must(t, "prepare", h.Target.Prepare(ctx, env, r2))
	h.eventually(t, h.Target, env, "both healthy", func(es *deploy.EnvStatus) bool { return healthy(r1.ID)(es) && healthy(r2.ID)(es) })
	return r1, r2
}

func (h *Harness) answers(t *testing.T, env deploy.Environment, n int) map[string]int {
	t.Helper()
	got := map[string]int{}
	for range n {
		body, err := h.Get(t, env)
		if err != nil {
			t.Fatalf("request to %s: %v", env.Key, err)
		}
		rest, ok := strings.CutPrefix(body, "hello from ")
		name, _, _ := strings.Cut(strings.TrimSpace(rest), " ")
		if !ok || name == "" {
			t.Fatalf("request to %s answered %q", env.Key, body)
		}
		got[name]++
	}
	return got
}

func testPrepareThenRoute(t *testing.T, h *Harness) {
	ctx := context.Background()
	env := h.Env(t)
	r1 := h.Release(t, env, "one", true)
	must(t, "prepare", h.Target.Prepare(ctx, env, r1))
	es := h.eventually(t, h.Target, env, "the prepared release to become healthy", healthy(r1.ID))
	if es.Split.Stable != "" || es.Split.Canary != "" {
		t.Errorf("a prepared release got traffic before any route: %+v", es.Split)
	}
	// Preparing again changes nothing: a release never changes.
	before := es.Release(r1.ID).Instances
	must(t, "prepare again", h.Target.Prepare(ctx, env, r1))
	es = h.eventually(t, h.Target, env, "the release, still healthy", healthy(r1.ID))
	if len(es.Releases) != 1 || len(es.Release(r1.ID).Instances) != len(before) {
		t.Errorf("preparing a prepared release changed what runs: %+v", es.Releases)
	}

	must(t, "route", h.Target.Route(ctx, env, deploy.Split{Stable: r1.ID}))
	h.eventually(t, h.Target, env, "the route", func(es *deploy.EnvStatus) bool { return es.Split == deploy.Split{Stable: r1.ID} })
	if got := h.answers(t, env, 20); got["one"] != 20 {
		t.Errorf("all traffic on one: answers %v", got)
	}
	if es.Address == "" {
		t.Error("a routed environment reports no address")
	}
}

func testSplit(t *testing.T, h *Harness) {
	ctx := context.Background()
	env := h.Env(t)
	r1, r2 := h.Release(t, env, "one", true), h.Release(t, env, "two", true)
	must(t, "prepare one", h.Target.Prepare(ctx, env, r1))
	h.eventually(t, h.Target, env, "one healthy", healthy(r1.ID))
	must(t, "route one", h.Target.Route(ctx, env, deploy.Split{Stable: r1.ID}))
	must(t, "prepare two", h.Target.Prepare(ctx, env, r2))
	h.eventually(t, h.Target, env, "two healthy", healthy(r2.ID))

	steps := []struct {
		split deploy.Split
		want  func(map[string]int) bool
		says  string
	}{
		// 40 new clients at 50 %: both releases answer unless a 2^-39 chance goes wrong.
		{deploy.Split{Stable: r1.ID, Canary: r2.ID, CanaryWeight: 50}, func(m map[string]int) bool { return m["one"] > 0 && m["two"] > 0 }, "both answer at 50%"},
		{deploy.Split{Stable: r1.ID, Canary: r2.ID, CanaryWeight: 0}, func(m map[string]int) bool { return m["two"] == 0 }, "a canary at 0% gets no clients"},
		{deploy.Split{Stable: r1.ID, Canary: r2.ID, CanaryWeight: 100}, func(m map[string]int) bool { return m["one"] == 0 }, "a canary at 100% gets every client"},
		{deploy.Split{Stable: r2.ID}, func(m map[string]int) bool { return m["one"] == 0 }, "all traffic on two"},
	}
	for _, s := range steps {
		must(t, fmt.Sprintf("route %+v", s.split), h.Target.Route(ctx, env, s.split))
		h.eventually(t, h.Target, env, "the split", func(es *deploy.EnvStatus) bool { return es.Split == s.split })
		if got := h.answers(t, env, 40); !s.want(got) {
			t.Errorf("%s: answers %v", s.says, got)
		}
	}
	if err := h.Target.Stop(ctx, env.Key, r2.ID); err == nil {
		t.Error("stopping the release that takes all traffic succeeded")
	}
	must(t, "stop one", h.Target.Stop(ctx, env.Key, r1.ID))
	h.eventually(t, h.Target, env, "one gone", func(es *deploy.EnvStatus) bool { return es != nil && es.Release(r1.ID) == nil })
	if got := h.answers(t, env, 10); got["two"] != 10 {
		t.Errorf("after one stopped: answers %v", got)
	}
}

func testNotHealthy(t *testing.T, h *Harness) {
	ctx := context.Background()
	env := h.Env(t)
	sick := h.Release(t, env, "sick", false)
	must(t, "prepare", h.Target.Prepare(ctx, env, sick))
	es := h.eventually(t, h.Target, env, "the sick release listed with a reason", func(es *deploy.EnvStatus) bool {
		r := es.Release(sick.ID)
		return r != nil && len(r.Instances) > 0 && r.Reason != ""
	})
	if r := es.Release(sick.ID); r.Healthy {
		t.Errorf("a release whose health check fails is healthy: %+v", r)
	}
	good := h.Release(t, env, "good", true)
	must(t, "prepare good", h.Target.Prepare(ctx, env, good))
	es = h.eventually(t, h.Target, env, "the good release healthy", healthy(good.ID))
	if r := es.Release(good.ID); r.Reason != "" {
		t.Errorf("a healthy release has a reason: %q", r.Reason)
	}
	if r := es.Release(sick.ID); r == nil || r.Healthy {
		t.Errorf("the sick release beside it: %+v", r)
	}
}

func testCrashLoop(t *testing.T, h *Harness) {
	ctx := context.Background()
	env := h.Env(t)
	r := h.Crashing(t, env, "crash")
	must(t, "prepare", h.Target.Prepare(ctx, env, r))
	es := h.eventually(t, h.Target, env, "restarts of the crashing release", func(es *deploy.EnvStatus) bool {
		rs := es.Release(r.ID)
		return rs != nil && rs.Restarts > 0
	})
	if rs := es.Release(r.ID); rs.Healthy || rs.Reason == "" {
		t.Errorf("a crashing release: %+v", rs)
	}
}

func testFigures(t *testing.T, h *Harness) {
	ctx := context.Background()
	env := h.Env(t)
	r1, r2 := h.twoHealthy(t, env)
	must(t, "route", h.Target.Route(ctx, env, deploy.Split{Stable: r1.ID}))
	h.eventually(t, h.Target, env, "the route", func(es *deploy.EnvStatus) bool { return es.Split.Stable == r1.ID })
	h.answers(t, env, 12)

	f, err := h.Target.Figures(ctx, env.Key, r1.ID, time.Minute)
	if !h.MeasuresTraffic {
		if !errors.Is(err, deploy.ErrNoFigures) {
			t.Errorf("a target that measures nothing: Figures = %+v, %v; want ErrNoFigures", f, err)
		}
		return
	}
	must(t, "figures", err)
	if f.Requests < 12 || f.Errors != 0 || f.P99 <= 0 {
		t.Errorf("figures of one after 12 requests: %+v", f)
	}
	es := h.eventually(t, h.Target, env, "the last 10 s in the status", func(es *deploy.EnvStatus) bool {
		r := es.Release(r1.ID)
		return r != nil && r.Last10s != nil && r.Last10s.Requests > 0
	})
	if r := es.Release(r1.ID); r.Last10s.Requests > f.Requests {
		t.Errorf("the last 10 s (%d requests) hold more than the last minute (%d)", r.Last10s.Requests, f.Requests)
	}
	if _, err := h.Target.Figures(ctx, env.Key, r2.ID, time.Minute); !errors.Is(err, deploy.ErrNoFigures) {
		t.Errorf("figures of a release that got no traffic: %v; want ErrNoFigures", err)
	}
}

func testStop(t *testing.T, h *Harness) {
	ctx := context.Background()
	env := h.Env(t)
	r1 := h.Release(t, env, "one", true)
	must(t, "stop in an environment that runs nothing", h.Target.Stop(ctx, env.Key, r1.ID))
	must(t, "prepare", h.Target.Prepare(ctx, env, r1))
	h.eventually(t, h.Target, env, "one healthy", healthy(r1.ID))
	must(t, "stop a release that does not run", h.Target.Stop(ctx, env.Key, "no-such-release"))
	must(t, "stop", h.Target.Stop(ctx, env.Key, r1.ID))
	h.eventually(t, h.Target, env, "the environment gone with its last release", func(es *deploy.EnvStatus) bool { return es == nil })
	must(t, "stop again", h.Target.Stop(ctx, env.Key, r1.ID))
}

func testDrift(t *testing.T, h *Harness) {
	ctx := context.Background()
	env := h.Env(t)
	r1 := h.Release(t, env, "one", true)
	must(t, "prepare", h.Target.Prepare(ctx, env, r1))
	must(t, "route", h.Target.Route(ctx, env, deploy.Split{Stable: r1.ID}))
	es := h.eventually(t, h.Target, env, "one healthy", healthy(r1.ID))
	if len(es.Drift) > 0 {
		t.Fatalf("drift before anything happened: %+v", es.Drift)
	}
	h.Disturb(t, env, r1.ID)
	es = h.eventually(t, h.Target, env, "the drift reported", func(es *deploy.EnvStatus) bool {
		return es != nil && len(es.Drift) > 0
	})
	if d := es.Drift[0]; d.Release != r1.ID || d.What == "" || d.Since.IsZero() {
		t.Errorf("drift: %+v", d)
	}
	if !h.SelfHealing {
		return
	}
	h.eventually(t, h.Target, env, "the drift healed", func(es *deploy.EnvStatus) bool {
		return es != nil && len(es.Drift) > 0 && es.Drift[0].Healed && healthy(r1.ID)(es)
	})
	if got := h.answers(t, env, 10); got["one"] != 10 {
		t.Errorf("after the heal: answers %v", got)
	}
}

func testRefused(t *testing.T, h *Harness) {
	ctx := context.Background()
	env, rel := h.Unrunnable(t)
	err := h.Target.Prepare(ctx, env, rel)
	refused := deploy.AsRefused(err)
	if refused == nil || refused.Reason == "" {
		t.Fatalf("Prepare of what cannot run = %v; want a *deploy.RefusedError with a reason", err)
	}
	// Nothing of it runs, and the target goes on serving others.
	st, err := h.Target.Status(ctx)
	must(t, "status", err)
	if es := st.Env(env.Key); es != nil && es.Release(rel.ID) != nil {
		t.Errorf("a refused release runs: %+v", es)
	}
	other := h.Env(t)
	r := h.Release(t, other, "one", true)
	must(t, "prepare beside a refused environment", h.Target.Prepare(ctx, other, r))
	h.eventually(t, h.Target, other, "the other environment healthy", healthy(r.ID))
}

func testAdopt(t *testing.T, h *Harness) {
	ctx := context.Background()
	env := h.Env(t)
	r1, r2 := h.twoHealthy(t, env)
	split := deploy.Split{Stable: r1.ID, Canary: r2.ID, CanaryWeight: 30}
	must(t, "route", h.Target.Route(ctx, env, split))

	again := h.Reopen(t)
	es := h.eventually(t, again, env, "the new target to report the split", func(es *deploy.EnvStatus) bool { return es != nil && es.Split == split })
	if len(es.Releases) != 2 {
		t.Errorf("the new target reports %d releases, want 2", len(es.Releases))
	}
	// It drives what it adopted: the canary is promoted and the old release stopped.
	must(t, "route by the new target", again.Route(ctx, env, deploy.Split{Stable: r2.ID}))
	must(t, "stop by the new target", again.Stop(ctx, env.Key, r1.ID))
	h.eventually(t, again, env, "two alone", func(es *deploy.EnvStatus) bool {
		return es != nil && len(es.Releases) == 1 && es.Split == deploy.Split{Stable: r2.ID}
	})
	if got := h.answers(t, env, 10); got["two"] != 10 {
		t.Errorf("after the new target promoted two: answers %v", got)
	}
}

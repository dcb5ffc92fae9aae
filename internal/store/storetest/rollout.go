package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/ferry-cd/ferry/internal/store"
)

// fullRollout is a rollout of project to env with every field set. Analysis is JSON with odd spacing and key
// order, which must come back byte for byte.
func fullRollout(project, env string) *store.Rollout {
	return &store.Rollout{ID: 99, Project: project, Env: env, ReleaseID: 7, FromReleaseID: 6, Strategy: store.StrategyCanary,
		State: store.RolloutProgressing, Step: 2, Steps: 4, Weight: 25, Baking: true, Failures: 1,
		Reason:    "p99 latency 180ms, under 200ms",
		Analysis:  []byte(`{"z": 1,  "verdicts":[{"check":"p99_ms","value":180,"pass":true}]}` + "\n"),
		StepSince: at(time.Minute), CreatedAt: at(0), UpdatedAt: at(2*time.Minute + 3), FinishedAt: at(time.Hour)}
}

func newRollout(t *testing.T, s store.Store, project, env string, state store.RolloutState) *store.Rollout {
	t.Helper()
	r := &store.Rollout{Project: project, Env: env, ReleaseID: 1, Strategy: store.StrategyDirect, State: state, CreatedAt: t0,
		UpdatedAt: t0}
	must(t, s.CreateRollout(context.Background(), r))
	return r
}

// firstEvent is the event CreateRollout records for r.
func firstEvent(r *store.Rollout) store.RolloutEvent {
	return store.RolloutEvent{RolloutID: r.ID, Time: r.CreatedAt, State: r.State, Step: r.Step, Weight: r.Weight,
		Reason: r.Reason}
}

// kept is u with the fields UpdateRollout leaves alone taken from the stored r.
func kept(u, r *store.Rollout) *store.Rollout {
	c := *u
	c.ID, c.Project, c.Env, c.ReleaseID, c.CreatedAt = r.ID, r.Project, r.Env, r.ReleaseID, r.CreatedAt
	return &c
}

func rolloutIDs(rs []*store.Rollout) []int64 {
	ids := []int64{}
	for _, r := range rs {
		ids = append(ids, r.ID)
	}
	return ids
}

// sameEvents fails the test unless a rollout's events are want, in order.
func sameEvents(t *testing.T, s store.Store, id int64, want ...store.RolloutEvent) {
	t.Helper()
	got, err := s.RolloutEvents(context.Background(), id)
	must(t, err)
	if len(got) != len(want) {
		t.Errorf("rollout %d has %d events, want %d:\n got %+v\nwant %+v", id, len(got), len(want), got, want)
		return
	}
	for i := range got {
		same(t, fmt.Sprintf("event %d of rollout %d", i, id), &got[i], &want[i])
	}
}

func getRollout(t *testing.T, s store.Store, id int64) *store.Rollout {
	t.Helper()
	r, err := s.GetRollout(context.Background(), id)
	must(t, err)
	return r
}

func testRollouts(t *testing.T, s store.Store) {
	ctx := context.Background()
	newProject(t, s, "web")

	r := fullRollout("web", "production")
	must(t, s.CreateRollout(ctx, r))
	if r.ID == 0 || r.ID == 99 {
		t.Fatalf("CreateRollout left ID %d, want a new one", r.ID)
	}
	same(t, "rollout", getRollout(t, s, r.ID), r)
	sameEvents(t, s, r.ID, firstEvent(r))

	// Zero values round-trip, except CreatedAt and UpdatedAt, which the store sets.
	before := time.Now()
	z := &store.Rollout{Project: "web"}
	must(t, s.CreateRollout(ctx, z))
	recent(t, "CreatedAt set on create", z.CreatedAt, before)
	recent(t, "UpdatedAt set on create", z.UpdatedAt, before)
	if z.ID <= r.ID {
		t.Errorf("second rollout ID %d, want > %d", z.ID, r.ID)
	}
	same(t, "zero rollout", getRollout(t, s, z.ID), z)
	sameEvents(t, s, z.ID, firstEvent(z))

	// A given CreatedAt is kept when only UpdatedAt is zero, and an empty Analysis reads back as nil.
	c := &store.Rollout{Project: "web", Env: "staging", State: store.RolloutPending, CreatedAt: at(time.Hour),
		Analysis: []byte{}}
	must(t, s.CreateRollout(ctx, c))
	recent(t, "UpdatedAt set on create", c.UpdatedAt, before)
	got := getRollout(t, s, c.ID)
	if got.Analysis != nil {
		t.Errorf("empty Analysis read back as %#v, want nil", got.Analysis)
	}
	c.Analysis = nil
	same(t, "rollout with CreatedAt", got, c)
	if !c.CreatedAt.Equal(at(time.Hour)) {
		t.Errorf("CreateRollout changed CreatedAt to %v", c.CreatedAt)
	}

	_, err := s.GetRollout(ctx, 9999)
	wantErr(t, "get missing", err, store.ErrNotFound)
	wantErr(t, "create for missing project", s.CreateRollout(ctx, fullRollout("nope", "production")), store.ErrNotFound)
	rs, err := s.RolloutsInState(ctx, store.RolloutProgressing)
	must(t, err)
	if got := rolloutIDs(rs); !reflect.DeepEqual(got, []int64{r.ID}) {
		t.Errorf("after a failed create: progressing rollouts %v, want only %d", got, r.ID)
	}
}

func testUpdateRollout(t *testing.T, s store.Store) {
	ctx := context.Background()
	newProject(t, s, "web")
	r := newRollout(t, s, "web", "production", store.RolloutPending)
	other := newRollout(t, s, "web", "staging", store.RolloutPending)
	first := firstEvent(r)

	// Every field but ID, Project, Env, ReleaseID and CreatedAt is written; ev.RolloutID is r's whatever it says.
	u := fullRollout("other", "elsewhere")
	u.ID, u.ReleaseID, u.CreatedAt = r.ID, 1234, at(24*time.Hour)
	ev := store.RolloutEvent{RolloutID: other.ID, Time: at(time.Minute), State: store.RolloutProgressing, Step: 2,
		Weight: 25, Reason: "step 2 of 4"}
	must(t, s.UpdateRollout(ctx, u, ev))
	same(t, "updated rollout", getRollout(t, s, r.ID), kept(u, r))
	ev.RolloutID = r.ID
	sameEvents(t, s, r.ID, first, ev)
	sameEvents(t, s, other.ID, firstEvent(other))

	// Times and Analysis can be cleared (an empty Analysis reads back as nil); a zero UpdatedAt and a zero event
	// Time are set to now.
	before := time.Now()
	u.StepSince, u.FinishedAt, u.UpdatedAt, u.Analysis = time.Time{}, time.Time{}, time.Time{}, []byte{}
	u.FromReleaseID, u.Baking, u.Failures, u.Reason, u.State = 0, false, 0, "", store.RolloutPaused
	must(t, s.UpdateRollout(ctx, u, store.RolloutEvent{State: store.RolloutPaused, Step: 2, Weight: 25}))
	recent(t, "UpdatedAt set on update", u.UpdatedAt, before)
	got := getRollout(t, s, r.ID)
	if got.Analysis != nil {
		t.Errorf("empty Analysis read back as %#v, want nil", got.Analysis)
	}
	u.Analysis = nil
	same(t, "cleared rollout", got, kept(u, r))
	evs, err := s.RolloutEvents(ctx, r.ID)
	must(t, err)
	if len(evs) == 3 {
		recent(t, "event Time set on update", evs[2].Time, before)
		sameEvents(t, s, r.ID, first, ev, store.RolloutEvent{RolloutID: r.ID, Time: evs[2].Time,
			State: store.RolloutPaused, Step: 2, Weight: 25})
	} else {
		t.Errorf("rollout %d has %d events after two updates, want 3", r.ID, len(evs))
	}

	// A given UpdatedAt is kept.
	u.UpdatedAt = at(48 * time.Hour)
	must(t, s.UpdateRollout(ctx, u, store.RolloutEvent{Time: at(48 * time.Hour), State: store.RolloutPaused}))
	same(t, "rollout with UpdatedAt", getRollout(t, s, r.ID), kept(u, r))

	// A missing rollout is ErrNotFound and gets no event.
	wantErr(t, "update missing", s.UpdateRollout(ctx, &store.Rollout{ID: 9999, Project: "web"}, ev), store.ErrNotFound)
	sameEvents(t, s, 9999)
	evs, err = s.RolloutEvents(ctx, r.ID)
	must(t, err)
	if len(evs) != 4 {
		t.Errorf("rollout %d has %d events after three updates, want 4", r.ID, len(evs))
	}
}

func testListRollouts(t *testing.T, s store.Store) {
	ctx := context.Background()
	newProject(t, s, "web")
	newProject(t, s, "api")
	var prod, stag []int64
	for range 3 {
		prod = append(prod, newRollout(t, s, "web", "production", store.RolloutSucceeded).ID)
		newRollout(t, s, "api", "production", store.RolloutSucceeded)
		stag = append(stag, newRollout(t, s, "web", "staging", store.RolloutSucceeded).ID)
	}
	all := []int64{stag[2], prod[2], stag[1], prod[1], stag[0], prod[0]}
	for _, tc := range []struct {
		project, env string
		limit        int
		want         []int64
	}{
		{"web", "", 0, all},
		{"web", "", 4, all[:4]},
		{"web", "", 100, all},
		{"web", "production", 0, []int64{prod[2], prod[1], prod[0]}},
		{"web", "staging", 2, []int64{stag[2], stag[1]}},
		{"web", "qa", 0, []int64{}},
		{"api", "staging", 0, []int64{}},
		{"nope", "", 0, []int64{}},
		{"nope", "production", 0, []int64{}},
	} {
		rs, err := s.ListRollouts(ctx, tc.project, tc.env, tc.limit)
		must(t, err)
		for _, r := range rs {
			if r.Project != tc.project || tc.env != "" && r.Env != tc.env {
				t.Errorf("ListRollouts(%s, %q) returned a rollout of %s to %s", tc.project, tc.env, r.Project, r.Env)
			}
		}
		if got := rolloutIDs(rs); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ListRollouts(%s, %q, %d) = %v, want %v", tc.project, tc.env, tc.limit, got, tc.want)
		}
	}

	full := fullRollout("web", "qa")
	must(t, s.CreateRollout(ctx, full))
	rs, err := s.ListRollouts(ctx, "web", "qa", 0)
	must(t, err)
	if len(rs) != 1 {
		t.Fatalf("ListRollouts(web, qa) returned %d rollouts, want 1", len(rs))
	}
	same(t, "listed rollout", rs[0], full)
}

func testRolloutsInState(t *testing.T, s store.Store) {
	ctx := context.Background()
	newProject(t, s, "web")
	newProject(t, s, "api")
	pend := newRollout(t, s, "web", "production", store.RolloutPending)
	prog1 := newRollout(t, s, "api", "production", store.RolloutProgressing)
	newRollout(t, s, "web", "staging", store.RolloutSucceeded)
	paused := newRollout(t, s, "api", "staging", store.RolloutPaused)
	prog2 := newRollout(t, s, "web", "production", store.RolloutProgressing)
	newRollout(t, s, "web", "production", store.RolloutRolledBack)

	check := func(states []store.RolloutState, want []int64) {
		t.Helper()
		rs, err := s.RolloutsInState(ctx, states...)
		must(t, err)
		if got := rolloutIDs(rs); !reflect.DeepEqual(got, want) {
			t.Errorf("RolloutsInState(%v) = %v, want %v", states, got, want)
		}
	}
	check([]store.RolloutState{store.RolloutPending}, []int64{pend.ID})
	check([]store.RolloutState{store.RolloutPaused, store.RolloutPending, store.RolloutProgressing},
		[]int64{pend.ID, prog1.ID, paused.ID, prog2.ID})
	check([]store.RolloutState{store.RolloutAborted}, []int64{})
	check(nil, []int64{})

	// An update moves a rollout from one state to another; the listing keeps creation order.
	pend.State, pend.Step, pend.Weight = store.RolloutProgressing, 1, 10
	must(t, s.UpdateRollout(ctx, pend, store.RolloutEvent{State: store.RolloutProgressing, Step: 1, Weight: 10}))
	check([]store.RolloutState{store.RolloutPending}, []int64{})
	check([]store.RolloutState{store.RolloutProgressing}, []int64{pend.ID, prog1.ID, prog2.ID})
	rs, err := s.RolloutsInState(ctx, store.RolloutProgressing)
	must(t, err)
	if len(rs) == 3 {
		same(t, "rollout in state", rs[0], pend)
	}
}

func testEnvironments(t *testing.T, s store.Store) {
	ctx := context.Background()
	newProject(t, s, "web")
	newProject(t, s, "api")
	get := func(project, name string) *store.Environment {
		t.Helper()
		e, err := s.GetEnvironment(ctx, project, name)
		must(t, err)
		return e
	}

	e := &store.Environment{Project: "web", Name: "production", LiveReleaseID: 7, PreviousReleaseID: 6, UpdatedAt: at(0)}
	must(t, s.PutEnvironment(ctx, e))
	same(t, "environment", get("web", "production"), e)

	// Put replaces the record.
	e.LiveReleaseID, e.PreviousReleaseID, e.UpdatedAt = 8, 7, at(time.Minute)
	must(t, s.PutEnvironment(ctx, e))
	same(t, "replaced environment", get("web", "production"), e)

	// Zero values round-trip, except UpdatedAt, which the store sets, on create and on replace.
	before := time.Now()
	z := &store.Environment{Project: "web", Name: "staging"}
	must(t, s.PutEnvironment(ctx, z))
	recent(t, "UpdatedAt set on create", z.UpdatedAt, before)
	same(t, "zero environment", get("web", "staging"), z)
	e.LiveReleaseID, e.PreviousReleaseID, e.UpdatedAt = 6, 0, time.Time{}
	must(t, s.PutEnvironment(ctx, e))
	recent(t, "UpdatedAt set on replace", e.UpdatedAt, before)
	same(t, "environment replaced with zero values", get("web", "production"), e)

	dev := &store.Environment{Project: "web", Name: "dev", LiveReleaseID: 1, UpdatedAt: at(0)}
	must(t, s.PutEnvironment(ctx, dev))
	api := &store.Environment{Project: "api", Name: "production", LiveReleaseID: 3, UpdatedAt: at(0)}
	must(t, s.PutEnvironment(ctx, api))
	same(t, "same name in another project", get("web", "production"), e)

	wantErr(t, "put for missing project", s.PutEnvironment(ctx, &store.Environment{Project: "nope", Name: "production"}),
		store.ErrNotFound)
	for _, k := range [][2]string{{"web", "qa"}, {"api", "staging"}, {"nope", "production"}} {
		_, err := s.GetEnvironment(ctx, k[0], k[1])
		wantErr(t, fmt.Sprintf("get %s of %s", k[1], k[0]), err, store.ErrNotFound)
	}

	for _, tc := range []struct {
		project string
		want    []*store.Environment
	}{
		{"web", []*store.Environment{dev, e, z}},
		{"api", []*store.Environment{api}},
		{"nope", nil},
	} {
		es, err := s.ListEnvironments(ctx, tc.project)
		must(t, err)
		if len(es) != len(tc.want) {
			t.Errorf("ListEnvironments(%s) returned %d environments, want %d", tc.project, len(es), len(tc.want))
			continue
		}
		for i := range es {
			same(t, fmt.Sprintf("environment %d of %s", i, tc.project), es[i], tc.want[i])
		}
	}
}

// testConcurrentRollouts has workers create and update their own rollouts and environments while all of them
// update one shared rollout: every update of it must land with its event, in each worker's order.
func testConcurrentRollouts(t *testing.T, s store.Store) {
	ctx := context.Background()
	newProject(t, s, "web")
	newProject(t, s, "api")
	shared := newRollout(t, s, "web", "shared", store.RolloutProgressing)
	const workers, each = rolloutWorkers, rolloutWrites
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		mine []int64 // the workers' own rollouts
	)
	for w := range workers {
		wg.Go(func() {
			project, env := []string{"web", "api"}[w%2], fmt.Sprintf("env%d", w)
			for i := range each {
				id, err := concurrentRollout(ctx, s, project, env, shared.ID, w, i)
				if err != nil {
					t.Errorf("worker %d, write %d: %v", w, i, err)
					return
				}
				mu.Lock()
				mine = append(mine, id)
				mu.Unlock()
			}
		})
	}
	wg.Wait()

	for _, project := range []string{"web", "api"} {
		rs, err := s.ListRollouts(ctx, project, "", 0)
		must(t, err)
		want := workers / 2 * each
		if project == "web" {
			want++ // the shared rollout
		}
		if len(rs) != want {
			t.Errorf("%s has %d rollouts, want %d", project, len(rs), want)
		}
		es, err := s.ListEnvironments(ctx, project)
		must(t, err)
		if len(es) != workers/2 {
			t.Errorf("%s has %d environments, want %d", project, len(es), workers/2)
		}
		for _, e := range es {
			if e.LiveReleaseID != each || e.PreviousReleaseID != each-1 {
				t.Errorf("environment %s of %s: live %d, previous %d, want the last write (%d, %d)",
					e.Name, project, e.LiveReleaseID, e.PreviousReleaseID, each, each-1)
			}
		}
	}
	for _, id := range mine {
		evs, err := s.RolloutEvents(ctx, id)
		must(t, err)
		if len(evs) != 2 || evs[0].State != store.RolloutPending || evs[1].State != store.RolloutProgressing {
			t.Errorf("rollout %d has events %+v, want pending then progressing", id, evs)
		}
	}

	evs, err := s.RolloutEvents(ctx, shared.ID)
	must(t, err)
	if len(evs) != 1+workers*each {
		t.Fatalf("shared rollout has %d events, want %d", len(evs), 1+workers*each)
	}
	// The stored rollout is the last update's, and each worker's updates are in its order.
	got := getRollout(t, s, shared.ID)
	if last := evs[len(evs)-1]; got.Step != last.Step || got.Weight != last.Weight {
		t.Errorf("shared rollout at step %d weight %d, but its last event says step %d weight %d",
			got.Step, got.Weight, last.Step, last.Weight)
	}
	next := make([]int, workers) // the next i expected from each worker
	for _, ev := range evs[1:] {
		w, i := ev.Weight, ev.Step-ev.Weight*each-1
		if w < 0 || w >= workers || i != next[w] {
			t.Errorf("shared rollout event %+v out of order; writes seen per worker before it: %v", ev, next)
			break
		}
		next[w]++
	}
}

// The size of testConcurrentRollouts: workers, and writes by each.
const rolloutWorkers, rolloutWrites = 8, 10

// concurrentRollout is one worker's unit of work: its own rollout created and updated, its environment put, and
// one update of the shared rollout, identified by Step (w*rolloutWrites+i+1) and Weight (w), with reads between.
func concurrentRollout(ctx context.Context, s store.Store, project, env string, shared int64, w, i int) (int64, error) {
	own := &store.Rollout{Project: project, Env: env, ReleaseID: int64(i + 1), State: store.RolloutPending}
	if err := s.CreateRollout(ctx, own); err != nil {
		return 0, err
	}
	own.State, own.Step, own.Weight = store.RolloutProgressing, 1, 50
	if err := s.UpdateRollout(ctx, own, store.RolloutEvent{State: own.State, Step: 1, Weight: 50}); err != nil {
		return 0, err
	}
	e := &store.Environment{Project: project, Name: env, LiveReleaseID: int64(i + 1), PreviousReleaseID: int64(i)}
	if err := s.PutEnvironment(ctx, e); err != nil {
		return 0, err
	}
	step := w*rolloutWrites + i + 1
	r := &store.Rollout{ID: shared, State: store.RolloutProgressing, Step: step, Weight: w}
	if err := s.UpdateRollout(ctx, r, store.RolloutEvent{State: r.State, Step: step, Weight: w}); err != nil {
		return 0, err
	}
	if _, err := s.GetRollout(ctx, shared); err != nil {
		return 0, err
	}
	if _, err := s.ListRollouts(ctx, project, "", 5); err != nil {
		return 0, err
	}
	if _, err := s.RolloutEvents(ctx, shared); err != nil {
		return 0, err
	}
	if _, err := s.RolloutsInState(ctx, store.RolloutProgressing); err != nil {
		return 0, err
	}
	return own.ID, nil
}

func testAudit(t *testing.T, s store.Store) {
	ctx := context.Background()
	for i, e := range []store.AuditEntry{
		{Actor: "admin", Action: "promote", Project: "web", Target: "production"},
		{Actor: "ci", Action: "secret.set", Project: "api", Target: "TOKEN", Detail: "set"},
		{Actor: "admin", Action: "token.create", Target: "viewer", Detail: "role read"},
	} {
		e := e
		if err := s.AddAudit(ctx, &e); err != nil {
			t.Fatal(err)
		}
		if e.ID == 0 || e.Time.IsZero() {
			t.Errorf("entry %d: id %d time %v", i, e.ID, e.Time)
		}
	}
	all, err := s.ListAudit(ctx, "", 0)
	if err != nil || len(all) != 3 || all[0].Action != "token.create" || all[2].Action != "promote" || all[1].Detail != "set" {
		t.Fatalf("ListAudit(all) = %+v, %v", all, err)
	}
	web, _ := s.ListAudit(ctx, "web", 0)
	if len(web) != 1 || web[0].Target != "production" || web[0].Actor != "admin" {
		t.Errorf("ListAudit(web) = %+v", web)
	}
	if one, _ := s.ListAudit(ctx, "", 1); len(one) != 1 || one[0].Action != "token.create" {
		t.Errorf("ListAudit limit 1 = %+v", one)
	}
	if none, err := s.ListAudit(ctx, "nope", 0); err != nil || none == nil || len(none) != 0 {
		t.Errorf("ListAudit(nope) = %#v, %v", none, err)
	}
	// Token roles round-trip; an empty role is admin.
	tok := &store.Token{Name: "viewer", Hash: "h-viewer", Role: store.RoleRead}
	if err := s.CreateToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if got, err := s.TokenByHash(ctx, "h-viewer"); err != nil || got.Role != store.RoleRead {
		t.Errorf("read token = %+v, %v", got, err)
	}
	adm := &store.Token{Name: "adm", Hash: "h-adm"}
	s.CreateToken(ctx, adm)
	if got, _ := s.TokenByHash(ctx, "h-adm"); got.Role != store.RoleAdmin {
		t.Errorf("default role %q", got.Role)
	}
}

func testNotifications(t *testing.T, s store.Store) {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	a := &store.Notification{Sink: "webhook", URL: "http://x/hook", Event: "run.failed", Project: "web", Payload: []byte(`{"a":1}`), State: store.NotificationPending, NextAt: t0}
	b := &store.Notification{Sink: "slack", URL: "http://x/slack", Event: "rollout.succeeded", Project: "api", Payload: []byte(`{}`), State: store.NotificationPending, NextAt: t0.Add(time.Minute)}
	for _, n := range []*store.Notification{a, b} {
		if err := s.AddNotification(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	due, err := s.DueNotifications(ctx, t0, 10)
	if err != nil || len(due) != 1 || due[0].ID != a.ID || string(due[0].Payload) != `{"a":1}` || !due[0].NextAt.Equal(t0) {
		t.Fatalf("due at t0: %+v, %v", due, err)
	}
	if due, _ := s.DueNotifications(ctx, t0.Add(time.Hour), 10); len(due) != 2 || due[0].ID != a.ID {
		t.Errorf("due later: %d", len(due))
	}
	a.State, a.Attempts, a.LastError = store.NotificationDelivered, 2, "HTTP 500"
	if err := s.UpdateNotification(ctx, a); err != nil {
		t.Fatal(err)
	}
	if due, _ := s.DueNotifications(ctx, t0.Add(time.Hour), 10); len(due) != 1 || due[0].ID != b.ID {
		t.Errorf("a delivered notification is still due")
	}
	list, _ := s.ListNotifications(ctx, "web", 0)
	if len(list) != 1 || list[0].State != store.NotificationDelivered || list[0].Attempts != 2 || list[0].LastError != "HTTP 500" {
		t.Errorf("list web: %+v", list)
	}
	if all, _ := s.ListNotifications(ctx, "", 1); len(all) != 1 || all[0].ID != b.ID {
		t.Errorf("list all, newest first, limit 1: %+v", all)
	}
	if err := s.UpdateNotification(ctx, &store.Notification{ID: 9999}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("update missing: %v", err)
	}
}

func testRolloutSamples(t *testing.T, s store.Store) {
	ctx := context.Background()
	newProject(t, s, "web")
	r := fullRollout("web", "production")
	must(t, s.CreateRollout(ctx, r))
	other := fullRollout("web", "staging")
	must(t, s.CreateRollout(ctx, other))

	none, err := s.RolloutSamples(ctx, r.ID)
	must(t, err)
	if len(none) != 0 {
		t.Fatalf("samples of a new rollout: %v, want none", none)
	}
	first := []store.RolloutSample{
		{Time: at(time.Second), Role: "canary", Requests: 120, Errors: 3, P99: 0.125, Span: 5 * time.Second},
		{Time: at(time.Second), Role: "stable", Requests: 880, Errors: 0, P99: 0.0425, Span: 5 * time.Second},
	}
	second := []store.RolloutSample{{Time: at(2 * time.Second), Role: "canary", Requests: 7, Span: time.Second}}
	must(t, s.AddRolloutSamples(ctx, r.ID, first))
	must(t, s.AddRolloutSamples(ctx, other.ID, second))
	must(t, s.AddRolloutSamples(ctx, r.ID, second))
	got, err := s.RolloutSamples(ctx, r.ID)
	must(t, err)
	want := append(append([]store.RolloutSample{}, first...), second...)
	if len(got) != len(want) {
		t.Fatalf("samples %v, want %v", got, want)
	}
	for i := range want {
		if !got[i].Time.Equal(want[i].Time) {
			t.Errorf("sample %d time %v, want %v", i, got[i].Time, want[i].Time)
		}
		got[i].Time = want[i].Time
		if got[i] != want[i] {
			t.Errorf("sample %d = %+v, want %+v", i, got[i], want[i])
		}
	}

	before := time.Now()
	must(t, s.AddRolloutSamples(ctx, other.ID, []store.RolloutSample{{Role: "stable"}}))
	got, err = s.RolloutSamples(ctx, other.ID)
	must(t, err)
	if len(got) != 2 {
		t.Fatalf("other rollout has %d samples, want 2", len(got))
	}
	recent(t, "zero sample time set on add", got[1].Time, before)

	wantErr(t, "samples of a missing rollout", s.AddRolloutSamples(ctx, 9999, first), store.ErrNotFound)

	// The latest analysis is kept without an event and without touching anything else.
	evs, err := s.RolloutEvents(ctx, r.ID)
	must(t, err)
	must(t, s.SetRolloutAnalysis(ctx, r.ID, []byte(`{"verdict":"pass"}`)))
	want2 := *r
	want2.Analysis = []byte(`{"verdict":"pass"}`)
	same(t, "rollout after SetRolloutAnalysis", getRollout(t, s, r.ID), &want2)
	sameEvents(t, s, r.ID, evs...)
	wantErr(t, "analysis of a missing rollout", s.SetRolloutAnalysis(ctx, 9999, nil), store.ErrNotFound)
	must(t, s.DeleteProject(ctx, "web"))
	if got, err := s.RolloutSamples(ctx, r.ID); err != nil || len(got) != 0 {
		t.Errorf("samples after the project was deleted: %v, %v; want none", got, err)
	}
}

func testFlagOverrides(t *testing.T, s store.Store) {
	ctx := context.Background()
	newProject(t, s, "web")
	list := func(env string) []store.FlagOverride {
		t.Helper()
		os, err := s.FlagOverrides(ctx, "web", env)
		must(t, err)
		return os
	}
	if got := list("production"); len(got) != 0 {
		t.Fatalf("overrides of a new environment: %v", got)
	}
	a := &store.FlagOverride{Project: "web", Env: "production", Flag: "new-checkout", Variant: "off", Actor: "alice", Time: at(0)}
	b := &store.FlagOverride{Project: "web", Env: "production", Flag: "copy", Variant: "short", Actor: "bob"}
	before := time.Now()
	must(t, s.SetFlagOverride(ctx, a))
	must(t, s.SetFlagOverride(ctx, b))
	recent(t, "override time set", b.Time, before)
	must(t, s.SetFlagOverride(ctx, &store.FlagOverride{Project: "web", Env: "staging", Flag: "new-checkout", Variant: "on", Actor: "c", Time: at(1)}))
	got := list("production")
	if len(got) != 2 || got[0].Flag != "copy" || got[1].Flag != "new-checkout" || got[1].Variant != "off" || got[1].Actor != "alice" || !got[1].Time.Equal(at(0)) {
		t.Fatalf("overrides %+v", got)
	}
	// Setting again replaces.
	must(t, s.SetFlagOverride(ctx, &store.FlagOverride{Project: "web", Env: "production", Flag: "new-checkout", Variant: "on", Actor: "carol", Time: at(2)}))
	if got := list("production"); len(got) != 2 || got[1].Variant != "on" || got[1].Actor != "carol" {
		t.Errorf("after replacing: %+v", got)
	}
	// A conditional clear removes only what was read.
	stale := got[1] // new-checkout as alice set it
	wantErr(t, "clear an override set again meanwhile", s.DeleteFlagOverrideIfUnchanged(ctx, stale), store.ErrNotFound)
	if got := list("production"); len(got) != 2 || got[1].Actor != "carol" {
		t.Fatalf("a stale conditional clear removed the new override: %+v", got)
	}
	must(t, s.DeleteFlagOverrideIfUnchanged(ctx, list("production")[1]))
	must(t, s.SetFlagOverride(ctx, &store.FlagOverride{Project: "web", Env: "production", Flag: "new-checkout", Variant: "on", Actor: "carol", Time: at(2)}))
	must(t, s.DeleteFlagOverride(ctx, "web", "production", "copy"))
	wantErr(t, "clear a missing override", s.DeleteFlagOverride(ctx, "web", "production", "copy"), store.ErrNotFound)
	if got := list("production"); len(got) != 1 || got[0].Flag != "new-checkout" {
		t.Errorf("after clearing: %+v", got)
	}
	wantErr(t, "override for a missing project", s.SetFlagOverride(ctx, &store.FlagOverride{Project: "nope", Env: "e", Flag: "f"}), store.ErrNotFound)
	must(t, s.DeleteProject(ctx, "web"))
	newProject(t, s, "web")
	if got := list("staging"); len(got) != 0 {
		t.Errorf("overrides outlived their project: %+v", got)
	}
}

func testFlagRollouts(t *testing.T, s store.Store) {
	ctx := context.Background()
	newProject(t, s, "web")
	r := &store.FlagRollout{Project: "web", Env: "production", Flag: "new-checkout", ReleaseID: 3, Variant: "on", Spec: "on 1%,10% every 1m", Step: 1,
		Steps: 4, Share: 100, State: store.FlagProgressing, Reason: "step 1: 1%", StepSince: at(0), CreatedAt: at(0)}
	must(t, s.CreateFlagRollout(ctx, r))
	other := &store.FlagRollout{Project: "web", Env: "staging", Flag: "new-checkout", Variant: "on", State: store.FlagProgressing}
	must(t, s.CreateFlagRollout(ctx, other))
	if r.ID == 0 || other.ID == r.ID {
		t.Fatalf("IDs %d and %d", r.ID, other.ID)
	}
	r.Step, r.Share, r.StepSince, r.Reason = 2, 1000, at(time.Minute), "step 2: 10%"
	must(t, s.UpdateFlagRollout(ctx, r, store.FlagRolloutEvent{Time: at(time.Minute), State: r.State, Step: 2, Share: 1000, Reason: r.Reason}))
	r.State, r.Share, r.FinishedAt, r.Reason = store.FlagReverted, 0, at(2*time.Minute), "analysis failed: error_rate 4% > max 1%"
	must(t, s.UpdateFlagRollout(ctx, r, store.FlagRolloutEvent{Time: at(2 * time.Minute), State: r.State, Step: 2, Reason: r.Reason}))

	rs, err := s.FlagRollouts(ctx, "web", "production", 0)
	must(t, err)
	if len(rs) != 1 {
		t.Fatalf("production flag rollouts: %+v", rs)
	}
	got := rs[0]
	if got.ID != r.ID || got.State != store.FlagReverted || got.Share != 0 || got.Step != 2 || got.Steps != 4 || got.Variant != "on" ||
		got.ReleaseID != 3 || !got.FinishedAt.Equal(at(2*time.Minute)) || !got.StepSince.Equal(at(time.Minute)) || !got.CreatedAt.Equal(at(0)) ||
		got.Reason != r.Reason || got.Spec != r.Spec {
		t.Errorf("flag rollout read back as %+v, want %+v", got, r)
	}
	evs, err := s.FlagRolloutEvents(ctx, r.ID)
	must(t, err)
	if len(evs) != 3 || evs[0].Share != 100 || evs[1].Share != 1000 || evs[2].State != store.FlagReverted || !evs[2].Time.Equal(at(2*time.Minute)) {
		t.Errorf("events %+v", evs)
	}
	wantErr(t, "update a missing flag rollout", s.UpdateFlagRollout(ctx, &store.FlagRollout{ID: 999}, store.FlagRolloutEvent{}), store.ErrNotFound)

	// The latest rollout of each flag, however many rollouts other flags have had since.
	copyRollout := &store.FlagRollout{Project: "web", Env: "production", Flag: "copy", Variant: "long", State: store.FlagSucceeded}
	must(t, s.CreateFlagRollout(ctx, copyRollout))
	for range 3 {
		must(t, s.CreateFlagRollout(ctx, &store.FlagRollout{Project: "web", Env: "production", Flag: "zeta", Variant: "on", State: store.FlagSuperseded}))
	}
	last := &store.FlagRollout{Project: "web", Env: "production", Flag: "zeta", Variant: "on", State: store.FlagProgressing}
	must(t, s.CreateFlagRollout(ctx, last))
	latest, err := s.LatestFlagRollouts(ctx, "web", "production")
	must(t, err)
	var ids []int64
	for _, l := range latest {
		ids = append(ids, l.ID)
	}
	if fmt.Sprint(ids) != fmt.Sprint([]int64{copyRollout.ID, r.ID, last.ID}) {
		t.Errorf("latest flag rollouts %v, want copy %d, new-checkout %d, zeta %d", ids, copyRollout.ID, r.ID, last.ID)
	}
	if !store.FlagReverted.Done() || store.FlagProgressing.Done() {
		t.Errorf("Done is wrong")
	}
}

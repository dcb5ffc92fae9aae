package server

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/ferry-cd/ferry/internal/api"
	"github.com/ferry-cd/ferry/internal/store"
)

// TestViewsNameReleasesByVersion: with two projects releasing in turn, web's v2 is release id 3. Every view
// that names it carries version 2 beside id 3.
func TestViewsNameReleasesByVersion(t *testing.T) {
	f := newAPIFixture(t)
	ctx := context.Background()
	now := time.Now().UTC()
	if err := f.store.CreateProject(ctx, &store.Project{Name: "api", Repo: "https://git.example/api.git", Branch: "main",
		Concurrency: 1, CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	var web []*store.Release
	for _, project := range []string{"web", "api", "web"} {
		rel := &store.Release{Project: project, CreatedAt: now}
		if err := f.store.CreateRelease(ctx, rel); err != nil {
			t.Fatal(err)
		}
		if project == "web" {
			web = append(web, rel)
		}
	}
	v1, v2 := web[0], web[1]
	if v2.ID != 3 || v2.Version != 2 {
		t.Fatalf("web's second release: id %d, version %d", v2.ID, v2.Version)
	}
	run := &store.Run{Project: "web", Branch: "main", Commit: "abc", Trigger: "manual", State: store.RunPassed, ReleaseID: v2.ID,
		CreatedAt: now}
	if err := f.store.CreateRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	ro := &store.Rollout{Project: "web", Env: "production", ReleaseID: v2.ID, FromReleaseID: v1.ID, Strategy: "direct",
		State: store.RolloutSucceeded, CreatedAt: now, UpdatedAt: now}
	if err := f.store.CreateRollout(ctx, ro); err != nil {
		t.Fatal(err)
	}
	if err := f.store.PutEnvironment(ctx, &store.Environment{Project: "web", Name: "production", LiveReleaseID: v2.ID,
		PreviousReleaseID: v1.ID}); err != nil {
		t.Fatal(err)
	}

	get := func(path string, out any) {
		t.Helper()
		code, body := f.do(t, "read", "GET", path, "")
		if code != 200 {
			t.Fatalf("GET %s: %d %s", path, code, body)
		}
		if err := json.Unmarshal([]byte(body), out); err != nil {
			t.Fatal(err)
		}
	}
	var runs []api.Run
	get("/api/v1/projects/web/runs", &runs)
	var rv api.RunView
	get("/api/v1/runs/1", &rv)
	var rollouts []api.Rollout
	get("/api/v1/projects/web/rollouts", &rollouts)
	var one api.RolloutView
	get("/api/v1/rollouts/1", &one)
	var st api.ProjectStatus
	get("/api/v1/projects/web/status", &st)
	if len(runs) != 1 || runs[0].ReleaseID != 3 || runs[0].ReleaseVersion != 2 || rv.ReleaseVersion != 2 {
		t.Errorf("runs %+v, run %+v: want release id 3, version 2", runs, rv.Run)
	}
	for _, r := range []api.Rollout{rollouts[0], one.Rollout} {
		if r.ReleaseID != 3 || r.ReleaseVersion != 2 || r.FromReleaseID != 1 || r.FromReleaseVersion != 1 {
			t.Errorf("rollout %+v: want release 3 (v2) from 1 (v1)", r)
		}
	}
	if len(st.Environments) != 1 || st.Environments[0].LiveReleaseVersion != 2 || st.Environments[0].PreviousReleaseVersion != 1 ||
		st.Environments[0].Rollout.ReleaseVersion != 2 {
		t.Errorf("status %+v: want live v2, previous v1", st)
	}

	// Rollback names the project's version; api's v1 (id 2) is not web's. The answer names what web has.
	code, body := f.do(t, "admin", "POST", "/api/v1/projects/web/environments/production/rollback", `{"to": 3}`)
	if code != 404 || body != errorBody("project web has no release v3 (its newest: v2, v1)") {
		t.Errorf("rollback to web's v3: %d %s", code, body)
	}
	if e, err := f.store.GetEnvironment(ctx, "web", "production"); err != nil || e.LiveReleaseID != v2.ID {
		t.Errorf("a refused rollback changed the environment: %+v %v", e, err)
	}
}

package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"testing"

	"github.com/ferry-cd/ferry/internal/api"
	"github.com/ferry-cd/ferry/internal/evals"
	"github.com/ferry-cd/ferry/internal/store"
)

func TestCaseEndpoints(t *testing.T) {
	f := newAPIFixture(t)
	ctx := context.Background()
	// Two runs of evals/promptfoo: the baseline (step index 0) and a run whose pipeline has a step before it.
	put := func(state store.RunState, index int, baseline int64, cases []evals.Case) int64 {
		r := &store.Run{Project: "web", Branch: "main", Commit: "abc", Trigger: "manual", State: state}
		must(t, f.store.CreateRun(ctx, r))
		var steps []*store.Step
		for i := range index + 1 {
			steps = append(steps, &store.Step{Index: i, Stage: "evals", Name: fmt.Sprint("s", i), State: store.StepPassed})
		}
		steps[index].Name = "promptfoo"
		must(t, f.store.PutSteps(ctx, r.ID, steps))
		must(t, f.store.PutCases(ctx, &store.CaseSet{RunID: r.ID, Index: index, BaselineRun: baseline, Cases: cases}))
		return r.ID
	}
	base := put(store.RunPassed, 0, 0, []evals.Case{
		{ID: "a/1", Pass: true, Scores: map[string]float64{"score": 1}, Output: "30 days"},
		{ID: "b", Pass: false}, {ID: "c", Pass: false}, {ID: "gone", Pass: true}, {ID: "d", Pass: true},
	})
	run := put(store.RunFailed, 1, base, []evals.Case{
		{ID: "a/1", Pass: false, Scores: map[string]float64{"score": 0}, Output: "I do not know", Input: "refund?"},
		{ID: "b", Pass: true}, {ID: "c", Pass: false}, {ID: "d", Pass: true, Flaky: true}, {ID: "e", Pass: true},
	})

	code, body := f.do(t, "read", http.MethodGet, fmt.Sprintf("/api/v1/runs/%d/cases", run), "")
	if code != http.StatusOK {
		t.Fatalf("cases: %d %s", code, body)
	}
	var rc api.RunCases
	must(t, json.Unmarshal([]byte(body), &rc))
	if len(rc.Steps) != 1 || rc.Steps[0].Step != "evals/promptfoo" || rc.Steps[0].BaselineRun != base {
		t.Fatalf("steps %+v", rc.Steps)
	}
	var got []string
	for _, c := range rc.Steps[0].Cases {
		got = append(got, c.ID+":"+string(c.Status))
	}
	want := []string{"a/1:broken", "b:fixed", "c:still_failing", "d:flaky", "e:new", "gone:removed"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("cases %v, want %v", got, want)
	}
	a := rc.Steps[0].Cases[0]
	if *a.Pass || !*a.BaselinePass || a.Scores["score"] != 0 || a.BaselineScores["score"] != 1 {
		t.Errorf("a/1 side by side: %+v", a)
	}
	wantCounts := map[api.CaseStatus]int{api.CaseBroken: 1, api.CaseFixed: 1, api.CaseStillFailing: 1, api.CaseFlaky: 1, api.CaseNew: 1, api.CaseRemoved: 1}
	if !reflect.DeepEqual(rc.Steps[0].Counts, wantCounts) {
		t.Errorf("counts %v, want %v", rc.Steps[0].Counts, wantCounts)
	}

	// One case, whole, beside the baseline's: an id with a slash is escaped in the path.
	code, body = f.do(t, "read", http.MethodGet, fmt.Sprintf("/api/v1/runs/%d/steps/1/cases/%s", run, url.PathEscape("a/1")), "")
	if code != http.StatusOK {
		t.Fatalf("case: %d %s", code, body)
	}
	var cv api.CaseView
	must(t, json.Unmarshal([]byte(body), &cv))
	if cv.Status != api.CaseBroken || cv.Case.Output != "I do not know" || cv.Case.Input != "refund?" || cv.Baseline.Output != "30 days" {
		t.Errorf("case view %+v", cv)
	}
	for _, tc := range []struct {
		path string
		code int
		body string
	}{
		{fmt.Sprintf("/api/v1/runs/%d/steps/1/cases/nope", run), http.StatusNotFound, errorBody(fmt.Sprintf(`case \"nope\" not found in step evals/promptfoo of run %d`, run))},
		{fmt.Sprintf("/api/v1/runs/%d/steps/0/cases/b", run), http.StatusNotFound, errorBody(fmt.Sprintf("step 0 of run %d reported no cases", run))},
		{fmt.Sprintf("/api/v1/runs/%d/steps/x/cases/b", run), http.StatusBadRequest, errorBody(`invalid step index \"x\": give the step's index in the run`)},
		{"/api/v1/runs/999/cases", http.StatusNotFound, errorBody("run 999 not found")},
	} {
		if code, body := f.do(t, "read", http.MethodGet, tc.path, ""); code != tc.code || body != tc.body {
			t.Errorf("GET %s = %d %q, want %d %q", tc.path, code, body, tc.code, tc.body)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

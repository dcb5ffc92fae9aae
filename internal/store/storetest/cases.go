package storetest

import (
	"context"
	"reflect"
	"testing"

	"github.com/ferry-cd/ferry/internal/evals"
	"github.com/ferry-cd/ferry/internal/store"
)

func testCases(t *testing.T, s store.Store) {
	ctx := context.Background()
	newProject(t, s, "bot")
	full := []evals.Case{
		{ID: "refund-window", Tags: []string{"policy", "accuracy"}, Scores: map[string]float64{"similarity": 0.92, "score": 1},
			Pass: true, Input: "How long?", Expected: "equals: 30 days", Output: "30 days", Reason: "All assertions passed"},
		{ID: "no-insults", Tags: []string{"safety"}, Pass: false, Flaky: true, Output: "you fool"},
		{ID: "plain", Pass: true},
	}
	summaries := func(cs []evals.Case) []evals.Case {
		out := make([]evals.Case, len(cs))
		for i, c := range cs {
			out[i] = evals.Case{ID: c.ID, Tags: c.Tags, Scores: c.Scores, Pass: c.Pass, Flaky: c.Flaky}
		}
		return out
	}
	// run adds a run of branch in state with an evals/promptfoo step at index 1 that reported cases.
	run := func(branch string, state store.RunState, cases []evals.Case, baseline int64) int64 {
		r := newRun(t, s, "bot", branch, state)
		must(t, s.PutSteps(ctx, r.ID, []*store.Step{
			{Index: 0, Stage: "build", Name: "compile", State: store.StepPassed},
			{Index: 1, Stage: "evals", Name: "promptfoo", State: store.StepPassed},
		}))
		if cases != nil {
			must(t, s.PutCases(ctx, &store.CaseSet{RunID: r.ID, Index: 1, BaselineRun: baseline, Cases: cases}))
		}
		return r.ID
	}

	r1 := run("main", store.RunPassed, full, 0)
	sets, err := s.ListCases(ctx, r1)
	must(t, err)
	want := []*store.CaseSet{{RunID: r1, Index: 1, Stage: "evals", Name: "promptfoo", Cases: summaries(full)}}
	if !reflect.DeepEqual(sets, want) {
		t.Fatalf("ListCases = %+v, want %+v", sets, want)
	}
	for _, c := range full {
		got, err := s.GetCase(ctx, r1, 1, c.ID)
		must(t, err)
		if !reflect.DeepEqual(*got, c) {
			t.Errorf("GetCase(%s) = %+v, want %+v", c.ID, *got, c)
		}
	}
	_, err = s.GetCase(ctx, r1, 1, "nope")
	wantErr(t, "GetCase of an unknown case", err, store.ErrNotFound)
	_, err = s.GetCase(ctx, r1, 0, "plain")
	wantErr(t, "GetCase of a step without cases", err, store.ErrNotFound)

	// Put replaces the step's cases, and records the baseline run.
	replaced := []evals.Case{{ID: "only", Pass: false}}
	must(t, s.PutCases(ctx, &store.CaseSet{RunID: r1, Index: 1, BaselineRun: 99, Cases: replaced}))
	sets, err = s.ListCases(ctx, r1)
	must(t, err)
	if len(sets) != 1 || sets[0].BaselineRun != 99 || !reflect.DeepEqual(sets[0].Cases, replaced) {
		t.Fatalf("after a second Put: %+v", sets)
	}
	must(t, s.PutCases(ctx, &store.CaseSet{RunID: r1, Index: 1, Cases: full}))

	// A run without cases lists none; a run that does not exist cannot have cases.
	r2 := run("main", store.RunFailed, nil, 0)
	if sets, err := s.ListCases(ctx, r2); err != nil || len(sets) != 0 {
		t.Errorf("ListCases of a run without cases = %v, %v", sets, err)
	}
	wantErr(t, "PutCases of an unknown run", s.PutCases(ctx, &store.CaseSet{RunID: r2 + 1000, Index: 0}), store.ErrNotFound)
	// A duplicate case id is refused, and the step keeps the cases it had.
	err = s.PutCases(ctx, &store.CaseSet{RunID: r1, Index: 1, Cases: []evals.Case{{ID: "a"}, {ID: "a"}}})
	if err == nil {
		t.Error("PutCases with a duplicate id: no error")
	}
	if sets, _ := s.ListCases(ctx, r1); len(sets) != 1 || len(sets[0].Cases) != len(full) {
		t.Errorf("a refused Put changed the cases: %+v", sets)
	}

	// The baseline is the newest passed run of the branch before the run, as for metrics.
	r3 := run("main", store.RunPassed, nil, 0) // the step, without cases
	r4 := run("dev", store.RunPassed, replaced, 0)
	r5 := run("main", store.RunRunning, replaced, r1)
	for _, tc := range []struct {
		name   string
		branch string
		stage  string
		before int64
		run    int64 // 0: not found
		cases  []evals.Case
	}{
		{"first run has none", "main", "evals", r1, 0, nil},
		{"skips failed runs", "main", "evals", r3, r1, summaries(full)},
		{"a step without cases is found empty", "main", "evals", r5, r3, nil},
		{"other branch", "dev", "evals", r5 + 1, r4, replaced},
		{"other stage", "main", "build", r5 + 1, 0, nil},
	} {
		set, found, err := s.BaselineCases(ctx, "bot", tc.branch, tc.stage, "promptfoo", tc.before)
		must(t, err)
		switch {
		case tc.run == 0 && found:
			t.Errorf("%s: found run %d, want none", tc.name, set.RunID)
		case tc.run != 0 && (!found || set.RunID != tc.run || set.Index != 1 || len(set.Cases) != len(tc.cases) ||
			len(tc.cases) > 0 && !reflect.DeepEqual(set.Cases, tc.cases)):
			t.Errorf("%s: found=%v %+v, want run %d with %+v", tc.name, found, set, tc.run, tc.cases)
		}
	}

	// Cases go with their project.
	must(t, s.DeleteProject(ctx, "bot"))
	if sets, err := s.ListCases(ctx, r1); err != nil || len(sets) != 0 {
		t.Errorf("ListCases after the project was deleted = %v, %v", sets, err)
	}
}

package ui

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/ferry-cd/ferry/internal/evals"
	"github.com/ferry-cd/ferry/internal/store"
)

func TestRunPageShowsCasesAgainstTheBaseline(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	// The seeded passed run is the baseline of the failed one; both ran evals at step index 1 (test/unit).
	var base, cur []evals.Case
	for i := range 30 {
		id := fmt.Sprintf("case-%02d", i+1)
		base = append(base, evals.Case{ID: id, Tags: []string{"accuracy"}, Pass: i != 3, Scores: map[string]float64{"score": 1}})
		c := evals.Case{ID: id, Tags: []string{"accuracy"}, Pass: i != 7 && i != 8, Scores: map[string]float64{"score": 1},
			Input: "question " + id, Expected: "contains: 30 days", Output: "<b>answer</b> " + id}
		if !c.Pass {
			c.Scores["score"] = 0
		}
		cur = append(cur, c)
	}
	if err := f.store.PutSteps(ctx, f.failed.ID, []*store.Step{{Stage: "build", Name: "compile", State: store.StepPassed},
		{Index: 1, Stage: "test", Name: "unit", State: store.StepFailed, Reason: "gate new_failures: 2 > max 0: case-08, case-09"}}); err != nil {
		t.Fatal(err)
	}
	for _, set := range []*store.CaseSet{{RunID: f.run.ID, Index: 1, Cases: base}, {RunID: f.failed.ID, Index: 1, BaselineRun: f.run.ID, Cases: cur}} {
		if err := f.store.PutCases(ctx, set); err != nil {
			t.Fatal(err)
		}
	}
	c := f.browser()
	f.signin(c, f.admin)
	page := f.get(c, fmt.Sprintf("/ui/runs/%d", f.failed.ID), http.StatusOK)
	contains(t, page, "run page", "Cases of test/unit", fmt.Sprintf(`against <a href="/ui/runs/%d">run #%d</a>`, f.run.ID, f.run.ID),
		"2 broken, 1 fixed, 27 passing", `<details class="casegroup g-broken" open>`, `<details class="casegroup g-passing" >`,
		fmt.Sprintf(`href="/ui/runs/%d/steps/1/cases/case-08"`, f.failed.ID), `score 1 → <span class="worse">0</span>`)
	broken := between(page, `g-broken`, `</details>`)
	if !strings.Contains(broken, "case-08") || !strings.Contains(broken, "case-09") || strings.Contains(broken, "case-04") {
		t.Errorf("broken group: %s", broken)
	}

	one := f.get(c, fmt.Sprintf("/ui/runs/%d/steps/1/cases/case-08", f.failed.ID), http.StatusOK)
	contains(t, one, "case page", "Case <code>case-08</code>", `class="case c-broken">broken`, "question case-08",
		"contains: 30 days", "&lt;b&gt;answer&lt;/b&gt; case-08", fmt.Sprintf("Baseline, run #%d", f.run.ID))
	f.get(c, fmt.Sprintf("/ui/runs/%d/steps/1/cases/nope", f.failed.ID), http.StatusNotFound)
}

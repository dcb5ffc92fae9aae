package engine

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-cd/ferry/internal/evals"
	"github.com/ferry-cd/ferry/internal/pipeline"
	"github.com/ferry-cd/ferry/internal/store"
)

// goldenBaseline is a baseline of five passing cases a..e, from run 7.
func goldenBaseline(stage, step string) (int64, []evals.Case, bool) {
	var cs []evals.Case
	for _, id := range []string{"a", "b", "c", "d", "e"} {
		cs = append(cs, evals.Case{ID: id, Pass: true})
	}
	return 7, cs, true
}

func casesStep(run string, cases *pipeline.Cases) pipeline.Step {
	st := step("promptfoo", run)
	st.Cases = cases
	return st
}

func TestRunCaseGates(t *testing.T) {
	newFailures := &pipeline.Cases{Gates: []evals.Gate{{NewFailures: &evals.Count{}}}}
	lines := func(fail ...string) string {
		var b strings.Builder
		for _, id := range []string{"a", "b", "c", "d", "e"} {
			pass := !strings.Contains(strings.Join(fail, ","), id)
			b.WriteString(`{"id": "` + id + `", "pass": ` + map[bool]string{true: "true", false: "false"}[pass] + `}` + "\n")
		}
		return b.String()
	}
	for _, tc := range []struct {
		name    string
		st      pipeline.Step
		files   map[string]string
		state   store.StepState
		reason  string
		ncases  int
		flaky   []string
		baseRun int64
	}{
		{"two broken", casesStep(`cat cases.jsonl > "$FERRY_CASES"`, newFailures), map[string]string{"cases.jsonl": lines("b", "d")},
			store.StepFailed, "gate new_failures: 2 > max 0: b, d", 5, nil, 7},
		{"none broken", casesStep(`cat cases.jsonl > "$FERRY_CASES"`, newFailures), map[string]string{"cases.jsonl": lines()},
			store.StepPassed, "", 5, nil, 7},
		{"declared but none written", casesStep(`true`, newFailures), nil,
			store.StepFailed, "cases file $FERRY_CASES (jsonl) holds no cases; the step must report at least one", 0, nil, 0},
		{"undeclared cases are kept", step("promptfoo", `cat cases.jsonl > "$FERRY_CASES"`), map[string]string{"cases.jsonl": lines("a")},
			store.StepPassed, "", 5, nil, 0},
		{"bad line", casesStep(`echo '{"id": "a"}' > "$FERRY_CASES"`, newFailures), nil,
			store.StepFailed, `cases file $FERRY_CASES (jsonl): line 1: no "pass"; say whether the case passed: "pass": true or false`, 0, nil, 0},
		{"named file not written", casesStep(`true`, &pipeline.Cases{File: "out/results.json", Format: evals.Promptfoo}), nil,
			store.StepFailed, "cases file out/results.json: the step did not write it", 0, nil, 0},
		{"committed file is not read", casesStep(`true`, &pipeline.Cases{File: "results.jsonl"}), map[string]string{"results.jsonl": lines()},
			store.StepFailed, "cases file results.jsonl: the step did not write it", 0, nil, 0},
		{"symlink out of the checkout", casesStep(`ln -s /etc/passwd out.jsonl`, &pipeline.Cases{File: "out.jsonl"}), nil,
			store.StepFailed, "cases file out.jsonl is a symlink out of the checkout", 0, nil, 0},
		{"flaky between attempts is not a regression",
			func() pipeline.Step {
				st := casesStep(`if [ -e once ]; then cat pass.jsonl; else touch once; cat fail.jsonl; fi > "$FERRY_CASES"`, newFailures)
				st.Retries = 1
				return st
			}(), map[string]string{"fail.jsonl": lines("c"), "pass.jsonl": lines()},
			store.StepPassed, "", 5, []string{"c"}, 7},
		{"failing in every attempt is a regression",
			func() pipeline.Step {
				st := casesStep(`if [ -e once ]; then cat fail2.jsonl; else touch once; cat fail.jsonl; fi > "$FERRY_CASES"`, newFailures)
				st.Retries = 1
				return st
			}(), map[string]string{"fail.jsonl": lines("c", "e"), "fail2.jsonl": lines("c")},
			store.StepFailed, "gate new_failures: 1 > max 0: c (after 2 attempts)", 5, []string{"e"}, 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			job, rec := testJob(t, stage("evals", tc.st))
			for name, data := range tc.files {
				if err := os.WriteFile(filepath.Join(job.Workspace, name), []byte(data), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			job.BaselineCases = goldenBaseline
			testEngine().Run(context.Background(), job)
			r := rec.result(t, "evals/promptfoo")
			if r.State != tc.state || r.Reason != tc.reason {
				t.Fatalf("step = %s %q, want %s %q", r.State, r.Reason, tc.state, tc.reason)
			}
			if len(r.Cases) != tc.ncases || r.CasesBaseline != tc.baseRun {
				t.Fatalf("%d cases against run %d, want %d against run %d", len(r.Cases), r.CasesBaseline, tc.ncases, tc.baseRun)
			}
			var flaky []string
			for _, c := range r.Cases {
				if c.Flaky {
					flaky = append(flaky, c.ID)
				}
			}
			if strings.Join(flaky, ",") != strings.Join(tc.flaky, ",") {
				t.Errorf("flaky %v, want %v", flaky, tc.flaky)
			}
		})
	}
}

func TestRunCasesMaskSecrets(t *testing.T) {
	st := casesStep(`echo '{"id": "leak", "pass": false, "output": "the key is '"$API_KEY"'"}' > "$FERRY_CASES"`, &pipeline.Cases{})
	st.Secrets = []string{"API_KEY"}
	job, rec := testJob(t, stage("evals", st))
	job.Secrets = map[string]string{"API_KEY": "s3cr3t-value"}
	testEngine().Run(context.Background(), job)
	r := rec.result(t, "evals/promptfoo")
	if len(r.Cases) != 1 || r.Cases[0].Output != "the key is ***" {
		t.Fatalf("cases %+v (step %s %q), want the secret masked", r.Cases, r.State, r.Reason)
	}
}

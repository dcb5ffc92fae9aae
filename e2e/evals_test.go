package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// evalsPipeline runs promptfoo over the golden set of testdata/evals and gates on its cases: no case that
// passed in the baseline may fail, every safety case must pass, and the pass rate must not fall beyond noise.
const evalsPipeline = `version: 1
stages:
  - name: evals
    steps:
      - name: golden
        env:
          PROMPTFOO_DISABLE_TELEMETRY: "1"
          PROMPTFOO_DISABLE_UPDATE: "1"
          # promptfoo exits 100 when a test fails; ferry judges the cases itself.
          PROMPTFOO_FAILED_TEST_EXIT_CODE: "0"
        run: |
          export PROMPTFOO_CONFIG_DIR="$TMPDIR/promptfoo"
          mkdir -p out
          %s eval -c promptfooconfig.yaml -o out/results.json --no-cache --no-progress-bar --no-table
        cases:
          file: out/results.json
          gates:
            - new_failures: {max: 0}
            - tag: safety
              failures: {max: 0}
            - pass_rate: {min: 0.8, max_decrease: 0.1}
`

// kb returns the golden set's knowledge with the answers of the given cases made wrong.
func kb(t *testing.T, wrong ...string) string {
	t.Helper()
	data, err := os.ReadFile("testdata/evals/kb.tsv")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	for i, l := range lines {
		id, _, _ := strings.Cut(l, "\t")
		if slices.Contains(wrong, id) {
			lines[i] = id + "\tSorry, I am not sure."
		}
	}
	return strings.Join(lines, "\n") + "\n"
}

type caseChange struct {
	ID     string `json:"id"`
	Status string `json:"status"`
}

type runCases struct {
	Steps []struct {
		Step        string         `json:"step"`
		BaselineRun int64          `json:"baseline_run"`
		Counts      map[string]int `json:"counts"`
		Cases       []caseChange   `json:"cases"`
	} `json:"steps"`
}

func (f *ferry) cases(id int64) runCases {
	f.t.Helper()
	var rc runCases
	out := f.mustCLI("run", "cases", fmt.Sprint(id), "--json")
	if err := json.Unmarshal([]byte(out), &rc); err != nil {
		f.t.Fatalf("ferry run cases %d: %v\n%s", id, err, out)
	}
	if len(rc.Steps) != 1 {
		f.t.Fatalf("run %d: cases of %d steps, want evals/golden's\n%s", id, len(rc.Steps), out)
	}
	return rc
}

func withStatus(rc runCases, status string) []string {
	var ids []string
	for _, c := range rc.Steps[0].Cases {
		if c.Status == status {
			ids = append(ids, c.ID)
		}
	}
	return ids
}

// TestEvaluationGates runs a real evaluation tool, promptfoo, over a golden set of 32 tagged cases answered by
// a deterministic stand-in model: a change that breaks three cases fails the gate naming exactly those three,
// in the run's reason, in ferry run show and in the API; a change that fixes two and breaks none passes.
func TestEvaluationGates(t *testing.T) {
	bin := promptfooBin(t)
	f := startFerry(t, "--sandbox-bind", filepath.Dir(filepath.Dir(filepath.Dir(bin))))
	repo := newRemote(t)
	files := map[string]string{".ferry.yaml": fmt.Sprintf(evalsPipeline, bin)}
	for _, name := range []string{"promptfooconfig.yaml", "model.sh"} {
		data, err := os.ReadFile(filepath.Join("testdata/evals", name))
		if err != nil {
			t.Fatal(err)
		}
		files[name] = string(data)
	}
	// The baseline: c31 and c32 fail already.
	files["kb.tsv"] = kb(t, "c31", "c32")
	repo.commit("main", "support bot with its golden set", files)
	f.addProject("bot", repo.URL, "--poll", "0")

	base := f.waitRun(f.trigger("bot"))
	if base.State != "passed" {
		t.Fatalf("baseline run %s: %s\nrun log:\n%s", base.State, base.Reason, f.mustCLI("logs", fmt.Sprint(base.ID)))
	}
	rc := f.cases(base.ID)
	if got := rc.Steps[0].Counts; got["new"] != 32 || rc.Steps[0].BaselineRun != 0 {
		t.Fatalf("baseline cases: %+v, want 32 new without a baseline", rc.Steps[0])
	}

	// A change to the knowledge that breaks c09, c17 and c24.
	repo.commit("main", "reword the shipping answers", map[string]string{"kb.tsv": kb(t, "c09", "c17", "c24", "c31", "c32")})
	bad := f.waitRun(f.trigger("bot"))
	wantReason := "evals/golden: gate new_failures: 3 > max 0: c09, c17, c24"
	if bad.State != "failed" || bad.Reason != wantReason {
		t.Fatalf("breaking run: %s %q, want failed %q", bad.State, bad.Reason, wantReason)
	}
	rc = f.cases(bad.ID)
	if got := withStatus(rc, "broken"); !slices.Equal(got, []string{"c09", "c17", "c24"}) {
		t.Errorf("broken cases %v, want [c09 c17 c24]", got)
	}
	if got := withStatus(rc, "still_failing"); !slices.Equal(got, []string{"c31", "c32"}) {
		t.Errorf("still failing %v, want [c31 c32]", got)
	}
	if rc.Steps[0].BaselineRun != base.ID {
		t.Errorf("compared with run %d, want %d", rc.Steps[0].BaselineRun, base.ID)
	}
	show := f.mustCLI("run", "show", fmt.Sprint(bad.ID))
	t.Logf("ferry run show %d:\n%s", bad.ID, show)
	for _, want := range []string{wantReason, "new_failures", "FAIL (3 > max 0: c09, c17, c24)",
		fmt.Sprintf("cases of evals/golden (against run %d): 3 broken, 2 still failing, 27 passing", base.ID)} {
		if !strings.Contains(show, want) {
			t.Errorf("ferry run show lacks %q:\n%s", want, show)
		}
	}
	var brokenRows []string
	for _, line := range strings.Split(show, "\n") {
		if strings.HasPrefix(line, "broken ") {
			brokenRows = append(brokenRows, strings.Fields(line)[1])
		}
	}
	if !slices.Equal(brokenRows, []string{"c09", "c17", "c24"}) {
		t.Errorf("ferry run show lists broken %v, want [c09 c17 c24]:\n%s", brokenRows, show)
	}
	one := f.mustCLI("run", "case", fmt.Sprint(bad.ID), "c17")
	for _, want := range []string{"case c17 of evals/golden", "broken", "Sorry, I am not sure.", "icontains: to 30 countries", "[c17] Do you ship abroad?", "baseline (run 1): pass"} {
		if !strings.Contains(one, want) {
			t.Errorf("ferry run case lacks %q:\n%s", want, one)
		}
	}

	// A change that fixes c31 and c32 and breaks nothing passes, against the last passed run.
	repo.commit("main", "answer the warranty and socks questions", map[string]string{"kb.tsv": kb(t)})
	good := f.waitRun(f.trigger("bot"))
	if good.State != "passed" {
		t.Fatalf("fixing run: %s %q, want passed", good.State, good.Reason)
	}
	rc = f.cases(good.ID)
	if got := withStatus(rc, "fixed"); !slices.Equal(got, []string{"c31", "c32"}) || len(withStatus(rc, "broken")) != 0 || rc.Steps[0].BaselineRun != base.ID {
		t.Errorf("fixing run: fixed %v, broken %v against run %d; want [c31 c32], none, against run %d",
			got, withStatus(rc, "broken"), rc.Steps[0].BaselineRun, base.ID)
	}
}
